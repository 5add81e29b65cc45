/*
 * AF_UNIX sockets, epoll, eventfd and sendfile on the posix platform:
 * stream, datagram and seqpacket pairs, names in the file system and the
 * abstract name space, descriptor passing, full buffers; epoll's level,
 * edge and oneshot modes, its errors, nesting and a big set; eventfd.
 */
#include "ktest.h"
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct late {
	int fd;
	const char *what;
};

static void *late_write(void *arg)
{
	struct late *l = arg;
	usleep(100000);
	K(SYS_write, l->fd, l->what, strlen(l->what));
	return NULL;
}

static struct sockaddr_un path_addr(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	return a;
}

static void pairs(void)
{
	int sv[2];
	char buf[64];

	/* Stream. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT(K(SYS_write, sv[0], "abc", 3), 3);
	EXPECT(K(SYS_write, sv[0], "def", 3), 3);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 6); /* a stream: one read */
	EXPECT(K(SYS_recvfrom, sv[1], buf, 1, MSG_DONTWAIT, NULL, NULL), -EAGAIN);
	EXPECT(K(SYS_shutdown, sv[0], SHUT_WR), 0);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 0);
	EXPECT(K(SYS_write, sv[1], "back", 4), 4); /* the other way still works */
	EXPECT(K(SYS_read, sv[0], buf, sizeof(buf)), 4);
	EXPECT(K(SYS_close, sv[0]), 0);
	EXPECT(K(SYS_sendto, sv[1], "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	struct pollfd pf = {sv[1], POLLIN | POLLOUT, 0};
	EXPECT(K(SYS_poll, &pf, 1, 0), 1);
	EXPECT_TRUE(pf.revents & POLLHUP);
	EXPECT(K(SYS_close, sv[1]), 0);

	/* Datagram: boundaries kept, truncation told. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	EXPECT(K(SYS_fcntl, sv[0], F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_write, sv[0], "one", 3), 3);
	EXPECT(K(SYS_write, sv[0], "second", 6), 6);
	EXPECT(K(SYS_write, sv[0], "", 0), 0);
	int avail = 0;
	EXPECT(K(SYS_ioctl, sv[1], FIONREAD, &avail), 0);
	EXPECT(avail, 3);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 3);
	struct iovec iov = {buf, 2};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	EXPECT(K(SYS_recvmsg, sv[1], &m, 0), 2);
	EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 0); /* the empty datagram */
	K(SYS_close, sv[0]);
	K(SYS_close, sv[1]);

	/* Seqpacket: boundaries, and the end when the peer goes. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	EXPECT(K(SYS_write, sv[0], "rec1", 4), 4);
	EXPECT(K(SYS_write, sv[0], "rec2", 4), 4);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 4);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 4);
	K(SYS_close, sv[0]);
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 0);
	K(SYS_close, sv[1]);

	/* Bad requests. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_RAW, 0, sv), -ESOCKTNOSUPPORT);
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM, 99, sv), -EPROTONOSUPPORT);

	/* A full buffer: EAGAIN, then room once the reader reads. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	static char chunk[65536];
	long total = 0, n;
	while ((n = K(SYS_write, sv[0], chunk, sizeof(chunk))) > 0)
		total += n;
	EXPECT(n, -EAGAIN);
	EXPECT_TRUE(total >= 65536);
	pf = (struct pollfd){sv[0], POLLOUT, 0};
	EXPECT(K(SYS_poll, &pf, 1, 0), 0);
	EXPECT(K(SYS_read, sv[1], chunk, sizeof(chunk)), sizeof(chunk));
	EXPECT(K(SYS_poll, &pf, 1, 1000), 1);
	K(SYS_close, sv[0]);
	K(SYS_close, sv[1]);

	/* A blocking read woken by a writer in another thread. */
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pthread_t t;
	struct late l = {sv[0], "woken"};
	pthread_create(&t, NULL, late_write, &l);
	long t0 = now_ms();
	EXPECT(K(SYS_read, sv[1], buf, sizeof(buf)), 5);
	EXPECT_TRUE(now_ms() - t0 < 2000);
	pthread_join(t, NULL);
	K(SYS_close, sv[0]);
	K(SYS_close, sv[1]);
}

static void names(void)
{
	struct sockaddr_un a = path_addr("/tmp/srv.sock"), got;
	socklen_t len = sizeof(got);
	char buf[64];
	struct stat st;

	int l = K(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	EXPECT(K(SYS_bind, l, &a, sizeof(a)), 0);
	EXPECT(K(SYS_stat, "/tmp/srv.sock", &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT(K(SYS_open, "/tmp/srv.sock", O_RDONLY), -ENXIO);
	int other = K(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	EXPECT(K(SYS_bind, other, &a, sizeof(a)), -EADDRINUSE);
	EXPECT(K(SYS_bind, l, &a, sizeof(a)), -EINVAL); /* bound already */
	/* Not listening yet: refused. */
	EXPECT(K(SYS_connect, other, &a, sizeof(a)), -ECONNREFUSED);
	EXPECT(K(SYS_listen, l, 4), 0);
	EXPECT(K(SYS_getsockname, l, &got, &len), 0);
	EXPECT_TRUE(strcmp(got.sun_path, "/tmp/srv.sock") == 0);
	/* A relative path, from the cwd. */
	EXPECT(K(SYS_chdir, "/tmp"), 0);
	struct sockaddr_un rel = path_addr("srv.sock");
	int c = K(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	EXPECT(K(SYS_connect, c, &rel, sizeof(rel)), 0);
	EXPECT(K(SYS_connect, c, &rel, sizeof(rel)), -EISCONN);
	int s = K(SYS_accept, l, &got, &len);
	EXPECT_TRUE(s > 0);
	len = sizeof(got);
	EXPECT(K(SYS_getpeername, c, &got, &len), 0);
	EXPECT_TRUE(strcmp(got.sun_path, "/tmp/srv.sock") == 0);
	struct ucred cred;
	len = sizeof(cred);
	EXPECT(K(SYS_getsockopt, s, SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
	EXPECT(cred.pid, 1);
	EXPECT(K(SYS_write, c, "hello", 5), 5);
	EXPECT(K(SYS_read, s, buf, sizeof(buf)), 5);

	/* Pass a pipe's read end; the receiver reads the pipe. */
	int p[2];
	EXPECT(K(SYS_pipe, p), 0);
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
	memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
	EXPECT(K(SYS_sendmsg, c, &m, 0), 1);
	EXPECT(K(SYS_close, p[0]), 0);
	EXPECT(K(SYS_write, p[1], "piped", 5), 5);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} rctl;
	char one;
	struct iovec riov = {&one, 1};
	struct msghdr r = {.msg_iov = &riov,
	    .msg_iovlen = 1,
	    .msg_control = rctl.b,
	    .msg_controllen = sizeof(rctl.b)};
	EXPECT(K(SYS_recvmsg, s, &r, MSG_CMSG_CLOEXEC), 1);
	cm = CMSG_FIRSTHDR(&r);
	EXPECT_TRUE(cm && cm->cmsg_type == SCM_RIGHTS);
	if (cm) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		EXPECT(K(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
		EXPECT(K(SYS_read, fd, buf, sizeof(buf)), 5);
		K(SYS_close, fd);
	}
	/* Without room for the descriptor: MSG_CTRUNC, and it is closed. */
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &p[1], sizeof(int));
	EXPECT(K(SYS_sendmsg, c, &m, 0), 1);
	r.msg_control = NULL;
	r.msg_controllen = 0;
	EXPECT(K(SYS_recvmsg, s, &r, 0), 1);
	EXPECT_TRUE(r.msg_flags & MSG_CTRUNC);
	K(SYS_close, p[1]);

	K(SYS_close, c);
	K(SYS_close, s);
	K(SYS_close, l);
	/* The name stays until unlinked; nobody listens now. */
	c = K(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	EXPECT(K(SYS_connect, c, &a, sizeof(a)), -ECONNREFUSED);
	EXPECT(K(SYS_unlink, "/tmp/srv.sock"), 0);
	EXPECT(K(SYS_connect, c, &a, sizeof(a)), -ENOENT);
	struct sockaddr_un file = path_addr("/tmp/plain");
	K(SYS_close, K(SYS_open, "/tmp/plain", O_CREAT | O_WRONLY, 0600));
	EXPECT(K(SYS_connect, c, &file, sizeof(file)), -ECONNREFUSED);
	K(SYS_close, c);
	K(SYS_close, other);

	/* Datagrams between named sockets, in the abstract name space. */
	struct sockaddr_un an = {.sun_family = AF_UNIX}, bn = {.sun_family = AF_UNIX}, from;
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 3, flen = sizeof(from);
	memcpy(an.sun_path, "\0aa", 3);
	memcpy(bn.sun_path, "\0bb", 3);
	int d1 = K(SYS_socket, AF_UNIX, SOCK_DGRAM, 0), d2 = K(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
	EXPECT(K(SYS_bind, d1, &an, alen), 0);
	EXPECT(K(SYS_bind, d2, &bn, alen), 0);
	EXPECT(K(SYS_sendto, d2, "dg", 2, 0, &an, alen), 2);
	EXPECT(K(SYS_recvfrom, d1, buf, sizeof(buf), 0, &from, &flen), 2);
	EXPECT(flen, alen);
	EXPECT_TRUE(memcmp(from.sun_path, "\0bb", 3) == 0);
	EXPECT(K(SYS_write, d1, "x", 1), -ENOTCONN);
	EXPECT(K(SYS_connect, d1, &bn, alen), 0);
	EXPECT(K(SYS_write, d1, "y", 1), 1);
	EXPECT(K(SYS_read, d2, buf, sizeof(buf)), 1);
	K(SYS_close, d2);
	EXPECT(K(SYS_write, d1, "z", 1), -ECONNREFUSED); /* the peer is gone */
	K(SYS_close, d1);
}

static void epoll(void)
{
	int ep = K(SYS_epoll_create1, EPOLL_CLOEXEC), p[2], e, sv[2];
	struct epoll_event ev, out[16];
	uint64_t v = 1;

	EXPECT_TRUE(ep > 0);
	EXPECT(K(SYS_fcntl, ep, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_epoll_create1, 0x1), -EINVAL);
	EXPECT(K(SYS_pipe, p), 0);
	e = K(SYS_eventfd2, 0, EFD_NONBLOCK);
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv), 0);

	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0x1111};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 0x2222};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, e, &ev), 0);
	ev = (struct epoll_event){.events = EPOLLOUT, .data.u64 = 0x3333};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, sv[0], &ev), 0);

	/* Errors, as Linux gives them. */
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev), -EEXIST);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[1], &ev), -ENOENT);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[1], &ev), -ENOENT);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, ep, &ev), -EINVAL);
	EXPECT(K(SYS_epoll_ctl, p[0], EPOLL_CTL_ADD, p[1], &ev), -EINVAL);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, 999, &ev), -EBADF);
	EXPECT(K(SYS_epoll_ctl, ep, 77, p[1], &ev), -EINVAL);
	int f = K(SYS_open, "/tmp/regular", O_CREAT | O_RDWR, 0600);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, f, &ev), -EPERM);
	K(SYS_close, f);
	EXPECT(K(SYS_epoll_wait, ep, out, 0, 0), -EINVAL);
	EXPECT(K(SYS_epoll_wait, p[0], out, 4, 0), -EINVAL);

	/* Only the writable socket now; data preserved. */
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 1);
	EXPECT(out[0].data.u64, 0x3333);
	EXPECT(out[0].events, EPOLLOUT);
	/* Level-triggered: reported again and again. */
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 1);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0x3333};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, sv[0], &ev), 0);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);
	long t0 = now_ms();
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 100), 0);
	EXPECT_TRUE(now_ms() - t0 >= 90);

	/* Woken at once by another thread. */
	pthread_t t;
	struct late l = {p[1], "x"};
	pthread_create(&t, NULL, late_write, &l);
	t0 = now_ms();
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 5000), 1);
	EXPECT_TRUE(now_ms() - t0 < 2000);
	EXPECT(out[0].data.u64, 0x1111);
	pthread_join(t, NULL);

	/* Edge-triggered eventfd: once per write. */
	EXPECT(K(SYS_write, e, &v, 8), 8);
	int n = K(SYS_epoll_wait, ep, out, 16, 0);
	EXPECT(n, 2); /* the pipe (level) and the eventfd */
	n = K(SYS_epoll_wait, ep, out, 16, 0);
	EXPECT(n, 1); /* the pipe only */
	EXPECT(K(SYS_write, e, &v, 8), 8);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 2);
	char c;
	EXPECT(K(SYS_read, p[0], &c, 1), 1);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);

	/* Oneshot: once, until re-armed with MOD. */
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x4444};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	K(SYS_write, p[1], "ab", 2);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 1);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 1);

	/* The peer's end: EPOLLHUP and EPOLLRDHUP. */
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0x5555};
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[0], NULL), 0);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, sv[0], &ev), 0);
	K(SYS_close, sv[1]);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 1);
	EXPECT_TRUE((out[0].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) ==
	    (EPOLLIN | EPOLLRDHUP | EPOLLHUP));

	/* Closing the last descriptor of a file takes it out of the set. */
	K(SYS_close, sv[0]);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);

	/* Nesting: an epoll instance in another, and in poll. */
	int outer = K(SYS_epoll_create1, 0);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0x6666};
	EXPECT(K(SYS_epoll_ctl, outer, EPOLL_CTL_ADD, ep, &ev), 0);
	EXPECT(K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, outer, &ev), -ELOOP);
	EXPECT(K(SYS_epoll_wait, outer, out, 16, 0), 0);
	EXPECT(K(SYS_write, e, &v, 8), 8);
	EXPECT(K(SYS_epoll_wait, outer, out, 16, 1000), 1);
	EXPECT(out[0].data.u64, 0x6666);
	struct pollfd pf = {ep, POLLIN, 0};
	EXPECT(K(SYS_poll, &pf, 1, 0), 1);
	K(SYS_close, outer);

	/* eventfd itself. */
	uint64_t got = 0;
	EXPECT(K(SYS_read, e, &got, 8), 8);
	EXPECT(got, 3); /* the three writes above, in one read */
	EXPECT(K(SYS_read, e, &got, 8), -EAGAIN);
	EXPECT(K(SYS_read, e, &got, 4), -EINVAL);
	v = ~0ULL;
	EXPECT(K(SYS_write, e, &v, 8), -EINVAL);
	v = ~0ULL - 1;
	EXPECT(K(SYS_write, e, &v, 8), 8);
	v = 1;
	EXPECT(K(SYS_write, e, &v, 8), -EAGAIN); /* it would overflow */
	K(SYS_close, e);
	int sem = K(SYS_eventfd2, 3, EFD_SEMAPHORE);
	EXPECT(K(SYS_read, sem, &got, 8), 8);
	EXPECT(got, 1);
	EXPECT(K(SYS_read, sem, &got, 8), 8);
	EXPECT(K(SYS_read, sem, &got, 8), 8);
	EXPECT(K(SYS_eventfd2, 0, 0x1234), -EINVAL);
	K(SYS_close, sem);
	K(SYS_close, p[0]);
	K(SYS_close, p[1]);
	K(SYS_close, ep);
}

