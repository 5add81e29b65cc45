/*
 * Intel 8254x gigabit Ethernet ("e1000": the 82540EM that QEMU's
 * -device e1000 and VirtualBox show, and its 82543/82544/82545 siblings):
 * interfaces wm0, wm1... for the network stack (kernel/include/kernel/netdev.h).
 *
 * Registers, descriptor formats and the reset sequence follow Intel's
 * "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's
 * Manual" (8254x).  Legacy receive and transmit descriptors, one ring each;
 * every descriptor owns a fixed 2 KiB slot of one DMA area per ring, as in
 * the virtio-net driver: received frames are copied by the stack and the
 * slot handed back, frames to send are copied into a free slot, and sent
 * slots are reclaimed when the next frame goes out.  The transmit-done
 * interrupt is enabled only while the ring is full: it tells the stack
 * to send what it held back (netdev tx_ready).
 */
#include <kernel/kernel.h>
#include <kernel/bus.h>
#include <kernel/netdev.h>
#include <kernel/pci.h>

/* Registers (byte offsets in BAR 0). */
#define CTRL 0x0000
#define STATUS 0x0008
#define EERD 0x0014
#define ICR 0x00c0
#define ITR 0x00c4
#define IMS 0x00d0
#define IMC 0x00d8
#define RCTL 0x0100
#define TCTL 0x0400
#define TIPG 0x0410
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define RDH 0x2810
#define RDT 0x2818
#define RDTR 0x2820
#define RADV 0x282c
#define TDBAL 0x3800
#define TDBAH 0x3804
#define TDLEN 0x3808
#define TDH 0x3810
#define TDT 0x3818
#define TIDV 0x3820
#define RXCSUM 0x5000
#define MTA 0x5200 /* 128 multicast table words */
#define RAL0 0x5400
#define RAH0 0x5404

#define CTRL_LRST (1u << 3)
#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_ILOS (1u << 7)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_LU (1u << 1)
#define EERD_START 1u
#define EERD_DONE (1u << 4) /* 82540/82545; the address is at bit 8 */
#define RAH_AV (1u << 31)
#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15) /* accept broadcast */
#define RCTL_SECRC (1u << 26) /* strip the CRC */
#define RXCSUM_IPOFL (1u << 8)
#define RXCSUM_TUOFL (1u << 9)
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_CT (0x10u << 4)
#define TCTL_COLD (0x40u << 12)
#define TIPG_COPPER (10u | 8u << 10 | 6u << 20)

/* Interrupt causes. */
#define ICR_TXDW (1u << 0)
#define ICR_LSC (1u << 2)
#define ICR_RXSEQ (1u << 3)
#define ICR_RXDMT0 (1u << 4)
#define ICR_RXO (1u << 6)
#define ICR_RXT0 (1u << 7)

struct rx_desc {
	uint64_t addr;
	uint16_t length, csum;
	uint8_t status, errors;
	uint16_t special;
};
#define RXD_DD 0x01
#define RXD_EOP 0x02
#define RXE_FRAME (0x01 | 0x02 | 0x04 | 0x10 | 0x80) /* CE, SE, SEQ, CXE, RXE */
#define RXE_CSUM (0x20 | 0x40) /* TCPE, IPE */

struct tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso, cmd, status, css;
	uint16_t special;
};
#define TXC_EOP 0x01
#define TXC_IFCS 0x02
#define TXC_RS 0x08
#define TXD_DD 0x01

#define SLOT 2048
#define LINK_WAIT_MS 3000
#define NRX 128 /* descriptors per ring: a multiple of 8 */
#define NTX 128

struct wm {
	struct netdev nd;
	struct pci_dev *pci;
	volatile uint8_t *regs;
	struct rx_desc *rxd;
	struct tx_desc *txd;
	uint8_t *rx, *tx; /* slot areas */
	unsigned long rx_pa, tx_pa;
	unsigned rx_next; /* next descriptor the device fills */
	unsigned tx_next; /* next descriptor to fill */
	unsigned tx_clean; /* oldest descriptor not reclaimed */
	unsigned tx_busy;
	int tx_stalled; /* a transmit found the ring full */
};

static inline uint32_t rd(struct wm *sc, unsigned reg) { return mmio_read32(sc->regs + reg); }

static inline void wr(struct wm *sc, unsigned reg, uint32_t v) { mmio_write32(sc->regs + reg, v); }

static void update_link(struct wm *sc) { sc->nd.link_up = (rd(sc, STATUS) & STATUS_LU) != 0; }

/* Hand every received frame to the stack and give its descriptor back. */
static void rx_drain(struct wm *sc)
{
	unsigned last = NRX;

	for (;;) {
		struct rx_desc *d = &sc->rxd[sc->rx_next];
		uint8_t status = *(volatile uint8_t *)&d->status;

		if (!(status & RXD_DD))
			break;
		dma_rmb(); /* the status before the rest of the descriptor */
		/* Frames never span descriptors: they fit the 2 KiB buffers. */
		if ((status & RXD_EOP) && !(d->errors & (RXE_FRAME | RXE_CSUM)) &&
		    d->length <= SLOT)
			netdev_input(&sc->nd, sc->rx + (size_t)sc->rx_next * SLOT, d->length);
		d->status = 0;
		last = sc->rx_next;
		sc->rx_next = (sc->rx_next + 1) % NRX;
	}
	if (last != NRX) {
		dma_wmb(); /* the cleared descriptors before the tail moves */
		wr(sc, RDT, last);
	}
}

