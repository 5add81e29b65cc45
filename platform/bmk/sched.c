/*
 * Cooperative threads.  A thread runs until it blocks, yields or exits;
 * there is no preemption between threads that merely want to run, so a
 * thread that never blocks starves the others (every blocking system call
 * and every sleep goes through bmk_sched_block, which is what keeps the
 * machine fair).  The one exception: application code that keeps the CPU
 * while a device interrupt waits gives it up at that interrupt
 * (bmk_sched_preempt), so the kernel's interrupt handlers (and a shutdown
 * the host asks for) are never starved by a program's busy loop.  One CPU, and
 * interrupt handlers never touch these structures (they only raise a flag
 * that the scheduler turns into a wake-up of the interrupt thread), so no
 * locking.
 */
#include <bmk/core.h>
#include <errno.h>

enum { T_RUNNABLE, T_BLOCKED, T_EXITED };
#define F_MUSTJOIN 0x01

struct bmk_thread {
	void *sp;
	void *stack;
	size_t stacksize;
	void *tls, *lwp, *frame;
	void *(*fn)(void *);
	void *arg;
	int state, flags;
	int woken;
	int64_t deadline; /* -1: none */
	struct bmk_thread *runq_next;
	struct bmk_thread *all_next, *all_prev;
	struct bmk_thread *joiner;
	char name[16];
};

struct bmk_waiter {
	struct bmk_thread *t;
	struct bmk_waiter *next, *prev;
	int woken;
};

static struct bmk_thread *current;
static struct bmk_thread *runq_head, *runq_tail;
static struct bmk_thread *all_threads;
static struct bmk_thread *zombies; /* exited, unjoined: freed by the next thread */
static int nthreads;

/* Interrupts (see core.h): the flag the platform's stub raises, the thread
 * that runs the platform's handlers, and whether it waits for the flag. */
static volatile int intr_raised;
static int64_t running_since; /* when current was switched in */
static int watchdog_said; /* for this stretch of current's */
static volatile int idling; /* in bmk_platform_idle: nothing runs */
static struct bmk_thread *intr_thread;
static void (*intr_run)(void);
static int intr_waiting;
static int intr_awaited; /* sources a blocked thread may wait for */

static void runq_put(struct bmk_thread *t)
{
	t->runq_next = NULL;
	if (runq_tail)
		runq_tail->runq_next = t;
	else
		runq_head = t;
	runq_tail = t;
}

static void runq_put_front(struct bmk_thread *t)
{
	t->runq_next = runq_head;
	runq_head = t;
	if (!runq_tail)
		runq_tail = t;
}

static struct bmk_thread *runq_take(void)
{
	struct bmk_thread *t = runq_head;

	if (t) {
		runq_head = t->runq_next;
		if (!runq_head)
			runq_tail = NULL;
	}
	return t;
}

static void thread_free(struct bmk_thread *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		all_threads = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	nthreads--;
	bmk_platform_stack_guard((char *)t->stack - BMK_PAGE_SIZE, 0);
	bmk_pgfree((char *)t->stack - BMK_PAGE_SIZE, t->stacksize / BMK_PAGE_SIZE + 1);
	bmk_memfree(t, sizeof(*t));
}

static void reap_zombies(void)
{
	while (zombies) {
		struct bmk_thread *t = zombies;
		zombies = t->runq_next;
		thread_free(t);
	}
}

/* Wake the sleepers whose deadline has passed; the earliest deadline left. */
static int64_t expire_deadlines(void)
{
	int64_t now = bmk_platform_clock_mono(), next = -1;
	struct bmk_thread *t;

	for (t = all_threads; t; t = t->all_next) {
		if (t->state != T_BLOCKED || t->deadline < 0)
			continue;
		if (t->deadline <= now) {
			t->deadline = -1;
			t->state = T_RUNNABLE;
			runq_put(t);
		} else if (next < 0 || t->deadline < next) {
			next = t->deadline;
		}
	}
	return next;
}

static void report_deadlock(void)
{
	struct bmk_thread *t;

	bmk_printf(
	    "rumprun: deadlock: all %d threads are blocked and no timer is pending:", nthreads);
	for (t = all_threads; t; t = t->all_next)
		bmk_printf(" %s", t->name);
	bmk_printf("\n");
	bmk_exit(1, 1);
}

