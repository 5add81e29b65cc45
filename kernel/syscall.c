/*
 * The system call dispatcher: a table indexed by number, filled at boot
 * from the handlers components register (SYSCALL_REGISTER).  It is what
 * the platform calls through the hyp_syscall upcall.
 */
#include <kernel/kernel.h>
#include <kernel/syscall.h>
#include <kernel/program.h>

extern const struct syscall_entry __start_rumprun_syscalls[];
extern const struct syscall_entry __stop_rumprun_syscalls[];

static syscall_fn table[SYSCALL_MAX];
static unsigned char reported[SYSCALL_MAX];
static int table_ready;

static void table_init(void)
{
	const struct syscall_entry *e;

	for (e = __start_rumprun_syscalls; e < __stop_rumprun_syscalls; e++) {
		if (e->nr < 0 || e->nr >= SYSCALL_MAX)
			panic("system call number %ld out of range", e->nr);
		if (table[e->nr])
			panic("system call %s registered twice", syscall_name(e->nr));
		table[e->nr] = e->fn;
	}
	table_ready = 1;
}

long syscall_dispatch(long nr, const long a[6])
{
	long rv;

	if (!table_ready)
		table_init();
	if (machine_stopping)
		machine_park(); /* a shutdown is syncing the volumes */
	if (program_ended())
		program_exit(0); /* another thread ended the program: follow it */
	if (nr >= 0 && nr < SYSCALL_MAX && table[nr]) {
		rv = table[nr](a[0], a[1], a[2], a[3], a[4], a[5]);
		if (machine_stopping)
			machine_park();
		/* Woken after its program ended: never back into its code,
		 * whose memory goes with the last thread. */
		if (program_ended())
			program_exit(0);
		return rv;
	}
	if (nr < 0 || nr >= SYSCALL_MAX || !reported[nr]) {
		const char *name = syscall_name(nr);

		kprintf("rumprun: unsupported system call %s (%ld), returning ENOSYS\n",
		    name ? name : "unknown", nr);
		if (nr >= 0 && nr < SYSCALL_MAX)
			reported[nr] = 1;
	}
	return -ENOSYS;
}

/* The hyp_syscall upcall: rumpuser's convention (errno + retval). */
int syscall_upcall(int nr, void *args, long *retval)
{
	long rv = syscall_dispatch(nr, args);

	if (rv < 0 && rv >= -4095)
		return (int)-rv;
	retval[0] = rv;
	return 0;
}
