/*
 * Time: the TSC, calibrated against PIT channel 0, is the monotonic clock
 * (nanoseconds since boot); the RTC, read once, anchors wall time.
 * Idle waits use PIT channel 0 in one-shot mode, so an idle machine takes
 * no interrupts it does not need; otherwise it ticks at 18.2 Hz, which app
 * code (run with interrupts on) takes, for the scheduler's watchdog.
 */
#include <bmk/core.h>
#include <hw/hw.h>

#define PIT_HZ 1193182ULL
#define CALIBRATION_MS 4

static uint64_t ns_per_tick_32; /* nanoseconds per TSC tick, 32.32 fixed point */
static int64_t wall_base;
static int wall_known;

/* PIT channel 0's current count (latched, so both bytes belong together). */
static uint16_t pit0_count(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	return lo | (uint16_t)hi << 8;
}

/*
 * The TSC is calibrated against PIT channel 0 counting down from its
 * maximum in mode 0 (channel 0 rather than the speaker's channel 2:
 * machines without the PC's port 0x61, QEMU's microvm, still have it).
 * hw_clock_start sets it going first thing at boot, and the calibration
 * ends at the first reading of the clock CALIBRATION_MS or more later:
 * until then the clock is the PIT's count itself.  So a boot waits for
 * the calibration only when it needs an idle wait sooner (the PIT then
 * changes roles), and otherwise never: under QEMU's TCG the boot used to
 * spin here for up to 4 ms of CPU time.  A clock not read for the
 * channel's 55 ms period (its OUT pin is high: the count has wrapped)
 * starts the measurement again, the time going on from its last reading.
 */
static uint64_t start_tsc;
static uint16_t start_count;
static int64_t start_ns; /* the monotonic time at start_tsc */
static int64_t last_ns; /* the last reading before calibration */
static int calibrated;

void hw_clock_start(void)
{
	outb(0x43, 0x30); /* channel 0, lo/hi, mode 0 */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	while ((start_count = pit0_count()) == 0xffff || start_count == 0)
		; /* the count has been loaded */
	start_tsc = rdtsc();
}

/* Whether channel 0's count has reached 0 since hw_clock_start (read-back
 * command: channel 0's status, whose bit 7 is the OUT pin). */
static int pit0_wrapped(void)
{
	outb(0x43, 0xe2);
	return inb(0x40) & 0x80;
}

static void tick(void);

/* The monotonic time before calibration, from the PIT; calibrates when
 * CALIBRATION_MS have passed, and waits for that when wait is set. */
static int64_t pit_time(int wait)
{
	uint16_t need = PIT_HZ * CALIBRATION_MS / 1000, elapsed;
	uint64_t t1, ns;

	for (;;) {
		elapsed = start_count - pit0_count();
		t1 = rdtsc();
		if (pit0_wrapped()) {
			start_ns = last_ns;
			hw_clock_start();
			if (!wait)
				return last_ns;
			continue;
		}
		ns = (uint64_t)elapsed * 1000000000ULL / PIT_HZ;
		if (elapsed >= need) {
			/* From here the TSC: at t1 it says what the PIT said. */
			ns_per_tick_32 = (ns << 32) / (t1 - start_tsc);
			calibrated = 1;
			tick();
			return start_ns + (int64_t)ns;
		}
		if (!wait)
			return last_ns = start_ns + (int64_t)ns;
	}
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static int64_t days_from_civil(int y, int m, int d)
{
	/* Days since 1970-01-01 in the proleptic Gregorian calendar. */
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

/* The RTC's seconds, minutes, hours, day, month, year and century. */
static const uint8_t rtc_regs[] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
enum { RTC_S, RTC_MI, RTC_H, RTC_D, RTC_MO, RTC_Y, RTC_C, RTC_N };

static int64_t rtc_read(void)
{
	uint8_t v[RTC_N], regb, pm;
	int i;

	for (i = 0; i < 1000000 && (cmos(0x0a) & 0x80); i++)
		; /* wait out an update in progress */
		/* Loops, not unrolled: this runs once, and under QEMU's TCG short
	 * code is what makes a boot fast. */
#pragma GCC unroll 1
	for (i = 0; i < RTC_N; i++)
		v[i] = cmos(rtc_regs[i]);
	regb = cmos(0x0b);
	pm = v[RTC_H] & 0x80;
	v[RTC_H] &= 0x7f;
	if (!(regb & 0x04)) {
#pragma GCC unroll 1
		for (i = 0; i < RTC_N; i++)
			v[i] = (v[i] & 0x0f) + (v[i] >> 4) * 10; /* BCD */
	}
	if (!(regb & 0x02)) /* 12-hour clock: 12 AM is 0, 12 PM is 12 */
		v[RTC_H] = v[RTC_H] % 12 + (pm ? 12 : 0);
	if (v[RTC_C] < 19 || v[RTC_C] > 30)
		v[RTC_C] = 20;
	return (days_from_civil(v[RTC_C] * 100 + v[RTC_Y], v[RTC_MO], v[RTC_D]) * 86400 +
	           v[RTC_H] * 3600 + v[RTC_MI] * 60 + v[RTC_S]) *
	    1000000000LL;
}

/* PIT channel 0 as a rate generator at its slowest, 18.2 Hz. */
static void tick(void)
{
	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 */
	outb(0x40, 0);
	outb(0x40, 0);
}

int64_t hw_clock_mono(void)
{
	uint64_t d;

	if (!calibrated)
		return pit_time(0);
	d = rdtsc() - start_tsc;
	return start_ns + (int64_t)(((unsigned __int128)d * ns_per_tick_32) >> 32);
}

/* The RTC is read at the first need of wall time, not at boot (a program
 * that never asks never runs that code). */
int64_t hw_clock_wall(void)
{
	if (!wall_known) {
		int64_t rtc = rtc_read();

		wall_base = rtc - hw_clock_mono();
		wall_known = 1;
	}
	return wall_base + hw_clock_mono();
}

void hw_clock_idle(int64_t deadline)
{
	uint64_t ticks = 0xffff;

	if (!calibrated)
		pit_time(1); /* channel 0 is needed here */

	if (deadline >= 0) {
		int64_t ns = deadline - hw_clock_mono();

		if (ns <= 0)
			return;
		if ((uint64_t)ns < 0xffff * 1000000000ULL / PIT_HZ)
			ticks = (uint64_t)ns * PIT_HZ / 1000000000ULL + 1;
	}
	outb(0x43, 0x30); /* channel 0, lo/hi, mode 0: one interrupt */
	outb(0x40, ticks & 0xff);
	outb(0x40, ticks >> 8);
	/* sti takes effect after hlt starts, so a pending interrupt wakes us */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	tick();
}
