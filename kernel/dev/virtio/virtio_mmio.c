/*
 * The virtio MMIO transport (virtio 1.2, 4.2): devices that are a block of
 * registers in memory, outside any bus (QEMU's microvm machine).  The
 * platform says where they are (rumpcomp_pci_ext_mmio_device).  Version 2
 * is the modern interface; version 1 the legacy one (virtio 1.2, 4.2.4),
 * whose queues are given as a page number and whose features stop at bit
 * 31.  QEMU gives the legacy one unless -global
 * virtio-mmio.force-legacy=false; both work.
 */
#include <kernel/kernel.h>
#include <kernel/bus.h>
#include <kernel/virtio.h>

#define MMIO_MAGIC 0x000 /* "virt" */
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_GUEST_PAGE_SIZE 0x028 /* legacy */
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_ALIGN 0x03c /* legacy */
#define MMIO_QUEUE_PFN 0x040 /* legacy */
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080 /* low, then high at +4 */
#define MMIO_QUEUE_AVAIL 0x090
#define MMIO_QUEUE_USED 0x0a0
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG 0x100

/* Optional for a platform (rumpcomp_pci.h): one without memory-mapped
 * devices (Xen) may leave it out. */
#pragma weak rumpcomp_pci_ext_mmio_device

#define MMIO_MAGIC_VALUE 0x74726976
#define LEGACY_PAGE 4096 /* the guest page size we tell a legacy device */
#define COOKIE_BASE 0x10000 /* rumpcomp_pci.h: above every PCI cookie */

struct vmmio {
	struct virtio_dev vdev;
	volatile uint8_t *regs;
	unsigned cookie;
	int line; /* -1: the machine cannot deliver it */
};

#define VMMIO(d) ((struct vmmio *)(d)->transport)
#define REG(d, off) (VMMIO(d)->regs + (off))

static uint64_t mmio_get_features(struct virtio_dev *d)
{
	uint64_t f;

	mmio_write32(REG(d, MMIO_DEVICE_FEATURES_SEL), 0);
	f = mmio_read32(REG(d, MMIO_DEVICE_FEATURES));
	if (d->legacy)
		return f;
	mmio_write32(REG(d, MMIO_DEVICE_FEATURES_SEL), 1);
	return f | (uint64_t)mmio_read32(REG(d, MMIO_DEVICE_FEATURES)) << 32;
}

static void mmio_set_features(struct virtio_dev *d, uint64_t f)
{
	mmio_write32(REG(d, MMIO_DRIVER_FEATURES_SEL), 0);
	mmio_write32(REG(d, MMIO_DRIVER_FEATURES), (uint32_t)f);
	if (d->legacy)
		return;
	mmio_write32(REG(d, MMIO_DRIVER_FEATURES_SEL), 1);
	mmio_write32(REG(d, MMIO_DRIVER_FEATURES), (uint32_t)(f >> 32));
}

static uint8_t mmio_get_status(struct virtio_dev *d)
{
	return (uint8_t)mmio_read32(REG(d, MMIO_STATUS));
}

static void mmio_set_status(struct virtio_dev *d, uint8_t s)
{
	mmio_write32(REG(d, MMIO_STATUS), s);
	if (s == 0)
		while (mmio_read32(REG(d, MMIO_STATUS)) != 0)
			; /* the reset is done when the status reads 0 */
}

/* Byte by byte; on the modern interface reread until the generation is
 * stable (a multi-byte field may change between the reads of its bytes). */
static void mmio_read_config(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	uint32_t gen = 0;
	unsigned i;

	do {
		if (!d->legacy)
			gen = mmio_read32(REG(d, MMIO_CONFIG_GENERATION));
		for (i = 0; i < len; i++)
			((uint8_t *)buf)[i] = mmio_read8(REG(d, MMIO_CONFIG + off + i));
	} while (!d->legacy && gen != mmio_read32(REG(d, MMIO_CONFIG_GENERATION)));
}

static void mmio_write_config(struct virtio_dev *d, unsigned off, const void *buf, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		mmio_write8(REG(d, MMIO_CONFIG + off + i), ((const uint8_t *)buf)[i]);
}

static unsigned mmio_queue_max(struct virtio_dev *d, unsigned index)
{
	mmio_write32(REG(d, MMIO_QUEUE_SEL), index);
	if (!d->legacy && mmio_read32(REG(d, MMIO_QUEUE_READY)))
		return 0; /* in use already: not ours to set up */
	return mmio_read32(REG(d, MMIO_QUEUE_NUM_MAX));
}

static void write64(struct virtio_dev *d, unsigned off, uint64_t v)
{
	mmio_write32(REG(d, off), (uint32_t)v);
	mmio_write32(REG(d, off + 4), (uint32_t)(v >> 32));
}

