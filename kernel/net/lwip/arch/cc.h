/*
 * lwIP's compiler and platform glue (lwip/arch.h includes it): the kernel
 * has no stdio, so diagnostics and assertion failures go to the console
 * through the kernel (net_diag, panic in kernel/net/stack.c).
 */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H

/* BYTE_ORDER: musl's <endian.h> (x86_64 is little-endian). */
#define LWIP_NO_CTYPE_H 1 /* lwIP's own isdigit & co.: no libc in the kernel */
#define LWIP_NO_UNISTD_H 1
/* Byte order without libc's functions (the kernel calls no libc). */
#define lwip_htons(x) __builtin_bswap16(x)
#define lwip_htonl(x) __builtin_bswap32(x)
#include <sys/types.h> /* ssize_t */

void net_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void net_assert_failed(const char *what, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_DIAG(x) \
	do { \
		net_diag x; \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) net_assert_failed((x), __FILE__, __LINE__)

#endif
