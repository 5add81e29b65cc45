/* Who and where the program is: printed for the test to compare. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "../apptest.h"

static void *tid_of_thread(void *arg)
{
	return (void *)(long)gettid();
}

static void identity(int argc, char **argv)
{
	struct utsname u;
	struct sysinfo si;
	char host[256] = "";
	pthread_t t;
	void *tid;

	printf("getpid %d\n", (int)getpid());
	printf("getppid %d\n", (int)getppid());
	printf("gettid %d\n", (int)gettid());
	pthread_create(&t, NULL, tid_of_thread, NULL);
	pthread_join(t, &tid);
	printf("thread gettid %ld\n", (long)tid);
	printf("uid %d euid %d gid %d egid %d\n", (int)getuid(), (int)geteuid(),
	       (int)getgid(), (int)getegid());
	CHECK(uname(&u) == 0, "uname");
	printf("uname sysname %s\n", u.sysname);
	printf("uname nodename %s\n", u.nodename);
	printf("uname release %s\n", u.release);
	printf("uname machine %s\n", u.machine);
	CHECK(gethostname(host, sizeof(host)) == 0, "gethostname");
	printf("gethostname %s\n", host);
	CHECK(sysinfo(&si) == 0, "sysinfo");
	printf("sysinfo totalram %llu freeram %llu\n",
	       (unsigned long long)si.totalram * si.mem_unit,
	       (unsigned long long)si.freeram * si.mem_unit);
	printf("sysinfo procs %d uptime %ld\n", si.procs, si.uptime);
	{
		/* freeram is measured, not made up: 8 MiB in use shows. */
		char *big = malloc(8 << 20);
		struct sysinfo after;

		CHECK(big != NULL, "malloc 8 MiB");
		memset(big, 1, 8 << 20);
		CHECK(sysinfo(&after) == 0, "sysinfo again");
		printf("sysinfo freeram after 8 MiB %llu\n",
		       (unsigned long long)after.freeram * after.mem_unit);
		free(big);
	}
	printf("_SC_PAGESIZE %ld\n", sysconf(_SC_PAGESIZE));
	printf("_SC_NPROCESSORS_ONLN %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("_SC_NPROCESSORS_CONF %ld\n", sysconf(_SC_NPROCESSORS_CONF));
	printf("_SC_PHYS_PAGES %ld\n", sysconf(_SC_PHYS_PAGES));
	printf("_SC_AVPHYS_PAGES %ld\n", sysconf(_SC_AVPHYS_PAGES));
}

CASES(identity) = {
	{ "identity", identity },
	END_CASES
};
