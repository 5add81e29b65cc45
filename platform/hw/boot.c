/*
 * x86_boot: from x86_64/boot.S, in long mode on the boot stack, after a
 * multiboot or a PVH entry.  Brings up the console, the processor tables,
 * memory and time, then starts the kernel (rumprun_kernel_main) in the
 * first thread.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <x86_64/pvh.h>
#include "rumpuser.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002

void x86_boot(uint32_t magic, uint32_t info)
{
	hw_clock_start();
	hw_cons_init();
	x86_cpu_init();
	hw_intr_init();
	if (magic == MB_BOOTLOADER_MAGIC) {
		hw_multiboot_init(info);
	} else if (magic == PVH_START_MAGIC) {
		x86_pvh_init(info);
	} else {
		bmk_printf("rumprun: started by an unknown boot protocol (magic %x)\n", magic);
		bmk_exit(1, 1);
	}
	hw_exit_init();
	x86_mmu_init();
	x86_random_init();
	bmk_start_kernel();
}

/* ---- the bmk core's machine hooks ------------------------------------ */

int64_t bmk_platform_clock_mono(void) { return hw_clock_mono(); }

int64_t bmk_platform_clock_wall(void) { return hw_clock_wall(); }

void bmk_platform_idle(int64_t deadline) { hw_clock_idle(deadline); }

void bmk_platform_stack_guard(void *page, int guard)
{
	rumpuser_ext_protect(page, BMK_PAGE_SIZE, guard ? 0 : RUMPUSER_PROT_DEFAULT);
}

/* sti takes effect after the next instruction: the nop is the window. */
void bmk_platform_intr_window(void)
{
	if (hw_intr_lines)
		__asm__ volatile("sti; nop; cli" ::: "memory");
}

void bmk_platform_putc(int c) { hw_cons_putc(c); }
