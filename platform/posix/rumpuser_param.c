/*
 * Parameters.  The standard ones have fixed answers; the rumprun ones come
 * from the environment (RUMPRUN_CONFIG: the JSON configuration, RUMPRUN_MEMSIZE,
 * RUMPRUN_IMAGE), so a test can hand the kernel a configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "posix.h"

static int
put(const char *value, void *buf, rumpuser_size_t blen)
{
	size_t n = strlen(value);
	if (n + 1 > blen)
		return E2BIG;
	memcpy(buf, value, n + 1);
	return 0;
}

int
rumpuser_getparam(const char *name, void *buf, rumpuser_size_t blen)
{
	char tmp[32];
	const char *v;
	if (strcmp(name, RUMPUSER_PARAM_NCPU) == 0)
		return put("1", buf, blen);
	if (strcmp(name, RUMPUSER_PARAM_HOSTNAME) == 0)
		return put((v = getenv("RUMPRUN_HOSTNAME")) ? v : "rumprun-posix", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_CONFIG_SIZE) == 0) {
		if ((v = getenv(RUMPRUN_PARAM_CONFIG)) == NULL)
			return ENOENT;
		snprintf(tmp, sizeof(tmp), "%zu", strlen(v));
		return put(tmp, buf, blen);
	}
	if (strcmp(name, RUMPRUN_PARAM_MEMSIZE) == 0)
		return put((v = getenv(RUMPRUN_PARAM_MEMSIZE)) ? v : "268435456", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_MEMFREE) == 0)
		return put((v = getenv(RUMPRUN_PARAM_MEMFREE)) ? v : "134217728", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_CONFIG) == 0 || strcmp(name, RUMPRUN_PARAM_IMAGE) == 0)
		return (v = getenv(name)) ? put(v, buf, blen) : ENOENT;
	return ENOENT;
}
