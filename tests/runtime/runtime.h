/*
 * The runtime test program's little framework: each case is a function
 * run as `runtime CASE`; CHECK prints "FAIL file:line: what" and counts,
 * main prints "runtime CASE: N failures" and exits 1 when N > 0.
 */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdio.h>
#include <stdint.h>
#include <time.h>

extern int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		failures++;						\
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An absolute CLOCK_REALTIME deadline MS milliseconds from now. */
static inline struct timespec deadline_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

struct runtime_case {
	const char *name;
	void (*run)(int argc, char **argv);
};

#define CASES(group) const struct runtime_case group##_cases[]
#define END_CASES { 0, 0 }

#endif
