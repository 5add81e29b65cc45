/*
 * AF_UNIX sockets: SOCK_STREAM, SOCK_SEQPACKET and SOCK_DGRAM, named in
 * the file system (socket nodes, kernel/vfs/socknode.c) or in Linux's
 * abstract name space (a name starting with a NUL byte), and socketpair.
 * Every program of an image shares them, so programs talk to each other
 * through them as processes do on Linux.  Descriptors travel with
 * SCM_RIGHTS (the receiver gets new descriptors for the same open files).
 *
 * Data goes straight into the receiver's queue, a list of messages (for
 * streams, chunks read across).  A queue holds at most UNIX_BUF bytes;
 * a writer waits for room (or gets EAGAIN).  One lock, unix_mtx, guards
 * every AF_UNIX socket; each socket has a condition variable broadcast on
 * any change that concerns its waiters (readers of its queue, writers to
 * it, connect and accept).
 *
 * Lifetimes: a socket counts references (its file, a connected peer, a
 * datagram socket connected to it, a queued connection's listener).  When
 * its file goes it is marked dead, drops what it holds and tells its peer;
 * the memory goes with the last reference.
 */
#include "net_impl.h"
#include <kernel/vfs.h>
#include <poll.h>
#include <sys/un.h>
#include <sys/ioctl.h>

#define UNIX_BUF 212992 /* Linux's default socket buffer */
#define UNIX_CHUNK 65536 /* stream writes are queued in pieces of at most */
#define SCM_MAX_FD 253

enum unix_state { U_NEW, U_LISTEN, U_CONNECTED };

struct unix_name {
	socklen_t len; /* of the sockaddr_un; 0: unnamed */
	struct sockaddr_un sun;
};

struct umsg {
	struct umsg *next;
	size_t len, off; /* off: read so far (streams) */
	struct file **files; /* SCM_RIGHTS */
	int nfiles;
	struct unix_name from; /* datagrams: the sender's name */
	char data[];
};

struct usock {
	struct sock sk;
	int refs;
	int dead; /* its file went */
	enum unix_state state;
	struct usock *peer; /* held */
	struct unix_name name;
	struct vnode *vnode; /* held, when bound to a path */
	struct usock *bound_next; /* the list of named sockets */
	struct umsg *rq, *rq_tail;
	size_t rq_bytes;
	unsigned rx_shut : 1, tx_shut : 1;
	unsigned peer_shut : 1; /* the peer will send nothing more */
	struct usock *acc_head, *acc_tail, *acc_next;
	int acc_len, backlog;
	struct rumpuser_cv *cv;
	int rcvbuf, sndbuf;
};

static struct rumpuser_mtx *unix_mtx;
static struct usock *bound;
static const struct sock_ops unix_ops;

static void ulock(void) { rumpuser_mutex_enter(unix_mtx); }

static void uunlock(void) { rumpuser_mutex_exit(unix_mtx); }

/* Wait on u's condition variable (locked); ETIMEDOUT past deadline. */
static int uwait(struct usock *u, int64_t deadline)
{
	if (deadline < 0) {
		rumpuser_cv_wait(u->cv, unix_mtx);
		return 0;
	}
	int64_t left = deadline - time_mono_ns();

	if (left <= 0)
		return ETIMEDOUT;
	return rumpuser_cv_timedwait(u->cv, unix_mtx, left / 1000000000, left % 1000000000);
}

static void uwake(struct usock *u, int events)
{
	rumpuser_cv_broadcast(u->cv);
	sock_notify(&u->sk, events);
}

static struct usock *usock_new(int type)
{
	struct usock *u = kzalloc(sizeof(*u));

	if (!u)
		return NULL;
	sock_init(&u->sk, &unix_ops, AF_UNIX, type, 0);
	rumpuser_cv_init(&u->cv);
	u->refs = 1;
	u->rcvbuf = u->sndbuf = UNIX_BUF;
	return u;
}

