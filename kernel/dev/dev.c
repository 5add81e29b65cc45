/* dev_attach: the boot hook that finds devices (kernel/include/kernel/dev.h). */
#include <kernel/kernel.h>
#include <kernel/dev.h>
#include <kernel/pci.h>
#include <kernel/virtio.h>
#include <kernel/xenbus.h>

void dev_attach(void)
{
	moddisk_attach();
	pci_attach_all();
	virtio_mmio_attach_all();
	xenbus_attach_all();
}
