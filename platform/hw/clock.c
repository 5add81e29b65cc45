/*
 * Time: the TSC, calibrated at boot against PIT channel 0, is the
 * monotonic clock; the RTC read once at boot anchors wall time.  Idle waits
 * use PIT channel 0 in one-shot mode, so an idle machine takes no
 * interrupts it does not need; otherwise it ticks at 18.2 Hz, which app
 * code (run with interrupts on) takes, for the scheduler's watchdog.
 */
#include <bmk/core.h>
#include <hw/hw.h>

#define PIT_HZ 1193182ULL
#define CALIBRATION_MS 4

static uint64_t tsc_base;
static uint64_t ns_per_tick_32; /* nanoseconds per TSC tick, 32.32 fixed point */
static int64_t wall_base;

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
 * hw_clock_start sets it going first thing at boot and hw_clock_init
 * measures at the end, so the calibration overlaps the rest of the boot
 * instead of adding CALIBRATION_MS to it (it waits only for what is left).
 * A boot slower than the channel's 55 ms period (its OUT pin is high: the
 * count has wrapped) starts the measurement again.
 */
static uint64_t start_tsc;
static uint16_t start_count;

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

static void calibrate_tsc(void)
{
	uint16_t need = PIT_HZ * CALIBRATION_MS / 1000, elapsed;
	uint64_t t1, ns;

	for (;;) {
		elapsed = start_count - pit0_count();
		t1 = rdtsc();
		if (pit0_wrapped())
			hw_clock_start();
		else if (elapsed >= need)
			break;
	}
	ns = (uint64_t)elapsed * 1000000000ULL / PIT_HZ;
	ns_per_tick_32 = (ns << 32) / (t1 - start_tsc);
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

static int64_t rtc_read(void)
{
	uint8_t s, mi, h, d, mo, y, c, regb;
	int i;

	for (i = 0; i < 1000000 && (cmos(0x0a) & 0x80); i++)
		; /* wait out an update in progress */
	s = cmos(0x00);
	mi = cmos(0x02);
	h = cmos(0x04);
	d = cmos(0x07);
	mo = cmos(0x08);
	y = cmos(0x09);
	c = cmos(0x32);
	regb = cmos(0x0b);
	if (!(regb & 0x04)) {
#define BCD(x) (((x)&0x0f) + ((x) >> 4) * 10)
		s = BCD(s);
		mi = BCD(mi);
		d = BCD(d);
		mo = BCD(mo);
		y = BCD(y);
		c = BCD(c);
		h = BCD(h & 0x7f) | (h & 0x80);
#undef BCD
	}
	if (!(regb & 0x02) && (h & 0x80))
		h = ((h & 0x7f) + 12) % 24;
	if (c < 19 || c > 30)
		c = 20;
	return (days_from_civil(c * 100 + y, mo, d) * 86400 + h * 3600 + mi * 60 + s) *
	    1000000000LL;
}

/* PIT channel 0 as a rate generator at its slowest, 18.2 Hz. */
static void tick(void)
{
	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 */
	outb(0x40, 0);
	outb(0x40, 0);
}

void hw_clock_init(void)
{
	calibrate_tsc();
	tsc_base = rdtsc();
	wall_base = rtc_read();
	tick();
}

int64_t hw_clock_mono(void)
{
	uint64_t d = rdtsc() - tsc_base;

	return (int64_t)(((unsigned __int128)d * ns_per_tick_32) >> 32);
}

int64_t hw_clock_wall(void) { return wall_base + hw_clock_mono(); }

void hw_clock_idle(int64_t deadline)
{
	uint64_t ticks = 0xffff;

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
