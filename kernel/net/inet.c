/*
 * AF_INET and AF_INET6 sockets over lwIP's raw API: SOCK_STREAM is TCP,
 * SOCK_DGRAM is UDP.  Linux semantics, as musl and programs expect them:
 * blocking and non-blocking calls, SO_RCVTIMEO/SO_SNDTIMEO, the errno
 * values Linux gives, dual-stack AF_INET6 sockets (IPv4 peers appear as
 * ::ffff:a.b.c.d unless IPV6_V6ONLY).
 *
 * Everything runs under the net lock.  lwIP's callbacks (data arrived,
 * data acknowledged, connection established or accepted, error) update
 * the socket, wake its waiters (one condition variable per socket) and
 * notify poll and epoll.  Received TCP data stays in lwIP's pbufs until
 * the program reads it; only then is the window opened (tcp_recved), so
 * a slow reader slows the sender as TCP intends.
 */
#include "net_impl.h"
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/udp.h"

enum inet_state {
	IS_NEW, /* not listening, not connected (maybe bound) */
	IS_LISTEN,
	IS_CONNECTING,
	IS_CONNECTED, /* TCP: connected once; tcp may be NULL when it ended */
};

struct dgram {
	struct dgram *next;
	struct pbuf *p;
	size_t charge; /* its truesize, against SO_RCVBUF */
	ip_addr_t addr;
	u16_t port;
};

struct inet_sock {
	struct sock sk;
	enum inet_state state;
	struct tcp_pcb *tcp; /* NULL once lwIP freed it (TCP) */
	struct udp_pcb *udp;
	struct rumpuser_cv *cv; /* readers, writers, accept, connect */
	int err; /* pending error (SO_ERROR), positive */
	unsigned rx_fin : 1; /* the peer sent FIN */
	unsigned rx_shut : 1; /* shutdown(SHUT_RD) */
	unsigned tx_shut : 1; /* shutdown(SHUT_WR) */
	unsigned nospace : 1; /* a writer found no room: tell when there is */
	unsigned connect_pending : 1; /* non-blocking connect not yet confirmed */
	unsigned was_connected : 1;
	unsigned v6only : 1;
	unsigned nodelay : 1;
	unsigned keepalive : 1;
	unsigned reuseaddr : 1;
	unsigned broadcast : 1;

	/* TCP: received data, a list of pbufs (linked by next). */
	struct pbuf *rxq, *rxq_tail;
	size_t rx_off, rx_avail;
	size_t rx_truesize; /* memory the list takes */
	/* TCP listener: connections not accepted yet. */
	struct inet_sock *acc_head, *acc_tail, *acc_next;
	int acc_len;
	/* UDP: received datagrams. */
	struct dgram *dq, *dq_tail;
	size_t dq_bytes;

	int rcvbuf, sndbuf; /* SO_RCVBUF, SO_SNDBUF as set */
	int linger_on, linger_secs;
	int keep_idle, keep_intvl, keep_cnt; /* seconds; 0: lwIP's */
	int ttl, tos;
};

#define UDP_RCVBUF_DEFAULT 212992
#define RX_COMPACT_AT (64 * 1024)
#define RX_COMPACT_BELOW 512 /* Linux's net.core.rmem_default */
#define UDP_MAX_PAYLOAD4 65507
#define UDP_MAX_PAYLOAD6 65527

static const struct sock_ops inet_tcp_ops, inet_udp_ops;

static int err_errno(err_t e)
{
	switch (e) {
	case ERR_OK:
		return 0;
	case ERR_MEM:
		return ENOMEM;
	case ERR_BUF:
		return ENOBUFS;
	case ERR_TIMEOUT:
		return ETIMEDOUT;
	case ERR_RTE:
		return ENETUNREACH;
	case ERR_INPROGRESS:
		return EINPROGRESS;
	case ERR_WOULDBLOCK:
		return EAGAIN;
	case ERR_USE:
		return EADDRINUSE;
	case ERR_ALREADY:
		return EALREADY;
	case ERR_ISCONN:
		return EISCONN;
	case ERR_CONN:
		return ENOTCONN;
	case ERR_IF:
		return ENETDOWN;
	case ERR_ABRT:
		return ECONNABORTED;
	case ERR_RST:
		return ECONNRESET;
	case ERR_CLSD:
		return ENOTCONN;
	default:
		return EINVAL;
	}
}

static int take_err(struct inet_sock *is)
{
	int e = is->err;

	is->err = 0;
	return e;
}

/*
 * The memory a received chain really takes (a small datagram or segment
 * in a pool pbuf takes a whole pool buffer), which receive buffers are
 * charged for, as Linux charges an skb's truesize.
 */
static size_t truesize(const struct pbuf *p)
{
	size_t n = 0;

	for (; p; p = p->next) {
		n += sizeof(struct pbuf);
		if ((p->type_internal & PBUF_TYPE_ALLOC_SRC_MASK) ==
		    PBUF_TYPE_ALLOC_SRC_MASK_STD_MEMP_PBUF_POOL)
			n += PBUF_POOL_BUFSIZE;
		else
			n += p->len;
	}
	return n;
}

static void wake(struct inet_sock *is, int events)
{
	rumpuser_cv_broadcast(is->cv);
	sock_notify(&is->sk, events);
}

/* ---- addresses ---------------------------------------------------------- */

/*
 * A socket address into an lwIP address and port.  On an AF_INET6 socket
 * a v4-mapped address is IPv4 (EAFNOSUPPORT... as Linux: ENETUNREACH for
 * connect, EINVAL for bind, when IPV6_V6ONLY).
 */
static int addr_in(
    struct inet_sock *is, const struct sockaddr *sa, socklen_t len, ip_addr_t *ip, u16_t *port)
{
	if (is->sk.domain == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (len < sizeof(*sin))
			return -EINVAL;
		if (sin->sin_family != AF_INET)
			return -EAFNOSUPPORT;
		ip_addr_set_ip4_u32_val(*ip, sin->sin_addr.s_addr);
		*port = lwip_ntohs(sin->sin_port);
		return 0;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const uint32_t *w = (const uint32_t *)&sin6->sin6_addr;

		if (len < 24) /* SIN6_LEN_RFC2133: without sin6_scope_id */
			return -EINVAL;
		if (sin6->sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		*port = lwip_ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			if (is->v6only)
				return -ENETUNREACH;
			ip_addr_set_ip4_u32_val(*ip, w[3]);
			return 0;
		}
		IP_ADDR6(ip, w[0], w[1], w[2], w[3]);
		if (ip6_addr_islinklocal(ip_2_ip6(ip)) && len >= sizeof(*sin6))
			ip6_addr_set_zone(ip_2_ip6(ip), (u8_t)sin6->sin6_scope_id);
		return 0;
	}
}

