/*
 * httpd: a small static HTTP/1.1 server, the one the tests and the
 * benchmarks (benchmarks/net) run in the unikernel, in a Linux microVM and
 * natively.  Plain POSIX and musl: poll(2) by default, epoll with -e.
 *
 *   httpd [-e] [-p PORT] [-n REQUESTS] [-c CONNECTIONS]
 *
 * GET of any path answers the same 612-byte page (nginx's welcome page
 * size); GET /bytes/N answers N bytes (bulk transfers).  Keep-alive as
 * HTTP/1.1 says (Connection: close and HTTP/1.0 end the connection),
 * pipelined requests answered in order.  -n: exit 0 after that many
 * requests (answered); -c: after that many connections have ended.  Prints
 * "httpd: listening on port N" when ready.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define REQ_MAX 8192
#define PAGE_SIZE_BYTES 612
#define CHUNK 65536

struct conn {
	int fd;
	char req[REQ_MAX];
	size_t have;
	unsigned long long bulk_left; /* bytes of a /bytes/N answer still to send */
	const char *out; /* pending page bytes */
	char head[256]; /* a /bytes/N answer's header */
	size_t out_len;
	int close_after;
};

static struct conn *conns[MAX_CONNS + 64];
static char page_response[1024], page_response_close[1024];
static size_t page_len, page_close_len;
static char chunk[CHUNK];
static long requests_left = -1, conns_left = -1;
static int use_epoll, ep = -1;

static void build_pages(void)
{
	char body[PAGE_SIZE_BYTES + 1];
	const char *text = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head>"
	                   "<body><h1>It works.</h1><p>A static page served by a small C program "
	                   "inside a rumprun unikernel.</p></body></html>\n";
	size_t n = strlen(text);

	memset(body, ' ', PAGE_SIZE_BYTES);
	memcpy(body, text, n < PAGE_SIZE_BYTES ? n : PAGE_SIZE_BYTES);
	body[PAGE_SIZE_BYTES - 1] = '\n';
	body[PAGE_SIZE_BYTES] = 0;
	page_len = snprintf(page_response, sizeof(page_response),
	    "HTTP/1.1 200 OK\r\nServer: httpd\r\nContent-Type: text/html\r\n"
	    "Content-Length: %d\r\n\r\n%s",
	    PAGE_SIZE_BYTES, body);
	page_close_len = snprintf(page_response_close, sizeof(page_response_close),
	    "HTTP/1.1 200 OK\r\nServer: httpd\r\nContent-Type: text/html\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
	    PAGE_SIZE_BYTES, body);
	memset(chunk, 'b', sizeof(chunk));
}

static void watch(int fd, int out)
{
	if (use_epoll) {
		struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.fd = fd};

		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd); /* leaves the epoll set too */
	conns[c->fd] = NULL;
	free(c);
	if ((conns_left > 0 && --conns_left == 0) || requests_left == 0)
		exit(0);
}

/* Send what is pending; 1 when all went, 0 when the socket is full, -1
 * when the connection is gone. */
