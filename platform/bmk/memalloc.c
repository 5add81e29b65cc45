/*
 * Kernel memory: power-of-two size classes from 16 bytes to half a page,
 * carved from whole pages (so every object is aligned to its class size);
 * anything larger is whole pages from the page allocator.  Callers give
 * the size back on free (the rumpuser interface does), so there are no
 * headers.
 */
#include <bmk/core.h>

#define MIN_SHIFT 4
#define MAX_SHIFT 11 /* 2048: larger requests take whole pages */
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)

struct freeobj {
	struct freeobj *next;
};
static struct freeobj *freelist[NCLASSES];

static int size_class(size_t size)
{
	int c = 0;

	while (((size_t)1 << (c + MIN_SHIFT)) < size)
		c++;
	return c;
}

void *bmk_memalloc(size_t size, size_t align)
{
	struct freeobj *o;
	size_t objsize;
	int c;

	if (size < align)
		size = align;
	if (size == 0)
		size = 1;
	if (size > (1UL << MAX_SHIFT))
		return bmk_pgalloc((size + BMK_PAGE_SIZE - 1) / BMK_PAGE_SIZE,
		    align > BMK_PAGE_SIZE ? align : BMK_PAGE_SIZE);
	c = size_class(size);
	objsize = (size_t)1 << (c + MIN_SHIFT);
	if (!freelist[c]) {
		char *page = bmk_pgalloc(1, BMK_PAGE_SIZE);
		size_t off;

		if (!page)
			return NULL;
		for (off = 0; off < BMK_PAGE_SIZE; off += objsize) {
			o = (struct freeobj *)(page + off);
			o->next = freelist[c];
			freelist[c] = o;
		}
	}
	o = freelist[c];
	freelist[c] = o->next;
	return o;
}

void bmk_memfree(void *p, size_t size)
{
	struct freeobj *o = p;
	int c;

	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size > (1UL << MAX_SHIFT)) {
		bmk_pgfree(p, (size + BMK_PAGE_SIZE - 1) / BMK_PAGE_SIZE);
		return;
	}
	c = size_class(size);
	o->next = freelist[c];
	freelist[c] = o;
}