/* Pick the next thread to run (idling until there is one) and switch. */
static void schedule(void)
{
	struct bmk_thread *prev = current, *next;
	int64_t deadline;

	for (;;) {
		if (intr_thread) {
			bmk_platform_intr_window();
			if (intr_raised && intr_waiting) {
				intr_waiting = 0;
				intr_thread->state = T_RUNNABLE;
				intr_thread->woken = 1;
				runq_put_front(intr_thread);
			}
		}
		deadline = expire_deadlines();
		if ((next = runq_take()) != NULL)
			break;
		/* Waiting for a device that may interrupt is no deadlock. */
		if (deadline < 0 && intr_awaited <= 0)
			report_deadlock();
		idling = 1;
		bmk_platform_idle(deadline);
		idling = 0;
	}
	if (next == prev)
		return;
	current = next;
	running_since = bmk_platform_clock_mono();
	watchdog_said = 0;
	bmk_platform_switched(next->tls, bmk_thread_stack_top(next));
	bmk_platform_switch(&prev->sp, next->sp);
	reap_zombies();
}

struct bmk_thread *bmk_sched_create(
    const char *name, void *(*f)(void *), void *arg, int mustjoin, size_t stacksize)
{
	struct bmk_thread *t;
	size_t i;

	if (stacksize == 0)
		stacksize = BMK_THREAD_STACKSIZE;
	stacksize = (stacksize + BMK_PAGE_SIZE - 1) & ~(BMK_PAGE_SIZE - 1);
	if ((t = bmk_memalloc(sizeof(*t), 0)) == NULL)
		return NULL;
	if ((t->stack = bmk_pgalloc(stacksize / BMK_PAGE_SIZE + 1, BMK_PAGE_SIZE)) == NULL) {
		bmk_memfree(t, sizeof(*t));
		return NULL;
	}
	bmk_platform_stack_guard(t->stack, 1);
	t->stack = (char *)t->stack + BMK_PAGE_SIZE;
	t->stacksize = stacksize;
	t->tls = t->lwp = t->frame = NULL;
	t->fn = f;
	t->arg = arg;
	t->flags = mustjoin ? F_MUSTJOIN : 0;
	t->deadline = -1;
	t->woken = 0;
	t->joiner = NULL;
	for (i = 0; name && name[i] && i < sizeof(t->name) - 1; i++)
		t->name[i] = name[i];
	t->name[i] = '\0';
	t->sp = bmk_platform_thread_init(bmk_thread_stack_top(t));
	t->all_prev = NULL;
	t->all_next = all_threads;
	if (all_threads)
		all_threads->all_prev = t;
	all_threads = t;
	nthreads++;
	t->state = T_RUNNABLE;
	runq_put(t);
	return t;
}

void bmk_sched_start(void)
{
	static void *boot_sp; /* the boot stack is never resumed */
	struct bmk_thread *first = runq_take();

	if (!first) {
		bmk_printf("rumprun: no thread to start\n");
		bmk_exit(1, 1);
	}
	current = first;
	running_since = bmk_platform_clock_mono();
	bmk_platform_switched(first->tls, bmk_thread_stack_top(first));
	bmk_platform_switch(&boot_sp, first->sp);
	__builtin_unreachable();
}

void bmk_thread_entry(void)
{
	reap_zombies();
	current->fn(current->arg);
	bmk_sched_exit();
}

struct bmk_thread *bmk_current(void) { return current; }

void bmk_sched_yield(void)
{
	runq_put(current);
	schedule();
}

int bmk_sched_block(int64_t deadline)
{
	current->state = T_BLOCKED;
	current->deadline = deadline;
	current->woken = 0;
	schedule();
	current->deadline = -1;
	return current->woken ? 0 : ETIMEDOUT;
}

void bmk_sched_wake(struct bmk_thread *t)
{
	if (t->state != T_BLOCKED)
		return;
	t->state = T_RUNNABLE;
	t->woken = 1;
	t->deadline = -1;
	runq_put(t);
}

void bmk_sched_exit(void)
{
	struct bmk_thread *t = current;

	t->state = T_EXITED;
	if (t->flags & F_MUSTJOIN) {
		if (t->joiner)
			bmk_sched_wake(t->joiner);
	} else {
		t->runq_next = zombies;
		zombies = t;
	}
	schedule();
	__builtin_unreachable();
}

void bmk_sched_join(struct bmk_thread *t)
{
	while (t->state != T_EXITED) {
		t->joiner = current;
		bmk_sched_block(-1);
	}
	thread_free(t);
}

