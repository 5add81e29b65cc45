/* Small services every kernel component uses, over the hypercall interface. */
#include <kernel/kernel.h>
#include <stdarg.h>

void *kmalloc(size_t size)
{
	void *p;

	return rumpuser_malloc(size, 0, &p) ? NULL : p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p, size_t size)
{
	if (p)
		rumpuser_free(p, size);
}

void *kpages_alloc(size_t bytes)
{
	void *p;

	return rumpuser_malloc(ROUNDUP(bytes, PAGE_SIZE), PAGE_SIZE, &p) ? NULL : p;
}

void kpages_free(void *p, size_t bytes) { rumpuser_free(p, ROUNDUP(bytes, PAGE_SIZE)); }

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kprintf("rumprun: panic: ");
	rumpuser_ext_vdprintf(fmt, ap);
	kprintf("\n");
	va_end(ap);
	rumpuser_exit(RUMPUSER_PANIC);
}

unsigned long param_number(const char *name)
{
	char num[24];
	unsigned long n = 0;
	const char *p;

	if (rumpuser_getparam(name, num, sizeof(num)) == 0)
		for (p = num; *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (*p - '0');
	return n;
}

int64_t time_mono_ns(void)
{
	int64_t sec;
	long nsec;

	rumpuser_clock_gettime(RUMPUSER_CLOCK_ABSMONO, &sec, &nsec);
	return sec * 1000000000LL + nsec;
}

int64_t time_wall_ns(void)
{
	int64_t sec;
	long nsec;

	rumpuser_clock_gettime(RUMPUSER_CLOCK_RELWALL, &sec, &nsec);
	return sec * 1000000000LL + nsec;
}