/* Three thousand descriptors in one set; three become ready. */
static void big_set(void)
{
	struct rlimit rl = {10000, 10000};
	enum { N = 1500 };
	static int fds[N][2];
	struct epoll_event ev, out[16];
	int ep = K(SYS_epoll_create1, 0), ok = 1;

	EXPECT(K(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0);
	for (int i = 0; i < N; i++) {
		ok &= K(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, fds[i]) == 0;
		ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = i};
		ok &= K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[i][0], &ev) == 0;
		ev.data.u32 = N + i;
		ok &= K(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[i][1], &ev) == 0;
	}
	EXPECT(ok, 1);
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);
	K(SYS_write, fds[7][1], "a", 1);
	K(SYS_write, fds[700][1], "b", 1);
	K(SYS_write, fds[1400][0], "c", 1);
	int n = K(SYS_epoll_wait, ep, out, 16, 0);
	EXPECT(n, 3);
	unsigned sum = 0;
	for (int i = 0; i < n; i++)
		sum += out[i].data.u32;
	EXPECT(sum, 7 + 700 + N + 1400);
	for (int i = 0; i < N; i++) {
		K(SYS_close, fds[i][0]);
		K(SYS_close, fds[i][1]);
	}
	EXPECT(K(SYS_epoll_wait, ep, out, 16, 0), 0);
	K(SYS_close, ep);
	rl.rlim_cur = 1024;
	K(SYS_setrlimit, RLIMIT_NOFILE, &rl);
}

