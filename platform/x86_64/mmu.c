/*
 * Page tables (the address space is drawn in include/x86_64/layout.h).
 *
 * boot.S starts us with the first 4 GiB of physical memory mapped three
 * ways with 2 MiB pages.  x86_mmu_init then drops the identity map, maps
 * the image with 4 KiB pages and its protections (text read-only, data not
 * executable), and x86_mmu_direct_map extends the direct map over memory
 * above 4 GiB.  Large pages are split where finer protection is asked for
 * (guard pages below kernel stacks).
 *
 * Application memory (rumpuser_ext_vm_*) is mapped page by page with
 * 4 KiB pages, each backed by a single page from the page allocator, so a
 * mapping never needs physically contiguous memory.  A leaf entry that is
 * not present may still mean something (software bits, ignored by the
 * MMU when P is clear):
 *   0                      nothing is mapped
 *   PTE_LAZY               a fresh zero page at the first touch; W, NX and
 *                          PTE_ACCESS (not PROT_NONE) say its protection
 *   a frame, no P          PROT_NONE over a page that keeps its contents
 * PTE_SHARED marks a frame that belongs to someone else (a file's page):
 * unmapping it does not free it.
 */
#include <bmk/core.h>
#include <x86_64/cpu.h>
#include <x86_64/layout.h>
#include <errno.h>
#include "rumpuser.h"
#include <rumprun_abi.h>

extern uint64_t boot_pml4[], boot_pdpt_low[];
extern char _image_start[], _rodata_start[], _data_start[], _end[];

#define ADDR_MASK 0x000ffffffffff000ULL
#define PTE_PCD 0x010
#define PTE_PWT 0x008
#define PTE_LAZY (1ULL << 9)
#define PTE_ACCESS (1ULL << 10)
#define PTE_SHARED (1ULL << 11)

/* Levels: 0 = page table (4 KiB), 1 = page directory (2 MiB), 2 = PDPT
 * (1 GiB), 3 = PML4. */
#define LEVEL_SHIFT(l) (12 + 9 * (l))
#define LEVEL_SIZE(l) (1ULL << LEVEL_SHIFT(l))
#define INDEX(va, l) (((va) >> LEVEL_SHIFT(l)) & 511)

static uint64_t nx_bit;
static int have_1g_pages;

void *x86_phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)(X86_DIRECT_MAP + pa); }

static uint64_t direct_to_phys(const void *va) { return (uintptr_t)va - X86_DIRECT_MAP; }

static uint64_t *table_of(uint64_t entry) { return x86_phys_to_virt(entry & ADDR_MASK); }

static void zero_page(void *p)
{
	void *d = p;
	unsigned long n = BMK_PAGE_SIZE / 8;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0UL) : "memory");
}

static uint64_t *new_table(void)
{
	uint64_t *t = bmk_pgalloc(1, BMK_PAGE_SIZE);

	if (t)
		zero_page(t);
	return t;
}

static void flush_all(void) { write_cr3(read_cr3()); }

/* Replace the large page *e (at level) by a table of 512 entries one level
 * down that map the same memory the same way. */
static int split(uint64_t *e, int level)
{
	uint64_t *t = new_table(), base = *e & ADDR_MASK & ~(LEVEL_SIZE(level) - 1);
	uint64_t flags = *e & (PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_NX);
	int i;

	if (!t)
		return ENOMEM;
	for (i = 0; i < 512; i++)
		t[i] = (base + i * LEVEL_SIZE(level - 1)) | flags | (level > 1 ? PTE_PS : 0);
	*e = direct_to_phys(t) | PTE_P | PTE_W;
	flush_all(); /* the large translation goes with a full flush */
	return 0;
}

/*
 * The entry that maps va at level (0: its 4 KiB page), walking down from
 * the PML4.  WALK_CREATE makes missing tables, WALK_SPLIT splits large
 * pages on the way.  NULL when a table is missing, a large page is in the
 * way, or there is no memory for a table; *stop then says at which level
 * the walk ended.
 */
