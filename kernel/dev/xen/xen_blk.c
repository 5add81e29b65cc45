/*
 * blkfront: Xen's virtual disks (xen/include/public/io/blkif.h) as block
 * devices ld0, ld1... (kernel/include/kernel/blkdev.h), in the order of
 * their device IDs, which is the order the toolstack was given them
 * (xvda, xvdb...: rumprun xen's -b order).
 *
 * One ring page shared with the backend (granted to its domain), an event
 * channel each way.  A request names up to 11 granted pages; each of the
 * NSLOTS slots owns 11 pages granted once at attach, a bounce buffer the
 * registry's requests are copied through (the registry hands us any
 * kernel memory; only whole pages can be granted).  Completions come as
 * events: the handler copies read data back and calls done.  A SYNC write
 * is the write, then a cache flush (BLKIF_OP_FLUSH_DISKCACHE) when the
 * backend offers one, else a barrier write when it offers that; without
 * either a completed write is already stable.
 */
#include <kernel/kernel.h>
#include <kernel/blkdev.h>
#include <kernel/xenbus.h>

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_RSP_OKAY 0
#define BLKIF_MAX_SEGMENTS 11
#define VDISK_READONLY 0x4

#define NSLOTS 8
#define SLOT_PAGES BLKIF_MAX_SEGMENTS
#define SLOT_BYTES (SLOT_PAGES * PAGE_SIZE)
#define CONNECT_TIMEOUT_MS 30000

struct blkif_segment {
	uint32_t gref;
	uint8_t first_sect, last_sect; /* 512-byte sectors within the page */
	uint16_t pad;
};

struct blkif_request {
	uint8_t operation;
	uint8_t nr_segments;
	uint16_t handle;
	uint32_t pad;
	uint64_t id;
	uint64_t sector_number; /* 512-byte units, whatever the sector size */
	struct blkif_segment seg[BLKIF_MAX_SEGMENTS];
};

struct blkif_response {
	uint64_t id;
	uint8_t operation;
	uint8_t pad;
	int16_t status;
	uint32_t pad2;
};

/* The shared ring (io/ring.h): producer and event indexes, then entries. */
#define RING_SIZE 32 /* (4096 - 64) / 112, rounded down to a power of two */
struct blkif_sring {
	uint32_t req_prod, req_event;
	uint32_t rsp_prod, rsp_event;
	uint8_t pad[48];
	union {
		struct blkif_request req;
		struct blkif_response rsp;
	} ring[RING_SIZE];
};

_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request layout");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response layout");
_Static_assert(sizeof(struct blkif_sring) <= PAGE_SIZE, "blkif ring fits a page");

struct xbd_slot {
	uint8_t *pages; /* SLOT_PAGES granted pages */
	unsigned grefs[SLOT_PAGES];
	int op; /* BLKDEV_* */
	void *buf;
	size_t len;
	blkdev_done_fn done;
	void *arg;
	int then_flush; /* a SYNC write: flush once written */
	int next_free;
};

struct xbd {
	struct blkdev bd;
	struct xenbus_dev *xd;
	volatile struct blkif_sring *sring;
	uint32_t req_prod; /* ours, not yet pushed */
	uint32_t rsp_cons;
	unsigned ring_ref, port;
	int flush_op; /* -1: none needed */
	struct xbd_slot slots[NSLOTS];
	int free_head;
	int inflight;
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *slot_cv;
	int slot_waiters;
};

static int slot_get(struct xbd *sc)
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

static void slot_put(struct xbd *sc, int i)
{
	rumpuser_mutex_enter(sc->mtx);
	sc->slots[i].next_free = sc->free_head;
	sc->free_head = i;
	if (sc->slot_waiters)
		rumpuser_cv_signal(sc->slot_cv);
	rumpuser_mutex_exit(sc->mtx);
}

