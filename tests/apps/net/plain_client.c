/*
 * plain_client: an ordinary TCP and UDP client (it builds and runs on
 * Linux as it is).
 *
 *   plain_client HOST PORT PATH UDPPORT
 *
 * Resolves HOST with getaddrinfo, GETs PATH over HTTP/1.0 from HOST:PORT
 * and prints the status line and the byte count; then sends a datagram to
 * HOST:UDPPORT and prints the answer (three tries, SO_RCVTIMEO 3 s).
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	char req[512], buf[4096], first[64] = "";
	struct timeval tv = {3, 0};
	long total = 0;
	ssize_t r;
	int s, u, e, n, i;

	if (argc < 5) {
		fprintf(stderr, "usage: plain_client HOST PORT PATH UDPPORT\n");
		return 2;
	}
	if ((e = getaddrinfo(argv[1], argv[2], &hints, &ai)) != 0) {
		printf("plain_client: getaddrinfo: %s\n", gai_strerror(e));
		return 1;
	}
	s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (connect(s, ai->ai_addr, ai->ai_addrlen)) {
		perror("plain_client: connect");
		return 1;
	}
	n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[3], argv[1]);
	if (send(s, req, (size_t)n, 0) != n) {
		perror("plain_client: send");
		return 1;
	}
	while ((r = recv(s, buf, sizeof buf, 0)) > 0) {
		if (!total) {
			memcpy(first, buf, r < 63 ? (size_t)r : 63);
			*strchrnul(first, '\r') = 0;
		}
		total += r;
	}
	if (r < 0) {
		perror("plain_client: recv");
		return 1;
	}
	printf("plain_client: tcp: '%s', %ld bytes\n", first, total);
	close(s);
	freeaddrinfo(ai);

	hints.ai_socktype = SOCK_DGRAM;
	if ((e = getaddrinfo(argv[1], argv[4], &hints, &ai)) != 0) {
		printf("plain_client: getaddrinfo: %s\n", gai_strerror(e));
		return 1;
	}
	u = socket(ai->ai_family, SOCK_DGRAM, 0);
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (i = 0; i < 3; i++) {
		sendto(u, "ping-udp", 8, 0, ai->ai_addr, ai->ai_addrlen);
		r = recvfrom(u, buf, sizeof buf - 1, 0, NULL, NULL);
		if (r > 0) {
			buf[r] = 0;
			printf("plain_client: udp: got '%s'\n", buf);
			return 0;
		}
		perror("plain_client: recvfrom");
	}
	return 1;
}
