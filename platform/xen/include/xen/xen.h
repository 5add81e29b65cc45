/*
 * The xen platform's internal interfaces, one section per file: a Xen PVH
 * guest around the shared x86_64 processor code (x86_64/cpu.h).
 *
 * How the guest meets Xen: no interrupts at all.  Events (the timer, the
 * console, xenstore) are event channels whose pending bits the guest reads
 * in the shared info page; it waits for them with SCHEDOP_poll, which
 * blocks the vCPU until one of the given ports is pending.  No upcall
 * vector is registered, so Xen never injects anything, and the kernel's
 * model (one CPU, interrupts only ever let in while idle) holds trivially.
 *
 * The constants and layouts below are Xen's public ABI (xen/include/public:
 * xen.h, sched.h, event_channel.h, vcpu.h, memory.h, hvm/params.h,
 * io/console.h, io/xs_wire.h), x86_64 flavour.
 */
#ifndef XEN_XEN_H
#define XEN_XEN_H

#include <stddef.h>
#include <stdint.h>
#include <x86_64/cpu.h>

/* ---- hypercall.c: the hypercall page, HVM parameters ----------------- */
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_grant_table_op 20
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_hvm_op 34

#define HVMOP_get_param 1
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define DOMID_SELF 0x7ff0

/* Find Xen's CPUID leaves and install the hypercall page.  0, or -1 when
 * this is not Xen (the caller says so and stops). */
int xen_hypercall_init(void);
/* Hypercall nr with up to five arguments; Xen's result (< 0: -errno). */
long xen_hypercall(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3,
    unsigned long a4, unsigned long a5);
/* An HVM parameter of this domain in *value; 0 or Xen's -errno. */
int xen_hvm_param(uint32_t index, uint64_t *value);

/* ---- events.c: shared info, event channels --------------------------- */
struct xen_vcpu_time_info {
	uint32_t version; /* odd while Xen updates the record */
	uint32_t pad0;
	uint64_t tsc_timestamp; /* TSC at system_time */
	uint64_t system_time; /* ns since Xen's boot */
	uint32_t tsc_to_system_mul; /* ns = ticks << shift * mul >> 32 */
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};

struct xen_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t pad0;
	uint8_t pad1[6];
	uint64_t evtchn_pending_sel;
	uint64_t cr2, arch_pad;
	struct xen_vcpu_time_info time;
};

struct xen_shared_info {
	struct xen_vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version; /* odd while Xen updates the wall clock */
	uint32_t wc_sec, wc_nsec, wc_sec_hi; /* wall time at system time 0 */
};

#define VIRQ_TIMER 0

extern volatile struct xen_shared_info *xen_shared;

/* Map the shared info page (XENMEM_add_to_physmap).  Needs the page
 * allocator; ends the machine when Xen refuses. */
void xen_events_init(void);
/* Bind virtual interrupt virq on vCPU 0 to a new port (masked: we poll). */
uint32_t xen_evtchn_bind_virq(uint32_t virq);
/* Mask port: its events only set the pending bit, never an upcall. */
void xen_evtchn_mask(uint32_t port);
void xen_evtchn_send(uint32_t port);
/* Whether port was pending; clears it. */
int xen_evtchn_test_and_clear(uint32_t port);
/* Block until one of ports[0..n) is pending or Xen's system time reaches
 * timeout (ns; 0 none).  Returns at once when one is pending already. */
void xen_evtchn_poll(const uint32_t *ports, unsigned n, uint64_t timeout);
/* Frontends' ports (rumpcomp_xen_evtchn_establish): mark those pending and
 * raise bmk's interrupt flag (at every scheduler decision point); the
 * ports, for the idle wait to poll. */
void xen_events_check(void);
const uint32_t *xen_events_ports(unsigned *n);
/* Run an established port's handler as if its event had come (an event
 * another reader consumed on the handler's behalf). */
void xen_events_mark(uint32_t port);

/* ---- gnttab.c: the grant table --------------------------------------- */
/* Map the grant table's frames (XENMEM_add_to_physmap).  Needs the page
 * allocator; without it (Xen refused) grants fail with ENOSPC. */
void xen_gnttab_init(void);

/* ---- clock.c: the PV time source and the one-shot timer -------------- */
void xen_clock_init(void); /* after xen_events_init */
extern int xen_clock_ready; /* set by xen_clock_init */
int64_t xen_clock_mono(void); /* ns since boot */
int64_t xen_clock_wall(void); /* ns since the epoch */
/* Xen's system time (ns since Xen's boot) at mono time t. */
uint64_t xen_clock_system(int64_t mono);
/* Wait until an event on ports (and the timer) or the deadline (mono ns,
 * -1 none).  May return early. */
void xen_clock_idle(int64_t deadline, const uint32_t *ports, unsigned n);

/* ---- cons.c: the PV console ring ------------------------------------- */
/* Find the console ring (HVM params) and reserve its page; until then and
 * without one, output goes to Xen's debug port 0xe9. */
void xen_cons_init(void);
void xen_cons_putc(int c);
/* Tell the console daemon about output not yet announced (before idling). */
void xen_cons_notify(void);
/* Wait (bounded) until the console daemon has taken all output. */
void xen_cons_flush(void);

/* ---- xenstore.c: the xenstore client --------------------------------- */
void xen_xenstore_init(void); /* finds the ring; reserves its page */
/* The value at path (relative paths are under /local/domain/ID) as a
 * NUL-terminated copy from bmk_memalloc (len + 1 bytes) and its length in
 * *len; NULL when there is no such key, no xenstore, or it does not answer. */
char *xen_xenstore_read(const char *path, size_t *len);

#endif