/* An lwIP address and port as the socket's family shows it; the full
 * length in *len (what fits of it is copied). */
static void addr_out(
    struct inet_sock *is, const ip_addr_t *ip, u16_t port, struct sockaddr *sa, socklen_t *len)
{
	if (is->sk.domain == AF_INET) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = lwip_htons(port)};

		sin.sin_addr.s_addr = IP_IS_V6(ip) ? 0 : ip4_addr_get_u32(ip_2_ip4(ip));
		memcpy(sa, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
		*len = sizeof(sin);
	} else {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = lwip_htons(port)};
		uint32_t *w = (uint32_t *)&sin6.sin6_addr;

		if (IP_IS_V6(ip)) {
			memcpy(w, ip_2_ip6(ip)->addr, 16);
			if (ip6_addr_has_zone(ip_2_ip6(ip)))
				sin6.sin6_scope_id = ip6_addr_zone(ip_2_ip6(ip));
		} else if (!ip_addr_isany(ip)) {
			w[2] = lwip_htonl(0xffff);
			w[3] = ip4_addr_get_u32(ip_2_ip4(ip));
		}
		memcpy(sa, &sin6, *len < sizeof(sin6) ? *len : sizeof(sin6));
		*len = sizeof(sin6);
	}
}

/* Sending to the any-address means to this machine, as on Linux. */
static void any_to_loopback(ip_addr_t *ip)
{
	if (!ip_addr_isany(ip))
		return;
	if (IP_IS_V6(ip))
		IP_ADDR6(ip, 0, 0, 0, PP_HTONL(1));
	else
		ip_addr_set_ip4_u32_val(*ip, PP_HTONL(0x7f000001UL));
}

/* May a socket bind to ip (an address of this machine, or any)? */
static int addr_local(const ip_addr_t *ip)
{
	struct netif *n;

	if (ip_addr_isany(ip))
		return 1;
	if (IP_IS_V4(ip)) {
		if (ip4_addr_get_u32(ip_2_ip4(ip)) == PP_HTONL(0x7f000001UL))
			return 1;
		NETIF_FOREACH(n)
		if (ip4_addr_cmp(ip_2_ip4(ip), netif_ip4_addr(n)))
			return 1;
		return 0;
	}
	if (ip6_addr_isloopback(ip_2_ip6(ip)))
		return 1;
	NETIF_FOREACH(n)
	if (netif_get_ip6_addr_match(n, ip_2_ip6(ip)) >= 0)
		return 1;
	return 0;
}

/* The address a bind of ip means for lwIP: the any-address of the right
 * kind (both families for a dual-stack AF_INET6 socket). */
static const ip_addr_t *bind_addr(struct inet_sock *is, const ip_addr_t *ip)
{
	if (!ip_addr_isany(ip))
		return ip;
	if (is->sk.domain == AF_INET)
		return IP4_ADDR_ANY;
	if (IP_IS_V4(ip) && !IP_IS_ANY_TYPE_VAL(*ip))
		return IP4_ADDR_ANY; /* ::ffff:0.0.0.0 */
	return is->v6only ? IP6_ADDR_ANY : IP_ANY_TYPE;
}

static u8_t pcb_type(struct inet_sock *is)
{
	if (is->sk.domain == AF_INET)
		return IPADDR_TYPE_V4;
	return is->v6only ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY;
}

/* ---- the socket ---------------------------------------------------------- */

static struct inet_sock *inet_alloc(int domain, int type, int protocol)
{
	struct inet_sock *is = kzalloc(sizeof(*is));

	if (!is)
		return NULL;
	sock_init(
	    &is->sk, type == SOCK_STREAM ? &inet_tcp_ops : &inet_udp_ops, domain, type, protocol);
	rumpuser_cv_init(&is->cv);
	is->rcvbuf = type == SOCK_STREAM ? TCP_WND : UDP_RCVBUF_DEFAULT;
	is->sndbuf = type == SOCK_STREAM ? TCP_SND_BUF : UDP_RCVBUF_DEFAULT;
	is->ttl = -1;
	is->tos = -1;
	return is;
}

static void inet_free(struct inet_sock *is)
{
	rumpuser_cv_destroy(is->cv);
	kfree(is, sizeof(*is));
}

/* ---- TCP: lwIP's callbacks ----------------------------------------------- */

static void tcp_attach(struct inet_sock *is, struct tcp_pcb *pcb);

/* Forget the pcb: lwIP keeps it (closing, TIME_WAIT) or freed it. */
static void tcp_detach(struct inet_sock *is)
{
	if (is->tcp) {
		tcp_arg(is->tcp, NULL);
		tcp_recv(is->tcp, NULL);
		tcp_sent(is->tcp, NULL);
		tcp_err(is->tcp, NULL);
		tcp_poll(is->tcp, NULL, 0);
	}
	is->tcp = NULL;
}

static int tcp_writable(struct inet_sock *is)
{
	return is->tcp && is->tcp->snd_buf >= TCP_SNDLOWAT &&
	    tcp_sndqueuelen(is->tcp) < TCP_SNDQUEUELOWAT;
}

static err_t tcp_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct inet_sock *is = arg;

	if (!is) {
		/* The socket went while the pcb lives on: drop the data. */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		is->rx_fin = 1;
		/* Both directions done: lwIP finishes alone (TIME_WAIT frees
		 * the pcb without telling anyone). */
		if (is->tx_shut)
			tcp_detach(is);
		wake(is, POLLIN | POLLRDNORM | POLLRDHUP | POLLHUP);
		return ERR_OK;
	}
	if (is->rx_shut) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	/* Many small segments in pool buffers would take far more memory
	 * than the window says: past a threshold, keep small ones copied. */
	if (is->rx_truesize > RX_COMPACT_AT && p->tot_len < RX_COMPACT_BELOW) {
		struct pbuf *c = pbuf_clone(PBUF_RAW, PBUF_RAM, p);

		if (c) {
			pbuf_free(p);
			p = c;
		}
	}
	is->rx_avail += p->tot_len;
	is->rx_truesize += truesize(p);
	if (is->rxq_tail)
		is->rxq_tail->next = p;
	else
		is->rxq = p;
	while (p->next)
		p = p->next;
	is->rxq_tail = p;
	wake(is, POLLIN | POLLRDNORM);
	return ERR_OK;
}

