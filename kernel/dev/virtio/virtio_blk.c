/*
 * virtio-blk (virtio 1.2, 5.2): disks ld0, ld1... for the block device
 * registry (kernel/include/kernel/blkdev.h), in discovery order.
 *
 * One request queue.  A request is three descriptors: the header
 * (type, sector), the data, the status byte the device writes.  Requests
 * use slots: each slot owns a header, a status byte and a bounce buffer of
 * SLOT_BYTES in DMA memory (the registry hands us any kernel memory, and
 * only DMA memory has bus addresses), so up to NSLOTS requests are in
 * flight at once; a submitter finding none free waits for one.
 * Completion comes by interrupt: the handler copies read data back, and
 * calls the request's done callback.  BLKDEV_SYNC writes are a write
 * followed by a flush (virtio-blk has no FUA); flushes are only sent when
 * the device has a volatile cache (VIRTIO_BLK_F_FLUSH), else every
 * completed write is already stable.
 */
#include <kernel/kernel.h>
#include <kernel/blkdev.h>
#include <kernel/virtio.h>

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* Device configuration (5.2.4). */
#define CONFIG_CAPACITY 0 /* le64, 512-byte sectors */
#define CONFIG_SIZE_MAX 8 /* le32 */
#define CONFIG_BLK_SIZE 20 /* le32 */

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define S_OK 0

/* Completions by polling (a kernel thread spinning on the used ring while
 * requests are outstanding) instead of interrupts: see README. */
#ifndef VIRTIO_BLK_POLL
#define VIRTIO_BLK_POLL 1
#endif

#define NSLOTS 32
#define SLOT_BYTES (128 * 1024)

struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct vblk_slot {
	struct vblk_hdr *hdr; /* in DMA memory */
	volatile uint8_t *status;
	unsigned long hdr_pa, status_pa;
	uint8_t *bounce;
	unsigned long bounce_pa;
	/* The request: */
	int op; /* BLKDEV_* */
	void *buf;
	size_t len;
	uint64_t off;
	blkdev_done_fn done;
	void *arg;
	int then_flush; /* a SYNC write: flush when written */
	int next_free;
};

struct vblk {
	struct blkdev bd;
	struct virtio_dev *vd;
	struct virtq vq;
	struct vblk_slot slots[NSLOTS];
	int free_head; /* -1: none */
	int has_flush;
	struct rumpuser_mtx *mtx; /* slots and the queue */
	struct rumpuser_cv *slot_cv;
	int slot_waiters;
	int inflight; /* requests on the queue */
	int polling; /* completions by the poller thread */
	struct rumpuser_cv *poll_cv; /* the poller waits here when idle */
};

static int slot_get(struct vblk *sc)
{
	rumpuser_mutex_enter(sc->mtx);
	while (sc->free_head < 0) {
		sc->slot_waiters++;
		rumpuser_cv_wait(sc->slot_cv, sc->mtx);
		sc->slot_waiters--;
	}
	int i = sc->free_head;
	sc->free_head = sc->slots[i].next_free;
	rumpuser_mutex_exit(sc->mtx);
	return i;
}

static void slot_put(struct vblk *sc, int i)
{
	rumpuser_mutex_enter(sc->mtx);
	sc->slots[i].next_free = sc->free_head;
	sc->free_head = i;
	if (sc->slot_waiters)
		rumpuser_cv_signal(sc->slot_cv);
	rumpuser_mutex_exit(sc->mtx);
}

