/* Random bytes from the host's getrandom(2). */
#include <errno.h>
#include <sys/random.h>
#include "posix.h"

int rumpuser_getrandom(void *buf, rumpuser_size_t buflen, int flags, rumpuser_size_t *retp)
{
	ssize_t n;
	int hflags = (flags & RUMPUSER_RANDOM_NOWAIT) ? GRND_NONBLOCK : 0;
	do
		n = getrandom(buf, buflen, hflags);
	while (n < 0 && errno == EINTR);
	*retp = n < 0 ? 0 : (rumpuser_size_t)n;
	return 0;
}
