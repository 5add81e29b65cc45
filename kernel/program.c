/*
 * Programs: each baked app runs as a program with its own libc (renamed
 * apart by the bake), its own threads and descriptor table, over the one
 * shared kernel.  The configuration's "rc" says which programs run, in
 * what order and how (foreground, background, piped into the next); the
 * machine ends when every program has ended, with the status of the last
 * foreground one.
 */
#include <kernel/kernel.h>
#include <kernel/config.h>
#include <kernel/exec.h>
#include <kernel/file.h>
#include <kernel/net.h>
#include <kernel/program.h>
#include <kernel/vfs.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <elf.h>
#include <signal.h>
#include <sys/resource.h>
#include <rumprun_abi.h>

/* The baked apps and the image's default stack size (rumprun/toolchain/
 * linkobjs.py generates both). */
extern const struct baked_program rumprun_programs[] __attribute__((weak));
extern const unsigned long rumprun_stack_size __attribute__((weak));
_Static_assert(sizeof(struct baked_program) == RUMPRUN_PROGRAM_ENTRY_SIZE,
    "the bake writes RUMPRUN_PROGRAM_ENTRY_SIZE bytes per program");

#define DEFAULT_STACK_SIZE RUMPRUN_DEFAULT_STACK_SIZE /* Linux's RLIMIT_STACK */
#define MIN_STACK_SIZE RUMPRUN_MIN_STACK_SIZE

struct program {
	const struct baked_program *baked;
	int argc;
	char **argv;
	struct fdtable *fds;
	struct vmspace *vm;
	int threads; /* live threads */
	int ended, status;
	int signo; /* killed by this signal (a fault), else 0 */
	int released; /* its last thread is gone, and its memory */
	struct rlimit stack_limit; /* RLIMIT_STACK */
	struct k_sigaction sigactions[65];
	struct program *next;
};

static struct program *programs;
static int programs_started;
static int all_started; /* programs_run has started its last program */
static struct program *alone; /* the only program, run in the boot thread */
static struct rumpuser_mtx *lock;
static struct rumpuser_cv *ended_cv;
static size_t stack_size;
static int envc; /* the programs' environment: the configuration's */
static char **envp; /* and the defaults it does not override */

/* The environment a login shell would give, under the configuration's. */
static const char *const default_env[] = {"PATH=/bin:/usr/bin", "HOME=/"};

static void make_environment(void)
{
	const struct rumprun_config *cfg = config_get();
	size_t i;
	int j;

	if ((envp = kmalloc((cfg->envc + ARRAY_SIZE(default_env) + 1) * sizeof(char *))) == NULL)
		panic("no memory for the environment");
	for (j = 0; j < cfg->envc; j++)
		envp[envc++] = cfg->envp[j];
	for (i = 0; i < ARRAY_SIZE(default_env); i++) {
		size_t name = strchr(default_env[i], '=') - default_env[i] + 1;

		for (j = 0; j < cfg->envc && strncmp(cfg->envp[j], default_env[i], name); j++)
			;
		if (j == cfg->envc)
			envp[envc++] = (char *)default_env[i];
	}
	envp[envc] = NULL;
}

static const struct baked_program *find_baked(const char *name)
{
	const struct baked_program *b;

	for (b = rumprun_programs; b && b->name; b++)
		if (!strcmp(b->name, name))
			return b;
	return NULL;
}

/* The main thread's stack: the configuration's "stack" (launch time),
 * else the bake's (rumprun-bake --stack), else 8 MiB. */