static err_t tcp_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct inet_sock *is = arg;

	if (is && is->nospace && tcp_writable(is)) {
		is->nospace = 0;
		wake(is, POLLOUT | POLLWRNORM);
	}
	return ERR_OK;
}

/* lwIP freed the pcb: reset, timeout, or closed by both sides. */
static void tcp_err_cb(void *arg, err_t err)
{
	struct inet_sock *is = arg;

	if (!is)
		return;
	is->tcp = NULL;
	if (is->state == IS_CONNECTING) {
		is->err = err == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
		is->state = IS_NEW; /* connect may be tried again */
	} else if (err == ERR_RST) {
		is->err = ECONNRESET;
	} else if (err == ERR_ABRT) {
		if (!(is->rx_fin && is->tx_shut))
			is->err = ETIMEDOUT; /* retransmissions or keepalives gave up */
	}
	/* ERR_CLSD: both sides closed, nothing went wrong */
	wake(is, POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
}

static err_t tcp_connected_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct inet_sock *is = arg;

	if (!is)
		return ERR_OK;
	is->state = IS_CONNECTED;
	is->was_connected = 1;
	wake(is, POLLOUT | POLLWRNORM);
	return ERR_OK;
}

static err_t tcp_accept_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct inet_sock *ls = arg, *c;

	if (!ls || err != ERR_OK || !pcb)
		return ERR_VAL;
	if ((c = inet_alloc(ls->sk.domain, SOCK_STREAM, ls->sk.protocol)) == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	/* What Linux copies from the listener. */
	c->v6only = ls->v6only;
	c->nodelay = ls->nodelay;
	c->keepalive = ls->keepalive;
	c->keep_idle = ls->keep_idle;
	c->keep_intvl = ls->keep_intvl;
	c->keep_cnt = ls->keep_cnt;
	c->linger_on = ls->linger_on;
	c->linger_secs = ls->linger_secs;
	c->sk.rcvtimeo = ls->sk.rcvtimeo;
	c->sk.sndtimeo = ls->sk.sndtimeo;
	c->state = IS_CONNECTED;
	c->was_connected = 1;
	tcp_attach(c, pcb);
	/* Until accept() takes it, it counts against the listen backlog. */
	tcp_backlog_delayed(pcb);
	if (ls->acc_tail)
		ls->acc_tail->acc_next = c;
	else
		ls->acc_head = c;
	ls->acc_tail = c;
	ls->acc_len++;
	wake(ls, POLLIN | POLLRDNORM);
	return ERR_OK;
}

/* Apply the socket's options to its pcb (a connection, not a listener). */
static void tcp_apply_options(struct inet_sock *is)
{
	struct tcp_pcb *pcb = is->tcp;

	if (!pcb || pcb->state == LISTEN)
		return;
	if (is->nodelay)
		tcp_nagle_disable(pcb);
	else
		tcp_nagle_enable(pcb);
	if (is->keepalive)
		ip_set_option(pcb, SOF_KEEPALIVE);
	else
		ip_reset_option(pcb, SOF_KEEPALIVE);
	if (is->keep_idle)
		pcb->keep_idle = is->keep_idle * 1000UL;
	if (is->keep_intvl)
		pcb->keep_intvl = is->keep_intvl * 1000UL;
	if (is->keep_cnt)
		pcb->keep_cnt = is->keep_cnt;
	if (is->ttl >= 0)
		pcb->ttl = (u8_t)is->ttl;
	if (is->tos >= 0)
		pcb->tos = (u8_t)is->tos;
}

static void tcp_attach(struct inet_sock *is, struct tcp_pcb *pcb)
{
	is->tcp = pcb;
	tcp_arg(pcb, is);
	tcp_recv(pcb, tcp_recv_cb);
	tcp_sent(pcb, tcp_sent_cb);
	tcp_err(pcb, tcp_err_cb);
	tcp_apply_options(is);
}

/* A fresh pcb for a socket that has none (new, or after a failed connect). */
static int tcp_fresh_pcb(struct inet_sock *is)
{
	struct tcp_pcb *pcb;

	if (is->tcp)
		return 0;
	if ((pcb = tcp_new_ip_type(pcb_type(is))) == NULL)
		return -ENOMEM;
	if (is->reuseaddr)
		ip_set_option(pcb, SOF_REUSEADDR);
	tcp_attach(is, pcb);
	return 0;
}

/* ---- TCP: the socket operations -------------------------------------------- */

static int tcp_bind_op(struct sock *s, const struct sockaddr *sa, socklen_t len)
{
	struct inet_sock *is = (struct inet_sock *)s;
	ip_addr_t ip;
	u16_t port;
	int err = addr_in(is, sa, len, &ip, &port);

	if (err)
		return err == -ENETUNREACH ? -EINVAL : err;
	net_lock();
	if (is->state != IS_NEW || (is->tcp && is->tcp->local_port != 0))
		err = -EINVAL; /* already bound */
	else if (!addr_local(&ip))
		err = -EADDRNOTAVAIL;
	else if ((err = tcp_fresh_pcb(is)) == 0)
		err = -err_errno(tcp_bind(is->tcp, bind_addr(is, &ip), port));
	net_unlock();
	return err;
}

static int tcp_listen_op(struct sock *s, int backlog)
{
	struct inet_sock *is = (struct inet_sock *)s;
	struct tcp_pcb *lpcb;
	err_t e;
	int err = 0;

	/* lwIP counts half-open connections and those not accepted yet
	 * against a backlog of at most 255; Linux allows backlog + 1 in its
	 * accept queue. */
	if (backlog < 0)
		backlog = 0;
	if (backlog > 254)
		backlog = 254;
	net_lock();
	if (is->state == IS_LISTEN) {
		/* Linux lets listen() change the backlog of a listener. */
		tcp_backlog_set(is->tcp, (u8_t)(backlog + 1));
	} else if (is->state != IS_NEW) {
		err = -EINVAL;
	} else if ((err = tcp_fresh_pcb(is)) == 0) {
		if (is->tcp->local_port == 0 &&
		    (err = -err_errno(tcp_bind(is->tcp, bind_addr(is, IP_ANY_TYPE), 0))) != 0)
			goto out;
		lpcb = tcp_listen_with_backlog_and_err(is->tcp, (u8_t)(backlog + 1), &e);
		if (!lpcb) {
			err = -err_errno(e);
			goto out;
		}
		is->tcp = lpcb; /* the pcb became a (smaller) listen pcb */
		tcp_arg(lpcb, is);
		tcp_accept(lpcb, tcp_accept_cb);
		is->state = IS_LISTEN;
	}
out:
	net_unlock();
	return err;
}

