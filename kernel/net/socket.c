/*
 * The socket system calls: arguments checked and copied as Linux does,
 * then handed to the family's struct sock_ops (inet.c, unix.c).  A socket
 * is an open file (struct file) whose ops are below, so read, write,
 * close, poll, select, epoll, fcntl and dup work on it.
 */
#include "net_impl.h"
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/time.h>

/* The flags recv and send accept; anything else is EINVAL/EOPNOTSUPP. */
#define SEND_FLAGS \
	(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | MSG_CONFIRM | MSG_DONTROUTE | MSG_OOB)
#define RECV_FLAGS \
	(MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_ERRQUEUE | \
	    MSG_OOB)

static const struct file_ops socket_ops;

void sock_init(struct sock *s, const struct sock_ops *ops, int domain, int type, int protocol)
{
	s->ops = ops;
	s->file = NULL;
	s->domain = domain;
	s->type = type;
	s->protocol = protocol;
	s->rcvtimeo = s->sndtimeo = -1;
}

void sock_notify(struct sock *s, int events)
{
	if (s->file)
		file_notify(s->file, events);
}

int64_t sock_deadline(struct sock *s, int sending)
{
	return net_deadline(sending ? s->sndtimeo : s->rcvtimeo);
}

struct sock *sock_of_file(struct file *f) { return f && f->ops == &socket_ops ? f->priv : NULL; }

size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

size_t iov_copy_out(const struct iovec *iov, int iovcnt, size_t skip, const void *src, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		n -= skip;
		if (n > len - done)
			n = len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)src + done, n);
		done += n;
		skip = 0;
	}
	return done;
}

/* A new descriptor for s (its file takes over the socket). */
static int sock_install(struct sock *s, int flags)
{
	struct file *f =
	    file_new(&socket_ops, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0), s);
	int fd;

	if (!f) {
		s->ops->release(s);
		return -ENOMEM;
	}
	s->file = f;
	if ((fd = fd_install(f, 0, flags & SOCK_CLOEXEC)) < 0)
		file_drop(f);
	return fd;
}

/* The socket of descriptor fd, with a reference on its file in *fp. */
static struct sock *sock_get(int fd, struct file **fp, long *err)
{
	struct file *f = fd_get(fd);

	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	if (f->ops != &socket_ops) {
		file_drop(f);
		*err = -ENOTSOCK;
		return NULL;
	}
	*fp = f;
	return f->priv;
}

