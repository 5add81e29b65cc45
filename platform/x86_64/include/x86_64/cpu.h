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
 * the syscall MSRs.  Traps report on the console and end the machine. */
void x86_cpu_init(void);

/* random.c: the generator behind bmk_platform_random (RDRAND when the CPU
 * has it, mixed into ChaCha20); seed it once the clocks run. */
void x86_random_init(void);

/* entry.S */
extern uint64_t x86_kstack_top;		/* where the syscall entry switches to */
void x86_switch(void **save, void *load);
void x86_thread_trampoline(void);
void x86_frame_return(struct trapframe *tf) __attribute__((noreturn));
void x86_syscall_entry(void);

/* Provided by the machine: an interrupt arrived on vector tf->vector
 * (32-47), on its own stack, with interrupts off.  It must not touch the
 * scheduler's structures (the interrupted code may be inside them). */
void x86_intr(struct trapframe *tf);

#endif
