/*
 * Shared by the benchmark programs: a monotonic clock in nanoseconds, the
 * iteration count from argv[1], and the one line the runner parses:
 *
 *     RESULT <name> <ns_per_op> <iterations>
 *
 * The same source is built for the unikernel (rumprun-cc) and for Linux
 * (gcc), so it uses nothing but POSIX.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long iterations(int argc, char *argv[], long dflt)
{
	long n = argc > 1 ? atol(argv[1]) : dflt;

	return n > 0 ? n : dflt;
}

static inline void result(const char *name, long long ns, long n)
{
	printf("RESULT %s %.1f %ld\n", name, (double)ns / n, n);
	fflush(stdout);
}

#endif
