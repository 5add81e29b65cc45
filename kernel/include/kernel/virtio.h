/*
 * Virtio (virtio 1.x, and the legacy 0.9.5 interface QEMU still offers):
 * the transport-independent core (kernel/dev/virtio/virtio.c) between
 * transports and device drivers.
 *
 *   transports  find devices, fill a struct virtio_dev with their ops and
 *               call virtio_attach():  PCI (virtio_pci.c, modern and
 *               legacy), and MMIO (virtio_mmio.c, version 2 and the
 *               legacy version 1) where a machine has it;
 *   drivers     register with VIRTIO_DRIVER_REGISTER for a device type
 *               (net, block, console, 9p) and use only this header:
 *               feature negotiation, split virtqueues, interrupts.
 *
 * A driver's attach, in order (virtio 1.2, 3.1.1):
 *   virtio_negotiate(d, wanted)  reset, ACKNOWLEDGE|DRIVER, features, FEATURES_OK
 *   virtq_create(d, vq, i, n)    for each queue it uses
 *   fill receive queues, virtio_intr_establish() (or poll)
 *   virtio_ready(d)              DRIVER_OK: the device may now use the queues
 *
 * Threads: drivers run on the cooperative scheduler; a virtqueue needs no
 * lock as long as its users do not block between starting and finishing an
 * operation on it.  Interrupt handlers run in thread context (see
 * rumpcomp_pci.h).  Memory shared with the device comes from
 * rumpcomp_pci_dmalloc; descriptors carry bus addresses
 * (rumpcomp_pci_virt_to_mach), never virtual ones.
 *
 * Functions returning int return 0 or a negative errno value.
 */
#ifndef KERNEL_VIRTIO_H
#define KERNEL_VIRTIO_H

#include <stddef.h>
#include <stdint.h>
#include "rumpcomp_pci.h" /* DMA memory for buffers */

/* Device types (virtio 1.2, 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_9P 9

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Feature bits of the device-independent part (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_FEATURE(bit) (1ULL << (bit))

/* Interrupt causes, as intr_status reports them (the ISR bits). */
#define VIRTIO_INTR_QUEUE 0x01
#define VIRTIO_INTR_CONFIG 0x02

/* Split virtqueue layout (2.7). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then used_event */
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* then avail_event */
};
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtio_dev;

/* A virtqueue; its fields are the core's and the transport's. */
struct virtq {
	struct virtio_dev *dev;
	unsigned index; /* queue number in the device */
	unsigned size; /* descriptors (a power of two) */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	unsigned long desc_pa, avail_pa, used_pa; /* bus addresses */
	void *mem; /* the rings' DMA memory */
	size_t mem_bytes;
	void **cookies; /* per head descriptor */
	uint16_t free_head, nfree;
	uint16_t avail_idx; /* next avail->idx to publish */
	uint16_t last_used; /* next used entry to take */
	uint16_t kicked_idx; /* avail_idx at the last notification */
	int event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	int event_unfenced; /* used_event moved since the last virtq_fence */
	uintptr_t transport; /* the transport's per-queue data */
};

/*
 * What a transport provides.  set_status(d, 0) resets the device and
 * returns once the reset is done.  queue_max: the largest size queue index
 * may have, 0 when there is no such queue.  queue_enable: tell the device
 * where vq's rings are and enable the queue (0, or -errno).  intr_status:
 * read and acknowledge the interrupt causes (VIRTIO_INTR_*).
 * intr_establish: call fn(arg) for the device's interrupts (0, or -errno
 * when the device cannot interrupt: the driver then polls).
 */
struct virtio_transport_ops {
	uint64_t (*get_features)(struct virtio_dev *d);
	void (*set_features)(struct virtio_dev *d, uint64_t features);
	uint8_t (*get_status)(struct virtio_dev *d);
	void (*set_status)(struct virtio_dev *d, uint8_t status);
	void (*read_config)(struct virtio_dev *d, unsigned off, void *buf, unsigned len);
	void (*write_config)(struct virtio_dev *d, unsigned off, const void *buf, unsigned len);
	unsigned (*queue_max)(struct virtio_dev *d, unsigned index);
	int (*queue_enable)(struct virtio_dev *d, struct virtq *vq);
	void (*notify)(struct virtio_dev *d, struct virtq *vq);
	unsigned (*intr_status)(struct virtio_dev *d);
	int (*intr_establish)(struct virtio_dev *d, int (*fn)(void *), void *arg);
};

