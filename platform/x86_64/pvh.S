/*
 * The PVH boot protocol (Xen's x86/HVM direct boot ABI, also QEMU's for
 * -kernel on microvm and pc): an ELF note of type XEN_ELFNOTE_PHYS32_ENTRY
 * gives the physical address of the 32-bit entry, which starts with paging
 * off and EBX = the physical address of struct hvm_start_info.
 */
#include <x86_64/layout.h>
#include <x86_64/pvh.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a"
	.align 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long PHYS(pvh_start32)

	.section .text.boot, "ax"
	.code32
pvh_start32:
	movl $PVH_START_MAGIC, %edi
	movl %ebx, %esi
	jmp x86_boot32
