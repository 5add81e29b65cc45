/*
 * A multiboot kernel that tells the launcher whether KVM works here: it
 * enables SSE, runs SSE instructions (what fails under broken nested
 * virtualisation) and writes RUMPRUN_KVM_PROBE_VALUE to isa-debug-exit.
 */
#include <rumprun_abi.h>

	.code32
	.section .text
	.align 4
	.long 0x1BADB002
	.long 0x00000000
	.long -0x1BADB002
	.globl _start
_start:
	movl %cr0, %eax
	andl $~0x04, %eax		/* clear EM */
	orl $0x22, %eax			/* MP, NE */
	movl %eax, %cr0
	movl %cr4, %eax
	orl $0x600, %eax		/* OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	xorps %xmm0, %xmm0
	addps %xmm0, %xmm0
	movd %xmm0, %eax
	movb $RUMPRUN_KVM_PROBE_VALUE, %al
	outb %al, $RUMPRUN_DEBUG_EXIT_PORT
1:	hlt
	jmp 1b
