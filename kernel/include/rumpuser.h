/*
 * The hypercall interface: everything a kernel component may ask of the
 * platform below it.  Names, signatures and semantics follow NetBSD's
 * rumpuser(3), interface version 17, for the calls this project uses; the
 * project's own additions are grouped at the end under "platform
 * extensions" and carry the rumpuser_ext_ prefix.
 *
 * Every call that returns int returns 0 on success or a positive errno
 * value (never -1 and errno).  Kernel components include only this header
 * from the platform side; platforms implement it, one file per group
 * (rumpuser_mem.c, rumpuser_clock.c, rumpuser_thread.c, ...).
 *
 * This header includes nothing, on purpose: it is the whole contract.
 *
 * Concurrency: every platform runs kernel code on one (virtual) CPU.  At
 * most one thread runs kernel code at a time, and the running thread
 * changes only inside a rumpuser call that blocks: a mutex or rwlock that
 * is taken, a condition variable wait, rumpuser_clock_sleep,
 * rumpuser_thread_join, rumpuser_ext_yield (and the app's own code, which
 * runs until its next system call on bare metal).  Kernel code between two
 * such calls is therefore atomic with respect to other kernel threads, and
 * a wake-up cannot slip between releasing a lock and sleeping.  Interrupts
 * never run kernel code: they only wake threads.  The hw and xen platforms
 * get this from the cooperative scheduler (platform/bmk); the posix
 * platform from one lock, the virtual CPU, that a host thread holds while
 * it runs kernel code (platform/posix/rumprun_posix.h), so kernel
 * components tested there run the way they run on bare metal.  A platform
 * thread that calls into the kernel (an upcall, a biodone) holds the CPU.
 */
#ifndef RUMPUSER_H
#define RUMPUSER_H

#define RUMPUSER_VERSION 17

typedef __SIZE_TYPE__ rumpuser_size_t;
typedef __INT64_TYPE__ rumpuser_int64_t;
struct lwp;

/*
 * Upcalls: functions the kernel hands to the platform at rumpuser_init().
 * The platform calls them, and only them, to enter the kernel.
 *
 * hyp_schedule/hyp_unschedule: the platform calls unschedule before a
 *   wrapped call blocks the calling thread and schedule after it wakes up
 *   (the _nowrap calls skip them).  The one-CPU model above already makes
 *   kernel code atomic between blocking calls, so our kernel leaves them
 *   NULL; they are there for kernel code that wants its own CPU lock.
 * hyp_syscall(num, args, retval): serve system call num (Linux x86_64
 *   numbering) with the six arguments in args (long[6]).  Returns 0 and the
 *   result in retval[0], or a positive errno value.
 * hyp_lwpexit: called when a thread created by rumpuser_thread_create()
 *   returns from its function.
 *
 * Our extensions, in two of NetBSD's spare slots (the table keeps its
 * size); either may be NULL, and the platform then acts alone:
 * hyp_ext_fault(signo): the calling thread's application code hit a
 *   fatal fault (a trap that is not the kernel's), already reported on
 *   the console.  Called on the thread's kernel stack, as a system call
 *   would run, never for a fault inside the kernel (the platform reports
 *   those and ends the machine without entering the kernel again).  The
 *   kernel ends the thread's program as the signal signo would; it
 *   returns only when it cannot (no program is running there), and the
 *   platform then ends the machine with status 128 + signo.
 * hyp_ext_preempted(): the calling thread's application code was
 *   interrupted because an interrupt waited for the CPU (it had run on
 *   without blocking), and the thread has now been given the CPU back.
 *   The kernel may end or park the thread here (its program was ended, the
 *   machine is shutting down); when it returns the application resumes
 *   where it was, all its registers intact.
 */
