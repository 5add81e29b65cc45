/*
 * The PV console: a page shared with dom0's console daemon (xenconsoled)
 * holding an output and an input ring, and an event channel to say "look".
 * Output is announced at each newline, before idling and at the end, so a
 * busy guest does not pay a hypercall per character.  Before the ring is
 * known (and when Xen gives none) output goes to Xen's debug port 0xe9,
 * which Xen's own console shows as "(dN) ...".
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <errno.h>
#include "rumpcomp_xen.h"

struct xencons_interface {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

static volatile struct xencons_interface *ring;
static uint32_t port;
static int unannounced;

void xen_cons_init(void)
{
	uint64_t pfn, evtchn;

	if (xen_hvm_param(HVM_PARAM_CONSOLE_PFN, &pfn) || !pfn ||
	    xen_hvm_param(HVM_PARAM_CONSOLE_EVTCHN, &evtchn))
		return;
	x86_boot_reserve(pfn << BMK_PAGE_SHIFT, (pfn + 1) << BMK_PAGE_SHIFT);
	ring = x86_phys_to_virt(pfn << BMK_PAGE_SHIFT);
	port = (uint32_t)evtchn;
}

void xen_cons_notify(void)
{
	if (ring && unannounced) {
		unannounced = 0;
		xen_evtchn_send(port);
	}
}

/* Wait a little for the daemon to take output: it notifies the console's
 * port after reading, which the guest polls for once it has a clock (up to
 * 10 ms, so a dead daemon cannot keep it here); before that, let Xen run
 * others for a moment. */
static void wait_for_daemon(void)
{
	xen_evtchn_send(port);
	unannounced = 0;
	if (xen_clock_ready) {
		xen_evtchn_poll(&port, 1, xen_clock_system(xen_clock_mono()) + 10000000);
		xen_evtchn_test_and_clear(port);
	} else {
		xen_hypercall(__HYPERVISOR_sched_op, 0 /* SCHEDOP_yield */, 0, 0, 0, 0);
	}
}

void xen_cons_putc(int c)
{
	uint32_t prod;

	if (!ring) {
		outb(0xe9, (uint8_t)c);
		return;
	}
	while ((prod = ring->out_prod) - ring->out_cons >= sizeof(ring->out))
		wait_for_daemon();
	ring->out[prod % sizeof(ring->out)] = (char)c;
	__asm__ volatile("" ::: "memory"); /* x86: stores stay in order */
	ring->out_prod = prod + 1;
	unannounced = 1;
	if (c == '\n')
		xen_cons_notify();
}

void xen_cons_flush(void)
{
	int i;

	if (!ring)
		return;
	xen_cons_notify();
	/* Bounded (about 2 s): a dead daemon must not keep the guest alive. */
	for (i = 0; i < 200 && ring->out_cons != ring->out_prod; i++)
		wait_for_daemon();
}

/* ---- the kernel's console input (rumpcomp_xen.h) ---------------------- */

int rumpcomp_xen_cons_read(void *buf, unsigned long len, unsigned long *got)
{
	uint32_t cons, prod;
	unsigned long n = 0;
	char *p = buf;

	if (!ring)
		return ENXIO;
	cons = ring->in_cons;
	prod = ring->in_prod;
	__asm__ volatile("" ::: "memory"); /* the bytes after the index */
	while (n < len && cons != prod)
		p[n++] = ring->in[cons++ % sizeof(ring->in)];
	__asm__ volatile("" ::: "memory");
	ring->in_cons = cons;
	if (n)
		xen_evtchn_send(port); /* room again: the daemon may go on */
	*got = n;
	return 0;
}

int rumpcomp_xen_cons_establish(int (*handler)(void *), void *arg)
{
	if (!ring)
		return ENXIO;
	return rumpcomp_xen_evtchn_establish(port, handler, arg);
}
