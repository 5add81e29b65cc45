/*
 * Multiboot entry: the boot loader leaves us in 32-bit protected mode with
 * paging off, EAX = multiboot magic, EBX = the multiboot information.  We
 * identity-map the first 4 GiB with 2 MiB pages, enter long mode and call
 * hw_boot(magic, info) on the boot stack.
 */
#include <x86_64/x86.h>

#define MB_MAGIC	0x1BADB002
/* page-align modules, give us the memory map, use the a.out-kludge fields */
#define MB_FLAGS	0x00010003

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header		/* header_addr */
	.long _image_start	/* load_addr */
	.long _edata		/* load_end_addr */
	.long _end		/* bss_end_addr */
	.long _start32		/* entry_addr */

	.section .text.boot, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	movl %eax, %edi			/* kept for hw_boot */
	movl %ebx, %esi
	movl $boot_stack_top, %esp

	/* Zero the page tables (bss may not be cleared by every loader). */
	movl $boot_pml4, %ebx
	push %edi
	movl %ebx, %edi
	xorl %eax, %eax
	movl $(6 * 4096 / 4), %ecx
	rep stosl
	pop %edi

	/* PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3 */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pml4
	movl $boot_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl $boot_pdpt, %ebx
	movl $4, %ecx
1:	movl %eax, (%ebx)
	addl $4096, %eax
	addl $8, %ebx
	loop 1b

	/* 2048 2 MiB pages: 4 GiB identity */
	movl $boot_pd, %ebx
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	xorl %edx, %edx			/* high half of the entry */
	movl $2048, %ecx
2:	movl %eax, (%ebx)
	movl %edx, 4(%ebx)
	addl $0x200000, %eax
	adcl $0, %edx
	addl $8, %ebx
	loop 2b

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3

	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_SCE), %eax
	wrmsr

	/* paging, write protect in ring 0, FPU errors native, SSE allowed */
	movl %cr0, %eax
	andl $~(CR0_EM | CR0_TS), %eax
	orl $(CR0_PG | CR0_PE | CR0_WP | CR0_MP | CR0_NE), %eax
	movl %eax, %cr0

	lgdt gdt64_ptr
	ljmp $GDT_KCODE, $long_mode

	.code64
long_mode:
	movl $GDT_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	fninit
	/* edi = magic, esi = info, zero-extended by the 32-bit moves above */
	movl %edi, %edi
	movl %esi, %esi
	call hw_boot
3:	hlt
	jmp 3b

	.data			/* writable: x86_cpu_init fills in the TSS */
	.align 16
	.globl gdt64
gdt64:
	.quad 0
	.quad 0x00209a0000000000	/* GDT_KCODE: 64-bit ring 0 code */
	.quad 0x0000920000000000	/* GDT_KDATA */
	.quad 0, 0			/* GDT_TSS: filled in by x86_cpu_init */
gdt64_end:
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.quad gdt64

	.section .bss
	.align 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:	.space 4096
boot_pdpt:	.space 4096
boot_pd:	.space 4 * 4096
	.align 16
boot_stack:	.space 16384
boot_stack_top:
