/* crash CASE: end the way a broken program does; the kernel says how. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int n)
{
	volatile char frame[256];

	frame[0] = (char)n;
	return recurse(n + 1) + frame[0];
}

static void *recurse_in_thread(void *arg) { return (void *)(long)recurse(0); }

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static volatile int holding;

static void *lock_b_then_a(void *arg)
{
	pthread_mutex_lock(&b);
	holding++;
	while (holding < 2)
		sched_yield();
	pthread_mutex_lock(&a);
	return NULL;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *wait_forever(void *arg)
{
	pthread_mutex_lock(&m);
	for (;;)
		pthread_cond_wait(&never, &m);
	return NULL;
}

static void *join_self(void *arg) { return (void *)(long)pthread_join(pthread_self(), NULL); }

static sem_t never_posted;

/* Detaching an already detached thread: musl calls a_crash() (hlt). */
static void *detach_again(void *arg) { return (void *)(long)pthread_detach(pthread_self()); }

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	pthread_t t;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("crash %s\n", what);
	if (!strcmp(what, "null")) {
		int *volatile p = 0;
		return *p;
	}
	if (!strcmp(what, "null_write")) {
		int *volatile p = 0;
		*p = 1;
	}
	if (!strcmp(what, "divide")) {
		volatile int one = 1, zero = 0;
		return one / zero;
	}
	if (!strcmp(what, "stack_overflow"))
		return recurse(0);
	if (!strcmp(what, "thread_stack_overflow")) {
		pthread_create(&t, NULL, recurse_in_thread, NULL);
		pthread_join(t, NULL);
	}
	if (!strcmp(what, "abort"))
		abort();
	if (!strcmp(what, "trap"))
		__builtin_trap();
	if (!strcmp(what, "deadlock_mutexes")) {
		pthread_mutex_lock(&a);
		pthread_create(&t, NULL, lock_b_then_a, NULL);
		holding++;
		while (holding < 2)
			sched_yield();
		pthread_mutex_lock(&b);
	}
	if (!strcmp(what, "deadlock_join")) {
		pthread_create(&t, NULL, wait_forever, NULL);
		pthread_join(t, NULL);
	}
	if (!strcmp(what, "deadlock_self_join")) {
		pthread_create(&t, NULL, join_self, NULL);
		pthread_join(t, NULL);
	}
	if (!strcmp(what, "hlt"))
		__asm__ volatile("hlt"); /* privileged: SIGSEGV on Linux */
	if (!strcmp(what, "double_free")) {
		char *volatile p = malloc(32);

		free(p);
		free(p); /* musl's malloc notices and crashes (a_crash) */
	}
	if (!strcmp(what, "detach_twice")) {
		pthread_attr_t attr;

		sem_init(&never_posted, 0, 0);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_create(&t, &attr, detach_again, NULL);
		sem_wait(&never_posted); /* musl crashes the thread first */
	}
	printf("crash %s: still running\n", what);
	return 0;
}
