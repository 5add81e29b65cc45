/*
 * virtio-console with multiple ports (virtio-serial; virtio 1.2, 5.3): the
 * programs' standard streams (kernel/include/kernel/console.h).
 *
 * The launcher gives QEMU a virtio-serial device with ports named
 * rumprun.stdin, rumprun.stdout and rumprun.stderr (a ".tty" suffix says
 * the host end is a terminal), each a socket to the launcher.  Attach at
 * boot only registers the device with the console (console_defer); the
 * first use of a stream sets it up (or a kernel thread 50 ms after boot,
 * so that the control port below serves quiet programs too; a program
 * that spins without a system call from its start keeps it from running):
 * the driver learns the ports from the
 * device's control messages (the device answers each of ours at once, so
 * the set-up polls for them), opens the named ones and attaches them to
 * their streams; any other port is left alone.  A program that never uses
 * its streams leaves the device untouched (under QEMU's TCG the handshake
 * was a third of a quiet program's boot: code translated once, run once).  Later control messages and received data arrive through
 * the interrupt handler.  The host closing its end of rumprun.stdin (the
 * launcher does when its own stdin ends) is end of file for the program,
 * after everything sent before has been read.
 *
 * A port named rumprun.control carries the host's requests to the kernel,
 * one line each: "shutdown N" asks the machine to sync its volumes and
 * power off as if killed by signal N (kernel/program.c, machine_shutdown;
 * the launcher sends it on Ctrl-C and `rumprun stop`).  The interrupt
 * handler reads it, so a request is served whatever the programs do.
 *
 * Writes are synchronous: a write returns once the device has handed the
 * bytes to the host, so nothing is in flight when the machine ends.
 *
 * The device's interrupt can wake a blocked thread only while the host's
 * stdin is open (data or end of file may come) or a write waits for the
 * device, so only then does the driver count it as awaited
 * (rumpcomp_pci_irq_awaited): a program whose threads all block otherwise
 * is reported as deadlocked, as without the console.
 */
#include <kernel/kernel.h>
#include <kernel/console.h>
#include <kernel/virtio.h>
#include <kernel/vfs.h>
#include <kernel/program.h>

#define VIRTIO_CONSOLE_F_MULTIPORT 1

#define CONFIG_MAX_PORTS 4 /* u32 max_nr_ports */

/* Control messages (5.3.6.2). */
struct ctrl_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};
#define DEVICE_READY 0
#define DEVICE_ADD 1
#define DEVICE_REMOVE 2
#define PORT_READY 3
#define CONSOLE_PORT 4
#define RESIZE 5
#define PORT_OPEN 6
#define PORT_NAME 7

#define CTRL_RXQ 2
#define CTRL_TXQ 3
#define CTRL_BUFS 32 /* one per port the device may announce at once */
#define CTRL_BUFSZ 256
#define MAX_PORTS 8 /* ports set up; ids above are refused */
#define RX_BUFS 16
#define RX_BUFSZ 4096
#define TX_BYTES 65536 /* the largest piece one write hands over */
#define BOOT_WAIT_MS 1000 /* for the device's answers at set-up */

struct vcons;

struct vport {
	struct console_channel ch; /* first: channels convert back */
	struct vcons *sc;
	unsigned id;
	int stream; /* CONSOLE_*, -1 while unnamed or unknown */
	int named;
	int control; /* rumprun.control: requests from the host */
	int host_open;
	struct virtq rxq, txq;
	uint8_t *rx, *tx; /* RX_BUFS slots; TX_BYTES */
	unsigned long rx_pa, tx_pa;
	/* Slots the device filled, oldest first, and how much of the first
	 * was read. */
	uint16_t filled[RX_BUFS];
	uint32_t filled_len[RX_BUFS];
	unsigned nfilled, first, offset;
	struct rumpuser_mtx *wlock; /* one writer at a time */
};

