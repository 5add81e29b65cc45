/*
 * A tiny multiboot v1 kernel for the ISO tests (not a rumprun kernel).
 * It prints its command line, the first multiboot module's string and
 * contents to COM1, then the rumprun status line, and exits with status 3
 * through isa-debug-exit (port 0xf4); without that device it halts.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003     /* page-aligned modules, memory info, a.out kludge */
#define EXIT_STATUS 3

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header, _load_start, _load_end, _bss_end, _start

	.text
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	mov %ebx, %ebp                  /* multiboot information */
	cmp $0x2BADB002, %eax
	jne nomods
	mov $s_cmdline, %esi
	call puts
	testl $4, (%ebp)
	jz 1f
	mov 16(%ebp), %esi
	call puts
1:	mov $s_nl, %esi
	call puts
	testl $8, (%ebp)
	jz nomods
	cmpl $0, 20(%ebp)
	je nomods
	mov 24(%ebp), %edi              /* first module */
	mov $s_modstr, %esi
	call puts
	mov 8(%edi), %esi
	call puts
	mov $s_modbody, %esi
	call puts
	mov 0(%edi), %esi
	mov 4(%edi), %ebx
2:	cmp %ebx, %esi
	jae 3f
	movb (%esi), %al
	call putc
	inc %esi
	jmp 2b
3:	mov $s_end, %esi
	call puts
	mov $s_exit, %esi
	call puts
	mov $EXIT_STATUS, %eax
	mov $0xf4, %dx
	outl %eax, %dx
	jmp halt
nomods:
	mov $s_nomod, %esi
	call puts
	mov $1, %eax
	mov $0xf4, %dx
	outl %eax, %dx
halt:	cli
	hlt
	jmp halt

/* putc: %al to COM1 once the transmitter is empty */
putc:
	push %edx
	push %eax
	mov $0x3fd, %dx
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	pop %eax
	mov $0x3f8, %dx
	outb %al, %dx
	pop %edx
	ret

/* puts: the NUL-terminated string at %esi */
puts:
	push %esi
5:	movb (%esi), %al
	testb %al, %al
	jz 6f
	call putc
	inc %esi
	jmp 5b
6:	pop %esi
	ret

	.section .rodata
s_cmdline: .asciz "isokernel: cmdline ["
s_nl:      .asciz "]\r\n"
s_modstr:  .asciz "isokernel: module string ["
s_modbody: .asciz "]\r\nisokernel: module begin\r\n"
s_end:     .asciz "\r\nisokernel: module end\r\n"
s_exit:    .asciz "=== rumprun: exit status 3 ===\r\n"
s_nomod:   .asciz "isokernel: no multiboot module\r\n=== rumprun: exit status 1 ===\r\n"

	.bss
	.align 16
	.space 4096
stack_top:

/* Marks the file as a baked rumprun image (type 2, desc = config name). */
	.section .note.rumprun, "", @note
	.align 4
	.long 8, 11, 2
	.asciz "rumprun"
	.asciz "hw_generic"
	.align 4
