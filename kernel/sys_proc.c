/*
 * Identity and limits of the one process: pid 1, root, the configured
 * host name, the machine's memory.
 */
#include <kernel/kernel.h>
#include <kernel/syscall.h>
#include <kernel/config.h>
#include <kernel/file.h>
#include <kernel/program.h>
#include <sys/utsname.h>
#include <sys/sysinfo.h>
#include <sys/resource.h>

static char hostname[65];

static long sys_getpid(SYSARGS) { return 1; }
SYSCALL_REGISTER(SYS_getpid, sys_getpid, FULL, "always 1: one process");

static long sys_getppid(SYSARGS) { return 0; }
SYSCALL_REGISTER(SYS_getppid, sys_getppid, FULL, "always 0");

/* Everyone is root: the real, effective and saved ids are all 0. */
static long sys_getid(SYSARGS) { return 0; }
SYSCALL_REGISTER(SYS_getuid, sys_getid, FULL, "always 0: root");
SYSCALL_REGISTER(SYS_geteuid, sys_getid, FULL, "always 0");
SYSCALL_REGISTER(SYS_getgid, sys_getid, FULL, "always 0");
SYSCALL_REGISTER(SYS_getegid, sys_getid, FULL, "always 0");

static long sys_getresid(SYSARGS)
{
	long r = a0, e = a1, s = a2;
	*(unsigned *)r = *(unsigned *)e = *(unsigned *)s = 0;
	return 0;
}
SYSCALL_REGISTER(SYS_getresuid, sys_getresid, FULL, "always 0");
SYSCALL_REGISTER(SYS_getresgid, sys_getresid, FULL, "always 0");

static long sys_setid(SYSARGS)
{
	long id = a0;
	return id == 0 ? 0 : -EPERM;
}
SYSCALL_REGISTER(SYS_setuid, sys_setid, STUB, "0 succeeds, any other id EPERM");
SYSCALL_REGISTER(SYS_setgid, sys_setid, STUB, "0 succeeds, any other id EPERM");

/* The two- and three-id forms: each id -1 (unchanged) or 0 succeeds, as
 * daemons dropping privileges to root ask for. */
static long sys_setreid(SYSARGS)
{
	long r = a0, e = a1;
	return ((int)r == -1 || r == 0) && ((int)e == -1 || e == 0) ? 0 : -EPERM;
}
SYSCALL_REGISTER(SYS_setreuid, sys_setreid, STUB, "-1 or 0 succeed, any other id EPERM");
SYSCALL_REGISTER(SYS_setregid, sys_setreid, STUB, "-1 or 0 succeed, any other id EPERM");

static long sys_setresid(SYSARGS)
{
	long r = a0, e = a1, s = a2;
	return sys_setreid(r, e, 0, 0, 0, 0) == 0 && ((int)s == -1 || s == 0) ? 0 : -EPERM;
}
SYSCALL_REGISTER(SYS_setresuid, sys_setresid, STUB, "-1 or 0 succeed, any other id EPERM");
SYSCALL_REGISTER(SYS_setresgid, sys_setresid, STUB, "-1 or 0 succeed, any other id EPERM");

/* Dropping the supplementary groups (there are none) succeeds; a list
 * naming only group 0 too; other groups are EPERM, as other ids are. */
static long sys_setgroups(SYSARGS)
{
	long size = a0, list = a1;
	const unsigned *gids = (const unsigned *)list;
	long i;

	if (size < 0 || size > 65536)
		return -EINVAL;
	for (i = 0; i < size; i++)
		if (gids[i] != 0)
			return -EPERM;
	return 0;
}
SYSCALL_REGISTER(SYS_setgroups, sys_setgroups, STUB, "none or group 0 succeed, other groups EPERM");

static long sys_getgroups(SYSARGS) { return 0; }
SYSCALL_REGISTER(SYS_getgroups, sys_getgroups, FULL, "no supplementary groups");

static long sys_getpgid(SYSARGS) { return 1; }
SYSCALL_REGISTER(SYS_getpgid, sys_getpgid, FULL, "always 1");
SYSCALL_REGISTER(SYS_getsid, sys_getpgid, FULL, "always 1");

static const char *current_hostname(void)
{
	if (!hostname[0])
		strncpy(hostname, config_get()->hostname, sizeof(hostname) - 1);
	return hostname;
}

static long sys_uname(SYSARGS)
{
	long bufp = a0;
	struct utsname *u = (struct utsname *)bufp;

	memset(u, 0, sizeof(*u));
	strcpy(u->sysname, "rumprun");
	memcpy(u->nodename, current_hostname(), strlen(current_hostname()) + 1);
	strcpy(u->release, "1.0");
	strcpy(u->version, "rumprun unikernel");
	strcpy(u->machine, "x86_64");
	strcpy(u->__domainname, "(none)");
	return 0;
}
SYSCALL_REGISTER(SYS_uname, sys_uname, FULL, "sysname rumprun");