struct vcons {
	struct console_starter starter; /* first: the starter converts back */
	struct virtio_dev *vd;
	struct virtq crx, ctx;
	uint8_t *cbuf; /* CTRL_BUFS receive slots, then one to send */
	unsigned long cbuf_pa;
	struct vport *ports[MAX_PORTS];
	unsigned nadded; /* ports announced, set up or refused */
	struct rumpuser_mtx *mtx; /* port state; held while draining */
	struct rumpuser_cv *changed; /* data, end of file, a write completed */
	int awaited; /* what we count in rumpcomp_pci_irq_awaited */
	int writers_waiting; /* writes waiting for the device */
	char request[32]; /* the control port's line so far */
	unsigned request_len;
};

/* Platforms without it (no PCI interrupts) have nothing to count. */
void rumpcomp_pci_irq_awaited(int delta) __attribute__((weak));

/* Count our interrupt as awaited exactly while it may wake someone. */
static void update_awaited(struct vcons *sc)
{
	int want = sc->writers_waiting > 0, id;

	for (id = 0; id < MAX_PORTS; id++)
		if (sc->ports[id] && sc->ports[id]->stream == CONSOLE_STDIN &&
		    sc->ports[id]->host_open)
			want = 1;
	if (want != sc->awaited && rumpcomp_pci_irq_awaited)
		rumpcomp_pci_irq_awaited(want - sc->awaited);
	sc->awaited = want;
}

static const char *const stream_names[CONSOLE_NSTREAMS] = {
    [CONSOLE_STDIN] = "rumprun.stdin",
    [CONSOLE_STDOUT] = "rumprun.stdout",
    [CONSOLE_STDERR] = "rumprun.stderr",
};

static void sleep_ms(long ms) { rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, ms * 1000000); }

/* ---- control queue --------------------------------------------------- */

static void ctrl_post(struct vcons *sc, unsigned slot)
{
	struct virtq_seg seg = {sc->cbuf_pa + (unsigned long)slot * CTRL_BUFSZ, CTRL_BUFSZ};

	virtq_add(&sc->crx, &seg, 0, 1, (void *)(uintptr_t)(slot + 1));
}

/* Send one control message and wait until the device has taken it (it
 * answers at once; the wait is bounded in case it does not). */
static void ctrl_send(struct vcons *sc, unsigned id, uint16_t event, uint16_t value)
{
	struct ctrl_msg *m = (struct ctrl_msg *)(sc->cbuf + CTRL_BUFS * CTRL_BUFSZ);
	struct virtq_seg seg = {sc->cbuf_pa + CTRL_BUFS * CTRL_BUFSZ, sizeof(*m)};
	int i;

	m->id = id;
	m->event = event;
	m->value = value;
	if (virtq_add(&sc->ctx, &seg, 1, 0, sc) != 0)
		return;
	virtq_kick(&sc->ctx);
	for (i = 0; i < BOOT_WAIT_MS && !virtq_get(&sc->ctx, NULL); i++)
		sleep_ms(1);
}

static unsigned port_rxq(unsigned id) { return id == 0 ? 0 : 2 + 2 * id; }
static unsigned port_txq(unsigned id) { return id == 0 ? 1 : 3 + 2 * id; }

static void rx_post(struct vport *vp, unsigned slot)
{
	struct virtq_seg seg = {vp->rx_pa + (unsigned long)slot * RX_BUFSZ, RX_BUFSZ};

	virtq_add(&vp->rxq, &seg, 0, 1, (void *)(uintptr_t)(slot + 1));
}

/* A port the device announced: its queues and buffers, then PORT_READY. */
static void port_add(struct vcons *sc, unsigned id)
{
	struct vport *vp;
	unsigned i;

	sc->nadded++;
	if (id >= MAX_PORTS || sc->ports[id]) {
		ctrl_send(sc, id, PORT_READY, 0);
		return;
	}
	if ((vp = kzalloc(sizeof(*vp))) == NULL ||
	    virtq_create(sc->vd, &vp->rxq, port_rxq(id), RX_BUFS) != 0 ||
	    virtq_create(sc->vd, &vp->txq, port_txq(id), 2) != 0 ||
	    rumpcomp_pci_dmalloc(RX_BUFS * RX_BUFSZ, 4096, &vp->rx_pa, (unsigned long *)&vp->rx) ||
	    rumpcomp_pci_dmalloc(TX_BYTES, 4096, &vp->tx_pa, (unsigned long *)&vp->tx)) {
		kprintf("rumprun: virtio-console (%s): no memory for port %u\n", sc->vd->where, id);
		ctrl_send(sc, id, PORT_READY, 0);
		return;
	}
	vp->sc = sc;
	vp->id = id;
	vp->stream = -1;
	rumpuser_mutex_init(&vp->wlock, RUMPUSER_MTX_KMUTEX);
	for (i = 0; i < RX_BUFS && i < vp->rxq.size; i++)
		rx_post(vp, i);
	virtq_kick(&vp->rxq);
	virtq_intr_disable(&vp->txq); /* writers ask when they must wait */
	sc->ports[id] = vp;
	ctrl_send(sc, id, PORT_READY, 1);
}

