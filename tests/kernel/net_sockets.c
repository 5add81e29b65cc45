/*
 * Sockets over loopback on the posix platform: TCP and UDP on 127.0.0.1
 * and ::1 (dual stack too), Linux's errno values, non-blocking connect and
 * accept, poll and select waking on socket readiness, shutdown, SO_ERROR,
 * socket options and ioctls, a bulk transfer against a reader thread.
 */
#include "ktest.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in sin4(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 sin6(const char *ip, int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

/* A listening TCP socket of family on its loopback address; its port. */
static int listener(int family, int *port)
{
	int s = K(SYS_socket, family, SOCK_STREAM, 0);
	int one = 1;
	K(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in a = sin4("127.0.0.1", 0);
		socklen_t len = sizeof(a);
		EXPECT(K(SYS_bind, s, &a, sizeof(a)), 0);
		EXPECT(K(SYS_listen, s, 16), 0);
		EXPECT(K(SYS_getsockname, s, &a, &len), 0);
		*port = ntohs(a.sin_port);
	} else {
		struct sockaddr_in6 a = sin6("::", 0);
		socklen_t len = sizeof(a);
		EXPECT(K(SYS_bind, s, &a, sizeof(a)), 0);
		EXPECT(K(SYS_listen, s, 16), 0);
		EXPECT(K(SYS_getsockname, s, &a, &len), 0);
		*port = ntohs(a.sin6_port);
	}
	return s;
}

/* A port nobody listens on: bound once, then let go. */
static int closed_port(void)
{
	int s = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 0);
	socklen_t len = sizeof(a);
	K(SYS_bind, s, &a, sizeof(a));
	K(SYS_getsockname, s, &a, &len);
	K(SYS_close, s);
	return ntohs(a.sin_port);
}

static int connect4(int port)
{
	struct sockaddr_in a = sin4("127.0.0.1", port);
	int c = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	EXPECT(K(SYS_connect, c, &a, sizeof(a)), 0);
	return c;
}

struct bulk {
	int fd;
	size_t len;
	unsigned long sum;
	long result;
};

static void *bulk_reader(void *arg)
{
	struct bulk *b = arg;
	static unsigned char buf[32768];
	size_t total = 0;
	for (;;) {
		long n = K(SYS_read, b->fd, buf, sizeof(buf));
		if (n <= 0) {
			b->result = n < 0 ? n : (long)total;
			return NULL;
		}
		for (long i = 0; i < n; i++)
			b->sum += buf[i];
		total += n;
	}
}

static void *late_connect(void *arg)
{
	int *port = arg;
	usleep(100000);
	int c = connect4(*port);
	K(SYS_write, c, "late", 4);
	K(SYS_close, c);
	return NULL;
}