static int flush(struct conn *c)
{
	while (c->out_len || c->bulk_left) {
		ssize_t n;

		if (c->out_len) {
			n = write(c->fd, c->out, c->out_len);
			if (n > 0) {
				c->out += n;
				c->out_len -= n;
				continue;
			}
		} else {
			size_t len = c->bulk_left < CHUNK ? c->bulk_left : CHUNK;

			n = write(c->fd, chunk, len);
			if (n > 0) {
				c->bulk_left -= n;
				continue;
			}
		}
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	return 1;
}

/* Answer every complete request in the buffer, in order. */
static int serve(struct conn *c)
{
	for (;;) {
		char *end;

		if (c->out_len || c->bulk_left) {
			int r = flush(c);

			if (r <= 0)
				return r;
		}
		if (c->close_after)
			return -1;
		c->req[c->have] = 0;
		if ((end = strstr(c->req, "\r\n\r\n")) == NULL)
			return c->have >= REQ_MAX - 1 ? -1 : 1;
		size_t used = end + 4 - c->req;
		int http10 = strstr(c->req, "HTTP/1.0\r\n") != NULL;
		char *conn_hdr = strcasestr(c->req, "\r\nConnection:");
		int close_it = http10;

		if (conn_hdr && conn_hdr < end) {
			if (strncasecmp(conn_hdr + 13, " close", 6) == 0)
				close_it = 1;
			else if (strncasecmp(conn_hdr + 13, " keep-alive", 11) == 0)
				close_it = 0;
		}
		if (strncmp(c->req, "GET ", 4) != 0) {
			static const char bad[] =
			    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
			    "Connection: close\r\n\r\n";

			c->out = bad;
			c->out_len = sizeof(bad) - 1;
			c->close_after = 1;
		} else if (strncmp(c->req + 4, "/bytes/", 7) == 0) {
			c->bulk_left = strtoull(c->req + 11, NULL, 10);
			c->out_len = snprintf(c->head, sizeof(c->head),
			    "HTTP/1.1 200 OK\r\nServer: httpd\r\n"
			    "Content-Type: application/octet-stream\r\nContent-Length: "
			    "%llu\r\n%s\r\n",
			    c->bulk_left, close_it ? "Connection: close\r\n" : "");
			c->out = c->head;
			c->close_after = close_it;
		} else {
			c->out = close_it ? page_response_close : page_response;
			c->out_len = close_it ? page_close_len : page_len;
			c->close_after = close_it;
		}
		memmove(c->req, c->req + used, c->have - used);
		c->have -= used;
		if (requests_left > 0 && --requests_left == 0)
			c->close_after = 1; /* exit once this answer is out */
	}
}

static void on_readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->req + c->have, REQ_MAX - 1 - c->have);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(c);
		return;
	}
	c->have += n;
	int r = serve(c);

	if (r < 0)
		conn_close(c);
	else if (use_epoll)
		watch(c->fd, r == 0);
}

static void on_writable(struct conn *c)
{
	int r = serve(c);

	if (r < 0)
		conn_close(c);
	else if (use_epoll)
		watch(c->fd, r == 0);
}

static void accept_all(int l)
{
	int fd, one = 1;

	while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c;

		if (fd >= MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		conns[fd] = c;
		watch(fd, 0);
	}
}

static void loop_poll(int l)
{
	static struct pollfd pfds[MAX_CONNS + 1];

	for (;;) {
		int n = 0;

		pfds[n++] = (struct pollfd){l, POLLIN, 0};
		for (int fd = 0; fd < MAX_CONNS; fd++) {
			struct conn *c = conns[fd];

			if (c)
				pfds[n++] = (struct pollfd){fd,
				    (short)(POLLIN | (c->out_len || c->bulk_left ? POLLOUT : 0)),
				    0};
		}
		if (poll(pfds, n, -1) < 0) {
			perror("httpd: poll");
			exit(1);
		}
		for (int i = 1; i < n; i++) {
			struct conn *c = conns[pfds[i].fd];

			if (!c || !pfds[i].revents)
				continue;
			if (pfds[i].revents & POLLOUT)
				on_writable(c);
			else
				on_readable(c);
		}
		if (pfds[0].revents)
			accept_all(l);
	}
}

static void loop_epoll(int l)
{
	struct epoll_event evs[256], ev = {.events = EPOLLIN, .data.fd = l};

	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0) {
			perror("httpd: epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct conn *c = conns[fd];

			if (fd == l)
				accept_all(l);
			else if (c && (evs[i].events & EPOLLOUT))
				on_writable(c);
			else if (c)
				on_readable(c);
		}
	}
}

int main(int argc, char **argv)
{
	int port = 80, opt, one = 1, l;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};

	while ((opt = getopt(argc, argv, "ep:n:c:")) != -1) {
		switch (opt) {
		case 'e':
			use_epoll = 1;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			requests_left = atol(optarg);
			break;
		case 'c':
			conns_left = atol(optarg);
			break;
		default:
			fprintf(
			    stderr, "usage: httpd [-e] [-p PORT] [-n REQUESTS] [-c CONNECTIONS]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	build_pages();
	a.sin6_port = htons(port);
	l = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 511) < 0) {
		perror("httpd: listening");
		return 1;
	}
	printf("httpd: listening on port %d (%s)\n", port, use_epoll ? "epoll" : "poll");
	if (use_epoll)
		loop_epoll(l);
	else
		loop_poll(l);
	return 0;
}