static void usock_hold(struct usock *u) { u->refs++; }

static void umsg_free(struct umsg *m)
{
	for (int i = 0; i < m->nfiles; i++)
		if (m->files[i])
			file_drop(m->files[i]);
	if (m->files)
		kfree(m->files, m->nfiles * sizeof(struct file *));
	kfree(m, sizeof(*m) + m->len);
}

/* Drop a reference (locked).  Files in queued messages are dropped
 * after the lock is let go by the caller's caller: release them here
 * by collecting them on *later. */
static void usock_rele(struct usock *u, struct umsg **later)
{
	if (--u->refs > 0)
		return;
	while (u->rq) {
		struct umsg *m = u->rq;

		u->rq = m->next;
		m->next = *later;
		*later = m;
	}
	rumpuser_cv_destroy(u->cv);
	kfree(u, sizeof(*u));
}

static void umsgs_free(struct umsg *list)
{
	while (list) {
		struct umsg *m = list;

		list = m->next;
		umsg_free(m);
	}
}

/* ---- names ------------------------------------------------------------------ */

/* A sockaddr_un as a name; the path NUL-terminated in name->sun. */
static int name_in(const struct sockaddr *sa, socklen_t len, struct unix_name *name)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	size_t plen;

	if (len < sizeof(sa_family_t) || len > sizeof(struct sockaddr_un))
		return -EINVAL;
	if (sun->sun_family != AF_UNIX)
		return -EINVAL;
	plen = len - offsetof(struct sockaddr_un, sun_path);
	if (plen == 0)
		return -EINVAL;
	memset(name, 0, sizeof(*name));
	name->sun.sun_family = AF_UNIX;
	memcpy(name->sun.sun_path, sun->sun_path, plen);
	if (sun->sun_path[0] != '\0') {
		/* A path: up to its NUL (Linux accepts a missing one). */
		plen = strnlen(name->sun.sun_path, plen);
		if (plen >= sizeof(name->sun.sun_path))
			return -EINVAL;
		name->sun.sun_path[plen] = '\0';
		name->len = offsetof(struct sockaddr_un, sun_path) + plen + 1;
	} else {
		name->len = len; /* abstract: every byte counts */
	}
	return 0;
}

static int name_abstract(const struct unix_name *n)
{
	return n->len > offsetof(struct sockaddr_un, sun_path) && n->sun.sun_path[0] == '\0';
}

static void name_out(const struct unix_name *n, struct sockaddr *sa, socklen_t *len)
{
	socklen_t full = n->len ? n->len : sizeof(sa_family_t);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (n->len)
		sun = n->sun;
	memcpy(sa, &sun, *len < full ? *len : full);
	*len = full;
}

/* The socket bound to name (locked), or an error: -ENOENT, -ECONNREFUSED.
 * Path lookups go through the VFS, so call with the lock not held. */
static int find_bound(const struct unix_name *name, struct usock **up)
{
	struct vnode *v = NULL;
	struct usock *u;
	int err = 0;

	if (!name_abstract(name) && (err = vfs_socknode_lookup(name->sun.sun_path, &v)) != 0)
		return err;
	ulock();
	for (u = bound; u; u = u->bound_next) {
		if (v ? u->vnode == v
		      : (!u->vnode && u->name.len == name->len &&
		            !memcmp(&u->name.sun, &name->sun, name->len)))
			break;
	}
	if (u)
		usock_hold(u);
	else
		err = -ECONNREFUSED;
	uunlock();
	if (v)
		vfs_vnode_release(v);
	*up = u;
	return err;
}