struct rumpuser_hyperup {
	void (*hyp_schedule)(void);
	void (*hyp_unschedule)(void);
	void (*hyp_backend_unschedule)(int, int *, void *);
	void (*hyp_backend_schedule)(int, void *);
	void (*hyp_lwproc_switch)(struct lwp *);
	void (*hyp_lwproc_release)(void);
	int (*hyp_lwproc_rfork)(void *, int, const char *);
	int (*hyp_lwproc_newlwp)(int);
	struct lwp *(*hyp_lwproc_curlwp)(void);
	int (*hyp_syscall)(int, void *, long *);
	void (*hyp_lwpexit)(void);
	void (*hyp_execnotify)(const char *);
	int (*hyp_getpid)(void);
	void (*hyp_ext_fault)(int);
	void (*hyp_ext_preempted)(void);
	void *hyp__extra[6];
};

/* Init.  Returns 0, or an errno value if version does not match. */
int rumpuser_init(int version, const struct rumpuser_hyperup *hyp);

/*
 * Memory.
 * rumpuser_malloc: allocate howmuch bytes aligned to alignment (a power of
 *   two, 0 means the platform's natural alignment).  Requests of whole pages
 *   aligned to a page come from the page allocator.  Returns 0, or ENOMEM
 *   when the memory is exhausted (never blocks, never panics).  The memory
 *   is not zeroed.
 * rumpuser_free: release memory from rumpuser_malloc; len is the size that
 *   was asked for.  Page-allocated ranges may be released in page-sized
 *   parts (any page-aligned sub-range of an earlier allocation).
 */
int rumpuser_malloc(rumpuser_size_t howmuch, int alignment, void **memp);
void rumpuser_free(void *mem, rumpuser_size_t len);

/*
 * Clock.
 * RUMPUSER_CLOCK_RELWALL: wall time (seconds since the epoch) for
 *   clock_gettime; a relative duration for clock_sleep.
 * RUMPUSER_CLOCK_ABSMONO: monotonic time since boot for clock_gettime; an
 *   absolute monotonic deadline for clock_sleep.
 * rumpuser_clock_gettime returns 0 or EINVAL for an unknown clock.
 * rumpuser_clock_sleep blocks the calling thread (other threads run) and
 *   returns 0 when the time has passed, or EINVAL.
 */
enum rumpclock { RUMPUSER_CLOCK_RELWALL, RUMPUSER_CLOCK_ABSMONO };
int rumpuser_clock_gettime(int clock, rumpuser_int64_t *sec, long *nsec);
int rumpuser_clock_sleep(int clock, rumpuser_int64_t sec, long nsec);

/*
 * Parameters: copy the value of a named parameter, NUL-terminated, into
 * buf.  Returns 0, ENOENT for an unknown name, or E2BIG when buf (blen
 * bytes) cannot hold the value and its NUL.
 */
#define RUMPUSER_PARAM_NCPU "_RUMPUSER_NCPU"
#define RUMPUSER_PARAM_HOSTNAME "_RUMPUSER_HOSTNAME"
int rumpuser_getparam(const char *name, void *buf, rumpuser_size_t blen);

/* Console: one character, or a formatted line (%s %d %u %x %lx %ld %lu %p %c %%, widths and 0-padding). */
void rumpuser_putchar(int ch);
void rumpuser_dprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Exit: end the whole machine with the given status (0-255).  The platform
 * prints the status on the console and stops.  RUMPUSER_PANIC means the
 * kernel gave up; the platform reports a panic and ends with status 1.
 * Never returns.
 */
#define RUMPUSER_PANIC (-1)
void rumpuser_exit(int value) __attribute__((noreturn));

/*
 * Random: fill buf with up to buflen random bytes and set *retp to how many
 * were written.  RUMPUSER_RANDOM_HARD asks for hardware-quality entropy,
 * RUMPUSER_RANDOM_NOWAIT forbids blocking.  Returns 0.
 */
#define RUMPUSER_RANDOM_HARD 0x01
#define RUMPUSER_RANDOM_NOWAIT 0x02
int rumpuser_getrandom(void *buf, rumpuser_size_t buflen, int flags, rumpuser_size_t *retp);