#define WALK_CREATE 1
#define WALK_SPLIT 2
static uint64_t *walk(uintptr_t va, int level, int how, int *stop)
{
	uint64_t *t = x86_phys_to_virt(read_cr3() & ADDR_MASK);
	int l;

	for (l = 3; l > level; l--) {
		uint64_t *e = &t[INDEX(va, l)], *n;

		if (!(*e & PTE_P)) {
			if (!(how & WALK_CREATE) || (n = new_table()) == NULL)
				goto stopped;
			*e = direct_to_phys(n) | PTE_P | PTE_W;
		} else if (*e & PTE_PS) {
			if (!(how & WALK_SPLIT) || split(e, l))
				goto stopped;
		}
		t = table_of(*e);
	}
	return &t[INDEX(va, level)];
stopped:
	if (stop)
		*stop = l;
	return NULL;
}

static uint64_t leaf_bits(int prot)
{
	return ((prot & RUMPUSER_PROT_WRITE) ? PTE_W : 0) |
	    ((prot & RUMPUSER_PROT_EXEC) ? 0 : nx_bit);
}

/* The entry for a page of protection prot backed by frame pa. */
static uint64_t frame_entry(uint64_t pa, int prot)
{
	return prot ? pa | PTE_P | leaf_bits(prot) : pa;
}

static int entry_has_frame(uint64_t e) { return !(e & PTE_LAZY) && (e & ADDR_MASK); }

/* Forget what entry *e mapped, freeing its frame if it owned one. */
static void release(uint64_t *e, uintptr_t va)
{
	uint64_t old = *e;

	*e = 0;
	if (old & PTE_P)
		invlpg(va);
	if (entry_has_frame(old) && !(old & PTE_SHARED))
		bmk_pgfree(x86_phys_to_virt(old & ADDR_MASK), 1);
}

int rumpuser_ext_protect(void *addr, rumpuser_size_t len, int prot)
{
	uintptr_t va = (uintptr_t)addr, end = va + len;
	uint64_t *e;

	if ((va | len) & (BMK_PAGE_SIZE - 1))
		return EINVAL;
	for (; va < end; va += BMK_PAGE_SIZE) {
		if ((e = walk(va, 0, WALK_SPLIT, NULL)) == NULL)
			return ENOMEM;
		if (*e & PTE_LAZY) {
			*e = PTE_LAZY | (prot ? PTE_ACCESS | leaf_bits(prot) : 0);
		} else if (*e & ADDR_MASK) {
			*e = frame_entry(*e & ADDR_MASK, prot) | (*e & PTE_SHARED);
			invlpg(va);
		} else {
			return ENOMEM;
		}
	}
	return 0;
}

/* ---- application memory -------------------------------------------- */

/* May programs map [va, va + len)?  Not the null guard, the image window
 * or the kernel's half. */
static int app_range(uintptr_t va, rumpuser_size_t len)
{
	uintptr_t end = va + len;

	if ((va | len) & (BMK_PAGE_SIZE - 1) || end < va)
		return 0;
	if (va < X86_NULL_GUARD || end > X86_USER_TOP)
		return 0;
	return end <= X86_IMAGE_VBASE || va >= X86_IMAGE_VBASE + X86_IMAGE_WINDOW;
}

/* The bake checks static executables' fixed addresses against these. */
_Static_assert(RUMPRUN_EXEC_FIXED_LO == X86_NULL_GUARD &&
        RUMPRUN_EXEC_IMAGE_WINDOW_LO == X86_IMAGE_VBASE &&
        RUMPRUN_EXEC_IMAGE_WINDOW_HI == X86_IMAGE_VBASE + X86_IMAGE_WINDOW &&
        RUMPRUN_EXEC_FIXED_HI == X86_APP_AREA_LO,
    "rumprun_abi.h's RUMPRUN_EXEC_* and layout.h disagree");

/* After unmapping in [va, end): free the page tables and directories of
 * the range that are now empty. */
static void free_empty_tables(uintptr_t va, uintptr_t end)
{
	uintptr_t a;
	int l, i, freed = 0;

	for (l = 1; l <= 2; l++) {
		for (a = va & ~(LEVEL_SIZE(l) - 1); a < end; a += LEVEL_SIZE(l)) {
			uint64_t *e = walk(a, l, 0, NULL), *t;

			if (!e || !(*e & PTE_P) || (*e & PTE_PS))
				continue;
			t = table_of(*e);
			for (i = 0; i < 512 && !t[i]; i++)
				;
			if (i == 512) {
				*e = 0;
				bmk_pgfree(t, 1);
				freed = 1;
			}
		}
	}
	if (freed)
		flush_all();
}

