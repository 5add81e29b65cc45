/*
 * A minimal multiboot guest for the launcher's tests (not rumprun's kernel):
 * it prints the command line QEMU passed, then MESSAGE (a -D define, a C
 * string), on COM1, and writes STATUS to isa-debug-exit.  Linked at 1 MiB
 * as an ELF64 whose multiboot header carries load addresses (flags bit 16),
 * like platform/hw's images.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header, _image_start, _edata, _end, start

	.text
	.code32
	.globl start
start:
	testl $4, (%ebx)		/* multiboot info: cmdline present? */
	jz 1f
	movl 16(%ebx), %esi
	call puts
	movl $newline, %esi
	call puts
1:	movl $message, %esi
	call puts
	movl $STATUS, %eax
	movw $0xf4, %dx
	outl %eax, %dx
2:	hlt
	jmp 2b

puts:	movw $0x3f8, %dx
3:	lodsb
	testb %al, %al
	jz 4f
	outb %al, %dx
	jmp 3b
4:	ret

	.data
newline: .asciz "\n"
message: .asciz MESSAGE
	.bss
	.space BSS_BYTES
	.section .note.GNU-stack, "", @progbits
