/*
 * virtio-net (virtio 1.2, 5.1): interfaces vioif0, vioif1... for the
 * network stack (kernel/include/kernel/netdev.h).
 *
 * One receive and one transmit queue.  Every buffer is a fixed 2 KiB slot
 * of one DMA area per queue, holding the virtio-net header and a whole
 * frame in one descriptor: receive slots are handed back to the device as
 * soon as the stack has copied the frame; a frame to send is copied into a
 * free transmit slot, and slots the device has finished with are taken
 * back when the next frame is sent.  Transmit interrupts are asked for
 * only while every slot is taken: the first slot the device gives back
 * then tells the stack to send what it held back (netdev tx_ready).
 */
#include <kernel/kernel.h>
#include <kernel/netdev.h>
#include <kernel/virtio.h>

#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16

/* Device configuration (5.1.4). */
#define CONFIG_MAC 0
#define CONFIG_STATUS 6
#define CONFIG_MTU 10
#define STATUS_LINK_UP 1

/* The header in front of every frame (5.1.6). */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint16_t num_buffers; /* only with VERSION_1 or MRG_RXBUF */
};
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2

#define RXQ 0
#define TXQ 1
#define SLOT 2048
#define RX_SLOTS 128
#define TX_SLOTS 128

struct vioif {
	struct netdev nd;
	struct virtio_dev *vd;
	struct virtq rxq, txq;
	unsigned hdrlen;
	uint8_t *rx, *tx; /* slot areas */
	unsigned long rx_pa, tx_pa;
	unsigned nrx, ntx;
	uint16_t tx_free[TX_SLOTS]; /* a stack of free transmit slots */
	unsigned ntx_free;
	int tx_stalled; /* a transmit found no slot: interrupt wanted */
};

/* Cookies are slot numbers plus one (a cookie is never NULL). */
#define SLOT_COOKIE(i) ((void *)(uintptr_t)((i) + 1))
#define COOKIE_SLOT(c) ((unsigned)(uintptr_t)(c)-1)

static void rx_post(struct vioif *sc, unsigned slot)
{
	struct virtq_seg seg = {sc->rx_pa + (unsigned long)slot * SLOT, SLOT};

	virtq_add(&sc->rxq, &seg, 0, 1, SLOT_COOKIE(slot));
}

static void update_link(struct vioif *sc)
{
	uint16_t status;

	if (!virtio_has(sc->vd, VIRTIO_NET_F_STATUS)) {
		sc->nd.link_up = 1;
		return;
	}
	virtio_config_read(sc->vd, CONFIG_STATUS, &status, sizeof(status));
	sc->nd.link_up = status & STATUS_LINK_UP;
}

/* Hand every received frame to the stack and give its slot back. */
static void rx_drain(struct vioif *sc)
{
	uint32_t len;
	void *cookie;

	do {
		while ((cookie = virtq_get(&sc->rxq, &len)) != NULL) {
			unsigned slot = COOKIE_SLOT(cookie);
			uint8_t *buf = sc->rx + (size_t)slot * SLOT;

			if (len > sc->hdrlen && len <= SLOT)
				netdev_input(&sc->nd, buf + sc->hdrlen, len - sc->hdrlen);
			rx_post(sc, slot);
		}
		virtq_kick(&sc->rxq);
	} while (virtq_intr_enable(&sc->rxq));
}

static int vioif_intr(void *arg)
{
	struct vioif *sc = arg;
	unsigned isr = virtio_intr_status(sc->vd);

	if (isr & VIRTIO_INTR_CONFIG)
		update_link(sc);
	rx_drain(sc);
	if (sc->tx_stalled) {
		sc->tx_stalled = 0;
		virtq_intr_disable(&sc->txq);
		if (sc->nd.tx_ready)
			sc->nd.tx_ready(&sc->nd); /* transmits again (and re-arms if still full) */
	}
	return isr != 0;
}

static void tx_reclaim(struct vioif *sc)
{
	void *cookie;

	while ((cookie = virtq_get(&sc->txq, NULL)) != NULL)
		sc->tx_free[sc->ntx_free++] = (uint16_t)COOKIE_SLOT(cookie);
}