/* Release every entry in [va, end), skipping missing tables whole. */
static void unmap_range(uintptr_t va, uintptr_t end)
{
	uintptr_t start = va;
	uint64_t *e;
	int stop = 3;

	while (va < end) {
		if ((e = walk(va, 0, 0, &stop)) == NULL) {
			va = (va & ~(LEVEL_SIZE(stop) - 1)) + LEVEL_SIZE(stop);
			continue;
		}
		/* The rest of this page table without walking again. */
		do {
			release(e++, va);
			va += BMK_PAGE_SIZE;
		} while (va < end && (va & (LEVEL_SIZE(1) - 1)));
	}
	free_empty_tables(start, end);
}

void rumpuser_ext_vm_area(void **base, rumpuser_size_t *len)
{
	*base = (void *)X86_APP_AREA_LO;
	*len = X86_APP_AREA_HI - X86_APP_AREA_LO;
}

int rumpuser_ext_vm_map(void *addr, rumpuser_size_t len, int prot, int flags)
{
	uintptr_t va = (uintptr_t)addr, end = va + len;
	size_t npages = len / BMK_PAGE_SIZE;
	uint64_t *e;

	if (!app_range(va, len))
		return EINVAL;
	/* Frames plus the page tables they may need, before changing anything. */
	if (!(flags & RUMPUSER_VM_LAZY) &&
	    bmk_pgalloc_free() / BMK_PAGE_SIZE < npages + npages / 512 + 4)
		return ENOMEM;
	while (va < end) {
		if ((e = walk(va, 0, WALK_CREATE, NULL)) == NULL)
			goto nomem;
		/* The rest of this page table without walking again. */
		do {
			void *frame;

			release(e, va);
			if (flags & RUMPUSER_VM_LAZY) {
				*e = PTE_LAZY | (prot ? PTE_ACCESS | leaf_bits(prot) : 0);
			} else {
				if ((frame = bmk_pgalloc(1, BMK_PAGE_SIZE)) == NULL)
					goto nomem;
				zero_page(frame);
				*e = frame_entry(direct_to_phys(frame), prot);
			}
			e++;
			va += BMK_PAGE_SIZE;
		} while (va < end && (va & (LEVEL_SIZE(1) - 1)));
	}
	return 0;
nomem:
	unmap_range((uintptr_t)addr, va);
	return ENOMEM;
}

int rumpuser_ext_vm_map_page(void *addr, void *page, int prot)
{
	uintptr_t va = (uintptr_t)addr;
	uint64_t *e;

	if (!app_range(va, BMK_PAGE_SIZE) || ((uintptr_t)page & (BMK_PAGE_SIZE - 1)))
		return EINVAL;
	if ((e = walk(va, 0, WALK_CREATE, NULL)) == NULL)
		return ENOMEM;
	release(e, va);
	*e = frame_entry(x86_virt_to_phys(page), prot) | PTE_SHARED;
	return 0;
}

int rumpuser_ext_vm_unmap(void *addr, rumpuser_size_t len)
{
	if (!app_range((uintptr_t)addr, len))
		return EINVAL;
	unmap_range((uintptr_t)addr, (uintptr_t)addr + len);
	return 0;
}

int rumpuser_ext_vm_move(void *from, void *to, rumpuser_size_t len)
{
	uintptr_t src = (uintptr_t)from, dst = (uintptr_t)to, off;
	uint64_t *s, *d;

	if (!app_range(src, len) || !app_range(dst, len) || (src < dst + len && dst < src + len))
		return EINVAL;
	/* Tables for the destination first, so that a failure changes nothing. */
	for (off = 0; off < len; off += BMK_PAGE_SIZE)
		if (walk(dst + off, 0, WALK_CREATE, NULL) == NULL)
			return ENOMEM;
	for (off = 0; off < len; off += BMK_PAGE_SIZE) {
		d = walk(dst + off, 0, WALK_CREATE, NULL);
		release(d, dst + off);
		if ((s = walk(src + off, 0, 0, NULL)) != NULL && *s) {
			*d = *s;
			*s = 0;
			invlpg(src + off);
		}
	}
	free_empty_tables(src, src + len);
	return 0;
}

