/*
 * The constants the image and the tools share: what the launcher reads from
 * a running guest, what the bake writes into an image, where the
 * configuration is found.  C includes this file; rumprun/abi.py reads the
 * same file, so the two sides cannot disagree.
 *
 * Python parses it: keep every definition on one line as
 * "#define RUMPRUN_NAME VALUE", VALUE a string literal without escapes, an
 * integer (decimal or hex), or a product of integers in parentheses.
 */
#ifndef RUMPRUN_ABI_H
#define RUMPRUN_ABI_H

/*
 * Ending the machine.  The kernel prints the status line last on the
 * platform console, then writes the status byte to QEMU's isa-debug-exit
 * port, which makes QEMU exit with ((status & 0xff) << 1) | 1.  The line
 * carries statuses above 127 that QEMU's exit code cannot; the launcher
 * trusts it only when QEMU's exit code agrees.
 */
#define RUMPRUN_STATUS_LINE "=== rumprun: exit status %d ==="
#define RUMPRUN_DEBUG_EXIT_PORT 0xf4
/* The value platform/hw/kvmprobe.S writes once it has run SSE code. */
#define RUMPRUN_KVM_PROBE_VALUE 0x2a

/*
 * The bake replaces every hlt (0xf4) in app code, musl's deliberate crash,
 * with this opcode, invalid in 64-bit mode, so it traps and is reported as
 * the crash it is (rumprun/toolchain/linkobjs.py, platform/hw/cpu.c).
 */
#define RUMPRUN_HLT_OPCODE 0xf4
#define RUMPRUN_CRASH_OPCODE 0xd6

/*
 * Where the configuration (rumprun's JSON) comes from, first found wins:
 * the fw_cfg file of this name (QEMU: -fw_cfg name=...,file=...), the
 * first multiboot module (ISOs through GRUB), the multiboot command line
 * from its first '{' (hand-written qemu -kernel ... -append).
 */
#define RUMPRUN_FW_CFG_CONFIG "opt/rumprun/config"

/*
 * Memory.  The main thread's stack by default (Linux's RLIMIT_STACK;
 * committed page by page as it is used) and the least the "stack" key may
 * ask for; what the kernel takes at boot beyond the image (first kernel
 * stack, the page allocator's bitmap, page tables): the launcher refuses
 * -M below the image's end plus this.
 */
#define RUMPRUN_DEFAULT_STACK_SIZE (8 * 1024 * 1024)
#define RUMPRUN_MIN_STACK_SIZE (64 * 1024)
#define RUMPRUN_BOOT_RESERVE (512 * 1024)

/*
 * Tables the bake generates (rumprun/toolchain/linkobjs.py): the program
 * table (struct baked_program, kernel/include/kernel/program.h: name, main,
 * libc start, the bounds of the app's .data and .bss, the bounds of a
 * static executable's bytes; nine 8-byte words per entry, ended by an
 * entry of zeroes) and the
 * symbol table (struct bmk_symbol, platform/bmk/include/bmk/symbols.h:
 * address, size, name offset).
 */
#define RUMPRUN_PROGRAM_ENTRY_SIZE 72
#define RUMPRUN_SYMBOL_ENTRY_SIZE 16

/*
 * Where a static executable linked at fixed addresses (ET_EXEC) may lie on
 * x86_64 (platform/x86_64/include/x86_64/layout.h, which checks these):
 * above the null guard and below the image window, or above the image
 * window and below the application area.  The bake refuses others.
 */
#define RUMPRUN_EXEC_FIXED_LO 0x10000
#define RUMPRUN_EXEC_IMAGE_WINDOW_LO 0x40000000
#define RUMPRUN_EXEC_IMAGE_WINDOW_HI 0x80000000
#define RUMPRUN_EXEC_FIXED_HI 0x100000000000

#endif
