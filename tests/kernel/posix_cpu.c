/*
 * The posix platform runs kernel code one thread at a time (the virtual
 * CPU of rumprun_posix.h), as bare metal does: several host threads append
 * to one tmpfs file and pass bytes through one pipe at the same time, and
 * nothing is lost or torn.  Without the virtual CPU the kernel's unlocked
 * file and pipe state would race.
 */
#include "ktest.h"
#include <pthread.h>

#define NTHREADS 4
#define NWRITES 2000

static int append_fd, pipe_fds[2];

static void *appender(void *arg)
{
	char c = 'a' + (int)(long)arg;

	for (int i = 0; i < NWRITES; i++)
		if (K(SYS_write, append_fd, &c, 1) != 1)
			return (void *)1;
	return NULL;
}

static void *pipe_writer(void *arg)
{
	char block[100];

	memset(block, 'p', sizeof(block));
	for (int i = 0; i < NWRITES / 10; i++)
		if (K(SYS_write, pipe_fds[1], block, sizeof(block)) != (long)sizeof(block))
			return (void *)1;
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS], w[NTHREADS];
	long counts[NTHREADS] = {0}, total = 0, n;
	char buf[4096];
	void *r;

	ktest_boot();
	append_fd = EXPECT_OK(K(SYS_open, "/tmp/shared", O_CREAT | O_WRONLY | O_APPEND, 0644));
	EXPECT(K(SYS_pipe, pipe_fds), 0);
	for (long i = 0; i < NTHREADS; i++) {
		pthread_create(&t[i], NULL, appender, (void *)i);
		pthread_create(&w[i], NULL, pipe_writer, NULL);
	}
	/* Drain the pipe while the writers block on it being full. */
	while (total < (long)NTHREADS * NWRITES / 10 * 100 &&
	    (n = K(SYS_read, pipe_fds[0], buf, sizeof(buf))) > 0)
		total += n;
	EXPECT(total, (long)NTHREADS * NWRITES / 10 * 100);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &r);
		EXPECT(r, NULL);
		pthread_join(w[i], &r);
		EXPECT(r, NULL);
	}

	int fd = EXPECT_OK(K(SYS_open, "/tmp/shared", O_RDONLY));
	while ((n = K(SYS_read, fd, buf, sizeof(buf))) > 0)
		for (long i = 0; i < n; i++)
			if (buf[i] >= 'a' && buf[i] < 'a' + NTHREADS)
				counts[buf[i] - 'a']++;
	for (int i = 0; i < NTHREADS; i++)
		EXPECT(counts[i], NWRITES);
	return ktest_done();
}
