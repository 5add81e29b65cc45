/*
 * Application memory (rumpuser_ext_vm_*) in a process: an area reserved
 * from the host at first use (PROT_NONE, no swap reserved), in which the
 * kernel's mappings become host mappings at the same addresses.  Ranges
 * outside it are refused (EINVAL): they belong to the host process.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include "posix.h"

#define PAGE 4096UL
#define AREA_SIZE (256UL << 30)

static char *area;

static int host_prot(int prot)
{
	return ((prot & RUMPUSER_PROT_READ) ? PROT_READ : 0) |
	    ((prot & RUMPUSER_PROT_WRITE) ? PROT_WRITE : 0) |
	    ((prot & RUMPUSER_PROT_EXEC) ? PROT_EXEC : 0);
}

static char *area_base(void)
{
	if (!area) {
		void *p = mmap(
		    NULL, AREA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			area = p;
	}
	return area;
}

static int in_area(void *addr, rumpuser_size_t len)
{
	char *a = addr, *base = area_base();

	return base && !(((uintptr_t)a | len) & (PAGE - 1)) && a >= base && len <= AREA_SIZE &&
	    a + len <= base + AREA_SIZE;
}

/* Back to reserved: no pages, no access. */
static int reserve(void *addr, rumpuser_size_t len)
{
	return mmap(addr, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	           -1, 0) == MAP_FAILED
	    ? ENOMEM
	    : 0;
}

void rumpuser_ext_vm_area(void **base, rumpuser_size_t *len)
{
	*base = area_base();
	*len = area ? AREA_SIZE : 0;
}

int rumpuser_ext_vm_map(void *addr, rumpuser_size_t len, int prot, int flags)
{
	int extra = (flags & RUMPUSER_VM_LAZY) ? MAP_NORESERVE : MAP_POPULATE;

	if (!in_area(addr, len))
		return EINVAL;
	return mmap(addr, len, host_prot(prot), MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | extra, -1,
	           0) == MAP_FAILED
	    ? ENOMEM
	    : 0;
}

/* Whole pages from rumpuser_malloc are shared anonymous memory, so that
 * mremap with an old size of 0 can map them a second time. */
int rumpuser_ext_vm_map_page(void *addr, void *page, int prot)
{
	if (!in_area(addr, PAGE) || ((uintptr_t)page & (PAGE - 1)))
		return EINVAL;
	if (mremap(page, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED)
		return ENOMEM;
	return mprotect(addr, PAGE, host_prot(prot)) ? ENOMEM : 0;
}

int rumpuser_ext_vm_unmap(void *addr, rumpuser_size_t len)
{
	if (!in_area(addr, len))
		return EINVAL;
	return reserve(addr, len);
}

int rumpuser_ext_vm_move(void *from, void *to, rumpuser_size_t len)
{
	if (!in_area(from, len) || !in_area(to, len) ||
	    ((char *)from < (char *)to + len && (char *)to < (char *)from + len))
		return EINVAL;
	if (mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
		return ENOMEM;
	return reserve(from, len);
}
