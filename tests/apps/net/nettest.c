/*
 * nettest CASE [ARGS]: network cases run inside the unikernel (or, for
 * comparison, on Linux).  Each prints "FAIL ..." lines for what went
 * wrong and ends with "nettest CASE: N failures" and status 0 or 1.
 *
 *   loopback           TCP and UDP over 127.0.0.1 and ::1, threads, poll
 *   many N C           N sequential then C concurrent loopback connections (epoll)
 *   unix               AF_UNIX stream/dgram/seqpacket, names, socketpair, SCM_RIGHTS
 *   epoll              level/edge-triggered, oneshot, pipes and sockets
 *   noif               a socket with no interface configured
 *   fetch HOST PORT PATH   HTTP GET from a server, prints the body's length
 *   udp HOST PORT      one UDP round trip (the peer echoes)
 *   refused HOST PORT  connect must fail with ECONNREFUSED
 *   resolve NAME       getaddrinfo through musl's resolver
 *   nbconnect HOST PORT  non-blocking connect with poll, then with epoll
 *   netinfo            the interfaces (SIOCGIFCONF, if_nametoindex), /etc/resolv.conf
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../apptest.h"

int failures;

static struct sockaddr_in sin4(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* A TCP listener on ip (v4 or v6) with a kernel-chosen port. */
static int tcp_listener(const char *ip, int *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int one = 1, s;

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
		len = sizeof(*a);
	}
	s = socket(ss.ss_family, SOCK_STREAM, 0);
	CHECK(s >= 0, "socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK(bind(s, (struct sockaddr *)&ss, len) == 0, "bind %s", ip);
	CHECK(listen(s, 128) == 0, "listen");
	CHECK(getsockname(s, (struct sockaddr *)&ss, &len) == 0, "getsockname");
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return s;
}

static int tcp_connect(const char *ip, int port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int s;

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		*(struct sockaddr_in *)&ss = sin4(ip, port);
		len = sizeof(struct sockaddr_in);
	}
	s = socket(ss.ss_family, SOCK_STREAM, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* ---- loopback ------------------------------------------------------------ */

struct echo {
	int listener;
	int conns;
};

/* Accept conns connections, echo each until its end. */
static void *echo_server(void *arg)
{
	struct echo *e = arg;
	char buf[4096];

	for (int i = 0; i < e->conns; i++) {
		int a = accept(e->listener, NULL, NULL);
		ssize_t n;

		if (a < 0)
			return NULL;
		while ((n = read(a, buf, sizeof(buf))) > 0)
			write(a, buf, n);
		close(a);
	}
	return NULL;
}

static void echo_once(const char *ip)
{
	int port, l = tcp_listener(ip, &port), c;
	struct echo e = {l, 1};
	pthread_t t;
	char buf[64];

	pthread_create(&t, NULL, echo_server, &e);
	c = tcp_connect(ip, port);
	CHECK(c >= 0, "connect to %s port %d", ip, port);
	CHECK(write(c, "hello over loopback", 19) == 19, "write");
	CHECK(recv(c, buf, 19, MSG_WAITALL) == 19, "read back");
	CHECK(memcmp(buf, "hello over loopback", 19) == 0, "echoed");
	shutdown(c, SHUT_WR);
	CHECK(read(c, buf, sizeof(buf)) == 0, "end of stream");
	close(c);
	pthread_join(t, NULL);
	close(l);
	printf("loopback: TCP over %s works\n", ip);
}

static void case_loopback(int argc, char **argv)
{
	char buf[64];

	echo_once("127.0.0.1");
	echo_once("::1");

	/* UDP */
	int s = socket(AF_INET, SOCK_DGRAM, 0), c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 0);
	socklen_t len = sizeof(a);

	CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind udp");
	getsockname(s, (struct sockaddr *)&a, &len);
	CHECK(sendto(c, "dgram", 5, 0, (struct sockaddr *)&a, sizeof(a)) == 5, "sendto");
	CHECK(recv(s, buf, sizeof(buf), 0) == 5, "recv udp");
	printf("loopback: UDP works\n");
	close(s);
	close(c);

	/* A closed port. */
	int port;
	s = tcp_listener("127.0.0.1", &port);
	close(s);
	CHECK(tcp_connect("127.0.0.1", port) < 0 && errno == ECONNREFUSED, "refused");
	printf("loopback: closed port refused\n");
}

/* ---- many connections ---------------------------------------------------- */

