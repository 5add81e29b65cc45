/* rumpuser console, parameters, randomness and exit. */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpuser.h"

void rumpuser_putchar(int ch)
{
	hw_cons_putc(ch);
}

void rumpuser_dprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bmk_vprintf(fmt, ap);
	va_end(ap);
}

void rumpuser_ext_vdprintf(const char *fmt, __builtin_va_list ap)
{
	bmk_vprintf(fmt, ap);
}

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

int rumpuser_getparam(const char *name, void *buf, rumpuser_size_t blen)
{
	char num[24];
	size_t len;
	const char *config = hw_config(&len);

	if (streq(name, RUMPUSER_PARAM_NCPU))
		return copy_param("1", buf, blen);
	if (streq(name, RUMPUSER_PARAM_HOSTNAME))
		return copy_param("rumprun", buf, blen);
	if (streq(name, RUMPRUN_PARAM_CONFIG))
		return config ? copy_param(config, buf, blen) : ENOENT;
	if (streq(name, RUMPRUN_PARAM_CONFIG_SIZE)) {
		if (!config)
			return ENOENT;
		bmk_snprintf(num, sizeof(num), "%lu", (unsigned long)len);
		return copy_param(num, buf, blen);
	}
	if (streq(name, RUMPRUN_PARAM_MEMSIZE)) {
		bmk_snprintf(num, sizeof(num), "%lu", (unsigned long)bmk_pgalloc_total());
		return copy_param(num, buf, blen);
	}
	if (streq(name, RUMPRUN_PARAM_MEMFREE)) {
		bmk_snprintf(num, sizeof(num), "%lu", (unsigned long)bmk_pgalloc_free());
		return copy_param(num, buf, blen);
	}
	if (streq(name, RUMPRUN_PARAM_IMAGE))
		return hw_image_name() ? copy_param(hw_image_name(), buf, blen) : ENOENT;
	return ENOENT;
}

int rumpuser_getrandom(void *buf, rumpuser_size_t buflen, int flags, rumpuser_size_t *retp)
{
	hw_random_fill(buf, buflen);
	*retp = buflen;
	return 0;
}

void rumpuser_exit(int value)
{
	if (value == RUMPUSER_PANIC) {
		bmk_printf("rumprun: the kernel panicked\n");
		hw_exit(1);
	}
	hw_exit(value & 0xff);
}

void rumpuser_ext_fatal_signal(int signo, const char *why)
{
	bmk_printf("rumprun: %s\n", why);
	hw_exit(128 + signo);
}
