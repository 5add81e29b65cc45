/*
 * rerun N: a program that leaves things behind (changed static and
 * thread-local data, a signal disposition, an atexit handler, an open
 * descriptor, 8 MiB of heap, a thread waiting forever) and exits with
 * status N.  Run three times in
 * one --rc sequence, each run must start as the first did.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

static int data_counter = 5;
static int bss_counter;
static __thread int tls_counter = 7;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void bye(void) { printf("rerun atexit\n"); }

static void *wait_forever(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

static void *square(void *arg) { return (void *)((long)arg * (long)arg); }

int main(int argc, char **argv)
{
	struct sysinfo si;
	struct sigaction sa;
	pthread_t waiter, t;
	void *r;
	int fd = open("/tmp/rerun", O_CREAT | O_RDWR, 0644);

	printf("rerun %s: data %d bss %d tls %d fd %d\n", argc > 1 ? argv[1] : "-", data_counter,
	    bss_counter, tls_counter, fd);
	/* After the first output: the kernel sets the console's device up
	 * (its buffers) at the first use of a stream, once per machine. */
	sysinfo(&si);
	printf("rerun free %lu KiB\n", si.freeram / 1024);
	sigaction(SIGUSR1, NULL, &sa);
	printf("rerun SIGUSR1 %s\n", sa.sa_handler == SIG_DFL ? "default" : "changed");
	signal(SIGUSR1, SIG_IGN);
	data_counter++;
	bss_counter++;
	tls_counter++;
	atexit(bye);
	memset(malloc(8 << 20), 1, 8 << 20);
	pthread_create(&waiter, NULL, wait_forever, NULL);
	pthread_create(&t, NULL, square, (void *)7L);
	pthread_join(t, &r);
	printf("rerun thread %ld\n", (long)r);
	return argc > 1 ? atoi(argv[1]) : 0;
}