static void port_attach_stream(struct vcons *sc, struct vport *vp, const char *name, size_t len);

/* Handle every control message the device has sent. */
static void ctrl_drain(struct vcons *sc)
{
	uint32_t len;
	void *cookie;

	while ((cookie = virtq_get(&sc->crx, &len)) != NULL) {
		unsigned slot = (unsigned)(uintptr_t)cookie - 1;
		const uint8_t *buf = sc->cbuf + (size_t)slot * CTRL_BUFSZ;
		struct ctrl_msg m;
		struct vport *vp;

		if (len >= sizeof(m)) {
			memcpy(&m, buf, sizeof(m));
			vp = m.id < MAX_PORTS ? sc->ports[m.id] : NULL;
			switch (m.event) {
			case DEVICE_ADD:
				port_add(sc, m.id);
				break;
			case PORT_NAME:
				if (vp && !vp->named)
					port_attach_stream(
					    sc, vp, (const char *)buf + sizeof(m), len - sizeof(m));
				break;
			case PORT_OPEN:
				if (vp)
					vp->host_open = m.value;
				break;
			case DEVICE_REMOVE:
				if (vp)
					vp->host_open = 0; /* its reader sees end of file */
				break;
			}
		}
		ctrl_post(sc, slot);
	}
	virtq_kick(&sc->crx);
	update_awaited(sc);
}

/* Move what the device has received on vp into its list of filled slots. */
static void rx_drain(struct vport *vp)
{
	uint32_t len;
	void *cookie;

	while (vp->nfilled < RX_BUFS && (cookie = virtq_get(&vp->rxq, &len)) != NULL) {
		unsigned i = (vp->first + vp->nfilled) % RX_BUFS;

		vp->filled[i] = (uint16_t)((uintptr_t)cookie - 1);
		vp->filled_len[i] = len <= RX_BUFSZ ? len : RX_BUFSZ;
		if (vp->filled_len[i] == 0) {
			rx_post(vp, vp->filled[i]); /* nothing in it */
			continue;
		}
		vp->nfilled++;
	}
}

static void drain_all(struct vcons *sc)
{
	unsigned id;

	ctrl_drain(sc);
	for (id = 0; id < MAX_PORTS; id++)
		if (sc->ports[id])
			rx_drain(sc->ports[id]);
}

/* One line from the control port: the signal a shutdown request names, or
 * 0 for a line this kernel does not know (ignored). */
static int request_signal(const char *line)
{
	int signo = 0;

	if (strncmp(line, "shutdown ", 9) != 0)
		return 0;
	for (line += 9; *line >= '0' && *line <= '9' && signo < 1000; line++)
		signo = signo * 10 + (*line - '0');
	return *line == '\0' && signo >= 1 && signo <= 64 ? signo : 0;
}

/* Consume what the control port received (locked); the signal of the
 * last complete shutdown request in it, or 0. */
static int control_drain(struct vcons *sc, struct vport *vp)
{
	int signo = 0, reposted = 0;

	while (vp->nfilled > 0) {
		unsigned slot = vp->filled[vp->first];
		const char *p = (const char *)vp->rx + (size_t)slot * RX_BUFSZ;
		uint32_t i;

		for (i = 0; i < vp->filled_len[vp->first]; i++) {
			if (p[i] != '\n') {
				if (sc->request_len < sizeof(sc->request) - 1)
					sc->request[sc->request_len++] = p[i];
				continue;
			}
			sc->request[sc->request_len] = '\0';
			sc->request_len = 0;
			if (request_signal(sc->request))
				signo = request_signal(sc->request);
		}
		rx_post(vp, slot);
		reposted = 1;
		vp->first = (vp->first + 1) % RX_BUFS;
		vp->nfilled--;
	}
	if (reposted)
		virtq_kick(&vp->rxq);
	return signo;
}