/*
 * Threads.
 * rumpuser_thread_create: start f(arg) in a new thread named name.
 *   mustjoin != 0 means rumpuser_thread_join() will be called on *cookie.
 *   priority and cpuidx are hints (-1: none).  Returns 0 or EAGAIN/ENOMEM.
 *   The new thread runs when the caller next blocks or yields.
 * rumpuser_thread_exit: end the calling thread.  Never returns.
 * rumpuser_thread_join: wait for a mustjoin thread to exit.  Returns 0.
 * rumpuser_curlwpop / rumpuser_curlwp: the platform keeps one kernel
 *   "lwp" pointer per thread: RUMPUSER_LWP_SET binds l to the calling
 *   thread, RUMPUSER_LWP_CLEAR unbinds it; CREATE and DESTROY are notices.
 */
int rumpuser_thread_create(void *(*f)(void *), void *arg, const char *name, int mustjoin,
    int priority, int cpuidx, void **cookie);
void rumpuser_thread_exit(void) __attribute__((noreturn));
int rumpuser_thread_join(void *cookie);
enum rumplwpop { RUMPUSER_LWP_CREATE, RUMPUSER_LWP_DESTROY, RUMPUSER_LWP_SET, RUMPUSER_LWP_CLEAR };
void rumpuser_curlwpop(int op, struct lwp *l);
struct lwp *rumpuser_curlwp(void);

/*
 * Locks.  Mutexes are not recursive; entering a mutex the caller holds is a
 * bug the platform may report as a panic.  Blocking in _enter lets other
 * threads run.  _tryenter returns 0 or EBUSY.  _owner sets *lp to the
 * owner's lwp (NULL when free).
 */
#define RUMPUSER_MTX_SPIN 0x01
#define RUMPUSER_MTX_KMUTEX 0x02
struct rumpuser_mtx;
void rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags);
void rumpuser_mutex_enter(struct rumpuser_mtx *mtx);
void rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *mtx);
int rumpuser_mutex_tryenter(struct rumpuser_mtx *mtx);
void rumpuser_mutex_exit(struct rumpuser_mtx *mtx);
void rumpuser_mutex_destroy(struct rumpuser_mtx *mtx);
void rumpuser_mutex_owner(struct rumpuser_mtx *mtx, struct lwp **lp);

/*
 * Reader/writer locks.  _tryenter and _tryupgrade return 0 or EBUSY; _held
 * sets *held to whether the caller holds the lock in that mode (for
 * readers the platform may answer "some reader holds it").
 */
enum rumprwlock { RUMPUSER_RW_READER, RUMPUSER_RW_WRITER };
struct rumpuser_rw;
void rumpuser_rw_init(struct rumpuser_rw **rwp);
void rumpuser_rw_enter(int enum_rumprwlock, struct rumpuser_rw *rw);
int rumpuser_rw_tryenter(int enum_rumprwlock, struct rumpuser_rw *rw);
int rumpuser_rw_tryupgrade(struct rumpuser_rw *rw);
void rumpuser_rw_downgrade(struct rumpuser_rw *rw);
void rumpuser_rw_exit(struct rumpuser_rw *rw);
void rumpuser_rw_destroy(struct rumpuser_rw *rw);
void rumpuser_rw_held(int enum_rumprwlock, struct rumpuser_rw *rw, int *held);

/*
 * Condition variables.  _wait releases mtx, blocks, and re-enters mtx.
 * _timedwait waits at most sec/nsec (relative) and returns 0 when signalled
 * or ETIMEDOUT.  _has_waiters sets *nwaiters to the number of waiters.
 */
struct rumpuser_cv;
void rumpuser_cv_init(struct rumpuser_cv **cvp);
void rumpuser_cv_destroy(struct rumpuser_cv *cv);
void rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);
void rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx);
int rumpuser_cv_timedwait(
    struct rumpuser_cv *cv, struct rumpuser_mtx *mtx, rumpuser_int64_t sec, rumpuser_int64_t nsec);