static int unix_bind(struct sock *s, const struct sockaddr *sa, socklen_t len)
{
	struct usock *u = (struct usock *)s, *o;
	struct unix_name name;
	struct vnode *v = NULL;
	int err = name_in(sa, len, &name);

	if (err)
		return err;
	if (name.len == sizeof(sa_family_t))
		return -EINVAL; /* autobind: not supported */
	ulock();
	err = u->name.len ? -EINVAL : 0;
	uunlock();
	if (err)
		return err;
	if (!name_abstract(&name)) {
		if ((err = vfs_socknode_create(name.sun.sun_path, 0777, &v)) != 0)
			return err == -EEXIST ? -EADDRINUSE : err;
	}
	ulock();
	if (u->name.len) {
		err = -EINVAL;
	} else if (!v) {
		for (o = bound; o; o = o->bound_next)
			if (!o->vnode && o->name.len == name.len &&
			    !memcmp(&o->name.sun, &name.sun, name.len))
				err = -EADDRINUSE;
	}
	if (err == 0) {
		u->name = name;
		u->vnode = v;
		u->bound_next = bound;
		bound = u;
		v = NULL;
	}
	uunlock();
	if (v)
		vfs_vnode_release(v);
	return err;
}

static void unbind(struct usock *u)
{
	struct usock **pp;

	for (pp = &bound; *pp; pp = &(*pp)->bound_next) {
		if (*pp == u) {
			*pp = u->bound_next;
			break;
		}
	}
}

/* ---- connections ---------------------------------------------------------- */

static int unix_listen(struct sock *s, int backlog)
{
	struct usock *u = (struct usock *)s;
	int err = 0;

	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	ulock();
	if (!u->name.len)
		err = -EINVAL; /* Linux wants a bound socket */
	else if (u->state != U_NEW && u->state != U_LISTEN)
		err = -EINVAL;
	else {
		u->state = U_LISTEN;
		u->backlog = backlog;
		uwake(u, POLLOUT); /* connectors waiting for room */
	}
	uunlock();
	return err;
}

static void connect_pair(struct usock *a, struct usock *b)
{
	a->peer = b;
	usock_hold(b);
	b->peer = a;
	usock_hold(a);
	a->state = b->state = U_CONNECTED;
}

static int stream_connect(struct usock *u, struct usock *l, int nonblock)
{
	int64_t deadline = sock_deadline(&u->sk, 1);
	struct usock *srv;

	for (;;) {
		if (u->state == U_CONNECTED)
			return -EISCONN;
		if (u->state == U_LISTEN)
			return -EINVAL;
		if (l->dead || l->state != U_LISTEN)
			return -ECONNREFUSED;
		if (l->sk.type != u->sk.type)
			return -EPROTOTYPE;
		if (l->acc_len <= l->backlog)
			break;
		if (nonblock)
			return -EAGAIN;
		/* The listener's cv is broadcast when accept makes room. */
		if (uwait(l, deadline) == ETIMEDOUT)
			return -EAGAIN;
	}
	if ((srv = usock_new(u->sk.type)) == NULL)
		return -ENOMEM;
	srv->name = l->name; /* getsockname of an accepted socket: the listener's */
	srv->name.len = l->name.len;
	connect_pair(u, srv);
	srv->sk.rcvtimeo = l->sk.rcvtimeo;
	srv->sk.sndtimeo = l->sk.sndtimeo;
	if (l->acc_tail)
		l->acc_tail->acc_next = srv;
	else
		l->acc_head = srv;
	l->acc_tail = srv;
	l->acc_len++;
	uwake(l, POLLIN | POLLRDNORM);
	return 0;
}

static int unix_connect(struct sock *s, const struct sockaddr *sa, socklen_t len, int nonblock)
{
	struct usock *u = (struct usock *)s, *target;
	struct unix_name name;
	struct umsg *later = NULL;
	int err;

	if (s->type == SOCK_DGRAM && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
		ulock();
		if (u->peer)
			usock_rele(u->peer, &later);
		u->peer = NULL;
		uunlock();
		umsgs_free(later);
		return 0;
	}
	if ((err = name_in(sa, len, &name)) != 0)
		return err;
	if ((err = find_bound(&name, &target)) != 0)
		return err;
	ulock();
	if (s->type == SOCK_DGRAM) {
		if (target->sk.type != SOCK_DGRAM || target->dead) {
			err = target->dead ? -ECONNREFUSED : -EPROTOTYPE;
		} else {
			if (u->peer)
				usock_rele(u->peer, &later);
			u->peer = target;
			usock_hold(target);
		}
	} else {
		err = stream_connect(u, target, nonblock);
	}
	usock_rele(target, &later);
	uunlock();
	umsgs_free(later);
	return err;
}

