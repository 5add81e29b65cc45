/*
 * App threads: clone (musl's pthread_create), thread exit, futexes,
 * set_tid_address, the TLS register and the little of signals that
 * single-process programs need (masks kept, abort and kill-self end the
 * machine with the status a shell would show).
 */
#define _GNU_SOURCE
#include <kernel/kernel.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/vfs.h>
#include <kernel/program.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

/* Linux futex ABI (musl ships no <linux/futex.h>). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP_CMP_LE 3
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

static int next_tid = 1;

struct lwp *curlwp(void) { return rumpuser_curlwp(); }

struct lwp *lwp_new(void)
{
	struct lwp *l = kzalloc(sizeof(*l));

	if (l)
		l->tid = next_tid++;
	return l;
}

/* ---- futexes ---------------------------------------------------------- */

struct futex_waiter {
	int *uaddr;
	struct program *prog; /* the waiting thread's */
	int woken;
	uint32_t bitset;
	struct rumpuser_cv *cv;
	struct futex_waiter *next;
};

static struct futex_waiter *waiters;
static struct rumpuser_mtx *futex_lock;

static void futex_init(void)
{
	if (!futex_lock)
		rumpuser_mutex_init(&futex_lock, RUMPUSER_MTX_KMUTEX);
}

static void unlink_waiter(struct futex_waiter *w)
{
	struct futex_waiter **pp;

	for (pp = &waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static long futex_wait(
    int *uaddr, int val, const struct timespec *timeout, int absolute, uint32_t bitset)
{
	struct futex_waiter w = {uaddr, curlwp() ? curlwp()->prog : NULL, 0, bitset, NULL, NULL};
	long rv = 0;

	if (bitset == 0)
		return -EINVAL;
	futex_init();
	if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val)
		return -EAGAIN;
	rumpuser_cv_init(&w.cv);
	rumpuser_mutex_enter(futex_lock);
	w.next = waiters;
	waiters = &w;
	if (timeout) {
		int64_t ns = timeout->tv_sec * 1000000000LL + timeout->tv_nsec;

		if (absolute)
			ns -= time_mono_ns(); /* FUTEX_WAIT_BITSET: CLOCK_MONOTONIC */
		while (!w.woken) {
			if (ns <= 0 ||
			    rumpuser_cv_timedwait(w.cv, futex_lock, ns / 1000000000LL,
			        ns % 1000000000LL) == ETIMEDOUT) {
				if (!w.woken)
					rv = -ETIMEDOUT;
				break;
			}
		}
	} else {
		while (!w.woken)
			rumpuser_cv_wait(w.cv, futex_lock);
	}
	if (!w.woken)
		unlink_waiter(&w);
	rumpuser_mutex_exit(futex_lock);
	rumpuser_cv_destroy(w.cv);
	return rv;
}

static int futex_wake_bits(int *uaddr, int n, uint32_t bitset)
{
	struct futex_waiter **pp = &waiters, *w;
	int woken = 0;

	futex_init();
	rumpuser_mutex_enter(futex_lock);
	while ((w = *pp) != NULL && woken < n) {
		if (w->uaddr == uaddr && (w->bitset & bitset)) {
			*pp = w->next;
			w->woken = 1;
			rumpuser_cv_signal(w->cv);
			woken++;
		} else {
			pp = &w->next;
		}
	}
	rumpuser_mutex_exit(futex_lock);
	return woken;
}

int futex_wake(int *uaddr, int n) { return futex_wake_bits(uaddr, n, FUTEX_BITSET_MATCH_ANY); }

void futex_wake_program(struct program *p)
{
	struct futex_waiter **pp = &waiters, *w;

	futex_init();
	rumpuser_mutex_enter(futex_lock);
	while ((w = *pp) != NULL) {
		if (w->prog == p) {
			*pp = w->next;
			w->woken = 1;
			rumpuser_cv_signal(w->cv);
		} else {
			pp = &w->next;
		}
	}
	rumpuser_mutex_exit(futex_lock);
}

/* Wake n waiters on uaddr, move up to n2 of the rest to uaddr2. */
static long futex_requeue(int *uaddr, int n, int n2, int *uaddr2, int check, int val)
{
	struct futex_waiter *w;
	int woken, moved = 0;

	if (check && __atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val)
		return -EAGAIN;
	woken = futex_wake(uaddr, n);
	rumpuser_mutex_enter(futex_lock);
	for (w = waiters; w && moved < n2; w = w->next) {
		if (w->uaddr == uaddr) {
			w->uaddr = uaddr2;
			moved++;
		}
	}
	rumpuser_mutex_exit(futex_lock);
	return woken + moved;
}

static long futex_wake_op(int *uaddr, int n, int n2, int *uaddr2, int op)
{
	int oparg = (op << 20) >> 20, cmparg = (op << 8) >> 20;
	int cmd = (op >> 28) & 7, cmp = (op >> 24) & 15, old, woken;

	if ((op >> 28) & 8) /* FUTEX_OP_OPARG_SHIFT */
		oparg = 1 << (oparg & 31);
	old = *uaddr2;
	switch (cmd) {
	case FUTEX_OP_SET:
		*uaddr2 = oparg;
		break;
	case FUTEX_OP_ADD:
		*uaddr2 = old + oparg;
		break;
	case FUTEX_OP_OR:
		*uaddr2 = old | oparg;
		break;
	case FUTEX_OP_ANDN:
		*uaddr2 = old & ~oparg;
		break;
	case FUTEX_OP_XOR:
		*uaddr2 = old ^ oparg;
		break;
	default:
		return -ENOSYS;
	}
	woken = futex_wake(uaddr, n);
	switch (cmp) {
	case FUTEX_OP_CMP_EQ:
		cmp = old == cmparg;
		break;
	case FUTEX_OP_CMP_NE:
		cmp = old != cmparg;
		break;
	case FUTEX_OP_CMP_LT:
		cmp = old < cmparg;
		break;
	case FUTEX_OP_CMP_LE:
		cmp = old <= cmparg;
		break;
	case FUTEX_OP_CMP_GT:
		cmp = old > cmparg;
		break;
	case FUTEX_OP_CMP_GE:
		cmp = old >= cmparg;
		break;
	default:
		return -ENOSYS;
	}
	if (cmp)
		woken += futex_wake(uaddr2, n2);
	return woken;
}

static long sys_futex(SYSARGS)
{
	long uaddr = a0, op = a1, val = a2, timeout = a3, uaddr2 = a4, val3 = a5;
	int cmd = op & FUTEX_CMD_MASK;

	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(
		    (int *)uaddr, val, (const struct timespec *)timeout, 0, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		return futex_wait((int *)uaddr, val, (const struct timespec *)timeout, 1, val3);
	case FUTEX_WAKE:
		return futex_wake((int *)uaddr, val);
	case FUTEX_WAKE_BITSET:
		return futex_wake_bits((int *)uaddr, val, val3);
	case FUTEX_REQUEUE:
		return futex_requeue((int *)uaddr, val, (int)timeout, (int *)uaddr2, 0, 0);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue((int *)uaddr, val, (int)timeout, (int *)uaddr2, 1, val3);
	case FUTEX_WAKE_OP:
		return futex_wake_op((int *)uaddr, val, (int)timeout, (int *)uaddr2, val3);
	default:
		return -ENOSYS;
	}
}
SYSCALL_REGISTER(SYS_futex, sys_futex, PARTIAL,
    "WAIT, WAKE, their BITSET forms, REQUEUE, CMP_REQUEUE, WAKE_OP; PI futexes ENOSYS");

/* ---- clone and exit --------------------------------------------------- */

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

static void clone_child_start(void *arg) { rumpuser_curlwpop(RUMPUSER_LWP_SET, arg); }

static long sys_clone(SYSARGS)
{
	long flags = a0, stack = a1, ptid = a2, ctid = a3, tls = a4;
	struct lwp *l;
	int error;

	if ((flags & THREAD_FLAGS) != THREAD_FLAGS)
		return -ENOSYS; /* one process: threads only, no fork */
	if (!stack)
		return -EINVAL;
	if ((l = lwp_new()) == NULL)
		return -EAGAIN;
	l->prog = curlwp()->prog;
	l->fds = curlwp()->fds;
	l->vm = curlwp()->vm;
	if (flags & CLONE_CHILD_CLEARTID)
		l->clear_child_tid = (int *)ctid;
	if (flags & CLONE_CHILD_SETTID)
		*(int *)ctid = l->tid;
	if (flags & CLONE_PARENT_SETTID)
		*(int *)ptid = l->tid;
	l->sigmask = curlwp()->sigmask;
	memcpy(l->comm, curlwp()->comm, sizeof(l->comm));
	error = rumpuser_ext_app_fork((void *)stack,
	    (flags & CLONE_SETTLS) ? (void *)tls : rumpuser_ext_get_tls(), clone_child_start, l);
	if (error) {
		kfree(l, sizeof(*l));
		return -error;
	}
	if (l->prog)
		program_thread_new(l->prog);
	return l->tid;
}
SYSCALL_REGISTER(SYS_clone, sys_clone, PARTIAL,
    "threads only (CLONE_VM|FS|FILES|SIGHAND|THREAD); fork-like clones ENOSYS");

static long sys_exit(SYSARGS)
{
	long status = a0;
	struct lwp *l = curlwp();

	/* musl's last thread calls exit_group itself; this is for the rest. */
	if (!l->prog || program_threads(l->prog) == 1)
		program_exit(status);
	if (l->clear_child_tid) {
		__atomic_store_n(l->clear_child_tid, 0, __ATOMIC_SEQ_CST);
		futex_wake(l->clear_child_tid, 1);
	}
	program_thread_exit();
}
SYSCALL_REGISTER(SYS_exit, sys_exit, FULL, "");

static long sys_exit_group(SYSARGS)
{
	long status = a0;
	program_exit(status);
}
SYSCALL_REGISTER(SYS_exit_group, sys_exit_group, FULL, "");

static long sys_set_tid_address(SYSARGS)
{
	long tidptr = a0;
	curlwp()->clear_child_tid = (int *)tidptr;
	return curlwp()->tid;
}
SYSCALL_REGISTER(SYS_set_tid_address, sys_set_tid_address, FULL, "");

static long sys_gettid(SYSARGS) { return curlwp()->tid; }
SYSCALL_REGISTER(SYS_gettid, sys_gettid, FULL, "");

static long sys_arch_prctl(SYSARGS)
{
	long code = a0, addr = a1;
	switch (code) {
	case ARCH_SET_FS:
		rumpuser_ext_set_tls((void *)addr);
		return 0;
	case ARCH_GET_FS:
		*(unsigned long *)addr = (unsigned long)rumpuser_ext_get_tls();
		return 0;
	default:
		return -EINVAL;
	}
}
SYSCALL_REGISTER(
    SYS_arch_prctl, sys_arch_prctl, PARTIAL, "ARCH_SET_FS and ARCH_GET_FS; others EINVAL");

/* Thread names, as servers set them for their worker threads. */
static long sys_prctl(SYSARGS)
{
	long option = a0, arg2 = a1;
	struct lwp *l = curlwp();

	switch (option) {
	case PR_SET_NAME:
		strncpy(l->comm, (const char *)arg2, sizeof(l->comm) - 1);
		l->comm[sizeof(l->comm) - 1] = '\0';
		return 0;
	case PR_GET_NAME:
		memcpy((char *)arg2, l->comm, sizeof(l->comm));
		return 0;
	default:
		return -EINVAL;
	}
}
SYSCALL_REGISTER(SYS_prctl, sys_prctl, PARTIAL, "PR_SET_NAME and PR_GET_NAME; others EINVAL");

static long sys_sched_yield(SYSARGS)
{
	rumpuser_ext_yield();
	return 0;
}
SYSCALL_REGISTER(SYS_sched_yield, sys_sched_yield, FULL, "");

/* ---- signals ---------------------------------------------------------- */

/* The calling program's dispositions (each run starts with the defaults);
 * the kernel's own outside programs. */
static struct k_sigaction *actions_of_current(void)
{
	static struct k_sigaction kernel_actions[65];
	struct lwp *l = curlwp();

	return l && l->prog ? program_sigactions(l->prog) : kernel_actions;
}

static const char *const signames[] = {
    [SIGHUP] = "SIGHUP",
    [SIGINT] = "SIGINT",
    [SIGQUIT] = "SIGQUIT",
    [SIGILL] = "SIGILL",
    [SIGTRAP] = "SIGTRAP",
    [SIGABRT] = "SIGABRT",
    [SIGBUS] = "SIGBUS",
    [SIGFPE] = "SIGFPE",
    [SIGKILL] = "SIGKILL",
    [SIGUSR1] = "SIGUSR1",
    [SIGSEGV] = "SIGSEGV",
    [SIGUSR2] = "SIGUSR2",
    [SIGPIPE] = "SIGPIPE",
    [SIGALRM] = "SIGALRM",
    [SIGTERM] = "SIGTERM",
};

static long sys_rt_sigaction(SYSARGS)
{
	long sig = a0, act = a1, oact = a2;
	struct k_sigaction *actions = actions_of_current();

	if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
		return act ? -EINVAL : 0;
	if (oact)
		memcpy((void *)oact, &actions[sig], sizeof(actions[sig]));
	if (act)
		memcpy(&actions[sig], (const void *)act, sizeof(actions[sig]));
	return 0;
}
SYSCALL_REGISTER(SYS_rt_sigaction, sys_rt_sigaction, PARTIAL,
    "dispositions kept per program; handlers never run (no signal delivery)");

static long sys_rt_sigprocmask(SYSARGS)
{
	long how = a0, set = a1, oset = a2;
	struct lwp *l = curlwp();
	uint64_t s;

	if (oset)
		*(uint64_t *)oset = l->sigmask;
	if (!set)
		return 0;
	s = *(const uint64_t *)set;
	switch (how) {
	case SIG_BLOCK:
		l->sigmask |= s;
		break;
	case SIG_UNBLOCK:
		l->sigmask &= ~s;
		break;
	case SIG_SETMASK:
		l->sigmask = s;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}
SYSCALL_REGISTER(SYS_rt_sigprocmask, sys_rt_sigprocmask, PARTIAL,
    "the mask is kept and consulted for signals a thread raises itself");

/*
 * A signal sent to ourselves.  Handlers are not run (there is no signal
 * delivery yet): an ignored signal is dropped, any other one whose default
 * action ends a process ends the calling program with status 128 +
 * signal, as a shell would report it, once the system call is over (it
 * may hold files until then); the other programs go on.  The machine ends
 * as after any program's end: volumes written back and unmounted.
 */
static long send_self(long sig)
{
	char why[64];
	const char *name;

	if (sig == 0)
		return 0;
	if (sig < 1 || sig > 64)
		return -EINVAL;
	if (actions_of_current()[sig].handler == (unsigned long)SIG_IGN && sig != SIGKILL)
		return 0;
	if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH)
		return 0; /* default action: ignore */
	name = sig < (long)ARRAY_SIZE(signames) && signames[sig] ? signames[sig] : "signal";
	memcpy(why, "killed by ", 10);
	strcpy(why + 10, name);
	if (sig == SIGABRT)
		strcat(why, " (abort)");
	kprintf("rumprun: %s\n", why);
	if (program_kill(sig) == 0)
		return 0; /* the system call's end takes the thread out */
	vfs_unmount_all(); /* the kernel's own: the disks as clean as at an exit */
	rumpuser_ext_fatal_signal(sig, NULL);
}

void signal_raise(int sig)
{
	struct lwp *l = curlwp();

	if (actions_of_current()[sig].handler != (unsigned long)SIG_DFL)
		return;
	if (l && (l->sigmask & (1ULL << (sig - 1))))
		return;
	send_self(sig);
}

static long sys_kill(SYSARGS)
{
	long pid = a0, sig = a1;
	if (pid != 1 && pid != 0 && pid != -1)
		return -ESRCH;
	return send_self(sig);
}
SYSCALL_REGISTER(SYS_kill, sys_kill, PARTIAL,
    "to the process itself only: ignored, or a fatal default ends the program with 128+N");

static long sys_tkill(SYSARGS)
{
	long tid = a0, sig = a1;
	if (tid <= 0 || tid >= next_tid)
		return -ESRCH;
	return send_self(sig);
}
SYSCALL_REGISTER(SYS_tkill, sys_tkill, PARTIAL, "as kill");

static long sys_tgkill(SYSARGS)
{
	long tgid = a0, tid = a1, sig = a2;
	if (tgid != 1)
		return -ESRCH;
	return sys_tkill(tid, sig, 0, 0, 0, 0);
}
SYSCALL_REGISTER(SYS_tgkill, sys_tgkill, PARTIAL, "as kill");

/*
 * What glibc's start-up and pthread_create ask for beside musl's calls.
 * set_robust_list is kept per thread; as the kernel never ends a thread
 * that holds a lock (a program ends whole), the list is never walked.
 * rseq and clone3 are unknown, as to Linux before 4.18 and 5.3: glibc then
 * goes without restartable sequences and falls back to clone.
 */
static long sys_set_robust_list(SYSARGS)
{
	long head = a0, len = a1;
	if (len != 3 * sizeof(long)) /* Linux's struct robust_list_head */
		return -EINVAL;
	curlwp()->robust_list = (void *)head;
	return 0;
}
SYSCALL_REGISTER(SYS_set_robust_list, sys_set_robust_list, PARTIAL,
    "kept per thread, never walked: a program's threads end together");

static long sys_get_robust_list(SYSARGS)
{
	long tid = a0, headp = a1, lenp = a2;
	if (tid && tid != curlwp()->tid)
		return -ESRCH;
	*(void **)headp = curlwp()->robust_list;
	*(size_t *)lenp = 3 * sizeof(long);
	return 0;
}
SYSCALL_REGISTER(SYS_get_robust_list, sys_get_robust_list, PARTIAL,
    "the calling thread's only (ESRCH for others)");

static long sys_enosys(SYSARGS) { return -ENOSYS; }
SYSCALL_REGISTER(SYS_rseq, sys_enosys, STUB,
    "ENOSYS without a notice, as Linux before 4.18: glibc goes without");
SYSCALL_REGISTER(SYS_clone3, sys_enosys, STUB,
    "ENOSYS without a notice, as Linux before 5.3: glibc falls back to clone");

/*
 * sigaltstack: kept per thread and reported back, as Linux does; the
 * kernel runs no signal handler yet, so it is never switched to.  (Go's
 * runtime sets one up for every thread and stops without it.)
 */
static long sys_sigaltstack(SYSARGS)
{
	long ss = a0, old = a1;
	struct lwp *l = curlwp();
	const stack_t *in = (const stack_t *)ss;

	if (old) {
		stack_t *out = (stack_t *)old;

		*out = l->altstack;
		if (!l->altstack.ss_sp && !l->altstack.ss_size)
			out->ss_flags = SS_DISABLE;
	}
	if (in) {
		int flags = in->ss_flags & ~SS_AUTODISARM;

		if (flags != 0 && flags != SS_DISABLE)
			return -EINVAL;
		if (flags == SS_DISABLE) {
			memset(&l->altstack, 0, sizeof(l->altstack));
			return 0;
		}
		if (in->ss_size < MINSIGSTKSZ)
			return -ENOMEM;
		l->altstack = *in;
		l->altstack.ss_flags = in->ss_flags & SS_AUTODISARM;
	}
	return 0;
}
SYSCALL_REGISTER(SYS_sigaltstack, sys_sigaltstack, PARTIAL,
    "kept and reported per thread; no handler runs on it yet");
