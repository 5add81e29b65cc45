/* The hw platform's internal interfaces, one section per file. */
#ifndef HW_HW_H
#define HW_HW_H

#include <stddef.h>
#include <stdint.h>
#include <hw/x86.h>

/* cons.c: COM1 serial, mirrored to VGA text mode when a VGA is present. */
void hw_cons_init(void);
void hw_cons_putc(int c);

/* cpu.c: GDT/TSS/IDT, PIC, system call MSRs, trap and interrupt handlers. */
void hw_cpu_init(void);

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
 * hw_mmu_fault: a page fault at addr with the CPU's error code: commits a
 *   lazily mapped page, or says why it cannot.
 */
void hw_mmu_init(void);
void *hw_phys_to_virt(uint64_t pa);
#define HW_NO_PHYS (~0ULL)
uint64_t hw_virt_to_phys(const void *va);
int hw_mmu_direct_map(uint64_t pa, uint64_t len);
void *hw_mmio_map(uint64_t pa, uint64_t len);
enum { HW_FAULT_RESOLVED, HW_FAULT_BAD, HW_FAULT_NOMEM };
int hw_mmu_fault(uintptr_t addr, uint64_t error);

/* exit.c: print the status, leave through isa-debug-exit, ACPI or halt. */
void hw_exit(int status) __attribute__((noreturn));
void hw_exit_init(void);	/* finds the BIOS's extended data area */

/* random.c: seed the generator (RDSEED/RDRAND when present, else TSC). */
void hw_random_init(void);
void hw_random_fill(void *buf, size_t len);

/* entry.S */
extern uint64_t hw_kstack_top;
void hw_switch(void **save, void *load);
void hw_thread_trampoline(void);
void hw_frame_return(struct trapframe *tf) __attribute__((noreturn));
void hw_syscall_entry(void);

/* rumpuser_thread.c: the kernel's upcalls, once rumpuser_init has run. */
extern const struct rumpuser_hyperup *hw_hyp;

#endif
