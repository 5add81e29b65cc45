/*
 * Programs (kernel/program.c): the apps baked into the image, each run as
 * a program with its own libc, threads and descriptor table, sharing the
 * kernel (files, memory, time).  The bake generates the table of baked
 * apps (rumprun/toolchain/linkobjs.py writes the same layout).
 */
#ifndef KERNEL_PROGRAM_H
#define KERNEL_PROGRAM_H

#include <stddef.h>

struct program;
typedef int (*program_main_fn)(int, char **, char **);

/* One baked app (rumprun-cc's, linked into the image) or static
 * executable; the table ends with an entry whose name is NULL. */
struct baked_program {
	const char *name;
	program_main_fn main;
	/* The app's own musl __libc_start_main. */
	int (*libc_start)(
	    program_main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void));
	/* Its writable data: restored from a copy, and zeroed, before each
	 * run after the first. */
	char *data, *data_end, *bss, *bss_end;
	/* A prebuilt static executable instead (main, libc_start and the data
	 * bounds NULL): the file's bytes, which kernel/exec loads for each
	 * run (include/kernel/exec.h). */
	const char *exe, *exe_end;
};

/* Run the configured programs; end the machine with the last foreground
 * program's status.  Never returns. */
void programs_run(void) __attribute__((noreturn));

/*
 * The calling thread's program ends with status (exit_group, or its last
 * thread's exit): its descriptors close, whoever waits for it wakes, its
 * threads waiting on futexes wake, and every other thread ends when it
 * enters or leaves a system call.  When the last one is gone, so is the
 * program's memory.  Never returns.
 */
void program_exit(int status) __attribute__((noreturn));
/* Has the calling thread's program ended (so the thread must end too)? */
int program_ended(void);
/*
 * The calling thread's program is killed by signo (status 128 + signo,
 * and the machine ends as a crash when it was the last foreground
 * program's): it ends as by program_exit, but the calling thread returns,
 * to leave at the end of its system call.  -1 (nothing done) on a thread
 * without a program.
 */
int program_kill(int signo);
/* The platform's upcalls (hyp_ext_fault, hyp_ext_preempted, rumpuser.h):
 * the calling thread's app code faulted, and its program dies of signo
 * (returns only on a thread without a program); app code was preempted
 * and may go on (parked or ended instead when the machine is stopping or
 * its program has ended). */
void program_fault(int signo);
void program_preempted(void);
/*
 * The host asked the machine to shut down (kernel/dev/virtio's control
 * port): a kernel thread syncs and unmounts every volume, then the machine
 * powers off with 128 + signo.  No program code runs from now on
 * (machine_stopping: threads are parked at system calls and preemption,
 * machine_park never returns).  A second request is ignored.
 */
void machine_shutdown(int signo);
extern int machine_stopping;
void machine_park(void) __attribute__((noreturn));
/* Count a new thread in p; how many threads p has. */
void program_thread_new(struct program *p);
int program_threads(struct program *p);
/* End the calling thread (not the last of its program: that one goes
 * through program_exit).  Never returns. */
void program_thread_exit(void) __attribute__((noreturn));
/* The program's signal dispositions, signals 1 to 64 (kernel/thread.c
 * keeps them), the defaults at the start of each run. */
struct k_sigaction *program_sigactions(struct program *p);
/*
 * The calling program's RLIMIT_STACK: at first the main thread's stack
 * size (the "stack" configuration key, else the bake's default, else
 * 8 MiB), with no hard limit, as on Linux.  program_stack_size is its
 * soft limit.  Setting it: 0, or -EINVAL (soft above hard); a raised soft
 * limit grows the main stack (vm_stack_grow).
 */
struct rlimit;
void program_stack_limit(struct rlimit *rl);
long program_set_stack_limit(const struct rlimit *rl);
size_t program_stack_size(void);

#endif
