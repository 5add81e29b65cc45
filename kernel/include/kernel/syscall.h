/*
 * System call registration.  Each component registers its handlers next to
 * their code with SYSCALL_REGISTER; the dispatcher (kernel/syscall.c)
 * collects them from the rumprun_syscalls section at boot, so adding a
 * component never touches a central table.  Component libraries are linked
 * whole (--whole-archive) for the same reason.
 *
 * A handler takes the six raw argument registers (SYSARGS) and returns the
 * Linux result: a value >= 0, or -errno.  Numbers are Linux x86_64 (SYS_*
 * from <sys/syscall.h>).
 *
 *	SYSCALL_REGISTER(SYS_pipe2, sys_pipe2, PARTIAL, "no SIGPIPE");
 *
 * Each registration also says how much of Linux's behaviour it gives: FULL
 * (as Linux, for one process of root; the note may say what is fixed, e.g.
 * "always 1"), PARTIAL (the note says what is missing) or STUB (accepted,
 * next to nothing done).  The compiler ignores both; `make syscalls`
 * (scripts/syscalls.py) makes docs/syscalls.md from them, and a test
 * keeps that table current.
 */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include <sys/syscall.h>

typedef long (*syscall_fn)(long, long, long, long, long, long);

struct syscall_entry {
	long nr;
	syscall_fn fn;
};

#define SYSARGS long a0, long a1, long a2, long a3, long a4, long a5

/* The level and note (see above) are for scripts/syscalls.py. */
#define SYSCALL_REGISTER(nr, fn, ...) SYSCALL_REGISTER_(nr, fn, __COUNTER__)
#define SYSCALL_REGISTER_(nr, fn, n) SYSCALL_REGISTER__(nr, fn, n)
#define SYSCALL_REGISTER__(nr, fn, n) \
	static const struct syscall_entry __syscall_entry_##n __attribute__(( \
	    used, section("rumprun_syscalls"), aligned(8))) = {(nr), (syscall_fn)(fn)}

#define SYSCALL_MAX 512

/* Dispatch one system call; the result as the app sees it in rax. */
long syscall_dispatch(long nr, const long args[6]);
/* The Linux name of system call nr, or NULL (kernel/syscall_names.c). */
const char *syscall_name(long nr);

#endif
