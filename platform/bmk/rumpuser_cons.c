/* rumpuser console: the machine's console, formatted by the core. */
#include <bmk/core.h>
#include "rumpuser.h"

void rumpuser_putchar(int ch) { bmk_platform_putc(ch); }

void rumpuser_dprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bmk_vprintf(fmt, ap);
	va_end(ap);
}

void rumpuser_ext_vdprintf(const char *fmt, __builtin_va_list ap) { bmk_vprintf(fmt, ap); }