static long sys_sethostname(SYSARGS)
{
	long name = a0, len = a1;
	if (len < 0 || len > 64)
		return -EINVAL;
	memcpy(hostname, (const char *)name, len);
	hostname[len] = '\0';
	return 0;
}
SYSCALL_REGISTER(SYS_sethostname, sys_sethostname, FULL, "");

static long sys_sysinfo(SYSARGS)
{
	long infop = a0;
	struct sysinfo *si = (struct sysinfo *)infop;

	memset(si, 0, sizeof(*si));
	si->uptime = time_mono_ns() / 1000000000LL;
	si->totalram = param_number(RUMPRUN_PARAM_MEMSIZE);
	si->freeram = param_number(RUMPRUN_PARAM_MEMFREE);
	si->procs = 1;
	si->mem_unit = 1;
	return 0;
}
SYSCALL_REGISTER(
    SYS_sysinfo, sys_sysinfo, PARTIAL, "uptime, memory and procs; loads, swap and buffers zero");

/*
 * Resource limits.  RLIMIT_NOFILE is the calling program's descriptor
 * table's (kernel/fd.c: soft 1024, hard 524288, raisable to fs.nr_open as
 * root may); RLIMIT_STACK is the program's main stack's (kernel/program.c:
 * raising it grows the stack).  The others are kept and reported but
 * enforce nothing; as for root on Linux, a program may set them (soft
 * never above hard).
 */
static struct rlimit limits[RLIM_NLIMITS];
static int limits_ready;

static void limits_init(void)
{
	int i;

	for (i = 0; i < RLIM_NLIMITS; i++)
		limits[i].rlim_cur = limits[i].rlim_max = RLIM_INFINITY;
	limits_ready = 1;
}

static long sys_prlimit64(SYSARGS)
{
	long pid = a0, res = a1, newp = a2, oldp = a3;
	const struct rlimit *new = (const struct rlimit *)newp;
	struct rlimit *old = (struct rlimit *)oldp, cur;

	if (pid != 0 && pid != 1)
		return -ESRCH;
	if (res < 0 || res >= RLIM_NLIMITS)
		return -EINVAL;
	if (!limits_ready)
		limits_init();
	if (res == RLIMIT_NOFILE) {
		unsigned long soft, hard;

		fd_get_limit(&soft, &hard);
		cur.rlim_cur = soft;
		cur.rlim_max = hard;
	} else if (res == RLIMIT_STACK) {
		program_stack_limit(&cur);
	} else {
		cur = limits[res];
	}
	if (new) {
		if (new->rlim_cur > new->rlim_max)
			return -EINVAL;
		if (res == RLIMIT_NOFILE) {
			int err = fd_set_limit(new->rlim_cur, new->rlim_max);

			if (err)
				return err;
		} else if (res == RLIMIT_STACK) {
			long err = program_set_stack_limit(new);

			if (err)
				return err;
		} else {
			limits[res] = *new;
		}
	}
	if (old)
		*old = cur;
	return 0;
}
SYSCALL_REGISTER(SYS_prlimit64, sys_prlimit64, PARTIAL,
    "RLIMIT_NOFILE and RLIMIT_STACK enforced; the others kept and reported");

static long sys_setrlimit(SYSARGS)
{
	long res = a0, newp = a1;
	return sys_prlimit64(0, res, newp, 0, 0, 0);
}
SYSCALL_REGISTER(SYS_setrlimit, sys_setrlimit, PARTIAL, "as prlimit64");

static long sys_getrlimit(SYSARGS)
{
	long res = a0, oldp = a1;
	return sys_prlimit64(0, res, 0, oldp, 0, 0);
}
SYSCALL_REGISTER(SYS_getrlimit, sys_getrlimit, PARTIAL, "as prlimit64");

static long sys_sched_getaffinity(SYSARGS)
{
	long len = a1, maskp = a2;
	if (len < (long)sizeof(long))
		return -EINVAL;
	memset((void *)maskp, 0, len);
	*(unsigned long *)maskp = 1; /* one CPU */
	return sizeof(long);
}
SYSCALL_REGISTER(SYS_sched_getaffinity, sys_sched_getaffinity, FULL, "one CPU");

static long sys_getrandom(SYSARGS)
{
	long buf = a0, len = a1;
	rumpuser_size_t got = 0;

	rumpuser_getrandom((void *)buf, len, RUMPUSER_RANDOM_HARD, &got);
	return (long)got;
}
SYSCALL_REGISTER(SYS_getrandom, sys_getrandom, FULL, "flags ignored: never blocks");
