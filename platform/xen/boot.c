/*
 * x86_boot: from x86_64/boot.S after Xen's PVH entry (x86_64/pvh.S), in
 * long mode on the boot stack.  Finds Xen (the hypercall page), the
 * console and xenstore rings (their pages kept from the page allocator),
 * then memory, the shared info, time, and the configuration: xenstore's
 * rumprun/cfg (what `rumprun xen` writes) over the PVH command line's.
 * Also the machine's bmk hooks and its end.
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <x86_64/pvh.h>
#include "rumpuser.h"

#define SCHEDOP_shutdown 2
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3

static void early_puts(const char *s)
{
	while (*s)
		outb(0xe9, (uint8_t)*s++);
}

void x86_boot(uint32_t magic, uint32_t info)
{
	char *config;
	size_t len;

	if (xen_hypercall_init()) {
		early_puts("rumprun: this image runs on Xen (rumprun xen), and this "
		           "machine is not Xen: bake it with hw_generic for other machines\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	xen_cons_init();
	xen_xenstore_init();
	x86_cpu_init();
	if (magic != PVH_START_MAGIC) {
		bmk_printf("rumprun: started by an unknown boot protocol (magic %x); "
		           "Xen starts this image as a PVH guest (type=\"pvh\")\n",
		    magic);
		bmk_exit(1, 1);
	}
	x86_pvh_init(info);
	x86_mmu_init();
	xen_events_init();
	xen_clock_init();
	xen_gnttab_init();
	if ((config = xen_xenstore_read("rumprun/cfg", &len)) != NULL) {
		x86_boot_config(config, len);
		bmk_memfree(config, len + 1);
	}
	x86_random_init();
	bmk_start_kernel();
}

/* ---- the bmk core's machine hooks ------------------------------------ */

int64_t bmk_platform_clock_mono(void) { return xen_clock_mono(); }

int64_t bmk_platform_clock_wall(void) { return xen_clock_wall(); }

void bmk_platform_idle(int64_t deadline)
{
	const uint32_t *ports;
	unsigned n;

	ports = xen_events_ports(&n);
	xen_cons_notify();
	xen_clock_idle(deadline, ports, n);
}

void bmk_platform_stack_guard(void *page, int guard)
{
	rumpuser_ext_protect(page, BMK_PAGE_SIZE, guard ? 0 : RUMPUSER_PROT_DEFAULT);
}

/* Events are polled, never delivered as interrupts: "letting them in" is
 * looking at the frontends' ports. */
void bmk_platform_intr_window(void) { xen_events_check(); }

void bmk_platform_putc(int c) { xen_cons_putc(c); }

/* No interrupt source is ever set up (events are polled): one arriving is
 * a stray, said once per vector. */
void x86_intr(struct trapframe *tf)
{
	static uint64_t said;

	if (tf->vector < 64 && !(said & (1ULL << tf->vector))) {
		said |= 1ULL << tf->vector;
		bmk_printf("rumprun: stray interrupt, vector %lu\n", (unsigned long)tf->vector);
	}
}

/* The status line is on the console: let the daemon take it, then end.
 * Xen tells dom0's tools a crash from a power-off (xl's on_crash). */
void bmk_platform_exit(int status, int crash)
{
	unsigned int reason = crash ? SHUTDOWN_crash : SHUTDOWN_poweroff;

	xen_cons_flush();
	for (;;) {
		xen_hypercall(
		    __HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&reason, 0, 0, 0);
		__asm__ volatile("cli; hlt");
	}
}
