/* Clocks: the host's CLOCK_REALTIME and CLOCK_MONOTONIC. */
#include <errno.h>
#include <time.h>
#include "posix.h"

int rumpuser_clock_gettime(int clock, rumpuser_int64_t *sec, long *nsec)
{
	struct timespec ts;
	clockid_t id;
	switch (clock) {
	case RUMPUSER_CLOCK_RELWALL:
		id = CLOCK_REALTIME;
		break;
	case RUMPUSER_CLOCK_ABSMONO:
		id = CLOCK_MONOTONIC;
		break;
	default:
		return EINVAL;
	}
	clock_gettime(id, &ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
	return 0;
}

int rumpuser_clock_sleep(int clock, rumpuser_int64_t sec, long nsec)
{
	struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};
	int flags;
	if (clock == RUMPUSER_CLOCK_RELWALL)
		flags = 0;
	else if (clock == RUMPUSER_CLOCK_ABSMONO)
		flags = TIMER_ABSTIME;
	else
		return EINVAL;
	posix_unschedule();
	while (clock_nanosleep(CLOCK_MONOTONIC, flags, &ts, flags ? NULL : &ts) == EINTR)
		;
	posix_schedule();
	return 0;
}
