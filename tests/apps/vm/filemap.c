/*
 * File mappings: MAP_PRIVATE (read, copy-on-write) and MAP_SHARED
 * (read/write, msync, munmap) of files in /tmp, the way SQLite's WAL mode
 * maps its -shm file; the same source runs natively for comparison.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../apptest.h"

#define PAGE 4096

/* A file of len bytes, byte i being i % 251. */
static int make_file(const char *path, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	size_t i;
	char c;

	CHECK(fd >= 0, "open %s: errno %d", path, errno);
	for (i = 0; i < len; i++) {
		c = (char)(i % 251);
		if (write(fd, &c, 1) != 1)
			break;
	}
	return fd;
}

static void private_(int argc, char **argv)
{
	size_t len = 3 * PAGE + 100, i, bad = 0;
	int fd = make_file("/tmp/private", len);
	char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0), *q, c;

	CHECK(p != MAP_FAILED, "mmap MAP_PRIVATE PROT_READ: errno %d", errno);
	if (p == MAP_FAILED)
		return;
	for (i = 0; i < len; i++)
		bad += p[i] != (char)(i % 251);
	CHECK(bad == 0, "%zu bytes differ from the file", bad);
	CHECK(p[len] == 0 && p[4 * PAGE - 1] == 0, "past the end of the file: zeros");
	q = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
	CHECK(q != MAP_FAILED && q[0] == (char)(PAGE % 251), "at offset 4096: errno %d", errno);
	if (q != MAP_FAILED) {
		q[0] = 'X'; /* copy on write: the file keeps its byte */
		CHECK(pread(fd, &c, 1, PAGE) == 1 && c == (char)(PAGE % 251),
		    "the file is unchanged by a private write");
		munmap(q, 2 * PAGE);
	}
	munmap(p, len);
	close(fd);
	unlink("/tmp/private");
	printf("ok private: the file's bytes, zeros past its end, private writes stay private\n");
}

static void shared(int argc, char **argv)
{
	int fd = make_file("/tmp/shared", 2 * PAGE);
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), *q, buf[8];

	CHECK(p != MAP_FAILED, "mmap MAP_SHARED: errno %d", errno);
	if (p == MAP_FAILED)
		return;
	memcpy(p + 10, "mapped", 6);
	CHECK(pread(fd, buf, 6, 10) == 6 && !memcmp(buf, "mapped", 6),
	    "a store through the mapping is in the file");
	CHECK(pwrite(fd, "written", 7, PAGE + 5) == 7 && !memcmp(p + PAGE + 5, "written", 7),
	    "a write to the file shows in the mapping");
	q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
	CHECK(q != MAP_FAILED, "a second mapping");
	if (q != MAP_FAILED) {
		q[100] = 'Q';
		CHECK(p[PAGE + 100] == 'Q', "two mappings share the page");
		munmap(q, PAGE);
	}
	CHECK(msync(p, 2 * PAGE, MS_SYNC) == 0, "msync: errno %d", errno);
	CHECK(munmap(p, 2 * PAGE) == 0, "munmap");
	close(fd);
	fd = open("/tmp/shared", O_RDONLY);
	CHECK(pread(fd, buf, 6, 10) == 6 && !memcmp(buf, "mapped", 6), "kept after munmap");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EACCES, "shared writable map of a read-only file: %d",
	    errno);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED && !memcmp(p + 10, "mapped", 6), "shared read-only map");
	CHECK(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	    "mprotect writable: errno %d", errno);
	close(fd);
	unlink("/tmp/shared");
	printf("ok shared: stores reach the file, writes reach the mapping, msync, munmap\n");
}

/* SQLite's wal-index: the -shm file grown 32 KiB region at a time by writing
 * its last byte, each region mapped MAP_SHARED by every connection. */
static void wal_index(int argc, char **argv)
{
	enum { REGION = 32768, REGIONS = 4 };
	int a = open("/tmp/db-shm", O_CREAT | O_TRUNC | O_RDWR, 0644);
	int b = open("/tmp/db-shm", O_RDWR);
	unsigned *ra[REGIONS], *rb[REGIONS];
	int i, same = 0;

	for (i = 0; i < REGIONS; i++) {
		CHECK(pwrite(a, "", 1, (off_t)(i + 1) * REGION - 1) == 1, "grow");
		ra[i] =
		    mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, a, (off_t)i * REGION);
		rb[i] =
		    mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, b, (off_t)i * REGION);
		CHECK(ra[i] != MAP_FAILED && rb[i] != MAP_FAILED, "region %d: errno %d", i, errno);
		if (ra[i] == MAP_FAILED || rb[i] == MAP_FAILED)
			return;
	}
	for (i = 0; i < REGIONS; i++)
		ra[i][i * 100] = 0xc0ffee00 + i;
	for (i = 0; i < REGIONS; i++)
		same += rb[i][i * 100] == 0xc0ffee00 + (unsigned)i;
	CHECK(same == REGIONS, "%d of %d regions shared between connections", same, REGIONS);
	for (i = 0; i < REGIONS; i++) {
		munmap(ra[i], REGION);
		munmap(rb[i], REGION);
	}
	CHECK(ftruncate(a, 0) == 0, "truncate");
	close(a);
	close(b);
	unlink("/tmp/db-shm");
	printf("ok wal-index: %d regions shared by two connections\n", REGIONS);
}

/* /dev/zero cannot share pages: MAP_SHARED is refused (with a notice, once). */
static void devzero(int argc, char **argv)
{
	int fd = open("/dev/zero", O_RDWR);
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	CHECK(p != MAP_FAILED && p[0] == 0, "MAP_PRIVATE of /dev/zero: errno %d", errno);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("MAP_SHARED of /dev/zero: %s\n", p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("again: %s\n", p == MAP_FAILED ? strerror(errno) : "mapped");
}

CASES(filemap) = {{"private", private_}, {"shared", shared}, {"wal_index", wal_index},
    {"devzero", devzero}, END_CASES};
