/*
 * Ways into and out of ring-0 C code: exception and interrupt stubs, the
 * system call entry, thread context switches and the start of app code.
 * All of them build or consume a struct trapframe (include/x86_64/x86.h).
 */
#include <x86_64/x86.h>

.macro PUSH_GPRS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro POP_GPRS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
.endm

	.text

/* Exceptions: vectors 0-31.  Those without a CPU error code push 0. */
.macro TRAP_NOERR n
	.globl x86_trap\n
x86_trap\n:
	pushq $0
	pushq $\n
	jmp trap_common
.endm
.macro TRAP_ERR n
	.globl x86_trap\n
x86_trap\n:
	pushq $\n
	jmp trap_common
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21

trap_common:
	PUSH_GPRS
	cld
	movq %rsp, %rdi
	call x86_trap		/* returns only when it resolved the trap */
	jmp trap_return

/* Interrupts, vectors 32-47: x86_intr(frame), which the machine provides
 * (the PIC on hw, the event channel upcall on xen). */
.macro IRQ n
	.globl x86_irq\n
x86_irq\n:
	pushq $0
	pushq $(32 + \n)
	jmp irq_common
.endm
IRQ 0
IRQ 1
IRQ 2
IRQ 3
IRQ 4
IRQ 5
IRQ 6
IRQ 7
IRQ 8
IRQ 9
IRQ 10
IRQ 11
IRQ 12
IRQ 13
IRQ 14
IRQ 15

irq_common:
	PUSH_GPRS
	cld
	movq %rsp, %rdi
	call x86_irq		/* the machine's x86_intr, then maybe preemption */
	jmp trap_return

/*
 * App code interrupted while an interrupt waited for the CPU (cpu.c's
 * x86_irq sent it here): on the thread's kernel stack, at a copy of the
 * interrupted frame (16-byte aligned), interrupts off.  The FPU and SSE
 * registers are the app's and other threads will use them: fxsave them
 * (the kernel enables no AVX state, so fxsave holds it all).
 */
	.globl x86_preempt_stub
x86_preempt_stub:
	subq $512, %rsp
	fxsave (%rsp)
	call bmk_app_preempted
	fxrstor (%rsp)
	addq $512, %rsp
	jmp trap_return

/* App code faulted (x86_trap reported it and sent it here): rdi = signal,
 * rsp = the thread's kernel stack top. */
	.globl x86_fault_stub
x86_fault_stub:
	call bmk_app_fault
	ud2

/*
 * The app's `syscall`: RCX = return address, R11 = RFLAGS, interrupts off
 * (FMASK).  We are in ring 0 already, so no stack switch happened: the app
 * may have live data in the 128-byte red zone below RSP.  Move to the
 * thread's kernel stack at once, build a trap frame there (the layout an
 * interrupt leaves, so crash reports and x86_frame_return read one shape)
 * and never touch the app's stack.  The return is below: neither sysret
 * (it would drop to ring 3) nor iretq (slow, and needless within ring 0).
 */
	.globl x86_syscall_entry
x86_syscall_entry:
	movq %rsp, x86_scratch_rsp(%rip)
	movq x86_kstack_top(%rip), %rsp
	pushq $GDT_KDATA		/* ss */
	pushq x86_scratch_rsp(%rip)	/* rsp */
	pushq %r11			/* rflags */
	pushq $GDT_KCODE		/* cs */
	pushq %rcx			/* rip */
	pushq $0			/* error */
	pushq $-1			/* vector: marks a system call */
	PUSH_GPRS
	cld
	movq %rsp, %rdi
	call x86_syscall
	/*
	 * Back to the app without iretq (slow, and needless within ring 0):
	 * RCX holds the return address and R11 the flags, as Linux leaves
	 * them after a system call.  Restore the flags from the kernel stack,
	 * then load the app's stack pointer and jump: nothing is written to
	 * the app's stack, so its red zone survives.
	 */
	.globl x86_syscall_return
x86_syscall_return:
	POP_GPRS
	pushq 32(%rsp)			/* rflags: vector, error, rip, cs lie below */
	popfq
	movq 40(%rsp), %rsp		/* the app's rsp; mov leaves the flags alone */
	jmp *%rcx

	.globl trap_return
trap_return:
	POP_GPRS
	addq $16, %rsp			/* vector, error */
	iretq

/* void x86_frame_return(struct trapframe *tf): resume the system call
 * context in tf (its rcx is its rip, as after any system call). */
	.globl x86_frame_return
x86_frame_return:
	movq %rdi, %rsp
	jmp x86_syscall_return

/*
 * void x86_switch(void **save_sp, void *load_sp): save the callee-saved
 * registers of the running thread on its stack, record the stack pointer
 * in *save_sp, and resume the thread whose stack pointer is load_sp.
 */
	.globl x86_switch
x86_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* First code of every new thread: x86_switch "returns" here. */
	.globl x86_thread_trampoline
x86_thread_trampoline:
	xorl %ebp, %ebp
	call bmk_thread_entry
	ud2

/* void rumpuser_ext_app_start(void *stack, void (*entry)(void)).  App code
 * runs with interrupts on, so the machine's timer can watch for a thread
 * that never yields (entry only calls the app's start-up); system calls
 * turn them off (FMASK) and their return brings back the app's flags, so
 * the kernel proper runs with them off. */
	.globl rumpuser_ext_app_start
rumpuser_ext_app_start:
	movq %rdi, %rsp
	xorl %ebp, %ebp
	sti
	call *%rsi
	ud2

/* void rumpuser_ext_app_exec(void *stack, void *entry): as above, but the
 * way Linux enters a new program: RSP at argc, RDX (the finaliser to
 * register) and RBP zero, a jump rather than a call. */
	.globl rumpuser_ext_app_exec
rumpuser_ext_app_exec:
	movq %rdi, %rsp
	xorl %ebp, %ebp
	xorl %edx, %edx
	sti
	jmp *%rsi

	.bss
	.align 8
	.globl x86_kstack_top, x86_scratch_rsp
x86_kstack_top:	.quad 0
x86_scratch_rsp:	.quad 0
