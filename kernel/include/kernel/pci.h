/*
 * PCI devices and their drivers (kernel/dev/pci.c), over the rumpcomp PCI
 * hypercalls (rumpcomp_pci.h).
 *
 * At boot, dev_attach() (kernel/include/kernel/dev.h) enumerates bus 0 and
 * the buses behind PCI-to-PCI bridges, then offers each function, in
 * discovery order, to the drivers registered with PCI_DRIVER_REGISTER: the
 * first driver whose match() accepts it gets attach().  A driver that
 * fails prints one console line saying why; the machine boots on.
 *
 * Everything here returns 0 or a negative errno value unless said otherwise.
 */
#ifndef KERNEL_PCI_H
#define KERNEL_PCI_H

#include <stdint.h>

#define PCI_NBARS 6

/* Configuration space registers drivers use. */
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_CAP_VENDOR 0x09 /* vendor-specific capability (virtio's) */

struct pci_bar {
	uint64_t addr; /* bus address, or port for I/O; 0: no BAR */
	uint64_t size; /* bytes */
	int io; /* I/O ports rather than memory */
	volatile void *va; /* memory BARs: the mapping, once made */
};

struct pci_dev {
	unsigned bus, dev, fun;
	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint8_t class, subclass, progif, revision;
	uint8_t irq_line; /* as the firmware programmed it; 0xff: none */
	uint8_t irq_pin; /* 1-4 for INTA-INTD; 0: no interrupt */
	struct pci_bar bar[PCI_NBARS];
	const struct pci_driver *driver; /* the driver that attached, or NULL */
	struct pci_dev *next;
};

struct pci_driver {
	const char *name;
	/* Nonzero when this driver drives d (only reads d). */
	int (*match)(const struct pci_dev *d);
	/* Bring d up: 0, or -errno after printing why on the console. */
	int (*attach)(struct pci_dev *d);
};

#define PCI_DRIVER_REGISTER(drv) \
	static const struct pci_driver *const __pci_driver_##drv \
	    __attribute__((used, section("rumprun_pci_drivers"), aligned(8))) = &(drv)

/* Configuration space: reg is a byte offset; 8/16-bit accesses are
 * naturally aligned.  A function that does not exist reads all ones. */
uint32_t pci_conf_read32(const struct pci_dev *d, int reg);
uint16_t pci_conf_read16(const struct pci_dev *d, int reg);
uint8_t pci_conf_read8(const struct pci_dev *d, int reg);
void pci_conf_write32(const struct pci_dev *d, int reg, uint32_t value);
void pci_conf_write16(const struct pci_dev *d, int reg, uint16_t value);

/* The configuration offset of the first capability with id cap after
 * offset after (0: from the start of the list), or 0 when there is none. */
int pci_cap_find(const struct pci_dev *d, int cap, int after);

/* Turn on I/O and memory decoding and bus mastering (DMA), and let the
 * function raise INTx. */
void pci_enable(struct pci_dev *d);

/* The virtual address of memory BAR n, mapped on first use; NULL when n
 * is no memory BAR or cannot be mapped. */
volatile void *pci_bar_map(struct pci_dev *d, int n);

/* Call fn(arg) in thread context for each of d's interrupts (the model is
 * described in rumpcomp_pci.h).  Returns 0, -ENXIO when d has no
 * interrupt line, -ENOMEM. */
int pci_intr_establish(struct pci_dev *d, int (*fn)(void *), void *arg);

/* Enumerate the buses and attach drivers (called by dev_attach). */
void pci_attach_all(void);

/* "bus:dev.fun" of d, for messages (a static buffer per call site is not
 * needed: it fits in 8 bytes plus the NUL). */
struct pci_name {
	char s[12];
};
struct pci_name pci_name(const struct pci_dev *d);

#endif