struct virtio_dev {
	/* Filled by the transport before virtio_attach(). */
	const struct virtio_transport_ops *ops;
	void *transport; /* the transport's state */
	unsigned device_id; /* VIRTIO_ID_* */
	int legacy; /* the 0.9.5 interface: no VERSION_1, queue
					 * sizes fixed by the device, rings at
					 * 4096-byte alignment */
	char where[24]; /* for messages: "pci 00:03.0" */
	/* Set by the core. */
	uint64_t features; /* negotiated */
	void *driver; /* the driver's state */
};

struct virtio_driver {
	const char *name;
	unsigned device_id;
	/* 0, or -errno after printing why on the console (the core then
	 * marks the device FAILED). */
	int (*attach)(struct virtio_dev *d);
};

#define VIRTIO_DRIVER_REGISTER(drv) \
	static const struct virtio_driver *const __virtio_driver_##drv \
	    __attribute__((used, section("rumprun_virtio_drivers"), aligned(8))) = &(drv)

/* The MMIO transport's enumeration (virtio_mmio.c): attach a driver to
 * every device the platform announces (rumpcomp_pci_ext_mmio_device), in
 * its order.  Called once by dev_attach(); problems are reported on the
 * console and the device left alone. */
void virtio_mmio_attach_all(void);

/* Transports: offer d to the driver of its type.  0, -ENODEV when no
 * driver is registered for it (the device is left reset), or the
 * driver's error. */
int virtio_attach(struct virtio_dev *d);

/*
 * Reset d and negotiate features: those in wanted that the device offers,
 * plus VERSION_1 on a modern interface (required there).  Sets
 * d->features.  Returns 0, or -ENODEV when the device refuses the result
 * (FEATURES_OK does not stick) or a modern device lacks VERSION_1.
 */
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted);
static inline int virtio_has(const struct virtio_dev *d, int bit)
{
	return (d->features & VIRTIO_FEATURE(bit)) != 0;
}
/* DRIVER_OK: the driver is ready, the device may use the queues. */
void virtio_ready(struct virtio_dev *d);
/* Print "rumprun: NAME (where): why" and mark the device FAILED. */
void virtio_fail(struct virtio_dev *d, const char *name, const char *why);

/* The device-specific configuration (little endian, as on the wire). */
static inline void virtio_config_read(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	d->ops->read_config(d, off, buf, len);
}
static inline void virtio_config_write(
    struct virtio_dev *d, unsigned off, const void *buf, unsigned len)
{
	d->ops->write_config(d, off, buf, len);
}

/* Interrupts: fn(arg) runs in thread context; it must call
 * virtio_intr_status() once, which acknowledges the interrupt. */
static inline int virtio_intr_establish(struct virtio_dev *d, int (*fn)(void *), void *arg)
{
	return d->ops->intr_establish(d, fn, arg);
}
static inline unsigned virtio_intr_status(struct virtio_dev *d) { return d->ops->intr_status(d); }

/*
 * Virtqueues.
 * virtq_create: queue index with at most size descriptors (a power of two;
 *   the device's maximum when larger, and exactly the device's size on a
 *   legacy interface).  Returns 0, -ENOENT when the device has no such
 *   queue, -ENOMEM, or the transport's error.
 * virtq_add: make one buffer available: nout device-readable segments,
 *   then nin device-writable ones (nout + nin >= 1).  cookie (not NULL)
 *   comes back from virtq_get when the device is done with it.  Returns 0
 *   or -ENOSPC when there are not enough free descriptors.  The device
 *   sees it after the next virtq_kick.
 * virtq_kick: publish what was added and notify the device, unless it said
 *   it does not need to be.
 * virtq_get: the cookie of the next buffer the device has used, with the
 *   bytes it wrote in *len, or NULL when there is none.  Its descriptors
 *   are free again.
 * virtq_intr_disable / virtq_intr_enable: ask the device not to interrupt
 *   for this queue, or to interrupt again; virtq_intr_enable returns 1 when
 *   used buffers arrived in between (take them with virtq_get: no
 *   interrupt will come for them), else 0.  Hints only: a device may
 *   interrupt anyway.
 */
struct virtq_seg {
	unsigned long pa; /* bus address */
	uint32_t len;
};
int virtq_create(struct virtio_dev *d, struct virtq *vq, unsigned index, unsigned size);
int virtq_add(
    struct virtq *vq, const struct virtq_seg *segs, unsigned nout, unsigned nin, void *cookie);
void virtq_kick(struct virtq *vq);
void *virtq_get(struct virtq *vq, uint32_t *len);
void virtq_intr_disable(struct virtq *vq);
int virtq_intr_enable(struct virtq *vq);
/* Free descriptors now. */
static inline unsigned virtq_nfree(const struct virtq *vq) { return vq->nfree; }

#endif