static int vcons_intr(void *arg)
{
	struct vcons *sc = arg;
	unsigned isr = virtio_intr_status(sc->vd);
	int signo = 0, id;

	rumpuser_mutex_enter(sc->mtx);
	drain_all(sc);
	for (id = 0; id < MAX_PORTS; id++)
		if (sc->ports[id] && sc->ports[id]->control) {
			int asked = control_drain(sc, sc->ports[id]);
			if (asked)
				signo = asked;
		}
	rumpuser_cv_broadcast(sc->changed);
	rumpuser_mutex_exit(sc->mtx);
	poll_wakeup();
	if (signo)
		machine_shutdown(signo);
	return isr != 0;
}

/* ---- the console channels -------------------------------------------- */

static ssize_t port_write(struct console_channel *ch, const void *buf, size_t len)
{
	struct vport *vp = (struct vport *)ch;
	struct vcons *sc = vp->sc;
	size_t done = 0;

	rumpuser_mutex_enter(vp->wlock);
	while (done < len) {
		size_t n = len - done < TX_BYTES ? len - done : TX_BYTES;
		struct virtq_seg seg = {vp->tx_pa, (uint32_t)n};

		memcpy(vp->tx, (const char *)buf + done, n);
		if (virtq_add(&vp->txq, &seg, 1, 0, vp) != 0) {
			rumpuser_mutex_exit(vp->wlock);
			return -EIO;
		}
		virtq_kick(&vp->txq);
		/* The device usually has it written before the kick returns. */
		while (!virtq_get(&vp->txq, NULL)) {
			rumpuser_mutex_enter(sc->mtx);
			if (!virtq_intr_enable(&vp->txq)) {
				sc->writers_waiting++;
				update_awaited(sc);
				rumpuser_cv_wait(sc->changed, sc->mtx);
				sc->writers_waiting--;
				update_awaited(sc);
			}
			virtq_intr_disable(&vp->txq);
			rumpuser_mutex_exit(sc->mtx);
		}
		done += n;
	}
	rumpuser_mutex_exit(vp->wlock);
	return (ssize_t)len;
}

static ssize_t port_read(struct console_channel *ch, void *buf, size_t len, int nonblock)
{
	struct vport *vp = (struct vport *)ch;
	struct vcons *sc = vp->sc;
	size_t done = 0;
	int reposted = 0;

	rumpuser_mutex_enter(sc->mtx);
	rx_drain(vp);
	while (vp->nfilled == 0) {
		if (!vp->host_open || nonblock) {
			rumpuser_mutex_exit(sc->mtx);
			return vp->host_open ? -EAGAIN : 0;
		}
		rumpuser_cv_wait(sc->changed, sc->mtx);
		rx_drain(vp);
	}
	while (done < len && vp->nfilled > 0) {
		unsigned slot = vp->filled[vp->first];
		size_t n = vp->filled_len[vp->first] - vp->offset;

		if (n > len - done)
			n = len - done;
		memcpy((char *)buf + done, vp->rx + (size_t)slot * RX_BUFSZ + vp->offset, n);
		done += n;
		vp->offset += (unsigned)n;
		if (vp->offset == vp->filled_len[vp->first]) {
			rx_post(vp, slot);
			reposted = 1;
			vp->offset = 0;
			vp->first = (vp->first + 1) % RX_BUFS;
			vp->nfilled--;
		}
	}
	if (reposted)
		virtq_kick(&vp->rxq);
	rumpuser_mutex_exit(sc->mtx);
	return (ssize_t)done;
}

static int port_readable(struct console_channel *ch)
{
	struct vport *vp = (struct vport *)ch;
	int ready;

	rumpuser_mutex_enter(vp->sc->mtx);
	rx_drain(vp);
	ready = vp->nfilled > 0 || !vp->host_open;
	rumpuser_mutex_exit(vp->sc->mtx);
	return ready;
}