static int nonblocking(struct file *f, int flags)
{
	return (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

/* A broken stream: Linux raises SIGPIPE unless MSG_NOSIGNAL. */
static long sigpipe_if(long rv, int flags)
{
	if (rv == -EPIPE && !(flags & MSG_NOSIGNAL))
		signal_raise(SIGPIPE);
	return rv;
}

/* ---- the socket as a file ------------------------------------------------- */

static ssize_t socket_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct sock *s = f->priv;
	struct iovec iov = {buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	if (!s->ops->recvmsg)
		return -EINVAL;
	return s->ops->recvmsg(s, &m, 0, nonblocking(f, 0));
}

static ssize_t socket_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct sock *s = f->priv;
	struct iovec iov = {(void *)buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	if (!s->ops->sendmsg)
		return -EINVAL;
	return sigpipe_if(s->ops->sendmsg(s, &m, 0, nonblocking(f, 0)), 0);
}

static int socket_poll(struct file *f, int events)
{
	struct sock *s = f->priv;

	return s->ops->poll(s) & (events | POLLERR | POLLHUP);
}

static long socket_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct sock *s = f->priv;

	switch (cmd) {
	case FIONBIO:
		if (*(int *)arg)
			f->flags |= O_NONBLOCK;
		else
			f->flags &= ~O_NONBLOCK;
		return 0;
	case FIOASYNC:
		return *(int *)arg ? -EINVAL : 0; /* no SIGIO */
	}
	if (s->ops->ioctl) {
		long rv = s->ops->ioctl(s, cmd, arg);

		if (rv != -ENOTTY)
			return rv;
	}
	return netif_ioctl(cmd, arg);
}

static int socket_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFSOCK | 0777;
	st->st_nlink = 1;
	st->st_ino = (ino_t)(uintptr_t)f->priv >> 4;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static void socket_release(struct file *f)
{
	struct sock *s = f->priv;

	s->ops->release(s);
}

static const struct file_ops socket_ops = {
    .read = socket_read,
    .write = socket_write,
    .ioctl = socket_ioctl,
    .stat = socket_stat,
    .poll = socket_poll,
    .release = socket_release,
    .notifies = 1,
};

/* ---- creating sockets ------------------------------------------------------- */

static int split_type(int type, int *flags)
{
	*flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	return type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static long sys_socket(SYSARGS)
{
	int domain = (int)a0, flags, type = split_type((int)a1, &flags), protocol = (int)a2;
	struct sock *s;
	int err;

	switch (domain) {
	case AF_INET:
	case AF_INET6:
		err = inet_create(domain, type, protocol, &s);
		if (err == 0)
			netcfg_note_socket();
		break;
	case AF_UNIX:
		err = unix_create(type, protocol, &s);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (err)
		return err;
	return sock_install(s, flags);
}
SYSCALL_REGISTER(
    SYS_socket, sys_socket, FULL, "AF_INET, AF_INET6 (lwIP), AF_UNIX; others EAFNOSUPPORT");

static long sys_socketpair(SYSARGS)
{
	int domain = (int)a0, flags, type = split_type((int)a1, &flags), protocol = (int)a2;
	int *sv = (int *)a3, fd0, fd1, err;
	struct sock *s0, *s1;

	if (domain == AF_INET || domain == AF_INET6)
		return -EOPNOTSUPP;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	if (!sv)
		return -EFAULT;
	if ((err = unix_pair(type, protocol, &s0, &s1)) != 0)
		return err;
	if ((fd0 = sock_install(s0, flags)) < 0) {
		s1->ops->release(s1);
		return fd0;
	}
	if ((fd1 = sock_install(s1, flags)) < 0) {
		fd_close(fd0);
		return fd1;
	}
	sv[0] = fd0;
	sv[1] = fd1;
	return 0;
}
SYSCALL_REGISTER(SYS_socketpair, sys_socketpair, FULL, "AF_UNIX");

/* ---- addresses -------------------------------------------------------------- */

static int addr_len_ok(long len)
{
	return len >= 0 && len <= (long)sizeof(struct sockaddr_storage);
}

static long sys_bind(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);

	if (!s)
		return err;
	if (!addr_len_ok(a2))
		err = -EINVAL;
	else if (!a1)
		err = -EFAULT;
	else
		err = s->ops->bind ? s->ops->bind(s, (const struct sockaddr *)a1, (socklen_t)a2)
		                   : -EOPNOTSUPP;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_bind, sys_bind, FULL, "");

static long sys_listen(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);
	int backlog = (int)a1;

	if (!s)
		return err;
	if (backlog > SOMAXCONN_LINUX || backlog < 0)
		backlog = SOMAXCONN_LINUX;
	err = s->ops->listen ? s->ops->listen(s, backlog) : -EOPNOTSUPP;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_listen, sys_listen, FULL, "");

static long getname(int fd, struct sockaddr *sa, socklen_t *lenp, int peer)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get(fd, &f, &err);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!s)
		return err;
	if (!sa || !lenp) {
		err = -EFAULT;
	} else if ((int)*lenp < 0) {
		err = -EINVAL;
	} else {
		memset(&ss, 0, sizeof(ss));
		err = s->ops->getname(s, (struct sockaddr *)&ss, &len, peer);
		if (err == 0) {
			memcpy(sa, &ss, len < *lenp ? len : *lenp);
			*lenp = len;
		}
	}
	file_drop(f);
	return err;
}