static size_t configured_stack_size(void)
{
	const struct config_node *v = config_member(config_root(), "stack");
	unsigned long n = 0, unit = 1;
	const char *s;

	if (!v)
		return &rumprun_stack_size ? rumprun_stack_size : DEFAULT_STACK_SIZE;
	if (v->type != CONFIG_STRING && v->type != CONFIG_NUMBER)
		config_bad("stack", "a size: bytes with an optional K, M or G suffix");
	for (s = v->str; *s >= '0' && *s <= '9' && n < (1UL << 50); s++)
		n = n * 10 + (*s - '0');
	switch (*s) {
	case 'k':
	case 'K':
		unit = 1UL << 10;
		s++;
		break;
	case 'm':
	case 'M':
		unit = 1UL << 20;
		s++;
		break;
	case 'g':
	case 'G':
		unit = 1UL << 30;
		s++;
		break;
	}
	if (s == v->str || *s || n > (1UL << 40) / unit || n * unit < MIN_STACK_SIZE)
		config_bad("stack",
		    "a size of at least 64K: bytes with an optional K, M or "
		    "G suffix (\"8M\")");
	return ROUNDUP(n * unit, PAGE_SIZE);
}

struct k_sigaction *program_sigactions(struct program *p) { return p->sigactions; }

size_t program_stack_size(void)
{
	struct rlimit rl;

	program_stack_limit(&rl);
	return rl.rlim_cur;
}

void program_stack_limit(struct rlimit *rl)
{
	struct lwp *l = curlwp();

	if (l && l->prog) {
		*rl = l->prog->stack_limit;
	} else {
		rl->rlim_cur = stack_size ? stack_size : DEFAULT_STACK_SIZE;
		rl->rlim_max = RLIM_INFINITY;
	}
}

/* As on Linux, the main stack may grow to a raised limit: as far as the
 * room below it goes, and no further than memory could back (so "no
 * limit" reserves the machine's memory size, not the address space).  A
 * lowered limit leaves what is mapped alone. */
long program_set_stack_limit(const struct rlimit *rl)
{
	struct lwp *l = curlwp();
	struct program *p = l ? l->prog : NULL;
	unsigned long memory = param_number(RUMPRUN_PARAM_MEMSIZE);

	if (rl->rlim_cur > rl->rlim_max)
		return -EINVAL;
	if (!p)
		return -EPERM;
	vm_stack_grow(p->vm, rl->rlim_cur < memory ? rl->rlim_cur : memory);
	p->stack_limit = *rl;
	return 0;
}

/*
 * The Linux initial stack below top: argc, argv[], NULL, envp[], NULL,
 * auxv pairs, AT_NULL; the strings, AT_RANDOM's 16 bytes and AT_PLATFORM's
 * and AT_EXECFN's strings above them.  musl walks from argv to envp to
 * auxv, so they must be contiguous.  exe: the loaded static executable's
 * headers and entry (else the image's TLS template is AT_PHDR's).
 */
#define AUX_PAIRS 18
static const char platform_name[] = "x86_64";

static long *initial_stack(char *top, int argc, char **argv, int envc, char **envp,
    const char *execfn, const struct exec_image *exe)
{
	char *strp, *platform, *fn;
	long *sp;
	uint8_t *random;
	const void *phdrs;
	int phnum, phent, i, n, nstrs = argc + envc;
	size_t strbytes = 0;
	rumpuser_size_t got;

	random = (uint8_t *)(top - 16);
	rumpuser_getrandom(random, 16, 0, &got);
	platform = (char *)random - sizeof(platform_name);
	memcpy(platform, platform_name, sizeof(platform_name));
	fn = platform - (strlen(execfn) + 1);
	memcpy(fn, execfn, strlen(execfn) + 1);
	for (i = 0; i < nstrs; i++)
		strbytes += strlen(i < argc ? argv[i] : envp[i - argc]) + 1;
	strp = fn - strbytes;
	if (exe) {
		phdrs = (const void *)exe->phdr;
		phnum = exe->phnum;
		phent = exe->phent;
	} else {
		phdrs = rumpuser_ext_image_phdrs(&phnum, &phent);
	}
	n = 1 + argc + 1 + envc + 1 + 2 * AUX_PAIRS;
	sp = (long *)(((uintptr_t)strp & ~15UL) - ROUNDUP(n * sizeof(long), 16));
	i = 0;
	sp[i++] = argc;
	for (n = 0; n < nstrs; n++) {
		const char *s = n < argc ? argv[n] : envp[n - argc];
		size_t len = strlen(s) + 1;

		if (n == argc)
			sp[i++] = 0; /* the end of argv */
		sp[i++] = (long)memcpy(strp, s, len);
		strp += len;
	}
	if (nstrs == argc)
		sp[i++] = 0;
	sp[i++] = 0;
#define AUX(t, v) (sp[i++] = (t), sp[i++] = (long)(v))
	AUX(AT_PHDR, phdrs);
	AUX(AT_PHENT, phent);
	AUX(AT_PHNUM, phnum);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_BASE, 0); /* no program interpreter */
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, exe ? exe->entry : 0);
	AUX(AT_CLKTCK, 100);
	AUX(AT_RANDOM, random);
	AUX(AT_PLATFORM, platform);
	AUX(AT_EXECFN, fn);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_HWCAP, 0); /* libcs ask cpuid themselves */
	AUX(AT_NULL, 0);
