/*
 * Bus access for device drivers: the second half of the hypercall
 * interface (rumpuser.h is the first).  Names, signatures and semantics of
 * the calls without "_ext_" follow NetBSD's rumpcomp PCI hypercalls
 * (sys/rump/dev/lib/libpci/rumpcomp_pci.h); the project's additions, for
 * what that interface leaves to the machine (I/O ports, the interrupt
 * model), carry the rumpcomp_pci_ext_ prefix.
 *
 * Calls that return int return 0 or a positive errno value.  A platform
 * without a PCI bus (posix) answers ENXIO to rumpcomp_pci_confread, which
 * ends enumeration: such a machine simply has no PCI devices.
 *
 * This header includes nothing, on purpose: it is the whole contract.
 */
#ifndef RUMPCOMP_PCI_H
#define RUMPCOMP_PCI_H

/*
 * Configuration space.  reg is a byte offset, a multiple of 4 below 256;
 * accesses are 32 bits wide (narrower fields: shift and mask).  Reading a
 * function that does not exist gives 0xffffffff, as the hardware does.
 * Returns 0, EINVAL for a bad bus/dev/fun/reg, ENXIO when the machine has
 * no PCI configuration space.
 */
int rumpcomp_pci_confread(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int *value);
int rumpcomp_pci_confwrite(unsigned bus, unsigned dev, unsigned fun, int reg, unsigned int value);

/*
 * Memory BARs: make len bytes of device memory at physical (bus) address
 * addr accessible; returns the virtual address, uncached as device memory
 * needs, or NULL when the range cannot be mapped.  Mappings last as long as
 * the machine.  Access it with the helpers of kernel/include/kernel/bus.h.
 */
void *rumpcomp_pci_map(unsigned long addr, unsigned long len);

/*
 * Interrupts (INTx).
 * rumpcomp_pci_irq_map: remember that the function's interrupt pin is
 *   routed to intrline (configuration register 0x3c, as the firmware
 *   programmed it) under the caller's cookie.  Returns 0, or EINVAL when
 *   intrline is not a line this machine can deliver.
 * rumpcomp_pci_irq_establish: call handler(data) for every interrupt on
 *   the line mapped under cookie.  Returns an opaque handle, or NULL (no
 *   such cookie, no memory).  Lines may be shared; every handler of a line
 *   runs for each interrupt and returns nonzero when its device had
 *   something to say.
 *
 * The project's interrupt model (rumpcomp_pci_irq_establish's handlers
 * never run in interrupt context):
 *   - The platform's interrupt stub only masks the line, marks it pending
 *     and asks the scheduler to wake the interrupt thread.
 *   - At its next decision point (a thread blocks, yields or exits, and
 *     right after the idle wait) the scheduler runs the interrupt thread
 *     ahead of the other runnable threads; it calls every handler of each
 *     pending line, then unmasks the line.
 *   - So handlers run in thread context on the cooperative scheduler: they
 *     may take rumpuser locks and call into the kernel (e.g. hand a frame
 *     to the network stack), and no other kernel thread runs while a
 *     handler runs unless the handler blocks.  They must acknowledge the
 *     device's interrupt (interrupts are level triggered: an
 *     unacknowledged device interrupts again as soon as the line is
 *     unmasked) and should not sleep, which would delay every other line.
 *   - A thread that never blocks delays handlers until it does.
 */
int rumpcomp_pci_irq_map(unsigned bus, unsigned dev, unsigned fun, int intrline, unsigned cookie);
void *rumpcomp_pci_irq_establish(unsigned cookie, int (*handler)(void *), void *data);

/*
 * rumpcomp_pci_irq_awaited: add delta (+1, -1) to the number of interrupt
 *   sources a blocked thread may be waiting for.  Every handler counts as
 *   one from rumpcomp_pci_irq_establish on (a network card may bring a
 *   packet any time).  A driver whose interrupts wake threads only at
 *   known times (the console: while the host's stdin is open, while a
 *   write waits for the device) takes its one away after establishing and
 *   adds it back while it matters.  When every thread is blocked and no
 *   timer is pending, the platform reports a deadlock only if the count is
 *   zero.
 */
void rumpcomp_pci_irq_awaited(int delta);

/*
 * DMA memory.
 * rumpcomp_pci_dmalloc: size bytes of physically contiguous memory aligned
 *   to align (a power of two; at least a page is always given), zeroed.
 *   Sets *pap to its bus (physical) address and *vap to its virtual
 *   address.  Returns 0 or ENOMEM.
 * rumpcomp_pci_dmafree: give back memory from rumpcomp_pci_dmalloc: vap
 *   and size as they were given.
 * rumpcomp_pci_virt_to_mach: the bus address of the byte at virt, which
 *   must lie in memory from rumpcomp_pci_dmalloc (kernel virtual addresses
 *   are not physical addresses; never assume they are).
 */
int rumpcomp_pci_dmalloc(
    __SIZE_TYPE__ size, __SIZE_TYPE__ align, unsigned long *pap, unsigned long *vap);
void rumpcomp_pci_dmafree(unsigned long vap, __SIZE_TYPE__ size);
unsigned long rumpcomp_pci_virt_to_mach(void *virt);

/*
 * ----------------------------------------------------------------------
 * Platform extensions.
 * ----------------------------------------------------------------------
 */

/*
 * I/O ports, for I/O BARs (legacy virtio, e1000's I/O window): read or
 * write 8, 16 or 32 bits at port.  Reading a port nothing answers gives
 * all ones.  A platform without I/O ports (posix) reads all ones and
 * ignores writes.
 */
unsigned char rumpcomp_pci_ext_io_read8(unsigned long port);
unsigned short rumpcomp_pci_ext_io_read16(unsigned long port);
unsigned int rumpcomp_pci_ext_io_read32(unsigned long port);
void rumpcomp_pci_ext_io_write8(unsigned long port, unsigned char value);
void rumpcomp_pci_ext_io_write16(unsigned long port, unsigned short value);
void rumpcomp_pci_ext_io_write32(unsigned long port, unsigned int value);

/*
 * Memory-mapped devices outside any PCI bus: virtio over MMIO (QEMU's
 * microvm machine announces each transport that has a device on the
 * kernel command line, as Linux reads it: virtio_mmio.device=SIZE@ADDR:IRQ).
 * rumpcomp_pci_ext_mmio_device: the index-th such device (0, 1, ... in
 *   the machine's order): sets *addr and *len to its registers' physical
 *   address and length (map them with rumpcomp_pci_map) and *intrline to
 *   its interrupt line, and routes that line under cookie as
 *   rumpcomp_pci_irq_map does, so rumpcomp_pci_irq_establish(cookie, ...)
 *   serves its interrupts (cookies 0x10000 and up never collide with a
 *   PCI function's).  Returns 0; ENOENT past the last device (a machine
 *   without such devices: for index 0); EINVAL when the machine cannot
 *   deliver the device's line (the other results are set: the device can
 *   only be polled).  Optional: the kernel refers to it weakly, so a
 *   platform without such devices may leave it out.
 */
int rumpcomp_pci_ext_mmio_device(
    unsigned index, unsigned cookie, unsigned long *addr, unsigned long *len, int *intrline);

#endif /* RUMPCOMP_PCI_H */
