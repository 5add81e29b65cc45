/*
 * pictls: thread-local variables in position-independent code (-fPIC, as
 * Meson and Debian build static libraries): initial values, one copy per
 * thread.  Exits 0 when the main thread's copy is untouched by the worker.
 */
#include <pthread.h>
#include <stdio.h>

__thread int counter = 41;
static __thread char name[16] = "main";

static void *worker(void *arg)
{
	counter = 100;
	snprintf(name, sizeof(name), "worker");
	printf("%s %d\n", name, counter);
	return arg;
}

int main(void)
{
	pthread_t t;

	counter++;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	printf("%s %d\n", name, counter);
	return counter == 42 ? 0 : 1;
}
