/*
 * Multiboot (v1): the header boot loaders look for in the image's first
 * 8 KiB (image.ld puts .multiboot first), and the entry they jump to with
 * EAX = magic and EBX = the information's physical address.
 */
#include <x86_64/layout.h>

#define MB_MAGIC	0x1BADB002
/* page-align modules, give us the memory map, use the a.out-kludge fields */
#define MB_FLAGS	0x00010003

	.section .multiboot, "a"
	.align 4
mb_header:			/* its addresses are physical */
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long PHYS(mb_header)	/* header_addr */
	.long PHYS(_image_start)	/* load_addr */
	.long PHYS(_edata)	/* load_end_addr */
	.long PHYS(_end)	/* bss_end_addr */
	.long PHYS(_start32)	/* entry_addr */

	.section .text.boot, "ax"
	.code32
	.globl _start32
_start32:
	movl %eax, %edi
	movl %ebx, %esi
	jmp x86_boot32
