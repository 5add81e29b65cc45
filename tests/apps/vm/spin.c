/*
 * spin: a thread computes for 5 s without ever blocking while the main
 * thread waits for a 1 ms sleep to end: the watchdog names the spinner.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void *spinner(void *arg)
{
	struct timespec t0, t;

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
	usleep(1000);		/* the spinner runs meanwhile, and never yields */
	printf("main woke\n");
	pthread_join(t, NULL);
	return 0;
}
