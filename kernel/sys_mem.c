/*
 * The memory system calls: mmap, munmap, mprotect, mremap, madvise, msync
 * and brk, served by the calling program's vmspace (kernel/vm.c says how
 * memory is placed, backed and owned).
 */
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/syscall.h>
#include <kernel/vm.h>
#include <sys/mman.h>

static long sys_mmap(SYSARGS)
{
	long addr = a0, len = a1, prot = a2, flags = a3, fd = a4, off = a5;
	struct file *f = NULL;
	long rv;

	if (len <= 0)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS) && (f = fd_get(fd)) == NULL)
		return -EBADF;
	rv = vm_mmap(vm_current(), addr, len, prot, flags, f, off);
	if (f)
		file_drop(f);
	return rv;
}
SYSCALL_REGISTER(SYS_mmap, sys_mmap, PARTIAL,
    "anonymous and file mappings; no MAP_GROWSDOWN; unsupported combinations ENODEV with a notice");

static long sys_munmap(SYSARGS)
{
	long addr = a0, len = a1;
	return len <= 0 ? -EINVAL : vm_munmap(vm_current(), addr, len);
}
SYSCALL_REGISTER(SYS_munmap, sys_munmap, FULL, "");

static long sys_mprotect(SYSARGS)
{
	long addr = a0, len = a1, prot = a2;
	return len < 0 ? -EINVAL : vm_mprotect(vm_current(), addr, len, prot);
}
SYSCALL_REGISTER(SYS_mprotect, sys_mprotect, FULL, "");

static long sys_mremap(SYSARGS)
{
	long old = a0, oldlen = a1, newlen = a2, flags = a3, newaddr = a4;
	return vm_mremap(vm_current(), old, oldlen, newlen, flags, newaddr);
}
SYSCALL_REGISTER(SYS_mremap, sys_mremap, PARTIAL, "anonymous memory only");

static long sys_madvise(SYSARGS)
{
	long addr = a0, len = a1, advice = a2;
	return len < 0 ? -EINVAL : vm_madvise(vm_current(), addr, len, advice);
}
SYSCALL_REGISTER(SYS_madvise, sys_madvise, PARTIAL,
    "MADV_DONTNEED and MADV_FREE give memory back; other advice ignored");

static long sys_msync(SYSARGS)
{
	long addr = a0, len = a1, flags = a2;
	return len < 0 ? -EINVAL : vm_msync(vm_current(), addr, len, flags);
}
SYSCALL_REGISTER(SYS_msync, sys_msync, FULL, "");

static long sys_brk(SYSARGS)
{
	long addr = a0;
	return vm_brk(vm_current(), addr);
}
SYSCALL_REGISTER(SYS_brk, sys_brk, FULL, "");