/* A port's name says which stream it carries; open those ports. */
static void port_attach_stream(struct vcons *sc, struct vport *vp, const char *name, size_t len)
{
	int s;

	vp->named = 1;
	while (len > 0 && name[len - 1] == '\0')
		len--;
	if (len == strlen("rumprun.control") && memcmp(name, "rumprun.control", len) == 0) {
		vp->control = 1;
		ctrl_send(sc, vp->id, PORT_OPEN, 1);
		return;
	}
	for (s = 0; s < CONSOLE_NSTREAMS; s++) {
		size_t n = strlen(stream_names[s]);

		if (len < n || memcmp(name, stream_names[s], n) != 0)
			continue;
		if (len == n + 4 && memcmp(name + n, ".tty", 4) == 0)
			vp->ch.tty = 1;
		else if (len != n)
			continue;
		vp->stream = s;
		vp->ch.write = port_write;
		vp->ch.read = port_read;
		vp->ch.readable = port_readable;
		ctrl_send(sc, vp->id, PORT_OPEN, 1);
		console_attach((enum console_stream)s, &vp->ch);
		return;
	}
}

/* ---- attach ---------------------------------------------------------- */

static int fail(struct virtio_dev *d, const char *why)
{
	virtio_fail(d, "virtio-console", why);
	return -ENODEV;
}

/* Whether every port set up so far has its name. */
static int all_named(struct vcons *sc)
{
	unsigned id;

	for (id = 0; id < MAX_PORTS; id++)
		if (sc->ports[id] && !sc->ports[id]->named)
			return 0;
	return 1;
}

/* The device's set-up, at the first use of a stream (console_defer). */
static void vcons_start(struct console_starter *cs)
{
	struct vcons *sc = (struct vcons *)cs;
	struct virtio_dev *d = sc->vd;
	uint32_t max_ports;
	unsigned i;
	int waited;

	if (virtio_negotiate(d, VIRTIO_FEATURE(VIRTIO_CONSOLE_F_MULTIPORT)) != 0) {
		fail(d, "feature negotiation failed");
		return;
	}
	if (!virtio_has(d, VIRTIO_CONSOLE_F_MULTIPORT)) {
		fail(d, "the device has no named ports (multiport)");
		return;
	}
	virtio_config_read(d, CONFIG_MAX_PORTS, &max_ports, sizeof(max_ports));
	rumpuser_mutex_init(&sc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&sc->changed);
	if (virtq_create(d, &sc->crx, CTRL_RXQ, CTRL_BUFS) != 0 ||
	    virtq_create(d, &sc->ctx, CTRL_TXQ, 2) != 0 ||
	    rumpcomp_pci_dmalloc((CTRL_BUFS + 1) * CTRL_BUFSZ, 4096, &sc->cbuf_pa,
	        (unsigned long *)&sc->cbuf) != 0) {
		fail(d, "cannot set up the control queues");
		return;
	}
	for (i = 0; i < CTRL_BUFS && i < sc->crx.size; i++)
		ctrl_post(sc, i);
	if (virtio_intr_establish(d, vcons_intr, sc) != 0) {
		fail(d, "no interrupt line");
		return;
	}
	sc->awaited = 1; /* as establishing counted it */
	virtio_ready(d);
	virtq_kick(&sc->crx);

	/* The device announces its ports and names them in answer to our
	 * messages; collect that before the stream is used. */
	rumpuser_mutex_enter(sc->mtx);
	ctrl_send(sc, 0, DEVICE_READY, 1);
	for (waited = 0; waited < BOOT_WAIT_MS; waited++) {
		drain_all(sc);
		/* A device with no ports has said so by now, too. */
		if (all_named(sc) && (sc->nadded > 0 || waited >= 10))
			break;
		sleep_ms(1);
	}
	rumpuser_mutex_exit(sc->mtx);
}

static int vcons_attach(struct virtio_dev *d)
{
	struct vcons *sc;

	if ((sc = kzalloc(sizeof(*sc))) == NULL)
		return fail(d, "out of memory");
	sc->vd = d;
	d->driver = sc;
	sc->starter.start = vcons_start;
	console_defer(&sc->starter);
	return 0;
}

static const struct virtio_driver vcons_driver = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .attach = vcons_attach,
};
VIRTIO_DRIVER_REGISTER(vcons_driver);