static long sys_getsockname(SYSARGS)
{
	return getname((int)a0, (struct sockaddr *)a1, (socklen_t *)a2, 0);
}
static long sys_getpeername(SYSARGS)
{
	return getname((int)a0, (struct sockaddr *)a1, (socklen_t *)a2, 1);
}
SYSCALL_REGISTER(SYS_getsockname, sys_getsockname, FULL, "");
SYSCALL_REGISTER(SYS_getpeername, sys_getpeername, FULL, "");

static long do_accept(int fd, struct sockaddr *sa, socklen_t *lenp, int flags)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get(fd, &f, &err), *ns;
	int nfd;

	if (!s)
		return err;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		err = -EINVAL;
		goto out;
	}
	if (sa && (!lenp || (int)*lenp < 0)) {
		err = lenp ? -EINVAL : -EFAULT;
		goto out;
	}
	if (!s->ops->accept) {
		err = -EOPNOTSUPP;
		goto out;
	}
	if ((err = s->ops->accept(s, &ns, nonblocking(f, 0))) != 0)
		goto out;
	if (sa) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		if (ns->ops->getname(ns, (struct sockaddr *)&ss, &len, 1) != 0)
			len = 0; /* the peer is already gone: no address, as Linux */
		memcpy(sa, &ss, len < *lenp ? len : *lenp);
		*lenp = len;
	}
	nfd = sock_install(ns, flags);
	err = nfd;
out:
	file_drop(f);
	return err;
}

static long sys_accept(SYSARGS)
{
	return do_accept((int)a0, (struct sockaddr *)a1, (socklen_t *)a2, 0);
}
static long sys_accept4(SYSARGS)
{
	return do_accept((int)a0, (struct sockaddr *)a1, (socklen_t *)a2, (int)a3);
}
SYSCALL_REGISTER(SYS_accept, sys_accept, FULL, "");
SYSCALL_REGISTER(SYS_accept4, sys_accept4, FULL, "");

static long sys_connect(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);

	if (!s)
		return err;
	if (!addr_len_ok(a2))
		err = -EINVAL;
	else if (!a1)
		err = -EFAULT;
	else
		err = s->ops->connect ? s->ops->connect(s, (const struct sockaddr *)a1,
		                            (socklen_t)a2, nonblocking(f, 0))
		                      : -EOPNOTSUPP;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_connect, sys_connect, FULL, "");

static long sys_shutdown(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);

	if (!s)
		return err;
	if (a1 != SHUT_RD && a1 != SHUT_WR && a1 != SHUT_RDWR)
		err = -EINVAL;
	else
		err = s->ops->shutdown ? s->ops->shutdown(s, (int)a1) : -EOPNOTSUPP;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_shutdown, sys_shutdown, FULL, "");

/* ---- sending and receiving ------------------------------------------------------ */

static long check_msg(const struct msghdr *m)
{
	if (!m)
		return -EFAULT;
	if (m->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	if (m->msg_iovlen && !m->msg_iov)
		return -EFAULT;
	if (iov_total(m->msg_iov, m->msg_iovlen) > SSIZE_MAX)
		return -EINVAL;
	if (m->msg_name && !addr_len_ok(m->msg_namelen))
		return -EINVAL;
	return 0;
}

static long do_sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get(fd, &f, &err);

	if (!s)
		return err;
	if ((err = check_msg(m)) != 0)
		goto out;
	if (flags & ~SEND_FLAGS) {
		err = -EINVAL;
		goto out;
	}
	err = sigpipe_if(s->ops->sendmsg(s, m, flags, nonblocking(f, flags)), flags);
out:
	file_drop(f);
	return err;
}