static int mmio_queue_enable(struct virtio_dev *d, struct virtq *vq)
{
	mmio_write32(REG(d, MMIO_QUEUE_SEL), vq->index);
	mmio_write32(REG(d, MMIO_QUEUE_NUM), vq->size);
	if (d->legacy) {
		/* The core lays the rings out as legacy wants them: the used
		 * ring on the next 4096-byte boundary after the available one. */
		if (vq->desc_pa / LEGACY_PAGE > 0xffffffffUL)
			return -ENOMEM; /* the page number register has 32 bits */
		mmio_write32(REG(d, MMIO_GUEST_PAGE_SIZE), LEGACY_PAGE);
		mmio_write32(REG(d, MMIO_QUEUE_ALIGN), LEGACY_PAGE);
		mmio_write32(REG(d, MMIO_QUEUE_PFN), (uint32_t)(vq->desc_pa / LEGACY_PAGE));
		return 0;
	}
	write64(d, MMIO_QUEUE_DESC, vq->desc_pa);
	write64(d, MMIO_QUEUE_AVAIL, vq->avail_pa);
	write64(d, MMIO_QUEUE_USED, vq->used_pa);
	mmio_write32(REG(d, MMIO_QUEUE_READY), 1);
	return 0;
}

static void mmio_notify(struct virtio_dev *d, struct virtq *vq)
{
	mmio_write32(REG(d, MMIO_QUEUE_NOTIFY), vq->index);
}

/* The InterruptStatus bits are the ISR's (VIRTIO_INTR_*); writing them to
 * InterruptACK lowers the line. */
static unsigned mmio_intr_status(struct virtio_dev *d)
{
	uint32_t s = mmio_read32(REG(d, MMIO_INTERRUPT_STATUS));

	if (s)
		mmio_write32(REG(d, MMIO_INTERRUPT_ACK), s);
	return s;
}

static int mmio_intr_establish(struct virtio_dev *d, int (*fn)(void *), void *arg)
{
	if (VMMIO(d)->line < 0)
		return -ENXIO;
	if (!rumpcomp_pci_irq_establish(VMMIO(d)->cookie, fn, arg))
		return -ENOMEM;
	return 0;
}

static const struct virtio_transport_ops mmio_ops = {
    .get_features = mmio_get_features,
    .set_features = mmio_set_features,
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .read_config = mmio_read_config,
    .write_config = mmio_write_config,
    .queue_max = mmio_queue_max,
    .queue_enable = mmio_queue_enable,
    .notify = mmio_notify,
    .intr_status = mmio_intr_status,
    .intr_establish = mmio_intr_establish,
};

/* "mmio 0xfeb00e00" */
static void describe(char *where, size_t size, unsigned long addr)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];
	int n = 0;
	size_t i = 0;

	memcpy(where, "mmio 0x", 7);
	i = 7;
	do {
		digits[n++] = hex[addr & 15];
		addr >>= 4;
	} while (addr && n < 16);
	while (n && i + 1 < size)
		where[i++] = digits[--n];
	where[i] = '\0';
}

static void attach_one(unsigned cookie, unsigned long addr, unsigned long len, int line)
{
	volatile uint8_t *regs;
	struct vmmio *m;
	uint32_t version, id;

	if (len < MMIO_CONFIG || (regs = rumpcomp_pci_map(addr, len)) == NULL) {
		kprintf("rumprun: virtio-mmio device at 0x%lx (%lu bytes) cannot be mapped\n", addr,
		    len);
		return;
	}
	if (mmio_read32(regs + MMIO_MAGIC) != MMIO_MAGIC_VALUE)
		return; /* nothing there */
	version = mmio_read32(regs + MMIO_VERSION);
	id = mmio_read32(regs + MMIO_DEVICE_ID);
	if (id == 0)
		return; /* a transport without a device */
	if (version != 1 && version != 2) {
		kprintf("rumprun: virtio-mmio device at 0x%lx speaks version %u, not 1 or 2\n",
		    addr, version);
		return;
	}
	if ((m = kzalloc(sizeof(*m))) == NULL) {
		kprintf("rumprun: no memory for the virtio-mmio device at 0x%lx\n", addr);
		return;
	}
	m->regs = regs;
	m->cookie = cookie;
	m->line = line;
	m->vdev.ops = &mmio_ops;
	m->vdev.transport = m;
	m->vdev.device_id = id;
	m->vdev.legacy = version == 1;
	describe(m->vdev.where, sizeof(m->vdev.where), addr);
	virtio_attach(&m->vdev);
}

void virtio_mmio_attach_all(void)
{
	unsigned long addr, len;
	unsigned i;
	int line;

	if (!rumpcomp_pci_ext_mmio_device)
		return;
	for (i = 0;; i++) {
		int error = rumpcomp_pci_ext_mmio_device(i, COOKIE_BASE + i, &addr, &len, &line);

		if (error == ENOENT)
			break;
		attach_one(COOKIE_BASE + i, addr, len, error ? -1 : line);
	}
}
