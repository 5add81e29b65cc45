/*
 * rumpcomp PCI hypercalls in a process: there is no PCI bus, so
 * configuration reads answer ENXIO and enumeration finds nothing.  DMA
 * memory is ordinary page-aligned memory (its "bus address" is its address),
 * so kernel code that allocates rings can still run here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rumpcomp_pci.h"

int rumpcomp_pci_confread(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int *value)
{
	*value = 0xffffffff;
	return ENXIO;
}

int rumpcomp_pci_confwrite(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int value)
{
	return ENXIO;
}

void *rumpcomp_pci_map(unsigned long addr, unsigned long len) { return NULL; }

int rumpcomp_pci_ext_mmio_device(
    unsigned index, unsigned cookie, unsigned long *addr, unsigned long *len, int *intrline)
{
	return ENOENT;
}

int rumpcomp_pci_irq_map(unsigned bus, unsigned dev, unsigned fun, int intrline, unsigned cookie)
{
	return EINVAL;
}

void *rumpcomp_pci_irq_establish(unsigned cookie, int (*handler)(void *), void *data)
{
	return NULL;
}

void rumpcomp_pci_irq_awaited(int delta) {}

int rumpcomp_pci_dmalloc(size_t size, size_t align, unsigned long *pap, unsigned long *vap)
{
	void *p;

	if (align < 4096)
		align = 4096;
	size = (size + 4095) & ~(size_t)4095;
	if (size == 0 || (p = aligned_alloc(align, size)) == NULL)
		return ENOMEM;
	memset(p, 0, size);
	*vap = (unsigned long)p;
	*pap = (unsigned long)p;
	return 0;
}

void rumpcomp_pci_dmafree(unsigned long vap, size_t size) { free((void *)vap); }

unsigned long rumpcomp_pci_virt_to_mach(void *virt) { return (unsigned long)virt; }

unsigned char rumpcomp_pci_ext_io_read8(unsigned long port) { return 0xff; }
unsigned short rumpcomp_pci_ext_io_read16(unsigned long port) { return 0xffff; }
unsigned int rumpcomp_pci_ext_io_read32(unsigned long port) { return 0xffffffff; }
void rumpcomp_pci_ext_io_write8(unsigned long port, unsigned char v) {}
void rumpcomp_pci_ext_io_write16(unsigned long port, unsigned short v) {}
void rumpcomp_pci_ext_io_write32(unsigned long port, unsigned int v) {}