static void sendfile_to_socket(void)
{
	int sv[2], f = K(SYS_open, "/tmp/payload", O_CREAT | O_RDWR | O_TRUNC, 0600);
	static char data[200000], back[200000];
	off_t off = 1000;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 13);
	EXPECT(K(SYS_write, f, data, sizeof(data)), sizeof(data));
	EXPECT(K(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	long n = K(SYS_sendfile, sv[0], f, &off, 100000);
	EXPECT(n, 100000);
	EXPECT(off, 101000);
	long got = 0, r;
	while ((r = K(SYS_read, sv[1], back + got, sizeof(back) - got)) > 0)
		got += r;
	EXPECT(got, 100000);
	EXPECT_TRUE(memcmp(back, data + 1000, 100000) == 0);
	/* From the file's position when no offset is given. */
	EXPECT(K(SYS_lseek, f, 5, SEEK_SET), 5);
	EXPECT(K(SYS_sendfile, sv[0], f, NULL, 10), 10);
	EXPECT(K(SYS_lseek, f, 0, SEEK_CUR), 15);
	EXPECT(K(SYS_sendfile, sv[0], 999, NULL, 10), -EBADF);
	K(SYS_close, sv[0]);
	K(SYS_close, sv[1]);
	K(SYS_close, f);
}

int main(void)
{
	ktest_boot();
	KTEST_SECTION("pairs");
	pairs();
	KTEST_SECTION("names");
	names();
	KTEST_SECTION("epoll");
	epoll();
	KTEST_SECTION("big set");
	big_set();
	KTEST_SECTION("sendfile to socket");
	sendfile_to_socket();
	return ktest_done();
}