static int tcp_accept_op(struct sock *s, struct sock **newp, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s, *c;
	int64_t deadline = sock_deadline(s, 0);
	int err = 0;

	net_lock();
	while (is->state == IS_LISTEN && !is->acc_head) {
		if (nonblock || net_wait(is->cv, deadline) == ETIMEDOUT) {
			err = -EAGAIN;
			break;
		}
	}
	if (err == 0 && is->state != IS_LISTEN)
		err = -EINVAL;
	if (err == 0) {
		c = is->acc_head;
		if (!(is->acc_head = c->acc_next))
			is->acc_tail = NULL;
		c->acc_next = NULL;
		is->acc_len--;
		if (c->tcp)
			tcp_backlog_accepted(c->tcp);
		*newp = &c->sk;
	}
	net_unlock();
	return err;
}

static int tcp_connect_op(struct sock *s, const struct sockaddr *sa, socklen_t len, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int64_t deadline = sock_deadline(s, 1);
	ip_addr_t ip;
	u16_t port;
	int err;

	if (len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return -EOPNOTSUPP; /* disconnecting a TCP socket: not supported */
	if ((err = addr_in(is, sa, len, &ip, &port)) != 0)
		return err;
	any_to_loopback(&ip);
	net_lock();
	switch (is->state) {
	case IS_LISTEN:
		err = -EINVAL;
		goto out;
	case IS_CONNECTED:
		if (is->connect_pending) {
			/* The non-blocking connect finished: say so once. */
			is->connect_pending = 0;
			err = 0;
		} else {
			err = -EISCONN;
		}
		goto out;
	case IS_CONNECTING:
		if (nonblock) {
			err = -EALREADY;
			goto out;
		}
		break;
	case IS_NEW:
		if (is->err) {
			/* A connect that failed: report it, as Linux does. */
			err = -take_err(is);
			goto out;
		}
		if (is->was_connected) {
			err = -EISCONN; /* it ended, but it was connected */
			goto out;
		}
		if ((err = tcp_fresh_pcb(is)) != 0)
			goto out;
		if ((err = -err_errno(tcp_connect(is->tcp, &ip, port, tcp_connected_cb))) != 0) {
			if (err == -ENOMEM)
				err = -EAGAIN; /* Linux: no local port or memory */
			goto out;
		}
		is->state = IS_CONNECTING;
		if (nonblock) {
			is->connect_pending = 1;
			err = -EINPROGRESS;
			goto out;
		}
		break;
	}
	while (is->state == IS_CONNECTING) {
		if (net_wait(is->cv, deadline) == ETIMEDOUT) {
			err = -EINPROGRESS; /* SO_SNDTIMEO: Linux says EINPROGRESS */
			goto out;
		}
	}
	is->connect_pending = 0;
	err = is->state == IS_CONNECTED ? 0 : -take_err(is);
	if (err == 0 && is->state != IS_CONNECTED)
		err = -ECONNREFUSED;
out:
	net_unlock();
	return err;
}

/*
 * Can the socket send now?  0 when it can, 1 when it must wait for the
 * connection, or the error to return.  Locked.
 */
static int tcp_send_state(struct inet_sock *is)
{
	if (is->err)
		return -take_err(is);
	if (is->state == IS_CONNECTING)
		return 1;
	if (is->state != IS_CONNECTED || is->tx_shut || !is->tcp)
		return -EPIPE;
	return 0;
}

static ssize_t tcp_sendmsg_op(struct sock *s, const struct msghdr *m, int flags, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int64_t deadline = sock_deadline(s, 1);
	size_t total = iov_total(m->msg_iov, m->msg_iovlen), done = 0, off = 0;
	int iv = 0;
	ssize_t ret = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	net_lock();
	while (done < total || total == 0) {
		int st = tcp_send_state(is);
		struct tcp_pcb *pcb;
		size_t n;
		err_t e;

		if (st < 0) {
			ret = st;
			break;
		}
		if (total == 0)
			break;
		pcb = is->tcp;
		if (st == 0 && pcb->snd_buf > 0 && tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 1) {
			while (iv < (int)m->msg_iovlen && off == m->msg_iov[iv].iov_len) {
				iv++;
				off = 0;
			}
			n = m->msg_iov[iv].iov_len - off;
			if (n > pcb->snd_buf)
				n = pcb->snd_buf;
			if (n > 0xffff)
				n = 0xffff;
			e = tcp_write(pcb, (const char *)m->msg_iov[iv].iov_base + off, (u16_t)n,
			    TCP_WRITE_FLAG_COPY |
			        (done + n < total || (flags & MSG_MORE) ? TCP_WRITE_FLAG_MORE : 0));
			if (e == ERR_OK) {
				done += n;
				off += n;
				continue;
			}
			if (e != ERR_MEM || (!pcb->unsent && !pcb->unacked)) {
				ret = -err_errno(e);
				break;
			}
			/* ERR_MEM with data in flight: wait for it to drain. */
		}
		if (st == 0)
			tcp_output(is->tcp);
		if (nonblock) {
			is->nospace = 1;
			ret = -EAGAIN;
			break;
		}
		is->nospace = 1;
		if (net_wait(is->cv, deadline) == ETIMEDOUT) {
			ret = -EAGAIN;
			break;
		}
	}
	if (done && is->tcp)
		tcp_output(is->tcp);
	net_unlock();
	return done ? (ssize_t)done : ret;
}

/* Copy up to len received bytes into the iovecs from offset skip; consume
 * them unless peek.  Locked. */
static size_t tcp_take(
    struct inet_sock *is, const struct msghdr *m, size_t skip, size_t len, int peek)
{
	struct pbuf *q = is->rxq;
	size_t off = is->rx_off, done = 0;

	if (len > is->rx_avail)
		len = is->rx_avail;
	while (done < len) {
		size_t n = q->len - off;

		if (n > len - done)
			n = len - done;
		if (m)
			iov_copy_out(m->msg_iov, m->msg_iovlen, skip + done,
			    (const char *)q->payload + off, n);
		done += n;
		off += n;
		if (off == q->len) {
			q = q->next;
			off = 0;
		}
	}
	if (peek)
		return done;
	/* Free what was read, then open the window by as much. */
	while (is->rxq != q) {
		struct pbuf *head = is->rxq;

		is->rxq = head->next;
		head->next = NULL;
		is->rx_truesize -= truesize(head);
		pbuf_free(head);
	}
	if (!is->rxq)
		is->rxq_tail = NULL;
	is->rx_off = off;
	is->rx_avail -= done;
	if (is->tcp) {
		size_t n = done;

		while (n > 0) {
			u16_t chunk = n > 0xffff ? 0xffff : (u16_t)n;

			tcp_recved(is->tcp, chunk);
			n -= chunk;
		}
	}
	return done;
}

static ssize_t tcp_recvmsg_op(struct sock *s, struct msghdr *m, int flags, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int64_t deadline = sock_deadline(s, 0);
	size_t len = iov_total(m->msg_iov, m->msg_iovlen), done = 0;
	int peek = flags & MSG_PEEK;
	ssize_t ret = 0;

	if (flags & MSG_OOB)
		return -EINVAL; /* no urgent data is ever kept */
	m->msg_namelen = 0;
	m->msg_controllen = 0;
	net_lock();
	if (is->state == IS_NEW || is->state == IS_LISTEN) {
		ret = is->err ? -take_err(is) : -ENOTCONN;
		goto out;
	}
	while (done < len) {
		if (is->rx_avail && !is->rx_shut) {
			/* MSG_TRUNC on TCP: consume without copying, as Linux. */
			done +=
			    tcp_take(is, (flags & MSG_TRUNC) ? NULL : m, done, len - done, peek);
			if (!(flags & MSG_WAITALL) || peek)
				break;
			continue;
		}
		if (done) /* what MSG_WAITALL got before EOF, error or timeout */
			break;
		if (is->err) {
			ret = -take_err(is);
			break;
		}
		if (is->rx_fin || is->rx_shut || (is->state == IS_CONNECTED && !is->tcp))
			break; /* end of file */
		if (nonblock) {
			ret = -EAGAIN;
			break;
		}
		if (net_wait(is->cv, deadline) == ETIMEDOUT) {
			ret = -EAGAIN;
			break;
		}
	}
out:
	net_unlock();
	return done ? (ssize_t)done : ret;
}

static int tcp_shutdown_op(struct sock *s, int how)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int err = 0;

	net_lock();
	if (is->state == IS_LISTEN && how != SHUT_WR) {
		/* Linux: shutting a listener down wakes accept(), which fails. */
		tcp_close(is->tcp);
		is->tcp = NULL;
		is->state = IS_NEW;
		wake(is, POLLIN | POLLHUP);
		goto out;
	}
	if (is->state != IS_CONNECTED && is->state != IS_CONNECTING) {
		err = -ENOTCONN;
		goto out;
	}
	if (how != SHUT_WR && !is->rx_shut) {
		is->rx_shut = 1;
		/* Data not read is dropped; the window opens for it. */
		tcp_take(is, NULL, 0, is->rx_avail, 0);
	}
	if (how != SHUT_RD && !is->tx_shut) {
		is->tx_shut = 1;
		if (is->tcp && is->state == IS_CONNECTED) {
			err_t e = tcp_shutdown(is->tcp, 0, 1);

			if (e == ERR_OK && is->rx_fin)
				tcp_detach(is); /* both sides done */
			else if (e != ERR_OK && e != ERR_CONN)
				err = -err_errno(e);
		}
	}
	wake(is, POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
out:
	net_unlock();
	return err;
}

static int tcp_poll_op(struct sock *s)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int r = 0;

	net_lock();
	switch (is->state) {
	case IS_LISTEN:
		if (is->acc_head)
			r |= POLLIN | POLLRDNORM;
		break;
	case IS_NEW:
		/* Never connected, or a connect failed: as Linux's TCP_CLOSE. */
		r |= POLLOUT | POLLWRNORM | POLLHUP;
		break;
	case IS_CONNECTING:
		break;
	case IS_CONNECTED:
		if (is->rx_avail || is->rx_fin || is->rx_shut || !is->tcp)
			r |= POLLIN | POLLRDNORM;
		if (is->rx_fin || is->rx_shut)
			r |= POLLRDHUP;
		if (tcp_writable(is) || is->tx_shut || !is->tcp)
			r |= POLLOUT | POLLWRNORM;
		else
			is->nospace = 1; /* the poller wants to hear when */
		if ((is->rx_fin && is->tx_shut) || !is->tcp)
			r |= POLLHUP;
		break;
	}
	if (is->err)
		r |= POLLERR;
	net_unlock();
	return r;
}

