/*
 * The virtio core: driver matching, feature negotiation and split
 * virtqueues, independent of the transport (kernel/include/kernel/virtio.h).
 */
#include <kernel/kernel.h>
#include <kernel/bus.h>
#include <kernel/virtio.h>

extern const struct virtio_driver *const __start_rumprun_virtio_drivers[];
extern const struct virtio_driver *const __stop_rumprun_virtio_drivers[];

#define LEGACY_ALIGN 4096 /* the used ring's alignment on a legacy interface */

int virtio_attach(struct virtio_dev *d)
{
	const struct virtio_driver *const *drv;
	int error;

	for (drv = __start_rumprun_virtio_drivers; drv < __stop_rumprun_virtio_drivers; drv++) {
		if ((*drv)->device_id != d->device_id)
			continue;
		if ((error = (*drv)->attach(d)) != 0)
			d->ops->set_status(d, d->ops->get_status(d) | VIRTIO_STATUS_FAILED);
		return error;
	}
	d->ops->set_status(d, 0);
	return -ENODEV;
}

int virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t offered;

	d->ops->set_status(d, 0);
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	d->ops->set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	offered = d->ops->get_features(d);
	wanted |= VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX); /* the rings below implement it */
	if (!d->legacy) {
		if (!(offered & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)))
			return -ENODEV;
		wanted |= VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
	}
	d->features = offered & wanted;
	d->ops->set_features(d, d->features);
	if (d->legacy)
		return 0;
	d->ops->set_status(
	    d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(d->ops->get_status(d) & VIRTIO_STATUS_FEATURES_OK))
		return -ENODEV;
	return 0;
}

void virtio_ready(struct virtio_dev *d)
{
	d->ops->set_status(d, d->ops->get_status(d) | VIRTIO_STATUS_DRIVER_OK);
}

void virtio_fail(struct virtio_dev *d, const char *name, const char *why)
{
	kprintf("rumprun: %s (%s): %s\n", name, d->where, why);
	d->ops->set_status(d, d->ops->get_status(d) | VIRTIO_STATUS_FAILED);
}

/* ---- split virtqueues ------------------------------------------------ */

/* Where the event-index words live: after each ring's entries. */
static inline volatile uint16_t *used_event(struct virtq *vq) { return &vq->avail->ring[vq->size]; }

static inline volatile uint16_t *avail_event(struct virtq *vq)
{
	return (volatile uint16_t *)&vq->used->ring[vq->size];
}

static inline uint16_t used_idx(struct virtq *vq) { return *(volatile uint16_t *)&vq->used->idx; }

/*
 * Whether the CPU is QEMU's TCG, whose fences need help (virtq_fence):
 * TCG says so in the hypervisor CPUID leaf.
 */
static int cpu_is_tcg(void)
{
	static int known = -1;
	unsigned a, b, c, d;

	if (known < 0) {
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
		known = 0;
		if (c & (1u << 31)) { /* a hypervisor is there */
			__asm__ volatile("cpuid"
			                 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			                 : "a"(0x40000000), "c"(0));
			known = !memcmp(&b, "TCGT", 4) && !memcmp(&c, "CGTC", 4) &&
			    !memcmp(&d, "GTCG", 4);
		}
	}
	return known;
}

/*
 * A full barrier between publishing an index and reading the device's
 * event word, or asking for an interrupt and reading the used index: the
 * device does the converse on its side, so without it both may read the
 * other's old value and a notification or an interrupt is lost for good.
 * QEMU's TCG with one vCPU translates the guest's mfence to nothing (no
 * other vCPU to order against), yet its device models read the rings from
 * another host thread; a store could stay in the host's store buffer and
 * a queue stalled (a 20 MB upload over virtio-net, one run in three).
 * There a register read does it: QEMU serves it under its global lock,
 * whose taking is a full barrier on the host.
 */
static void virtq_fence(struct virtq *vq)
{
	dma_mb();
	if (cpu_is_tcg())
		(void)vq->dev->ops->get_status(vq->dev);
}

