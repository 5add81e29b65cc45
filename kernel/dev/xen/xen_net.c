/*
 * netfront: Xen's virtual network interfaces (xen/include/public/io/
 * netif.h) as xenif0, xenif1... for the network stack
 * (kernel/include/kernel/netdev.h), in the order of their device IDs
 * (the toolstack's vif order: rumprun xen's -I order).
 *
 * A transmit ring and a receive ring, one page each, granted to the
 * backend's domain, and one event channel for both.  Receiving is by
 * copy (request-rx-copy): the receive ring always holds NRX requests,
 * each naming a page of ours granted once, into which the backend copies
 * one frame; the stack copies it out and the page goes straight back on
 * the ring.  Sending copies the frame into one of NTX pages granted once
 * and puts a request naming it on the transmit ring.  No checksum
 * offload either way (feature-no-csum-offload): the backend fills in
 * checksums of what it sends us, and lwIP computes those of what we send.
 */
#include <kernel/kernel.h>
#include <kernel/netdev.h>
#include <kernel/xenbus.h>

#define NRX 64
#define NTX 64
#define RING_SIZE 256 /* both rings: (4096 - 64) / entry size, a power of two */
#define CONNECT_TIMEOUT_MS 30000

#define NETRXF_more_data 0x4
#define NETRXF_extra_info 0x8

struct netif_tx_request {
	uint32_t gref;
	uint16_t offset;
	uint16_t flags;
	uint16_t id;
	uint16_t size; /* the whole frame's */
};

struct netif_tx_response {
	uint16_t id;
	int16_t status;
};

struct netif_rx_request {
	uint16_t id;
	uint16_t pad;
	uint32_t gref;
};

struct netif_rx_response {
	uint16_t id;
	uint16_t offset;
	uint16_t flags;
	int16_t status; /* the frame's length, or an error when negative */
};

/* The shared rings (io/ring.h): producer and event indexes, then entries. */
struct netif_tx_sring {
	uint32_t req_prod, req_event;
	uint32_t rsp_prod, rsp_event;
	uint8_t pad[48];
	union {
		struct netif_tx_request req;
		struct netif_tx_response rsp;
	} ring[RING_SIZE];
};

struct netif_rx_sring {
	uint32_t req_prod, req_event;
	uint32_t rsp_prod, rsp_event;
	uint8_t pad[48];
	union {
		struct netif_rx_request req;
		struct netif_rx_response rsp;
	} ring[RING_SIZE];
};

_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request layout");
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response layout");
_Static_assert(sizeof(struct netif_tx_sring) <= PAGE_SIZE, "tx ring fits a page");
_Static_assert(sizeof(struct netif_rx_sring) <= PAGE_SIZE, "rx ring fits a page");

struct xennet {
	struct netdev nd;
	struct xenbus_dev *xd;
	volatile struct netif_tx_sring *tx;
	volatile struct netif_rx_sring *rx;
	uint32_t tx_prod, tx_cons; /* our private indexes */
	uint32_t rx_prod, rx_cons;
	unsigned tx_ref, rx_ref, port;
	uint8_t *tx_pages, *rx_pages;
	unsigned tx_grefs[NTX], rx_grefs[NRX];
	uint16_t tx_free[NTX]; /* a stack of free transmit pages */
	unsigned ntx_free;
	int tx_stalled; /* a transmit found no page: tell the stack later */
};

/* Publish our new requests and ring the doorbell. */
static void push(volatile uint32_t *shared_prod, uint32_t prod, unsigned port)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the requests before the index */
	*shared_prod = prod;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rumpcomp_xen_evtchn_notify(port);
}

static void rx_post(struct xennet *sc, unsigned id)
{
	volatile struct netif_rx_request *r = &sc->rx->ring[sc->rx_prod % RING_SIZE].req;
	r->id = (uint16_t)id;
	r->gref = sc->rx_grefs[id];
	sc->rx_prod++;
}

/* Take back the transmit pages the backend has sent. */
static int tx_reclaim(struct xennet *sc)
{
	int any = 0;
	for (;;) {
		uint32_t prod = sc->tx->rsp_prod;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		while (sc->tx_cons != prod) {
			uint16_t id = sc->tx->ring[sc->tx_cons % RING_SIZE].rsp.id;
			sc->tx_cons++;
			if (id < NTX)
				sc->tx_free[sc->ntx_free++] = id;
			any = 1;
		}
		sc->tx->rsp_event = sc->tx_cons + 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sc->tx->rsp_prod == sc->tx_cons)
			return any;
	}
}