static int wm_intr(void *arg)
{
	struct wm *sc = arg;
	uint32_t icr = rd(sc, ICR); /* reading acknowledges */

	if (icr & ICR_LSC)
		update_link(sc);
	rx_drain(sc);
	if (sc->tx_stalled) {
		sc->tx_stalled = 0;
		wr(sc, IMC, ICR_TXDW);
		if (sc->nd.tx_ready)
			sc->nd.tx_ready(&sc->nd); /* transmits again (and re-arms if still full) */
	}
	return icr != 0;
}

static void tx_reclaim(struct wm *sc)
{
	while (sc->tx_busy > 0 && (*(volatile uint8_t *)&sc->txd[sc->tx_clean].status & TXD_DD)) {
		sc->tx_clean = (sc->tx_clean + 1) % NTX;
		sc->tx_busy--;
	}
}

static int wm_transmit(struct netdev *nd, const struct iovec *iov, int iovcnt, size_t len)
{
	struct wm *sc = nd->driver;
	struct tx_desc *d;
	uint8_t *p;
	int i;

	if (len > SLOT)
		return -EIO;
	tx_reclaim(sc);
	if (sc->tx_busy == NTX - 1) { /* one descriptor stays empty: head == tail means idle */
		/* Interrupt when the device is done with one (every descriptor
		 * asks for its status: TXC_RS), unless it already is. */
		sc->tx_stalled = 1;
		wr(sc, IMS, ICR_TXDW);
		tx_reclaim(sc);
		if (sc->tx_busy == NTX - 1)
			return -ENOBUFS;
	}
	p = sc->tx + (size_t)sc->tx_next * SLOT;
	for (i = 0; i < iovcnt; p += iov[i].iov_len, i++)
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
	d = &sc->txd[sc->tx_next];
	d->addr = sc->tx_pa + (unsigned long)sc->tx_next * SLOT;
	d->length = (uint16_t)len;
	d->cso = d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = TXC_EOP | TXC_IFCS | TXC_RS;
	sc->tx_next = (sc->tx_next + 1) % NTX;
	sc->tx_busy++;
	dma_wmb(); /* the descriptor before the tail that hands it over */
	wr(sc, TDT, sc->tx_next);
	return 0;
}

static const struct netdev_ops wm_ops = {
    .transmit = wm_transmit,
};

/* The station address: the receive address register the controller loaded
 * from its EEPROM at reset, else the EEPROM itself (82540/82545 EERD). */
static int read_mac(struct wm *sc)
{
	uint32_t ral = rd(sc, RAL0), rah = rd(sc, RAH0);
	int i, w;

	if ((rah & RAH_AV) && (ral || (rah & 0xffff))) {
		for (i = 0; i < 4; i++)
			sc->nd.mac[i] = (uint8_t)(ral >> (8 * i));
		sc->nd.mac[4] = (uint8_t)rah;
		sc->nd.mac[5] = (uint8_t)(rah >> 8);
		return 0;
	}
	for (w = 0; w < 3; w++) {
		uint32_t v;

		wr(sc, EERD, (uint32_t)w << 8 | EERD_START);
		for (i = 0; i < 100000 && !((v = rd(sc, EERD)) & EERD_DONE); i++)
			;
		if (!(v & EERD_DONE))
			return -EIO;
		sc->nd.mac[2 * w] = (uint8_t)(v >> 16);
		sc->nd.mac[2 * w + 1] = (uint8_t)(v >> 24);
	}
	return 0;
}

static void reset(struct wm *sc)
{
	int i;

	wr(sc, IMC, 0xffffffff);
	wr(sc, CTRL, rd(sc, CTRL) | CTRL_RST);
	/* The manual asks for a pause before the register is read again. */
	for (i = 0; i < 1000 && (rd(sc, CTRL) & CTRL_RST); i++)
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 10000);
	wr(sc, IMC, 0xffffffff);
	(void)rd(sc, ICR);
}

static int fail(struct pci_dev *pd, const char *why)
{
	kprintf("rumprun: e1000 (pci %s): %s\n", pci_name(pd).s, why);
	return -ENODEV;
}

