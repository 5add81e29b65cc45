/*
 * Programs' memory (kernel/vm.c; the system calls are in kernel/sys_mem.c).
 *
 * One address space holds the kernel and every program.  The kernel
 * decides where mappings go (the platform's application area,
 * rumpuser_ext_vm_area, unless a program asks for a fixed address) and
 * the platform backs them page by page (rumpuser_ext_vm_map), so any
 * size up to the free memory can be mapped however fragmented memory is.
 * Every mapping belongs to the vmspace of the program that made it; a
 * program cannot unmap or replace another's, and everything it owns goes
 * when its vmspace is destroyed.
 *
 * Commitment: anonymous memory with a protection other than PROT_NONE is
 * taken when it is mapped (so running out is ENOMEM, never a crash later);
 * PROT_NONE memory takes nothing, and when mprotect opens it up it is
 * committed page by page at first touch, as are stacks and MAP_NORESERVE
 * mappings.
 *
 * Everything returns a Linux result (>= 0, or -errno) unless said otherwise.
 */
#ifndef KERNEL_VM_H
#define KERNEL_VM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vmspace;
struct file;

/* A program's memory: NULL when memory is exhausted.  vmspace_destroy
 * unmaps everything the vmspace owns and frees it. */
struct vmspace *vmspace_new(void);
void vmspace_destroy(struct vmspace *vs);
/* The calling thread's vmspace (the kernel's own outside programs). */
struct vmspace *vm_current(void);

/*
 * mmap with Linux's semantics (flags: MAP_*; f is NULL for anonymous
 * memory): the address, or -EINVAL, -ENOMEM (no room or no memory),
 * -EEXIST (MAP_FIXED_NOREPLACE over a mapping), -EACCES (the file's
 * access mode forbids prot), -ENODEV (the file cannot be mapped).
 * MAP_FIXED may replace the caller's own mappings only; a hint (addr
 * without MAP_FIXED) is taken when that range of the application area is
 * free, else the kernel chooses.
 */
long vm_mmap(
    struct vmspace *vs, uintptr_t addr, size_t len, int prot, int flags, struct file *f, off_t off);
/* munmap: the caller's own mappings in the range go; 0 or -EINVAL. */
long vm_munmap(struct vmspace *vs, uintptr_t addr, size_t len);
/* mprotect: 0, -EINVAL, -ENOMEM (a part of the range is not the caller's
 * mapping), -EACCES (writing to a file opened read-only). */
long vm_mprotect(struct vmspace *vs, uintptr_t addr, size_t len, int prot);

/* mremap (grow in place, move with MREMAP_MAYMOVE, MREMAP_FIXED) of
 * anonymous memory: the new address, or -EINVAL, -EFAULT (the old range
 * is not one mapping of the caller's), -ENOMEM. */
long vm_mremap(
    struct vmspace *vs, uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t newaddr);
/* madvise: MADV_DONTNEED and MADV_FREE give private anonymous pages back
 * (they read as zeroes after); other advice is accepted and ignored. */
long vm_madvise(struct vmspace *vs, uintptr_t addr, size_t len, int advice);
/* msync: shared file pages written through the mapping go back to their
 * file system; 0, -EINVAL, -ENOMEM (not all mapped). */
long vm_msync(struct vmspace *vs, uintptr_t addr, size_t len, int flags);

/*
 * The program break.  vm_brk_init sets where it starts (the program
 * loader: after a static executable's bss); without it the first brk
 * places the break in the application area.  vm_brk returns the new
 * break, or the old one when it cannot move (as Linux's brk).
 */
void vm_brk_init(struct vmspace *vs, uintptr_t base);
uintptr_t vm_brk(struct vmspace *vs, uintptr_t want);

/*
 * The main stack: size bytes (page multiple) committed at first touch,
 * with an unmapped gap below it so that an overflow faults, even one that
 * jumps far: 0 and its top in *top, or -ENOMEM.
 */
long vm_stack(struct vmspace *vs, size_t size, uintptr_t *top);
#define VM_STACK_GAP (256UL * 1024 * 1024)
/*
 * Grow the main stack down to size bytes (setrlimit raising RLIMIT_STACK),
 * committed at first touch like the rest, as far as the free room below
 * it allows while leaving at least VM_STACK_GUARD unmapped under it (and
 * up to VM_STACK_GAP where there is room): its size now.
 */
size_t vm_stack_grow(struct vmspace *vs, size_t size);
#define VM_STACK_GUARD (1024UL * 1024) /* Linux's stack_guard_gap */

#endif
