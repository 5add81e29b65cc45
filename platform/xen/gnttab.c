/*
 * The grant table (version 1): an array of 8-byte entries in pages the
 * guest gives Xen (XENMEM_add_to_physmap, as for the shared info), each
 * saying "domain D may map my frame F" (read-only or read-write).  A
 * frontend grants its ring and data pages to its backend's domain and
 * tells the backend the entries' numbers (rumpcomp_xen.h).  Entries 0-7
 * are reserved for the toolstack (the console's and xenstore's pages).
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <errno.h>
#include "rumpcomp_xen.h"

#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_grant_table 1
#define FRAMES 4 /* 2048 entries: enough for a few disks and interfaces */
#define ENTRIES_PER_FRAME (BMK_PAGE_SIZE / sizeof(struct grant_entry))
#define RESERVED 8

#define GTF_permit_access 0x1
#define GTF_readonly 0x4
#define GTF_reading 0x8
#define GTF_writing 0x10

struct grant_entry {
	uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};

static volatile struct grant_entry *table;
static unsigned nentries;
static uint64_t used[FRAMES * ENTRIES_PER_FRAME / 64]; /* one bit per entry */
static unsigned search_from = RESERVED;

void xen_gnttab_init(void)
{
	char *pages = bmk_pgalloc(FRAMES, BMK_PAGE_SIZE);
	unsigned i;

	if (!pages)
		return;
	for (i = 0; i < FRAMES; i++) {
		struct xen_add_to_physmap map = {
		    .domid = DOMID_SELF,
		    .space = XENMAPSPACE_grant_table,
		    .idx = i,
		    .gpfn = x86_virt_to_phys(pages + i * BMK_PAGE_SIZE) >> BMK_PAGE_SHIFT,
		};
		long rc = xen_hypercall(
		    __HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&map, 0, 0, 0);

		if (rc) {
			/* Fewer frames than asked (a small max_grant_frames): use
			 * those Xen gave; the rest of the pages are ours still. */
			bmk_pgfree(pages + i * BMK_PAGE_SIZE, FRAMES - i);
			break;
		}
	}
	if (i == 0) {
		bmk_printf("rumprun: Xen refused to map the grant table: no Xen devices\n");
		return;
	}
	table = (volatile struct grant_entry *)pages;
	nentries = i * ENTRIES_PER_FRAME;
}

int rumpcomp_xen_grant(unsigned domid, void *page, int readonly, unsigned *ref)
{
	unsigned i, n;

	if ((uintptr_t)page & (BMK_PAGE_SIZE - 1))
		return EINVAL;
	for (n = 0; n < nentries; n++) {
		i = search_from + n;
		if (i >= nentries)
			i = RESERVED + (i - nentries) % (nentries - RESERVED);
		if (!(used[i / 64] & (1ULL << (i % 64))))
			break;
	}
	if (n == nentries)
		return ENOSPC;
	used[i / 64] |= 1ULL << (i % 64);
	search_from = i + 1;
	table[i].domid = (uint16_t)domid;
	table[i].frame = (uint32_t)(x86_virt_to_phys(page) >> BMK_PAGE_SHIFT);
	/* The entry is valid once its flags say so: they go last. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	table[i].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
	*ref = i;
	return 0;
}

int rumpcomp_xen_ungrant(unsigned ref)
{
	uint16_t flags;

	if (ref < RESERVED || ref >= nentries || !(used[ref / 64] & (1ULL << (ref % 64))))
		return EINVAL;
	/* Only while the other side does not have it mapped: Xen sets
	 * reading/writing while it does, atomically with our clearing. */
	flags = table[ref].flags;
	do {
		if (flags & (GTF_reading | GTF_writing))
			return EBUSY;
	} while (!__atomic_compare_exchange_n(
	    &table[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	used[ref / 64] &= ~(1ULL << (ref % 64));
	return 0;
}