static void *many_server(void *arg)
{
	int l = *(int *)arg, ep = epoll_create1(EPOLL_CLOEXEC), open = 0, accepted = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l}, evs[64];
	char buf[256];
	int total = ((int *)arg)[1];

	fcntl(l, F_SETFL, O_NONBLOCK);
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	while (accepted < total || open > 0) {
		int n = epoll_wait(ep, evs, 64, 10000);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == l) {
				int a;

				while ((a = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event e = {
					    .events = EPOLLIN | EPOLLET, .data.fd = a};

					epoll_ctl(ep, EPOLL_CTL_ADD, a, &e);
					accepted++;
					open++;
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					write(fd, buf, r);
					continue;
				}
				if (r == 0 || errno != EAGAIN) {
					close(fd); /* leaves the epoll set by itself */
					open--;
				}
				break;
			}
		}
	}
	close(ep);
	return NULL;
}

static void case_many(int argc, char **argv)
{
	int seq = argc > 1 ? atoi(argv[1]) : 1000, conc = argc > 2 ? atoi(argv[2]) : 200;
	int port, arg[2], ok = 0;
	pthread_t t;
	char buf[16];

	arg[0] = tcp_listener("127.0.0.1", &port);
	arg[1] = seq + conc;
	pthread_create(&t, NULL, many_server, arg);
	for (int i = 0; i < seq; i++) {
		int c = tcp_connect("127.0.0.1", port);

		if (c >= 0 && write(c, "seq", 3) == 3 && recv(c, buf, 3, MSG_WAITALL) == 3)
			ok++;
		close(c);
	}
	CHECK(ok == seq, "%d of %d sequential connections", ok, seq);
	printf("many: %d sequential connections\n", ok);

	int *cs = calloc(conc, sizeof(int));
	ok = 0;
	for (int i = 0; i < conc; i++)
		cs[i] = tcp_connect("127.0.0.1", port);
	for (int i = 0; i < conc; i++)
		if (cs[i] >= 0 && write(cs[i], "con", 3) == 3)
			ok++;
	for (int i = 0; i < conc; i++) {
		if (cs[i] < 0 || recv(cs[i], buf, 3, MSG_WAITALL) != 3)
			ok--;
		close(cs[i]);
	}
	CHECK(ok == conc, "%d of %d concurrent connections", ok, conc);
	printf("many: %d concurrent connections\n", ok);
	pthread_join(t, NULL);
	close(arg[0]);
}

/* ---- AF_UNIX ------------------------------------------------------------------ */

static void case_unix(int argc, char **argv)
{
	int sv[2], l, c, a;
	char buf[64];
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	CHECK(write(sv[0], "pair", 4) == 4 && read(sv[1], buf, 4) == 4, "pair transfer");
	close(sv[0]);
	CHECK(read(sv[1], buf, 4) == 0, "end after close");
	close(sv[1]);

	strcpy(un.sun_path, "/tmp/nettest.sock");
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(l, (struct sockaddr *)&un, sizeof(un)) == 0, "bind path");
	CHECK(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&un, sizeof(un)) < 0 &&
	        errno == EADDRINUSE,
	    "name taken");
	CHECK(listen(l, 8) == 0, "listen");
	struct stat st;
	CHECK(stat(un.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "a socket in the file system");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&un, sizeof(un)) == 0, "connect path");
	a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	/* Pass a descriptor: the receiver reads the file it names. */
	int fd = open("/tmp/passed", O_CREAT | O_RDWR | O_TRUNC, 0600);
	write(fd, "through SCM_RIGHTS", 18);
	lseek(fd, 0, SEEK_SET);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {"F", 1};
	struct msghdr m = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.b,
	    .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHECK(sendmsg(c, &m, 0) == 1, "sendmsg with a descriptor");
	close(fd);
	char one;
	struct iovec riov = {&one, 1};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} rctl;
	struct msghdr r = {.msg_iov = &riov,
	    .msg_iovlen = 1,
	    .msg_control = rctl.b,
	    .msg_controllen = sizeof(rctl.b)};
	CHECK(recvmsg(a, &r, 0) == 1, "recvmsg");
	cm = CMSG_FIRSTHDR(&r);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS, "got a descriptor");
	if (cm) {
		int got;

		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		CHECK(read(got, buf, 18) == 18 && !memcmp(buf, "through SCM_RIGHTS", 18),
		    "the passed file");
		close(got);
	}
	close(a);
	close(c);
	close(l);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&un, sizeof(un)) < 0 && errno == ECONNREFUSED,
	    "nobody listens any more");
	close(c);
	unlink(un.sun_path);

	/* Datagrams with addresses, in the abstract name space. */
	struct sockaddr_un an = {.sun_family = AF_UNIX}, from;
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 8, flen = sizeof(from);
	memcpy(an.sun_path, "\0nettest", 8);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0), e = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(bind(d, (struct sockaddr *)&an, alen) == 0, "bind abstract");
	CHECK(sendto(e, "msg", 3, 0, (struct sockaddr *)&an, alen) == 3, "sendto abstract");
	CHECK(recvfrom(d, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) == 3, "recvfrom");
	close(d);
	close(e);
	printf("unix: stream, datagram and descriptor passing work\n");
}