static long do_recvmsg(int fd, struct msghdr *m, int flags)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get(fd, &f, &err);

	if (!s)
		return err;
	if ((err = check_msg(m)) != 0)
		goto out;
	if (flags & ~RECV_FLAGS) {
		err = -EINVAL;
		goto out;
	}
	if (flags & MSG_ERRQUEUE) {
		err = -EAGAIN; /* no error queue: nothing is ever queued */
		goto out;
	}
	m->msg_flags = 0;
	err = s->ops->recvmsg(s, m, flags, nonblocking(f, flags));
out:
	file_drop(f);
	return err;
}

static long sys_sendto(SYSARGS)
{
	struct iovec iov = {(void *)a1, (size_t)a2};
	struct msghdr m = {
	    .msg_name = (void *)a4, .msg_namelen = (socklen_t)a5, .msg_iov = &iov, .msg_iovlen = 1};

	if (!a4)
		m.msg_namelen = 0;
	return do_sendmsg((int)a0, &m, (int)a3);
}
SYSCALL_REGISTER(SYS_sendto, sys_sendto, FULL, "");

static long sys_recvfrom(SYSARGS)
{
	struct iovec iov = {(void *)a1, (size_t)a2};
	socklen_t *lenp = (socklen_t *)a5;
	struct sockaddr_storage ss;
	struct msghdr m = {.msg_name = a4 ? &ss : NULL,
	    .msg_namelen = sizeof(ss),
	    .msg_iov = &iov,
	    .msg_iovlen = 1};
	long rv;

	if (a4 && (!lenp || (int)*lenp < 0))
		return lenp ? -EINVAL : -EFAULT;
	rv = do_recvmsg((int)a0, &m, (int)a3);
	if (rv >= 0 && a4) {
		memcpy((void *)a4, &ss, m.msg_namelen < *lenp ? m.msg_namelen : *lenp);
		*lenp = m.msg_namelen;
	}
	return rv;
}
SYSCALL_REGISTER(SYS_recvfrom, sys_recvfrom, FULL, "");

static long sys_sendmsg(SYSARGS) { return do_sendmsg((int)a0, (const struct msghdr *)a1, (int)a2); }
SYSCALL_REGISTER(SYS_sendmsg, sys_sendmsg, PARTIAL,
    "ancillary data: SCM_RIGHTS on AF_UNIX (SCM_CREDENTIALS ignored); none on inet sockets");

static long sys_recvmsg(SYSARGS) { return do_recvmsg((int)a0, (struct msghdr *)a1, (int)a2); }
SYSCALL_REGISTER(SYS_recvmsg, sys_recvmsg, PARTIAL,
    "ancillary data: SCM_RIGHTS on AF_UNIX; none on inet sockets");

/* sendmmsg/recvmmsg: one message after the other; the count of messages
 * done, or the first error when none was. */
static long sys_sendmmsg(SYSARGS)
{
	struct mmsghdr *v = (struct mmsghdr *)a1;
	unsigned n = (unsigned)a2, i;
	long rv = 0;

	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		if ((rv = do_sendmsg((int)a0, &v[i].msg_hdr, (int)a3)) < 0)
			break;
		v[i].msg_len = (unsigned)rv;
	}
	return i ? (long)i : rv;
}
SYSCALL_REGISTER(SYS_sendmmsg, sys_sendmmsg, FULL, "");

static long sys_recvmmsg(SYSARGS)
{
	struct mmsghdr *v = (struct mmsghdr *)a1;
	unsigned n = (unsigned)a2, i;
	int flags = (int)a3;
	long rv = 0;

	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		/* MSG_WAITFORONE: wait for the first message only. */
		int f =
		    (flags & ~MSG_WAITFORONE) | (i && (flags & MSG_WAITFORONE) ? MSG_DONTWAIT : 0);

		if ((rv = do_recvmsg((int)a0, &v[i].msg_hdr, f)) < 0)
			break;
		v[i].msg_len = (unsigned)rv;
	}
	return i ? (long)i : rv;
}
SYSCALL_REGISTER(SYS_recvmmsg, sys_recvmmsg, FULL, "");

