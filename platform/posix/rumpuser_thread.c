/*
 * Threads: host pthreads that run kernel code on the virtual CPU
 * (rumpuser.c), each with its own kernel lwp pointer and TLS
 * base (the platform extension; the host thread's real FS register stays
 * the host libc's).  Extensions that only make sense on bare metal
 * (starting or forking the application context) report that they are not
 * available here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "posix.h"

static __thread struct lwp *cur_lwp;
static __thread void *cur_tls;

struct start {
	void *(*f)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	posix_cpu_acquire();
	void *r = s.f(s.arg);
	if (posix_hyp && posix_hyp->hyp_lwpexit)
		posix_hyp->hyp_lwpexit();
	posix_cpu_release();
	return r;
}

int rumpuser_thread_create(void *(*f)(void *), void *arg, const char *name, int mustjoin,
    int priority, int cpuidx, void **cookie)
{
	pthread_attr_t attr;
	pthread_t *t = malloc(sizeof(*t));
	struct start *s = malloc(sizeof(*s));
	if (t == NULL || s == NULL) {
		free(t);
		free(s);
		return ENOMEM;
	}
	s->f = f;
	s->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(
	    &attr, mustjoin ? PTHREAD_CREATE_JOINABLE : PTHREAD_CREATE_DETACHED);
	int err = pthread_create(t, &attr, trampoline, s);
	pthread_attr_destroy(&attr);
	if (err) {
		free(t);
		free(s);
		return EAGAIN;
	}
	if (mustjoin && cookie)
		*cookie = t;
	else
		free(t);
	return 0;
}

void rumpuser_thread_exit(void)
{
	posix_cpu_release();
	pthread_exit(NULL);
}

int rumpuser_thread_join(void *cookie)
{
	pthread_t *t = cookie;
	posix_unschedule();
	pthread_join(*t, NULL);
	posix_schedule();
	free(t);
	return 0;
}

void rumpuser_curlwpop(int op, struct lwp *l)
{
	switch (op) {
	case RUMPUSER_LWP_SET:
		cur_lwp = l;
		break;
	case RUMPUSER_LWP_CLEAR:
		cur_lwp = NULL;
		break;
	default:
		break;
	}
}

struct lwp *rumpuser_curlwp(void) { return cur_lwp; }

void rumpuser_ext_set_tls(void *base) { cur_tls = base; }

void *rumpuser_ext_get_tls(void) { return cur_tls; }

/* The CPU's tickets are served in order: every thread already waiting
 * runs before this one continues. */
/* Reports here name no threads: nothing to keep. */
void rumpuser_ext_thread_rename(const char *name) { (void)name; }

void rumpuser_ext_yield(void)
{
	posix_unschedule();
	posix_schedule();
}

int rumpuser_ext_app_fork(void *stack, void *tls, void (*start)(void *), void *arg)
{
	return EAGAIN; /* no application context to fork in a host process */
}

void rumpuser_ext_app_start(void *stack, void (*entry)(void))
{
	fprintf(stderr,
	    "rumprun posix: starting an application is not supported "
	    "on the posix platform (call syscall_dispatch directly)\n");
	exit(1);
}

void rumpuser_ext_app_exec(void *stack, void *entry)
{
	fprintf(stderr,
	    "rumprun posix: running an executable is not supported "
	    "on the posix platform\n");
	exit(1);
}

const void *rumpuser_ext_image_phdrs(int *phnum, int *phent)
{
	*phnum = 0;
	*phent = 56; /* sizeof(Elf64_Phdr) */
	return NULL;
}

void rumpuser_ext_fatal_signal(int signo, const char *why)
{
	fflush(stdout);
	if (why)
		fprintf(stderr, "rumprun: fatal signal %d: %s\n", signo, why);
	exit(128 + signo);
}
