/*
 * Anonymous memory: mmap, munmap, mprotect, brk.  Mappings are whole pages
 * from the platform's page allocator, recorded in a sorted list so that
 * munmap of any part returns exactly those pages (and nothing that was
 * never mapped), and freed pages are reused by later mappings.
 *
 * Protections are enforced through the platform's page tables
 * (rumpuser_ext_protect): PROT_NONE pages fault, read-only pages cannot be
 * written.  Pages go back to the allocator with the default protection.
 *
 * The program break lives in a window reserved at the first brk call (a
 * sixteenth of memory, between 64 KiB and 8 MiB: there is no virtual
 * memory to grow it in place).  Past the window brk answers with the break
 * unchanged, which is how Linux says "cannot grow", and musl's malloc
 * then uses mmap.
 */
#include <kernel/kernel.h>
#include <kernel/syscall.h>
#include <sys/mman.h>

struct mapping {
	uintptr_t start, end;
	int prot;
	struct mapping *next;
};

static struct mapping *mappings;	/* sorted by start, disjoint */

static int platform_prot(int prot)
{
	return ((prot & PROT_READ) ? RUMPUSER_PROT_READ : 0) |
	    ((prot & PROT_WRITE) ? RUMPUSER_PROT_WRITE : 0) |
	    ((prot & PROT_EXEC) ? RUMPUSER_PROT_EXEC : 0);
}

static void set_prot(uintptr_t start, uintptr_t end, int prot)
{
	rumpuser_ext_protect((void *)start, end - start, prot);
}

static int insert_mapping(uintptr_t start, uintptr_t end, int prot)
{
	struct mapping *m = kmalloc(sizeof(*m)), **pp;

	if (!m)
		return -ENOMEM;
	m->start = start;
	m->end = end;
	m->prot = prot;
	for (pp = &mappings; *pp && (*pp)->start < start; pp = &(*pp)->next)
		;
	m->next = *pp;
	*pp = m;
	return 0;
}

/* Is [start, end) entirely covered by mappings? */
static int range_mapped(uintptr_t start, uintptr_t end)
{
	struct mapping *m;

	for (m = mappings; m && start < end; m = m->next) {
		if (m->end <= start)
			continue;
		if (m->start > start)
			return 0;
		start = m->end;
	}
	return start >= end;
}

/*
 * Remove [start, end) from the mappings, splitting where needed; with
 * release, the pages go back to the allocator.  ENOMEM if a split needs
 * memory we do not have.
 */
static int unmap_range(uintptr_t start, uintptr_t end, int release)
{
	struct mapping **pp = &mappings, *m;

	while ((m = *pp) != NULL) {
		uintptr_t s, e;

		if (m->end <= start || m->start >= end) {
			pp = &m->next;
			continue;
		}
		s = m->start > start ? m->start : start;
		e = m->end < end ? m->end : end;
		if (m->start < s && m->end > e) {
			/* A hole in the middle: the tail becomes its own mapping. */
			struct mapping *tail = kmalloc(sizeof(*tail));

			if (!tail)
				return -ENOMEM;
			tail->start = e;
			tail->end = m->end;
			tail->prot = m->prot;
			tail->next = m->next;
			m->end = s;
			m->next = tail;
			pp = &tail->next;
		} else if (m->start < s) {
			m->end = s;
			pp = &m->next;
		} else if (m->end > e) {
			m->start = e;
			pp = &m->next;
		} else {
			*pp = m->next;
			kfree(m, sizeof(*m));
		}
		if (release) {
			set_prot(s, e, RUMPUSER_PROT_DEFAULT);
			kpages_free((void *)s, e - s);
		}
	}
	return 0;
}

