/* Cost of one system call: syscall(SYS_getpid), so libc cannot cache it. */
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char *argv[])
{
	long n = iterations(argc, argv, 1000000);
	long pid = syscall(SYS_getpid), acc = 0;
	long long t0, t1;

	if (pid <= 0) {
		printf("getpid returned %ld\n", pid);
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		acc += syscall(SYS_getpid);
	t1 = now_ns();
	if (acc != pid * n) {
		printf("getpid changed during the loop\n");
		return 1;
	}
	result("getpid", t1 - t0, n);
	return 0;
}