static int unix_accept(struct sock *s, struct sock **newp, int nonblock)
{
	struct usock *u = (struct usock *)s, *c;
	int64_t deadline = sock_deadline(s, 0);
	int err = 0;

	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	ulock();
	while (u->state == U_LISTEN && !u->acc_head) {
		if (nonblock || uwait(u, deadline) == ETIMEDOUT) {
			err = -EAGAIN;
			break;
		}
	}
	if (err == 0 && u->state != U_LISTEN)
		err = -EINVAL;
	if (err == 0) {
		c = u->acc_head;
		if (!(u->acc_head = c->acc_next))
			u->acc_tail = NULL;
		c->acc_next = NULL;
		u->acc_len--;
		*newp = &c->sk;
		uwake(u, POLLOUT); /* room for a waiting connect */
	}
	uunlock();
	return err;
}

/* ---- data --------------------------------------------------------------------- */

/* SCM_RIGHTS of a message to send: the files, held, in *files. */
static int control_files(const struct msghdr *m, struct file ***files, int *nfiles)
{
	struct cmsghdr *c;
	int n = 0, i;

	*files = NULL;
	*nfiles = 0;
	if (!m->msg_control || m->msg_controllen == 0)
		return 0;
	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_len < sizeof(*c) || c->cmsg_len > m->msg_controllen)
			return -EINVAL;
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS)
			n += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		else if (c->cmsg_type != SCM_CREDENTIALS)
			return -EINVAL;
	}
	if (n == 0)
		return 0;
	if (n > SCM_MAX_FD)
		return -EINVAL;
	if ((*files = kzalloc(n * sizeof(struct file *))) == NULL)
		return -ENOMEM;
	*nfiles = n;
	i = 0;
	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		const int *fds = (const int *)CMSG_DATA(c);
		int k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			if (((*files)[i++] = fd_get(fds[k])) == NULL) {
				for (int j = 0; j < i - 1; j++)
					file_drop((*files)[j]);
				kfree(*files, n * sizeof(struct file *));
				*files = NULL;
				*nfiles = 0;
				return -EBADF;
			}
		}
	}
	return 0;
}

/* Deliver the files of a received message as descriptors of the reader
 * (SCM_RIGHTS in m's control buffer); what does not fit is closed and
 * MSG_CTRUNC set.  Called unlocked; consumes the message's files. */
static void deliver_files(struct msghdr *m, struct file **files, int n, int flags)
{
	size_t room = m->msg_control ? m->msg_controllen : 0;
	int fit = room >= CMSG_LEN(0) ? (int)((room - CMSG_LEN(0)) / sizeof(int)) : 0, i, got = 0;
	struct cmsghdr *c = m->msg_control;

	if (fit > n)
		fit = n;
	for (i = 0; i < n; i++) {
		int fd = -1;

		if (i < fit &&
		    (fd = fd_install(files[i], 0, (flags & MSG_CMSG_CLOEXEC) != 0)) >= 0) {
			((int *)CMSG_DATA(c))[got++] = fd;
			continue;
		}
		file_drop(files[i]);
	}
	if (got) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(got * sizeof(int));
		m->msg_controllen = CMSG_SPACE(got * sizeof(int));
	}
	if (got < n)
		m->msg_flags |= MSG_CTRUNC;
}

static struct umsg *umsg_new(size_t len)
{
	struct umsg *m = kmalloc(sizeof(*m) + len);

	if (m) {
		m->next = NULL;
		m->len = len;
		m->off = 0;
		m->files = NULL;
		m->nfiles = 0;
		m->from.len = 0;
	}
	return m;
}

static void enqueue(struct usock *to, struct umsg *m)
{
	if (to->rq_tail)
		to->rq_tail->next = m;
	else
		to->rq = m;
	to->rq_tail = m;
	to->rq_bytes += m->len;
	uwake(to, POLLIN | POLLRDNORM);
}

/* Copy len bytes of the message's iovecs from offset skip into buf. */
static void iov_gather(const struct msghdr *msg, size_t skip, char *buf, size_t len)
{
	size_t done = 0;

	for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < len; i++) {
		size_t n = msg->msg_iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		n -= skip;
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, (const char *)msg->msg_iov[i].iov_base + skip, n);
		done += n;
		skip = 0;
	}
}

/* The connected peer to write to, or the error (locked). */
static int stream_target(struct usock *u, struct usock **to)
{
	if (u->state != U_CONNECTED)
		return u->sk.type == SOCK_STREAM && u->state == U_NEW ? -ENOTCONN : -ENOTCONN;
	if (u->tx_shut || !u->peer || u->peer->dead || u->peer->rx_shut)
		return -EPIPE;
	*to = u->peer;
	return 0;
}

static ssize_t unix_sendmsg(struct sock *s, const struct msghdr *msg, int flags, int nonblock)
{
	struct usock *u = (struct usock *)s, *to = NULL;
	int64_t deadline = sock_deadline(s, 1);
	size_t total = iov_total(msg->msg_iov, msg->msg_iovlen), done = 0;
	struct file **files;
	struct umsg *later = NULL;
	int nfiles, err, stream = s->type == SOCK_STREAM;
	ssize_t ret = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (!stream && total > (size_t)u->sndbuf)
		return -EMSGSIZE;
	if ((err = control_files(msg, &files, &nfiles)) != 0)
		return err;
	if (s->type == SOCK_DGRAM && msg->msg_name && msg->msg_namelen) {
		struct unix_name name;

		if ((err = name_in(msg->msg_name, msg->msg_namelen, &name)) != 0 ||
		    (err = find_bound(&name, &to)) != 0) {
			ret = err;
			goto drop_files;
		}
	}
	ulock();
	if (s->type == SOCK_DGRAM) {
		if (!to && !(to = u->peer)) {
			ret = -ENOTCONN;
			goto out;
		}
		if (to == u->peer)
			usock_hold(to);
		if (to->sk.type != SOCK_DGRAM) {
			ret = -EPROTOTYPE;
			goto out;
		}
	}
	for (;;) {
		struct umsg *m;
		size_t room, n;

		if (s->type != SOCK_DGRAM) {
			if ((ret = stream_target(u, &to)) != 0)
				break;
		} else if (to->dead || u->tx_shut) {
			ret = u->tx_shut ? -EPIPE : -ECONNREFUSED;
			break;
		}
		room = to->rq_bytes < (size_t)to->rcvbuf ? to->rcvbuf - to->rq_bytes : 0;
		n = total - done;
		if (stream) {
			if (n > UNIX_CHUNK)
				n = UNIX_CHUNK;
			if (n > room)
				n = room;
		} else if (n > room && to->rq) {
			n = 0; /* a message goes whole; an empty queue takes any */
		}
		if (n == 0 && (total > 0 || room == 0)) {
			if (nonblock) {
				ret = -EAGAIN;
				break;
			}
			if (uwait(to, deadline) == ETIMEDOUT) {
				ret = -EAGAIN;
				break;
			}
			continue;
		}
		if ((m = umsg_new(n)) == NULL) {
			ret = -ENOBUFS;
			break;
		}
		iov_gather(msg, done, m->data, n);
		if (files) {
			/* The files ride with the first piece. */
			m->files = files;
			m->nfiles = nfiles;
			files = NULL;
		}
		if (s->type != SOCK_STREAM)
			m->from = u->name;
		enqueue(to, m);
		done += n;
		if (done == total)
			break;
	}
out:
	if (s->type == SOCK_DGRAM && to)
		usock_rele(to, &later);
	uunlock();
	umsgs_free(later);
drop_files:
	if (files) {
		for (int i = 0; i < nfiles; i++)
			file_drop(files[i]);
		kfree(files, nfiles * sizeof(struct file *));
	}
	if (stream && done)
		return done;
	return ret ? ret : (ssize_t)done;
}

