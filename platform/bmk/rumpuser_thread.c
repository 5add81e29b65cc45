/* rumpuser threads on the cooperative scheduler, and the image's TLS template. */
#include <bmk/core.h>
#include <errno.h>
#include <elf.h>
#include "rumpuser_impl.h"

int rumpuser_thread_create(void *(*f)(void *), void *arg, const char *name, int mustjoin,
    int priority, int cpuidx, void **cookie)
{
	struct bmk_thread *t = bmk_sched_create(name, f, arg, mustjoin, 0);

	if (!t)
		return EAGAIN;
	if (cookie)
		*cookie = t;
	return 0;
}

void rumpuser_thread_exit(void) { bmk_sched_exit(); }

void rumpuser_ext_thread_rename(const char *name) { bmk_thread_rename(bmk_current(), name); }

int rumpuser_thread_join(void *cookie)
{
	bmk_unschedule();
	bmk_sched_join(cookie);
	bmk_schedule();
	return 0;
}

void rumpuser_curlwpop(int op, struct lwp *l)
{
	switch (op) {
	case RUMPUSER_LWP_SET:
		bmk_thread_set_lwp(bmk_current(), l);
		break;
	case RUMPUSER_LWP_CLEAR:
		bmk_thread_set_lwp(bmk_current(), NULL);
		break;
	default:
		break;
	}
}

struct lwp *rumpuser_curlwp(void) { return bmk_thread_lwp(bmk_current()); }

void rumpuser_ext_yield(void)
{
	bmk_unschedule();
	bmk_sched_yield();
	bmk_schedule();
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