#undef AUX
	return sp;
}

/* What initial_stack puts on the stack, in bytes (with its alignment). */
static size_t initial_stack_bytes(int argc, char **argv, int envc, char **envp, const char *execfn)
{
	size_t n = 16 + sizeof(platform_name) + strlen(execfn) + 1 + 16 +
	    (1 + argc + 1 + envc + 1 + 2 * AUX_PAIRS + 2) * sizeof(long);
	int i;

	for (i = 0; i < argc + envc; i++)
		n += strlen(i < argc ? argv[i] : envp[i - argc]) + 1;
	return n;
}

/* On the app's stack: hand over to the app's own musl start-up. */
static void program_entry(void)
{
	struct program *p = curlwp()->prog;

	p->baked->libc_start(p->baked->main, p->argc, p->argv, 0, 0, 0);
	panic("__libc_start_main of %s returned", p->baked->name);
}

/* A static executable that cannot run: one console line, and the program
 * ends as a shell's "cannot execute" (126). */
static void __attribute__((noreturn)) exec_failed(struct program *p, const char *why)
{
	kprintf("rumprun: cannot run %s: %s\n", p->baked->name, why);
	program_exit(126);
}

/* The program's first thread: a static executable's segments, its stack
 * (the arguments and environment on top of the configured size, committed
 * as it is touched), then the app's start-up or the executable's entry. */
static void *program_thread(void *arg)
{
	struct program *p = arg;
	const struct baked_program *b = p->baked;
	/* AT_EXECFN: the path a shell would have run it by */
	char execfn[sizeof("/bin/") + 64];
	struct exec_image exe;
	size_t args;
	uintptr_t top;
	struct lwp *l;
	const char *why;
	long *sp;
	long rv;

	if ((l = lwp_new()) == NULL)
		panic("no memory for %s's first thread", b->name);
	l->prog = p;
	l->fds = p->fds;
	l->vm = p->vm;
	strncpy(l->comm, p->baked->name, sizeof(l->comm) - 1);
	rumpuser_curlwpop(RUMPUSER_LWP_SET, l);
	strcpy(execfn, "/bin/");
	strncat(execfn, b->name, sizeof(execfn) - sizeof("/bin/"));
	if (b->exe) {
		if ((why = exec_check(b->exe, b->exe_end - b->exe)) != NULL)
			exec_failed(p, why);
		if ((rv = exec_load(p->vm, b->exe, b->exe_end - b->exe, &exe)) < 0)
			exec_failed(p,
			    rv == -ENOMEM ? "no memory for its segments, or another "
			                    "program's memory is where it must be loaded"
			                  : "its segments cannot be mapped where it is linked");
	}
	args = ROUNDUP(initial_stack_bytes(p->argc, p->argv, envc, envp, execfn), PAGE_SIZE);
	if (vm_stack(p->vm, stack_size + args, &top) < 0)
		panic("no room for %s's stack (%lu KiB and %lu KiB of arguments)", b->name,
		    (unsigned long)(stack_size >> 10), (unsigned long)(args >> 10));
	sp = initial_stack((char *)top, p->argc, p->argv, envc, envp, execfn, b->exe ? &exe : NULL);
	/* musl reads argv from the initial stack */
	p->argv = (char **)&sp[1];
	if (b->exe)
		rumpuser_ext_app_exec(sp, (void *)exe.entry);
	rumpuser_ext_app_start(sp, program_entry);
}