static ssize_t unix_recvmsg(struct sock *s, struct msghdr *msg, int flags, int nonblock)
{
	struct usock *u = (struct usock *)s;
	int64_t deadline = sock_deadline(s, 0);
	size_t len = iov_total(msg->msg_iov, msg->msg_iovlen), done = 0;
	int peek = flags & MSG_PEEK, stream = s->type == SOCK_STREAM;
	struct file **files = NULL;
	int nfiles = 0;
	ssize_t ret = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	ulock();
	if (s->type != SOCK_DGRAM && u->state != U_CONNECTED) {
		ret = -EINVAL; /* Linux, for an unconnected stream socket */
		goto out;
	}
	for (;;) {
		struct umsg *m = u->rq;

		if (!m) {
			/* Nothing queued: the end, or wait (also for the rest
			 * that MSG_WAITALL wants). */
			if (u->rx_shut || u->peer_shut ||
			    (s->type != SOCK_DGRAM && (!u->peer || u->peer->dead)))
				break;
			if (nonblock) {
				ret = done ? 0 : -EAGAIN;
				break;
			}
			if (uwait(u, deadline) == ETIMEDOUT) {
				ret = done ? 0 : -EAGAIN;
				break;
			}
			continue;
		}
		if (stream && done && m->nfiles)
			break; /* descriptors start a new read, as on Linux */
		size_t n = m->len - m->off;

		if (n > len - done)
			n = len - done;
		iov_copy_out(msg->msg_iov, msg->msg_iovlen, done, m->data + m->off, n);
		done += n;
		if (!stream) {
			if (m->len > n)
				msg->msg_flags |= MSG_TRUNC;
			if (flags & MSG_TRUNC)
				done = m->len;
			if (msg->msg_name && s->type == SOCK_DGRAM) {
				socklen_t alen = msg->msg_namelen;

				name_out(&m->from, msg->msg_name, &alen);
				msg->msg_namelen = alen;
			}
		}
		if (peek)
			break;
		if (m->nfiles) {
			files = m->files;
			nfiles = m->nfiles;
			m->files = NULL;
			m->nfiles = 0;
		}
		if (stream && m->off + n < m->len) {
			m->off += n;
			u->rq_bytes -= n;
		} else {
			if (!(u->rq = m->next))
				u->rq_tail = NULL;
			u->rq_bytes -= m->len - m->off;
			kfree(m, sizeof(*m) + m->len);
		}
		/* Room for whoever writes to us. */
		rumpuser_cv_broadcast(u->cv);
		if (u->peer)
			uwake(u->peer, POLLOUT | POLLWRNORM);
		if (!stream || files || done == len)
			break;
		if (!u->rq && !(flags & MSG_WAITALL))
			break;
	}
out:
	uunlock();
	if (s->type != SOCK_DGRAM && msg->msg_name)
		msg->msg_namelen = 0;
	if (files)
		deliver_files(msg, files, nfiles, flags);
	else if (ret >= 0)
		msg->msg_controllen = 0;
	if (files)
		kfree(files, nfiles * sizeof(struct file *));
	return ret < 0 ? ret : (ssize_t)done;
}

