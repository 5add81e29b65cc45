/*
 * The main thread's stack: 8 MiB by default (RLIMIT_STACK says the real
 * size), committed as it is touched; a frame larger than what is left
 * faults with the stack-overflow report (rumprun-cc compiles with
 * -fstack-clash-protection, so no frame jumps the guard).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "../apptest.h"

#define MiB (1024UL * 1024)

static void limit(int argc, char **argv)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0, "getrlimit");
	printf("stack limit %lu KiB\n", (unsigned long)rl.rlim_cur / 1024);
}

static int __attribute__((noinline)) down(int n)
{
	volatile char frame[1000];

	frame[0] = (char)n;
	return n == 0 ? 0 : down(n - 1) + (frame[0] == (char)n);
}

/* `deep N`: N frames of about a KiB. */
static void deep(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 6000;

	CHECK(down(n) == n, "recursion");
	printf("ok deep: %d frames\n", n);
}

/* `array N`: an N MiB array on the stack, every byte written. */
static void __attribute__((noinline)) array(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 4) * MiB;
	volatile char a[len];

	memset((char *)a, 1, len);
	CHECK(a[0] == 1 && a[len - 1] == 1, "array");
	printf("ok array: %lu MiB on the stack\n", (unsigned long)(len / MiB));
}

/* `raise N M`: RLIMIT_STACK's soft limit raised to N MiB ("unlimited":
 * no limit; there is no hard limit, as on Linux), then an M MiB array on
 * the grown stack. */
static void raise_limit(int argc, char **argv)
{
	struct rlimit rl;
	const char *n = argc > 1 ? argv[1] : "72";
	rlim_t want = strcmp(n, "unlimited") ? strtoul(n, NULL, 0) * MiB : RLIM_INFINITY;
	char *array_args[] = {"array", argc > 2 ? argv[2] : "64", NULL};

	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_max == RLIM_INFINITY,
	    "no hard limit: %lu", (unsigned long)rl.rlim_max);
	rl.rlim_cur = want;
	CHECK(setrlimit(RLIMIT_STACK, &rl) == 0, "setrlimit: errno %d", errno);
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur == want, "limit now %lu KiB",
	    (unsigned long)rl.rlim_cur / 1024);
	rl.rlim_max = MiB;
	CHECK(setrlimit(RLIMIT_STACK, &rl) == -1 && errno == EINVAL, "soft above hard");
	array(2, array_args);
	printf("ok raise: RLIMIT_STACK %s\n", n);
}

static void __attribute__((noinline)) use(volatile char *p) { p[0] = 1; }

/* A 64 MiB frame: far larger than the default stack. */
static void __attribute__((noinline)) huge_frame(int argc, char **argv)
{
	volatile char a[64 * MiB];

	use(a);
	printf("FAIL no fault\n");
}

CASES(stack) = {{"limit", limit}, {"deep", deep}, {"array", array}, {"raise", raise_limit},
    {"huge_frame", huge_frame}, END_CASES};
