/*
 * A small harness for tests of the kernel components on the posix
 * platform.  A test program boots the kernel's file system (ktest_boot),
 * makes system calls with K(SYS_name, args...) exactly as the app's
 * syscall instruction would (through syscall_dispatch), and checks results
 * with the EXPECT macros, which print one line per check:
 *
 *   ok <line> <what>          or      FAIL <line> <what>: got X, want Y
 *
 * KTEST_SECTION("what follows") starts a named scenario: the checks up to
 * the next section are its own, and tests/test_kernel_posix.py makes one
 * pytest case of each (the program runs once; a case fails on its own FAIL
 * lines, or when the program ended before the section finished).
 *
 * ktest_done() prints "done: N checks, M failed" and returns the exit
 * status (0 when nothing failed).  Results are Linux results: >= 0, or
 * -errno.
 */
#ifndef KTEST_H
#define KTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rumpuser.h"
#include "rumprun_posix.h"
#include <kernel/file.h>
#include <kernel/syscall.h>
#include <kernel/vfs.h>

static int ktest_checks, ktest_failed;

static inline long ksys(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long args[6] = {a0, a1, a2, a3, a4, a5};
	long r;

	rumprun_posix_enter(); /* as the app's syscall instruction enters the kernel */
	r = syscall_dispatch(nr, args);
	rumprun_posix_leave();
	return r;
}

#define KL(x) ((long)(x))
#define KSYS_1(n) ksys(n, 0, 0, 0, 0, 0, 0)
#define KSYS_2(n, a) ksys(n, KL(a), 0, 0, 0, 0, 0)
#define KSYS_3(n, a, b) ksys(n, KL(a), KL(b), 0, 0, 0, 0)
#define KSYS_4(n, a, b, c) ksys(n, KL(a), KL(b), KL(c), 0, 0, 0)
#define KSYS_5(n, a, b, c, d) ksys(n, KL(a), KL(b), KL(c), KL(d), 0, 0)
#define KSYS_6(n, a, b, c, d, e) ksys(n, KL(a), KL(b), KL(c), KL(d), KL(e), 0)
#define KSYS_7(n, a, b, c, d, e, f) ksys(n, KL(a), KL(b), KL(c), KL(d), KL(e), KL(f))
#define KSYS_PICK(_1, _2, _3, _4, _5, _6, _7, name, ...) name
/* K(SYS_open, path, flags, mode): the Linux result. */
#define K(...) \
	KSYS_PICK(__VA_ARGS__, KSYS_7, KSYS_6, KSYS_5, KSYS_4, KSYS_3, KSYS_2, KSYS_1)(__VA_ARGS__)

static inline void ktest_report(int line, const char *what, long got, long want, int ok)
{
	ktest_checks++;
	if (ok) {
		printf("ok %d %s\n", line, what);
	} else {
		ktest_failed++;
		printf("FAIL %d %s: got %ld (%s), want %ld (%s)\n", line, what, got,
		    got < 0 && got > -4096 ? strerror(-got) : "-", want,
		    want < 0 && want > -4096 ? strerror(-want) : "-");
	}
}

/* The call's result equals want (use -EXXX for errors). */
#define EXPECT(expr, want) \
	do { \
		long _g = (long)(expr), _w = (long)(want); \
		ktest_report(__LINE__, #expr, _g, _w, _g == _w); \
	} while (0)
/* The call succeeded (result >= 0); evaluates to the result. */
#define EXPECT_OK(expr) \
	({ \
		long _g = (long)(expr); \
		ktest_report(__LINE__, #expr, _g, 0, _g >= 0); \
		_g; \
	})
/* A named scenario begins (see above). */
#define KTEST_SECTION(name) printf("section %s\n", name)

/* A condition holds. */
#define EXPECT_TRUE(cond) ktest_report(__LINE__, #cond, (long)!!(cond), 1, !!(cond))

static const struct rumpuser_hyperup ktest_hyp;

/* Boot what the tests need: the hypercall layer, the VFS, fds 0-2. */
static inline void ktest_boot(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rumprun_posix_enter();
	if (rumpuser_init(RUMPUSER_VERSION, &ktest_hyp) != 0)
		exit(2);
	vfs_init();
	for (int fd = 0; fd < 3; fd++) {
		struct file *f = console_open(fd == 0 ? O_RDONLY : O_WRONLY);
		if (f == NULL || fd_install(f, fd, 0) != fd) {
			printf("FAIL cannot install the console as fd %d\n", fd);
			exit(2);
		}
	}
	rumprun_posix_leave();
}

static inline int ktest_done(void)
{
	printf("done: %d checks, %d failed\n", ktest_checks, ktest_failed);
	return ktest_failed ? 1 : 0;
}

/* Write a whole string to fd through the kernel. */
static inline long kput(int fd, const char *s) { return K(SYS_write, fd, s, strlen(s)); }

#endif
