/*
 * Xen frontends' side of xenbus (kernel/dev/xen/xenbus.c): finding the
 * devices the toolstack gave the domain (xenstore's device/KIND/ID
 * directories) and the handshake every frontend does with its backend
 * through the two sides' "state" keys.  Built on the Xen hypercalls of
 * rumpcomp_xen.h, which only the xen platform provides: the kernel refers
 * to them weakly, and on other machines xenbus finds nothing.
 *
 * Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef KERNEL_XENBUS_H
#define KERNEL_XENBUS_H

#include <stddef.h>
#include <stdint.h>
#include "rumpcomp_xen.h"

#pragma weak rumpcomp_xen_store_read
#pragma weak rumpcomp_xen_store_write
#pragma weak rumpcomp_xen_store_list
#pragma weak rumpcomp_xen_store_watch
#pragma weak rumpcomp_xen_grant
#pragma weak rumpcomp_xen_ungrant
#pragma weak rumpcomp_xen_evtchn_alloc
#pragma weak rumpcomp_xen_evtchn_notify
#pragma weak rumpcomp_xen_evtchn_establish
#pragma weak rumpcomp_xen_evtchn_awaited
#pragma weak rumpcomp_xen_cons_read
#pragma weak rumpcomp_xen_cons_establish

/* The states both sides publish (xen/include/public/io/xenbus.h). */
enum xenbus_state {
	XENBUS_INITIALISING = 1,
	XENBUS_INITWAIT = 2, /* backend: ready for the frontend's details */
	XENBUS_INITIALISED = 3, /* frontend: details published */
	XENBUS_CONNECTED = 4,
	XENBUS_CLOSING = 5,
	XENBUS_CLOSED = 6,
};

struct xenbus_dev {
	char node[40]; /* "device/vbd/51712", under the domain's home */
	char backend[128]; /* the backend's directory (absolute) */
	unsigned backend_id; /* its domain */
	unsigned id; /* 51712 */
};

/* Whether this machine has xenstore at all (the xen platform). */
int xenbus_present(void);

/* The IDs under device/KIND (e.g. "vbd", "vif"), ascending, at most max;
 * returns how many (0 when none or no xenstore). */
int xenbus_devices(const char *kind, unsigned *ids, int max);

/* Fill d for device/KIND/ID: its backend's directory and domain.
 * -ENOENT when the toolstack wrote no backend. */
int xenbus_dev_init(struct xenbus_dev *d, const char *kind, unsigned id);

/* dir/key as text (NUL-terminated, in buf of size bytes) or a number.
 * -ENOENT, -ENOSPC, -EINVAL (not a number), -EIO. */
int xenbus_read(const char *dir, const char *key, char *buf, size_t size);
int xenbus_read_u64(const char *dir, const char *key, uint64_t *value);
/* Set dir/key to text or a number. */
int xenbus_write(const char *dir, const char *key, const char *value);
int xenbus_write_u64(const char *dir, const char *key, uint64_t value);

/* Publish the frontend's state. */
int xenbus_set_state(struct xenbus_dev *d, enum xenbus_state state);
/* Wait (polling, other threads run) until the backend's state is at
 * least want: returns the state it reached, -ENODEV when it is closing
 * or closed instead, -ETIMEDOUT after timeout_ms. */
int xenbus_wait_backend(struct xenbus_dev *d, enum xenbus_state want, int timeout_ms);

/* The frontends: called by dev_attach() (kernel/dev/dev.c). */
void xenbus_attach_all(void);
void xen_blk_attach(struct xenbus_dev *d); /* dev/xen/xen_blk.c */
void xen_net_attach(struct xenbus_dev *d); /* dev/xen/xen_net.c */
void xen_cons_attach(void); /* dev/xen/xen_cons.c: stdin */
void xen_control_attach(void); /* dev/xen/xen_control.c: shutdown requests */

#endif
