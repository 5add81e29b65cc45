/* Init and exit. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include "posix.h"

const struct rumpuser_hyperup *posix_hyp;

int
rumpuser_init(int version, const struct rumpuser_hyperup *hyp)
{
	if (version != RUMPUSER_VERSION) {
		fprintf(stderr, "rumprun posix: the kernel wants hypercall version %d, "
		    "this platform has %d\n", version, RUMPUSER_VERSION);
		return EINVAL;
	}
	posix_hyp = hyp;
	return 0;
}

void
posix_unschedule(void)
{
	if (posix_hyp && posix_hyp->hyp_unschedule)
		posix_hyp->hyp_unschedule();
}

void
posix_schedule(void)
{
	if (posix_hyp && posix_hyp->hyp_schedule)
		posix_hyp->hyp_schedule();
}

void
rumpuser_exit(int value)
{
	fflush(stdout);
	if (value == RUMPUSER_PANIC) {
		fprintf(stderr, "rumprun: the kernel panicked\n");
		exit(1);
	}
	exit(value & 0xff);
}
