/*
 * PCI: enumeration of bus 0 and the buses behind bridges, BAR sizing,
 * capabilities, interrupts, and matching functions with the drivers
 * registered in the rumprun_pci_drivers section (kernel/include/kernel/pci.h).
 */
#include <kernel/kernel.h>
#include <kernel/pci.h>
#include "rumpcomp_pci.h"

#define PCI_ID 0x00
#define PCI_CLASS 0x08
#define PCI_HEADER 0x0c /* byte 2: header type, bit 7: multi-function */
#define PCI_BAR0 0x10
#define PCI_BUSES 0x18 /* bridges: primary, secondary, subordinate */
#define PCI_SUBSYS 0x2c
#define PCI_CAP_PTR 0x34
#define PCI_INTR 0x3c /* line, pin */
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CLASS_BRIDGE 0x06
#define PCI_SUBCLASS_PCI_BRIDGE 0x04

extern const struct pci_driver *const __start_rumprun_pci_drivers[];
extern const struct pci_driver *const __stop_rumprun_pci_drivers[];

static struct pci_dev *devices, **devices_tail = &devices;

static uint32_t conf_read(unsigned bus, unsigned dev, unsigned fun, int reg)
{
	unsigned v;

	if (rumpcomp_pci_confread(bus, dev, fun, reg & ~3, &v) != 0)
		return 0xffffffff;
	return v;
}

uint32_t pci_conf_read32(const struct pci_dev *d, int reg)
{
	return conf_read(d->bus, d->dev, d->fun, reg);
}

uint16_t pci_conf_read16(const struct pci_dev *d, int reg)
{
	return (uint16_t)(pci_conf_read32(d, reg) >> ((reg & 2) * 8));
}

uint8_t pci_conf_read8(const struct pci_dev *d, int reg)
{
	return (uint8_t)(pci_conf_read32(d, reg) >> ((reg & 3) * 8));
}

void pci_conf_write32(const struct pci_dev *d, int reg, uint32_t value)
{
	rumpcomp_pci_confwrite(d->bus, d->dev, d->fun, reg & ~3, value);
}

void pci_conf_write16(const struct pci_dev *d, int reg, uint16_t value)
{
	int shift = (reg & 2) * 8;
	uint32_t v = pci_conf_read32(d, reg);

	/* Writing the status half back would clear its write-1-to-clear bits. */
	if ((reg & ~3) == PCI_COMMAND)
		v &= 0xffff;
	v = (v & ~(0xffffu << shift)) | (uint32_t)value << shift;
	pci_conf_write32(d, reg, v);
}

struct pci_name pci_name(const struct pci_dev *d)
{
	static const char hex[] = "0123456789abcdef";
	struct pci_name n;

	n.s[0] = hex[(d->bus >> 4) & 15];
	n.s[1] = hex[d->bus & 15];
	n.s[2] = ':';
	n.s[3] = hex[(d->dev >> 4) & 1];
	n.s[4] = hex[d->dev & 15];
	n.s[5] = '.';
	n.s[6] = hex[d->fun & 7];
	n.s[7] = '\0';
	return n;
}

/* Size the BARs: write all ones, read back which bits stick, restore.
 * Decoding is off meanwhile so the probe address never decodes. */
static void size_bars(struct pci_dev *d, int nbars)
{
	uint16_t cmd = pci_conf_read16(d, PCI_COMMAND);
	int i;

	pci_conf_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (i = 0; i < nbars; i++) {
		int reg = PCI_BAR0 + 4 * i;
		uint32_t orig = pci_conf_read32(d, reg), mask;
		uint64_t addr, size;

		pci_conf_write32(d, reg, 0xffffffff);
		mask = pci_conf_read32(d, reg);
		pci_conf_write32(d, reg, orig);
		if (mask == 0 || mask == 0xffffffff)
			continue;
		if (orig & 1) { /* I/O */
			d->bar[i].io = 1;
			d->bar[i].addr = orig & ~3u;
			d->bar[i].size = (~(mask & ~3u) & 0xffff) + 1;
			continue;
		}
		addr = orig & ~15u;
		size = (uint64_t)(mask & ~15u);
		if ((orig & 6) == 4 && i + 1 < nbars) { /* 64-bit: the next BAR is the top half */
			uint32_t orig_hi = pci_conf_read32(d, reg + 4), mask_hi;

			pci_conf_write32(d, reg + 4, 0xffffffff);
			mask_hi = pci_conf_read32(d, reg + 4);
			pci_conf_write32(d, reg + 4, orig_hi);
			addr |= (uint64_t)orig_hi << 32;
			size |= (uint64_t)mask_hi << 32;
			d->bar[i].addr = addr;
			d->bar[i].size = ~size + 1;
			i++;
			continue;
		}
		d->bar[i].addr = addr;
		d->bar[i].size = (uint32_t)(~(uint32_t)size + 1);
	}
	pci_conf_write16(d, PCI_COMMAND, cmd);
}

