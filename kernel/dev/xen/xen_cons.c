/*
 * The programs' standard input over Xen's PV console (its input ring),
 * when the launcher feeds it: `rumprun xen -i` sets xenstore's
 * rumprun/stdin to "1" before the domain starts.  Without that key stdin
 * reads end of file at once, as a console nobody types on would never end.
 *
 * The console is a byte stream with no end, so the launcher escapes what
 * it sends: 0xff 0xff is one 0xff byte, 0xff 0x00 is end of file (after
 * which everything is ignored).  Output stays on the platform's console.
 *
 * The console's event comes when input arrived (and when the daemon took
 * output); readers wait for it.  It counts as awaited only until end of
 * file, as the virtio console's does while the host's stdin is open.
 */
#include <kernel/kernel.h>
#include <kernel/console.h>
#include <kernel/vfs.h>
#include <kernel/xenbus.h>

#define ESCAPE 0xff
#define ESCAPED_EOF 0x00

struct xcons {
	struct console_channel ch; /* first: the channel converts back */
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *cv;
	uint8_t buf[2048]; /* decoded, not yet read */
	size_t head, tail;
	int escape; /* the last raw byte was an unpaired 0xff */
	int eof;
	int awaited;
};

/* Decode what the ring holds into buf, as far as buf has room (each raw
 * byte gives at most one). */
static void fill(struct xcons *sc)
{
	uint8_t raw[512];
	unsigned long got, i;

	if (sc->head == sc->tail)
		sc->head = sc->tail = 0;
	while (!sc->eof && sizeof(sc->buf) - sc->tail >= sizeof(raw)) {
		if (rumpcomp_xen_cons_read(raw, sizeof(raw), &got) || got == 0)
			break;
		for (i = 0; i < got && !sc->eof; i++) {
			if (sc->escape) {
				sc->escape = 0;
				if (raw[i] == ESCAPED_EOF)
					sc->eof = 1;
				else
					sc->buf[sc->tail++] = raw[i];
			} else if (raw[i] == ESCAPE) {
				sc->escape = 1;
			} else {
				sc->buf[sc->tail++] = raw[i];
			}
		}
	}
	if (sc->eof && sc->awaited) {
		sc->awaited = 0;
		rumpcomp_xen_evtchn_awaited(-1); /* nothing more will come */
	}
}

static ssize_t xcons_read(struct console_channel *ch, void *buf, size_t len, int nonblock)
{
	struct xcons *sc = (struct xcons *)ch;
	ssize_t n;

	rumpuser_mutex_enter(sc->mtx);
	for (;;) {
		fill(sc);
		if (sc->tail > sc->head) {
			n = (ssize_t)(sc->tail - sc->head < len ? sc->tail - sc->head : len);
			memcpy(buf, sc->buf + sc->head, (size_t)n);
			sc->head += (size_t)n;
			break;
		}
		if (sc->eof) {
			n = 0;
			break;
		}
		if (nonblock) {
			n = -EAGAIN;
			break;
		}
		rumpuser_cv_wait(sc->cv, sc->mtx);
	}
	rumpuser_mutex_exit(sc->mtx);
	return n;
}

static int xcons_readable(struct console_channel *ch)
{
	struct xcons *sc = (struct xcons *)ch;
	int ready;

	rumpuser_mutex_enter(sc->mtx);
	fill(sc);
	ready = sc->tail > sc->head || sc->eof;
	rumpuser_mutex_exit(sc->mtx);
	return ready;
}

static ssize_t xcons_write(struct console_channel *ch, const void *buf, size_t len)
{
	const char *p = buf;

	for (size_t i = 0; i < len; i++)
		rumpuser_putchar(p[i]);
	return (ssize_t)len;
}

static int xcons_intr(void *arg)
{
	struct xcons *sc = arg;

	rumpuser_mutex_enter(sc->mtx);
	fill(sc); /* also when nobody reads: the end is seen, the count dropped */
	rumpuser_cv_broadcast(sc->cv);
	rumpuser_mutex_exit(sc->mtx);
	poll_wakeup();
	return 1;
}

void xen_cons_attach(void)
{
	struct xcons *sc;
	char flag[8];
	int err;

	if (xenbus_read("rumprun", "stdin", flag, sizeof(flag)) != 0 || strcmp(flag, "1") != 0)
		return;
	if ((sc = kzalloc(sizeof(*sc))) == NULL) {
		kprintf("rumprun: no memory for the console's input: stdin is empty\n");
		return;
	}
	rumpuser_mutex_init(&sc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&sc->cv);
	if ((err = rumpcomp_xen_cons_establish(xcons_intr, sc)) != 0) {
		kprintf("rumprun: cannot wait for the console's input (error %d): stdin is empty\n",
		    err);
		return;
	}
	sc->awaited = 1; /* establish counted it */
	sc->ch.read = xcons_read;
	sc->ch.readable = xcons_readable;
	sc->ch.write = xcons_write;
	console_attach(CONSOLE_STDIN, &sc->ch);
}