/* Hand every received frame to the stack and put its page back. */
static int rx_drain(struct xennet *sc)
{
	int any = 0;
	for (;;) {
		uint32_t prod = sc->rx->rsp_prod;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		while (sc->rx_cons != prod) {
			volatile struct netif_rx_response *r =
			    &sc->rx->ring[sc->rx_cons % RING_SIZE].rsp;
			uint16_t id = r->id, offset = r->offset, flags = r->flags;
			int16_t status = r->status;
			sc->rx_cons++;
			any = 1;
			if (id >= NRX)
				continue;
			/* Frames in several pieces (or with extra information)
			 * only come when asked for (feature-sg, GSO): never. */
			if (status > 0 && offset + status <= (int)PAGE_SIZE &&
			    !(flags & (NETRXF_more_data | NETRXF_extra_info)))
				netdev_input(&sc->nd,
				    sc->rx_pages + (size_t)id * PAGE_SIZE + offset, (size_t)status);
			rx_post(sc, id);
		}
		if (any)
			push(&sc->rx->req_prod, sc->rx_prod, sc->port);
		sc->rx->rsp_event = sc->rx_cons + 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sc->rx->rsp_prod == sc->rx_cons)
			return any;
	}
}

static int xennet_intr(void *arg)
{
	struct xennet *sc = arg;
	int any = rx_drain(sc);

	if (tx_reclaim(sc) && sc->tx_stalled) {
		sc->tx_stalled = 0;
		if (sc->nd.tx_ready)
			sc->nd.tx_ready(&sc->nd);
		any = 1;
	}
	return any;
}

static int xennet_transmit(struct netdev *nd, const struct iovec *iov, int iovcnt, size_t len)
{
	struct xennet *sc = nd->driver;
	uint8_t *p;
	int i;

	if (len > PAGE_SIZE)
		return -EIO;
	if (sc->ntx_free == 0)
		tx_reclaim(sc);
	if (sc->ntx_free == 0) {
		sc->tx_stalled = 1; /* the next transmit response says when */
		return -ENOBUFS;
	}
	uint16_t id = sc->tx_free[--sc->ntx_free];
	p = sc->tx_pages + (size_t)id * PAGE_SIZE;
	for (i = 0; i < iovcnt; p += iov[i].iov_len, i++)
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
	volatile struct netif_tx_request *r = &sc->tx->ring[sc->tx_prod % RING_SIZE].req;
	r->gref = sc->tx_grefs[id];
	r->offset = 0;
	r->flags = 0; /* checksums complete, one piece */
	r->id = id;
	r->size = (uint16_t)len;
	sc->tx_prod++;
	push(&sc->tx->req_prod, sc->tx_prod, sc->port);
	return 0;
}

static const struct netdev_ops xennet_ops = {
    .transmit = xennet_transmit,
};