/*
 * Every run of a program starts from its pristine data: the bake keeps each
 * app's .data and .bss apart (struct baked_program), the first run of a
 * program that the rc runs again keeps a copy of its .data, and later runs
 * get it back and a zeroed .bss, once the previous run's last thread is
 * gone.  Two runs of one program cannot overlap: they would share it.
 */
struct baked_state {
	char *pristine; /* the copy of .data, NULL until taken */
	struct program *last; /* the latest run */
};
static struct baked_state *baked_state;

static int rc_runs(const char *name)
{
	const struct rumprun_config *cfg = config_get();
	int i, n = 0;

	for (i = 0; i < cfg->nrc; i++)
		n += !strcmp(cfg->rc[i].bin, name);
	return n;
}

static void fresh_data(const struct baked_program *b)
{
	struct baked_state *st = &baked_state[b - rumprun_programs];
	size_t len = b->data_end - b->data;

	if (st->last) {
		if (!st->last->ended) {
			kprintf("rumprun: cannot start %s again while its previous run is still "
			        "running: the runs of one program share its data (bake a copy of "
			        "it under another name to run both at once)\n",
			    b->name);
			rumpuser_exit(1);
		}
		rumpuser_mutex_enter(lock);
		while (!st->last->released)
			rumpuser_cv_wait(ended_cv, lock);
		rumpuser_mutex_exit(lock);
		memcpy(b->data, st->pristine, len);
		memset(b->bss, 0, b->bss_end - b->bss);
	} else if (rc_runs(b->name) > 1 && len) {
		if ((st->pristine = kmalloc(len)) == NULL)
			panic("no memory to keep %s's data (%lu KiB) for its next run", b->name,
			    (unsigned long)(len >> 10));
		memcpy(st->pristine, b->data, len);
	}
}

/* A program's state, not started yet. */
static struct program *program_new(
    const struct baked_program *b, int argc, char **argv, struct fdtable *fds)
{
	struct program *p = kzalloc(sizeof(*p));

	if (!p)
		panic("no memory to start %s", b->name);
	fresh_data(b);
	baked_state[b - rumprun_programs].last = p;
	p->baked = b;
	p->argc = argc;
	p->argv = argv;
	p->fds = fds;
	p->threads = 1;
	p->stack_limit.rlim_cur = stack_size;
	p->stack_limit.rlim_max = RLIM_INFINITY;
	if ((p->vm = vmspace_new()) == NULL)
		panic("no memory to start %s", b->name);
	p->next = programs;
	programs = p;
	programs_started++;
	return p;
}

static struct program *program_start(
    const struct baked_program *b, int argc, char **argv, struct fdtable *fds)
{
	struct program *p = program_new(b, argc, argv, fds);

	if (rumpuser_thread_create(program_thread, p, b->name, 0, -1, -1, NULL))
		panic("no memory to start %s", b->name);
	return p;
}

static void wait_for(struct program *p)
{
	rumpuser_mutex_enter(lock);
	while (!p->ended)
		rumpuser_cv_wait(ended_cv, lock);
	rumpuser_mutex_exit(lock);
}

static const struct baked_program *need_baked(const char *name)
{
	const struct baked_program *b = find_baked(name);
	const struct baked_program *e;

	if (b)
		return b;
	kprintf("rumprun: bad configuration: no program \"%s\" in this image (it has:", name);
	for (e = rumprun_programs; e && e->name; e++)
		kprintf(" %s", e->name);
	kprintf(")\n");
	rumpuser_exit(1);
}

/* Every program ended: let the network deliver what they sent, write the
 * volumes back and unmount them, then end; as a crash when the status is
 * that of a program a fault killed (its report is on the console). */
