/*
 * Internals of the network component (kernel/net/), shared by its files
 * only.  See kernel/net/README.md for the map and the locking rules.
 *
 * One lock, the net lock, guards lwIP and every socket of the internet
 * families: system calls, frames from the drivers and the timer thread all
 * take it.  AF_UNIX sockets (unix.c) have a lock of their own.
 */
#ifndef KERNEL_NET_IMPL_H
#define KERNEL_NET_IMPL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* struct ucred, MSG_* and SO_* of Linux */
#endif
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- stack.c: the lock, waiting, timers ------------------------------ */

/*
 * net_lock/net_unlock enter and leave the stack.  Leaving first delivers
 * what lwIP queued to itself on the loopback paths (127.0.0.1, ::1 and the
 * machine's own addresses) and wakes the timer thread if a timer became
 * necessary, so every path into the stack must leave through net_unlock
 * (or wait through net_wait).
 */
void net_lock(void);
void net_unlock(void);
/*
 * Wait on cv, net lock held (released while asleep, held again on
 * return), until signalled or until deadline (monotonic ns; -1: none).
 * Returns 0, or ETIMEDOUT once the deadline passed.  It may return 0
 * at once (it first delivers loopback traffic, which may be what the
 * caller waits for): callers wait in a loop that checks their condition.
 */
int net_wait(struct rumpuser_cv *cv, int64_t deadline);
/* Timers lwIP needs only at times (DHCP): count users in and out. */
void net_timers_dhcp(int delta);
/* Start lwIP and the timer thread (once; net_init does it). */
void net_stack_start(void);
/* How many Ethernet interfaces are attached (timers of their protocols run
 * only when there is one). */
extern int net_nics;

/* A deadline from a timeout in ns (< 0: none). */
static inline int64_t net_deadline(int64_t timeout_ns)
{
	return timeout_ns < 0 ? -1 : time_mono_ns() + timeout_ns;
}

/* ---- netif.c: drivers' devices as lwIP interfaces -------------------- */

struct netif;
/* Attach every registered device and those registered later. */
void netif_glue_start(void);
/* The lwIP interface of the device called name, or NULL. */
struct netif *netif_glue_find(const char *name);
/* The device's name of an lwIP interface ("lo" for loopback). */
const char *netif_glue_name(const struct netif *netif);
/* The interface ioctls every socket answers (SIOCGIFCONF, SIOCGIFINDEX,
 * SIOCGIFADDR, ...): the Linux result, -ENOTTY for other commands. */
long netif_ioctl(unsigned long cmd, unsigned long arg);

/* ---- netcfg.c: the "net" and "dns" configuration --------------------- */

/* Configure the interfaces as the configuration says, wait for DHCP. */
void netcfg_apply(void);
/* Print, once, that only loopback works when no interface has an address
 * (called when a program opens an internet socket). */
void netcfg_note_socket(void);

/* ---- socket.c: sockets as files ---------------------------------------- */

struct sock;

/*
 * What a protocol family provides.  Every op returns a Linux result (>= 0
 * or -errno) and is called without locks held; nonblock says whether the
 * call may wait (O_NONBLOCK or MSG_DONTWAIT).  A NULL op gets the errno
 * Linux gives for an operation the socket type does not support
 * (EOPNOTSUPP).  Addresses are the caller's, already checked to be
 * readable (len bytes); the ops check the family and the length.
 */
struct sock_ops {
	int (*bind)(struct sock *s, const struct sockaddr *sa, socklen_t len);
	int (*listen)(struct sock *s, int backlog);
	/* A connected socket in *newp (no file yet); addr as getpeername. */
	int (*accept)(struct sock *s, struct sock **newp, int nonblock);
	int (*connect)(struct sock *s, const struct sockaddr *sa, socklen_t len, int nonblock);
	/* The iovecs are in m; m->msg_name the destination (may be NULL). */
	ssize_t (*sendmsg)(struct sock *s, const struct msghdr *m, int flags, int nonblock);
	/* Fills m->msg_namelen (0 when no address), msg_flags, control. */
	ssize_t (*recvmsg)(struct sock *s, struct msghdr *m, int flags, int nonblock);
	int (*shutdown)(struct sock *s, int how);
	/* *len: in, room at sa; out, the address's full length. */
	int (*getname)(struct sock *s, struct sockaddr *sa, socklen_t *len, int peer);
	int (*setsockopt)(struct sock *s, int level, int name, const void *val, socklen_t len);
	int (*getsockopt)(struct sock *s, int level, int name, void *val, socklen_t *len);
	/* The POLL* bits ready now. */
	int (*poll)(struct sock *s);
	long (*ioctl)(struct sock *s, unsigned long cmd, unsigned long arg);
	/* The last reference to the socket's file went: the family sets
	 * s->file to NULL under its lock (no notification may reach the
	 * file any more) and frees the socket when nothing else holds it. */
	void (*release)(struct sock *s);
};

/* The state every socket has; a family's socket starts with it. */
struct sock {
	const struct sock_ops *ops;
	struct file *file; /* NULL until installed (accept queue) */
	int domain, type, protocol;
	int64_t rcvtimeo, sndtimeo; /* ns, -1: none (SO_RCVTIMEO/SNDTIMEO) */
};

/* Initialise the common part of a new socket. */
void sock_init(struct sock *s, const struct sock_ops *ops, int domain, int type, int protocol);
/* Readiness of s changed (events: the POLL* bits that may now be set);
 * wakes poll, select and epoll.  Any lock may be held. */
void sock_notify(struct sock *s, int events);
/* The deadline for a wait of s in one direction (SO_RCVTIMEO/SNDTIMEO). */
int64_t sock_deadline(struct sock *s, int sending);
/* The socket behind a file, or NULL when it is not one. */
struct sock *sock_of_file(struct file *f);

/* The ioctl <linux/sockios.h> names for what is queued to send. */
#define SIOCOUTQ 0x5411

/* Linux's net.core.somaxconn: listen() backlogs above it are cut to it. */
#define SOMAXCONN_LINUX 4096

/* Option values: an int option's value (-EFAULT, -EINVAL when too short),
 * and writing one back with its length (what fits, as Linux). */
int sockopt_int(const void *val, socklen_t len, int *v);
int sockopt_get_int(void *val, socklen_t *len, int v);

/* Copy an iovec array to or from a flat buffer; returns bytes copied. */
size_t iov_copy_out(const struct iovec *iov, int iovcnt, size_t skip, const void *src, size_t len);
size_t iov_total(const struct iovec *iov, int iovcnt);

/* ---- the families --------------------------------------------------- */

/* inet.c: AF_INET and AF_INET6, SOCK_STREAM (TCP) and SOCK_DGRAM (UDP). */
int inet_create(int domain, int type, int protocol, struct sock **sp);
/* unix.c: AF_UNIX stream, datagram and seqpacket; socketpair. */
int unix_create(int type, int protocol, struct sock **sp);
int unix_pair(int type, int protocol, struct sock **a, struct sock **b);

#endif
