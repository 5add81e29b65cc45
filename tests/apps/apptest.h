/*
 * The guest test apps' harness (tests/apps/): checks that count failures,
 * and programs made of named cases.
 *
 * CHECK(cond, fmt, ...) prints "FAIL file:line: cond: <fmt> (errno N: ...)"
 * when cond is false and counts it; CHECK_SAY(cond, fmt, ...) also prints
 * "ok <fmt>" when it holds, for tests that read what was seen.  One file of
 * the program defines `int failures;`.
 *
 * A program of cases (run_cases) runs the case argv[1] and prints
 * "PROG CASE: N failures", exiting 1 when N > 0.
 */
#ifndef APPTEST_H
#define APPTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

extern int failures;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			int e_ = errno; \
			failures++; \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__); \
			printf(" (errno %d: %s)\n", e_, strerror(e_)); \
		} \
	} while (0)

#define CHECK_SAY(cond, ...) \
	do { \
		int ok_ = !!(cond), e_ = errno; \
		if (ok_) { \
			printf("ok "); \
		} else { \
			failures++; \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		} \
		printf(__VA_ARGS__); \
		if (!ok_) \
			printf(" (errno %d: %s)", e_, strerror(e_)); \
		printf("\n"); \
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
#define END_CASES \
	{ \
		0, 0 \
	}

/* main's work: run the case argv[1] of one of the groups; prog names the
 * program in what it prints. */
static inline int run_cases(const char *prog, const struct runtime_case *const *groups,
    size_t ngroups, int argc, char **argv)
{
	const struct runtime_case *c;
	size_t g;

	/* Unbuffered, so what a case printed survives a crash. */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		printf("usage: %s CASE [ARGS...]\n", prog);
		return 2;
	}
	for (g = 0; g < ngroups; g++)
		for (c = groups[g]; c->name; c++)
			if (!strcmp(c->name, argv[1])) {
				c->run(argc - 1, argv + 1);
				printf("%s %s: %d failures\n", prog, argv[1], failures);
				return failures ? 1 : 0;
			}
	printf("%s: no case %s\n", prog, argv[1]);
	return 2;
}

#endif /* APPTEST_H */
