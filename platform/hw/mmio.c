/*
 * Memory-mapped virtio devices (rumpcomp_pci_ext_mmio_device): QEMU's
 * microvm announces every virtio-mmio transport that has a device on the
 * kernel command line it keeps in fw_cfg, as Linux reads it:
 * "virtio_mmio.device=SIZE@ADDR:IRQ" (SIZE with an optional K, M or G;
 * numbers in decimal or 0x-hexadecimal).  hw_mmio_scan collects them from
 * a command line; they keep its order, which on microvm is the order of
 * the -device options.  Their lines go through the 8259s (intr.c), so a
 * line must be one of theirs: the launcher keeps microvm's transports on
 * lines 5-12 (ioapic2=off).
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpcomp_pci.h"

#define MAX_DEVICES 32

static struct mmio_device {
	unsigned long addr, len;
	int line;
} devices[MAX_DEVICES];
static unsigned ndevices;

/* A number at s (decimal, or hexadecimal after 0x), with a K/M/G suffix
 * when suffix is set; the character after it, or NULL when there is none. */
static const char *number(const char *s, unsigned long *v, int suffix)
{
	unsigned long n = 0, base = 10;
	const char *start;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (start = s;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		n = n * base + d;
	}
	if (s == start)
		return NULL;
	if (suffix && (*s == 'K' || *s == 'k'))
		n <<= 10, s++;
	else if (suffix && (*s == 'M' || *s == 'm'))
		n <<= 20, s++;
	else if (suffix && (*s == 'G' || *s == 'g'))
		n <<= 30, s++;
	*v = n;
	return s;
}

static int prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

void hw_mmio_scan(const char *cmdline)
{
	static const char key[] = "virtio_mmio.device=";
	const char *s = cmdline;
	unsigned long len, addr, line;
	unsigned i;

	for (; *s; s++) {
		if ((s != cmdline && s[-1] != ' ') || !prefix(s, key))
			continue;
		s += sizeof(key) - 1;
		if (!(s = number(s, &len, 1)) || *s != '@' || !(s = number(s + 1, &addr, 0)) ||
		    *s != ':' || !(s = number(s + 1, &line, 0)) || (*s && *s != ' ' && *s != ':')) {
			bmk_printf("rumprun: ignoring a malformed virtio_mmio.device on the "
			           "command line\n");
			if (!s || !*s)
				return;
			continue;
		}
		for (i = 0; i < ndevices && devices[i].addr != addr; i++)
			;
		if (i < ndevices || len == 0)
			continue; /* announced twice */
		if (ndevices == MAX_DEVICES) {
			bmk_printf("rumprun: more than %d virtio-mmio devices: ignoring the rest\n",
			    MAX_DEVICES);
			return;
		}
		devices[ndevices].addr = addr;
		devices[ndevices].len = len;
		devices[ndevices].line = line > 255 ? -1 : (int)line;
		ndevices++;
		if (!*s)
			return;
	}
}

int rumpcomp_pci_ext_mmio_device(
    unsigned index, unsigned cookie, unsigned long *addr, unsigned long *len, int *intrline)
{
	struct mmio_device *d;

	if (index >= ndevices)
		return ENOENT;
	d = &devices[index];
	*addr = d->addr;
	*len = d->len;
	*intrline = d->line;
	return rumpcomp_pci_irq_map(0, 0, 0, d->line, cookie);
}