static int vioif_transmit(struct netdev *nd, const struct iovec *iov, int iovcnt, size_t len)
{
	struct vioif *sc = nd->driver;
	struct virtq_seg seg;
	unsigned slot;
	uint8_t *buf, *p;
	int i;

	if (len + sc->hdrlen > SLOT)
		return -EIO;
	tx_reclaim(sc);
	if (sc->ntx_free == 0) {
		/* Every slot is the device's: have it interrupt when it gives
		 * one back, unless one came back meanwhile. */
		if (virtq_intr_enable(&sc->txq))
			tx_reclaim(sc);
		if (sc->ntx_free == 0) {
			sc->tx_stalled = 1;
			return -ENOBUFS;
		}
		virtq_intr_disable(&sc->txq);
	}
	slot = sc->tx_free[--sc->ntx_free];
	buf = sc->tx + (size_t)slot * SLOT;
	memset(buf, 0, sc->hdrlen);
	for (p = buf + sc->hdrlen, i = 0; i < iovcnt; p += iov[i].iov_len, i++)
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
	seg.pa = sc->tx_pa + (unsigned long)slot * SLOT;
	seg.len = (uint32_t)(sc->hdrlen + len);
	if (virtq_add(&sc->txq, &seg, 1, 0, SLOT_COOKIE(slot)) != 0) {
		sc->tx_free[sc->ntx_free++] = (uint16_t)slot;
		return -ENOBUFS;
	}
	virtq_kick(&sc->txq);
	return 0;
}

static const struct netdev_ops vioif_ops = {
    .transmit = vioif_transmit,
};

static int fail(struct virtio_dev *d, const char *why)
{
	virtio_fail(d, "virtio-net", why);
	return -ENODEV;
}

static int vioif_attach(struct virtio_dev *d)
{
	struct vioif *sc;
	unsigned i;
	int error;

	error = virtio_negotiate(d,
	    VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) |
	        VIRTIO_FEATURE(VIRTIO_NET_F_MTU) | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM));
	if (error)
		return fail(d, "feature negotiation failed");
	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		return fail(d, "out of memory");
	sc->vd = d;
	d->driver = sc;
	sc->hdrlen = d->legacy ? 10 : 12;
	if (virtq_create(d, &sc->rxq, RXQ, RX_SLOTS) != 0 ||
	    virtq_create(d, &sc->txq, TXQ, TX_SLOTS) != 0)
		return fail(d, "cannot set up the queues");
	sc->nrx = sc->rxq.size < RX_SLOTS ? sc->rxq.size : RX_SLOTS;
	sc->ntx = sc->txq.size < TX_SLOTS ? sc->txq.size : TX_SLOTS;
	if (rumpcomp_pci_dmalloc(
	        (size_t)sc->nrx * SLOT, 4096, &sc->rx_pa, (unsigned long *)&sc->rx) ||
	    rumpcomp_pci_dmalloc(
	        (size_t)sc->ntx * SLOT, 4096, &sc->tx_pa, (unsigned long *)&sc->tx))
		return fail(d, "out of memory for buffers");
	for (i = 0; i < sc->nrx; i++)
		rx_post(sc, i);
	for (i = 0; i < sc->ntx; i++)
		sc->tx_free[sc->ntx_free++] = (uint16_t)i;
	virtq_intr_disable(&sc->txq);

	if (virtio_has(d, VIRTIO_NET_F_MAC)) {
		virtio_config_read(d, CONFIG_MAC, sc->nd.mac, 6);
	} else {
		size_t got;

		rumpuser_getrandom(sc->nd.mac, 6, 0, &got);
		sc->nd.mac[0] = (sc->nd.mac[0] & ~1) | 2; /* unicast, locally administered */
	}
	sc->nd.mtu = 1500;
	if (virtio_has(d, VIRTIO_NET_F_MTU)) {
		uint16_t mtu;

		virtio_config_read(d, CONFIG_MTU, &mtu, sizeof(mtu));
		if (mtu >= 68 && mtu < sc->nd.mtu)
			sc->nd.mtu = mtu;
	}
	update_link(sc);
	/* Frames come from the host's memory, never from a wire: QEMU's user
	 * networking writes every checksum, a tap's frames were checked or
	 * written by the host's kernel, and with GUEST_CSUM the device may
	 * even hand over frames whose checksum is only partial. */
	sc->nd.features = NETDEV_F_RX_CSUM_OK;
	sc->nd.ops = &vioif_ops;
	sc->nd.driver = sc;

	if ((error = virtio_intr_establish(d, vioif_intr, sc)) != 0)
		return fail(d, "no interrupt line");
	virtio_ready(d);
	virtq_kick(&sc->rxq);

	netdev_name_unit(&sc->nd, "vioif");
	if ((error = netdev_register(&sc->nd)) != 0)
		return fail(d, "cannot register the interface");
	return 0;
}

static const struct virtio_driver vioif_driver = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .attach = vioif_attach,
};
VIRTIO_DRIVER_REGISTER(vioif_driver);
