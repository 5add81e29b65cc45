/*
 * Anonymous memory page by page: big mappings in little memory, after
 * thread churn, MAP_FIXED, mremap, madvise, munmap and brk giving memory
 * back, fixed addresses where static executables live.  Run as
 * `vm CASE`; the same source runs natively on Linux for comparison.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "../apptest.h"

#define MiB (1024UL * 1024)
#define PAGE 4096UL

static unsigned long free_ram(void)
{
	struct sysinfo si;

	sysinfo(&si);
	return si.freeram * si.mem_unit;
}

static void *map(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Touch every page; count those that did not read as zero. */
static size_t touch(char *p, size_t len)
{
	size_t i, dirty = 0;

	for (i = 0; i < len; i += PAGE) {
		dirty += p[i] != 0;
		p[i] = 1;
	}
	return dirty;
}

/* Map most of the free memory in one piece, touch it, give it back. */
static void big(int argc, char **argv)
{
	unsigned long before = free_ram(), len = (before - 6 * MiB) & ~(MiB - 1), after;
	char *p = map(len);

	CHECK(p != MAP_FAILED, "mmap %lu MiB with %lu MiB free: errno %d", len / MiB, before / MiB,
	    errno);
	if (p == MAP_FAILED)
		return;
	CHECK(touch(p, len) == 0, "fresh pages read as zero");
	CHECK(munmap(p, len) == 0, "munmap: errno %d", errno);
	after = free_ram();
	CHECK(after + 256 * 1024 >= before, "free after munmap %lu KiB, before %lu KiB",
	    after / 1024, before / 1024);
	printf("ok big: %lu MiB mapped with %lu MiB free, all of it back after munmap\n", len / MiB,
	    before / MiB);
}

static void *nothing(void *arg) { return arg; }

/* 1000 threads created and joined, then large mappings still fit. */
static void churn(int argc, char **argv)
{
	int i, joined = 0;
	char *p, *q;

	for (i = 0; i < 1000; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) == 0 && pthread_join(t, NULL) == 0)
			joined++;
	}
	CHECK(joined == 1000, "%d threads joined", joined);
	p = map(8 * MiB);
	q = map(32 * MiB);
	CHECK(p != MAP_FAILED, "8 MiB after churn: errno %d", errno);
	CHECK(q != MAP_FAILED, "32 MiB after churn: errno %d", errno);
	if (p != MAP_FAILED && q != MAP_FAILED) {
		CHECK(touch(p, 8 * MiB) + touch(q, 32 * MiB) == 0, "zeroed");
		munmap(p, 8 * MiB);
		munmap(q, 32 * MiB);
	}
	printf("ok churn: 1000 threads, then 8 MiB and 32 MiB mapped\n");
}

