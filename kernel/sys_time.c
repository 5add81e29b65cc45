/* Clocks and sleeping: monotonic time from the platform, wall time anchored at boot. */
#include <kernel/kernel.h>
#include <kernel/syscall.h>
#include <time.h>
#include <sys/time.h>

#define NSEC 1000000000LL

static int64_t clock_ns(long clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		return time_wall_ns();
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return time_mono_ns();
	default:
		return -1;
	}
}

static long sys_clock_gettime(SYSARGS)
{
	long clk = a0, tsp = a1;
	struct timespec *ts = (struct timespec *)tsp;
	int64_t ns = clock_ns(clk);

	if (ns < 0)
		return -EINVAL;
	ts->tv_sec = ns / NSEC;
	ts->tv_nsec = ns % NSEC;
	return 0;
}
SYSCALL_REGISTER(
    SYS_clock_gettime, sys_clock_gettime, PARTIAL, "CPU-time clocks read the monotonic clock");

static long sys_clock_getres(SYSARGS)
{
	long clk = a0, tsp = a1;
	struct timespec *ts = (struct timespec *)tsp;

	if (clock_ns(clk) < 0)
		return -EINVAL;
	if (ts) {
		ts->tv_sec = 0;
		ts->tv_nsec = 1;
	}
	return 0;
}
SYSCALL_REGISTER(SYS_clock_getres, sys_clock_getres, FULL, "");

static long sys_gettimeofday(SYSARGS)
{
	long tvp = a0, tzp = a1;
	struct timeval *tv = (struct timeval *)tvp;
	int64_t ns = time_wall_ns();

	if (tv) {
		tv->tv_sec = ns / NSEC;
		tv->tv_usec = (ns % NSEC) / 1000;
	}
	if (tzp)
		memset((void *)tzp, 0, 2 * sizeof(int));
	return 0;
}
SYSCALL_REGISTER(SYS_gettimeofday, sys_gettimeofday, FULL, "");

static long sys_time(SYSARGS)
{
	long tp = a0;
	long t = time_wall_ns() / NSEC;

	if (tp)
		*(long *)tp = t;
	return t;
}
SYSCALL_REGISTER(SYS_time, sys_time, FULL, "");

static int valid_timespec(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NSEC;
}

/* Sleep until the monotonic deadline; other threads run meanwhile. */
static void sleep_until(int64_t deadline)
{
	rumpuser_clock_sleep(RUMPUSER_CLOCK_ABSMONO, deadline / NSEC, deadline % NSEC);
}

static long sys_nanosleep(SYSARGS)
{
	long reqp = a0, remp = a1;
	const struct timespec *req = (const struct timespec *)reqp;

	if (!valid_timespec(req))
		return -EINVAL;
	sleep_until(time_mono_ns() + req->tv_sec * NSEC + req->tv_nsec);
	if (remp)
		memset((void *)remp, 0, sizeof(struct timespec));
	return 0;
}
SYSCALL_REGISTER(
    SYS_nanosleep, sys_nanosleep, FULL, "never interrupted (no signal delivery): rem is zero");

static long sys_clock_nanosleep(SYSARGS)
{
	long clk = a0, flags = a1, reqp = a2, remp = a3;
	const struct timespec *req = (const struct timespec *)reqp;
	int64_t ns, now = clock_ns(clk), mono = time_mono_ns();

	if (now < 0 || clk == CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (!valid_timespec(req))
		return -EINVAL;
	ns = req->tv_sec * NSEC + req->tv_nsec;
	if (flags & TIMER_ABSTIME)
		ns -= now; /* time left on that clock */
	if (ns > 0)
		sleep_until(mono + ns);
	if (remp && !(flags & TIMER_ABSTIME))
		memset((void *)remp, 0, sizeof(struct timespec));
	return 0;
}
SYSCALL_REGISTER(
    SYS_clock_nanosleep, sys_clock_nanosleep, FULL, "never interrupted (no signal delivery)");
