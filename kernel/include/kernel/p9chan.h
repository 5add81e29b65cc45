/*
 * 9P channels: the transports the 9P client (kernel/fs/9p/) talks over.
 * A transport driver (virtio-9p, kernel/dev/virtio/virtio_9p.c) registers
 * one channel per device under its mount tag ("share0"...).
 *
 * A request is built in a slot's request buffer and answered into the
 * same slot's response buffer, both msize bytes of memory the device
 * reaches, so a message is copied once (between the caller's memory and
 * the slot).  Several requests may be in flight (one per slot); callers
 * that find every slot busy wait for one.
 *
 * Functions returning int return 0 or a negative errno value.
 */
#ifndef KERNEL_P9CHAN_H
#define KERNEL_P9CHAN_H

#include <stddef.h>
#include <stdint.h>

struct p9_chan;

struct p9_slot {
	unsigned char *req; /* msize bytes: the request, size field first */
	unsigned char *resp; /* msize bytes: the answer */
	/* the transport's: */
	unsigned long req_pa, resp_pa;
	uint32_t resp_len;
	int busy, done;
	uint16_t tag;
};

struct p9_chan_ops {
	/* Send slot's request (its size field says how long) and wait for the
	 * answer; returns its length, or -EIO when the device failed. */
	int (*rpc)(struct p9_chan *c, struct p9_slot *s);
	/* Borrow a free slot (waiting for one) and give it back. */
	struct p9_slot *(*get)(struct p9_chan *c);
	void (*put)(struct p9_chan *c, struct p9_slot *s);
};

struct p9_chan {
	const struct p9_chan_ops *ops;
	char tag[64]; /* the mount tag, NUL-terminated */
	uint32_t msize; /* the largest message either way */
	int users; /* mounts on it (one at a time) */
	void *priv; /* the transport's */
	struct p9_chan *next;
};

/* Transports: make c known under c->tag.  -EEXIST when the tag is taken. */
int p9_chan_register(struct p9_chan *c);
/* The channel whose tag is tag, or NULL. */
struct p9_chan *p9_chan_lookup(const char *tag);

#endif
