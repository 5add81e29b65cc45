"""Small objects the bake generates and links into an image.

- The program table: one entry per baked app (its name, its main and its
  own musl's __libc_start_main, renamed apart so several apps can share an
  image, and the bounds of its writable data) or prebuilt static executable
  (its bytes, which the kernel's ELF loader loads), and the main stack size
  when the bake sets one.  The kernel starts programs from it (kernel/program.c)
  and restores their data before each run.
- The symbol table: function names and addresses of the image itself, so a
  crash report can say where it happened (platform/hw/symbols.c).

The C side reads both layouts; their definitions are in
kernel/include/kernel/program.h and platform/hw/include/hw/symbols.h.
"""

import re
from pathlib import Path

from rumprun import abi, host
from rumprun.errors import RumprunError

PROGRAM_TABLE = "rumprun_programs"
STACK_SIZE = "rumprun_stack_size"
SYMTAB = "rumprun_symtab"
SYMTAB_COUNT = "rumprun_symtab_count"
SYMTAB_NAMES = "rumprun_symtab_names"


def program_symbols(index):
    """The names app INDEX's main and __libc_start_main get in the image."""
    return f"__rumprun_main_{index}", f"__rumprun_libc_start_main_{index}"


RENAMED = re.compile(r"^__rumprun_(main|libc_start_main)_\d+$")


def _original_name(match):
    return "main" if match.group(1) == "main" else "__libc_start_main"


def assemble(source, workdir, stem):
    """Assemble SOURCE (text) into WORKDIR/STEM.o and return its path."""
    workdir = Path(workdir)
    src, obj = workdir / f"{stem}.S", workdir / f"{stem}.o"
    src.write_text(source + '\t.section .note.GNU-stack,"",@progbits\n')
    host.run_tool(
        ["gcc", "-c", "-o", obj, src],
        f"assembling the generated {stem} failed (check that gcc and binutils are installed)",
    )
    return obj


