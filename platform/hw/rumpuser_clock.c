/* rumpuser clocks: TSC monotonic time, RTC-anchored wall time, sleeping through the scheduler. */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpuser.h"

int rumpuser_clock_gettime(int clock, rumpuser_int64_t *sec, long *nsec)
{
	int64_t ns;

	switch (clock) {
	case RUMPUSER_CLOCK_RELWALL: ns = hw_clock_wall(); break;
	case RUMPUSER_CLOCK_ABSMONO: ns = hw_clock_mono(); break;
	default: return EINVAL;
	}
	*sec = ns / 1000000000LL;
	*nsec = ns % 1000000000LL;
	return 0;
}

int rumpuser_clock_sleep(int clock, rumpuser_int64_t sec, long nsec)
{
	int64_t deadline = sec * 1000000000LL + nsec;

	switch (clock) {
	case RUMPUSER_CLOCK_RELWALL: deadline += hw_clock_mono(); break;
	case RUMPUSER_CLOCK_ABSMONO: break;
	default: return EINVAL;
	}
	while (hw_clock_mono() < deadline)
		bmk_sched_block(deadline);
	return 0;
}
