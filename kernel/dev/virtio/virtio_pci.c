/*
 * The virtio PCI transport (virtio 1.2, 4.1): the modern interface, found
 * through vendor capabilities in memory BARs, and the legacy (0.9.5)
 * interface in I/O BAR 0.  A transitional device (QEMU's default) offers
 * both; the modern one is used when it is there.
 */
#include <kernel/kernel.h>
#include <kernel/bus.h>
#include <kernel/pci.h>
#include <kernel/virtio.h>

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_LEGACY_FIRST 0x1000 /* transitional: type in the subsystem id */
#define VIRTIO_PCI_LEGACY_LAST 0x103f
#define VIRTIO_PCI_MODERN_BASE 0x1040 /* modern: 0x1040 + type */
#define VIRTIO_PCI_MODERN_LAST 0x107f

/* Capability types (4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

/* The common configuration structure (4.1.4.3). */
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0c
#define COMMON_MSIX 0x10
#define COMMON_NUMQ 0x12
#define COMMON_STATUS 0x14
#define COMMON_CFGGEN 0x15
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF 0x1e
#define COMMON_Q_DESC 0x20
#define COMMON_Q_AVAIL 0x28
#define COMMON_Q_USED 0x30

/* The legacy I/O registers (4.1.4.8), without MSI-X. */
#define LEGACY_HOST_FEATURES 0x00
#define LEGACY_GUEST_FEATURES 0x04
#define LEGACY_QUEUE_PFN 0x08
#define LEGACY_QUEUE_SIZE 0x0c
#define LEGACY_QUEUE_SELECT 0x0e
#define LEGACY_QUEUE_NOTIFY 0x10
#define LEGACY_STATUS 0x12
#define LEGACY_ISR 0x13
#define LEGACY_CONFIG 0x14

struct vpci {
	struct virtio_dev vdev;
	struct pci_dev *pci;
	/* modern */
	volatile uint8_t *common, *notify, *isr, *device;
	uint32_t notify_mult;
	/* legacy */
	unsigned long io;
};

#define VPCI(d) ((struct vpci *)(d)->transport)

/* ---- modern ---------------------------------------------------------- */

static uint64_t modern_get_features(struct virtio_dev *d)
{
	volatile uint8_t *c = VPCI(d)->common;
	uint64_t f;

	mmio_write32(c + COMMON_DFSELECT, 0);
	f = mmio_read32(c + COMMON_DF);
	mmio_write32(c + COMMON_DFSELECT, 1);
	return f | (uint64_t)mmio_read32(c + COMMON_DF) << 32;
}

static void modern_set_features(struct virtio_dev *d, uint64_t f)
{
	volatile uint8_t *c = VPCI(d)->common;

	mmio_write32(c + COMMON_GFSELECT, 0);
	mmio_write32(c + COMMON_GF, (uint32_t)f);
	mmio_write32(c + COMMON_GFSELECT, 1);
	mmio_write32(c + COMMON_GF, (uint32_t)(f >> 32));
}

static uint8_t modern_get_status(struct virtio_dev *d)
{
	return mmio_read8(VPCI(d)->common + COMMON_STATUS);
}

static void modern_set_status(struct virtio_dev *d, uint8_t s)
{
	mmio_write8(VPCI(d)->common + COMMON_STATUS, s);
	if (s == 0)
		while (mmio_read8(VPCI(d)->common + COMMON_STATUS) != 0)
			; /* the reset is done when the status reads 0 */
}

/* Reread until the generation is stable: a multi-byte field may change
 * between the reads of its bytes. */
static void modern_read_config(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	volatile uint8_t *c = VPCI(d)->common;
	uint8_t gen;
	unsigned i;

	do {
		gen = mmio_read8(c + COMMON_CFGGEN);
		for (i = 0; i < len; i++)
			((uint8_t *)buf)[i] = mmio_read8(VPCI(d)->device + off + i);
	} while (gen != mmio_read8(c + COMMON_CFGGEN));
}

static void modern_write_config(struct virtio_dev *d, unsigned off, const void *buf, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		mmio_write8(VPCI(d)->device + off + i, ((const uint8_t *)buf)[i]);
}

static unsigned modern_queue_max(struct virtio_dev *d, unsigned index)
{
	volatile uint8_t *c = VPCI(d)->common;

	if (index >= mmio_read16(c + COMMON_NUMQ))
		return 0;
	mmio_write16(c + COMMON_Q_SELECT, (uint16_t)index);
	return mmio_read16(c + COMMON_Q_SIZE);
}

