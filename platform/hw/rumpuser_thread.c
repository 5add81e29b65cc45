/* rumpuser threads and the platform extensions that concern app threads. */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include <elf.h>
#include "rumpuser.h"

const struct rumpuser_hyperup *hw_hyp;

int rumpuser_init(int version, const struct rumpuser_hyperup *hyp)
{
	if (version != RUMPUSER_VERSION) {
		bmk_printf("rumprun: kernel wants hypercall version %d, platform has %d\n",
		    version, RUMPUSER_VERSION);
		return EINVAL;
	}
	hw_hyp = hyp;
	return 0;
}

int rumpuser_thread_create(void *(*f)(void *), void *arg, const char *name,
    int mustjoin, int priority, int cpuidx, void **cookie)
{
	struct bmk_thread *t = bmk_sched_create(name, f, arg, mustjoin, 0);

	if (!t)
		return EAGAIN;
	if (cookie)
		*cookie = t;
	return 0;
}

void rumpuser_thread_exit(void)
{
	bmk_sched_exit();
}

int rumpuser_thread_join(void *cookie)
{
	bmk_sched_join(cookie);
	return 0;
}

void rumpuser_curlwpop(int op, struct lwp *l)
{
	switch (op) {
	case RUMPUSER_LWP_SET: bmk_thread_set_lwp(bmk_current(), l); break;
	case RUMPUSER_LWP_CLEAR: bmk_thread_set_lwp(bmk_current(), NULL); break;
	default: break;
	}
}

struct lwp *rumpuser_curlwp(void)
{
	return bmk_thread_lwp(bmk_current());
}

void rumpuser_ext_set_tls(void *base)
{
	bmk_thread_set_tls(bmk_current(), base);
	wrmsr(MSR_FS_BASE, (uintptr_t)base);
}

void *rumpuser_ext_get_tls(void)
{
	return bmk_thread_tls(bmk_current());
}

void rumpuser_ext_yield(void)
{
	bmk_sched_yield();
}

/* clone: the child resumes a copy of the parent's system call frame. */
struct app_fork {
	struct trapframe tf;
	void (*start)(void *);
	void *arg;
};

static void *app_fork_child(void *p)
{
	struct app_fork fork = *(struct app_fork *)p;

	bmk_memfree(p, sizeof(fork));
	fork.start(fork.arg);
	hw_frame_return(&fork.tf);
}

int rumpuser_ext_app_fork(void *stack, void *tls, void (*start)(void *), void *arg)
{
	struct trapframe *parent = bmk_thread_frame(bmk_current());
	struct app_fork *fork;
	struct bmk_thread *t;

	if (!parent)
		return EINVAL;
	if ((fork = bmk_memalloc(sizeof(*fork), 0)) == NULL)
		return ENOMEM;
	fork->tf = *parent;
	fork->tf.rax = 0;
	fork->tf.rsp = (uintptr_t)stack;
	fork->start = start;
	fork->arg = arg;
	if ((t = bmk_sched_create("app", app_fork_child, fork, 0, 0)) == NULL) {
		bmk_memfree(fork, sizeof(*fork));
		return EAGAIN;
	}
	bmk_thread_set_tls(t, tls);
	return 0;
}

/* The TLS template as a program header, from the linker script's symbols. */
extern char _tls_start[], _tdata_end[], _tls_end[], _tls_align[];

const void *rumpuser_ext_image_phdrs(int *phnum, int *phent)
{
	static Elf64_Phdr phdr;

	phdr.p_type = PT_TLS;
	phdr.p_flags = PF_R;
	phdr.p_vaddr = phdr.p_paddr = (uintptr_t)_tls_start;
	phdr.p_filesz = _tdata_end - _tls_start;
	phdr.p_memsz = _tls_end - _tls_start;
	phdr.p_align = (uintptr_t)_tls_align;
	*phnum = 1;
	*phent = sizeof(phdr);
	return &phdr;
}
