/*
 * A 4 KiB file in a directory (argv[2], default /tmp): per iteration
 * open, write 4 KiB, lseek to 0, read it back, close ("file_4k_cycle");
 * then on one open descriptor pwrite + pread of 4 KiB ("file_4k_pwrite_pread").
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

#define SIZE 4096

static char out[SIZE], in[SIZE];

static int check(ssize_t got, const char *what)
{
	if (got != SIZE) {
		perror(what);
		return 1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	long n = iterations(argc, argv, 20000);
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char path[256];
	long long t0, t1;
	int fd;

	snprintf(path, sizeof(path), "%s/bench-file.%ld", dir, (long)getpid());
	for (int i = 0; i < SIZE; i++)
		out[i] = (char)(i * 7 + 1);

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		out[0] = (char)i;
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		if (check(write(fd, out, SIZE), "write"))
			return 1;
		if (lseek(fd, 0, SEEK_SET) != 0) {
			perror("lseek");
			return 1;
		}
		if (check(read(fd, in, SIZE), "read"))
			return 1;
		if (close(fd) != 0) {
			perror("close");
			return 1;
		}
	}
	t1 = now_ns();
	if (memcmp(in, out, SIZE)) {
		printf("read back different data\n");
		return 1;
	}
	result("file_4k_cycle", t1 - t0, n);

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		out[0] = (char)i;
		if (check(pwrite(fd, out, SIZE, 0), "pwrite"))
			return 1;
		if (check(pread(fd, in, SIZE, 0), "pread"))
			return 1;
	}
	t1 = now_ns();
	if (memcmp(in, out, SIZE)) {
		printf("read back different data\n");
		return 1;
	}
	close(fd);
	unlink(path);
	result("file_4k_pwrite_pread", t1 - t0, n);
	return 0;
}
