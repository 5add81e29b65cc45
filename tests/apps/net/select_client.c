/*
 * select_client: a select(2)-based client (it builds and runs on Linux as
 * it is): N non-blocking connects at once, a request on each as it
 * connects, the answers read until every server closes.
 *
 *   select_client ADDR PORT N      (N at most 256)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char request[] = "GET / HTTP/1.0\r\n\r\n";
	int fds[256], state[256], n, done = 0, i;
	long got[256], total = 0;
	struct sockaddr_in a = {.sin_family = AF_INET};

	if (argc < 4 || (n = atoi(argv[3])) < 1 || n > 256) {
		fprintf(stderr, "usage: select_client ADDR PORT N\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &a.sin_addr);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		if (connect(fds[i], (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
			perror("select_client: connect");
			return 1;
		}
		state[i] = 0;
		got[i] = 0;
	}
	while (done < n) {
		fd_set rd, wr;
		struct timeval tv = {30, 0};
		int max = 0, r;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		for (i = 0; i < n; i++) {
			if (state[i] == 2)
				continue;
			FD_SET(fds[i], state[i] == 0 ? &wr : &rd);
			if (fds[i] > max)
				max = fds[i];
		}
		r = select(max + 1, &rd, &wr, NULL, &tv);
		if (r == 0) {
			printf("select_client: nothing for 30 s with %d of %d done\n", done, n);
			return 1;
		}
		if (r < 0) {
			perror("select_client: select");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (state[i] == 0 && FD_ISSET(fds[i], &wr)) {
				int err = 0;
				socklen_t len = sizeof err;

				getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					printf("select_client: connect: %s\n", strerror(err));
					return 1;
				}
				if (write(fds[i], request, strlen(request)) !=
				    (ssize_t)strlen(request)) {
					perror("select_client: write");
					return 1;
				}
				state[i] = 1;
			} else if (state[i] == 1 && FD_ISSET(fds[i], &rd)) {
				char buf[4096];
				ssize_t k = read(fds[i], buf, sizeof buf);

				if (k > 0) {
					got[i] += k;
				} else {
					state[i] = 2;
					done++;
					close(fds[i]);
				}
			}
		}
	}
	for (i = 0; i < n; i++)
		total += got[i];
	printf("select_client: %d connections answered, %ld bytes\n", n, total);
	return 0;
}