static long sys_mmap(long addr, long len, long prot, long flags, long fd, long off)
{
	size_t size;
	void *p;

	if (len <= 0)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV;		/* no file mappings */
	if ((flags & MAP_TYPE) != MAP_PRIVATE && (flags & MAP_TYPE) != MAP_SHARED)
		return -EINVAL;
	size = ROUNDUP((size_t)len, PAGE_SIZE);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		/* Only inside what is ours already: fresh zero pages in place. */
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		if (!range_mapped(addr, addr + size))
			return (flags & MAP_FIXED_NOREPLACE) ? -EEXIST : -ENOMEM;
		if (flags & MAP_FIXED_NOREPLACE)
			return -EEXIST;
		if (unmap_range(addr, addr + size, 0) || insert_mapping(addr, addr + size, prot))
			return -ENOMEM;
		set_prot(addr, addr + size, RUMPUSER_PROT_DEFAULT);
		memset((void *)addr, 0, size);
		set_prot(addr, addr + size, platform_prot(prot));
		return addr;
	}
	if ((p = kpages_alloc(size)) == NULL)
		return -ENOMEM;
	if (insert_mapping((uintptr_t)p, (uintptr_t)p + size, prot)) {
		kpages_free(p, size);
		return -ENOMEM;
	}
	memset(p, 0, size);
	if (platform_prot(prot) != RUMPUSER_PROT_DEFAULT)
		set_prot((uintptr_t)p, (uintptr_t)p + size, platform_prot(prot));
	return (long)p;
}
SYSCALL_REGISTER(SYS_mmap, sys_mmap);

static long sys_munmap(long addr, long len, long a2, long a3, long a4, long a5)
{
	if ((addr & (PAGE_SIZE - 1)) || len <= 0)
		return -EINVAL;
	return unmap_range(addr, addr + ROUNDUP((size_t)len, PAGE_SIZE), 1);
}
SYSCALL_REGISTER(SYS_munmap, sys_munmap);

static long sys_mprotect(long addr, long len, long prot, long a3, long a4, long a5)
{
	uintptr_t end = addr + ROUNDUP((size_t)len, PAGE_SIZE);

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!range_mapped(addr, end))
		return -ENOMEM;
	if (unmap_range(addr, end, 0) || insert_mapping(addr, end, prot))
		return -ENOMEM;
	set_prot(addr, end, platform_prot(prot));
	return 0;
}
SYSCALL_REGISTER(SYS_mprotect, sys_mprotect);

static long sys_madvise(long addr, long len, long advice, long a3, long a4, long a5)
{
	return 0;
}
SYSCALL_REGISTER(SYS_madvise, sys_madvise);

static long sys_mremap(long old, long oldlen, long newlen, long flags, long newaddr, long a5)
{
	return -ENOMEM;	/* callers fall back to mmap + copy */
}
SYSCALL_REGISTER(SYS_mremap, sys_mremap);

static uintptr_t brk_base, brk_cur, brk_limit;

static void brk_reserve(void)
{
	size_t size = ROUNDUP(param_number(RUMPRUN_PARAM_MEMSIZE) / 16, PAGE_SIZE);

	if (size < 64 * 1024)
		size = 64 * 1024;
	if (size > 8 * 1024 * 1024)
		size = 8 * 1024 * 1024;
	while (size >= 64 * 1024 && !(brk_base = (uintptr_t)kpages_alloc(size)))
		size /= 2;
	if (!brk_base) {
		static char no_room[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

		brk_base = (uintptr_t)no_room;	/* a break that cannot grow */
		size = 0;
	}
	brk_cur = brk_base;
	brk_limit = brk_base + size;
}

static long sys_brk(long addr, long a1, long a2, long a3, long a4, long a5)
{
	uintptr_t want = addr;

	if (!brk_base)
		brk_reserve();
	if (want < brk_base || want > brk_limit)
		return brk_cur;
	if (want > brk_cur)	/* new break memory reads as zeroes */
		memset((void *)brk_cur, 0, want - brk_cur);
	brk_cur = want;
	return brk_cur;
}
SYSCALL_REGISTER(SYS_brk, sys_brk);
