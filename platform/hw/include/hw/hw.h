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
void hw_intr_init(void); /* vectors 32-47, every line masked but the timer */
extern int hw_intr_lines; /* device lines established (0: no window needed) */

/* clock.c: TSC monotonic clock calibrated against the PIT, RTC wall time.
 * hw_clock_start first thing at boot (the calibration starts, and ends at
 * the first reading of the clock 4 ms later; the RTC is read at the first
 * reading of wall time). */
void hw_clock_start(void);
int64_t hw_clock_mono(void);
int64_t hw_clock_wall(void);
/* Sleep the CPU until an interrupt or the deadline (monotonic ns, -1 none). */
void hw_clock_idle(int64_t deadline);

/* multiboot.c: the multiboot information (physical address info) into
 * bootinfo (x86_64/cpu.h): memory, configuration, image name. */
void hw_multiboot_init(uint32_t info);

/* fwcfg.c: QEMU's fw_cfg device.  The file called name as a NUL-terminated
 * copy in kernel memory (bmk_memalloc, len + 1 bytes), its length in *len;
 * NULL when there is no fw_cfg device or no such file.  Out of memory ends
 * the machine (status 1).  Probe it only on QEMU: other machines may have
 * something else at its ports (0x510-0x511). */
char *hw_fwcfg_file(const char *name, size_t *len);
/* The kernel command line QEMU holds (-append, and on microvm the
 * virtio-mmio devices it adds), NUL-terminated in bmk_memalloc memory
 * (*len + 1 bytes); NULL when there is none. */
char *hw_fwcfg_cmdline(size_t *len);

/* mmio.c: memory-mapped virtio devices (rumpcomp_pci_ext_mmio_device),
 * collected from a kernel command line's virtio_mmio.device= entries. */
void hw_mmio_scan(const char *cmdline);

/* exit.c: leave through isa-debug-exit, ACPI or halt (bmk_platform_exit). */
void hw_exit_init(void); /* finds the BIOS's extended data area */

#endif
