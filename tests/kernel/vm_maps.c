/*
 * Programs' memory (kernel/vm.c) in a process: placement, splitting and
 * merging of mappings, MAP_FIXED, mprotect, mremap, madvise, brk, shared
 * file pages, and a vmspace giving everything back.  The posix platform
 * backs mappings with host mappings inside an area it reserved.
 */
#include "ktest.h"
#include <kernel/vm.h>
#include <sys/mman.h>

#define PAGE 4096L
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static int all_bytes(const char *p, long len, char c)
{
	for (long i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

int main(void)
{
	char *p, *q, *r, buf[8];
	long fd, i, brk0;
	struct vmspace *vs;

	ktest_boot();

	KTEST_SECTION("Placement: page aligned, zeroed, where the hint asks when free");
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 3 * PAGE, RW, ANON, -1, 0));
	EXPECT_TRUE(((long)p & (PAGE - 1)) == 0);
	EXPECT_TRUE(all_bytes(p, 3 * PAGE, 0));
	memset(p, 'a', 3 * PAGE);
	q = (char *)EXPECT_OK(K(SYS_mmap, p - 16 * PAGE, PAGE, RW, ANON, -1, 0));
	EXPECT_TRUE(q == p - 16 * PAGE);
	EXPECT(K(SYS_munmap, q, PAGE), 0);

	KTEST_SECTION("A hole in the middle; the ends keep their bytes");
	EXPECT(K(SYS_munmap, p + PAGE, PAGE), 0);
	EXPECT_TRUE(p[0] == 'a' && p[2 * PAGE] == 'a');
	EXPECT(K(SYS_mprotect, p, 3 * PAGE, PROT_READ), -ENOMEM);
	q = (char *)K(SYS_mmap, p + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT_TRUE(q == p + PAGE && all_bytes(q, PAGE, 0));
	EXPECT(K(SYS_mmap, p, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	KTEST_SECTION("MAP_FIXED replaces with fresh zeroes");
	EXPECT(K(SYS_mmap, p, PAGE, RW, ANON | MAP_FIXED, -1, 0), (long)p);
	EXPECT_TRUE(all_bytes(p, PAGE, 0) && p[2 * PAGE] == 'a');
	EXPECT(K(SYS_mprotect, p, 3 * PAGE, PROT_READ), 0);
	EXPECT(K(SYS_mprotect, p, 3 * PAGE, RW), 0);
	EXPECT(K(SYS_munmap, p, 3 * PAGE), 0);
	EXPECT(K(SYS_munmap, p, 3 * PAGE), 0); /* nothing there: fine */
	EXPECT(K(SYS_mmap, 0, 0, RW, ANON, -1, 0), -EINVAL);
	EXPECT(K(SYS_munmap, p + 1, PAGE), -EINVAL);

	KTEST_SECTION("PROT_NONE takes nothing; opened up, it reads as zeroes");
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 64 * PAGE, PROT_NONE, ANON, -1, 0));
	EXPECT(K(SYS_mprotect, p + 8 * PAGE, 8 * PAGE, RW), 0);
	EXPECT_TRUE(all_bytes(p + 8 * PAGE, 8 * PAGE, 0));
	p[8 * PAGE] = 'x';
	EXPECT(K(SYS_mprotect, p + 8 * PAGE, 8 * PAGE, PROT_NONE), 0);
	EXPECT(K(SYS_mprotect, p + 8 * PAGE, 8 * PAGE, PROT_READ), 0);
	EXPECT_TRUE(p[8 * PAGE] == 'x'); /* kept across PROT_NONE */
	EXPECT(K(SYS_munmap, p, 64 * PAGE), 0);

	KTEST_SECTION("mremap: grow in place, move, shrink; madvise gives zeroes back");
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 3 * PAGE, RW, ANON, -1, 0));
	memset(p, 'm', 3 * PAGE);
	q = p + 2 * PAGE;
	EXPECT(K(SYS_munmap, p + PAGE, PAGE), 0);
	EXPECT(K(SYS_mremap, p, PAGE, 2 * PAGE, 0, 0), (long)p);
	EXPECT_TRUE(p[0] == 'm' && p[PAGE] == 0);
	r = (char *)EXPECT_OK(K(SYS_mremap, p, 2 * PAGE, 16 * PAGE, MREMAP_MAYMOVE, 0));
	EXPECT_TRUE(r != p && r[0] == 'm' && all_bytes(r + PAGE, 15 * PAGE, 0));
	EXPECT(K(SYS_munmap, q, PAGE), 0);
	q = p;
	EXPECT(K(SYS_mmap, q, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), (long)q);
	EXPECT(K(SYS_mremap, q, PAGE, 2 * PAGE, 0, 0), (long)q); /* p's range is free now */
	EXPECT(K(SYS_mremap, r, 16 * PAGE, PAGE, 0, 0), (long)r);
	EXPECT(K(SYS_mremap, r + PAGE, PAGE, 2 * PAGE, 0, 0), -EFAULT);
	memset(r, 'd', PAGE);
	EXPECT(K(SYS_madvise, r, PAGE, MADV_DONTNEED), 0);
	EXPECT_TRUE(all_bytes(r, PAGE, 0));
	EXPECT(K(SYS_munmap, r, PAGE), 0);
	EXPECT(K(SYS_munmap, q, 2 * PAGE), 0);

	/* Moved to fewer pages: the ones left behind are unmapped (the host's
	 * mincore sees them gone), and the move overlapping itself is EINVAL. */
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 4 * PAGE, RW, ANON, -1, 0));
	q = (char *)EXPECT_OK(K(SYS_mmap, 0, PAGE, RW, ANON, -1, 0));
	memset(p, 's', 4 * PAGE);
	EXPECT(
	    K(SYS_mremap, p, 4 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE), -EINVAL);
	EXPECT(K(SYS_mremap, p, 4 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q), (long)q);
	EXPECT_TRUE(q[0] == 's');
	{
		unsigned char resident[4];

		EXPECT(mincore(p, 4 * PAGE, resident), 0);
		EXPECT_TRUE(!resident[0] && !resident[1] && !resident[2] && !resident[3]);
	}
	EXPECT(K(SYS_mprotect, p, PAGE, PROT_READ), -ENOMEM);
	EXPECT(K(SYS_munmap, q, PAGE), 0);

	KTEST_SECTION("The break grows page by page, shrinks, and grows back to zeroes");
	brk0 = K(SYS_brk, 0);
	EXPECT_TRUE(brk0 > 0);
	EXPECT(K(SYS_brk, brk0 + 10 * PAGE + 5), brk0 + 10 * PAGE + 5);
	memset((char *)brk0, 'b', 10 * PAGE + 5);
	EXPECT(K(SYS_brk, brk0 + 100), brk0 + 100);
	EXPECT(K(SYS_brk, brk0 + 2 * PAGE), brk0 + 2 * PAGE);
	EXPECT_TRUE(all_bytes((char *)brk0 + 100, 2 * PAGE - 100, 0));
	EXPECT(K(SYS_mmap, brk0, PAGE, PROT_NONE, ANON | MAP_FIXED, -1, 0), brk0);
	EXPECT(K(SYS_brk, brk0 - 1), brk0 + 2 * PAGE); /* below the base: unchanged */

	KTEST_SECTION("Many small mappings come and go: the range is free again after");
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 512 * PAGE, RW, ANON, -1, 0));
	EXPECT(K(SYS_munmap, p, 512 * PAGE), 0);
	for (i = 0; i < 512; i++)
		if (K(SYS_mmap, p + i * PAGE, PAGE, i & 1 ? PROT_READ : RW,
		        ANON | MAP_FIXED_NOREPLACE, -1, 0) != (long)(p + i * PAGE))
			break;
	EXPECT(i, 512);
	EXPECT(K(SYS_mprotect, p, 512 * PAGE, RW), 0); /* one mapping again */
	EXPECT(K(SYS_munmap, p, 512 * PAGE), 0);
	EXPECT(K(SYS_mmap, p, 512 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), (long)p);
	EXPECT(K(SYS_munmap, p, 512 * PAGE), 0);

	KTEST_SECTION("Shared file pages: the mapping and read/write see one file");
	fd = EXPECT_OK(K(SYS_open, "/tmp/mapped", O_CREAT | O_RDWR, 0644));
	EXPECT(K(SYS_ftruncate, fd, 2 * PAGE), 0);
	p = (char *)EXPECT_OK(K(SYS_mmap, 0, 2 * PAGE, RW, MAP_SHARED, fd, 0));
	q = (char *)EXPECT_OK(K(SYS_mmap, 0, PAGE, RW, MAP_SHARED, fd, PAGE));
	memcpy(p + PAGE + 8, "shared", 6);
	EXPECT_TRUE(memcmp(q + 8, "shared", 6) == 0);
	EXPECT(K(SYS_pread64, fd, buf, 6, PAGE + 8), 6);
	EXPECT_TRUE(memcmp(buf, "shared", 6) == 0);
	EXPECT(K(SYS_pwrite64, fd, "WRITE", 5, 0), 5);
	EXPECT_TRUE(memcmp(p, "WRITE", 5) == 0);
	EXPECT(K(SYS_msync, p, 2 * PAGE, MS_SYNC), 0);
	EXPECT(K(SYS_ftruncate, fd, 0), 0); /* pinned pages stay, as zeroes */
	EXPECT_TRUE(all_bytes(q, PAGE, 0));
	EXPECT(K(SYS_munmap, p, 2 * PAGE), 0);
	EXPECT(K(SYS_munmap, q, PAGE), 0);
	EXPECT(K(SYS_mmap, 0, PAGE, RW, MAP_SHARED, fd, 1), -EINVAL);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/mapped", O_RDONLY));
	EXPECT(K(SYS_mmap, 0, PAGE, RW, MAP_SHARED, fd, 0), -EACCES);
	EXPECT(K(SYS_close, fd), 0);

	rumprun_posix_enter();

	/* The main stack grows down into its gap (setrlimit), keeping a gap
	 * below, and no further than the room below it. */
	{
		uintptr_t top;

		vs = vmspace_new();
		EXPECT(vm_stack(vs, 16 * PAGE, &top), 0);
		EXPECT(vm_stack_grow(vs, 8 * PAGE), 16 * PAGE); /* never shrinks */
		EXPECT(vm_stack_grow(vs, 1024 * PAGE), 1024 * PAGE);
		p = (char *)top - 1024 * PAGE;
		memset(p, 'g', 1024 * PAGE); /* committed as touched */
		EXPECT_TRUE(
		    vm_mmap(vm_current(), (uintptr_t)p - PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE,
		        NULL, 0) < 0); /* the gap is its owner's */
		q = (char *)vm_mmap(vs, (uintptr_t)p - VM_STACK_GAP - 64 * PAGE, PAGE, RW,
		    ANON | MAP_FIXED_NOREPLACE, NULL, 0);
		EXPECT_TRUE(q == p - VM_STACK_GAP - 64 * PAGE);
		/* Up to the mapping below, less the guard gap. */
		EXPECT(vm_stack_grow(vs, 1UL << 40),
		    (size_t)(top - (uintptr_t)q - PAGE - VM_STACK_GUARD));
		vmspace_destroy(vs);
	}

	KTEST_SECTION("A program's vmspace gives back everything it owns");
	vs = vmspace_new();
	p = (char *)vm_mmap(vs, 0, 8 * PAGE, RW, ANON, NULL, 0);
	EXPECT_TRUE((long)p > 0);
	EXPECT(vm_mmap(vm_current(), (uintptr_t)p, PAGE, RW, ANON | MAP_FIXED, NULL, 0),
	    -ENOMEM); /* not ours to replace */
	vmspace_destroy(vs);
	EXPECT(
	    vm_mmap(vm_current(), (uintptr_t)p, 8 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, NULL, 0),
	    (long)p);
	EXPECT(vm_munmap(vm_current(), (uintptr_t)p, 8 * PAGE), 0);
	rumprun_posix_leave();

	return ktest_done();
}
