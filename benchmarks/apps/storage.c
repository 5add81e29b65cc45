/*
 * Disk throughput on a mounted volume (argv[2], e.g. /data), one phase
 * per boot so every phase starts with a cold cache:
 *   write   48 MiB to DIR/bench.bin in 1 MiB writes, then fsync
 *   read    DIR/bench.bin start to end in 1 MiB reads
 *   random  4 KiB reads at 4 KiB-aligned places spread over the file
 * Each prints "RESULT name value unit" (MB/s, or reads/s) measured with
 * CLOCK_MONOTONIC around its own loop, and checks what it read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_MB 48
#define CHUNK (1 << 20)
#define RANDOM_READS 4000

static char buf[CHUNK];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(long chunk)
{
	for (long i = 0; i < CHUNK; i += 8)
		*(long *)(buf + i) = chunk * CHUNK + i;
}

static int fail(const char *what)
{
	perror(what);
	printf("FAILED %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		printf("usage: storage write|read|random DIR\n");
		return 2;
	}
	char path[256];
	snprintf(path, sizeof(path), "%s/bench.bin", argv[2]);
	if (!strcmp(argv[1], "write")) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return fail("open");
		double t0 = now();
		for (long c = 0; c < FILE_MB; c++) {
			fill(c);
			if (write(fd, buf, CHUNK) != CHUNK)
				return fail("write");
		}
		if (fsync(fd) != 0)
			return fail("fsync");
		double t = now() - t0;
		close(fd);
		printf("RESULT seq_write_fsync %.1f MB/s\n", FILE_MB / t);
	} else if (!strcmp(argv[1], "read")) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return fail("open");
		double t0 = now();
		for (long c = 0; c < FILE_MB; c++) {
			if (read(fd, buf, CHUNK) != CHUNK)
				return fail("read");
			if (*(long *)(buf + 4096) != c * CHUNK + 4096)
				return fail("contents");
		}
		double t = now() - t0;
		printf("RESULT seq_read %.1f MB/s\n", FILE_MB / t);
	} else if (!strcmp(argv[1], "random")) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return fail("open");
		unsigned long x = 12345;
		long blocks = (long)FILE_MB * CHUNK / 4096;
		double t0 = now();
		for (int i = 0; i < RANDOM_READS; i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			long b = (long)((x >> 33) % blocks);
			if (pread(fd, buf, 4096, b * 4096) != 4096)
				return fail("pread");
			if (*(long *)buf != b * 4096)
				return fail("contents");
		}
		double t = now() - t0;
		printf("RESULT random_4k_read %.0f reads/s\n", RANDOM_READS / t);
	}
	return 0;
}