static long tcp_ioctl_op(struct sock *s, unsigned long cmd, unsigned long arg)
{
	struct inet_sock *is = (struct inet_sock *)s;
	long rv = 0;

	net_lock();
	switch (cmd) {
	case FIONREAD: /* = SIOCINQ */
		if (is->state == IS_LISTEN)
			rv = -EINVAL;
		else
			*(int *)arg = (int)is->rx_avail;
		break;
	case SIOCOUTQ:
		*(int *)arg =
		    is->tcp && is->state != IS_LISTEN ? (int)(TCP_SND_BUF - is->tcp->snd_buf) : 0;
		break;
	case SIOCATMARK:
		*(int *)arg = 0;
		break;
	default:
		rv = -ENOTTY;
	}
	net_unlock();
	return rv;
}

static int inet_getname(struct sock *s, struct sockaddr *sa, socklen_t *len, int peer)
{
	struct inet_sock *is = (struct inet_sock *)s;
	ip_addr_t any;
	const ip_addr_t *ip = NULL;
	u16_t port = 0;
	int err = 0;

	ip_addr_set_zero_ip4(&any);
	net_lock();
	if (s->type == SOCK_STREAM) {
		if (peer && (is->state != IS_CONNECTED || !is->tcp)) {
			err = -ENOTCONN;
		} else if (is->tcp) {
			ip = peer ? &is->tcp->remote_ip : &is->tcp->local_ip;
			port = peer ? is->tcp->remote_port : is->tcp->local_port;
		}
	} else {
		if (peer && !(is->udp->flags & UDP_FLAGS_CONNECTED)) {
			err = -ENOTCONN;
		} else {
			ip = peer ? &is->udp->remote_ip : &is->udp->local_ip;
			port = peer ? is->udp->remote_port : is->udp->local_port;
		}
	}
	if (err == 0) {
		if (!ip)
			ip = &any;
		addr_out(is, ip, port, sa, len);
	}
	net_unlock();
	return err;
}

/* ---- options, both protocols ------------------------------------------- */

