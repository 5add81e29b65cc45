/*
 * The network component (kernel/net/, see its README.md): lwIP, the
 * drivers' interfaces, sockets (AF_INET, AF_INET6, AF_UNIX).
 */
#ifndef KERNEL_NET_H
#define KERNEL_NET_H

/*
 * Boot hook: start the stack (loopback at least), attach the network
 * devices drivers registered (kernel/include/kernel/netdev.h) and those
 * registered later, then configure the interfaces the configuration's
 * "net" entries name and write /etc/resolv.conf ("dns", or DHCP's).
 * Waits for DHCP leases (at most 10 s).  Call once, after the drivers
 * found their devices and before programs start.  A bad configuration
 * ends the machine with one console line and status 1.
 */
void net_init(void);

/*
 * The programs have ended and the machine is about to stop: wait (at most
 * QUIESCE_MS) until TCP has delivered what they sent and closed, as a
 * Linux process's data outlives its exit.  Returns at once when there is
 * nothing to deliver or the stack never started.
 */
#define QUIESCE_MS 2000
void net_quiesce(void);

/* Bytes of memory lwIP holds now (packets, connections, queues): for
 * tests and diagnostics. */
unsigned long net_memory_in_use(void);

#endif
