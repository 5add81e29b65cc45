/*
 * A xenstore client, enough to read, write and list keys and to watch a
 * few: requests and answers are messages (a 16-byte header, then the
 * payload) streamed through two 1 KiB rings in a page shared with
 * xenstored, with an event channel each way.  Relative paths are resolved
 * by xenstored under the domain's home, /local/domain/ID, so the guest
 * needs not know its ID.
 *
 * A request waits for its answer right there (polling the port; the
 * scheduler is cooperative and kernel code is not preempted, so requests
 * never interleave).  Watch events come whenever xenstored likes: one
 * that arrives during a request is noted there; between requests the
 * port's handler (an established port, run by the interrupt thread) reads
 * them.  Either way the watch's handler runs from that thread.
 */
#include <bmk/core.h>
#include <xen/xen.h>
#include <errno.h>
#include "rumpcomp_xen.h"

#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_WRITE 11
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XS_PAYLOAD_MAX 4096
#define XS_TIMEOUT_NS 5000000000LL

struct xenstore_domain_interface {
	char req[1024];
	char rsp[1024];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

struct xsd_sockmsg {
	uint32_t type, req_id, tx_id, len;
};

static volatile struct xenstore_domain_interface *ring;
static uint32_t port;
static uint32_t next_id = 1;

#define MAX_WATCHES 4
static struct {
	void (*handler)(void *);
	void *arg;
	volatile int fired;
} watches[MAX_WATCHES];
static unsigned nwatches;
static int listening; /* the port's handler is established (store_events) */

void xen_xenstore_init(void)
{
	uint64_t pfn, evtchn;

	if (xen_hvm_param(HVM_PARAM_STORE_PFN, &pfn) || !pfn ||
	    xen_hvm_param(HVM_PARAM_STORE_EVTCHN, &evtchn))
		return;
	x86_boot_reserve(pfn << BMK_PAGE_SHIFT, (pfn + 1) << BMK_PAGE_SHIFT);
	ring = x86_phys_to_virt(pfn << BMK_PAGE_SHIFT);
	port = (uint32_t)evtchn;
}

/* Wait for xenstored (it notifies after each move); 0, or -1 past deadline. */
static int wait(int64_t deadline)
{
	int64_t now = xen_clock_mono();

	if (now >= deadline)
		return -1;
	xen_evtchn_poll(&port, 1, xen_clock_system(now + 10000000));
	xen_evtchn_test_and_clear(port);
	return 0;
}

static int send(const void *data, size_t len, int64_t deadline)
{
	const char *p = data;

	while (len) {
		uint32_t prod = ring->req_prod, space = sizeof(ring->req) - (prod - ring->req_cons);
		size_t n;

		if (space == 0) {
			if (wait(deadline))
				return -1;
			continue;
		}
		for (n = 0; n < len && n < space; n++)
			ring->req[(prod + n) % sizeof(ring->req)] = p[n];
		__asm__ volatile("" ::: "memory");
		ring->req_prod = prod + n;
		xen_evtchn_send(port);
		p += n;
		len -= n;
	}
	return 0;
}

static int receive(void *data, size_t len, int64_t deadline)
{
	char *p = data;

	while (len) {
		uint32_t cons = ring->rsp_cons, avail = ring->rsp_prod - cons;
		size_t n;

		if (avail == 0) {
			if (wait(deadline))
				return -1;
			continue;
		}
		__asm__ volatile("" ::: "memory");
		for (n = 0; n < len && n < avail; n++)
			p[n] = ring->rsp[(cons + n) % sizeof(ring->rsp)];
		__asm__ volatile("" ::: "memory");
		ring->rsp_cons = cons + n;
		xen_evtchn_send(port);
		p += n;
		len -= n;
	}
	return 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A watch event's payload is "PATH\0TOKEN\0"; our tokens are "w" and the
 * watch's index.  Marks the watch fired (store_events runs it). */
static void note_watch_event(const char *payload, size_t len)
{
	const char *token = payload;
	unsigned i;

	while (token < payload + len && *token)
		token++;
	token++;
	if (token + 2 > payload + len || token[0] != 'w')
		return;
	i = (unsigned)(token[1] - '0');
	if (i < nwatches && token[2] == '\0')
		watches[i].fired = 1;
}

/*
 * The next message from xenstored: its header into *msg, its payload
 * (NUL-terminated, from bmk_memalloc: msg->len + 1 bytes) returned; NULL
 * when xenstored says nothing more before deadline or breaks the protocol.
 * Out of memory ends the machine: the stream could not be read further.
 */
static char *next_message(struct xsd_sockmsg *msg, int64_t deadline, const char *what)
{
	char *value;

	if (receive(msg, sizeof(*msg), deadline) || msg->len > XS_PAYLOAD_MAX)
		return NULL;
	if ((value = bmk_memalloc(msg->len + 1, 0)) == NULL) {
		bmk_printf("rumprun: out of memory talking to xenstore (%s)\n", what);
		bmk_exit(1, 1);
	}
	if (receive(value, msg->len, deadline)) {
		bmk_memfree(value, msg->len + 1);
		return NULL;
	}
	value[msg->len] = '\0';
	return value;
}

/*
 * One request and its answer: type, then parts[0..nparts) as the payload
 * (each with its length; a NUL is part of a part where the wire wants one).
 * The answer's payload, NUL-terminated, from bmk_memalloc (its length + 1
 * bytes) with its length in *len; NULL with *err set to ENOENT (xenstored
 * said so), EACCES, or EIO (another refusal, no xenstore, no answer).
 */
static char *talk(uint32_t type, const char *const *parts, const size_t *lens, int nparts,
    size_t *len, int *err, const char *what)
{
	int64_t deadline = xen_clock_mono() + XS_TIMEOUT_NS;
	struct xsd_sockmsg msg = {.type = type, .req_id = next_id++};
	char *value;
	int i;

	*err = EIO;
	if (!ring)
		return NULL;
	for (msg.len = 0, i = 0; i < nparts; i++)
		msg.len += lens[i];
	if (send(&msg, sizeof(msg), deadline))
		goto silent;
	for (i = 0; i < nparts; i++)
		if (send(parts[i], lens[i], deadline))
			goto silent;
	for (;;) {
		if ((value = next_message(&msg, deadline, what)) == NULL)
			goto silent;
		if (msg.type == XS_WATCH_EVENT) { /* not the answer: run it later */
			note_watch_event(value, msg.len);
			xen_events_mark(port);
			bmk_memfree(value, msg.len + 1);
			continue;
		}
		if (msg.type == XS_ERROR) { /* "ENOENT", "EACCES", ... */
			if (streq(value, "ENOENT"))
				*err = ENOENT;
			else if (streq(value, "EACCES"))
				*err = EACCES;
			bmk_memfree(value, msg.len + 1);
			return NULL;
		}
		*len = msg.len;
		return value;
	}
silent:
	bmk_printf("rumprun: xenstore does not answer (%s)\n", what);
	return NULL;
}

static size_t length(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

char *xen_xenstore_read(const char *path, size_t *len)
{
	size_t plen = length(path) + 1;
	int err;

	return talk(XS_READ, &path, &plen, 1, len, &err, path);
}

/* ---- the kernel's interface (rumpcomp_xen.h) -------------------------- */

/* The answer into buf (a read's value, a directory's NUL-separated names). */
static int answer(int type, const char *path, char *buf, unsigned long size, unsigned long *len)
{
	size_t plen = length(path) + 1, n;
	int err;
	char *value = talk(type, &path, &plen, 1, &n, &err, path);

	if (!value)
		return err;
	*len = n;
	if (n + 1 > size) {
		bmk_memfree(value, n + 1);
		return ENOSPC;
	}
	__builtin_memcpy(buf, value, n + 1);
	bmk_memfree(value, n + 1);
	return 0;
}

int rumpcomp_xen_store_read(const char *path, char *buf, unsigned long size, unsigned long *len)
{
	return answer(XS_READ, path, buf, size, len);
}

int rumpcomp_xen_store_list(const char *path, char *buf, unsigned long size, unsigned long *len)
{
	return answer(XS_DIRECTORY, path, buf, size, len);
}

int rumpcomp_xen_store_write(const char *path, const char *value)
{
	const char *parts[2] = {path, value};
	size_t lens[2] = {length(path) + 1, length(value)}, n;
	int err;
	char *ok = talk(XS_WRITE, parts, lens, 2, &n, &err, path);

	if (!ok)
		return err;
	bmk_memfree(ok, n + 1);
	return 0;
}

/*
 * The port's handler: the messages nobody asked for (watch events) that
 * came between requests, then the handlers of the watches that fired.
 */
static int store_events(void *unused)
{
	int64_t deadline = xen_clock_mono() + XS_TIMEOUT_NS;
	struct xsd_sockmsg msg;
	unsigned i;

	(void)unused;
	while (ring->rsp_prod != ring->rsp_cons) {
		char *value = next_message(&msg, deadline, "a watch event");

		if (!value)
			break;
		if (msg.type == XS_WATCH_EVENT)
			note_watch_event(value, msg.len);
		bmk_memfree(value, msg.len + 1);
	}
	for (i = 0; i < nwatches; i++) {
		if (watches[i].fired) {
			watches[i].fired = 0;
			watches[i].handler(watches[i].arg);
		}
	}
	return 1;
}

int rumpcomp_xen_store_watch(const char *path, void (*handler)(void *), void *arg)
{
	char token[3] = {'w', (char)('0' + nwatches), '\0'};
	const char *parts[2] = {path, token};
	size_t lens[2] = {length(path) + 1, sizeof(token)}, n;
	int err;
	char *ok;

	if (!ring)
		return EIO;
	if (nwatches == MAX_WATCHES)
		return ENOSPC;
	if (!listening) {
		if ((err = rumpcomp_xen_evtchn_establish(port, store_events, NULL)) != 0)
			return err;
		/* Nothing waits for xenstore: a deadlock is still one. */
		rumpcomp_xen_evtchn_awaited(-1);
		listening = 1;
	}
	watches[nwatches].handler = handler;
	watches[nwatches].arg = arg;
	nwatches++;
	if ((ok = talk(XS_WATCH, parts, lens, 2, &n, &err, path)) == NULL) {
		nwatches--;
		return err;
	}
	bmk_memfree(ok, n + 1);
	return 0;
}