/* Put slot i's request (its header already filled) on the queue. */
static void slot_start(struct vblk *sc, int i, uint32_t type, uint64_t off, size_t len)
{
	struct vblk_slot *s = &sc->slots[i];
	struct virtq_seg segs[3];
	unsigned n = 0, nout;

	s->hdr->type = type;
	s->hdr->reserved = 0;
	s->hdr->sector = off / 512;
	*s->status = 0xff;
	segs[n++] = (struct virtq_seg){s->hdr_pa, sizeof(struct vblk_hdr)};
	if (type == T_OUT)
		segs[n++] = (struct virtq_seg){s->bounce_pa, (uint32_t)len};
	nout = n;
	if (type == T_IN)
		segs[n++] = (struct virtq_seg){s->bounce_pa, (uint32_t)len};
	segs[n++] = (struct virtq_seg){s->status_pa, 1};
	rumpuser_mutex_enter(sc->mtx);
	/* Three descriptors per slot and size >= 3 * NSLOTS: never full. */
	if (virtq_add(&sc->vq, segs, nout, n - nout, (void *)(uintptr_t)(i + 1)) != 0)
		panic("virtio-blk: queue full with a free slot");
	virtq_kick(&sc->vq);
	if (sc->inflight++ == 0 && sc->polling)
		rumpuser_cv_signal(sc->poll_cv);
	rumpuser_mutex_exit(sc->mtx);
}

static void vblk_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg)
{
	struct vblk *sc = bd->priv;

	if (op == BLKDEV_FLUSH && !sc->has_flush) {
		done(arg, 0, 0); /* write-through: nothing is volatile */
		return;
	}
	int i = slot_get(sc);
	struct vblk_slot *s = &sc->slots[i];
	s->op = op;
	s->buf = buf;
	s->len = len;
	s->off = off;
	s->done = done;
	s->arg = arg;
	s->then_flush = (op & BLKDEV_SYNC) && sc->has_flush;
	if (op == BLKDEV_FLUSH) {
		slot_start(sc, i, T_FLUSH, 0, 0);
	} else if (op & BLKDEV_WRITE) {
		memcpy(s->bounce, buf, len);
		slot_start(sc, i, T_OUT, off, len);
	} else {
		slot_start(sc, i, T_IN, off, len);
	}
}

/* Finish what the device has completed. */
static void vblk_drain(struct vblk *sc)
{
	for (;;) {
		void *cookie;
		rumpuser_mutex_enter(sc->mtx);
		cookie = virtq_get(&sc->vq, NULL);
		if (cookie == NULL && !sc->polling && virtq_intr_enable(&sc->vq))
			cookie = virtq_get(&sc->vq, NULL);
		if (cookie)
			sc->inflight--;
		rumpuser_mutex_exit(sc->mtx);
		if (cookie == NULL)
			return;
		int i = (int)(uintptr_t)cookie - 1;
		struct vblk_slot *s = &sc->slots[i];
		int error = (*s->status == S_OK) ? 0 : EIO;
		if (error == 0 && s->then_flush) {
			/* The write of a SYNC request landed: now make it stable. */
			s->then_flush = 0;
			slot_start(sc, i, T_FLUSH, 0, 0);
			continue;
		}
		if (error == 0 && (s->op & BLKDEV_READ))
			memcpy(s->buf, s->bounce, s->len);
		blkdev_done_fn done = s->done;
		void *arg = s->arg;
		size_t len = (s->op == BLKDEV_FLUSH) ? 0 : s->len;
		slot_put(sc, i);
		done(arg, error ? 0 : len, error);
	}
}

/* Platforms without it (no PCI interrupts) have nothing to count. */
void rumpcomp_pci_irq_awaited(int delta) __attribute__((weak));

static int vblk_intr(void *arg)
{
	struct vblk *sc = arg;
	unsigned isr = virtio_intr_status(sc->vd);
	vblk_drain(sc);
	return isr != 0;
}

/* The poller: drains the queue, yielding in between, while requests are
 * outstanding; sleeps when there are none. */
static void *vblk_poller(void *arg)
{
	struct vblk *sc = arg;
	for (;;) {
		rumpuser_mutex_enter(sc->mtx);
		while (sc->inflight == 0)
			rumpuser_cv_wait(sc->poll_cv, sc->mtx);
		rumpuser_mutex_exit(sc->mtx);
		vblk_drain(sc);
		rumpuser_ext_yield();
	}
	return NULL;
}

static const struct blkdev_ops vblk_ops = {
    .submit = vblk_submit,
};

static int fail(struct virtio_dev *d, const char *why)
{
	virtio_fail(d, "virtio-blk", why);
	return -ENODEV;
}

