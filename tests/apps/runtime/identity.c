/* Who and where the program is: printed for the test to compare. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "../apptest.h"

static void *tid_of_thread(void *arg) { return (void *)(long)gettid(); }

static void *name_of_thread(void *arg)
{
	prctl(PR_GET_NAME, (char *)arg);
	return NULL;
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
	printf("uid %d euid %d gid %d egid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	    (int)getegid());
	{
		/* Dropping privileges to root, as daemons started as root do
		 * (memcached -u root, servers with a "user" setting). */
		gid_t zero = 0, other = 1000;

		CHECK(setgroups(0, NULL) == 0, "setgroups(0, NULL)");
		CHECK(setgroups(1, &zero) == 0, "setgroups({0})");
		CHECK(setgroups(1, &other) == -1 && errno == EPERM, "setgroups({1000}) is EPERM");
		CHECK(setgid(0) == 0 && setuid(0) == 0, "setgid(0), setuid(0)");
		CHECK(setregid(-1, 0) == 0 && setreuid(0, -1) == 0, "setregid, setreuid");
		CHECK(setresgid(0, 0, -1) == 0 && setresuid(-1, 0, 0) == 0, "setresgid, setresuid");
		CHECK(setresuid(0, 1000, 0) == -1 && errno == EPERM, "setresuid to 1000 is EPERM");
		printf("privileges dropped to root\n");
	}
	{
		/* Thread names: the program's by default, inherited by new
		 * threads, at most 15 characters. */
		char name[16] = "", inherited[16] = "";

		CHECK(prctl(PR_GET_NAME, name) == 0, "PR_GET_NAME");
		printf("prctl name %s\n", name);
		CHECK(prctl(PR_SET_NAME, "a-name-longer-than-15") == 0, "PR_SET_NAME");
		CHECK(prctl(PR_GET_NAME, name) == 0, "PR_GET_NAME again");
		pthread_create(&t, NULL, name_of_thread, inherited);
		pthread_join(t, NULL);
		printf("prctl set name %s, a new thread's %s\n", name, inherited);
		CHECK(prctl(PR_SET_NAME, "runtime") == 0, "PR_SET_NAME back");
	}
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

CASES(identity) = {{"identity", identity}, END_CASES};
