/*
 * The hw platform's internal interfaces, one section per file: the PC
 * machine around the shared x86_64 processor code (x86_64/cpu.h).
 */
#ifndef HW_HW_H
#define HW_HW_H

#include <stddef.h>
#include <stdint.h>
#include <x86_64/cpu.h>

/* cons.c: COM1 serial, mirrored to VGA text mode when a VGA is present. */
void hw_cons_init(void);
void hw_cons_putc(int c);

/* intr.c: the 8259 PICs and device interrupt lines (rumpcomp_pci_irq_*). */
void hw_intr_init(void);		/* vectors 32-47, every line masked but the timer */
extern int hw_intr_lines;	/* device lines established (0: no window needed) */

/* clock.c: TSC monotonic clock calibrated against the PIT, RTC wall time. */
void hw_clock_init(void);
int64_t hw_clock_mono(void);
int64_t hw_clock_wall(void);
/* Sleep the CPU until an interrupt or the deadline (monotonic ns, -1 none). */
void hw_clock_idle(int64_t deadline);

/* multiboot.c: memory map into the page allocator, config and image name;
 * info is the multiboot information's physical address. */
void hw_multiboot_init(uint32_t magic, uint32_t info);
const char *hw_config(size_t *len);	/* NULL when there is none */
const char *hw_image_name(void);	/* NULL when unknown */

/*
 * mmu.c: the page tables (layout.h draws the address space).
 * hw_mmu_init: after the page allocator has memory: the image's own
 *   mappings with their protections, the identity map gone.
 * hw_phys_to_virt: where physical address pa is in the direct map (all of
 *   memory, and the first 4 GiB with its device memory).
 * hw_virt_to_phys: the physical address behind any mapped va, or
 *   HW_NO_PHYS.  Valid for that one page: kernel memory from the page
 *   allocator is physically contiguous, application memory is not.
 * hw_mmu_direct_map: add physical [pa, pa + len) to the direct map (memory
 *   above 4 GiB); 0, ENOMEM or EINVAL (beyond the direct map's 64 TiB).
 * hw_mmio_map: device memory at physical pa as a kernel pointer (uncached
 *   above 4 GiB), or NULL when there is no memory for the page tables.
 * It also provides x86_page_fault (x86_64/cpu.h): lazily committed pages.
 */
void hw_mmu_init(void);
void *hw_phys_to_virt(uint64_t pa);
#define HW_NO_PHYS (~0ULL)
uint64_t hw_virt_to_phys(const void *va);
int hw_mmu_direct_map(uint64_t pa, uint64_t len);
void *hw_mmio_map(uint64_t pa, uint64_t len);

/* exit.c: leave through isa-debug-exit, ACPI or halt (bmk_platform_exit). */
void hw_exit_init(void);	/* finds the BIOS's extended data area */

#endif
