/*
 * Memory.  Whole-page requests come from mmap, so that any page-aligned
 * part of them can be released on its own (rumpuser.h allows it), shared
 * so that rumpuser_ext_vm_map_page can map them again elsewhere; other
 * requests come from the host's malloc.  The size given to rumpuser_free
 * tells the two apart: a multiple of the page size was mmap'ed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "posix.h"

#define PAGE 4096UL

int rumpuser_malloc(rumpuser_size_t howmuch, int alignment, void **memp)
{
	if (howmuch == 0)
		howmuch = 1;
	if (howmuch % PAGE == 0) {
		size_t align = alignment > (int)PAGE ? (size_t)alignment : PAGE;
		size_t len = howmuch + align - PAGE;
		char *p =
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return ENOMEM;
		char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
		if (a > p)
			munmap(p, a - p);
		if (a + howmuch < p + len)
			munmap(a + howmuch, p + len - (a + howmuch));
		*memp = a;
		return 0;
	}
	if (alignment < (int)sizeof(void *))
		alignment = sizeof(void *);
	return posix_memalign(memp, alignment, howmuch) ? ENOMEM : 0;
}

void rumpuser_free(void *mem, rumpuser_size_t len)
{
	if (mem == NULL)
		return;
	if (len != 0 && len % PAGE == 0)
		munmap(mem, len);
	else
		free(mem);
}