static int unix_shutdown(struct sock *s, int how)
{
	struct usock *u = (struct usock *)s;
	int err = 0;

	ulock();
	if (u->state != U_CONNECTED && !(s->type == SOCK_DGRAM && u->peer)) {
		err = -ENOTCONN;
	} else {
		if (how != SHUT_WR)
			u->rx_shut = 1;
		if (how != SHUT_RD) {
			u->tx_shut = 1;
			if (u->peer && s->type != SOCK_DGRAM) {
				u->peer->peer_shut = 1;
				uwake(u->peer, POLLIN | POLLRDHUP | POLLHUP);
			}
		}
		uwake(u, POLLIN | POLLOUT | POLLHUP);
	}
	uunlock();
	return err;
}

static int unix_getname(struct sock *s, struct sockaddr *sa, socklen_t *len, int peer)
{
	struct usock *u = (struct usock *)s;
	int err = 0;

	ulock();
	if (peer) {
		if (!u->peer)
			err = -ENOTCONN;
		else
			name_out(&u->peer->name, sa, len);
	} else {
		name_out(&u->name, sa, len);
	}
	uunlock();
	return err;
}

static int unix_setsockopt(struct sock *s, int level, int name, const void *val, socklen_t len)
{
	struct usock *u = (struct usock *)s;
	int v, err;

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	if ((err = sockopt_int(val, len, &v)) != 0)
		return err;
	switch (name) {
	case SO_RCVBUF:
	case SO_SNDBUF:
	case SO_RCVBUFFORCE:
	case SO_SNDBUFFORCE:
		/* Linux doubles it, and keeps a floor. */
		v = v < 2304 ? 4608 : (v > 16 << 20 ? 32 << 20 : 2 * v);
		ulock();
		if (name == SO_RCVBUF || name == SO_RCVBUFFORCE)
			u->rcvbuf = v;
		else
			u->sndbuf = v;
		uunlock();
		return 0;
	case SO_PASSCRED:
	case SO_REUSEADDR:
	case SO_KEEPALIVE:
	case SO_RCVLOWAT:
	case SO_SNDLOWAT:
	case SO_PRIORITY:
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int unix_getsockopt(struct sock *s, int level, int name, void *val, socklen_t *len)
{
	struct usock *u = (struct usock *)s;

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	switch (name) {
	case SO_ERROR:
	case SO_PASSCRED:
	case SO_REUSEADDR:
	case SO_KEEPALIVE:
		return sockopt_get_int(val, len, 0);
	case SO_RCVBUF:
		return sockopt_get_int(val, len, u->rcvbuf);
	case SO_SNDBUF:
		return sockopt_get_int(val, len, u->sndbuf);
	case SO_ACCEPTCONN:
		return sockopt_get_int(val, len, u->state == U_LISTEN);
	case SO_PEERCRED: {
		/* One process: everyone is pid 1, root. */
		struct ucred cred = {.pid = 1, .uid = 0, .gid = 0};

		if (!val)
			return -EFAULT;
		if (*len < sizeof(cred))
			return -EINVAL;
		if (u->state != U_CONNECTED && s->type != SOCK_DGRAM)
			return -ENOTCONN;
		memcpy(val, &cred, sizeof(cred));
		*len = sizeof(cred);
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

static int writable(struct usock *u)
{
	struct usock *to = u->peer;

	if (!to)
		return u->sk.type == SOCK_DGRAM; /* any destination */
	return to->dead || to->rq_bytes < (size_t)to->rcvbuf;
}

static int unix_poll(struct sock *s)
{
	struct usock *u = (struct usock *)s;
	int r = 0;

	ulock();
	if (u->state == U_LISTEN) {
		if (u->acc_head)
			r |= POLLIN | POLLRDNORM;
	} else {
		int conn = s->type != SOCK_DGRAM;
		int gone = conn && u->state == U_CONNECTED && (!u->peer || u->peer->dead);

		if (u->rq || u->rx_shut || u->peer_shut || gone)
			r |= POLLIN | POLLRDNORM;
		if (u->peer_shut || gone)
			r |= POLLRDHUP;
		if ((u->rx_shut && u->tx_shut) || gone || (conn && u->state == U_NEW))
			r |= POLLHUP;
		if (writable(u) || u->tx_shut)
			r |= POLLOUT | POLLWRNORM;
	}
	uunlock();
	return r;
}

static long unix_ioctl(struct sock *s, unsigned long cmd, unsigned long arg)
{
	struct usock *u = (struct usock *)s;
	long rv = 0;

	ulock();
	switch (cmd) {
	case FIONREAD:
		if (u->state == U_LISTEN)
			rv = -EINVAL;
		else if (s->type == SOCK_STREAM)
			*(int *)arg = (int)u->rq_bytes;
		else
			*(int *)arg = u->rq ? (int)u->rq->len : 0;
		break;
	case SIOCOUTQ:
		*(int *)arg = u->peer ? (int)u->peer->rq_bytes : 0;
		break;
	default:
		rv = -ENOTTY;
	}
	uunlock();
	return rv;
}

static void unix_release(struct sock *s)
{
	struct usock *u = (struct usock *)s;
	struct umsg *later = NULL;
	struct vnode *v;

	ulock();
	u->dead = 1;
	u->sk.file = NULL; /* the file goes; the socket may stay a while */
	unbind(u);
	v = u->vnode;
	u->vnode = NULL;
	/* Connections nobody accepted: their clients see the end. */
	while (u->acc_head) {
		struct usock *c = u->acc_head;

		u->acc_head = c->acc_next;
		c->dead = 1;
		if (c->peer) {
			c->peer->peer_shut = 1;
			uwake(c->peer, POLLIN | POLLHUP | POLLRDHUP);
			usock_rele(c->peer, &later);
			c->peer = NULL;
		}
		usock_rele(c, &later);
	}
	if (u->peer) {
		struct usock *p = u->peer;

		if (s->type != SOCK_DGRAM) {
			p->peer_shut = 1;
			uwake(p, POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
		}
		usock_rele(p, &later);
		u->peer = NULL;
	}
	/* Writers waiting for room in our queue give up. */
	rumpuser_cv_broadcast(u->cv);
	usock_rele(u, &later);
	uunlock();
	umsgs_free(later);
	if (v)
		vfs_vnode_release(v);
}

static const struct sock_ops unix_ops = {
    .bind = unix_bind,
    .listen = unix_listen,
    .accept = unix_accept,
    .connect = unix_connect,
    .sendmsg = unix_sendmsg,
    .recvmsg = unix_recvmsg,
    .shutdown = unix_shutdown,
    .getname = unix_getname,
    .setsockopt = unix_setsockopt,
    .getsockopt = unix_getsockopt,
    .poll = unix_poll,
    .ioctl = unix_ioctl,
    .release = unix_release,
};

static void unix_init(void)
{
	/* The first socket comes from the kernel's first threads, before
	 * programs run concurrently. */
	if (!unix_mtx)
		rumpuser_mutex_init(&unix_mtx, RUMPUSER_MTX_KMUTEX);
}

static int check_type(int type, int protocol)
{
	if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0 && protocol != PF_UNIX)
		return -EPROTONOSUPPORT;
	return 0;
}

int unix_create(int type, int protocol, struct sock **sp)
{
	struct usock *u;
	int err = check_type(type, protocol);

	if (err)
		return err;
	unix_init();
	if ((u = usock_new(type)) == NULL)
		return -ENOMEM;
	*sp = &u->sk;
	return 0;
}

int unix_pair(int type, int protocol, struct sock **a, struct sock **b)
{
	struct usock *u, *v;
	int err = check_type(type, protocol);

	if (err)
		return err;
	unix_init();
	u = usock_new(type);
	v = usock_new(type);
	if (!u || !v) {
		struct umsg *later = NULL;

		if (u)
			usock_rele(u, &later);
		if (v)
			usock_rele(v, &later);
		return -ENOMEM;
	}
	ulock();
	connect_pair(u, v);
	uunlock();
	*a = &u->sk;
	*b = &v->sk;
	return 0;
}
