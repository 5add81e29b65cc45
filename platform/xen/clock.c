/*
 * Time from Xen's PV time source: vCPU 0's time record in the shared info
 * gives Xen's system time (ns since Xen's boot) at a TSC stamp and the
 * TSC's rate; the monotonic clock is system time since our boot.  The wall
 * clock is the shared info's wall time at system time 0 plus system time.
 * Idle waits set the one-shot timer (VCPUOP_set_singleshot_timer), whose
 * virtual interrupt (VIRQ_TIMER) is a port the idle loop polls.
 */
#include <bmk/core.h>
#include <xen/xen.h>

#define VCPUOP_set_singleshot_timer 8

int xen_clock_ready;
static uint64_t boot_system_time;
static int64_t last_mono;
static uint32_t wc_version_seen = 1; /* odd: not read yet */
static int64_t wall_at_boot; /* the epoch's ns at mono 0 */
static uint32_t timer_port;

/* Xen's system time now, from vCPU 0's time record (read consistently:
 * the version is odd while Xen writes, and changes with every write). */
static uint64_t system_time(void)
{
	volatile struct xen_vcpu_time_info *t = &xen_shared->vcpu_info[0].time;
	uint32_t version;
	uint64_t stamp, base, delta;
	uint32_t mul;
	int8_t shift;

	do {
		version = t->version;
		__asm__ volatile("" ::: "memory");
		stamp = t->tsc_timestamp;
		base = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		delta = rdtsc() - stamp;
		__asm__ volatile("" ::: "memory");
	} while ((version & 1) || version != t->version);
	if (shift >= 0)
		delta <<= shift;
	else
		delta >>= -shift;
	return base + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

void xen_clock_init(void)
{
	volatile struct xen_vcpu_time_info *t = &xen_shared->vcpu_info[0].time;
	int i;

	/* Xen writes the record when it schedules the vCPU; give it a moment
	 * when the page is new. */
	for (i = 0; i < 1000 && t->tsc_to_system_mul == 0; i++)
		xen_hypercall(__HYPERVISOR_sched_op, 0 /* SCHEDOP_yield */, 0, 0, 0, 0);
	if (t->tsc_to_system_mul == 0) {
		bmk_printf("rumprun: Xen gives no time record in the shared info page\n");
		bmk_exit(1, 1);
	}
	boot_system_time = system_time();
	timer_port = xen_evtchn_bind_virq(VIRQ_TIMER);
	xen_clock_ready = 1;
}

int64_t xen_clock_mono(void)
{
	int64_t now = (int64_t)(system_time() - boot_system_time);

	/* Records taken at different moments may disagree by a little. */
	if (now < last_mono)
		return last_mono;
	return last_mono = now;
}

uint64_t xen_clock_system(int64_t mono) { return boot_system_time + (uint64_t)mono; }

/* Wall time is monotonic time plus the wall clock at boot, so the two
 * clocks agree with each other: Xen's system time as read on different
 * physical CPUs can disagree by milliseconds (seen under QEMU's TCG), and a
 * realtime deadline converted to monotonic time must not come early.  The
 * offset is read again when Xen changes its wall clock (dom0 sets it). */
int64_t xen_clock_wall(void)
{
	volatile struct xen_shared_info *s = xen_shared;
	uint32_t version;
	uint64_t sec, nsec;

	if (s->wc_version != wc_version_seen) {
		do {
			version = s->wc_version;
			__asm__ volatile("" ::: "memory");
			sec = s->wc_sec | (uint64_t)s->wc_sec_hi << 32;
			nsec = s->wc_nsec;
			__asm__ volatile("" ::: "memory");
		} while ((version & 1) || version != s->wc_version);
		wc_version_seen = version;
		wall_at_boot = (int64_t)(sec * 1000000000ULL + nsec + boot_system_time);
	}
	return wall_at_boot + xen_clock_mono();
}

struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns;
	uint32_t flags;
	uint32_t pad;
};

void xen_clock_idle(int64_t deadline, const uint32_t *ports, unsigned n)
{
	uint32_t all[34]; /* the timer and up to 32 frontends' ports */
	unsigned i;

	if (deadline >= 0) {
		struct vcpu_set_singleshot_timer timer = {
		    .timeout_abs_ns = xen_clock_system(deadline),
		};

		if (deadline <= xen_clock_mono())
			return;
		/* A deadline already past fires at once (no "future" flag). */
		xen_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0,
		    (unsigned long)&timer, 0, 0);
	}
	all[0] = timer_port;
	for (i = 0; i < n && i + 1 < ARRAY_LEN(all); i++)
		all[i + 1] = ports[i];
	xen_evtchn_poll(all, i + 1, 0);
	xen_evtchn_test_and_clear(timer_port);
}
