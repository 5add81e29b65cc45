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

/* multiboot.c: memory map into the page allocator, config and image name. */
void hw_multiboot_init(uint32_t magic, const void *info);
const char *hw_config(size_t *len);	/* NULL when there is none */
const char *hw_image_name(void);	/* NULL when unknown */

/* fwcfg.c: QEMU's fw_cfg device.  The file called name as a NUL-terminated
 * copy in kernel memory, its length in *len; NULL when there is no fw_cfg
 * device or no such file.  Out of memory ends the machine (status 1).
 * Probe it only on QEMU: other machines may have something else at its
 * ports (0x510-0x511). */
char *hw_fwcfg_file(const char *name, size_t *len);

/* mmu.c: page protection (rumpuser_ext_protect) over the boot mappings. */
void hw_mmu_init(void);

/* exit.c: print the status, leave through isa-debug-exit, ACPI or halt. */
void hw_exit(int status) __attribute__((noreturn));
void hw_exit_init(void);	/* before hw_mmu_init: reads the BIOS data area */

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
