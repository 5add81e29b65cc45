/*
 * Devices: the boot hook that finds the machine's devices and attaches
 * their drivers (kernel/dev/).  Drivers register themselves with their bus
 * (PCI_DRIVER_REGISTER in kernel/pci.h, VIRTIO_DRIVER_REGISTER in
 * kernel/virtio.h) and publish what they found through the kernel's own
 * interfaces (network interfaces: kernel/netdev.h).
 */
#ifndef KERNEL_DEV_H
#define KERNEL_DEV_H

/* Enumerate every bus and attach drivers, in discovery order.  Called once
 * at boot after vfs_init() and before the network stack and the programs
 * start.  Never fails: a device whose driver fails is reported on the
 * console and left alone. */
void dev_attach(void);

/* Part of dev_attach: the boot modules as block devices (dev/moddisk.c),
 * registered before the buses are enumerated. */
void moddisk_attach(void);

#endif