/* Put slot i's request on the ring and ring the doorbell. */
static void slot_start(struct xbd *sc, int i, int operation, uint64_t off, size_t len)
{
	struct xbd_slot *s = &sc->slots[i];

	rumpuser_mutex_enter(sc->mtx);
	/* NSLOTS <= RING_SIZE requests in flight: never full. */
	volatile struct blkif_request *r = &sc->sring->ring[sc->req_prod % RING_SIZE].req;
	r->operation = (uint8_t)operation;
	r->handle = (uint16_t)sc->xd->id;
	r->id = (uint64_t)i;
	r->sector_number = off / 512;
	unsigned n = 0;
	for (size_t done = 0; done < len; done += PAGE_SIZE, n++) {
		size_t chunk = len - done < PAGE_SIZE ? len - done : PAGE_SIZE;
		r->seg[n].gref = s->grefs[n];
		r->seg[n].first_sect = 0;
		r->seg[n].last_sect = (uint8_t)(chunk / 512 - 1);
	}
	r->nr_segments = (uint8_t)n;
	sc->req_prod++;
	/* The request's contents before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	sc->sring->req_prod = sc->req_prod;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (sc->inflight++ == 0)
		rumpcomp_xen_evtchn_awaited(1); /* an answer is coming */
	rumpuser_mutex_exit(sc->mtx);
	/* Always: skipping it when the backend's req_event says it is still
	 * looking saves little here, and a missed doorbell stalls for good. */
	rumpcomp_xen_evtchn_notify(sc->port);
}

static void xbd_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg)
{
	struct xbd *sc = bd->priv;

	if (op == BLKDEV_FLUSH && sc->flush_op < 0) {
		done(arg, 0, 0); /* write-through: nothing is volatile */
		return;
	}
	int i = slot_get(sc);
	struct xbd_slot *s = &sc->slots[i];
	s->op = op;
	s->buf = buf;
	s->len = len;
	s->done = done;
	s->arg = arg;
	s->then_flush = 0;
	if (op == BLKDEV_FLUSH) {
		s->len = 0;
		slot_start(sc, i, sc->flush_op, 0, 0);
	} else if (op & BLKDEV_WRITE) {
		memcpy(s->pages, buf, len);
		if ((op & BLKDEV_SYNC) && sc->flush_op == BLKIF_OP_WRITE_BARRIER) {
			slot_start(sc, i, BLKIF_OP_WRITE_BARRIER, off, len);
		} else {
			s->then_flush = (op & BLKDEV_SYNC) && sc->flush_op >= 0;
			slot_start(sc, i, BLKIF_OP_WRITE, off, len);
		}
	} else {
		slot_start(sc, i, BLKIF_OP_READ, off, len);
	}
}

