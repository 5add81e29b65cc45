/*
 * Network devices: the seam between the drivers (kernel/dev/: virtio-net,
 * e1000) and the network stack (kernel/net/: lwIP).  Drivers know nothing
 * of the stack, the stack nothing of the hardware.
 *
 * A driver fills a struct netdev for each interface it finds and calls
 * netdev_register().  Interfaces are named the way NetBSD (and so rumprun's
 * configuration) names them: the driver's base name and a unit number in
 * discovery order, "vioif0", "vioif1", "wm0".
 *
 * Threads: every call in either direction happens in thread context (never
 * in an interrupt handler), on the cooperative scheduler.  A driver's
 * receive path runs in the thread the platform runs interrupt handlers in,
 * or in a thread of the driver's own.
 */
#ifndef KERNEL_NETDEV_H
#define KERNEL_NETDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NETDEV_NAMELEN 16
#define NETDEV_ETHER_HLEN 14

/* Device features (struct netdev.features). */
/* Received frames carry checksums the device has already verified (or
 * that need none: the host side never corrupts them); the stack may skip
 * checking IPv4/TCP/UDP checksums on input. */
#define NETDEV_F_RX_CSUM_OK 0x01

struct netdev;

struct netdev_ops {
	/*
	 * Queue one Ethernet frame for sending: iovcnt pieces, len bytes in
	 * all (destination MAC first, at most mtu + NETDEV_ETHER_HLEN, no
	 * FCS).  The driver copies what it needs before returning: the
	 * caller may reuse the buffers at once.  Returns 0, or -ENOBUFS when
	 * the device has no room now (the stack counts the frame as dropped;
	 * TCP keeps it and sends it when the driver calls tx_ready), or -EIO
	 * when the device is broken.
	 */
	int (*transmit)(struct netdev *dev, const struct iovec *iov, int iovcnt, size_t len);
};

struct netdev {
	/* Filled in by the driver before netdev_register(). */
	char name[NETDEV_NAMELEN]; /* "vioif0", "wm0" */
	uint8_t mac[6];
	unsigned mtu; /* payload bytes, 1500 for Ethernet */
	unsigned features; /* NETDEV_F_* */
	int link_up; /* the driver keeps it current */
	const struct netdev_ops *ops;
	void *driver; /* the driver's own state */

	/*
	 * Set by the stack when it attaches (netdev_register calls into
	 * it); until then frames the driver receives are dropped.
	 * input(dev, frame, len): one received Ethernet frame without FCS.
	 * The stack copies it before returning.
	 */
	void (*input)(struct netdev *dev, const void *frame, size_t len);
	/*
	 * Also set by the stack: the driver calls tx_ready(dev) from its
	 * interrupt thread, holding none of the stack's locks, once it has
	 * room to send again after a transmit returned -ENOBUFS (the stack
	 * sends then what it had to hold back).  NULL until attached.
	 */
	void (*tx_ready)(struct netdev *dev);
	void *stack; /* the stack's own state */
	struct netdev *next; /* the list of registered devices */
};

/*
 * Drivers: add dev to the list of interfaces (dev must live as long as the
 * machine).  Returns 0, or -EEXIST when the name is taken.  Registering
 * after the stack has started attaches the device at once.  The interface
 * appears to programs as Linux shows it: /sys/class/net/NAME/address
 * ("52:54:00:12:34:56\n") and /sys/class/net/NAME/mtu ("1500\n").
 */
int netdev_register(struct netdev *dev);
/* Name dev base followed by the lowest unit number no registered
 * interface has ("vioif0", then "vioif1"); base is at most 11 bytes. */
void netdev_name_unit(struct netdev *dev, const char *base);

/*
 * The stack: set netdev_attach when the stack starts (after walking the
 * devices already registered); netdev_register calls it for every device
 * registered later.
 */
extern void (*netdev_attach)(struct netdev *dev);

/* The registered interfaces, in registration order (NULL-terminated list). */
struct netdev *netdev_first(void);
/* The interface called name, or NULL. */
struct netdev *netdev_find(const char *name);

/*
 * Receive one frame (drivers call this).  Drops the frame when no stack is
 * attached yet.
 */
static inline void netdev_input(struct netdev *dev, const void *frame, size_t len)
{
	if (dev->input)
		dev->input(dev, frame, len);
}

#endif
