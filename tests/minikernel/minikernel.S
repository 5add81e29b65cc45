/*
 * A minimal multiboot guest for the launcher's tests (not rumprun's kernel):
 * on COM1 it prints the command line QEMU passed, then the fw_cfg file
 * opt/rumprun/config (the launcher's configuration) when there is one, then
 * MESSAGE (a -D define, a C string); then it writes STATUS to isa-debug-exit
 * (or, built with -DRESET, resets the machine by a triple fault instead).
 * Linked at 1 MiB as an ELF64 whose multiboot header carries load addresses
 * (flags bit 16), like platform/hw's images.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000
#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_FILE_DIR 0x19
#define COM1 0x3f8

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
1:	call print_config
	movl $message, %esi
	call puts
#ifdef RESET
	lidt null_idt			/* no IDT: the next trap triple-faults */
	int3
#endif
	movl $STATUS, %eax
	movw $0xf4, %dx
	outl %eax, %dx
2:	hlt
	jmp 2b

puts:	movw $COM1, %dx
3:	lodsb
	testb %al, %al
	jz 4f
	outb %al, %dx
	jmp 3b
4:	ret

/* Read one big-endian 32-bit word from fw_cfg's data port into %eax. */
read_be32:
	movw $FW_CFG_DATA, %dx
	movl $4, %ecx
5:	shll $8, %eax
	inb %dx, %al
	loop 5b
	ret

/* Find opt/rumprun/config in fw_cfg's file directory and print it, then a
 * newline.  (Without fw_cfg the signature read gives 0xff bytes and the
 * count is huge, but no entry matches: the test machines always have it.) */
print_config:
	movw $FW_CFG_SEL, %dx
	movw $FW_CFG_FILE_DIR, %ax
	outw %ax, %dx
	call read_be32
	movl %eax, %ebx			/* entries left */
6:	testl %ebx, %ebx
	jz 9f
	decl %ebx
	movl $entry, %edi
	movl $64, %ecx
	movw $FW_CFG_DATA, %dx
	rep insb
	movl $entry + 8, %esi
	movl $config_name, %edi
	movl $config_name_len, %ecx
	repe cmpsb
	jne 6b
	movl entry, %ecx
	bswap %ecx			/* size */
	movzwl entry + 4, %eax
	xchgb %al, %ah			/* select */
	movw $FW_CFG_SEL, %dx
	outw %ax, %dx
7:	jecxz 8f
	movw $FW_CFG_DATA, %dx
	inb %dx, %al
	movw $COM1, %dx
	outb %al, %dx
	decl %ecx
	jmp 7b
8:	movl $newline, %esi
	call puts
9:	ret

	.data
newline: .asciz "\n"
message: .asciz MESSAGE
config_name: .asciz "opt/rumprun/config"
	.set config_name_len, . - config_name
	.balign 8
null_idt: .word 0
	.long 0
	.bss
entry:	.space 64
	.space BSS_BYTES
	.section .note.GNU-stack, "", @progbits
