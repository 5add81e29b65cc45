/*
 * What a host program that runs the kernel in its own process uses (the
 * kernel tests in tests/kernel): the posix platform runs kernel code the
 * way the bare-metal platforms do, on one virtual CPU (see "Concurrency"
 * in rumpuser.h).  A host thread holds it while it runs kernel code:
 *
 *   rumprun_posix_enter();
 *   r = syscall_dispatch(nr, args);     // or any other kernel function
 *   rumprun_posix_leave();
 *
 * enter blocks while another thread runs kernel code; threads waiting for
 * the CPU get it in the order they asked.  Kernel code that blocks
 * (a lock, a condition variable, a sleep) gives the CPU up meanwhile, as a
 * bare-metal thread lets others run.  Calling leave without holding the
 * CPU, or a blocking rumpuser call outside enter/leave, is a bug the
 * platform reports with a message and exit status 1.
 */
#ifndef RUMPRUN_POSIX_H
#define RUMPRUN_POSIX_H

void rumprun_posix_enter(void);
void rumprun_posix_leave(void);

#endif
