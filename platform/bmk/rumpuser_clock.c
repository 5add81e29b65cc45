/* rumpuser clocks: the machine's monotonic and wall clocks, sleeping through the scheduler. */
#include <bmk/core.h>
#include <errno.h>
#include "rumpuser_impl.h"

int rumpuser_clock_gettime(int clock, rumpuser_int64_t *sec, long *nsec)
{
	int64_t ns;

	switch (clock) {
	case RUMPUSER_CLOCK_RELWALL:
		ns = bmk_platform_clock_wall();
		break;
	case RUMPUSER_CLOCK_ABSMONO:
		ns = bmk_platform_clock_mono();
		break;
	default:
		return EINVAL;
	}
	*sec = ns / 1000000000LL;
	*nsec = ns % 1000000000LL;
	return 0;
}

int rumpuser_clock_sleep(int clock, rumpuser_int64_t sec, long nsec)
{
	int64_t deadline = sec * 1000000000LL + nsec;

	switch (clock) {
	case RUMPUSER_CLOCK_RELWALL:
		deadline += bmk_platform_clock_mono();
		break;
	case RUMPUSER_CLOCK_ABSMONO:
		break;
	default:
		return EINVAL;
	}
	bmk_unschedule();
	while (bmk_platform_clock_mono() < deadline)
		bmk_sched_block(deadline);
	bmk_schedule();
	return 0;
}