static void scan_bus(unsigned bus);

static void add_function(unsigned bus, unsigned dev, unsigned fun, uint32_t id)
{
	struct pci_dev *d = kzalloc(sizeof(*d));
	uint32_t class, intr;
	uint8_t header;

	if (!d)
		panic("no memory for PCI device %02x:%02x.%u", bus, dev, fun);
	d->bus = bus;
	d->dev = dev;
	d->fun = fun;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	class = pci_conf_read32(d, PCI_CLASS);
	d->class = class >> 24;
	d->subclass = class >> 16;
	d->progif = class >> 8;
	d->revision = class;
	header = pci_conf_read8(d, PCI_HEADER + 2) & 0x7f;
	intr = pci_conf_read32(d, PCI_INTR);
	d->irq_line = intr & 0xff;
	d->irq_pin = (intr >> 8) & 0xff;
	if (header == 0) {
		uint32_t sub = pci_conf_read32(d, PCI_SUBSYS);

		d->subsys_vendor = sub & 0xffff;
		d->subsys_device = sub >> 16;
		size_bars(d, PCI_NBARS);
	}
	*devices_tail = d;
	devices_tail = &d->next;

	if (header == 1 && d->class == PCI_CLASS_BRIDGE && d->subclass == PCI_SUBCLASS_PCI_BRIDGE) {
		unsigned secondary = (pci_conf_read32(d, PCI_BUSES) >> 8) & 0xff;

		if (secondary > bus)
			scan_bus(secondary);
	}
}

static void scan_bus(unsigned bus)
{
	unsigned dev, fun, nfun;

	for (dev = 0; dev < 32; dev++) {
		uint32_t id = conf_read(bus, dev, 0, PCI_ID);

		if ((id & 0xffff) == 0xffff)
			continue;
		nfun = (conf_read(bus, dev, 0, PCI_HEADER) >> 16) & 0x80 ? 8 : 1;
		for (fun = 0; fun < nfun; fun++) {
			if (fun > 0 && ((id = conf_read(bus, dev, fun, PCI_ID)) & 0xffff) == 0xffff)
				continue;
			add_function(bus, dev, fun, id);
		}
	}
}

int pci_cap_find(const struct pci_dev *d, int cap, int after)
{
	int off, guard;

	if (!(pci_conf_read16(d, PCI_COMMAND + 2) & PCI_STATUS_CAP_LIST))
		return 0;
	off = after ? pci_conf_read8(d, after + 1) : pci_conf_read8(d, PCI_CAP_PTR);
	for (guard = 0; off >= 0x40 && guard < 48; guard++) {
		off &= ~3;
		if (pci_conf_read8(d, off) == cap)
			return off;
		off = pci_conf_read8(d, off + 1);
	}
	return 0;
}

void pci_enable(struct pci_dev *d)
{
	uint16_t cmd = pci_conf_read16(d, PCI_COMMAND);

	cmd |= PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	cmd &= ~PCI_COMMAND_INTX_DISABLE;
	pci_conf_write16(d, PCI_COMMAND, cmd);
}

volatile void *pci_bar_map(struct pci_dev *d, int n)
{
	struct pci_bar *b;

	if (n < 0 || n >= PCI_NBARS)
		return NULL;
	b = &d->bar[n];
	if (!b->addr || b->io)
		return NULL;
	if (!b->va)
		b->va = rumpcomp_pci_map(b->addr, b->size);
	return b->va;
}

int pci_intr_establish(struct pci_dev *d, int (*fn)(void *), void *arg)
{
	unsigned cookie = d->bus << 8 | d->dev << 3 | d->fun;

	if (d->irq_pin == 0 || d->irq_line == 0xff ||
	    rumpcomp_pci_irq_map(d->bus, d->dev, d->fun, d->irq_line, cookie) != 0)
		return -ENXIO;
	if (!rumpcomp_pci_irq_establish(cookie, fn, arg))
		return -ENOMEM;
	return 0;
}

void pci_attach_all(void)
{
	unsigned dummy;
	struct pci_dev *d;
	const struct pci_driver *const *drv;

	/* No PCI on this machine: the platform says so, or nothing answers
	 * as 0:0.0, where a PCI machine has its host bridge (QEMU's microvm). */
	if (rumpcomp_pci_confread(0, 0, 0, PCI_ID, &dummy) != 0 || (dummy & 0xffff) == 0xffff)
		return;
	scan_bus(0);
	for (d = devices; d; d = d->next) {
		for (drv = __start_rumprun_pci_drivers; drv < __stop_rumprun_pci_drivers; drv++) {
			if (!(*drv)->match(d))
				continue;
			if ((*drv)->attach(d) == 0)
				d->driver = *drv;
			break;
		}
	}
}