static void fixed(int argc, char **argv)
{
	char *p = map(3 * PAGE), *q, *low;

	CHECK(p != MAP_FAILED, "mmap");
	memset(p, 7, 3 * PAGE);
	CHECK(munmap(p + PAGE, PAGE) == 0, "munmap the middle");
	q = mmap(
	    p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(q == p + PAGE, "MAP_FIXED over the freed middle: %p errno %d", (void *)q, errno);
	CHECK(q[0] == 0 && q[PAGE - 1] == 0 && p[0] == 7 && p[2 * PAGE] == 7,
	    "fresh middle, neighbours kept");
	q = mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(q == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over a mapping: errno %d",
	    errno);
	q = mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(q == p && p[0] == 0, "MAP_FIXED replaces: fresh zero page");
	munmap(p, 3 * PAGE);

	/* Where ld links static executables. */
	low = mmap((void *)0x400000, 4 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(low == (void *)0x400000, "MAP_FIXED at 0x400000: %p errno %d", (void *)low, errno);
	if (low != MAP_FAILED) {
		strcpy(low + 3 * PAGE, "low");
		CHECK(!strcmp(low + 3 * PAGE, "low"), "0x400000 is ours");
		munmap(low, 4 * PAGE);
	}
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(q == MAP_FAILED, "MAP_FIXED at 0 is refused");
	printf("ok fixed: MAP_FIXED over a free range, NOREPLACE, at 0x400000, not at 0\n");
}

/* musl's malloc maps a PROT_NONE guard at the start of brk with MAP_FIXED;
 * it must succeed, or a successful malloc leaves errno set. */
static void malloc_errno(int argc, char **argv)
{
	void *p;

	errno = 0;
	p = malloc(24);
	CHECK(p != NULL && errno == 0, "malloc(24): %p errno %d", p, errno);
	free(p);
	printf("ok malloc leaves errno alone\n");
}

static void remap(int argc, char **argv)
{
	size_t i, bad = 0;
	unsigned *p = map(MiB), *q, *r;

	CHECK(p != MAP_FAILED, "mmap");
	for (i = 0; i < MiB / 4; i++)
		p[i] = i;
	q = mremap(p, MiB, 48 * MiB, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED, "grow to 48 MiB: errno %d", errno);
	if (q == MAP_FAILED)
		return;
	for (i = 0; i < MiB / 4; i++)
		bad += q[i] != i;
	CHECK(bad == 0, "%zu words changed by the move", bad);
	CHECK(touch((char *)q + MiB, 47 * MiB) == 0, "the new part is zero");
	r = mremap(q, 48 * MiB, PAGE, 0);
	CHECK(r == q && q[1] == 1, "shrink in place: %p", (void *)r);
	/* Grow in place into the page the shrink freed. */
	r = mremap(q, PAGE, 2 * PAGE, 0);
	CHECK(r == q, "grow in place: %p for %p errno %d", (void *)r, (void *)q, errno);
	CHECK(r == q && ((char *)q)[2 * PAGE - 1] == 0, "grown page is zero");
	p = map(2 * PAGE); /* a place of ours to move to */
	r = mremap(q, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p);
	CHECK(r == p && r[1] == 1, "MREMAP_FIXED: %p errno %d", (void *)r, errno);
	munmap(r, 2 * PAGE);
	printf("ok mremap: grow and move, shrink, grow in place, fixed\n");
}

static void advise(int argc, char **argv)
{
	size_t len = 16 * MiB;
	char *p = map(len);
	unsigned long touched, dropped;

	CHECK(p != MAP_FAILED, "mmap");
	memset(p, 0x5a, len);
	touched = free_ram();
	CHECK(madvise(p, len, MADV_DONTNEED) == 0, "madvise: errno %d", errno);
	dropped = free_ram();
	CHECK(dropped >= touched + 15 * MiB, "free %lu KiB -> %lu KiB after MADV_DONTNEED",
	    touched / 1024, dropped / 1024);
	CHECK(touch(p, len) == 0, "pages read as zero after MADV_DONTNEED");
	munmap(p, len);
	printf("ok madvise: MADV_DONTNEED returns the memory, pages read as zero\n");
}

static void brk_(int argc, char **argv)
{
	char *b = (char *)syscall(SYS_brk, 0), *e;
	unsigned long before = free_ram();

	e = (char *)syscall(SYS_brk, b + 32 * MiB);
	CHECK(e == b + 32 * MiB, "brk +32 MiB: %p for %p", (void *)e, (void *)(b + 32 * MiB));
	if (e == b + 32 * MiB) {
		CHECK(touch(b, 32 * MiB) == 0, "the break's memory is zero");
		CHECK(free_ram() + 31 * MiB <= before, "the break took memory");
	}
	e = (char *)syscall(SYS_brk, b);
	CHECK(e == b && free_ram() + 256 * 1024 >= before, "brk back: memory returned");
	e = (char *)syscall(SYS_brk, b + 64UL * 1024 * MiB);
	CHECK(e == b, "brk beyond memory stays: %p", (void *)e);
	printf("ok brk: grows, returns memory when it shrinks, refuses beyond memory\n");
}

CASES(anon) = {{"big", big}, {"churn", churn}, {"fixed", fixed}, {"malloc_errno", malloc_errno},
    {"mremap", remap}, {"madvise", advise}, {"brk", brk_}, END_CASES};
