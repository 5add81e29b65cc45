/*
 * The ELF note that marks rumprun's ELF files (shared by the Python tools,
 * rumprun/toolchain/note.py, and any C or assembly code; tests/test_cli_cc.py checks
 * that both definitions agree).
 *
 * Section ".note.rumprun", SHT_NOTE, 4-byte aligned.  Note name "rumprun"
 * (namesz 8, counting the NUL).  Types:
 *   RUMPRUN_NOTE_APP    an unbaked app (rumprun-cc's output); desc is the
 *                       architecture, "x86_64", NUL-padded to 8 bytes.
 *   RUMPRUN_NOTE_BAKED  a bootable image (rumprun-bake's output); desc is the
 *                       bake configuration's name, NUL-terminated and
 *                       NUL-padded to a multiple of 4 bytes.
 */
#ifndef RUMPRUN_NOTE_H
#define RUMPRUN_NOTE_H

#define RUMPRUN_NOTE_SECTION ".note.rumprun"
#define RUMPRUN_NOTE_NAME "rumprun"
#define RUMPRUN_NOTE_APP 1
#define RUMPRUN_NOTE_BAKED 2
#define RUMPRUN_NOTE_ARCH "x86_64"

#endif