static int wm_attach(struct pci_dev *pd)
{
	struct wm *sc;
	unsigned long pa, va;
	unsigned i;

	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		return fail(pd, "out of memory");
	sc->pci = pd;
	pci_enable(pd);
	if ((sc->regs = pci_bar_map(pd, 0)) == NULL)
		return fail(pd, "cannot map the registers (BAR 0)");
	reset(sc);
	if (read_mac(sc) != 0)
		return fail(pd, "cannot read the MAC address from the EEPROM");

	/* Rings and buffers: one DMA area for both rings, one per buffer set. */
	if (rumpcomp_pci_dmalloc(
	        NRX * sizeof(struct rx_desc) + NTX * sizeof(struct tx_desc), 4096, &pa, &va))
		return fail(pd, "out of memory for the rings");
	sc->rxd = (struct rx_desc *)va;
	sc->txd = (struct tx_desc *)(va + NRX * sizeof(struct rx_desc));
	if (rumpcomp_pci_dmalloc(NRX * SLOT, 4096, &sc->rx_pa, (unsigned long *)&sc->rx) ||
	    rumpcomp_pci_dmalloc(NTX * SLOT, 4096, &sc->tx_pa, (unsigned long *)&sc->tx))
		return fail(pd, "out of memory for buffers");
	for (i = 0; i < NRX; i++)
		sc->rxd[i].addr = sc->rx_pa + (unsigned long)i * SLOT;

	/* Link: let the PHY negotiate, force the MAC's link up. */
	wr(sc, CTRL,
	    (rd(sc, CTRL) | CTRL_SLU | CTRL_ASDE) &
	        ~(CTRL_LRST | CTRL_PHY_RST | CTRL_ILOS | CTRL_VME));

	/* Receive: our address, no multicast, broadcast, 2 KiB buffers, no CRC. */
	wr(sc, RAL0,
	    (uint32_t)sc->nd.mac[0] | (uint32_t)sc->nd.mac[1] << 8 | (uint32_t)sc->nd.mac[2] << 16 |
	        (uint32_t)sc->nd.mac[3] << 24);
	wr(sc, RAH0, (uint32_t)sc->nd.mac[4] | (uint32_t)sc->nd.mac[5] << 8 | RAH_AV);
	for (i = 0; i < 128; i++)
		wr(sc, MTA + 4 * i, 0);
	wr(sc, RDBAL, (uint32_t)pa);
	wr(sc, RDBAH, (uint32_t)((uint64_t)pa >> 32));
	wr(sc, RDLEN, NRX * sizeof(struct rx_desc));
	wr(sc, RDH, 0);
	wr(sc, RDT, NRX - 1);
	wr(sc, RDTR, 0);
	wr(sc, RADV, 0);
	wr(sc, RXCSUM, RXCSUM_IPOFL | RXCSUM_TUOFL);
	wr(sc, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);

	/* Transmit. */
	pa += NRX * sizeof(struct rx_desc);
	wr(sc, TDBAL, (uint32_t)pa);
	wr(sc, TDBAH, (uint32_t)((uint64_t)pa >> 32));
	wr(sc, TDLEN, NTX * sizeof(struct tx_desc));
	wr(sc, TDH, 0);
	wr(sc, TDT, 0);
	wr(sc, TIDV, 0);
	wr(sc, TIPG, TIPG_COPPER);
	wr(sc, TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);

	/* A real PHY takes a second or more to negotiate, and frames sent
	 * before are lost (a DHCP request would only be repeated seconds
	 * later): wait for the link, but not forever (no cable).  QEMU has
	 * the link up at once, but holds received frames for the first
	 * second after RCTL is written (its flush_queue_timer): they arrive,
	 * late. */
	for (i = 0; i < LINK_WAIT_MS / 10 && !(rd(sc, STATUS) & STATUS_LU); i++)
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 10000000);

	sc->nd.mtu = 1500;
	/* The controller checks IPv4, TCP and UDP checksums (RXCSUM) and
	 * rx_drain drops what it flags; frames also passed the Ethernet CRC. */
	sc->nd.features = NETDEV_F_RX_CSUM_OK;
	sc->nd.ops = &wm_ops;
	sc->nd.driver = sc;
	update_link(sc);

	if (pci_intr_establish(pd, wm_intr, sc) != 0)
		return fail(pd, "no interrupt line");
	wr(sc, ITR, 0); /* no interrupt throttling */
	wr(sc, IMS, ICR_RXT0 | ICR_RXO | ICR_RXDMT0 | ICR_RXSEQ | ICR_LSC);

	netdev_name_unit(&sc->nd, "wm");
	if (netdev_register(&sc->nd) != 0)
		return fail(pd, "cannot register the interface");
	return 0;
}

/* 82540EM/EP (QEMU's e1000, VirtualBox's default), 82545EM (QEMU's
 * e1000-82545em, VirtualBox), 82543GC and 82544GC (VirtualBox, QEMU's
 * e1000-82544gc): one register set for what this driver uses. */
static const uint16_t wm_ids[] = {
    0x1004,
    0x1008,
    0x100c,
    0x100e,
    0x100f,
    0x1011,
    0x1015,
    0x1016,
    0x1017,
    0x101e,
    0x1026,
};

static int wm_match(const struct pci_dev *d)
{
	unsigned i;

	if (d->vendor != 0x8086)
		return 0;
	for (i = 0; i < ARRAY_SIZE(wm_ids); i++)
		if (d->device == wm_ids[i])
			return 1;
	return 0;
}

static const struct pci_driver wm_driver = {
    .name = "e1000",
    .match = wm_match,
    .attach = wm_attach,
};
PCI_DRIVER_REGISTER(wm_driver);