def _asciz(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _marker(kind, index, end):
    """A section that sorts before (or after) every section of program
    INDEX's KIND (data or bss) in the image's linker script."""
    flags = '"aw",@nobits' if kind == "bss" else '"aw"'
    return f'\t.section ".rumprun.{kind}.{index}.{"~" if end else "!"}",{flags}'


def program_table_object(names, workdir, stack_size=None, executables=None):
    """The program table for apps NAMES (in bake order); STACK_SIZE: the
    main stack's size in bytes, when not the kernel's default;
    EXECUTABLES: {index: path} of the programs that are prebuilt static
    executables, whose bytes the table carries (.incbin) for the kernel's
    ELF loader.

    Each entry: name, main, __libc_start_main, the bounds of the app's
    .data and .bss, then the bounds of an executable's bytes
    (kernel/include/kernel/program.h).  An app's data bounds are markers:
    the linker script sorts each app's renamed sections (rename_program)
    between its two markers."""
    executables = executables or {}
    lines = ['\t.section .rodata.rumprun_programs,"a"', "\t.balign 8"]
    if stack_size is not None:
        lines += [f"\t.globl {STACK_SIZE}", f"{STACK_SIZE}:\t.quad {stack_size}"]
    lines += [f"\t.globl {PROGRAM_TABLE}", f"{PROGRAM_TABLE}:"]
    for i, _ in enumerate(names):
        if i in executables:
            lines.append(f"\t.quad .Lname{i}, 0, 0, 0, 0, 0, 0, .Lexe{i}, .Lexe_end{i}")
            continue
        main, start = program_symbols(i)
        lines.append(f"\t.quad .Lname{i}, {main}, {start}")
        lines.append(f"\t.quad .Ldata{i}, .Ldata_end{i}, .Lbss{i}, .Lbss_end{i}, 0, 0")
    lines.append("\t.quad " + ", ".join(["0"] * (abi.PROGRAM_ENTRY_SIZE // 8)))
    for i, name in enumerate(names):
        lines.append(f".Lname{i}:\t.asciz {_asciz(name)}")
    for i, _ in enumerate(names):
        if i in executables:
            lines += [
                f'\t.section .rodata.rumprun_exe.{i},"a"',
                "\t.balign 16",
                f".Lexe{i}:",
                f"\t.incbin {_asciz(str(executables[i]))}",
                f".Lexe_end{i}:",
            ]
            continue
        for kind in ("data", "bss"):
            lines += [
                _marker(kind, i, False),
                f".L{kind}{i}:",
                _marker(kind, i, True),
                f".L{kind}_end{i}:",
            ]
    return assemble("\n".join(lines) + "\n", workdir, "rumprun-programs")


def executable_copy(exe, index, workdir):
    """A copy of static executable EXE for the image, without its debugging
    sections (its loaded bytes are the same; the image is smaller)."""
    out = Path(workdir) / f"exe{index}"
    host.run_tool(["objcopy", "--strip-debug", exe, out], f"preparing {exe} for the bake failed")
    return out


def symbol_table_object(functions, workdir):
    """The symbol table: FUNCTIONS is a list of (address, size, name).

    Programs' renamed entry points are shown as the names their authors
    wrote (main, __libc_start_main)."""
    functions = sorted((a, s, RENAMED.sub(_original_name, n)) for a, s, n in functions)
    lines = [
        '\t.section .rodata.rumprun_symtab,"a"',
        "\t.balign 8",
        f"\t.globl {SYMTAB}, {SYMTAB_COUNT}, {SYMTAB_NAMES}",
        f"{SYMTAB_COUNT}:\t.quad {len(functions)}",
        f"{SYMTAB}:",
    ]
    offset = 0
    for address, size, name in functions:
        lines.append(f"\t.quad {address:#x}\n\t.long {size}, {offset}")
        offset += len(name.encode()) + 1
    lines.append(f"{SYMTAB_NAMES}:")
    lines += [f"\t.asciz {_asciz(name)}" for _, _, name in functions]
    return assemble("\n".join(lines) + "\n", workdir, "rumprun-symtab")


PROGRAM_LDSCRIPT = host.APP_TOOLS / "program.ld"
_SECTION_LINE = re.compile(r"^Disassembly of section (\S+):$")
_HLT_LINE = re.compile(r"^\s*([0-9a-f]+):\s+f4\s+hlt\b")


def patch_crash_instructions(obj):
    """Turn every hlt in OBJ's code into abi.CRASH_OPCODE, in place; return
    how many.

    musl crashes on purpose with hlt (a_crash: corrupted heap, misused
    thread), which in ring 3 faults.  In our ring 0 it would stop the machine
    silently; the crash opcode (0xd6, salc) is invalid in 64-bit mode and no
    compiler emits it, so it traps, and the platform reports it as the crash it is
    (platform/hw/cpu.c).
    """
    from rumprun.toolchain import elfcheck

    result = host.run_tool(["objdump", "-d", obj], f"disassembling {obj} failed")
    sites, section = [], None
    for line in result.stdout.splitlines():
        if m := _SECTION_LINE.match(line):
            section = m.group(1)
        elif (m := _HLT_LINE.match(line)) and section:
            sites.append((section, int(m.group(1), 16)))
    if not sites:
        return 0
    with elfcheck.open_elf(obj) as elf:
        offsets = [elf.get_section_by_name(name)["sh_offset"] + offset for name, offset in sites]
    with open(obj, "r+b") as f:
        for offset in offsets:
            f.seek(offset)
            if f.read(1) != bytes([abi.HLT_OPCODE]):
                raise RumprunError(f"patching {obj}: no hlt at file offset {offset:#x}")
            f.seek(offset)
            f.write(bytes([abi.CRASH_OPCODE]))
    return len(offsets)


TLS_GET_ADDR = "__tls_get_addr"
DATA_SECTION = re.compile(r"^\.(data|bss)(\..*)?$")


def data_section_renames(obj, index):
    """objcopy arguments that move OBJ's writable data into sections of
    program INDEX's own, .rumprun.data.INDEX.* and .rumprun.bss.INDEX.*,
    kept together between the markers of program_table_object."""
    from rumprun.toolchain import elfcheck

    with elfcheck.open_elf(obj) as elf:
        names = sorted({s.name for s in elf.iter_sections() if DATA_SECTION.match(s.name)})
    kinds = ["bss" if n.startswith(".bss") else "data" for n in names]
    return [f"--rename-section={n}=.rumprun.{k}.{index}{n}" for n, k in zip(names, kinds)]


def stray_data_sections(image):
    """Sections of a linked IMAGE that still carry a program's data name:
    its linker script did not sort them between their markers (image.ld's
    SORT_BY_NAME(.rumprun.data.*) and .rumprun.bss.* lines)."""
    from rumprun.toolchain import elfcheck

    with elfcheck.open_elf(image) as elf:
        return [
            s.name
            for s in elf.iter_sections()
            if s.name.startswith((".rumprun.data.", ".rumprun.bss."))
        ]


def rename_program(app, index, workdir):
    """A copy of unbaked APP that is a program of its own: its constructor
    and destructor arrays gathered with their bounds (app-tools/program.ld),
    its common symbols given space, its writable data in sections of its
    own (so each run can start from pristine data), and only its main and
    __libc_start_main global, renamed apart; so each app keeps its own libc
    and constructors, apart from the others."""
    main, start = program_symbols(index)
    gathered = Path(workdir) / f"app{index}-arrays.o"
    out = Path(workdir) / f"app{index}.o"
    # __tls_get_addr stays global (weak, since every app has musl's): ld
    # relaxes -fPIC code's TLS accesses only around calls to that symbol.
    steps = [
        ["ld", "-r", "-d", "-T", PROGRAM_LDSCRIPT, "-o", gathered, app],
        [
            "objcopy",
            "--keep-global-symbol=main",
            "--keep-global-symbol=__libc_start_main",
            f"--keep-global-symbol={TLS_GET_ADDR}",
            f"--weaken-symbol={TLS_GET_ADDR}",
            gathered,
            out,
        ],
        [
            "objcopy",
            f"--redefine-sym=main={main}",
            f"--redefine-sym=__libc_start_main={start}",
            out,
        ],
    ]
    for args in steps:
        host.run_tool(args, f"preparing {app} for the bake failed")
    renames = data_section_renames(out, index)
    if renames:
        host.run_tool(["objcopy", *renames, out], f"preparing {app} for the bake failed")
    patch_crash_instructions(out)
    return out


def safe_name(path):
    """A program's name in the image: the app file's name."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", Path(path).name) or "app"
