/*
 * Xen's split-driver hypercalls for frontend drivers (kernel/dev/xen/):
 * the project's extension of the hypercall interface for what a Xen guest
 * has instead of a bus.  A frontend meets its backend (in dom0) through
 * three things the platform owns: xenstore (where the two sides publish
 * their state and the rings' coordinates), grant table entries (which let
 * the backend's domain map one page of ours), and an event channel (a
 * doorbell each way).  platform/xen implements them; other platforms do
 * not, and the kernel refers to them weakly: a machine without them has no
 * Xen devices.
 *
 * Calls that return int return 0 or a positive errno value, as rumpuser's.
 * This header includes nothing, on purpose: it is the whole contract.
 */
#ifndef RUMPCOMP_XEN_H
#define RUMPCOMP_XEN_H

/*
 * xenstore.  A path without a leading '/' is under the domain's home
 * (/local/domain/ID), where the toolstack puts the frontends' directories
 * (device/vbd/51712, device/vif/0).
 * rumpcomp_xen_store_read: the value at path, NUL-terminated, into buf
 *   (size bytes); *len is its length.  Returns 0; ENOENT (no such key),
 *   ENOSPC (does not fit: *len is still set), EIO (xenstore does not
 *   answer, or refused).
 * rumpcomp_xen_store_write: set path to the NUL-terminated value (made
 *   when missing).  Returns 0, EACCES (not ours to write), EIO.
 * rumpcomp_xen_store_list: the names under directory path, each
 *   NUL-terminated, one after the other, into buf; *len is their total
 *   length.  Returns as rumpcomp_xen_store_read.
 */
int rumpcomp_xen_store_read(const char *path, char *buf, unsigned long size, unsigned long *len);
int rumpcomp_xen_store_write(const char *path, const char *value);
int rumpcomp_xen_store_list(const char *path, char *buf, unsigned long size, unsigned long *len);
/*
 * rumpcomp_xen_store_watch: call handler(arg) after path (or a key under
 *   it) changes, and once soon after the watch is set, as xenstored fires
 *   every new watch.  The handler runs in thread context, as an event
 *   channel's does, and reads what changed itself (changes may come as
 *   one call).  A watch does not count as an awaited interrupt source.
 *   Returns 0, ENOSPC (too many watches), EIO.
 */
int rumpcomp_xen_store_watch(const char *path, void (*handler)(void *), void *arg);

/*
 * Grant table entries: let domain domid map the page at page (page
 * aligned, kernel memory from rumpcomp_pci_dmalloc or rumpuser_malloc),
 * read-only or read-write.
 * rumpcomp_xen_grant: sets *ref to the entry's number, which the backend
 *   is told through xenstore or a ring.  Returns 0, ENOSPC (no free
 *   entry), EINVAL (not a page of kernel memory).
 * rumpcomp_xen_ungrant: end the grant.  Returns 0, or EBUSY while the
 *   other side still has the page mapped (the grant stays: try later).
 */
int rumpcomp_xen_grant(unsigned domid, void *page, int readonly, unsigned *ref);
int rumpcomp_xen_ungrant(unsigned ref);

/*
 * Event channels.
 * rumpcomp_xen_evtchn_alloc: a new port that domain remote_domid may bind
 *   to (what a frontend publishes as "event-channel").  Returns 0, or
 *   ENOSPC / EIO when Xen refuses.
 * rumpcomp_xen_evtchn_notify: signal the other end of port.
 * rumpcomp_xen_evtchn_establish: call handler(arg) whenever the other end
 *   signals port.  The handler runs in thread context, as a PCI interrupt
 *   handler does (kernel/include/rumpcomp_pci.h: the interrupt thread, at
 *   the scheduler's next decision point, right away when the machine was
 *   idle); it must look at everything the device has done since it last
 *   ran (signals are not counted: many may come as one).  Returns 0,
 *   ENOSPC (too many ports), ENOMEM.  An established port counts as an
 *   awaited interrupt source (rumpcomp_pci_irq_awaited) until
 *   rumpcomp_xen_evtchn_awaited takes it away.
 * rumpcomp_xen_evtchn_awaited: add delta (+1, -1) to the awaited count,
 *   as rumpcomp_pci_irq_awaited: a driver whose device signals only after
 *   a request takes its one away when idle, so a deadlocked program is
 *   still reported.
 */
int rumpcomp_xen_evtchn_alloc(unsigned remote_domid, unsigned *port);
void rumpcomp_xen_evtchn_notify(unsigned port);
int rumpcomp_xen_evtchn_establish(unsigned port, int (*handler)(void *), void *arg);
void rumpcomp_xen_evtchn_awaited(int delta);

/*
 * The PV console's input side (what dom0's console daemon writes into the
 * console ring; its output side is the platform's console, rumpuser's).
 * rumpcomp_xen_cons_read: up to len bytes that have come, at once (*got
 *   may be 0).  Returns 0, or ENXIO when there is no console ring.
 * rumpcomp_xen_cons_establish: call handler(arg) when the console's event
 *   channel fires (input came, or the daemon took output: the handler
 *   looks), as rumpcomp_xen_evtchn_establish does, awaited count included.
 *   Returns as rumpcomp_xen_evtchn_establish, or ENXIO.
 */
int rumpcomp_xen_cons_read(void *buf, unsigned long len, unsigned long *got);
int rumpcomp_xen_cons_establish(int (*handler)(void *), void *arg);

#endif /* RUMPCOMP_XEN_H */
