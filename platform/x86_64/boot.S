/*
 * From a 32-bit boot protocol to long mode.  The loader leaves us in
 * 32-bit protected mode with paging off, so this code runs at physical
 * addresses (PHYS(), x86_64/layout.h) until it can jump to the image
 * window.
 *
 * Entry: x86_boot32, with EDI = the boot protocol's magic and ESI = its
 * information's physical address; the protocol's own entry stub puts them
 * there (hw/multiboot.S: multiboot; pvh.S: PVH, for Xen and QEMU).  In
 * long mode, x86_boot(magic, info), which the machine provides.
 *
 * Boot page tables (all in .bss): the first 4 GiB of physical memory
 * with 2 MiB pages, seen three ways: identity (only for the jump to long
 * mode; x86_mmu_init removes it), the image window (VA = PA + 1 GiB, where
 * the image's symbols are) and the direct map (X86_DIRECT_MAP + PA).
 */
#include <x86_64/x86.h>
#include <x86_64/layout.h>

#define BOOT_TABLE_PAGES 7	/* PML4, two PDPTs, four PDs */

	/* image.ld checks that the image window it links for is ours. */
	.globl x86_image_vbase
	.set x86_image_vbase, X86_IMAGE_VBASE

	.section .text.boot, "ax"
	.code32
	.globl x86_boot32
x86_boot32:
	cli
	cld
	movl $PHYS(boot_stack_top), %esp

	/* Zero the page tables (bss may not be cleared by every loader). */
	pushl %edi
	movl $PHYS(boot_pml4), %edi
	xorl %eax, %eax
	movl $(BOOT_TABLE_PAGES * 4096 / 4), %ecx
	rep stosl
	popl %edi

	/* PML4[0]: the low half's first 512 GiB; PML4[256]: the direct map. */
	movl $(PHYS(boot_pdpt_low) + PTE_P + PTE_W), PHYS(boot_pml4)
	movl $(PHYS(boot_pdpt_direct) + PTE_P + PTE_W), PHYS(boot_pml4) + 256 * 8
	/* Identity (PDPT[0]) and image window (PDPT[1]): the first GiB. */
	movl $(PHYS(boot_pd) + PTE_P + PTE_W), PHYS(boot_pdpt_low)
	movl $(PHYS(boot_pd) + PTE_P + PTE_W), PHYS(boot_pdpt_low) + 8
	/* Direct map: PDPT[0..3] -> the four page directories. */
	movl $(PHYS(boot_pd) + PTE_P + PTE_W), %eax
	movl $PHYS(boot_pdpt_direct), %ebx
	movl $4, %ecx
1:	movl %eax, (%ebx)
	addl $4096, %eax
	addl $8, %ebx
	loop 1b

	/* 2048 2 MiB pages: physical 0 .. 4 GiB */
	movl $PHYS(boot_pd), %ebx
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
	movl $PHYS(boot_pml4), %eax
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

	lgdt PHYS(gdt64_ptr32)
	ljmp $GDT_KCODE, $PHYS(long_mode_identity)

	.code64
long_mode_identity:		/* 64-bit, still at the physical address */
	movq $long_mode, %rax
	jmp *%rax
long_mode:			/* in the image window from here on */
	lgdt gdt64_ptr(%rip)
	movl $GDT_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	fninit
	/* edi = magic, esi = info (physical), zero-extended */
	movl %edi, %edi
	movl %esi, %esi
	call x86_boot
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
gdt64_ptr32:			/* for lgdt in 32-bit mode: the physical base */
	.word gdt64_end - gdt64 - 1
	.long PHYS(gdt64)
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.quad gdt64

	.section .bss
	.align 4096
	.globl boot_pml4, boot_pdpt_low, boot_pdpt_direct, boot_pd
boot_pml4:		.space 4096
boot_pdpt_low:		.space 4096
boot_pdpt_direct:	.space 4096
boot_pd:		.space 4 * 4096
	.align 16
boot_stack:	.space 16384
boot_stack_top:
