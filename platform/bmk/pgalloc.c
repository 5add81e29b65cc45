/*
 * Page allocator: one bit per page (1 = free) over [lo, hi).  Allocation is
 * next-fit with whole-word skipping, so any page-aligned part of a range can
 * be freed on its own (munmap of part of a mapping) and freed ranges are
 * reused.
 */
#include <bmk/core.h>

static uintptr_t pg_lo;
static size_t pg_count, pg_free, pg_total, pg_hint;
static uint64_t *bitmap;

#define WORD(i) bitmap[(i) / 64]
#define BIT(i) (1ULL << ((i) % 64))

size_t bmk_pgalloc_bitmap_bytes(uintptr_t lo, uintptr_t hi)
{
	size_t pages = (hi - lo) / BMK_PAGE_SIZE;
	return ((pages + 63) / 64) * 8;
}

void bmk_pgalloc_init(uintptr_t lo, uintptr_t hi, void *bm)
{
	size_t i;

	pg_lo = lo;
	pg_count = (hi - lo) / BMK_PAGE_SIZE;
	bitmap = bm;
	for (i = 0; i < (pg_count + 63) / 64; i++)
		bitmap[i] = 0;
}

void bmk_pgalloc_add(uintptr_t start, uintptr_t end)
{
	size_t i;

	start = (start + BMK_PAGE_SIZE - 1) & ~(BMK_PAGE_SIZE - 1);
	end &= ~(BMK_PAGE_SIZE - 1);
	if (start < pg_lo)
		start = pg_lo;
	if (end > pg_lo + pg_count * BMK_PAGE_SIZE)
		end = pg_lo + pg_count * BMK_PAGE_SIZE;
	if (start >= end)
		return;
	/* A word (64 pages) at a time where the range covers it whole: this
	 * runs at every boot over all of memory. */
	for (i = (start - pg_lo) / BMK_PAGE_SIZE; i < (end - pg_lo) / BMK_PAGE_SIZE;) {
		size_t last = (end - pg_lo) / BMK_PAGE_SIZE;
		uint64_t bits = i % 64 == 0 && last - i >= 64 ? ~0ULL : BIT(i);
		size_t added = (size_t)__builtin_popcountll(bits & ~WORD(i));

		WORD(i) |= bits;
		pg_free += added;
		pg_total += added;
		i += bits == ~0ULL ? 64 : 1;
	}
}

/* Is the run [i, i + n) free?  If not, *skip is the first index past the
 * used page that stopped us. */
static int run_free(size_t i, size_t n, size_t *skip)
{
	size_t j;

	for (j = i; j < i + n; j++) {
		if (!(WORD(j) & BIT(j))) {
			*skip = j + 1;
			return 0;
		}
	}
	return 1;
}

static size_t search(size_t from, size_t to, size_t n, size_t align_pages)
{
	size_t i = from, skip;
	uintptr_t a = align_pages * BMK_PAGE_SIZE;

	while (i + n <= to) {
		if (WORD(i) == 0 && i % 64 == 0) {
			i += 64;
			continue;
		}
		if (a > BMK_PAGE_SIZE) {
			uintptr_t addr = pg_lo + i * BMK_PAGE_SIZE;
			uintptr_t aligned = (addr + a - 1) & ~(a - 1);
			if (aligned != addr) {
				i += (aligned - addr) / BMK_PAGE_SIZE;
				continue;
			}
		}
		if (run_free(i, n, &skip))
			return i;
		i = skip;
	}
	return (size_t)-1;
}

void *bmk_pgalloc(size_t npages, size_t align)
{
	size_t i, j, align_pages = align > BMK_PAGE_SIZE ? align / BMK_PAGE_SIZE : 1;

	if (npages == 0 || npages > pg_free)
		return NULL;
	i = search(pg_hint, pg_count, npages, align_pages);
	if (i == (size_t)-1)
		i = search(0, pg_count, npages, align_pages);
	if (i == (size_t)-1)
		return NULL;
	for (j = i; j < i + npages; j++)
		WORD(j) &= ~BIT(j);
	pg_free -= npages;
	pg_hint = i + npages;
	return (void *)(pg_lo + i * BMK_PAGE_SIZE);
}

void bmk_pgfree(void *p, size_t npages)
{
	size_t i = ((uintptr_t)p - pg_lo) / BMK_PAGE_SIZE, j;

	for (j = i; j < i + npages; j++) {
		if (WORD(j) & BIT(j)) {
			bmk_printf("rumprun: panic: page %p freed twice\n",
			    (void *)(pg_lo + j * BMK_PAGE_SIZE));
			bmk_exit(1, 1);
		}
		WORD(j) |= BIT(j);
	}
	pg_free += npages;
}

size_t bmk_pgalloc_total(void) { return pg_total * BMK_PAGE_SIZE; }
size_t bmk_pgalloc_free(void) { return pg_free * BMK_PAGE_SIZE; }