/* ---- options ----------------------------------------------------------------- */

int sockopt_get_int(void *val, socklen_t *len, int v)
{
	if (!val || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (*len < sizeof(int)) {
		/* Linux writes what fits of small values. */
		if (*len >= 1)
			*(unsigned char *)val = (unsigned char)v;
		return 0;
	}
	*(int *)val = v;
	*len = sizeof(int);
	return 0;
}

int sockopt_int(const void *val, socklen_t len, int *v)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(int))
		return -EINVAL;
	*v = *(const int *)val;
	return 0;
}

static int timeo_set(int64_t *t, const void *val, socklen_t len)
{
	const struct timeval *tv = val;

	if (!val)
		return -EFAULT;
	if (len < sizeof(*tv))
		return -EINVAL;
	if (tv->tv_usec < 0 || tv->tv_usec >= 1000000)
		return -EDOM;
	if (tv->tv_sec < 0 || (tv->tv_sec == 0 && tv->tv_usec == 0))
		*t = -1; /* Linux: zero (and, with a warning, negative) means none */
	else
		*t = tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
	return 0;
}

static int timeo_get(int64_t t, void *val, socklen_t *len)
{
	struct timeval tv = {0, 0};

	if (!val || !len)
		return -EFAULT;
	if (*len < sizeof(tv))
		return -EINVAL;
	if (t > 0) {
		tv.tv_sec = t / 1000000000;
		tv.tv_usec = (t % 1000000000) / 1000;
	}
	memcpy(val, &tv, sizeof(tv));
	*len = sizeof(tv);
	return 0;
}

static long sys_setsockopt(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);
	int level = (int)a1, name = (int)a2;
	const void *val = (const void *)a3;
	socklen_t len = (socklen_t)a4;

	if (!s)
		return err;
	if ((int)len < 0)
		err = -EINVAL;
	else if (level == SOL_SOCKET && name == SO_RCVTIMEO)
		err = timeo_set(&s->rcvtimeo, val, len);
	else if (level == SOL_SOCKET && name == SO_SNDTIMEO)
		err = timeo_set(&s->sndtimeo, val, len);
	else
		err = s->ops->setsockopt ? s->ops->setsockopt(s, level, name, val, len)
		                         : -ENOPROTOOPT;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_setsockopt, sys_setsockopt, PARTIAL,
    "SOL_SOCKET, TCP, IP and IPv6 options lwIP has; harmless others accepted; the rest "
    "ENOPROTOOPT");

static long sys_getsockopt(SYSARGS)
{
	struct file *f;
	long err = 0;
	struct sock *s = sock_get((int)a0, &f, &err);
	int level = (int)a1, name = (int)a2;
	void *val = (void *)a3;
	socklen_t *len = (socklen_t *)a4;

	if (!s)
		return err;
	if (!len)
		err = -EFAULT;
	else if ((int)*len < 0)
		err = -EINVAL;
	else if (level != SOL_SOCKET)
		err = s->ops->getsockopt ? s->ops->getsockopt(s, level, name, val, len)
		                         : -ENOPROTOOPT;
	else if (name == SO_RCVTIMEO)
		err = timeo_get(s->rcvtimeo, val, len);
	else if (name == SO_SNDTIMEO)
		err = timeo_get(s->sndtimeo, val, len);
	else if (name == SO_TYPE)
		err = sockopt_get_int(val, len, s->type);
	else if (name == SO_DOMAIN)
		err = sockopt_get_int(val, len, s->domain);
	else if (name == SO_PROTOCOL)
		err = sockopt_get_int(val, len, s->protocol);
	else
		err = s->ops->getsockopt ? s->ops->getsockopt(s, level, name, val, len)
		                         : -ENOPROTOOPT;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_getsockopt, sys_getsockopt, PARTIAL, "as setsockopt");