int x86_page_fault(uintptr_t addr, uint64_t error)
{
	uint64_t *e, flags;
	void *frame;

	if (error & 1) /* a protection fault on a present page */
		return X86_FAULT_BAD;
	e = walk(addr & ~(BMK_PAGE_SIZE - 1), 0, 0, NULL);
	if (!e || !(*e & PTE_LAZY) || !(*e & PTE_ACCESS))
		return X86_FAULT_BAD;
	if (((error & 2) && !(*e & PTE_W)) || ((error & 16) && (*e & nx_bit)))
		return X86_FAULT_BAD;
	if ((frame = bmk_pgalloc(1, BMK_PAGE_SIZE)) == NULL)
		return X86_FAULT_NOMEM;
	zero_page(frame);
	flags = *e & (PTE_W | PTE_NX | PTE_SHARED);
	*e = direct_to_phys(frame) | PTE_P | flags;
	return X86_FAULT_RESOLVED;
}

/* ---- the kernel's view ---------------------------------------------- */

uint64_t x86_virt_to_phys(const void *addr)
{
	uintptr_t va = (uintptr_t)addr;
	uint64_t *t = x86_phys_to_virt(read_cr3() & ADDR_MASK), e = 0;
	int l;

	for (l = 3; l >= 0; l--) {
		e = t[INDEX(va, l)];
		if (!(e & PTE_P))
			return X86_NO_PHYS;
		if (l == 0 || (e & PTE_PS))
			break;
		t = table_of(e);
	}
	return (e & ADDR_MASK & ~(LEVEL_SIZE(l) - 1)) | (va & (LEVEL_SIZE(l) - 1));
}

/* Map physical [pa, pa + len) in the direct map with large pages where
 * nothing maps it yet; uncached for device memory. */
static int direct_map(uint64_t pa, uint64_t len, int uncached)
{
	int level = have_1g_pages ? 2 : 1;
	uint64_t a, end = pa + len, cache = uncached ? PTE_PCD | PTE_PWT : 0;
	uint64_t *e;

	if (end > X86_DIRECT_MAP_SIZE || end < pa)
		return EINVAL;
	for (a = pa & ~(LEVEL_SIZE(level) - 1); a < end; a += LEVEL_SIZE(level)) {
		/* A missing table below a large page means "not mapped yet". */
		if ((e = walk(X86_DIRECT_MAP + a, level, WALK_CREATE, NULL)) == NULL)
			return ENOMEM;
		if (!(*e & PTE_P))
			*e = a | PTE_P | PTE_W | PTE_PS | nx_bit | cache;
	}
	return 0;
}

int x86_mmu_direct_map(uint64_t pa, uint64_t len) { return direct_map(pa, len, 0); }

void *x86_mmio_map(uint64_t pa, uint64_t len)
{
	/* The first 4 GiB (where 32-bit BARs live) are mapped since boot. */
	if (pa + len > 0x100000000ULL && direct_map(pa, len, 1))
		return NULL;
	return x86_phys_to_virt(pa);
}

/* The image window, anew: only the image's own pages, each with its
 * protection, in a page directory of its own (the boot one is shared with
 * the direct map). */
static void map_image(void)
{
	static const struct {
		char *start, *end;
		int prot;
	} parts[] = {
	    {_image_start, _rodata_start, RUMPUSER_PROT_READ | RUMPUSER_PROT_EXEC},
	    {_rodata_start, _data_start, RUMPUSER_PROT_READ},
	    {_data_start, _end, RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE},
	};
	uint64_t *pd = new_table();
	unsigned i;

	if (!pd)
		goto nomem;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uintptr_t va;

		for (va = (uintptr_t)parts[i].start; va < (uintptr_t)parts[i].end;
		     va += BMK_PAGE_SIZE) {
			uint64_t *pde = &pd[INDEX(va, 1)], *pt;

			if (!*pde) {
				if ((pt = new_table()) == NULL)
					goto nomem;
				*pde = direct_to_phys(pt) | PTE_P | PTE_W;
			}
			pt = table_of(*pde);
			pt[INDEX(va, 0)] = frame_entry(PHYS(va), parts[i].prot);
		}
	}
	boot_pdpt_low[INDEX((uintptr_t)X86_IMAGE_VBASE, 2)] = direct_to_phys(pd) | PTE_P | PTE_W;
	boot_pdpt_low[0] = 0; /* the identity map's work is done */
	flush_all();
	return;
nomem:
	bmk_printf("rumprun: not enough memory for the page tables\n");
	bmk_exit(1, 1);
}

void x86_mmu_init(void)
{
	uint32_t r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		if (r[3] & (1 << 20)) {
			wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
			nx_bit = PTE_NX;
		}
		have_1g_pages = (r[3] >> 26) & 1;
	}
	map_image();
}
