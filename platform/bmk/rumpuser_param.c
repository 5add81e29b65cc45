/* rumpuser parameters: fixed answers, the machine's configuration and memory figures. */
#include <bmk/core.h>
#include <errno.h>
#include "rumpuser.h"

static int copy_param(const char *value, void *buf, rumpuser_size_t blen)
{
	rumpuser_size_t n = 0;

	while (value[n])
		n++;
	if (n + 1 > blen)
		return E2BIG;
	__builtin_memcpy(buf, value, n + 1);
	return 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int copy_number(unsigned long value, void *buf, rumpuser_size_t blen)
{
	char num[24];
	int i = sizeof(num) - 1;

	num[i] = '\0';
	do
		num[--i] = '0' + value % 10;
	while ((value /= 10) != 0);
	return copy_param(num + i, buf, blen);
}

int rumpuser_ext_bootmodule(int index, const char **name, void **addr, rumpuser_size_t *len)
{
	size_t n;

	if (bmk_platform_module(index, name, addr, &n) != 0)
		return ENOENT;
	*len = n;
	return 0;
}

int rumpuser_getparam(const char *name, void *buf, rumpuser_size_t blen)
{
	size_t len;
	const char *config = bmk_platform_config(&len);
	const char *image = bmk_platform_image_name();

	if (streq(name, RUMPUSER_PARAM_NCPU))
		return copy_param("1", buf, blen);
	if (streq(name, RUMPUSER_PARAM_HOSTNAME))
		return copy_param("rumprun", buf, blen);
	if (streq(name, RUMPRUN_PARAM_CONFIG))
		return config ? copy_param(config, buf, blen) : ENOENT;
	if (streq(name, RUMPRUN_PARAM_CONFIG_SIZE))
		return config ? copy_number(len, buf, blen) : ENOENT;
	if (streq(name, RUMPRUN_PARAM_MEMSIZE))
		return copy_number(bmk_pgalloc_total(), buf, blen);
	if (streq(name, RUMPRUN_PARAM_MEMFREE))
		return copy_number(bmk_pgalloc_free(), buf, blen);
	if (streq(name, RUMPRUN_PARAM_IMAGE))
		return image ? copy_param(image, buf, blen) : ENOENT;
	return ENOENT;
}
