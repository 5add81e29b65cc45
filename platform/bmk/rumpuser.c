/*
 * rumpuser init and exit, and the core's ways in and out of the kernel:
 * starting rumprun_kernel_main, system calls, the status line.
 */
#include <bmk/core.h>
#include <errno.h>
#include <rumprun_abi.h>
#include "rumpuser_impl.h"

const struct rumpuser_hyperup *bmk_hyp;

int rumpuser_init(int version, const struct rumpuser_hyperup *hyp)
{
	if (version != RUMPUSER_VERSION) {
		bmk_printf("rumprun: kernel wants hypercall version %d, platform has %d\n", version,
		    RUMPUSER_VERSION);
		return EINVAL;
	}
	bmk_hyp = hyp;
	return 0;
}

static void *kernel_main_thread(void *arg) { rumprun_kernel_main(); }

void bmk_start_kernel(void)
{
	if (!bmk_sched_create("main", kernel_main_thread, NULL, 0, 0)) {
		bmk_printf("rumprun: not enough memory to start\n");
		bmk_exit(1, 1);
	}
	bmk_sched_start();
}

long bmk_syscall(long nr, const long args[6])
{
	long retval[2] = {0, 0};
	int error = bmk_hyp->hyp_syscall((int)nr, (void *)args, retval);

	return error ? -(long)error : retval[0];
}

/* RUMPRUN_STATUS_LINE ("...%d...") without the printf engine, which a
 * quiet program's boot needs nowhere else: under QEMU's TCG every function
 * run for the first time is translated, and bmk_printf's formatting costs
 * as much as a small program's start. */
static void status_line(int status)
{
	const char *p;
	char digits[12];
	int n = 0;
	unsigned v = status < 0 ? -(unsigned)status : (unsigned)status;

	for (p = RUMPRUN_STATUS_LINE; *p; p++) {
		if (p[0] != '%' || p[1] != 'd') {
			bmk_platform_putc(*p);
			continue;
		}
		if (status < 0)
			bmk_platform_putc('-');
		do
			digits[n++] = '0' + v % 10;
		while ((v /= 10) != 0);
		while (n)
			bmk_platform_putc(digits[--n]);
		p++;
	}
	bmk_platform_putc('\n');
}

void bmk_exit(int status, int crash)
{
	status_line(status);
	bmk_platform_exit(status, crash);
}

void rumpuser_exit(int value)
{
	if (value == RUMPUSER_PANIC) {
		bmk_printf("rumprun: the kernel panicked\n");
		bmk_exit(1, 1);
	}
	bmk_exit(value & 0xff, 0);
}

void rumpuser_ext_fatal_signal(int signo, const char *why)
{
	if (why)
		bmk_printf("rumprun: %s\n", why);
	bmk_exit(128 + signo, 1);
}

/* An application thread faulted (the processor code reported it and moved
 * to the thread's kernel stack): the kernel ends its program, else the
 * machine ends here. */
void bmk_app_fault(int signo)
{
	if (bmk_hyp && bmk_hyp->hyp_ext_fault)
		bmk_hyp->hyp_ext_fault(signo);
	bmk_exit(128 + signo, 1);
}

/* An application thread gave the CPU up at an interrupt (the processor
 * code saved its state): let waiting threads run, then let the kernel
 * decide whether it goes on. */
void bmk_app_preempted(void)
{
	bmk_sched_yield();
	if (bmk_hyp && bmk_hyp->hyp_ext_preempted)
		bmk_hyp->hyp_ext_preempted();
}
