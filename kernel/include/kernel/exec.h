/*
 * The ELF loader (kernel/exec/exec.c): prebuilt static Linux x86_64
 * executables, run as they are.  The bake puts the file's bytes into the
 * image (the program table's exe, exe_end); each run of the program loads
 * them afresh into its vmspace:
 *
 * - ET_EXEC at its link addresses (MAP_FIXED: the low range below the
 *   image window is free for that), ET_DYN (static-pie) wherever the
 *   kernel places it; the program's own start-up relocates itself;
 * - each page with the union of the protections of the segments on it
 *   (R, W, X as the program headers say), gaps between segments unmapped;
 * - pages committed at first touch, as Linux does (a large bss costs what
 *   the program uses of it);
 * - the program break right after the highest segment, as on Linux.
 *
 * TLS, relocations and everything else are the program's own libc's work;
 * the kernel builds the initial stack (kernel/program.c) from what
 * exec_load reports.
 */
#ifndef KERNEL_EXEC_H
#define KERNEL_EXEC_H

#include <stddef.h>
#include <stdint.h>

struct vmspace;

struct exec_image {
	uintptr_t entry; /* where to jump (AT_ENTRY), load bias applied */
	uintptr_t phdr; /* the program headers in memory (AT_PHDR) */
	int phnum, phent; /* AT_PHNUM, AT_PHENT */
	uintptr_t base; /* the load bias: 0 for ET_EXEC */
	uintptr_t lo, hi; /* the range the segments occupy */
};

/*
 * Check that [file, file + size) is a static x86_64 executable this loader
 * can run: NULL, or one sentence saying what is wrong (for the console).
 */
const char *exec_check(const void *file, size_t size);

/*
 * Load the executable at [file, file + size) (exec_check passed) into vs:
 * 0 and *img filled, or -ENOMEM (no memory, or its fixed addresses are
 * taken by another program's mappings).
 */
long exec_load(struct vmspace *vs, const void *file, size_t size, struct exec_image *img);

#endif
