/* rumpuser randomness: the processor's generator (bmk_platform_random). */
#include <bmk/core.h>
#include "rumpuser.h"

int rumpuser_getrandom(void *buf, rumpuser_size_t buflen, int flags, rumpuser_size_t *retp)
{
	bmk_platform_random(buf, buflen);
	*retp = buflen;
	return 0;
}
