/*
 * A C program built by the host's gcc (-static, -static-pie), baked as it
 * is and compared with its run on Linux (tests/test_exec.py): arguments,
 * environment, stdio and floating point, malloc (small and large), a file
 * in /tmp, thread-local data in two threads, time, the exit status.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __thread int counter = 40;
static int data_word = 7; /* initialised data: fresh in every run */

static void *bump(void *arg)
{
	counter += (int)(long)arg;
	return (void *)(long)counter;
}

static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *world = getenv("WORLD");
	int nums[] = {5, 3, 9, 1}, i;
	pthread_t t;
	void *ret;
	char line[64] = "", path[64];
	FILE *f;
	char *big;
	struct timespec ts;

	printf("argv0 %s argc %d", base ? base + 1 : argv[0], argc);
	for (i = 1; i < argc; i++)
		printf(" [%s]", argv[i]);
	printf("\nWORLD=%s\n", world ? world : "(unset)");
	printf("float %.3f %g\n", 3.14159 * 2, strtod("2.5e3", NULL));
	qsort(nums, 4, sizeof(int), compare);
	printf("sorted %d %d %d %d\n", nums[0], nums[1], nums[2], nums[3]);
	big = malloc(8 << 20);
	memset(big, 'x', 8 << 20);
	printf("big %s\n", big[(8 << 20) - 1] == 'x' ? "ok" : "BAD");
	free(big);
	snprintf(path, sizeof(path), "/tmp/exec-test-%d.txt", (int)getpid());
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "file line\n") < 0 || fclose(f) ||
	    (f = fopen(path, "r")) == NULL || !fgets(line, sizeof(line), f))
		printf("file BAD\n");
	else
		printf("file %s", line);
	if (f)
		fclose(f);
	unlink(path);
	pthread_create(&t, NULL, bump, (void *)2L);
	pthread_join(t, &ret);
	printf("tls main %d thread %ld\n", counter, (long)ret);
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("time %s\n", ts.tv_sec > 1600000000 ? "ok" : "BAD");
	printf("data %d\n", data_word++);
	fflush(stdout);
	return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
