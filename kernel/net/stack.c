/*
 * lwIP's environment: the net lock, waiting, the timer thread, memory,
 * random numbers and diagnostics (what lwIP's NO_SYS mode asks of a port,
 * over the hypercall interface).
 *
 * Timers.  lwIP's protocols want periodic calls (TCP every 250 ms, ARP and
 * IPv6 neighbour discovery every second, DHCP, MLD).  One kernel thread,
 * "net", makes them, but only those that have work: TCP's while a
 * connection exists, the Ethernet protocols' while a NIC is attached,
 * DHCP's while an interface uses it.  An idle machine with no NIC has no
 * timer pending, so the scheduler can still tell a deadlock.  Whoever
 * leaves the stack checks whether a timer became necessary and wakes the
 * thread (net_settle).  lwIP's one-shot sys_timeout() is served too.
 */
#include "net_impl.h"
#include <kernel/net.h>
#include <kernel/thread.h>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "lwip/etharp.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/dhcp.h"
#include "lwip/nd6.h"
#include "lwip/mld6.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"

static struct rumpuser_mtx *net_mtx;
static int net_held; /* for LWIP_ASSERT_CORE_LOCKED */
int net_nics;
static int dhcp_users;

/* ---- periodic timers --------------------------------------------------- */

enum { NEED_TCP = 1, NEED_NIC = 2, NEED_DHCP = 4 };

static void tcp_tick(void);

static struct periodic {
	uint32_t interval_ms;
	void (*fn)(void);
	int need;
	int64_t next; /* ns; -1 while not running */
} periodic[] = {
    {TCP_TMR_INTERVAL, tcp_tick, NEED_TCP, -1},
    {ARP_TMR_INTERVAL, etharp_tmr, NEED_NIC, -1},
    {IP_TMR_INTERVAL, ip_reass_tmr, NEED_NIC, -1},
    {ND6_TMR_INTERVAL, nd6_tmr, NEED_NIC, -1},
    {IP6_REASS_TMR_INTERVAL, ip6_reass_tmr, NEED_NIC, -1},
    {MLD6_TMR_INTERVAL, mld6_tmr, NEED_NIC, -1},
    {DHCP_FINE_TIMER_MSECS, dhcp_fine_tmr, NEED_DHCP, -1},
    {DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tmr, NEED_DHCP, -1},
};

/* lwIP's one-shot timeouts, sorted by deadline. */
struct oneshot {
	struct oneshot *next;
	int64_t when;
	sys_timeout_handler fn;
	void *arg;
};
static struct oneshot *oneshots;

static struct rumpuser_cv *timer_cv;
static int timer_running; /* what the timer thread last planned for */
static int64_t timer_wake; /* when it plans to wake (-1: never) */

/* Too many connections in TIME_WAIT would take memory without bound
 * (lwIP keeps them 2 * TCP_MSL); like Linux's tcp_max_tw_buckets, the
 * oldest go past a limit. */
#define TIME_WAIT_MAX 4096

static void tcp_tick(void)
{
	int n = 0;
	struct tcp_pcb *pcb, *last = NULL;

	tcp_tmr();
	/* Segments a full device refused (drivers call tx_ready when they
	 * have room; this is the fallback) go out within a tick, not after a
	 * retransmission timeout. */
	tcp_txnow();
	for (pcb = tcp_tw_pcbs; pcb; pcb = pcb->next) {
		if (++n > TIME_WAIT_MAX) {
			/* Newest first: everything after last is older. */
			while (last->next)
				tcp_abort(last->next);
			break;
		}
		last = pcb;
	}
}

static int timers_needed(void)
{
	int need = 0;

	if (tcp_active_pcbs || tcp_tw_pcbs)
		need |= NEED_TCP;
	if (net_nics)
		need |= NEED_NIC;
	if (dhcp_users)
		need |= NEED_DHCP;
	return need;
}

void net_timers_dhcp(int delta) { dhcp_users += delta; }

/* Run what is due; the earliest next deadline (-1: none). */
static int64_t timers_run(void)
{
	int need = timers_needed();
	int64_t now = time_mono_ns(), wake = -1;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(periodic); i++) {
		struct periodic *t = &periodic[i];

		if (!(need & t->need)) {
			t->next = -1;
			continue;
		}
		if (t->next < 0) {
			t->next = now + t->interval_ms * 1000000LL;
		} else if (t->next <= now) {
			t->fn();
			t->next += t->interval_ms * 1000000LL;
			if (t->next <= now) /* we were late: no catching up */
				t->next = now + t->interval_ms * 1000000LL;
		}
		if (wake < 0 || t->next < wake)
			wake = t->next;
	}
	while (oneshots && oneshots->when <= now) {
		struct oneshot *o = oneshots;

		oneshots = o->next;
		o->fn(o->arg);
		kfree(o, sizeof(*o));
	}
	if (oneshots && (wake < 0 || oneshots->when < wake))
		wake = oneshots->when;
	timer_running = timers_needed();
	return wake;
}

