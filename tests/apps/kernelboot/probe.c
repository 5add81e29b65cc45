/*
 * Kernel behaviours seen from an app, one per argv[1]: an unknown system
 * call, the identity the configuration gives, and where a fault is reported.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

int *volatile nowhere;

int main(int argc, char *argv[])
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "unknown-syscall")) {
		long rv = syscall(SYS_io_uring_setup, 1, NULL);

		printf("io_uring_setup returned %ld errno %s\n", rv, strerror(errno));
		rv = syscall(SYS_io_uring_setup, 1, NULL);
		printf("again %ld\n", rv);
		return 0;
	}
	if (!strcmp(what, "identity")) {
		struct utsname u;
		char host[65];

		uname(&u);
		gethostname(host, sizeof(host));
		printf("pid %d uid %d host %s machine %s\n", getpid(), getuid(), host, u.machine);
		return 0;
	}
	if (!strcmp(what, "null"))
		return *nowhere;
	printf("usage: probe unknown-syscall|identity|null\n");
	return 2;
}
