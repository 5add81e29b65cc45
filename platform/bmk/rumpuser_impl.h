/*
 * What the core's rumpuser_*.c files share: the kernel's upcalls, and the
 * wrapping of every call that may block the calling thread, as rumpuser(3)
 * asks (hyp_unschedule before, hyp_schedule after; the kernel may leave
 * them NULL).
 */
#ifndef BMK_RUMPUSER_IMPL_H
#define BMK_RUMPUSER_IMPL_H

#include "rumpuser.h"

/* From rumpuser_init; NULL before it. */
extern const struct rumpuser_hyperup *bmk_hyp;

static inline void bmk_unschedule(void)
{
	if (bmk_hyp && bmk_hyp->hyp_unschedule)
		bmk_hyp->hyp_unschedule();
}

static inline void bmk_schedule(void)
{
	if (bmk_hyp && bmk_hyp->hyp_schedule)
		bmk_hyp->hyp_schedule();
}

#endif
