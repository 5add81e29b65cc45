/*
 * Mutex/condvar ping-pong: the main thread and a second thread hand a turn
 * back and forth; one round trip is main -> other -> main.
 */
#include <pthread.h>
#include <string.h>
#include "bench.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn; /* 0: main's turn, 1: the other thread's */
static long rounds;

static void *other(void *arg)
{
	pthread_mutex_lock(&lock);
	for (long i = 0; i < rounds; i++) {
		while (turn != 1)
			pthread_cond_wait(&cond, &lock);
		turn = 0;
		pthread_cond_signal(&cond);
	}
	pthread_mutex_unlock(&lock);
	return arg;
}

int main(int argc, char *argv[])
{
	pthread_t t;
	long long t0, t1;
	int e;

	rounds = iterations(argc, argv, 20000);
	if ((e = pthread_create(&t, NULL, other, NULL))) {
		printf("pthread_create: %s\n", strerror(e));
		return 1;
	}
	t0 = now_ns();
	pthread_mutex_lock(&lock);
	for (long i = 0; i < rounds; i++) {
		turn = 1;
		pthread_cond_signal(&cond);
		while (turn != 0)
			pthread_cond_wait(&cond, &lock);
	}
	pthread_mutex_unlock(&lock);
	t1 = now_ns();
	pthread_join(t, NULL);
	result("mutex_condvar_pingpong", t1 - t0, rounds);
	return 0;
}
