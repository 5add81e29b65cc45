/* Console formatting for the bare-metal core: the subset kernels need. */
#include <bmk/core.h>

struct out {
	char *buf;
	size_t size, len;
	int to_console;
};

static void put(struct out *o, char c)
{
	if (o->to_console)
		bmk_platform_putc(c);
	else if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, unsigned long long v, int base, int upper, int neg, int width,
    char pad, int left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (neg && pad == '0')
		put(o, '-');
	while (!left && width > len) {
		put(o, pad);
		width--;
	}
	if (neg && pad != '0')
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
	while (left && width > len) {
		put(o, ' ');
		width--;
	}
}

static void format(struct out *o, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, longs = 0, left = 0;
		char pad = ' ';
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			put(o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			s = longs ? va_arg(ap, long long) : va_arg(ap, int);
			put_num(o, s < 0 ? -(unsigned long long)s : (unsigned long long)s, 10, 0,
			    s < 0, width, pad, left);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			put_num(o, u, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, pad, left);
			break;
		case 'p':
			put(o, '0');
			put(o, 'x');
			put_num(o, (uintptr_t)va_arg(ap, void *), 16, 0, 0, width, pad, left);
			break;
		case 'c':
			put(o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len = 0;

			if (!str)
				str = "(null)";
			while (str[len])
				len++;
			while (!left && width-- > len)
				put(o, ' ');
			while (*str)
				put(o, *str++);
			while (left && width-- > len)
				put(o, ' ');
			break;
		}
		case '%':
			put(o, '%');
			break;
		case '\0':
			return;
		default:
			put(o, '%');
			put(o, *fmt);
		}
	}
}

int bmk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0, 0};

	format(&o, fmt, ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int bmk_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = bmk_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void bmk_vprintf(const char *fmt, va_list ap)
{
	struct out o = {0, 0, 0, 1};

	format(&o, fmt, ap);
}

void bmk_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bmk_vprintf(fmt, ap);
	va_end(ap);
}
