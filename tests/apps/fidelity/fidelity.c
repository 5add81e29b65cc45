/*
 * Issue 8's acceptance cases in one program, run under rumprun and on
 * Linux by tests/test_fidelity.py, which compares what the two print.
 * Every mode prints only what must be the same on both (no addresses, no
 * timings).
 *
 *   fidelity stdin      checksum and length of stdin; a line on stderr
 *   fidelity state      a static counter, an atexit handler and 4 threads:
 *                       the same output on every run of a fresh process
 *   fidelity recurse N  N nested calls of a 200-byte frame
 *   fidelity bigstack   a 64 MiB array on the main stack, every page used
 *   fidelity churn      1000 threads created and joined, then 8 MiB and
 *                       32 MiB anonymous mappings, every page written
 *   fidelity filemap    a /tmp file through MAP_SHARED (msync, munmap
 *                       write back) and MAP_PRIVATE (copy on write)
 *   fidelity args       argc and a checksum of every argument's bytes
 *   fidelity tls        a __thread variable of -fPIC code (tls_pic.c) in
 *                       the main thread and two others
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int tls_pic_bump(int by); /* tls_pic.c, compiled with -fPIC */

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static int counter;
static void at_exit(void) { printf("atexit: counter %d\n", counter); }
static void *add_one(void *arg)
{
	__sync_fetch_and_add(&counter, 1);
	return arg;
}

static int state(void)
{
	pthread_t t[4];

	atexit(at_exit);
	counter++;
	printf("state: counter %d at start\n", counter);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, add_one, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int recurse(int n)
{
	volatile char frame[200];

	frame[0] = (char)n;
	if (n == 0)
		return frame[0];
	return recurse(n - 1) + frame[0] - (char)n;
}

static int bigstack(void)
{
	volatile char big[64 << 20];
	size_t sum = 0;

	for (size_t i = 0; i < sizeof(big); i += 4096)
		big[i] = (char)(i >> 12);
	for (size_t i = 0; i < sizeof(big); i += 4096)
		sum += (unsigned char)big[i];
	printf("bigstack: 64 MiB on the stack, sum %zu\n", sum);
	return 0;
}

static void *nothing(void *arg) { return arg; }

static int churn(void)
{
	size_t sizes[] = {8 << 20, 32 << 20};

	for (int i = 0; i < 1000; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) {
			printf("churn: thread %d failed\n", i);
			return 1;
		}
	}
	for (int k = 0; k < 2; k++) {
		char *p = mmap(
		    NULL, sizes[k], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			printf("churn: mmap of %zu MiB failed\n", sizes[k] >> 20);
			return 1;
		}
		for (size_t i = 0; i < sizes[k]; i += 4096)
			p[i] = 1;
		munmap(p, sizes[k]);
		printf("churn: after 1000 threads, %zu MiB mapped and written\n", sizes[k] >> 20);
	}
	return 0;
}

static int filemap(void)
{
	char path[] = "/tmp/fidelity.XXXXXX", buf[64] = "";
	int fd = mkstemp(path);
	char *shared, *private;

	if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16 || ftruncate(fd, 8192) != 0)
		return 1;
	shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	private = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED)
		return 1;
	private[6] = '!'; /* its own copy from now on */
	memcpy(shared, "SHARED", 6);
	msync(shared, 8192, MS_SYNC);
	munmap(shared, 8192);
	pread(fd, buf, 16, 0);
	printf("filemap: file %.16s, private copy %.16s\n", buf, private);
	munmap(private, 8192);
	close(fd);
	unlink(path);
	return 0;
}

static void *tls_thread(void *arg)
{
	tls_pic_bump((int)(intptr_t)arg);
	return (void *)(intptr_t)tls_pic_bump(0);
}

static int tls(void)
{
	pthread_t a, b;
	void *ra, *rb;

	tls_pic_bump(5);
	pthread_create(&a, NULL, tls_thread, (void *)10);
	pthread_create(&b, NULL, tls_thread, (void *)20);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	printf(
	    "tls: main %d, threads %d %d\n", tls_pic_bump(0), (int)(intptr_t)ra, (int)(intptr_t)rb);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "stdin") == 0) {
		unsigned char buf[65536];
		uint64_t h = 0xcbf29ce484222325ULL;
		size_t total = 0;
		ssize_t n;

		while ((n = read(0, buf, sizeof(buf))) > 0) {
			h = fnv(h, buf, (size_t)n);
			total += (size_t)n;
		}
		printf("stdin: %zu bytes, fnv %016llx\n", total, (unsigned long long)h);
		fprintf(stderr, "stdin: this line is on stderr\n");
		return n < 0;
	}
	if (strcmp(mode, "state") == 0)
		return state();
	if (strcmp(mode, "recurse") == 0) {
		int n = argc > 2 ? atoi(argv[2]) : 10000;

		printf("recurse: %d calls, result %d\n", n, recurse(n));
		return 0;
	}
	if (strcmp(mode, "bigstack") == 0)
		return bigstack();
	if (strcmp(mode, "churn") == 0)
		return churn();
	if (strcmp(mode, "filemap") == 0)
		return filemap();
	if (strcmp(mode, "args") == 0) {
		uint64_t h = 0xcbf29ce484222325ULL;

		for (int i = 1; i < argc; i++) /* argv[0] is the program's path */
			h = fnv(h, (const unsigned char *)argv[i], strlen(argv[i]) + 1);
		printf("args: %d arguments, fnv %016llx, last %s\n", argc, (unsigned long long)h,
		    argv[argc - 1]);
		return 0;
	}
	if (strcmp(mode, "tls") == 0)
		return tls();
	fprintf(stderr, "fidelity: unknown mode '%s'\n", mode);
	return 2;
}
