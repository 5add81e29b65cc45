/* rumpuser_ext_protect in a process: the host's mprotect on the same pages. */
#include <errno.h>
#include <sys/mman.h>
#include "rumpuser.h"

int rumpuser_ext_protect(void *addr, rumpuser_size_t len, int prot)
{
	int host = ((prot & RUMPUSER_PROT_READ) ? PROT_READ : 0) |
	    ((prot & RUMPUSER_PROT_WRITE) ? PROT_WRITE : 0) |
	    ((prot & RUMPUSER_PROT_EXEC) ? PROT_EXEC : 0);

	if (((unsigned long)addr | len) & 4095)
		return EINVAL;
	return mprotect(addr, len, host) ? errno : 0;
}
