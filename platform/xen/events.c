/*
 * The shared info page and event channels.  The guest gives Xen one of its
 * pages for the shared info (XENMEM_add_to_physmap): the time records, the
 * wall clock and the event channels' pending and mask bits live there.
 * Ports stay masked (no upcall vector is registered anyway): the guest
 * learns of events by polling their pending bits (SCHEDOP_poll).
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <errno.h>
#include "rumpcomp_xen.h"

#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_send 4
#define EVTCHNOP_alloc_unbound 6
#define SCHEDOP_poll 3

volatile struct xen_shared_info *xen_shared;

_Static_assert(sizeof(struct xen_vcpu_time_info) == 32, "vcpu_time_info layout");
_Static_assert(sizeof(struct xen_vcpu_info) == 64, "vcpu_info layout");
_Static_assert(
    __builtin_offsetof(struct xen_shared_info, wc_version) == 3072, "shared_info layout");

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};

void xen_events_init(void)
{
	void *page = bmk_pgalloc(1, BMK_PAGE_SIZE);
	struct xen_add_to_physmap map = {
	    .domid = DOMID_SELF,
	    .space = XENMAPSPACE_shared_info,
	    .idx = 0,
	};
	long rc;

	if (!page) {
		bmk_printf("rumprun: no memory for Xen's shared info page\n");
		bmk_exit(1, 1);
	}
	/* The page's RAM goes back to Xen; the frame shows the shared info. */
	map.gpfn = x86_virt_to_phys(page) >> BMK_PAGE_SHIFT;
	rc = xen_hypercall(
	    __HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&map, 0, 0, 0);
	if (rc) {
		bmk_printf("rumprun: Xen refused to map the shared info page (error %ld)\n", rc);
		bmk_exit(1, 1);
	}
	xen_shared = page;
}

struct evtchn_bind_virq {
	uint32_t virq, vcpu, port;
};

void xen_evtchn_mask(uint32_t port)
{
	__asm__ volatile("lock btsq %1, %0"
	                 : "+m"(xen_shared->evtchn_mask[port / 64])
	                 : "r"((uint64_t)(port % 64))
	                 : "memory");
}

uint32_t xen_evtchn_bind_virq(uint32_t virq)
{
	struct evtchn_bind_virq bind = {.virq = virq, .vcpu = 0};
	long rc = xen_hypercall(
	    __HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, (unsigned long)&bind, 0, 0, 0);

	if (rc) {
		bmk_printf(
		    "rumprun: Xen refused to bind virtual interrupt %u (error %ld)\n", virq, rc);
		bmk_exit(1, 1);
	}
	xen_evtchn_mask(bind.port);
	return bind.port;
}

void xen_evtchn_send(uint32_t port)
{
	uint32_t p = port;

	xen_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&p, 0, 0, 0);
}

int xen_evtchn_test_and_clear(uint32_t port)
{
	unsigned char was;

	__asm__ volatile("lock btrq %2, %0; setc %1"
	                 : "+m"(xen_shared->evtchn_pending[port / 64]), "=q"(was)
	                 : "r"((uint64_t)(port % 64))
	                 : "memory", "cc");
	return was;
}

struct sched_poll {
	const uint32_t *ports;
	uint32_t nr_ports;
	uint32_t pad;
	uint64_t timeout;
};

void xen_evtchn_poll(const uint32_t *ports, unsigned n, uint64_t timeout)
{
	struct sched_poll poll = {.ports = ports, .nr_ports = n, .timeout = timeout};

	xen_hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&poll, 0, 0, 0);
}

/* ---- frontends' ports (rumpcomp_xen.h) ------------------------------- */

struct evtchn_alloc_unbound {
	uint16_t dom, remote_dom;
	uint32_t port;
};

int rumpcomp_xen_evtchn_alloc(unsigned remote_domid, unsigned *port)
{
	struct evtchn_alloc_unbound alloc = {
	    .dom = DOMID_SELF, .remote_dom = (uint16_t)remote_domid};
	long rc = xen_hypercall(
	    __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, (unsigned long)&alloc, 0, 0, 0);

	if (rc)
		return rc == -ENOSPC ? ENOSPC : EIO;
	xen_evtchn_mask(alloc.port);
	*port = alloc.port;
	return 0;
}

void rumpcomp_xen_evtchn_notify(unsigned port) { xen_evtchn_send(port); }

/*
 * Established ports: their pending bits are looked at whenever the
 * scheduler lets interrupts in (xen_events_check, from the machine's
 * bmk_platform_intr_window) and the idle wait polls them with the timer's.
 * A port found pending is marked here and bmk's interrupt thread runs its
 * handler (xen_events_run), in thread context as on hw.
 */
#define MAX_PORTS 32 /* 16 disks, interfaces, the console */

static struct {
	uint32_t port;
	int (*handler)(void *);
	void *arg;
	volatile int pending;
} handlers[MAX_PORTS];
static uint32_t ports[MAX_PORTS];
static unsigned nports;

static void xen_events_run(void)
{
	unsigned i;
	int again = 1;

	while (again) {
		again = 0;
		for (i = 0; i < nports; i++) {
			if (!handlers[i].pending)
				continue;
			handlers[i].pending = 0;
			handlers[i].handler(handlers[i].arg);
			again = 1;
		}
	}
}

void xen_events_check(void)
{
	unsigned i;

	for (i = 0; i < nports; i++) {
		if (xen_evtchn_test_and_clear(handlers[i].port)) {
			handlers[i].pending = 1;
			bmk_intr_raise();
		}
	}
}

void xen_events_mark(uint32_t port)
{
	unsigned i;

	for (i = 0; i < nports; i++) {
		if (handlers[i].port == port) {
			handlers[i].pending = 1;
			bmk_intr_raise();
		}
	}
}

const uint32_t *xen_events_ports(unsigned *n)
{
	*n = nports;
	return ports;
}

int rumpcomp_xen_evtchn_establish(unsigned port, int (*handler)(void *), void *arg)
{
	if (nports == MAX_PORTS)
		return ENOSPC;
	if (bmk_intr_init(xen_events_run))
		return ENOMEM;
	handlers[nports].port = port;
	handlers[nports].handler = handler;
	handlers[nports].arg = arg;
	ports[nports] = port;
	nports++;
	bmk_intr_awaited(1);
	return 0;
}

void rumpcomp_xen_evtchn_awaited(int delta) { bmk_intr_awaited(delta); }