/* "00:16:3e:12:34:56" into mac; -EINVAL when it is not one. */
static int parse_mac(const char *s, uint8_t *mac)
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++, s++) {
			char c = *s;
			int d = c >= '0' && c <= '9' ? c - '0'
			    : c >= 'a' && c <= 'f'   ? c - 'a' + 10
			    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
			                             : -1;
			if (d < 0)
				return -EINVAL;
			v = v * 16 + (unsigned)d;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

static void fail(struct xenbus_dev *d, const char *why, int err)
{
	if (err)
		kprintf("rumprun: xen interface %u: %s (error %d), left alone\n", d->id, why, -err);
	else
		kprintf("rumprun: xen interface %u: %s, left alone\n", d->id, why);
	xenbus_set_state(d, XENBUS_CLOSED);
}

#define FAIL(why, err) \
	do { \
		fail(d, why, err); \
		return; \
	} while (0)

static int grant_pages(unsigned domid, uint8_t *pages, unsigned n, unsigned *grefs)
{
	for (unsigned i = 0; i < n; i++) {
		int err = rumpcomp_xen_grant(domid, pages + (size_t)i * PAGE_SIZE, 0, &grefs[i]);
		if (err)
			return -err;
	}
	return 0;
}

void xen_net_attach(struct xenbus_dev *d)
{
	struct xennet *sc;
	char mac[24];
	int err;
	unsigned i;

	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		FAIL("out of memory", 0);
	sc->xd = d;
	if ((err = xenbus_read(d->node, "mac", mac, sizeof(mac))) != 0 ||
	    parse_mac(mac, sc->nd.mac) != 0)
		FAIL("the toolstack gave it no MAC address", err);
	if ((sc->tx = kpages_alloc(PAGE_SIZE)) == NULL ||
	    (sc->rx = kpages_alloc(PAGE_SIZE)) == NULL ||
	    (sc->tx_pages = kpages_alloc(NTX * PAGE_SIZE)) == NULL ||
	    (sc->rx_pages = kpages_alloc(NRX * PAGE_SIZE)) == NULL)
		FAIL("out of memory for its rings", 0);
	memset((void *)sc->tx, 0, PAGE_SIZE);
	memset((void *)sc->rx, 0, PAGE_SIZE);
	sc->tx->req_event = sc->tx->rsp_event = 1;
	sc->rx->req_event = sc->rx->rsp_event = 1;
	if ((err = rumpcomp_xen_grant(d->backend_id, (void *)sc->tx, 0, &sc->tx_ref)) != 0 ||
	    (err = rumpcomp_xen_grant(d->backend_id, (void *)sc->rx, 0, &sc->rx_ref)) != 0)
		FAIL("cannot grant the rings", -err);
	if ((err = grant_pages(d->backend_id, sc->tx_pages, NTX, sc->tx_grefs)) != 0 ||
	    (err = grant_pages(d->backend_id, sc->rx_pages, NRX, sc->rx_grefs)) != 0)
		FAIL("cannot grant the buffers", err);
	for (i = 0; i < NTX; i++)
		sc->tx_free[sc->ntx_free++] = (uint16_t)i;
	for (i = 0; i < NRX; i++)
		rx_post(sc, i);
	sc->rx->req_prod = sc->rx_prod;
	if ((err = rumpcomp_xen_evtchn_alloc(d->backend_id, &sc->port)) != 0)
		FAIL("cannot make an event channel", -err);

	if ((err = xenbus_wait_backend(d, XENBUS_INITWAIT, CONNECT_TIMEOUT_MS)) < 0)
		FAIL("the backend did not come up", err);
	if ((err = xenbus_write_u64(d->node, "tx-ring-ref", sc->tx_ref)) ||
	    (err = xenbus_write_u64(d->node, "rx-ring-ref", sc->rx_ref)) ||
	    (err = xenbus_write_u64(d->node, "event-channel", sc->port)) ||
	    (err = xenbus_write(d->node, "request-rx-copy", "1")) ||
	    (err = xenbus_write(d->node, "feature-rx-notify", "1")) ||
	    (err = xenbus_write(d->node, "feature-no-csum-offload", "1")) ||
	    (err = xenbus_write(d->node, "feature-sg", "0")) ||
	    (err = xenbus_write(d->node, "feature-gso-tcpv4", "0")) ||
	    (err = xenbus_set_state(d, XENBUS_CONNECTED)))
		FAIL("cannot publish the rings in xenstore", err);
	if ((err = xenbus_wait_backend(d, XENBUS_CONNECTED, CONNECT_TIMEOUT_MS)) < 0)
		FAIL("the backend did not connect", err);

	sc->nd.mtu = 1500;
	sc->nd.link_up = 1;
	/* Frames come from dom0's memory, never from a wire, with their
	 * checksums filled in (we offered no offload). */
	sc->nd.features = NETDEV_F_RX_CSUM_OK;
	sc->nd.ops = &xennet_ops;
	sc->nd.driver = sc;
	if ((err = rumpcomp_xen_evtchn_establish(sc->port, xennet_intr, sc)) != 0)
		FAIL("cannot wait for its events", -err);
	rumpcomp_xen_evtchn_notify(sc->port); /* the receive requests are there */
	netdev_name_unit(&sc->nd, "xenif");
	if ((err = netdev_register(&sc->nd)) != 0)
		FAIL("cannot register the interface", err);
}
