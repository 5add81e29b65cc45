/*
 * The posix platform's internals: the hypercall interface (rumpuser.h)
 * implemented in an ordinary Linux process, over pthreads and the host's
 * clocks, for testing kernel components without booting anything.
 * One file per group of rumpuser.h, as in NetBSD's librumpuser.
 */
#ifndef POSIX_PLATFORM_H
#define POSIX_PLATFORM_H

#include "rumpuser.h"

/* The kernel's upcalls, from rumpuser_init (NULL members are skipped). */
extern const struct rumpuser_hyperup *posix_hyp;

/* Around a host call that may block, as rumpuser(3) asks. */
void posix_unschedule(void);
void posix_schedule(void);

#endif
