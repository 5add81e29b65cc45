/*
 * noop [MiB]: prints when it started (CLOCK_MONOTONIC, the guest's clock
 * since boot), optionally touches MiB of heap and runs a thread, and
 * exits.  Run many times in one --rc sequence, the distance between two
 * starts is the cost of a fresh run (benchmarks/rerun_bench.py).
 */
#include <pthread.h>
#include "bench.h"

static void *nothing(void *arg) { return arg; }

int main(int argc, char *argv[])
{
	long mib = argc > 1 ? atol(argv[1]) : 0;

	printf("START %lld\n", now_ns());
	if (mib > 0) {
		volatile char *heap = malloc(mib << 20);
		pthread_t t;
		long i;

		for (i = 0; i < mib << 20; i += 4096)
			heap[i] = 1; /* volatile: no compiler may skip it */
		pthread_create(&t, NULL, nothing, NULL);
		pthread_join(t, NULL);
	}
	return 0;
}