static int modern_queue_enable(struct virtio_dev *d, struct virtq *vq)
{
	struct vpci *p = VPCI(d);
	volatile uint8_t *c = p->common;

	mmio_write16(c + COMMON_Q_SELECT, (uint16_t)vq->index);
	mmio_write16(c + COMMON_Q_SIZE, (uint16_t)vq->size);
	mmio_write16(c + COMMON_Q_MSIX, 0xffff); /* no MSI-X vector: INTx */
	mmio_write64(c + COMMON_Q_DESC, vq->desc_pa);
	mmio_write64(c + COMMON_Q_AVAIL, vq->avail_pa);
	mmio_write64(c + COMMON_Q_USED, vq->used_pa);
	vq->transport =
	    (uintptr_t)(p->notify + (uint32_t)mmio_read16(c + COMMON_Q_NOFF) * p->notify_mult);
	mmio_write16(c + COMMON_Q_ENABLE, 1);
	return 0;
}

static void modern_notify(struct virtio_dev *d, struct virtq *vq)
{
	mmio_write16((volatile void *)vq->transport, (uint16_t)vq->index);
}

static unsigned modern_intr_status(struct virtio_dev *d)
{
	return mmio_read8(VPCI(d)->isr); /* reading acknowledges */
}

static int pci_transport_intr_establish(struct virtio_dev *d, int (*fn)(void *), void *arg)
{
	return pci_intr_establish(VPCI(d)->pci, fn, arg);
}

static const struct virtio_transport_ops modern_ops = {
    .get_features = modern_get_features,
    .set_features = modern_set_features,
    .get_status = modern_get_status,
    .set_status = modern_set_status,
    .read_config = modern_read_config,
    .write_config = modern_write_config,
    .queue_max = modern_queue_max,
    .queue_enable = modern_queue_enable,
    .notify = modern_notify,
    .intr_status = modern_intr_status,
    .intr_establish = pci_transport_intr_establish,
};

/* Map the structure a capability at off points to (memory BARs only). */
static volatile uint8_t *cap_map(struct pci_dev *pd, int off)
{
	uint8_t bar = pci_conf_read8(pd, off + 4);
	uint32_t offset = pci_conf_read32(pd, off + 8);
	uint32_t length = pci_conf_read32(pd, off + 12);
	volatile uint8_t *base;

	if (bar >= PCI_NBARS || pd->bar[bar].io || (uint64_t)offset + length > pd->bar[bar].size)
		return NULL;
	if ((base = pci_bar_map(pd, bar)) == NULL)
		return NULL;
	return base + offset;
}

/* Find the modern interface's structures; 0 when they are all there. */
static int modern_probe(struct vpci *p)
{
	struct pci_dev *pd = p->pci;
	int off;

	for (off = pci_cap_find(pd, PCI_CAP_VENDOR, 0); off;
	     off = pci_cap_find(pd, PCI_CAP_VENDOR, off)) {
		volatile uint8_t *m;

		switch (pci_conf_read8(pd, off + 3)) {
		case CAP_COMMON:
			if (!p->common && (m = cap_map(pd, off)))
				p->common = m;
			break;
		case CAP_NOTIFY:
			if (!p->notify && (m = cap_map(pd, off))) {
				p->notify = m;
				p->notify_mult = pci_conf_read32(pd, off + 16);
			}
			break;
		case CAP_ISR:
			if (!p->isr && (m = cap_map(pd, off)))
				p->isr = m;
			break;
		case CAP_DEVICE:
			if (!p->device && (m = cap_map(pd, off)))
				p->device = m;
			break;
		}
	}
	return p->common && p->notify && p->isr && p->device ? 0 : -ENODEV;
}

/* ---- legacy ---------------------------------------------------------- */

static uint64_t legacy_get_features(struct virtio_dev *d)
{
	return rumpcomp_pci_ext_io_read32(VPCI(d)->io + LEGACY_HOST_FEATURES);
}

static void legacy_set_features(struct virtio_dev *d, uint64_t f)
{
	rumpcomp_pci_ext_io_write32(VPCI(d)->io + LEGACY_GUEST_FEATURES, (uint32_t)f);
}

