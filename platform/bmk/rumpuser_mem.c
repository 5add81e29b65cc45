/* rumpuser memory: kernel objects from bmk_memalloc, whole pages from the page allocator. */
#include <bmk/core.h>
#include <errno.h>
#include "rumpuser.h"

int rumpuser_malloc(rumpuser_size_t howmuch, int alignment, void **memp)
{
	void *p = bmk_memalloc(howmuch, alignment > 0 ? (size_t)alignment : 0);

	if (!p)
		return ENOMEM;
	*memp = p;
	return 0;
}

void rumpuser_free(void *mem, rumpuser_size_t len) { bmk_memfree(mem, len); }
