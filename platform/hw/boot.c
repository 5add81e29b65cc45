/*
 * hw_boot: from boot.S, in long mode on the boot stack.  Brings up the
 * console, the processor tables, memory and time, then starts the kernel
 * (rumprun_kernel_main) in the first thread.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include "rumpuser.h"

static void *kernel_main_thread(void *arg)
{
	rumprun_kernel_main();
}

void hw_boot(uint32_t magic, uint32_t info)
{
	hw_cons_init();
	hw_cpu_init();
	hw_multiboot_init(magic, info);
	hw_exit_init();
	hw_mmu_init();
	hw_clock_init();
	hw_random_init();
	if (!bmk_sched_create("main", kernel_main_thread, NULL, 0, 0)) {
		bmk_printf("rumprun: not enough memory to start\n");
		hw_exit(1);
	}
	bmk_sched_start();
}

/* ---- the bmk core's platform hooks ----------------------------------- */

void bmk_platform_switch(void **save, void *load)
{
	hw_switch(save, load);
}

void *bmk_platform_thread_init(void *stack_top)
{
	/* hw_switch pops six callee-saved registers, then returns to the
	 * trampoline with rsp 16-byte aligned, as its call expects. */
	uint64_t *sp = (uint64_t *)((uintptr_t)stack_top & ~15UL);
	int i;

	*--sp = (uint64_t)hw_thread_trampoline;
	for (i = 0; i < 6; i++)
		*--sp = 0;
	return sp;
}

void bmk_platform_switched(void *tls, void *kstack_top)
{
	wrmsr(MSR_FS_BASE, (uintptr_t)tls);
	hw_kstack_top = (uintptr_t)kstack_top & ~15UL;
}

int64_t bmk_platform_clock_mono(void)
{
	return hw_clock_mono();
}

void bmk_platform_idle(int64_t deadline)
{
	hw_clock_idle(deadline);
}

void bmk_platform_stack_guard(void *page, int guard)
{
	rumpuser_ext_protect(page, BMK_PAGE_SIZE, guard ? 0 : RUMPUSER_PROT_DEFAULT);
}

void bmk_platform_putc(int c)
{
	hw_cons_putc(c);
}
