/*
 * rumpcomp PCI hypercalls (kernel/include/rumpcomp_pci.h) on Xen: a PVH
 * guest has no PCI bus (its devices are Xen's split drivers), so
 * configuration reads answer ENXIO and the kernel's enumeration finds
 * nothing.  DMA memory still comes from the page allocator.
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <errno.h>
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

int rumpcomp_pci_irq_map(unsigned bus, unsigned dev, unsigned fun, int intrline, unsigned cookie)
{
	return EINVAL;
}

void *rumpcomp_pci_irq_establish(unsigned cookie, int (*handler)(void *), void *data)
{
	return NULL;
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

unsigned long rumpcomp_pci_virt_to_mach(void *virt)
{
	return (unsigned long)x86_virt_to_phys(virt);
}

unsigned char rumpcomp_pci_ext_io_read8(unsigned long port) { return 0xff; }
unsigned short rumpcomp_pci_ext_io_read16(unsigned long port) { return 0xffff; }
unsigned int rumpcomp_pci_ext_io_read32(unsigned long port) { return 0xffffffff; }
void rumpcomp_pci_ext_io_write8(unsigned long port, unsigned char v) {}
void rumpcomp_pci_ext_io_write16(unsigned long port, unsigned short v) {}
void rumpcomp_pci_ext_io_write32(unsigned long port, unsigned int v) {}
