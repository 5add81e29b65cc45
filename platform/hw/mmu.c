/*
 * Page protection.  boot.S maps the first 4 GiB one-to-one with 2 MiB
 * pages; where a range needs finer protection, its 2 MiB page is split
 * into 512 4 KiB pages (the page table comes from the page allocator and
 * stays).  At boot: page 0 is unmapped (null pointers fault), kernel and
 * app text is read-only, read-only data and writable data are not
 * executable (when the CPU has NX).
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpuser.h"

extern uint64_t boot_pd[];
extern char _image_start[], _rodata_start[], _data_start[], _end[];

static uint64_t nx_bit;

#define PD_INDEX(va) ((va) >> 21)
#define PT_INDEX(va) (((va) >> 12) & 511)
#define ADDR_MASK 0x000ffffffffff000ULL

/* The 4 KiB page table entry for va, splitting its 2 MiB page if needed;
 * NULL when va is beyond the mapped 4 GiB or no memory for a table. */
static uint64_t *pte_for(uintptr_t va)
{
	uint64_t *pde, *pt;
	int i;

	if (va >= 0x100000000ULL)
		return NULL;
	pde = &boot_pd[PD_INDEX(va)];
	if (*pde & PTE_PS) {
		uint64_t base = *pde & ~(uint64_t)0x1fffff & ADDR_MASK;
		uint64_t flags = *pde & (PTE_P | PTE_W | PTE_NX);

		if ((pt = bmk_pgalloc(1, BMK_PAGE_SIZE)) == NULL)
			return NULL;
		for (i = 0; i < 512; i++)
			pt[i] = (base + (uint64_t)i * BMK_PAGE_SIZE) | flags;
		*pde = (uintptr_t)pt | PTE_P | PTE_W;
		/* The old large-page translation goes with a full flush. */
		write_cr3(read_cr3());
	}
	pt = (uint64_t *)(uintptr_t)(*pde & ADDR_MASK);
	return &pt[PT_INDEX(va)];
}

int rumpuser_ext_protect(void *addr, rumpuser_size_t len, int prot)
{
	uintptr_t va = (uintptr_t)addr, end = va + len;
	uint64_t *pte;

	if ((va | len) & (BMK_PAGE_SIZE - 1))
		return EINVAL;
	for (; va < end; va += BMK_PAGE_SIZE) {
		if ((pte = pte_for(va)) == NULL)
			return ENOMEM;
		*pte &= ADDR_MASK;
		if (prot) {
			*pte |= PTE_P;
			if (prot & RUMPUSER_PROT_WRITE)
				*pte |= PTE_W;
			if (!(prot & RUMPUSER_PROT_EXEC))
				*pte |= nx_bit;
		}
		invlpg(va);
	}
	return 0;
}

void hw_mmu_init(void)
{
	uint32_t r[4];

	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		if (r[3] & (1 << 20)) {
			wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
			nx_bit = PTE_NX;
		}
	}
	rumpuser_ext_protect(0, BMK_PAGE_SIZE, 0);
	rumpuser_ext_protect(_image_start, _rodata_start - _image_start,
	    RUMPUSER_PROT_READ | RUMPUSER_PROT_EXEC);
	rumpuser_ext_protect(_rodata_start, _data_start - _rodata_start, RUMPUSER_PROT_READ);
	rumpuser_ext_protect(_data_start, (uintptr_t)_end - (uintptr_t)_data_start,
	    RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE);
}
