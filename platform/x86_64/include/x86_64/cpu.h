/*
 * The x86_64 processor code (platform/x86_64) that the hw and xen machines
 * share: a PVH guest runs in ring 0 of its container as a PC kernel does,
 * so descriptor tables, traps, the ring-0 system call entry, context
 * switches and thread-local storage are the same for both.  One section
 * per file; the last one lists what the machine must provide.
 */
#ifndef X86_64_CPU_H
#define X86_64_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <x86_64/x86.h>

/* cpu.c: TSS with interrupt stacks, IDT (traps 0-21, interrupts 32-47),
 * the syscall MSRs.  Traps report on the console and end the machine,
 * except page faults the machine resolves (x86_page_fault). */
void x86_cpu_init(void);

/* random.c: the generator behind bmk_platform_random (RDRAND when the CPU
 * has it, else ChaCha20 seeded from the clocks at its first use); call
 * at boot, before the first bmk_platform_random. */
void x86_random_init(void);

/* boot.S: from a 32-bit boot protocol's entry stub to x86_boot. */
void x86_boot32(void);

/* pvh.c: the PVH start information (physical address info) into bootinfo. */
void x86_pvh_init(uint32_t info);

/*
 * bootinfo.c: what the boot protocol hands over, all addresses physical.
 * x86_boot_reserve: a range in use (boot structures, modules).
 * x86_boot_ram: a range of RAM from the memory map.
 * x86_boot_memory_done: RAM minus the reserved ranges (and the image) to
 *   the page allocator; ends the machine when there is none.
 * x86_boot_config: the configuration (copied); x86_boot_cmdline: the
 *   configuration from the command line's first '{' unless there is one,
 *   and the image's name from its first word if first_word_is_image.
 * x86_boot_module: a boot module other than the configuration (a disk
 *   image), its name copied.
 * It provides bmk_platform_config, bmk_platform_image_name and
 * bmk_platform_module.
 */
void x86_boot_reserve(uint64_t start, uint64_t end);
void x86_boot_ram(uint64_t start, uint64_t end);
void x86_boot_memory_done(void);
void x86_boot_config(const char *text, size_t len);
void x86_boot_cmdline(const char *cmdline, int first_word_is_image);
void x86_boot_module(uint64_t start, uint64_t end, const char *name);

/*
 * mmu.c: the page tables (layout.h draws the address space).
 * x86_mmu_init: after the page allocator has memory: the image's own
 *   mappings with their protections, the identity map gone.
 * x86_phys_to_virt: where physical address pa is in the direct map (all of
 *   memory, and the first 4 GiB with its device memory).
 * x86_virt_to_phys: the physical address behind any mapped va, or
 *   X86_NO_PHYS.  Valid for that one page: kernel memory from the page
 *   allocator is physically contiguous, application memory is not.
 * x86_mmu_direct_map: add physical [pa, pa + len) to the direct map (memory
 *   above 4 GiB); 0, ENOMEM or EINVAL (beyond the direct map's 64 TiB).
 * x86_mmio_map: device memory at physical pa as a kernel pointer (uncached
 *   above 4 GiB), or NULL when there is no memory for the page tables.
 * It provides rumpuser_ext_protect, rumpuser_ext_vm_* and x86_page_fault.
 */
void x86_mmu_init(void);
void *x86_phys_to_virt(uint64_t pa);
#define X86_NO_PHYS (~0ULL)
uint64_t x86_virt_to_phys(const void *va);
int x86_mmu_direct_map(uint64_t pa, uint64_t len);
void *x86_mmio_map(uint64_t pa, uint64_t len);

/* entry.S */
extern uint64_t x86_kstack_top; /* where the syscall entry switches to */
void x86_switch(void **save, void *load);
void x86_thread_trampoline(void);
void x86_frame_return(struct trapframe *tf) __attribute__((noreturn));
void x86_syscall_entry(void);
/* Where cpu.c sends an app thread interrupted or faulting in its own code:
 * the thread's kernel stack (free while app code runs), interrupts off.
 * x86_preempt_stub: rsp at a copy of the interrupted frame; saves the
 * FPU/SSE state, bmk_app_preempted(), then resumes the frame.
 * x86_fault_stub: rdi the signal; bmk_app_fault(signo), never back. */
void x86_preempt_stub(void);
void x86_fault_stub(void);

/* Provided by the machine: the boot protocol's magic and information
 * (physical address), in long mode on the boot stack.  Never returns. */
void x86_boot(uint32_t magic, uint32_t info) __attribute__((noreturn));

/* Provided by the machine: an interrupt arrived on vector tf->vector
 * (32-47), on its own stack, with interrupts off.  It must not touch the
 * scheduler's structures (the interrupted code may be inside them). */
void x86_intr(struct trapframe *tf);

/* mmu.c: a page fault at addr with the CPU's error code, on the trap stack.  X86_FAULT_RESOLVED (a lazily
 * committed page is there now: the instruction runs again), X86_FAULT_BAD
 * (a real fault: reported), X86_FAULT_NOMEM (no memory to commit it). */
enum { X86_FAULT_RESOLVED, X86_FAULT_BAD, X86_FAULT_NOMEM };
int x86_page_fault(uintptr_t addr, uint64_t error);

#endif
