/*
 * Pure CPU work, no system call in the loop: xorshift64 steps.  Its ratio
 * is QEMU TCG's own slowdown, the yardstick for the other ratios.
 */
#include <stdint.h>
#include "bench.h"

int main(int argc, char *argv[])
{
	long n = iterations(argc, argv, 20000000);
	volatile uint64_t sink;
	uint64_t x = 88172645463325252ULL;
	long long t0, t1;

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	t1 = now_ns();
	sink = x;
	(void)sink;
	result("cpu_xorshift", t1 - t0, n);
	return 0;
}