static int inet_setsockopt(struct sock *s, int level, int name, const void *val, socklen_t len)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int v = 0, err = 0, tcp = s->type == SOCK_STREAM;

	if (level == SOL_SOCKET && name == SO_LINGER) {
		const struct linger *l = val;

		if (!val)
			return -EFAULT;
		if (len < sizeof(*l))
			return -EINVAL;
		net_lock();
		is->linger_on = l->l_onoff != 0;
		is->linger_secs = l->l_linger;
		net_unlock();
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_BINDTODEVICE)
		return len == 0 || !val || !*(const char *)val ? 0 : -EPERM;
	if ((err = sockopt_int(val, len, &v)) != 0)
		return err;
	net_lock();
	switch (level) {
	case SOL_SOCKET:
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT: /* one process: the same as REUSEADDR here */
			is->reuseaddr = v != 0;
			if (tcp && is->tcp) {
				if (v)
					ip_set_option(is->tcp, SOF_REUSEADDR);
				else
					ip_reset_option(is->tcp, SOF_REUSEADDR);
			} else if (!tcp) {
				if (v)
					ip_set_option(is->udp, SOF_REUSEADDR);
				else
					ip_reset_option(is->udp, SOF_REUSEADDR);
			}
			break;
		case SO_KEEPALIVE:
			is->keepalive = v != 0;
			break;
		case SO_BROADCAST:
			is->broadcast = v != 0;
			break;
		case SO_RCVBUF:
		case SO_RCVBUFFORCE:
			/* Linux doubles the value for its bookkeeping. */
			is->rcvbuf = v < 1152 ? 2304 : (v > 16 << 20 ? 32 << 20 : 2 * v);
			break;
		case SO_SNDBUF:
		case SO_SNDBUFFORCE:
			is->sndbuf = v < 2304 ? 4608 : (v > 16 << 20 ? 32 << 20 : 2 * v);
			break;
		case SO_RCVLOWAT:
		case SO_SNDLOWAT:
		case SO_OOBINLINE:
		case SO_PRIORITY:
		case SO_DONTROUTE:
		case SO_TIMESTAMP:
		case SO_PASSCRED:
		case SO_MARK:
		case SO_ZEROCOPY:
		case SO_BUSY_POLL:
		case SO_INCOMING_CPU:
			break; /* accepted, nothing to change here */
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_TCP:
		if (!tcp) {
			err = -ENOPROTOOPT;
			break;
		}
		switch (name) {
		case TCP_NODELAY:
			is->nodelay = v != 0;
			break;
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
		case TCP_KEEPCNT:
			if (v < 1 || v > (name == TCP_KEEPCNT ? 127 : 32767)) {
				err = -EINVAL;
				break;
			}
			if (name == TCP_KEEPIDLE)
				is->keep_idle = v;
			else if (name == TCP_KEEPINTVL)
				is->keep_intvl = v;
			else
				is->keep_cnt = v;
			break;
		case TCP_CORK:
		case TCP_QUICKACK:
		case TCP_DEFER_ACCEPT:
		case TCP_FASTOPEN:
		case TCP_USER_TIMEOUT:
		case TCP_MAXSEG:
		case TCP_LINGER2:
		case TCP_WINDOW_CLAMP:
		case TCP_SYNCNT:
		case TCP_NOTSENT_LOWAT:
			break; /* accepted; lwIP has no such knob */
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IP:
		switch (name) {
		case IP_TOS:
			is->tos = v & 0xff;
			break;
		case IP_TTL:
			if (v == -1)
				v = 64;
			if (v < 1 || v > 255)
				err = -EINVAL;
			else
				is->ttl = v;
			break;
		case IP_RECVERR:
		case IP_PKTINFO:
		case IP_MTU_DISCOVER:
		case IP_FREEBIND:
		case IP_TRANSPARENT:
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IPV6:
		if (s->domain != AF_INET6) {
			err = -ENOPROTOOPT;
			break;
		}
		switch (name) {
		case IPV6_V6ONLY:
			if (is->state != IS_NEW || (tcp && is->tcp && is->tcp->local_port) ||
			    (!tcp && is->udp->local_port)) {
				err = -EINVAL; /* only before bind */
				break;
			}
			is->v6only = v != 0;
			if (tcp && is->tcp)
				IP_SET_TYPE_VAL(is->tcp->local_ip, pcb_type(is));
			else if (!tcp)
				IP_SET_TYPE_VAL(is->udp->local_ip, pcb_type(is));
			break;
		case IPV6_TCLASS:
			is->tos = v & 0xff;
			break;
		case IPV6_UNICAST_HOPS:
			if (v == -1)
				v = 64;
			if (v < 0 || v > 255)
				err = -EINVAL;
			else
				is->ttl = v;
			break;
		case IPV6_RECVPKTINFO:
		case IPV6_RECVERR:
		case IPV6_MTU_DISCOVER:
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	default:
		err = -ENOPROTOOPT;
	}
	if (err == 0) {
		if (tcp) {
			tcp_apply_options(is);
		} else {
			if (is->ttl >= 0)
				is->udp->ttl = (u8_t)is->ttl;
			if (is->tos >= 0)
				is->udp->tos = (u8_t)is->tos;
		}
	}
	net_unlock();
	return err;
}

static int inet_getsockopt(struct sock *s, int level, int name, void *val, socklen_t *len)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int tcp = s->type == SOCK_STREAM, v, err = 0;

	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;

		if (!val)
			return -EFAULT;
		if (*len < sizeof(l))
			return -EINVAL;
		net_lock();
		l.l_onoff = is->linger_on;
		l.l_linger = is->linger_secs;
		net_unlock();
		memcpy(val, &l, sizeof(l));
		*len = sizeof(l);
		return 0;
	}
	net_lock();
	switch (level) {
	case SOL_SOCKET:
		switch (name) {
		case SO_ERROR:
			v = take_err(is);
			break;
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			v = is->reuseaddr;
			break;
		case SO_KEEPALIVE:
			v = is->keepalive;
			break;
		case SO_BROADCAST:
			v = is->broadcast;
			break;
		case SO_RCVBUF:
			v = is->rcvbuf;
			break;
		case SO_SNDBUF:
			v = is->sndbuf;
			break;
		case SO_ACCEPTCONN:
			v = is->state == IS_LISTEN;
			break;
		case SO_RCVLOWAT:
		case SO_SNDLOWAT:
			v = 1;
			break;
		case SO_OOBINLINE:
		case SO_PRIORITY:
		case SO_DONTROUTE:
			v = 0;
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_TCP:
		if (!tcp) {
			err = -ENOPROTOOPT;
			break;
		}
		switch (name) {
		case TCP_NODELAY:
			v = is->nodelay;
			break;
		case TCP_KEEPIDLE:
			v = is->keep_idle ? is->keep_idle : (int)(TCP_KEEPIDLE_DEFAULT / 1000);
			break;
		case TCP_KEEPINTVL:
			v = is->keep_intvl ? is->keep_intvl : (int)(TCP_KEEPINTVL_DEFAULT / 1000);
			break;
		case TCP_KEEPCNT:
			v = is->keep_cnt ? is->keep_cnt : (int)TCP_KEEPCNT_DEFAULT;
			break;
		case TCP_MAXSEG:
			v = is->tcp && is->state != IS_LISTEN ? tcp_mss(is->tcp) : TCP_MSS;
			break;
		case TCP_CORK:
		case TCP_QUICKACK:
		case TCP_DEFER_ACCEPT:
			v = 0;
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IP:
		switch (name) {
		case IP_TOS:
			v = is->tos < 0 ? 0 : is->tos;
			break;
		case IP_TTL:
			v = is->ttl < 0 ? 64 : is->ttl;
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	case IPPROTO_IPV6:
		if (s->domain != AF_INET6) {
			err = -ENOPROTOOPT;
			break;
		}
		switch (name) {
		case IPV6_V6ONLY:
			v = is->v6only;
			break;
		case IPV6_TCLASS:
			v = is->tos < 0 ? 0 : is->tos;
			break;
		case IPV6_UNICAST_HOPS:
			v = is->ttl < 0 ? 64 : is->ttl;
			break;
		default:
			err = -ENOPROTOOPT;
		}
		break;
	default:
		err = -ENOPROTOOPT;
	}
	net_unlock();
	return err ? err : sockopt_get_int(val, len, v);
}

/* ---- closing ------------------------------------------------------------ */

static void rxq_free(struct inet_sock *is)
{
	while (is->rxq) {
		struct pbuf *p = is->rxq;

		is->rxq = p->next;
		p->next = NULL;
		pbuf_free(p);
	}
	is->rxq_tail = NULL;
	is->rx_avail = 0;
	is->rx_truesize = 0;
}

/* Close a connection's pcb as Linux closes a socket: RST when data was
 * left unread or SO_LINGER says so, else FIN.  Locked. */
static void tcp_close_conn(struct inet_sock *is)
{
	struct tcp_pcb *pcb = is->tcp;
	int reset = is->rx_avail > 0 || (is->linger_on && is->linger_secs == 0);

	rxq_free(is);
	if (!pcb)
		return;
	tcp_detach(is);
	if (reset && pcb->state != SYN_SENT && pcb->state != CLOSED) {
		tcp_abort(pcb);
		return;
	}
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb); /* no memory for a FIN: reset instead */
}

static void tcp_release_op(struct sock *s)
{
	struct inet_sock *is = (struct inet_sock *)s;

	net_lock();
	s->file = NULL;
	if (is->state == IS_LISTEN) {
		/* Connections nobody accepted are reset, as on Linux. */
		while (is->acc_head) {
			struct inet_sock *c = is->acc_head;

			is->acc_head = c->acc_next;
			rxq_free(c);
			if (c->tcp) {
				struct tcp_pcb *pcb = c->tcp;

				tcp_detach(c);
				tcp_abort(pcb);
			}
			inet_free(c);
		}
		if (is->tcp) {
			tcp_arg(is->tcp, NULL);
			tcp_accept(is->tcp, NULL);
			tcp_close(is->tcp);
		}
		is->tcp = NULL;
	} else {
		tcp_close_conn(is);
	}
	net_unlock();
	inet_free(is);
}

/* ---- UDP -------------------------------------------------------------------- */

static void udp_recv_cb(
    void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
	struct inet_sock *is = arg;
	size_t charge = truesize(p) + sizeof(struct dgram);
	struct dgram *d;

	if (is->rx_shut || is->dq_bytes + charge > (size_t)is->rcvbuf ||
	    (d = kmalloc(sizeof(*d))) == NULL) {
		pbuf_free(p); /* no room: dropped, as on Linux */
		return;
	}
	d->next = NULL;
	d->p = p;
	d->charge = charge;
	ip_addr_copy(d->addr, *addr);
	d->port = port;
	if (is->dq_tail)
		is->dq_tail->next = d;
	else
		is->dq = d;
	is->dq_tail = d;
	is->dq_bytes += charge;
	wake(is, POLLIN | POLLRDNORM);
}

static int udp_bind_op(struct sock *s, const struct sockaddr *sa, socklen_t len)
{
	struct inet_sock *is = (struct inet_sock *)s;
	ip_addr_t ip;
	u16_t port;
	int err = addr_in(is, sa, len, &ip, &port);

	if (err)
		return err == -ENETUNREACH ? -EINVAL : err;
	net_lock();
	if (is->udp->local_port != 0)
		err = -EINVAL;
	else if (!addr_local(&ip) && !ip_addr_ismulticast(&ip) &&
	    !(IP_IS_V4(&ip) &&
	        ip4_addr_isbroadcast_u32(ip4_addr_get_u32(ip_2_ip4(&ip)), netif_default)))
		err = -EADDRNOTAVAIL;
	else
		err = -err_errno(udp_bind(is->udp, bind_addr(is, &ip), port));
	net_unlock();
	return err;
}

static int udp_connect_op(struct sock *s, const struct sockaddr *sa, socklen_t len, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	ip_addr_t ip;
	u16_t port;
	int err;

	if (len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
		net_lock();
		udp_disconnect(is->udp);
		net_unlock();
		return 0;
	}
	if ((err = addr_in(is, sa, len, &ip, &port)) != 0)
		return err;
	any_to_loopback(&ip);
	net_lock();
	err = -err_errno(udp_connect(is->udp, &ip, port));
	net_unlock();
	return err;
}

static ssize_t udp_sendmsg_op(struct sock *s, const struct msghdr *m, int flags, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	size_t len = iov_total(m->msg_iov, m->msg_iovlen), off = 0;
	ip_addr_t ip;
	u16_t port = 0;
	struct pbuf *p;
	int err = 0, i;
	err_t e;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (m->msg_name && m->msg_namelen) {
		if ((err = addr_in(is, m->msg_name, m->msg_namelen, &ip, &port)) != 0)
			return err;
		if (port == 0)
			return -EINVAL;
		any_to_loopback(&ip);
	}
	if (len > (s->domain == AF_INET6 ? UDP_MAX_PAYLOAD6 : UDP_MAX_PAYLOAD4))
		return -EMSGSIZE;
	net_lock();
	if (is->tx_shut) {
		err = -EPIPE;
		goto out;
	}
	if (!m->msg_name && !(is->udp->flags & UDP_FLAGS_CONNECTED)) {
		err = -EDESTADDRREQ;
		goto out;
	}
	if ((p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM)) == NULL) {
		err = -ENOBUFS;
		goto out;
	}
	for (i = 0; i < (int)m->msg_iovlen; i++) {
		pbuf_take_at(p, m->msg_iov[i].iov_base, (u16_t)m->msg_iov[i].iov_len, (u16_t)off);
		off += m->msg_iov[i].iov_len;
	}
	if (m->msg_name)
		e = udp_sendto(is->udp, p, &ip, port);
	else
		e = udp_send(is->udp, p);
	pbuf_free(p);
	if (e == ERR_MEM)
		err = -ENOBUFS;
	else if (e != ERR_OK)
		err = -err_errno(e);
out:
	net_unlock();
	return err ? err : (ssize_t)len;
}

static ssize_t udp_recvmsg_op(struct sock *s, struct msghdr *m, int flags, int nonblock)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int64_t deadline = sock_deadline(s, 0);
	size_t len = iov_total(m->msg_iov, m->msg_iovlen), n;
	struct dgram *d;
	ssize_t ret;

	if (flags & MSG_OOB)
		return -EINVAL;
	m->msg_controllen = 0;
	net_lock();
	while (!(d = is->dq)) {
		if (is->rx_shut) {
			m->msg_namelen = 0;
			ret = 0;
			goto out;
		}
		if (nonblock || net_wait(is->cv, deadline) == ETIMEDOUT) {
			ret = -EAGAIN;
			goto out;
		}
	}
	n = d->p->tot_len < len ? d->p->tot_len : len;
	for (size_t done = 0, i = 0; i < (size_t)m->msg_iovlen && done < n; i++) {
		size_t c = m->msg_iov[i].iov_len;

		if (c > n - done)
			c = n - done;
		pbuf_copy_partial(d->p, m->msg_iov[i].iov_base, (u16_t)c, (u16_t)done);
		done += c;
	}
	if (d->p->tot_len > len)
		m->msg_flags |= MSG_TRUNC;
	ret = (flags & MSG_TRUNC) ? d->p->tot_len : n;
	if (m->msg_name) {
		socklen_t alen = m->msg_namelen;

		addr_out(is, &d->addr, d->port, m->msg_name, &alen);
		m->msg_namelen = alen;
	}
	if (!(flags & MSG_PEEK)) {
		if (!(is->dq = d->next))
			is->dq_tail = NULL;
		is->dq_bytes -= d->charge;
		pbuf_free(d->p);
		kfree(d, sizeof(*d));
	}
out:
	net_unlock();
	return ret;
}