void bmk_thread_set_tls(struct bmk_thread *t, void *tls) { t->tls = tls; }
void *bmk_thread_tls(struct bmk_thread *t) { return t->tls; }
void bmk_thread_set_lwp(struct bmk_thread *t, void *lwp) { t->lwp = lwp; }
void *bmk_thread_lwp(struct bmk_thread *t) { return t->lwp; }
void bmk_thread_set_frame(struct bmk_thread *t, void *frame) { t->frame = frame; }
void *bmk_thread_frame(struct bmk_thread *t) { return t->frame; }
const char *bmk_thread_name(struct bmk_thread *t) { return t->name; }

void bmk_thread_rename(struct bmk_thread *t, const char *name)
{
	size_t i;

	for (i = 0; name[i] && i < sizeof(t->name) - 1; i++)
		t->name[i] = name[i];
	t->name[i] = '\0';
}

void *bmk_thread_stack_top(struct bmk_thread *t) { return (char *)t->stack + t->stacksize; }

/* ---- interrupts ----------------------------------------------------- */

static void *intr_main(void *arg)
{
	for (;;) {
		intr_raised = 0;
		intr_run();
		if (!intr_raised) { /* else raised while the handlers ran */
			intr_waiting = 1;
			bmk_sched_block(-1);
		}
	}
	return NULL;
}

int bmk_intr_init(void (*run)(void))
{
	if (intr_thread)
		return 0;
	intr_run = run;
	if ((intr_thread = bmk_sched_create("intr", intr_main, NULL, 0, 0)) == NULL)
		return ENOMEM;
	return 0;
}

void bmk_intr_raise(void) { intr_raised = 1; }

void bmk_intr_awaited(int delta) { intr_awaited += delta; }

/* ---- wait queues ----------------------------------------------------- */

static void waitq_remove(struct bmk_waitq *wq, struct bmk_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		wq->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		wq->tail = w->prev;
}

/* The waiter lives on the sleeper's stack: it is always off the queue
 * again before this returns. */
#pragma GCC diagnostic ignored "-Wdangling-pointer"
int bmk_waitq_sleep(struct bmk_waitq *wq, int64_t deadline)
{
	struct bmk_waiter w = {.t = current, .next = NULL, .prev = wq->tail, .woken = 0};

	if (wq->tail)
		wq->tail->next = &w;
	else
		wq->head = &w;
	wq->tail = &w;
	while (!w.woken) {
		if (bmk_sched_block(deadline) == ETIMEDOUT && !w.woken) {
			waitq_remove(wq, &w);
			return ETIMEDOUT;
		}
	}
	return 0;
}

int bmk_waitq_wakeone(struct bmk_waitq *wq)
{
	struct bmk_waiter *w = wq->head;

	if (!w)
		return 0;
	waitq_remove(wq, w);
	w->woken = 1;
	bmk_sched_wake(w->t);
	return 1;
}

void bmk_waitq_wakeall(struct bmk_waitq *wq)
{
	while (bmk_waitq_wakeone(wq))
		;
}

int bmk_waitq_count(struct bmk_waitq *wq)
{
	struct bmk_waiter *w;
	int n = 0;

	for (w = wq->head; w; w = w->next)
		n++;
	return n;
}

/* ---- preemption at interrupts ---------------------------------------- */

int bmk_sched_preempt(void)
{
	return current && !idling && intr_raised &&
	    bmk_platform_clock_mono() - running_since >= BMK_PREEMPT_NS;
}

int bmk_sched_on_kernel_stack(uintptr_t sp)
{
	uintptr_t top = (uintptr_t)bmk_thread_stack_top(current);

	return sp <= top && sp >= top - current->stacksize;
}

/* ---- the watchdog ----------------------------------------------------- */

#define WATCHDOG_NS (3 * 1000000000LL)

/*
 * From the machine's timer interrupt, which comes only while app code
 * runs (kernel code runs with interrupts off, so no scheduler structure is
 * half changed here): say once when the running thread has held the CPU
 * for seconds while others wait for it.
 */
void bmk_sched_watchdog(int64_t now)
{
	struct bmk_thread *t;
	int starved;

	if (!current || idling || watchdog_said || now - running_since < WATCHDOG_NS)
		return;
	starved = runq_head != NULL || intr_raised;
	for (t = all_threads; t && !starved; t = t->all_next)
		starved = t->state == T_BLOCKED && t->deadline >= 0 && t->deadline <= now;
	if (!starved)
		return;
	watchdog_said = 1;
	bmk_printf("rumprun: thread \"%s\" has run %d s without yielding; other threads "
	           "are starved (threads are cooperative: one runs until it blocks or yields)\n",
	    current->name, (int)((now - running_since) / 1000000000LL));
}
