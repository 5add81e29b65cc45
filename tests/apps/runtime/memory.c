/* Anonymous mmap/munmap/mprotect, reuse of freed ranges, malloc limits, faults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../apptest.h"

#define MiB (1024 * 1024)

static void mmap_basic(int argc, char **argv)
{
	size_t len = 4 * MiB, i, nonzero = 0;
	unsigned char *p =
	    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *q;

	CHECK(p != MAP_FAILED, "mmap 4 MiB: errno %d", errno);
	if (p == MAP_FAILED)
		return;
	CHECK(((uintptr_t)p & 4095) == 0, "page aligned: %p", (void *)p);
	for (i = 0; i < len; i++)
		nonzero += p[i] != 0;
	CHECK(nonzero == 0, "%zu non-zero bytes in fresh anonymous memory", nonzero);
	for (i = 0; i < len; i += 4096)
		p[i] = (unsigned char)(i >> 12);
	for (i = 0; i < len; i += 4096)
		CHECK(p[i] == (unsigned char)(i >> 12), "byte at %zu", i);
	CHECK(munmap(p, len) == 0, "munmap: errno %d", errno);

	errno = 0;
	q = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q == MAP_FAILED && errno == EINVAL, "mmap of 0 bytes: %p errno %d", q, errno);
	printf("ok mmap: 4 MiB zero-filled, written, unmapped\n");
}

/* Map, touch, unmap far more than the guest's memory in total. */
static void mmap_reuse(int argc, char **argv)
{
	size_t len = 8 * MiB, i;
	int round, fails = 0;

	for (round = 0; round < 200; round++) {
		char *p =
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("FAIL mmap round %d (%d MiB mapped in total): errno %d\n", round,
			    round * 8, errno);
			failures++;
			return;
		}
		for (i = 0; i < len; i += 4096)
			fails += p[i] != 0;
		p[0] = p[len - 1] = 1;
		if (munmap(p, len)) {
			printf("FAIL munmap round %d: errno %d\n", round, errno);
			failures++;
			return;
		}
	}
	CHECK(fails == 0, "%d reused pages not zero", fails);
	/* malloc's big blocks (mmap underneath) are reused too. */
	for (round = 0; round < 200; round++) {
		char *p = malloc(6 * MiB);
		if (!p) {
			printf("FAIL malloc round %d: errno %d\n", round, errno);
			failures++;
			return;
		}
		memset(p, round, 6 * MiB);
		free(p);
	}
	printf("ok mmap reuse: 1600 MiB mapped and unmapped, 1200 MiB malloc'd and freed\n");
}

static void mprotect_(int argc, char **argv)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap");
	strcpy(p, "before");
	CHECK(mprotect(p, 8192, PROT_READ) == 0, "mprotect read-only: errno %d", errno);
	CHECK(!strcmp(p, "before"), "readable after mprotect: %s", p);
	CHECK(mprotect(p, 8192, PROT_READ | PROT_WRITE) == 0, "mprotect back: errno %d", errno);
	strcpy(p + 4096, "after");
	CHECK(!strcmp(p + 4096, "after"), "writable again");
	errno = 0;
	/* musl's mprotect() rounds the address down itself; the system call
	 * underneath refuses an unaligned one, as Linux does. */
	CHECK(syscall(SYS_mprotect, p + 1, 4096, PROT_READ) == -1 && errno == EINVAL,
	    "unaligned mprotect system call: errno %d", errno);
	CHECK(munmap(p, 8192) == 0, "munmap");
	printf("ok mprotect: read-only, then writable again\n");
}

static void prot_none(int argc, char **argv)
{
	volatile char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap PROT_NONE");
	printf("touching a PROT_NONE page at %p\n", (void *)p);
	p[0] = 1;
	printf("FAIL no fault\n");
}

static void write_readonly(int argc, char **argv)
{
	volatile char *p =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	mprotect((void *)p, 4096, PROT_READ);
	printf("writing to a read-only page at %p\n", (void *)p);
	p[0] = 1;
	printf("FAIL no fault\n");
}

static void malloc_enomem(int argc, char **argv)
{
	volatile size_t many = SIZE_MAX / 8;
	void *p;

	errno = 0;
	p = malloc(256 * MiB);
	CHECK(p == NULL && errno == ENOMEM, "malloc(256 MiB) in 64: %p errno %d", p, errno);
	errno = 0;
	p = malloc(SIZE_MAX / 2);
	CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX/2): %p errno %d", p, errno);
	errno = 0;
	p = calloc(many, 16);
	CHECK(p == NULL && errno == ENOMEM, "calloc overflowing: %p errno %d", p, errno);
	p = malloc(MiB);
	CHECK(p != NULL, "malloc(1 MiB) afterwards");
	free(p);
	printf("ok malloc: too much is NULL with ENOMEM\n");
}

/* Take 1 MiB blocks until malloc says no; give them back; take them again. */
static void malloc_exhaust(int argc, char **argv)
{
	static void *blocks[1024];
	int n = 0, again = 0, i;

	errno = 0;
	while (n < 1024 && (blocks[n] = malloc(MiB)) != NULL)
		memset(blocks[n++], 1, MiB);
	CHECK(n > 16 && n < 1024, "%d MiB before NULL", n);
	CHECK(errno == ENOMEM, "errno %d", errno);
	for (i = 0; i < n; i++)
		free(blocks[i]);
	while (again < n && (blocks[again] = malloc(MiB)) != NULL)
		again++;
	CHECK(again >= n - 1, "only %d of %d MiB again after freeing", again, n);
	for (i = 0; i < again; i++)
		free(blocks[i]);
	printf("ok malloc exhausted at %d MiB, then %d MiB again\n", n, again);
}

static void write_literal(int argc, char **argv)
{
	/* volatile: a plain store to a literal is undefined behaviour that gcc
	 * simply drops, and the test would prove nothing. */
	volatile char *s = (volatile char *)"a string literal";

	printf("writing to a string literal at %p\n", (void *)s);
	s[0] = 'A';
	printf("FAIL no fault: %c\n", s[0]);
}

static void write_code(int argc, char **argv)
{
	volatile unsigned char *code = (volatile unsigned char *)(uintptr_t)write_code;

	printf("writing to code at %p\n", (void *)code);
	code[0] = 0xc3;
	printf("FAIL no fault\n");
}

CASES(memory) = {{"mmap", mmap_basic}, {"mmap_reuse", mmap_reuse}, {"mprotect", mprotect_},
    {"prot_none", prot_none}, {"write_readonly", write_readonly}, {"malloc_enomem", malloc_enomem},
    {"malloc_exhaust", malloc_exhaust}, {"write_literal", write_literal},
    {"write_code", write_code}, END_CASES};