/* ---- epoll ------------------------------------------------------------------- */

static void case_epoll(int argc, char **argv)
{
	int ep = epoll_create1(0), p[2], sv[2];
	struct epoll_event ev, out[8];

	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = 1};
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add pipe");
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u32 = 2};
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "add socket, edge-triggered");
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0 && errno == EEXIST, "twice");
	CHECK(epoll_wait(ep, out, 8, 0) == 0, "nothing yet");
	write(p[1], "x", 1);
	write(sv[1], "y", 1);
	CHECK(epoll_wait(ep, out, 8, 1000) == 2, "both ready");
	/* Level-triggered stays ready; edge-triggered does not. */
	int n = epoll_wait(ep, out, 8, 0);
	CHECK(n == 1 && out[0].data.u32 == 1, "only the pipe again (%d)", n);
	write(sv[1], "z", 1);
	n = epoll_wait(ep, out, 8, 1000);
	CHECK(n == 2, "a new edge (%d)", n);
	char c;
	read(p[0], &c, 1);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u32 = 3};
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev) == 0, "mod oneshot");
	n = epoll_wait(ep, out, 8, 1000);
	CHECK(n == 1 && out[0].data.u32 == 3, "oneshot fires (%d)", n);
	CHECK(epoll_wait(ep, out, 8, 0) == 0, "then is disarmed");
	/* Closing a descriptor takes it out of the set. */
	close(sv[0]);
	write(sv[1], "w", 1);
	CHECK(epoll_wait(ep, out, 8, 0) == 0, "closed, gone");
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "del");
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) < 0 && errno == ENOENT, "del twice");
	int f = open("/tmp/regular", O_CREAT | O_RDWR, 0600);
	ev.events = EPOLLIN;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) < 0 && errno == EPERM, "regular file");

	/* Two thousand sockets, one ready: epoll_wait finds exactly it. */
	struct rlimit rl = {8192, 8192};
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "raise RLIMIT_NOFILE");
	int pairs = 2000, (*fds)[2] = calloc(pairs, sizeof(*fds)), big = epoll_create1(0);
	for (int i = 0; i < pairs; i++) {
		CHECK(
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds[i]) == 0, "pair %d", i);
		ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = i};
		epoll_ctl(big, EPOLL_CTL_ADD, fds[i][0], &ev);
	}
	write(fds[1234][1], "!", 1);
	n = epoll_wait(big, out, 8, 1000);
	CHECK(n == 1 && out[0].data.u32 == 1234, "the one ready among %d (%d)", pairs, n);
	for (int i = 0; i < pairs; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	close(big);
	printf("epoll: level, edge, oneshot and %d descriptors work\n", pairs);
}

/* ---- with the outside world ----------------------------------------------- */

static void case_noif(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(s >= 0, "socket without an interface");
	struct sockaddr_in a = sin4("10.0.2.2", 80);
	CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == ENETUNREACH, "no route");
	close(s);
	echo_once("127.0.0.1");
}