/*
 * Before the lock is let go: deliver what lwIP queued to itself on the
 * loopback paths, and wake the timer thread when a timer became needed
 * that it does not run yet.  Returns whether anything was delivered
 * (then the state a waiter waits for may have changed).
 */
static int net_settle(void)
{
	struct netif *n;
	int delivered = 0;

	NETIF_FOREACH(n)
	{
		if (n->loop_first) {
			netif_poll(n);
			delivered = 1;
		}
	}
	if (timers_needed() & ~timer_running)
		rumpuser_cv_signal(timer_cv);
	return delivered;
}

static void *timer_thread(void *arg)
{
	net_lock();
	for (;;) {
		timer_wake = timers_run();
		net_wait(timer_cv, timer_wake);
	}
	return NULL;
}

void sys_timeouts_init(void) {}

/* lwIP registered a TCP pcb (connect, listen, accept): make sure the TCP
 * timer runs.  (timeouts.c, which has lwIP's version, is not built.) */
void tcp_timer_needed(void)
{
	if (!(timer_running & NEED_TCP))
		rumpuser_cv_signal(timer_cv);
}

void sys_timeout(u32_t msecs, sys_timeout_handler fn, void *arg)
{
	struct oneshot *o = kmalloc(sizeof(*o)), **pp;

	LWIP_ASSERT("sys_timeout: out of memory", o != NULL);
	o->when = time_mono_ns() + msecs * 1000000LL;
	o->fn = fn;
	o->arg = arg;
	for (pp = &oneshots; *pp && (*pp)->when <= o->when; pp = &(*pp)->next)
		;
	o->next = *pp;
	*pp = o;
	if (timer_wake < 0 || o->when < timer_wake)
		rumpuser_cv_signal(timer_cv);
}

void sys_untimeout(sys_timeout_handler fn, void *arg)
{
	struct oneshot **pp;

	for (pp = &oneshots; *pp; pp = &(*pp)->next) {
		if ((*pp)->fn == fn && (*pp)->arg == arg) {
			struct oneshot *o = *pp;

			*pp = o->next;
			kfree(o, sizeof(*o));
			return;
		}
	}
}

void sys_check_timeouts(void) { timers_run(); }

u32_t sys_now(void) { return (u32_t)(time_mono_ns() / 1000000); }

/*
 * Before lwIP sees an IP packet: a SYN (not an ACK) whose four-tuple
 * belongs to a connection in TIME_WAIT and whose sequence number is past
 * that connection's lets the old one go, so the listener gets the new one.
 * Returns 0: the packet goes on to lwIP either way.
 */
int net_syn_in_time_wait(struct pbuf *p, int version)
{
	const uint8_t *ip = p->payload, *tcp;
	size_t hlen;
	struct tcp_pcb *pcb;

	if (!tcp_tw_pcbs)
		return 0;
	if (version == 4) {
		if (p->len < 20 || ip[9] != IP_PROTO_TCP)
			return 0;
		hlen = (ip[0] & 0x0f) * 4;
	} else {
		if (p->len < 40 || ip[6] != IP6_NEXTH_TCP)
			return 0; /* extension headers: left to lwIP */
		hlen = 40;
	}
	if (p->len < hlen + 20)
		return 0;
	tcp = ip + hlen;
	if ((tcp[13] & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return 0;
	u16_t sport = (u16_t)(tcp[0] << 8 | tcp[1]), dport = (u16_t)(tcp[2] << 8 | tcp[3]);
	u32_t seq = (u32_t)tcp[4] << 24 | (u32_t)tcp[5] << 16 | (u32_t)tcp[6] << 8 | tcp[7];

	for (pcb = tcp_tw_pcbs; pcb; pcb = pcb->next) {
		if (pcb->remote_port != sport || pcb->local_port != dport)
			continue;
		if (version == 4 ? (!IP_IS_V4_VAL(pcb->remote_ip) ||
		                       memcmp(&ip_2_ip4(&pcb->remote_ip)->addr, ip + 12, 4) ||
		                       memcmp(&ip_2_ip4(&pcb->local_ip)->addr, ip + 16, 4))
		                 : (!IP_IS_V6_VAL(pcb->remote_ip) ||
		                       memcmp(ip_2_ip6(&pcb->remote_ip)->addr, ip + 8, 16) ||
		                       memcmp(ip_2_ip6(&pcb->local_ip)->addr, ip + 24, 16)))
			continue;
		if (TCP_SEQ_GT(seq, pcb->rcv_nxt))
			tcp_abort(pcb); /* a TIME_WAIT pcb just goes */
		break;
	}
	return 0;
}

/* ---- the lock ------------------------------------------------------------ */

void net_lock(void)
{
	rumpuser_mutex_enter(net_mtx);
	net_held = 1;
}

void net_unlock(void)
{
	net_settle();
	net_held = 0;
	rumpuser_mutex_exit(net_mtx);
}

int net_wait(struct rumpuser_cv *cv, int64_t deadline)
{
	int rv = 0;

	if (net_settle())
		return 0; /* the caller looks again before sleeping */
	net_held = 0;
	if (deadline < 0) {
		rumpuser_cv_wait(cv, net_mtx);
	} else {
		int64_t left = deadline - time_mono_ns();

		if (left <= 0)
			rv = ETIMEDOUT;
		else
			rv = rumpuser_cv_timedwait(
			    cv, net_mtx, left / 1000000000, left % 1000000000);
	}
	net_held = 1;
	return rv;
}

void net_assert_locked(void)
{
	if (!net_held)
		panic("net: lwIP called without the net lock");
}

static int started;

/* Has TCP something to deliver: data not yet acknowledged, or our FIN? */
static int tcp_pending(void)
{
	struct tcp_pcb *pcb;

	for (pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->unsent || pcb->unacked || pcb->state == FIN_WAIT_1 ||
		    pcb->state == CLOSING || pcb->state == LAST_ACK)
			return 1;
	return 0;
}

void net_quiesce(void)
{
	int64_t deadline = time_mono_ns() + QUIESCE_MS * 1000000LL;
	struct rumpuser_cv *cv;

	if (!started)
		return;
	rumpuser_cv_init(&cv);
	net_lock();
	/* Nothing signals cv: look again every 10 ms while the timer thread
	 * and the drivers move the data. */
	while (tcp_pending() && time_mono_ns() < deadline)
		net_wait(cv, time_mono_ns() + 10000000LL);
	net_unlock();
	rumpuser_cv_destroy(cv);
}

void net_stack_start(void)
{
	if (started)
		return;
	started = 1;
	rumpuser_mutex_init(&net_mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&timer_cv);
	net_lock();
	lwip_init();
	timer_wake = -1;
	net_unlock();
	if (rumpuser_thread_create(timer_thread, NULL, "net", 0, -1, -1, NULL) != 0)
		panic("net: cannot start the timer thread");
}

/* ---- memory, random numbers, diagnostics -------------------------------- */

/* lwIP frees without a size; the kernel allocator wants one: keep it in
 * front of the block (16 bytes, so the block stays 16-byte aligned). */
#define MEM_HEADER 16

static unsigned long mem_in_use; /* under the net lock, as every lwIP call */

void *net_mem_alloc(size_t size)
{
	char *p = kmalloc(size + MEM_HEADER);

	if (!p)
		return NULL;
	*(size_t *)p = size + MEM_HEADER;
	mem_in_use += size + MEM_HEADER;
	return p + MEM_HEADER;
}

unsigned long net_memory_in_use(void) { return mem_in_use; }

void *net_mem_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / 2 / size)
		return NULL;
	if ((p = net_mem_alloc(n * size)) != NULL)
		memset(p, 0, n * size);
	return p;
}