/* The event handler: finish every request the backend has answered. */
static int xbd_intr(void *arg)
{
	struct xbd *sc = arg;
	int any = 0;

	for (;;) {
		rumpuser_mutex_enter(sc->mtx);
		if (sc->rsp_cons == sc->sring->rsp_prod) {
			/* Ask for an event at the next answer, then look again:
			 * one may have come before the request was seen. */
			sc->sring->rsp_event = sc->rsp_cons + 1;
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (sc->rsp_cons == sc->sring->rsp_prod) {
				rumpuser_mutex_exit(sc->mtx);
				return any;
			}
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the entry after the index */
		volatile struct blkif_response *rsp =
		    &sc->sring->ring[sc->rsp_cons % RING_SIZE].rsp;
		uint64_t id = rsp->id;
		int status = rsp->status;
		sc->rsp_cons++;
		if (--sc->inflight == 0)
			rumpcomp_xen_evtchn_awaited(-1);
		rumpuser_mutex_exit(sc->mtx);
		any = 1;
		if (id >= NSLOTS) {
			kprintf("rumprun: %s: the backend answered an unknown request %lu\n",
			    sc->bd.name, (unsigned long)id);
			continue;
		}
		int i = (int)id;
		struct xbd_slot *s = &sc->slots[i];
		int error = status == BLKIF_RSP_OKAY ? 0 : EIO;
		if (error == 0 && s->then_flush) {
			/* The write of a SYNC request landed: now make it stable. */
			s->then_flush = 0;
			slot_start(sc, i, sc->flush_op, 0, 0);
			continue;
		}
		if (error == 0 && s->op == BLKDEV_READ)
			memcpy(s->buf, s->pages, s->len);
		blkdev_done_fn done = s->done;
		void *darg = s->arg;
		size_t len = s->len;
		slot_put(sc, i);
		done(darg, error ? 0 : len, error);
	}
}

static const struct blkdev_ops xbd_ops = {
    .submit = xbd_submit,
};

static void fail(struct xenbus_dev *d, const char *why, int err)
{
	if (err)
		kprintf("rumprun: xen disk %u: %s (error %d), left alone\n", d->id, why, -err);
	else
		kprintf("rumprun: xen disk %u: %s, left alone\n", d->id, why);
	xenbus_set_state(d, XENBUS_CLOSED);
}

#define FAIL(why, err) \
	do { \
		fail(d, why, err); \
		return; \
	} while (0)

/* Grant the ring and the slots' pages, publish them, connect. */
void xen_blk_attach(struct xenbus_dev *d)
{
	struct xbd *sc;
	uint64_t sectors, sector_size = 512, info = 0, feature;
	char mode[8] = "w";
	int err, i, j;

	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		FAIL("out of memory", 0);
	sc->xd = d;
	if ((sc->sring = kpages_alloc(PAGE_SIZE)) == NULL)
		FAIL("out of memory", 0);
	memset((void *)sc->sring, 0, PAGE_SIZE);
	sc->sring->req_event = sc->sring->rsp_event = 1;
	if ((err = rumpcomp_xen_grant(d->backend_id, (void *)sc->sring, 0, &sc->ring_ref)) != 0)
		FAIL("cannot grant the ring", -err);
	sc->free_head = -1;
	for (i = 0; i < NSLOTS; i++) {
		struct xbd_slot *s = &sc->slots[i];
		if ((s->pages = kpages_alloc(SLOT_BYTES)) == NULL)
			FAIL("out of memory for the request buffers", 0);
		for (j = 0; j < SLOT_PAGES; j++)
			if ((err = rumpcomp_xen_grant(
			         d->backend_id, s->pages + j * PAGE_SIZE, 0, &s->grefs[j])) != 0)
				FAIL("cannot grant the request buffers", -err);
		s->next_free = sc->free_head;
		sc->free_head = i;
	}
	if ((err = rumpcomp_xen_evtchn_alloc(d->backend_id, &sc->port)) != 0)
		FAIL("cannot make an event channel", -err);
	rumpuser_mutex_init(&sc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&sc->slot_cv);
	if ((err = rumpcomp_xen_evtchn_establish(sc->port, xbd_intr, sc)) != 0)
		FAIL("cannot wait for its events", -err);
	rumpcomp_xen_evtchn_awaited(-1); /* only while requests are out */

	/* The handshake: the backend waits (InitWait) for our details. */
	if ((err = xenbus_wait_backend(d, XENBUS_INITWAIT, CONNECT_TIMEOUT_MS)) < 0)
		FAIL("the backend did not come up", err);
	if ((err = xenbus_write_u64(d->node, "ring-ref", sc->ring_ref)) ||
	    (err = xenbus_write_u64(d->node, "event-channel", sc->port)) ||
	    (err = xenbus_write(d->node, "protocol", "x86_64-abi")) ||
	    (err = xenbus_set_state(d, XENBUS_INITIALISED)))
		FAIL("cannot publish the ring in xenstore", err);
	if ((err = xenbus_wait_backend(d, XENBUS_CONNECTED, CONNECT_TIMEOUT_MS)) < 0)
		FAIL("the backend did not connect", err);
	if ((err = xenbus_read_u64(d->backend, "sectors", &sectors)) != 0)
		FAIL("the backend gives no size", err);
	if (xenbus_read_u64(d->backend, "sector-size", &sector_size) != 0 || sector_size < 512 ||
	    sector_size > 65536 || (sector_size & (sector_size - 1)))
		sector_size = 512;
	xenbus_read_u64(d->backend, "info", &info);
	xenbus_read(d->backend, "mode", mode, sizeof(mode));
	sc->flush_op = -1;
	if (xenbus_read_u64(d->backend, "feature-flush-cache", &feature) == 0 && feature)
		sc->flush_op = BLKIF_OP_FLUSH_DISKCACHE;
	else if (xenbus_read_u64(d->backend, "feature-barrier", &feature) == 0 && feature)
		sc->flush_op = BLKIF_OP_WRITE_BARRIER;
	if ((err = xenbus_set_state(d, XENBUS_CONNECTED)) != 0)
		FAIL("cannot say it is connected", err);

	sc->bd.ops = &xbd_ops;
	sc->bd.priv = sc;
	sc->bd.sector_size = (uint32_t)sector_size;
	sc->bd.size = sectors * 512;
	sc->bd.size -= sc->bd.size % sector_size;
	sc->bd.readonly = mode[0] == 'r' || (info & VDISK_READONLY);
	sc->bd.max_transfer = SLOT_BYTES;
	{
		/* Where it came from, for messages: the backend's "params"
		 * is the image's path in dom0 (best effort). */
		char params[sizeof(sc->bd.origin)];
		if (xenbus_read(d->backend, "params", params, sizeof(params)) == 0)
			memcpy(sc->bd.origin, params, sizeof(params));
	}
	if ((err = blkdev_register(&sc->bd)) != 0)
		FAIL("cannot register the disk", err);
}