void rumpuser_cv_signal(struct rumpuser_cv *cv);
void rumpuser_cv_broadcast(struct rumpuser_cv *cv);
void rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *nwaiters);

/*
 * ----------------------------------------------------------------------
 * Platform extensions: what rumpuser has no call for.
 * ----------------------------------------------------------------------
 */

/*
 * Boot.  The platform, once its own set-up is done, calls
 * rumprun_kernel_main() (defined by the kernel) in a thread of its own.
 * It must not return: the kernel ends the machine with rumpuser_exit().
 */
void rumprun_kernel_main(void) __attribute__((noreturn));

/*
 * Parameters the bare-metal platforms provide to rumpuser_getparam():
 * RUMPRUN_PARAM_CONFIG: the unikernel's JSON configuration (the first
 *   multiboot module when there is one, else the command line from its
 *   first '{'); ENOENT when there is none.
 * RUMPRUN_PARAM_CONFIG_SIZE: its length in bytes, in decimal.
 * RUMPRUN_PARAM_MEMSIZE: usable memory in bytes, in decimal.
 * RUMPRUN_PARAM_MEMFREE: memory not allocated now, in bytes, in decimal.
 * RUMPRUN_PARAM_IMAGE: the image's name (the kernel file's path as the
 *   boot loader gave it), or ENOENT.
 */
#define RUMPRUN_PARAM_CONFIG "RUMPRUN_CONFIG"
#define RUMPRUN_PARAM_CONFIG_SIZE "RUMPRUN_CONFIG_SIZE"
#define RUMPRUN_PARAM_MEMSIZE "RUMPRUN_MEMSIZE"
#define RUMPRUN_PARAM_MEMFREE "RUMPRUN_MEMFREE"
#define RUMPRUN_PARAM_IMAGE "RUMPRUN_IMAGE"

/*
 * Boot modules other than the configuration (the disk images `rumprun
 * iso` packs: GRUB's multiboot modules after config.json): module index
 * (from 0) is *len bytes at *addr, in memory the platform never reuses
 * (the kernel may read and write it), and *name is its command line
 * ("images/data.img"; "" when it has none).  Returns 0, or ENOENT when
 * there is no module index.
 */
int rumpuser_ext_bootmodule(int index, const char **name, void **addr, rumpuser_size_t *len);

/*
 * Memory protection of whole pages (mprotect, guard pages): prot is a
 * combination of the RUMPUSER_PROT_* bits; 0 makes the pages inaccessible,
 * so touching them faults.  Memory from rumpuser_malloc starts readable,
 * writable and executable; give it back that way before rumpuser_free.
 * Returns 0, or EINVAL for an unaligned range.  A platform without page
 * protection returns 0 and changes nothing.
 */
#define RUMPUSER_PROT_READ 0x1
#define RUMPUSER_PROT_WRITE 0x2
#define RUMPUSER_PROT_EXEC 0x4
#define RUMPUSER_PROT_DEFAULT (RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE | RUMPUSER_PROT_EXEC)
int rumpuser_ext_protect(void *addr, rumpuser_size_t len, int prot);

/*
 * Application memory, page by page: the kernel decides where programs'
 * mappings go; the platform backs each page on its own (no physically
 * contiguous memory needed).  All addresses and lengths page aligned.
 *
 * rumpuser_ext_vm_area: the range [*base, *base + *len) in which the
 *   kernel places programs' mappings (mmap, brk, stacks).  Other ranges
 *   may be mapped at fixed addresses where rumpuser_ext_vm_map accepts
 *   them (static executables link at 0x400000 and the like).
 * rumpuser_ext_vm_map: replace whatever is mapped at [addr, addr + len)
 *   with fresh zero-filled pages of protection prot (RUMPUSER_PROT_*).
 *   With RUMPUSER_VM_LAZY no page is taken now: each is committed at its
 *   first touch, and a touch when memory is exhausted ends the machine
 *   with an out-of-memory report.  Without it every page is taken now.
 *   Returns 0; EINVAL for an unaligned range or one programs may not use
 *   (the null guard, the image, the kernel's memory); ENOMEM when pages or
 *   page tables run out (the range may then be left unmapped).
 * rumpuser_ext_vm_map_page: map one kernel page (a whole page from
 *   rumpuser_malloc) at addr as well, shared: unmapping does not free it.
 *   0, EINVAL, ENOMEM.
 * rumpuser_ext_vm_unmap: unmap [addr, addr + len); the pages that
 *   rumpuser_ext_vm_map took go back to the free memory.  0 or EINVAL.
 * rumpuser_ext_vm_move: move the pages of [from, from + len) to
 *   [to, to + len) (not overlapping), replacing what was mapped there;
 *   from is left unmapped.  0, EINVAL, ENOMEM (nothing changed).
 * rumpuser_ext_protect above changes the protection of mapped pages (a
 * lazily committed page stays lazy).
 */
