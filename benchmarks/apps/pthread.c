/* pthread_create + pthread_join of a thread that returns at once, per pair. */
#include <pthread.h>
#include <string.h>
#include "bench.h"

static void *child(void *arg) { return (char *)arg + 1; }

int main(int argc, char *argv[])
{
	long n = iterations(argc, argv, 10000);
	char base[1];
	long long t0, t1;

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pthread_t t;
		void *ret;
		int e = pthread_create(&t, NULL, child, base);

		if (e) {
			printf("pthread_create: %s\n", strerror(e));
			return 1;
		}
		if ((e = pthread_join(t, &ret)) || ret != base + 1) {
			printf("pthread_join: %s\n", e ? strerror(e) : "wrong value");
			return 1;
		}
	}
	t1 = now_ns();
	result("pthread_create_join", t1 - t0, n);
	return 0;
}
