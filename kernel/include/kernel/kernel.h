/*
 * What every kernel component may use: allocation, console messages,
 * panics and time, all built on the hypercall interface (rumpuser.h) and
 * nothing else.  Kernel components may also use the pure string and memory
 * functions (mem*, str*) that the compiler or the libc provides: they touch
 * no system call and no thread state.
 *
 * Kernel code is compiled against musl's headers for the Linux ABI (errno
 * values, struct layouts, system call numbers), so the structures the app
 * sees and the ones the kernel fills are one definition.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include "rumpuser.h"

#define PAGE_SIZE 4096UL
#define ROUNDUP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* kmalloc: NULL when memory is exhausted.  kzalloc zeroes.  kfree takes
 * the size given to kmalloc (the hypercall interface wants it). */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p, size_t size);
/* Whole pages, page aligned: NULL when exhausted; kpages_free may release
 * any page-aligned part of an earlier kpages_alloc range. */
void *kpages_alloc(size_t bytes);
void kpages_free(void *p, size_t bytes);

#define kprintf(...) rumpuser_dprintf(__VA_ARGS__)
/* Print "rumprun: panic: ..." and end the machine (status 1). */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Nanoseconds since boot (monotonic) and since the epoch (wall). */
int64_t time_mono_ns(void);
int64_t time_wall_ns(void);

/* A numeric platform parameter (rumpuser_getparam), or 0 when unknown. */
unsigned long param_number(const char *name);

/* The JSON configuration, parsed once at boot (kernel/config.c). */
struct rumprun_config;
const struct rumprun_config *config_get(void);

#endif