void net_mem_free(void *p)
{
	char *base;

	if (!p)
		return;
	base = (char *)p - MEM_HEADER;
	mem_in_use -= *(size_t *)base;
	kfree(base, *(size_t *)base);
}

unsigned net_random32(void)
{
	unsigned v = 0;
	rumpuser_size_t got;

	rumpuser_getrandom(&v, sizeof(v), RUMPUSER_RANDOM_NOWAIT, &got);
	return v;
}

/* SipHash-2-4 (Aumasson and Bernstein) of len bytes with the key k. */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; \
		v1 = ROTL(v1, 13); \
		v1 ^= v0; \
		v0 = ROTL(v0, 32); \
		v2 += v3; \
		v3 = ROTL(v3, 16); \
		v3 ^= v2; \
		v0 += v3; \
		v3 = ROTL(v3, 21); \
		v3 ^= v0; \
		v2 += v1; \
		v1 = ROTL(v1, 17); \
		v1 ^= v2; \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t siphash(const uint64_t k[2], const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

unsigned net_tcp_isn(const void *local_ip, unsigned short local_port, const void *remote_ip,
    unsigned short remote_port)
{
	static uint64_t secret[2];
	const ip_addr_t *l = local_ip, *r = remote_ip;
	uint8_t in[36];
	size_t alen = IP_IS_V6(r) ? 16 : 4;

	if (!secret[0] && !secret[1]) {
		rumpuser_size_t got;

		rumpuser_getrandom(secret, sizeof(secret), 0, &got);
		secret[1] |= 1;
	}
	/* The addresses' bytes only (not the structures' padding). */
	memcpy(in, IP_IS_V6(l) ? (const void *)ip_2_ip6(l)->addr : (const void *)&ip_2_ip4(l)->addr,
	    alen);
	memcpy(in + alen,
	    IP_IS_V6(r) ? (const void *)ip_2_ip6(r)->addr : (const void *)&ip_2_ip4(r)->addr, alen);
	memcpy(in + 2 * alen, &local_port, 2);
	memcpy(in + 2 * alen + 2, &remote_port, 2);
	return (u32_t)(time_mono_ns() / 4000) + (u32_t)siphash(secret, in, 2 * alen + 4);
}

void net_diag(const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	rumpuser_ext_vdprintf(fmt, ap);
	__builtin_va_end(ap);
}

void net_assert_failed(const char *what, const char *file, int line)
{
	panic("net: lwIP assertion \"%s\" failed at %s:%d", what, file, line);
}
