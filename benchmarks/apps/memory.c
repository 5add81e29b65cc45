/*
 * Anonymous memory: map 1 MiB, touch each page, unmap it, over and over:
 * RESULT mmap_touch_munmap is the cost per 4 KiB page (page-by-page
 * mapping in the unikernel, page faults on Linux).
 */
#include <sys/mman.h>
#include "bench.h"

#define LEN (1 << 20)
#define PAGE 4096

int main(int argc, char *argv[])
{
	long n = iterations(argc, argv, 2000), i, j;
	long long t0 = now_ns();

	for (i = 0; i < n; i++) {
		char *p =
		    mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (j = 0; j < LEN; j += PAGE)
			p[j] = 1;
		munmap(p, LEN);
	}
	result("mmap_touch_munmap", now_ns() - t0, n * (LEN / PAGE));
	return 0;
}
