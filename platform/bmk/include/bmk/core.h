/*
 * The bare-metal core shared by the hw and xen platforms: cooperative
 * threads, the page allocator, the kernel memory allocator, console
 * formatting, and the machine-independent half of the hypercall interface
 * (rumpuser_*.c: memory, locks, condition variables, threads, clocks,
 * parameters, console, exit).  It uses no libc and knows nothing of the
 * kernel above except rumpuser.h, which it implements.
 *
 * Layering: the core calls only the bmk_platform_* hooks below, which each
 * bare-metal platform provides (its processor code, platform/x86_64, and
 * its machine, platform/hw or platform/xen); the platform calls the core
 * freely.
 */
#ifndef BMK_CORE_H
#define BMK_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define BMK_PAGE_SIZE 4096UL
#define BMK_PAGE_SHIFT 12

/* ---- hooks the processor code provides (platform/x86_64) ------------- */
/* Save callee-saved state, store the stack pointer in *save, resume load. */
void bmk_platform_switch(void **save, void *load);
/* Prepare a new thread's stack so the first switch to it enters
 * bmk_thread_entry(); returns the stack pointer to switch to. */
void *bmk_platform_thread_init(void *stack_top);
/* Called on every switch: the incoming thread's TLS base and kernel stack. */
void bmk_platform_switched(void *tls, void *kstack_top);
/* Fill buf with len random bytes (never blocks). */
void bmk_platform_random(void *buf, size_t len);

/* ---- hooks the machine provides (platform/hw, platform/xen) ---------- */
/* Monotonic nanoseconds since boot. */
int64_t bmk_platform_clock_mono(void);
/* Wall time: nanoseconds since the epoch (1970-01-01 UTC). */
int64_t bmk_platform_clock_wall(void);
/* Nothing is runnable: wait for an interrupt or until deadline (ns, mono;
 * -1 none).  May return early. */
void bmk_platform_idle(int64_t deadline);
void bmk_platform_putc(int c);
/* Make the page below a thread's stack fault on access (guard), or undo it. */
void bmk_platform_stack_guard(void *page, int guard);
/* The unikernel's JSON configuration as the machine received it (copied
 * out of the boot loader's memory) and its length; NULL when there is none. */
const char *bmk_platform_config(size_t *len);
/* The image's name as the boot loader gave it; NULL when unknown. */
const char *bmk_platform_image_name(void);
/* Boot module index other than the configuration (rumpuser_ext_bootmodule):
 * 0 and its name, address and length, or -1 when there is none. */
int bmk_platform_module(int index, const char **name, void **addr, size_t *len);
/* End the machine with status (0-255): crash says the end is a failure the
 * host should see as a crash (fatal signal, panic, deadlock) rather than a
 * power-off.  The status line is already printed.  Never returns. */
void bmk_platform_exit(int status, int crash) __attribute__((noreturn));
/* Let interrupts that are pending now be taken (the scheduler runs with
 * interrupts disabled and calls this at every decision point). */
void bmk_platform_intr_window(void);

/* ---- boot and exit --------------------------------------------------- */
/* The machine's last step of boot: run rumprun_kernel_main() in the first
 * thread and start the scheduler.  Never returns. */
void bmk_start_kernel(void) __attribute__((noreturn));
/* Print the status line the launchers read ("=== rumprun: exit status N
 * ===") and end the machine through bmk_platform_exit.  Never returns. */
void bmk_exit(int status, int crash) __attribute__((noreturn));
/* The app's system call, from the processor's entry: served by the
 * kernel's hyp_syscall upcall.  Returns the Linux result (>= 0 or -errno). */
long bmk_syscall(long nr, const long args[6]);
/* A fatal fault in application code (reported already), on the faulting
 * thread's kernel stack: the kernel's hyp_ext_fault ends its program, else
 * the machine ends with 128 + signo.  Never returns. */
void bmk_app_fault(int signo) __attribute__((noreturn));
/* Application code preempted at an interrupt (bmk_sched_preempt said so),
 * on the thread's kernel stack: yield, then the kernel's hyp_ext_preempted
 * may end the thread.  Returns when the application goes on. */
void bmk_app_preempted(void);

/* ---- console --------------------------------------------------------- */
/* %s %c %d %i %u %x %X %p %% with l/ll/z, width, '-' and '0'. */
int bmk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int bmk_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bmk_vprintf(const char *fmt, va_list ap);
void bmk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- pages ----------------------------------------------------------- */
/* Manage pages in [lo, hi): all start reserved.  The bitmap lives at
 * bitmap (bmk_pgalloc_bitmap_bytes(lo, hi) bytes the platform set aside). */
