/* Clocks and sleeping. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/time.h>
#include <unistd.h>
#include "../apptest.h"

static void realtime(int argc, char **argv)
{
	struct timespec ts, res;
	struct timeval tv;
	time_t t;

	CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0, "clock_gettime");
	CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday");
	t = time(NULL);
	printf("realtime %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	printf("gettimeofday %lld.%06ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
	CHECK(tv.tv_sec - ts.tv_sec <= 1 && tv.tv_sec >= ts.tv_sec,
	    "gettimeofday %lld vs clock_gettime %lld", (long long)tv.tv_sec, (long long)ts.tv_sec);
	CHECK(t - ts.tv_sec <= 1 && t >= ts.tv_sec, "time() %lld", (long long)t);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "nsec %ld", ts.tv_nsec);
	CHECK(clock_getres(CLOCK_REALTIME, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
	    "clock_getres %lld.%09ld", (long long)res.tv_sec, res.tv_nsec);
}

static void monotonic(int argc, char **argv)
{
	int64_t prev = now_ns(), t, start = prev;
	int i, backwards = 0, same = 0;
	struct timespec ten_ms = {0, 10000000}, res;

	for (i = 0; i < 10000; i++) {
		t = now_ns();
		backwards += t < prev;
		same += t == prev;
		prev = t;
	}
	CHECK(backwards == 0, "went backwards %d times", backwards);
	CHECK(same < 10000, "never moved in 10000 reads");
	nanosleep(&ten_ms, NULL);
	t = now_ns();
	CHECK(t - prev >= 10000000, "advanced %lld ns over a 10 ms sleep", (long long)(t - prev));
	CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0,
	    "clock_getres %lld.%09ld", (long long)res.tv_sec, res.tv_nsec);
	printf("ok monotonic: 10000 reads in %lld us, %d equal, never backwards\n",
	    (long long)(prev - start) / 1000, same);
}

/* Ten 10 ms sleeps each way; print the lateness of each (negative is early). */
static void sleeps(int argc, char **argv)
{
	static const char *how[] = {
	    "nanosleep", "clock_nanosleep", "clock_nanosleep_abstime", "usleep"};
	int k, i;

	for (k = 0; k < 4; k++) {
		long min = 1L << 40, max = -(1L << 40), late;

		for (i = 0; i < 10; i++) {
			struct timespec rel = {0, 10000000}, abs;
			int64_t t0 = now_ns(), target = t0 + 10000000;
			int r = 0;

			switch (k) {
			case 0:
				r = nanosleep(&rel, NULL);
				break;
			case 1:
				r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
				break;
			case 2:
				abs.tv_sec = target / 1000000000;
				abs.tv_nsec = target % 1000000000;
				r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
				break;
			case 3:
				r = usleep(10000);
				break;
			}
			late = (long)((now_ns() - target) / 1000);
			CHECK(r == 0, "%s returned %d", how[k], r);
			if (late < min)
				min = late;
			if (late > max)
				max = late;
		}
		printf("sleep %s 10 ms: late by min %ld us max %ld us\n", how[k], min, max);
	}
	{
		/* An absolute CLOCK_REALTIME deadline too. */
		struct timespec abs = deadline_ms(10);
		int64_t t0 = now_ns();
		int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL);
		printf("sleep clock_nanosleep_realtime_abstime 10 ms: slept %ld us (%d)\n",
		    (long)((now_ns() - t0) / 1000), r);
	}
}

CASES(clock) = {{"realtime", realtime}, {"monotonic", monotonic}, {"sleeps", sleeps}, END_CASES};
