/*
 * Device register and DMA memory access for drivers: the only place kernel
 * code touches device memory.  Memory-mapped registers (from
 * rumpcomp_pci_map) are read and written with the mmio_* helpers, which
 * the compiler may neither merge, split, reorder nor drop; I/O ports go
 * through the rumpcomp_pci_ext_io_* hypercalls (rumpcomp_pci.h).
 *
 * Memory shared with a device (rings, buffers from rumpcomp_pci_dmalloc)
 * is ordinary memory; order its accesses with the dma_* barriers:
 *   dma_wmb()  earlier stores are visible to the device before later ones
 *              (descriptor contents before the index that publishes them);
 *   dma_rmb()  earlier loads complete before later ones (an index the
 *              device wrote before the entries it covers);
 *   dma_mb()   full barrier: earlier stores are visible before later loads
 *              (publishing an index, then reading whether the device
 *              wants to be notified).
 * All are written as C11 fences, so they compile to what the processor
 * needs (on x86_64: nothing but a compiler barrier, except mfence for
 * dma_mb).
 */
#ifndef KERNEL_BUS_H
#define KERNEL_BUS_H

#include <stdint.h>
#include "rumpcomp_pci.h"

#define dma_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define dma_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define dma_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline uint8_t mmio_read8(const volatile void *p) { return *(const volatile uint8_t *)p; }
static inline uint16_t mmio_read16(const volatile void *p) { return *(const volatile uint16_t *)p; }
static inline uint32_t mmio_read32(const volatile void *p) { return *(const volatile uint32_t *)p; }
static inline void mmio_write8(volatile void *p, uint8_t v) { *(volatile uint8_t *)p = v; }
static inline void mmio_write16(volatile void *p, uint16_t v) { *(volatile uint16_t *)p = v; }
static inline void mmio_write32(volatile void *p, uint32_t v) { *(volatile uint32_t *)p = v; }
/* 64-bit registers as two 32-bit halves, low first (what virtio and most
 * devices accept; a single 64-bit access is not guaranteed to be). */
static inline void mmio_write64(volatile void *p, uint64_t v)
{
	mmio_write32(p, (uint32_t)v);
	mmio_write32((volatile uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