size_t bmk_pgalloc_bitmap_bytes(uintptr_t lo, uintptr_t hi);
void bmk_pgalloc_init(uintptr_t lo, uintptr_t hi, void *bitmap);
/* Hand the range [start, end) to the page allocator (page aligned inward). */
void bmk_pgalloc_add(uintptr_t start, uintptr_t end);
/* npages contiguous pages aligned to align (a power of two >= a page), or
 * NULL.  Any page-aligned part of a range can be freed on its own. */
void *bmk_pgalloc(size_t npages, size_t align);
void bmk_pgfree(void *p, size_t npages);
size_t bmk_pgalloc_total(void); /* bytes under management */
size_t bmk_pgalloc_free(void); /* bytes free */

/* ---- kernel memory --------------------------------------------------- */
void *bmk_memalloc(size_t size, size_t align); /* NULL when exhausted */
void bmk_memfree(void *p, size_t size);

/* ---- threads --------------------------------------------------------- */
struct bmk_thread;
/* Kernel stacks; a guard page below each one catches overflows. */
#define BMK_THREAD_STACKSIZE (32 * 1024)

struct bmk_thread *bmk_sched_create(
    const char *name, void *(*f)(void *), void *arg, int mustjoin, size_t stacksize);
/* Start the scheduler with the first thread; never returns. */
void bmk_sched_start(void) __attribute__((noreturn));
struct bmk_thread *bmk_current(void);
void bmk_sched_yield(void);
/* Block the current thread until bmk_sched_wake() or the deadline
 * (monotonic ns, -1 none).  Returns 0 when woken, ETIMEDOUT otherwise. */
int bmk_sched_block(int64_t deadline);
void bmk_sched_wake(struct bmk_thread *t);
void bmk_sched_exit(void) __attribute__((noreturn));
/* From the machine's periodic timer interrupt while app code runs: prints
 * one line when the running thread has not yielded for seconds while
 * other threads wait (cooperative scheduling starves them). */
void bmk_sched_watchdog(int64_t now);
/* From an interrupt that came while app code ran: whether the running
 * thread should give the CPU up now (bmk_app_preempted), because an
 * interrupt is pending and the thread has run BMK_PREEMPT_NS without
 * blocking. */
#define BMK_PREEMPT_NS (10 * 1000000LL)
int bmk_sched_preempt(void);
/* Whether sp lies on the running thread's kernel stack (where the
 * scheduler, the idle loop and system calls run; app code runs on stacks
 * of its own). */
int bmk_sched_on_kernel_stack(uintptr_t sp);
void bmk_sched_join(struct bmk_thread *t);
/* Per-thread slots the platform and the kernel keep. */
void bmk_thread_set_tls(struct bmk_thread *t, void *tls);
void *bmk_thread_tls(struct bmk_thread *t);
void bmk_thread_set_lwp(struct bmk_thread *t, void *lwp);
void *bmk_thread_lwp(struct bmk_thread *t);
void bmk_thread_set_frame(struct bmk_thread *t, void *frame);
void *bmk_thread_frame(struct bmk_thread *t);
void *bmk_thread_stack_top(struct bmk_thread *t);
const char *bmk_thread_name(struct bmk_thread *t);
void bmk_thread_rename(struct bmk_thread *t, const char *name);
/* Called by the platform's thread trampoline: runs the thread's function. */
void bmk_thread_entry(void) __attribute__((noreturn));

/*
 * Interrupts reach drivers in thread context.  The platform's interrupt
 * stub (interrupts disabled, on its own stack) records what is pending in
 * its own state and calls bmk_intr_raise(), which only sets a flag: no
 * scheduler structure is touched in interrupt context.  At every decision
 * point (a thread blocks, yields or exits; after every idle wait) the
 * scheduler lets pending interrupts in (bmk_platform_intr_window), and
 * when the flag is set it makes the interrupt thread runnable ahead of the
 * others.  That thread calls the platform's run function, which handles
 * everything pending; interrupts raised meanwhile make it run again.
 * bmk_intr_init returns 0, or ENOMEM when the thread cannot be created.
 */
int bmk_intr_init(void (*run)(void));
void bmk_intr_raise(void);
/*
 * How many interrupt sources a blocked thread may be waiting for: changed
 * by delta (rumpcomp_pci_irq_awaited).  When every thread is blocked and
 * no timer is pending, the scheduler reports a deadlock only if this is 0:
 * otherwise an interrupt may still wake someone.
 */
void bmk_intr_awaited(int delta);

/* Wait queues for locks and condition variables built on the scheduler. */
struct bmk_waitq {
	struct bmk_waiter *head, *tail;
};
/* Sleep on wq until woken or deadline; 0 when woken, ETIMEDOUT otherwise. */
int bmk_waitq_sleep(struct bmk_waitq *wq, int64_t deadline);
/* Wake one (returns 1 if one was woken) or all waiters. */
int bmk_waitq_wakeone(struct bmk_waitq *wq);
void bmk_waitq_wakeall(struct bmk_waitq *wq);
int bmk_waitq_count(struct bmk_waitq *wq);

#endif