static int udp_shutdown_op(struct sock *s, int how)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int err = 0;

	net_lock();
	if (!(is->udp->flags & UDP_FLAGS_CONNECTED)) {
		err = -ENOTCONN;
	} else {
		if (how != SHUT_WR)
			is->rx_shut = 1;
		if (how != SHUT_RD)
			is->tx_shut = 1;
		wake(is, POLLIN | POLLOUT | POLLHUP);
	}
	net_unlock();
	return err;
}

static int udp_poll_op(struct sock *s)
{
	struct inet_sock *is = (struct inet_sock *)s;
	int r = POLLOUT | POLLWRNORM;

	net_lock();
	if (is->dq || is->rx_shut)
		r |= POLLIN | POLLRDNORM;
	if (is->rx_shut && is->tx_shut)
		r |= POLLHUP;
	net_unlock();
	return r;
}

static long udp_ioctl_op(struct sock *s, unsigned long cmd, unsigned long arg)
{
	struct inet_sock *is = (struct inet_sock *)s;
	long rv = 0;

	net_lock();
	switch (cmd) {
	case FIONREAD: /* the next datagram's size, as Linux */
		*(int *)arg = is->dq ? is->dq->p->tot_len : 0;
		break;
	case SIOCOUTQ:
		*(int *)arg = 0;
		break;
	default:
		rv = -ENOTTY;
	}
	net_unlock();
	return rv;
}

