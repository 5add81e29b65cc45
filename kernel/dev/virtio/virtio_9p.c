/*
 * virtio-9p (virtio 1.2, 5.16 "9P transport"): one 9P channel per device,
 * named by the device's mount tag (QEMU's mount_tag=share0), for the 9P
 * client file system (kernel/fs/9p/).
 *
 * One request queue.  A request is one device-readable segment (the
 * message) and one device-writable segment (room for the answer), both in
 * a slot of DMA memory; the device answers requests in any order, and the
 * interrupt handler marks the slot done and wakes its waiter.  P9_SLOTS
 * requests may be in flight.
 */
#include <kernel/kernel.h>
#include <kernel/p9chan.h>
#include <kernel/virtio.h>

#define VIRTIO_9P_F_MOUNT_TAG 0
#define P9_SLOTS 4
#define P9_MSIZE (256 * 1024)

struct vp9 {
	struct p9_chan chan;
	struct virtio_dev *vd;
	struct virtq vq;
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *cv; /* a slot finished, or became free */
	struct p9_slot slots[P9_SLOTS];
	int failed;
};

static void drain(struct vp9 *sc)
{
	void *cookie;
	uint32_t len;

	do {
		while ((cookie = virtq_get(&sc->vq, &len)) != NULL) {
			struct p9_slot *s = cookie;
			s->resp_len = len;
			s->done = 1;
		}
	} while (virtq_intr_enable(&sc->vq));
}

static int vp9_intr(void *arg)
{
	struct vp9 *sc = arg;
	unsigned isr = virtio_intr_status(sc->vd);

	rumpuser_mutex_enter(sc->mtx);
	drain(sc);
	rumpuser_cv_broadcast(sc->cv);
	rumpuser_mutex_exit(sc->mtx);
	return isr != 0;
}

static int vp9_rpc(struct p9_chan *c, struct p9_slot *s)
{
	struct vp9 *sc = c->priv;
	uint32_t len = s->req[0] | s->req[1] << 8 | s->req[2] << 16 | (uint32_t)s->req[3] << 24;
	struct virtq_seg segs[2] = {
	    {s->req_pa, len},
	    {s->resp_pa, c->msize},
	};

	if (len < 7 || len > c->msize)
		return -EINVAL;
	rumpuser_mutex_enter(sc->mtx);
	if (sc->failed) {
		rumpuser_mutex_exit(sc->mtx);
		return -EIO;
	}
	s->done = 0;
	/* Every slot needs two descriptors and there are more than that. */
	if (virtq_add(&sc->vq, segs, 1, 1, s) != 0) {
		rumpuser_mutex_exit(sc->mtx);
		return -EIO;
	}
	virtq_kick(&sc->vq);
	while (!s->done)
		rumpuser_cv_wait(sc->cv, sc->mtx);
	rumpuser_mutex_exit(sc->mtx);
	if (s->resp_len < 7)
		return -EIO;
	return (int)s->resp_len;
}

static struct p9_slot *vp9_get(struct p9_chan *c)
{
	struct vp9 *sc = c->priv;

	rumpuser_mutex_enter(sc->mtx);
	for (;;) {
		for (int i = 0; i < P9_SLOTS; i++) {
			if (!sc->slots[i].busy) {
				sc->slots[i].busy = 1;
				rumpuser_mutex_exit(sc->mtx);
				return &sc->slots[i];
			}
		}
		rumpuser_cv_wait(sc->cv, sc->mtx);
	}
}

static void vp9_put(struct p9_chan *c, struct p9_slot *s)
{
	struct vp9 *sc = c->priv;

	rumpuser_mutex_enter(sc->mtx);
	s->busy = 0;
	rumpuser_cv_broadcast(sc->cv);
	rumpuser_mutex_exit(sc->mtx);
}

static const struct p9_chan_ops vp9_ops = {
    .rpc = vp9_rpc,
    .get = vp9_get,
    .put = vp9_put,
};

static int fail(struct virtio_dev *d, const char *why)
{
	virtio_fail(d, "virtio-9p", why);
	return -ENODEV;
}

static int vp9_attach(struct virtio_dev *d)
{
	struct vp9 *sc;
	uint16_t taglen;

	if (virtio_negotiate(d, VIRTIO_FEATURE(VIRTIO_9P_F_MOUNT_TAG)) != 0)
		return fail(d, "feature negotiation failed");
	if (!virtio_has(d, VIRTIO_9P_F_MOUNT_TAG))
		return fail(d, "the device has no mount tag");
	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		return fail(d, "out of memory");
	sc->vd = d;
	d->driver = sc;
	virtio_config_read(d, 0, &taglen, sizeof(taglen));
	if (taglen == 0 || taglen >= sizeof(sc->chan.tag))
		return fail(d, "the mount tag is empty or too long");
	for (unsigned i = 0; i < taglen; i++)
		virtio_config_read(d, 2 + i, &sc->chan.tag[i], 1);
	sc->chan.tag[taglen] = '\0';
	if (virtq_create(d, &sc->vq, 0, 2 * P9_SLOTS) != 0)
		return fail(d, "cannot set up the request queue");
	if (sc->vq.size < 2 * P9_SLOTS)
		return fail(d, "the request queue is too small");
	for (int i = 0; i < P9_SLOTS; i++) {
		struct p9_slot *s = &sc->slots[i];
		unsigned long va;
		if (rumpcomp_pci_dmalloc(2 * P9_MSIZE, 4096, &s->req_pa, &va) != 0)
			return fail(d, "out of memory for buffers");
		s->req = (unsigned char *)va;
		s->resp = s->req + P9_MSIZE;
		s->resp_pa = s->req_pa + P9_MSIZE;
		s->tag = (uint16_t)i;
	}
	rumpuser_mutex_init(&sc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&sc->cv);
	if (virtio_intr_establish(d, vp9_intr, sc) != 0)
		return fail(d, "no interrupt line");
	virtio_ready(d);

	sc->chan.ops = &vp9_ops;
	sc->chan.msize = P9_MSIZE;
	sc->chan.priv = sc;
	if (p9_chan_register(&sc->chan) != 0)
		return fail(d, "its mount tag is used by another device");
	return 0;
}

static const struct virtio_driver vp9_driver = {
    .name = "virtio-9p",
    .device_id = VIRTIO_ID_9P,
    .attach = vp9_attach,
};
VIRTIO_DRIVER_REGISTER(vp9_driver);