static void case_fetch(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "10.0.2.2", *path = argc > 3 ? argv[3] : "/";
	int port = argc > 2 ? atoi(argv[2]) : 80, c = tcp_connect(host, port);
	char req[256], *buf = malloc(1 << 20);
	size_t got = 0;
	ssize_t n;

	CHECK(c >= 0, "connect to %s port %d", host, port);
	if (c < 0)
		return;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
	CHECK(write(c, req, strlen(req)) == (ssize_t)strlen(req), "request");
	while (got < (1 << 20) - 1 && (n = read(c, buf + got, (1 << 20) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(c);
	char *body = strstr(buf, "\r\n\r\n");
	CHECK(body && !strncmp(buf, "HTTP/1.", 7), "an HTTP answer");
	if (body) {
		printf("fetch: %.*s\n", (int)strcspn(buf, "\r\n"), buf);
		printf("fetch: body %zu bytes: %.40s\n", got - (body + 4 - buf), body + 4);
	}
}

static void case_udp(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "10.0.2.2";
	int port = argc > 2 ? atoi(argv[2]) : 7, s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4(host, port);
	struct timeval tv = {5, 0};
	char buf[64];

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect udp");
	CHECK(send(s, "udp round trip", 14, 0) == 14, "send");
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	CHECK(n == 14 && !memcmp(buf, "udp round trip", 14), "echoed back (%zd)", n);
	if (n > 0)
		printf("udp: %.*s\n", (int)n, buf);
	close(s);
}

static void case_refused(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "10.0.2.2";
	int port = argc > 2 ? atoi(argv[2]) : 1;

	CHECK(tcp_connect(host, port) < 0 && errno == ECONNREFUSED, "refused");
	printf("refused: %s\n", strerror(errno));
}

static void case_resolve(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	int err = getaddrinfo(argc > 1 ? argv[1] : "localhost", "80", &hints, &res);

	CHECK(err == 0, "getaddrinfo: %s", gai_strerror(err));
	if (err == 0) {
		char ip[64];

		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof(ip));
		printf("resolve: %s is %s\n", argv[1], ip);
		freeaddrinfo(res);
	}
}

/* Connect without blocking, wait with poll or epoll, then talk HTTP. */
static void nb_once(const char *host, int port, int use_epoll)
{
	struct sockaddr_in a = sin4(host, port);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = -1, r;
	socklen_t len = sizeof(err);
	char buf[256];

	r = connect(s, (struct sockaddr *)&a, sizeof(a));
	CHECK(r < 0 && errno == EINPROGRESS, "non-blocking connect in progress");
	if (use_epoll) {
		int ep = epoll_create1(0);
		struct epoll_event ev = {.events = EPOLLOUT, .data.fd = s}, out;

		epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
		CHECK(epoll_wait(ep, &out, 1, 5000) == 1 && (out.events & EPOLLOUT), "EPOLLOUT");
		close(ep);
	} else {
		struct pollfd p = {s, POLLOUT, 0};

		CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT), "POLLOUT");
	}
	CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0, "SO_ERROR %d", err);
	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	CHECK(write(s, req, sizeof(req) - 1) == sizeof(req) - 1, "request");
	struct pollfd p = {s, POLLIN, 0};
	CHECK(poll(&p, 1, 5000) == 1, "an answer comes");
	ssize_t n = read(s, buf, sizeof(buf) - 1);
	CHECK(n > 12 && !strncmp(buf, "HTTP/1.", 7), "HTTP");
	close(s);
	printf("nbconnect: with %s: %.15s\n", use_epoll ? "epoll" : "poll", n > 0 ? buf : "");
}

static void case_nbconnect(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "10.0.2.2";
	int port = argc > 2 ? atoi(argv[2]) : 80;

	nb_once(host, port, 0);
	nb_once(host, port, 1);
}

static void case_netinfo(int argc, char **argv)
{
	struct ifreq reqs[8];
	struct ifconf ifc = {.ifc_len = sizeof(reqs), .ifc_req = reqs};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char text[512];

	CHECK(ioctl(s, SIOCGIFCONF, &ifc) == 0, "SIOCGIFCONF");
	for (size_t i = 0; i < ifc.ifc_len / sizeof(struct ifreq); i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&reqs[i].ifr_addr;

		printf("netinfo: %s %s index %u\n", reqs[i].ifr_name, inet_ntoa(a->sin_addr),
		    if_nametoindex(reqs[i].ifr_name));
	}
	close(s);
	int fd = open("/etc/resolv.conf", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	CHECK(n > 0, "/etc/resolv.conf");
	if (n > 0) {
		text[n] = 0;
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
			printf("netinfo: resolv.conf: %s\n", line);
	}
}

static const struct {
	const char *name;
	void (*run)(int, char **);
} cases[] = {
    {"loopback", case_loopback},
    {"many", case_many},
    {"unix", case_unix},
    {"epoll", case_epoll},
    {"noif", case_noif},
    {"fetch", case_fetch},
    {"udp", case_udp},
    {"refused", case_refused},
    {"resolve", case_resolve},
    {"nbconnect", case_nbconnect},
    {"netinfo", case_netinfo},
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		printf("usage: nettest CASE [ARGS]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!strcmp(cases[i].name, argv[1])) {
			cases[i].run(argc - 1, argv + 1);
			printf("nettest %s: %d failures\n", argv[1], failures);
			return failures ? 1 : 0;
		}
	}
	printf("nettest: no case %s\n", argv[1]);
	return 2;
}
