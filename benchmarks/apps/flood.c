/* Console throughput, output side: write MIB mebibytes (default 16) to
 * stdout in CHUNK-byte writes (default 65536), then say on stderr how long
 * the writes took by the program's own clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t total = (argc > 1 ? strtoul(argv[1], NULL, 0) : 16) << 20;
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 0) : 65536;
	char *buf = malloc(chunk);
	size_t done = 0;
	double start;

	if (buf == NULL || chunk == 0)
		return 2;
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (char)('a' + i % 26);
	start = now();
	while (done < total) {
		size_t n = total - done < chunk ? total - done : chunk;
		ssize_t w = write(1, buf, n);

		if (w <= 0) {
			perror("flood: write");
			return 1;
		}
		done += (size_t)w;
	}
	fprintf(stderr, "FLOOD %zu bytes %.6f s\n", done, now() - start);
	return 0;
}
