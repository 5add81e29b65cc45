/*
 * Console: the process's standard output, through stdio so that what the
 * kernel prints and what a test program prints stay in order.
 */
#include <stdarg.h>
#include <stdio.h>
#include "posix.h"

void rumpuser_putchar(int ch)
{
	putchar(ch);
	if (ch == '\n')
		fflush(stdout);
}

void rumpuser_ext_vdprintf(const char *fmt, __builtin_va_list ap)
{
	vprintf(fmt, ap);
	fflush(stdout);
}

void rumpuser_dprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rumpuser_ext_vdprintf(fmt, ap);
	va_end(ap);
}