static uint8_t legacy_get_status(struct virtio_dev *d)
{
	return rumpcomp_pci_ext_io_read8(VPCI(d)->io + LEGACY_STATUS);
}

static void legacy_set_status(struct virtio_dev *d, uint8_t s)
{
	rumpcomp_pci_ext_io_write8(VPCI(d)->io + LEGACY_STATUS, s);
}

static void legacy_read_config(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		((uint8_t *)buf)[i] =
		    rumpcomp_pci_ext_io_read8(VPCI(d)->io + LEGACY_CONFIG + off + i);
}

static void legacy_write_config(struct virtio_dev *d, unsigned off, const void *buf, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		rumpcomp_pci_ext_io_write8(
		    VPCI(d)->io + LEGACY_CONFIG + off + i, ((const uint8_t *)buf)[i]);
}

static unsigned legacy_queue_max(struct virtio_dev *d, unsigned index)
{
	rumpcomp_pci_ext_io_write16(VPCI(d)->io + LEGACY_QUEUE_SELECT, (uint16_t)index);
	return rumpcomp_pci_ext_io_read16(VPCI(d)->io + LEGACY_QUEUE_SIZE);
}

static int legacy_queue_enable(struct virtio_dev *d, struct virtq *vq)
{
	unsigned long io = VPCI(d)->io;

	if (vq->desc_pa >> 44)
		return -ENOMEM; /* the page number register has 32 bits */
	rumpcomp_pci_ext_io_write16(io + LEGACY_QUEUE_SELECT, (uint16_t)vq->index);
	rumpcomp_pci_ext_io_write32(io + LEGACY_QUEUE_PFN, (uint32_t)(vq->desc_pa >> 12));
	return 0;
}

static void legacy_notify(struct virtio_dev *d, struct virtq *vq)
{
	rumpcomp_pci_ext_io_write16(VPCI(d)->io + LEGACY_QUEUE_NOTIFY, (uint16_t)vq->index);
}

static unsigned legacy_intr_status(struct virtio_dev *d)
{
	return rumpcomp_pci_ext_io_read8(VPCI(d)->io + LEGACY_ISR);
}

static const struct virtio_transport_ops legacy_ops = {
    .get_features = legacy_get_features,
    .set_features = legacy_set_features,
    .get_status = legacy_get_status,
    .set_status = legacy_set_status,
    .read_config = legacy_read_config,
    .write_config = legacy_write_config,
    .queue_max = legacy_queue_max,
    .queue_enable = legacy_queue_enable,
    .notify = legacy_notify,
    .intr_status = legacy_intr_status,
    .intr_establish = pci_transport_intr_establish,
};

/* ---- the PCI driver -------------------------------------------------- */

static int vpci_match(const struct pci_dev *d)
{
	return d->vendor == VIRTIO_PCI_VENDOR && d->device >= VIRTIO_PCI_LEGACY_FIRST &&
	    d->device <= VIRTIO_PCI_MODERN_LAST;
}

static int vpci_attach(struct pci_dev *pd)
{
	struct vpci *p = kzalloc(sizeof(*p));
	struct virtio_dev *d;

	if (!p)
		return -ENOMEM;
	d = &p->vdev;
	p->pci = pd;
	d->transport = p;
	d->device_id = pd->device >= VIRTIO_PCI_MODERN_BASE ? pd->device - VIRTIO_PCI_MODERN_BASE
	                                                    : pd->subsys_device;
	memcpy(d->where, "pci ", 4);
	memcpy(d->where + 4, pci_name(pd).s, sizeof(pci_name(pd).s));
	pci_enable(pd);
	if (modern_probe(p) == 0) {
		d->ops = &modern_ops;
	} else if (pd->device <= VIRTIO_PCI_LEGACY_LAST && pd->bar[0].io) {
		d->ops = &legacy_ops;
		d->legacy = 1;
		p->io = pd->bar[0].addr;
	} else {
		kprintf("rumprun: virtio device at pci %s has neither a usable modern "
		        "nor a legacy interface\n",
		    pci_name(pd).s);
		kfree(p, sizeof(*p));
		return -ENODEV;
	}
	return virtio_attach(d);
}

static const struct pci_driver virtio_pci_driver = {
    .name = "virtio-pci",
    .match = vpci_match,
    .attach = vpci_attach,
};
PCI_DRIVER_REGISTER(virtio_pci_driver);