static void udp_release_op(struct sock *s)
{
	struct inet_sock *is = (struct inet_sock *)s;

	net_lock();
	s->file = NULL;
	udp_remove(is->udp);
	while (is->dq) {
		struct dgram *d = is->dq;

		is->dq = d->next;
		pbuf_free(d->p);
		kfree(d, sizeof(*d));
	}
	net_unlock();
	inet_free(is);
}

/* ---- creation ------------------------------------------------------------- */

static const struct sock_ops inet_tcp_ops = {
    .bind = tcp_bind_op,
    .listen = tcp_listen_op,
    .accept = tcp_accept_op,
    .connect = tcp_connect_op,
    .sendmsg = tcp_sendmsg_op,
    .recvmsg = tcp_recvmsg_op,
    .shutdown = tcp_shutdown_op,
    .getname = inet_getname,
    .setsockopt = inet_setsockopt,
    .getsockopt = inet_getsockopt,
    .poll = tcp_poll_op,
    .ioctl = tcp_ioctl_op,
    .release = tcp_release_op,
};

static const struct sock_ops inet_udp_ops = {
    .bind = udp_bind_op,
    .connect = udp_connect_op,
    .sendmsg = udp_sendmsg_op,
    .recvmsg = udp_recvmsg_op,
    .shutdown = udp_shutdown_op,
    .getname = inet_getname,
    .setsockopt = inet_setsockopt,
    .getsockopt = inet_getsockopt,
    .poll = udp_poll_op,
    .ioctl = udp_ioctl_op,
    .release = udp_release_op,
};

int inet_create(int domain, int type, int protocol, struct sock **sp)
{
	struct inet_sock *is;
	int err = 0;

	if (type == SOCK_STREAM) {
		if (protocol != 0 && protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		protocol = IPPROTO_TCP;
	} else if (type == SOCK_DGRAM) {
		if (protocol != 0 && protocol != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		protocol = IPPROTO_UDP;
	} else if (type == SOCK_RAW) {
		return -EPROTONOSUPPORT; /* no raw sockets (ping) yet */
	} else {
		return -ESOCKTNOSUPPORT;
	}
	net_stack_start();
	if ((is = inet_alloc(domain, type, protocol)) == NULL)
		return -ENOMEM;
	net_lock();
	if (type == SOCK_STREAM) {
		err = tcp_fresh_pcb(is);
	} else if ((is->udp = udp_new_ip_type(pcb_type(is))) == NULL) {
		err = -ENOMEM;
	} else {
		udp_recv(is->udp, udp_recv_cb, is);
	}
	net_unlock();
	if (err) {
		inet_free(is);
		return err;
	}
	*sp = &is->sk;
	return 0;
}