#define RUMPUSER_VM_LAZY 0x01
void rumpuser_ext_vm_area(void **base, rumpuser_size_t *len);
int rumpuser_ext_vm_map(void *addr, rumpuser_size_t len, int prot, int flags);
int rumpuser_ext_vm_map_page(void *addr, void *page, int prot);
int rumpuser_ext_vm_unmap(void *addr, rumpuser_size_t len);
int rumpuser_ext_vm_move(void *from, void *to, rumpuser_size_t len);

/* Thread-local storage: the calling thread's TLS base (FS base on x86_64),
 * kept per thread across switches. */
void rumpuser_ext_set_tls(void *base);
void *rumpuser_ext_get_tls(void);

/* rumpuser_dprintf with a va_list, so kernel code can wrap it. */
void rumpuser_ext_vdprintf(const char *fmt, __builtin_va_list ap);

/* Give up the processor to other runnable threads; returns when the
 * caller is scheduled again. */
void rumpuser_ext_yield(void);

/* Rename the calling thread (reports name threads: the deadlock report,
 * the watchdog); name is copied, cut to what the platform keeps. */
void rumpuser_ext_thread_rename(const char *name);

/*
 * Fork the application context being served by the current system call
 * (clone): a new thread starts in start(arg) on a kernel stack of its own;
 * when start returns, the thread resumes the application just after the
 * system call instruction with the result register 0, the stack pointer
 * set to stack and the TLS base set to tls, all other registers as the
 * caller had them.  Returns 0, or EAGAIN/ENOMEM.
 */
int rumpuser_ext_app_fork(void *stack, void *tls, void (*start)(void *), void *arg);

/*
 * Start the application: call entry() on the given stack (its top, 16-byte
 * aligned).  From then on the calling thread is an application thread: its
 * system calls are served on its own kernel stack.  Never returns.
 */
void rumpuser_ext_app_start(void *stack, void (*entry)(void)) __attribute__((noreturn));

/*
 * Start a prebuilt executable as Linux's execve leaves it: jump (not call)
 * to entry with the stack pointer at stack, which holds argc, the argument
 * and environment vectors and the auxiliary vector; the frame pointer and
 * rdx (a dynamic loader's finaliser: none) zero.  Otherwise as
 * rumpuser_ext_app_start.  Never returns.
 */
void rumpuser_ext_app_exec(void *stack, void *entry) __attribute__((noreturn));

/*
 * A program header table describing the image's TLS template (PT_TLS),
 * for the application's auxiliary vector (AT_PHDR/AT_PHENT/AT_PHNUM).
 * Sets *phnum and *phent; returns a pointer valid for the machine's life.
 */
const void *rumpuser_ext_image_phdrs(int *phnum, int *phent);

/*
 * End the machine because of a fault or a fatal signal: print why on the
 * console (nothing when why is NULL: it was reported already) and end with
 * status 128 + signo, as a crash (a Xen domain shows "crashed").
 */
void rumpuser_ext_fatal_signal(int signo, const char *why) __attribute__((noreturn));

#endif /* RUMPUSER_H */