int virtq_create(struct virtio_dev *d, struct virtq *vq, unsigned index, unsigned size)
{
	unsigned max = d->ops->queue_max(d, index), i;
	size_t avail_off, used_off;
	unsigned long pa, va;
	int error;

	if (max == 0)
		return -ENOENT;
	if (d->legacy || size == 0 || size > max)
		size = max;
	while (size & (size - 1))
		size &= size - 1; /* a power of two, rounding down */

	/* The legacy layout (descriptors, available ring, then the used ring
	 * on the next 4096-byte boundary) suits both interfaces. */
	avail_off = 16 * size;
	used_off = ROUNDUP(avail_off + 6 + 2 * size, LEGACY_ALIGN);
	memset(vq, 0, sizeof(*vq));
	vq->mem_bytes = ROUNDUP(used_off + 6 + 8 * size, LEGACY_ALIGN);
	if (rumpcomp_pci_dmalloc(vq->mem_bytes, LEGACY_ALIGN, &pa, &va) != 0)
		return -ENOMEM;
	if ((vq->cookies = kzalloc(size * sizeof(void *))) == NULL) {
		rumpcomp_pci_dmafree(va, vq->mem_bytes);
		return -ENOMEM;
	}
	vq->dev = d;
	vq->index = index;
	vq->size = size;
	vq->mem = (void *)va;
	vq->desc = (struct virtq_desc *)va;
	vq->avail = (struct virtq_avail *)(va + avail_off);
	vq->used = (struct virtq_used *)(va + used_off);
	vq->desc_pa = pa;
	vq->avail_pa = pa + avail_off;
	vq->used_pa = pa + used_off;
	for (i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->nfree = (uint16_t)size;
	vq->event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
	if ((error = d->ops->queue_enable(d, vq)) != 0) {
		kfree(vq->cookies, size * sizeof(void *));
		rumpcomp_pci_dmafree(va, vq->mem_bytes);
		vq->mem = NULL;
		return error;
	}
	return 0;
}

int virtq_add(
    struct virtq *vq, const struct virtq_seg *segs, unsigned nout, unsigned nin, void *cookie)
{
	unsigned n = nout + nin, j;
	uint16_t head = vq->free_head, i = head, last = head;

	if (n == 0 || n > vq->nfree)
		return -ENOSPC;
	for (j = 0; j < n; j++) {
		struct virtq_desc *desc = &vq->desc[i];

		desc->addr = segs[j].pa;
		desc->len = segs[j].len;
		desc->flags =
		    (j >= nout ? VIRTQ_DESC_F_WRITE : 0) | (j + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		last = i;
		i = desc->next; /* free descriptors are chained in order */
	}
	vq->free_head = vq->desc[last].next;
	vq->nfree -= n;
	vq->cookies[head] = cookie;
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	return 0;
}

void virtq_kick(struct virtq *vq)
{
	uint16_t old = vq->kicked_idx, new = vq->avail_idx;
	int notify;

	if (old == new)
		return;
	dma_wmb(); /* the entries before the index that publishes them */
	*(volatile uint16_t *)&vq->avail->idx = new;
	vq->kicked_idx = new;
	virtq_fence(vq); /* the index before reading whether to notify */
	if (vq->event_idx)
		notify = (uint16_t)(new - *avail_event(vq) - 1) < (uint16_t)(new - old);
	else
		notify = !(*(volatile uint16_t *)&vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	if (notify)
		vq->dev->ops->notify(vq->dev, vq);
}

void *virtq_get(struct virtq *vq, uint32_t *len)
{
	struct virtq_used_elem e;
	uint16_t id, i, n = 1;
	void *cookie;

	if (vq->last_used == used_idx(vq)) {
		/* Empty after used_event moved: the device may have read the
		 * old used_event for an entry this read missed (the race
		 * virtq_fence describes), so look once more after a fence;
		 * a driver that drains until empty then loses no interrupt. */
		if (!vq->event_unfenced)
			return NULL;
		vq->event_unfenced = 0;
		virtq_fence(vq);
		if (vq->last_used == used_idx(vq))
			return NULL;
	}
	dma_rmb(); /* the index before the entry it covers */
	e = vq->used->ring[vq->last_used & (vq->size - 1)];
	vq->last_used++;
	id = (uint16_t)e.id;
	if (id >= vq->size || !(cookie = vq->cookies[id]))
		panic("virtio (%s): the device returned descriptor %u, which it does not own",
		    vq->dev->where, id);
	vq->cookies[id] = NULL;
	for (i = id; vq->desc[i].flags & VIRTQ_DESC_F_NEXT; i = vq->desc[i].next)
		n++;
	vq->desc[i].next = vq->free_head;
	vq->free_head = id;
	vq->nfree += n;
	if (vq->event_idx && !(vq->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
		*used_event(vq) = vq->last_used; /* interrupt for the next one */
		vq->event_unfenced = 1;
	}
	if (len)
		*len = e.len;
	return cookie;
}

/* With event indexes the flag is only our own note (the device looks at
 * used_event, which stops moving); without, it asks the device. */
void virtq_intr_disable(struct virtq *vq) { vq->avail->flags |= VIRTQ_AVAIL_F_NO_INTERRUPT; }

int virtq_intr_enable(struct virtq *vq)
{
	vq->avail->flags &= ~VIRTQ_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		*used_event(vq) = vq->last_used;
	vq->event_unfenced = 0;
	virtq_fence(vq); /* the request before looking for what came meanwhile */
	return used_idx(vq) != vq->last_used;
}
