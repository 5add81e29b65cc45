/*
 * plain_httpd: an ordinary poll(2) HTTP/1.1 server, written the way
 * someone who has never heard of the unikernel writes one (it builds and
 * runs on Linux as it is): one thread, non-blocking sockets, keep-alive.
 *
 *   plain_httpd [PORT [REQUESTS]]     (default 80; exit 0 after REQUESTS)
 *
 * GET /big?N answers N bytes 'a'..'z' repeated; any other GET a small
 * page; a request with a body (POST) answers "LENGTH SUM\n", the body's
 * length and the sum of its bytes, so the client can check an upload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 1024

struct client {
	int fd;
	char in[16384];
	size_t n;
	char *out;
	size_t olen, ooff;
	long long body_left, body_len;
	unsigned long long sum;
	int keep;
	char method[16], path[1024];
};

static struct client clients[MAXC];
static struct pollfd pfd[MAXC + 1];
static int slot_of[MAXC + 1];
static long served;

static const char page[] = "<html><body><h1>hello from plain_httpd</h1></body></html>\n";

static void queue(struct client *c, const char *head, const char *body, size_t blen)
{
	size_t h = strlen(head);

	if (c->ooff) {
		memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
		c->olen -= c->ooff;
		c->ooff = 0;
	}
	c->out = realloc(c->out, c->olen + h + blen);
	if (!c->out) {
		perror("plain_httpd: realloc");
		exit(1);
	}
	memcpy(c->out + c->olen, head, h);
	memcpy(c->out + c->olen + h, body, blen);
	c->olen += h + blen;
}

static void answer(struct client *c)
{
	char head[256], small[64];
	const char *conn = c->keep ? "" : "Connection: close\r\n";

	if (!strcmp(c->method, "GET") && !strncmp(c->path, "/big?", 5)) {
		size_t n = strtoul(c->path + 5, NULL, 10), i;
		char *b = malloc(n ? n : 1);

		for (i = 0; i < n; i++)
			b[i] = (char)('a' + i % 26);
		snprintf(
		    head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n%s\r\n", n, conn);
		queue(c, head, b, n);
		free(b);
	} else if (!strcmp(c->method, "GET")) {
		snprintf(head, sizeof head,
		    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
		    "Content-Length: %zu\r\n%s\r\n",
		    strlen(page), conn);
		queue(c, head, page, strlen(page));
	} else {
		int len = snprintf(small, sizeof small, "%lld %llu\n", c->body_len, c->sum);

		snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n", len,
		    conn);
		queue(c, head, small, (size_t)len);
	}
	served++;
}

/* Consume what arrived; 1 if something was consumed. */
static int parse(struct client *c)
{
	char *end, *cl;
	size_t used;

	if (c->body_left > 0) {
		size_t k = c->n < (size_t)c->body_left ? c->n : (size_t)c->body_left, i;

		for (i = 0; i < k; i++)
			c->sum += (unsigned char)c->in[i];
		memmove(c->in, c->in + k, c->n - k);
		c->n -= k;
		c->body_left -= (long long)k;
		if (c->body_left == 0)
			answer(c);
		return k > 0;
	}
	end = memmem(c->in, c->n, "\r\n\r\n", 4);
	if (!end)
		return 0;
	*end = 0;
	sscanf(c->in, "%15s %1023s", c->method, c->path);
	c->keep = strstr(c->in, "HTTP/1.1") && !strcasestr(c->in, "Connection: close");
	cl = strcasestr(c->in, "Content-Length:");
	c->body_len = cl ? atoll(cl + 15) : 0;
	used = (size_t)(end + 4 - c->in);
	memmove(c->in, c->in + used, c->n - used);
	c->n -= used;
	if (c->body_len > 0) {
		c->body_left = c->body_len;
		c->sum = 0;
	} else {
		answer(c);
	}
	return 1;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 80, one = 1, ls, i;
	long limit = argc > 2 ? atol(argv[2]) : -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 128)) {
		perror("plain_httpd: bind/listen");
		return 1;
	}
	fcntl(ls, F_SETFL, O_NONBLOCK);
	printf("plain_httpd: ready on %d\n", port);
	fflush(stdout);
	for (i = 0; i < MAXC; i++)
		clients[i].fd = -1;
	for (;;) {
		int n = 0, k, unsent = 0;

		for (i = 0; i < MAXC; i++)
			unsent |= clients[i].fd >= 0 && clients[i].olen > clients[i].ooff;
		if (limit >= 0 && served >= limit && !unsent)
			break;

		pfd[n++] = (struct pollfd){ls, POLLIN, 0};
		for (i = 0; i < MAXC; i++) {
			if (clients[i].fd < 0)
				continue;
			slot_of[n] = i;
			pfd[n++] = (struct pollfd){clients[i].fd,
			    (short)(POLLIN | (clients[i].olen > clients[i].ooff ? POLLOUT : 0)), 0};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("plain_httpd: poll");
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			int fd;

			while ((fd = accept(ls, NULL, NULL)) >= 0) {
				fcntl(fd, F_SETFL, O_NONBLOCK);
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				for (i = 0; i < MAXC && clients[i].fd >= 0; i++)
					;
				if (i == MAXC) {
					close(fd);
					continue;
				}
				memset(&clients[i], 0, sizeof clients[i]);
				clients[i].fd = fd;
			}
		}
		for (k = 1; k < n; k++) {
			struct client *c = &clients[slot_of[k]];
			int dead = 0;

			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c->fd, c->in + c->n, sizeof c->in - c->n);

				if (r > 0) {
					c->n += (size_t)r;
					while (parse(c))
						;
				} else if (r == 0 || errno != EAGAIN) {
					dead = 1;
				}
			}
			if (!dead && c->olen > c->ooff) {
				ssize_t w = write(c->fd, c->out + c->ooff, c->olen - c->ooff);

				if (w > 0)
					c->ooff += (size_t)w;
				else if (errno != EAGAIN)
					dead = 1;
				if (c->ooff == c->olen) {
					c->ooff = c->olen = 0;
					if (!c->keep)
						dead = 1;
				}
			}
			if (dead) {
				close(c->fd);
				free(c->out);
				c->out = NULL;
				c->fd = -1;
			}
		}
	}
	printf("plain_httpd: served %ld requests\n", served);
	return 0;
}
