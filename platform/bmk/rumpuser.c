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
		bmk_printf("rumprun: kernel wants hypercall version %d, platform has %d\n",
		    version, RUMPUSER_VERSION);
		return EINVAL;
	}
	bmk_hyp = hyp;
	return 0;
}

static void *kernel_main_thread(void *arg)
{
	rumprun_kernel_main();
}

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
	long retval[2] = { 0, 0 };
	int error = bmk_hyp->hyp_syscall((int)nr, (void *)args, retval);

	return error ? -(long)error : retval[0];
}

void bmk_exit(int status, int crash)
{
	bmk_printf(RUMPRUN_STATUS_LINE "\n", status);
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
	bmk_printf("rumprun: %s\n", why);
	bmk_exit(128 + signo, 1);
}