static void __attribute__((noreturn)) machine_end(struct program *last)
{
	net_quiesce();
	vfs_unmount_all();
	if (last && last->signo)
		rumpuser_ext_fatal_signal(last->signo, NULL);
	rumpuser_exit(last ? last->status : 0);
}

void programs_run(void)
{
	const struct rumprun_config *cfg = config_get();
	struct file *pipe_reader = NULL;
	struct program *p, *last_fg = NULL;
	int i;

	if (!rumprun_programs || !rumprun_programs[0].name)
		panic("this image has no programs (bake it with rumprun-bake)");
	rumpuser_mutex_init(&lock, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&ended_cv);
	stack_size = configured_stack_size();
	make_environment();
	for (i = 0; rumprun_programs[i].name; i++)
		;
	if ((baked_state = kzalloc(i * sizeof(*baked_state))) == NULL)
		panic("no memory for the programs");

	if (cfg->nrc == 0 && !rumprun_programs[1].name) {
		/* One program and no rc: it runs in this thread rather than in a
		 * new one that this one waits for, and its exit ends the machine
		 * (program_exit).  A short program's boot then runs no scheduler
		 * code at all: under QEMU's TCG, first-run code is what a boot
		 * costs (benchmarks/README.md, microvm). */
		struct fdtable *fds = fdtable_copy(fdtable_boot());

		if (!fds)
			panic("no memory for descriptors");
		all_started = 1;
		alone = program_new(rumprun_programs, cfg->argc, cfg->argv, fds);
		rumpuser_ext_thread_rename(alone->baked->name);
		program_thread(alone);
		__builtin_unreachable();
	}
	if (cfg->nrc == 0) {
		/* No rc: every baked app in order, in the foreground; the command
		 * line goes to the first. */
		const struct baked_program *b;

		for (b = rumprun_programs; b->name; b++) {
			static char *name_only[2];
			int first = b == rumprun_programs;
			struct fdtable *fds = fdtable_copy(fdtable_boot());

			if (!fds)
				panic("no memory for descriptors");
			name_only[0] = (char *)b->name;
			all_started = !b[1].name;
			last_fg = program_start(
			    b, first ? cfg->argc : 1, first ? cfg->argv : name_only, fds);
			wait_for(last_fg);
		}
		machine_end(last_fg);
	}

	for (i = 0; i < cfg->nrc; i++) {
		const struct rc_entry *rc = &cfg->rc[i];
		const struct baked_program *b = need_baked(rc->bin);
		struct fdtable *fds = fdtable_copy(fdtable_boot());

		if (!fds)
			panic("no memory for descriptors");
		if (pipe_reader) {
			fdtable_install_at(fds, pipe_reader, 0);
			pipe_reader = NULL;
		}
		if (rc->mode == RC_PIPE) {
			int pfd[2];
			long args[6] = {(long)pfd, 0};
			struct file *w;

			if (syscall_dispatch(SYS_pipe2, args) < 0)
				panic("cannot make a pipe for %s", rc->bin);
			pipe_reader = fd_get(pfd[0]);
			w = fd_get(pfd[1]);
			fd_close(pfd[0]);
			fd_close(pfd[1]);
			fdtable_install_at(fds, w, 1);
		}
		all_started = i == cfg->nrc - 1;
		p = program_start(b, rc->argc, rc->argv, fds);
		if (rc->mode == RC_FOREGROUND) {
			wait_for(p);
			last_fg = p;
		}
	}
	for (p = programs; p; p = p->next)
		wait_for(p);
	machine_end(last_fg);
}

void program_thread_new(struct program *p) { p->threads++; }

int program_threads(struct program *p) { return p->threads; }

/* How many programs have ended: lets the system call path skip the
 * per-thread check while none has. */
int programs_ended;

int program_ended(void)
{
	struct lwp *l;

	if (!programs_ended)
		return 0;
	l = curlwp();
	return l && l->prog && l->prog->ended;
}

