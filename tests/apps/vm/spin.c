/*
 * spin: a thread computes for 5 s without ever blocking while the main
 * thread waits to run again: the watchdog names the spinner.  main yields
 * until the spinner has started, so it is surely starved (a 1 ms sleep
 * alone could end before the spinner first ran, on a loaded host).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int started;

static void *spinner(void *arg)
{
	struct timespec t0, t;

	started = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (t.tv_sec - t0.tv_sec < 5);
	printf("spinner done\n");
	return arg;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, spinner, NULL);
	while (!started)
		sched_yield(); /* the spinner runs now, and never yields */
	usleep(1000);
	printf("main woke\n");
	pthread_join(t, NULL);
	return 0;
}