static int vblk_attach(struct virtio_dev *d)
{
	struct vblk *sc;
	uint64_t capacity;
	uint32_t blk_size = 512;
	unsigned long pa, va;

	if (virtio_negotiate(d,
	        VIRTIO_FEATURE(VIRTIO_BLK_F_RO) | VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) |
	            VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) | VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX)) !=
	    0)
		return fail(d, "feature negotiation failed");
	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		return fail(d, "out of memory");
	sc->vd = d;
	d->driver = sc;
	virtio_config_read(d, CONFIG_CAPACITY, &capacity, sizeof(capacity));
	if (virtio_has(d, VIRTIO_BLK_F_BLK_SIZE)) {
		virtio_config_read(d, CONFIG_BLK_SIZE, &blk_size, sizeof(blk_size));
		if (blk_size < 512 || blk_size > 4096 || (blk_size & (blk_size - 1)))
			blk_size = 512;
	}
	size_t max = SLOT_BYTES;
	if (virtio_has(d, VIRTIO_BLK_F_SIZE_MAX)) {
		uint32_t size_max;
		virtio_config_read(d, CONFIG_SIZE_MAX, &size_max, sizeof(size_max));
		if (size_max >= 4096 && size_max < max)
			max = size_max & ~4095u;
	}
	sc->has_flush = virtio_has(d, VIRTIO_BLK_F_FLUSH);
	if (virtq_create(d, &sc->vq, 0, 128) != 0)
		return fail(d, "cannot set up the request queue");
	if (sc->vq.size < 3 * NSLOTS)
		return fail(d, "the request queue is too small");
	/* Headers and status bytes for every slot in one page. */
	if (rumpcomp_pci_dmalloc(4096, 4096, &pa, &va) != 0)
		return fail(d, "out of memory for requests");
	for (int i = 0; i < NSLOTS; i++) {
		struct vblk_slot *s = &sc->slots[i];
		s->hdr = (struct vblk_hdr *)(va + i * 32);
		s->hdr_pa = pa + i * 32;
		s->status = (volatile uint8_t *)(va + i * 32 + 16);
		s->status_pa = pa + i * 32 + 16;
		if (rumpcomp_pci_dmalloc(
		        SLOT_BYTES, 4096, &s->bounce_pa, (unsigned long *)&s->bounce) != 0)
			return fail(d, "out of memory for buffers");
		s->next_free = i + 1 < NSLOTS ? i + 1 : -1;
	}
	sc->free_head = 0;
	rumpuser_mutex_init(&sc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&sc->slot_cv);

	sc->bd.ops = &vblk_ops;
	sc->bd.priv = sc;
	sc->bd.sector_size = blk_size;
	sc->bd.size = (capacity * 512) & ~(uint64_t)(blk_size - 1);
	sc->bd.readonly = virtio_has(d, VIRTIO_BLK_F_RO);
	sc->bd.max_transfer = max;
	rumpuser_cv_init(&sc->poll_cv);
	sc->polling = VIRTIO_BLK_POLL;
	/*
	 * The handler even when polling: a device may still interrupt (with
	 * VIRTIO_F_EVENT_IDX it ignores the "no interrupt" flag), and on a
	 * line shared with another device an interrupt nobody acknowledges
	 * keeps the line raised for good.  While polling it only acknowledges
	 * and finishes what is done; no thread waits for it.
	 */
	if (virtio_intr_establish(d, vblk_intr, sc) != 0)
		sc->polling = 1; /* no interrupt line: poll */
	else if (sc->polling && rumpcomp_pci_irq_awaited)
		rumpcomp_pci_irq_awaited(-1);
	if (sc->polling) {
		virtq_intr_disable(&sc->vq);
		if (rumpuser_thread_create(vblk_poller, sc, "virtio-blk", 0, -1, -1, NULL) != 0)
			return fail(d, "cannot start the poller thread");
	}
	virtio_ready(d);
	if (blkdev_register(&sc->bd) != 0)
		return fail(d, "cannot register the disk");
	return 0;
}

static const struct virtio_driver vblk_driver = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .attach = vblk_attach,
};
VIRTIO_DRIVER_REGISTER(vblk_driver);