static void tcp_basics(void)
{
	int port, l = listener(AF_INET, &port), c, a;
	char buf[64];
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	c = connect4(port);
	a = K(SYS_accept4, l, &peer, &len, SOCK_CLOEXEC);
	EXPECT_TRUE(a > 0);
	EXPECT(len, sizeof(peer));
	EXPECT(peer.sin_family, AF_INET);
	EXPECT(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	EXPECT(K(SYS_fcntl, a, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_write, c, "ping", 4), 4);
	EXPECT(K(SYS_read, a, buf, sizeof(buf)), 4);
	EXPECT_TRUE(memcmp(buf, "ping", 4) == 0);
	EXPECT(K(SYS_sendto, a, "pong!", 5, 0, NULL, 0), 5);
	EXPECT(K(SYS_recvfrom, c, buf, 2, MSG_PEEK, NULL, NULL), 2);
	int avail = 0;
	EXPECT(K(SYS_ioctl, c, FIONREAD, &avail), 0);
	EXPECT(avail, 5);
	EXPECT(K(SYS_recvfrom, c, buf, sizeof(buf), 0, NULL, NULL), 5);
	EXPECT_TRUE(memcmp(buf, "pong!", 5) == 0);

	/* readv/writev and sendmsg/recvmsg with several pieces. */
	struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
	struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
	EXPECT(K(SYS_sendmsg, c, &m, 0), 6);
	char p1[3], p2[10];
	struct iovec in[2] = {{p1, 3}, {p2, 10}};
	struct msghdr r = {.msg_iov = in, .msg_iovlen = 2};
	EXPECT(K(SYS_recvmsg, a, &r, MSG_WAITALL), 6);
	EXPECT_TRUE(memcmp(p1, "abc", 3) == 0 && memcmp(p2, "def", 3) == 0);

	/* Names. */
	struct sockaddr_in me;
	len = sizeof(me);
	EXPECT(K(SYS_getpeername, c, &me, &len), 0);
	EXPECT(ntohs(me.sin_port), port);
	len = sizeof(me);
	EXPECT(K(SYS_getsockname, a, &me, &len), 0);
	EXPECT(ntohs(me.sin_port), port);
	len = 4; /* too short: cut, full length told */
	EXPECT(K(SYS_getsockname, a, &me, &len), 0);
	EXPECT(len, sizeof(me));

	/* Options. */
	int v = -1;
	len = sizeof(v);
	EXPECT(K(SYS_getsockopt, c, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	EXPECT(v, SOCK_STREAM);
	EXPECT(K(SYS_getsockopt, l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	EXPECT(v, 1);
	v = 1;
	EXPECT(K(SYS_setsockopt, c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), 0);
	v = 0;
	EXPECT(K(SYS_getsockopt, c, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	EXPECT(v, 1);
	EXPECT(K(SYS_setsockopt, c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), 0);
	EXPECT(K(SYS_setsockopt, c, SOL_SOCKET, 9999, &v, sizeof(v)), -ENOPROTOOPT);
	EXPECT(K(SYS_setsockopt, c, SOL_SOCKET, SO_KEEPALIVE, &v, 2), -EINVAL);
	struct timeval tv = {0, 200000};
	EXPECT(K(SYS_setsockopt, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	long t0 = now_ms();
	EXPECT(K(SYS_read, a, buf, 1), -EAGAIN);
	EXPECT_TRUE(now_ms() - t0 >= 150);
	struct timeval tv2;
	len = sizeof(tv2);
	EXPECT(K(SYS_getsockopt, a, SOL_SOCKET, SO_RCVTIMEO, &tv2, &len), 0);
	EXPECT(tv2.tv_usec, 200000);

	/* A bulk transfer: 4 MiB through a reader thread, every byte counted. */
	static unsigned char big[1 << 20];
	unsigned long sum = 0;
	for (size_t i = 0; i < sizeof(big); i++)
		sum += big[i] = (unsigned char)(i * 7 + 3);
	struct bulk b = {.fd = a};
	pthread_t t;
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	K(SYS_setsockopt, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_create(&t, NULL, bulk_reader, &b);
	long sent = 0;
	for (int i = 0; i < 4; i++)
		sent += K(SYS_write, c, big, sizeof(big));
	EXPECT(sent, 4 * sizeof(big));
	/* shutdown(SHUT_WR): the reader sees the end of the stream. */
	EXPECT(K(SYS_shutdown, c, SHUT_WR), 0);
	pthread_join(t, NULL);
	EXPECT(b.result, 4 * sizeof(big));
	EXPECT(b.sum, 4 * sum);
	EXPECT(K(SYS_sendto, c, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	/* Without MSG_NOSIGNAL SIGPIPE would end the program: ignored, EPIPE. */
	struct {
		unsigned long handler, flags, restorer, mask;
	} ign = {(unsigned long)SIG_IGN, 0, 0, 0}, dfl = {0, 0, 0, 0};
	EXPECT(K(SYS_rt_sigaction, SIGPIPE, &ign, NULL, 8), 0);
	EXPECT(K(SYS_write, c, "x", 1), -EPIPE);
	EXPECT(K(SYS_rt_sigaction, SIGPIPE, &dfl, NULL, 8), 0);
	/* The other way still works after a half close. */
	EXPECT(K(SYS_write, a, "back", 4), 4);
	EXPECT(K(SYS_read, c, buf, sizeof(buf)), 4);
	EXPECT(K(SYS_close, a), 0);
	EXPECT(K(SYS_read, c, buf, sizeof(buf)), 0);
	EXPECT(K(SYS_close, c), 0);

	/* Blocking accept woken by a connection from another thread. */
	pthread_create(&t, NULL, late_connect, &port);
	a = K(SYS_accept, l, NULL, NULL);
	EXPECT_TRUE(a > 0);
	EXPECT(K(SYS_recvfrom, a, buf, 4, MSG_WAITALL, NULL, NULL), 4);
	EXPECT(K(SYS_read, a, buf, 4), 0);
	pthread_join(t, NULL);
	EXPECT(K(SYS_close, a), 0);
	EXPECT(K(SYS_close, l), 0);
}

static void tcp_errors(void)
{
	int port, l = listener(AF_INET, &port), s, c, a;
	struct sockaddr_in addr = sin4("127.0.0.1", port);
	char buf[16];
	int p[2];

	/* Refused: nobody listens there. */
	struct sockaddr_in closed = sin4("127.0.0.1", closed_port());
	s = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	EXPECT(K(SYS_connect, s, &closed, sizeof(closed)), -ECONNREFUSED);
	/* Linux lets a failed socket connect again; this one succeeds. */
	EXPECT(K(SYS_connect, s, &addr, sizeof(addr)), 0);
	EXPECT(K(SYS_connect, s, &addr, sizeof(addr)), -EISCONN);
	a = K(SYS_accept, l, NULL, NULL);
	EXPECT(K(SYS_close, s), 0);
	EXPECT(K(SYS_close, a), 0);

	/* Address in use; another family's address. */
	s = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	EXPECT(K(SYS_bind, s, &addr, sizeof(addr)), -EADDRINUSE);
	struct sockaddr_in6 a6 = sin6("::1", 0);
	EXPECT(K(SYS_bind, s, &a6, sizeof(a6)), -EAFNOSUPPORT);
	EXPECT(K(SYS_bind, s, &addr, 4), -EINVAL);
	struct sockaddr_in far = sin4("192.0.2.1", 0);
	EXPECT(K(SYS_bind, s, &far, sizeof(far)), -EADDRNOTAVAIL);
	/* Not connected yet. */
	socklen_t len = sizeof(addr);
	EXPECT(K(SYS_getpeername, s, &addr, &len), -ENOTCONN);
	EXPECT(K(SYS_read, s, buf, 1), -ENOTCONN);
	EXPECT(K(SYS_sendto, s, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	EXPECT(K(SYS_shutdown, s, SHUT_RDWR), -ENOTCONN);
	EXPECT(K(SYS_accept, s, NULL, NULL), -EINVAL);
	EXPECT(K(SYS_shutdown, s, 7), -EINVAL);
	EXPECT(K(SYS_close, s), 0);

	/* Not a socket, not a descriptor, bad arguments. */
	EXPECT(K(SYS_pipe, p), 0);
	EXPECT(K(SYS_listen, p[0], 1), -ENOTSOCK);
	EXPECT(K(SYS_accept, 999, NULL, NULL), -EBADF);
	EXPECT(K(SYS_socket, 12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
	EXPECT(K(SYS_socket, AF_INET, 77, 0), -ESOCKTNOSUPPORT);
	EXPECT(K(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_UDP), -EPROTONOSUPPORT);
	EXPECT(K(SYS_socketpair, AF_INET, SOCK_STREAM, 0, p), -EOPNOTSUPP);
	EXPECT(K(SYS_close, p[0]), 0);
	EXPECT(K(SYS_close, p[1]), 0);

	/* Reset by the peer: it closed with data unread. */
	c = connect4(port);
	a = K(SYS_accept, l, NULL, NULL);
	EXPECT(K(SYS_write, c, "unread", 6), 6);
	usleep(20000);
	EXPECT(K(SYS_close, a), 0);
	struct pollfd pf = {c, POLLIN, 0};
	EXPECT(K(SYS_poll, &pf, 1, 2000), 1);
	EXPECT_TRUE(pf.revents & (POLLERR | POLLHUP));
	EXPECT(K(SYS_read, c, buf, sizeof(buf)), -ECONNRESET);
	EXPECT(K(SYS_read, c, buf, sizeof(buf)), 0);
	EXPECT(K(SYS_sendto, c, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	EXPECT(K(SYS_close, c), 0);
	EXPECT(K(SYS_close, l), 0);
}

static void nonblocking(void)
{
	int port, l = listener(AF_INET, &port);
	struct sockaddr_in addr = sin4("127.0.0.1", port);
	char buf[16];

	EXPECT(K(SYS_fcntl, l, F_SETFL, O_NONBLOCK), 0);
	EXPECT(K(SYS_accept, l, NULL, NULL), -EAGAIN);
	int c = K(SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	long r = K(SYS_connect, c, &addr, sizeof(addr));
	EXPECT_TRUE(r == -EINPROGRESS || r == 0);
	struct pollfd pf[2] = {{c, POLLOUT, 0}, {l, POLLIN, 0}};
	EXPECT(K(SYS_poll, pf, 2, 2000), 2);
	EXPECT(pf[0].revents, POLLOUT);
	EXPECT(pf[1].revents, POLLIN);
	int err = -1;
	socklen_t len = sizeof(err);
	EXPECT(K(SYS_getsockopt, c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	EXPECT(err, 0);
	int a = K(SYS_accept4, l, NULL, NULL, SOCK_NONBLOCK);
	EXPECT_TRUE(a > 0);
	EXPECT(K(SYS_read, a, buf, 1), -EAGAIN);
	int one = 1;
	EXPECT(K(SYS_ioctl, a, FIONBIO, &(int){0}), 0);
	EXPECT(K(SYS_fcntl, a, F_GETFL) & O_NONBLOCK, 0);
	EXPECT(K(SYS_ioctl, a, FIONBIO, &one), 0);
	EXPECT(K(SYS_recvfrom, a, buf, 1, MSG_DONTWAIT, NULL, NULL), -EAGAIN);

	/* A full send buffer: EAGAIN, then POLLOUT once the reader drains. */
	static char chunk[65536];
	long total = 0, n;
	while ((n = K(SYS_write, c, chunk, sizeof(chunk))) > 0)
		total += n;
	EXPECT(n, -EAGAIN);
	EXPECT_TRUE(total > 65536);
	struct pollfd w = {c, POLLOUT, 0};
	EXPECT(K(SYS_poll, &w, 1, 0), 0);
	long drained = 0;
	while (drained < total) {
		struct pollfd rp = {a, POLLIN, 0};
		if (K(SYS_poll, &rp, 1, 2000) != 1)
			break;
		while ((n = K(SYS_read, a, chunk, sizeof(chunk))) > 0)
			drained += n;
	}
	EXPECT(drained, total);
	EXPECT(K(SYS_poll, &w, 1, 2000), 1);
	EXPECT(w.revents, POLLOUT);

	/* Non-blocking connect to a closed port: POLLERR, SO_ERROR says why. */
	struct sockaddr_in closed = sin4("127.0.0.1", closed_port());
	int s = K(SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = K(SYS_connect, s, &closed, sizeof(closed));
	EXPECT_TRUE(r == -EINPROGRESS || r == -ECONNREFUSED);
	if (r == -EINPROGRESS) {
		struct pollfd e = {s, POLLOUT, 0};
		EXPECT(K(SYS_poll, &e, 1, 2000), 1);
		EXPECT_TRUE(e.revents & POLLERR);
		EXPECT(K(SYS_getsockopt, s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		EXPECT(err, ECONNREFUSED);
		EXPECT(K(SYS_getsockopt, s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		EXPECT(err, 0);
	}
	EXPECT(K(SYS_close, s), 0);

	/* select sees a readable listener. */
	int c2 = connect4(port);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(l, &rs);
	struct timeval tv = {2, 0};
	EXPECT(K(SYS_select, l + 1, &rs, NULL, NULL, &tv), 1);
	EXPECT_TRUE(FD_ISSET(l, &rs));
	int a2 = K(SYS_accept, l, NULL, NULL);
	EXPECT_TRUE(a2 > 0);
	K(SYS_close, a2);
	K(SYS_close, c2);
	K(SYS_close, a);
	K(SYS_close, c);
	K(SYS_close, l);
}

static void ipv6(void)
{
	int port, l = listener(AF_INET6, &port);
	char buf[16];

	/* ::1 */
	int c = K(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = sin6("::1", port);
	EXPECT(K(SYS_connect, c, &a6, sizeof(a6)), 0);
	struct sockaddr_in6 peer;
	socklen_t len = sizeof(peer);
	int a = K(SYS_accept, l, &peer, &len);
	EXPECT_TRUE(a > 0);
	EXPECT(peer.sin6_family, AF_INET6);
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
	EXPECT(K(SYS_write, c, "six", 3), 3);
	EXPECT(K(SYS_read, a, buf, sizeof(buf)), 3);
	K(SYS_close, a);
	K(SYS_close, c);

	/* The dual-stack listener accepts IPv4 too, shown v4-mapped. */
	c = connect4(port);
	len = sizeof(peer);
	a = K(SYS_accept, l, &peer, &len);
	EXPECT_TRUE(a > 0);
	EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
	EXPECT(((uint32_t *)&peer.sin6_addr)[3], htonl(INADDR_LOOPBACK));
	K(SYS_close, a);
	K(SYS_close, c);

	/* IPV6_V6ONLY only before bind; then IPv4 is not accepted. */
	int v = 1;
	EXPECT(K(SYS_setsockopt, l, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)), -EINVAL);
	int s = K(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	EXPECT(K(SYS_setsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)), 0);
	struct sockaddr_in6 any = sin6("::", 0);
	EXPECT(K(SYS_bind, s, &any, sizeof(any)), 0);
	EXPECT(K(SYS_listen, s, 4), 0);
	len = sizeof(any);
	K(SYS_getsockname, s, &any, &len);
	c = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = sin4("127.0.0.1", ntohs(any.sin6_port));
	EXPECT(K(SYS_connect, c, &a4, sizeof(a4)), -ECONNREFUSED);
	K(SYS_close, c);
	K(SYS_close, s);
	K(SYS_close, l);
}

static void udp(void)
{
	int s = K(SYS_socket, AF_INET, SOCK_DGRAM, 0), c = K(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 0), from;
	socklen_t len = sizeof(a);
	char buf[2048];

	EXPECT(K(SYS_bind, s, &a, sizeof(a)), 0);
	EXPECT(K(SYS_getsockname, s, &a, &len), 0);
	EXPECT_TRUE(a.sin_port != 0);
	EXPECT(K(SYS_sendto, c, "datagram", 8, 0, &a, sizeof(a)), 8);
	EXPECT(K(SYS_sendto, c, "second one", 10, 0, &a, sizeof(a)), 10);
	int avail = 0;
	EXPECT(K(SYS_ioctl, s, FIONREAD, &avail), 0);
	EXPECT(avail, 8);
	len = sizeof(from);
	EXPECT(K(SYS_recvfrom, s, buf, sizeof(buf), 0, &from, &len), 8);
	EXPECT_TRUE(memcmp(buf, "datagram", 8) == 0);
	EXPECT(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	/* A short buffer truncates; MSG_TRUNC tells the real length. */
	EXPECT(K(SYS_recvfrom, s, buf, 3, MSG_PEEK | MSG_TRUNC, NULL, NULL), 10);
	struct iovec iov = {buf, 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	EXPECT(K(SYS_recvmsg, s, &m, 0), 3);
	EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
	EXPECT(K(SYS_recvfrom, s, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -EAGAIN);
	/* Reply to the sender's address; connected sockets need none. */
	EXPECT(K(SYS_sendto, s, "reply", 5, 0, &from, sizeof(from)), 5);
	EXPECT(K(SYS_read, c, buf, sizeof(buf)), 5);
	EXPECT(K(SYS_write, c, "x", 1), -EDESTADDRREQ);
	EXPECT(K(SYS_connect, c, &a, sizeof(a)), 0);
	EXPECT(K(SYS_write, c, "connected", 9), 9);
	struct pollfd pf = {s, POLLIN, 0};
	EXPECT(K(SYS_poll, &pf, 1, 2000), 1);
	EXPECT(K(SYS_read, s, buf, sizeof(buf)), 9);
	/* Too big for one datagram. */
	static char huge[70000];
	EXPECT(K(SYS_write, c, huge, sizeof(huge)), -EMSGSIZE);
	/* Big datagrams work (fragmented on the wire). */
	EXPECT(K(SYS_write, c, huge, 30000), 30000);
	EXPECT(K(SYS_recvfrom, s, huge, sizeof(huge), 0, NULL, NULL), 30000);
	EXPECT(K(SYS_listen, s, 1), -EOPNOTSUPP);
	K(SYS_close, s);
	K(SYS_close, c);

	/* UDP over ::1 */
	s = K(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 b = sin6("::1", 0);
	len = sizeof(b);
	EXPECT(K(SYS_bind, s, &b, sizeof(b)), 0);
	EXPECT(K(SYS_getsockname, s, &b, &len), 0);
	c = K(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	EXPECT(K(SYS_sendto, c, "v6", 2, 0, &b, sizeof(b)), 2);
	EXPECT(K(SYS_read, s, buf, sizeof(buf)), 2);
	K(SYS_close, s);
	K(SYS_close, c);
}

/* Many connections one after another: nothing leaks descriptors. */
static void many_connections(void)
{
	int port, l = listener(AF_INET, &port), ok = 0;
	char buf[8];

	for (int i = 0; i < 300; i++) {
		int c = connect4(port);
		int a = K(SYS_accept, l, NULL, NULL);
		if (K(SYS_write, c, "hi", 2) == 2 && K(SYS_read, a, buf, sizeof(buf)) == 2 &&
		    K(SYS_close, a) == 0 && K(SYS_close, c) == 0)
			ok++;
	}
	EXPECT(ok, 300);
	int fd = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	EXPECT(fd, l + 1); /* the lowest free descriptors came back */
	K(SYS_close, fd);
	K(SYS_close, l);
}

/* The server closes first, so it keeps the connection in TIME_WAIT; the
 * same client address and port connect again at once and are accepted. */
static void time_wait_reuse(void)
{
	int port, l = listener(AF_INET, &port), one = 1;
	struct sockaddr_in me = sin4("127.0.0.1", 0), srv = sin4("127.0.0.1", port);
	socklen_t len = sizeof(me);
	char buf[8];

	for (int round = 0; round < 2; round++) {
		int c = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
		K(SYS_setsockopt, c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		EXPECT(K(SYS_bind, c, &me, sizeof(me)), 0);
		if (round == 0)
			K(SYS_getsockname, c, &me, &len);
		long t0 = now_ms();
		EXPECT(K(SYS_connect, c, &srv, sizeof(srv)), 0);
		EXPECT_TRUE(now_ms() - t0 < 500);
		int a = K(SYS_accept, l, NULL, NULL);
		EXPECT_TRUE(a > 0);
		EXPECT(K(SYS_write, a, "bye", 3), 3);
		EXPECT(K(SYS_close, a), 0); /* the server closes first */
		EXPECT(K(SYS_recvfrom, c, buf, 3, MSG_WAITALL, NULL, NULL), 3);
		EXPECT(K(SYS_read, c, buf, sizeof(buf)), 0);
		EXPECT(K(SYS_close, c), 0);
		usleep(10000);
	}
	K(SYS_close, l);
}

int main(void)
{
	ktest_boot();
	KTEST_SECTION("time wait reuse");
	time_wait_reuse();
	KTEST_SECTION("tcp basics");
	tcp_basics();
	KTEST_SECTION("tcp errors");
	tcp_errors();
	KTEST_SECTION("nonblocking");
	nonblocking();
	KTEST_SECTION("ipv6");
	ipv6();
	KTEST_SECTION("udp");
	udp();
	KTEST_SECTION("many connections");
	many_connections();
	return ktest_done();
}
