/*
 * rumpcomp PCI hypercalls (kernel/include/rumpcomp_pci.h) on a PC:
 * configuration mechanism #1, BARs through the direct map (x86_mmio_map), I/O
 * ports, DMA memory from the page allocator.  Interrupts are in intr.c.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpcomp_pci.h"

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

static int conf_address(unsigned bus, unsigned dev, unsigned fun, int reg, uint32_t *addr)
{
	if (bus > 255 || dev > 31 || fun > 7 || reg < 0 || reg > 252 || (reg & 3))
		return EINVAL;
	*addr = 0x80000000u | bus << 16 | dev << 11 | fun << 8 | (unsigned)reg;
	return 0;
}

int rumpcomp_pci_confread(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int *value)
{
	uint32_t addr;
	int error = conf_address(bus, dev, fun, reg, &addr);

	if (error)
		return error;
	outl(PCI_CONF_ADDR, addr);
	*value = inl(PCI_CONF_DATA);
	return 0;
}

int rumpcomp_pci_confwrite(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int value)
{
	uint32_t addr;
	int error = conf_address(bus, dev, fun, reg, &addr);

	if (error)
		return error;
	outl(PCI_CONF_ADDR, addr);
	outl(PCI_CONF_DATA, value);
	return 0;
}

/* Device memory below 4 GiB is in the direct map (the firmware's MTRRs
 * make the PCI hole uncached); above, x86_mmio_map maps it uncached. */
void *rumpcomp_pci_map(unsigned long addr, unsigned long len)
{
	if (len == 0 || addr + len < addr)
		return NULL;
	return x86_mmio_map(addr, len);
}

int rumpcomp_pci_dmalloc(size_t size, size_t align, unsigned long *pap, unsigned long *vap)
{
	size_t npages = (size + BMK_PAGE_SIZE - 1) / BMK_PAGE_SIZE;
	void *p;

	if (align < BMK_PAGE_SIZE)
		align = BMK_PAGE_SIZE;
	if (npages == 0 || (p = bmk_pgalloc(npages, align)) == NULL)
		return ENOMEM;
	__builtin_memset(p, 0, npages * BMK_PAGE_SIZE);
	*vap = (unsigned long)p;
	*pap = rumpcomp_pci_virt_to_mach(p);
	return 0;
}

void rumpcomp_pci_dmafree(unsigned long vap, size_t size)
{
	bmk_pgfree((void *)vap, (size + BMK_PAGE_SIZE - 1) / BMK_PAGE_SIZE);
}

/* Kernel memory from the page allocator is physically contiguous, so a
 * DMA buffer's start gives the whole buffer. */
unsigned long rumpcomp_pci_virt_to_mach(void *virt)
{
	return (unsigned long)x86_virt_to_phys(virt);
}

unsigned char rumpcomp_pci_ext_io_read8(unsigned long port) { return inb(port); }
unsigned short rumpcomp_pci_ext_io_read16(unsigned long port) { return inw(port); }
unsigned int rumpcomp_pci_ext_io_read32(unsigned long port) { return inl(port); }
void rumpcomp_pci_ext_io_write8(unsigned long port, unsigned char v) { outb(port, v); }
void rumpcomp_pci_ext_io_write16(unsigned long port, unsigned short v) { outw(port, v); }
void rumpcomp_pci_ext_io_write32(unsigned long port, unsigned int v) { outl(port, v); }
