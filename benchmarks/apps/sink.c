/* Console throughput, input side: read stdin to its end, then say on
 * stderr how many bytes came and how long that took by the program's own
 * clock, from the first byte to end of file. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void)
{
	static char buf[65536];
	size_t total = 0;
	double first = 0;
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (total == 0)
			first = now();
		total += (size_t)n;
	}
	if (n < 0) {
		perror("sink: read");
		return 1;
	}
	fprintf(stderr, "SINK %zu bytes %.6f s\n", total, total ? now() - first : 0.0);
	return 0;
}