void program_thread_exit(void)
{
	struct lwp *l = curlwp();
	struct program *p = l->prog;

	rumpuser_curlwpop(RUMPUSER_LWP_CLEAR, NULL);
	kfree(l, sizeof(*l));
	if (p && --p->threads == 0) {
		/* Nothing runs the program's code any more: its memory and its
		 * descriptor table go. */
		vmspace_destroy(p->vm);
		p->vm = NULL;
		fdtable_free(p->fds);
		p->fds = NULL;
		rumpuser_mutex_enter(lock);
		p->released = 1;
		rumpuser_cv_broadcast(ended_cv);
		rumpuser_mutex_exit(lock);
	}
	rumpuser_thread_exit();
}

/* p ends with status (killed by signo, or 0), unless it has already. */
static void program_end(struct program *p, int status, int signo)
{
	rumpuser_mutex_enter(lock);
	if (!p->ended) {
		p->ended = 1;
		programs_ended++;
		p->status = status & 0xff;
		p->signo = signo;
		fdtable_close_all(p->fds); /* pipes see end of file */
		rumpuser_cv_broadcast(ended_cv);
	}
	rumpuser_mutex_exit(lock);
	/* Threads waiting on futexes come out now and follow. */
	futex_wake_program(p);
}

int program_kill(int signo)
{
	struct lwp *l = curlwp();

	if (!l || !l->prog)
		return -1;
	program_end(l->prog, 128 + signo, signo);
	return 0;
}

void program_exit(int status)
{
	struct lwp *l = curlwp();
	struct program *p = l->prog;

	if (!p)
		rumpuser_exit(status);
	program_end(p, status, 0);
	if (p == alone)
		machine_end(p);
	/* The last program to end: programs_run ends the machine as soon as
	 * it runs, so let it run before this program's memory is torn down
	 * for nobody (a millisecond of every boot under QEMU's TCG). */
	if (all_started && programs_ended == programs_started)
		rumpuser_ext_yield();
	program_thread_exit();
}

/*
 * hyp_ext_fault: the calling thread's app code faulted (the platform has
 * printed the report).  Its program dies as Linux kills a process on a
 * fault, with status 128 + signo; the machine's other programs go on, and
 * the machine ends as usual when the last one has ended (volumes written
 * back and unmounted).  Kernel threads have no program: the platform then
 * ends the machine.
 */
void program_fault(int signo)
{
	if (program_kill(signo) == 0)
		program_exit(0);
}

/*
 * Shutting the machine down at the host's request (the launcher's Ctrl-C,
 * `rumprun stop`): a kernel thread of its own writes the volumes back,
 * unmounts them and powers off with 128 + signo, as a shell shows a
 * program killed by that signal.  From then on no program code runs: a
 * thread that enters or leaves a system call, or is preempted in its own
 * code, is parked (it holds no kernel lock there).
 */
static int shutdown_signo;

int machine_stopping;

void machine_park(void)
{
	for (;;)
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 3600, 0);
}

static void *shutdown_thread(void *arg)
{
	(void)arg;
	kprintf("rumprun: shutdown requested: syncing volumes\n");
	vfs_unmount_all();
	rumpuser_exit(128 + shutdown_signo);
}

void machine_shutdown(int signo)
{
	if (shutdown_signo)
		return; /* asked twice: the first is under way */
	if (signo < 1 || signo > 64)
		signo = SIGTERM;
	shutdown_signo = signo;
	machine_stopping = 1;
	if (rumpuser_thread_create(shutdown_thread, NULL, "shutdown", 0, -1, -1, NULL) != 0) {
		kprintf("rumprun: shutdown requested: no memory to sync the volumes\n");
		rumpuser_exit(128 + signo);
	}
}

/* hyp_ext_preempted: app code gave the CPU up at an interrupt and has it
 * back.  It goes on unless the machine is stopping or its program ended. */
void program_preempted(void)
{
	if (machine_stopping)
		machine_park();
	if (program_ended())
		program_exit(0);
}
