"""rumprun-cc: gcc against Debian's unmodified musl, linking unbaked apps.

Compiling (-c, -S, -E, -M, -MM) is gcc with musl's headers and a few code
generation flags.  Linking produces an "unbaked app": a relocatable ELF
(gcc -nostdlib -r) holding the user's objects, the libc and libgcc members
they need, musl's startup (__libc_start_main) and the rumprun note of type
APP.  rumprun-bake turns it into a bootable image.

Every other gcc flag is forwarded as it is, in its place.
"""

import os
import subprocess
import sys
import tempfile

from rumprun import host
from rumprun.clitools import exit_now, fail
from rumprun.errors import RumprunError
from rumprun.toolchain import note

PROG = "rumprun-cc"
TARGET = "x86_64-rumprun-linux-musl"

# -fstack-clash-protection: a frame larger than a page is probed page by
# page, so it meets the guard below the stack instead of jumping over it.
CODEGEN_FLAGS = [
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-pie",
    "-fno-plt",
    "-fstack-clash-protection",
]
NO_LINK_FLAGS = {"-c", "-S", "-E", "-M", "-MM", "-###"}
IGNORE_UNDEFINED = "--unresolved-symbols=ignore-all"
# Link modes an unbaked app cannot have: it is linked statically into an
# image that has no dynamic loader (position-independent *code*, -fPIC or
# -fPIE, is fine).
REFUSED_LINK_FLAGS = {
    "-shared": "a shared library",
    "-static-pie": "a position-independent executable",
    "-pie": "a position-independent executable",
}
FINAL_LINK_SYMBOLS = {"_GLOBAL_OFFSET_TABLE_"}
# gcc options whose value is the next argument (so it is not an input file).
VALUE_OPTIONS = {
    "-o",
    "-I",
    "-L",
    "-D",
    "-U",
    "-l",
    "-x",
    "-u",
    "-T",
    "-z",
    "-e",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-isysroot",
    "-MF",
    "-MT",
    "-MQ",
    "-Xlinker",
    "-Xassembler",
    "-Xpreprocessor",
    "-aux-info",
    "--param",
    "-dumpbase",
    "-dumpdir",
    "-auxbase",
}


def include_flags():
    """musl's headers, then what the build adds to them (libc/extras.mk:
    sys/queue.h, sys/tree.h, sys/cdefs.h, crypt.h), then gcc's own
    (stddef.h, stdarg.h, intrinsics)."""
    return [
        "-nostdinc",
        "-isystem",
        str(host.MUSL_INCLUDE),
        "-isystem",
        str(host.LIBC_EXTRAS_INCLUDE),
        "-isystem",
        host.gcc_file("include"),
    ]


def parse_args(args):
    """Return (links, inputs, output) for a gcc command line."""
    links = not any(a in NO_LINK_FLAGS for a in args)
    inputs, output = [], None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in VALUE_OPTIONS and i + 1 < len(args):
            if arg == "-o":
                output = args[i + 1]
            i += 2
            continue
        if arg.startswith("-o") and len(arg) > 2:
            output = arg[2:]
        elif arg == "-" or not arg.startswith("-"):
            inputs.append(arg)
        i += 1
    return links, inputs, output


def link_command(gcc, args, note_object):
    """The gcc command line that links ARGS into an unbaked app."""
    return (
        [gcc]
        + include_flags()
        + CODEGEN_FLAGS
        + [
            "-nostdlib",
            "-nostartfiles",
            "-static",
            "-no-pie",
            "-r",
            f"-L{host.MUSL_LIB}",
            f"-L{host.LIBC_EXTRAS_LIB}",
        ]
        + args
        + [
            "-u",
            "__libc_start_main",
            str(note_object),
            "-Wl,--start-group",
            str(host.MUSL_LIBC),
            host.gcc_file("libgcc"),
            "-Wl,--end-group",
        ]
    )


def compile_or_link(args):
    """Run gcc for ARGS as rumprun-cc; return its exit status."""
    gcc = host.require_program("gcc")
    host.require_musl()
    host.ensure_built(host.LIBC_EXTRAS, PROG)
    if args == ["-dumpmachine"]:
        print(TARGET)
        return 0
    links, inputs, output = parse_args(args)
    if not links or not inputs:
        # Compiling, preprocessing, or asking gcc something (--version, -v).
        return subprocess.run([gcc] + include_flags() + CODEGEN_FLAGS + args).returncode
    for flag in args:
        if flag in REFUSED_LINK_FLAGS:
            raise RumprunError(
                f"{flag} asks for {REFUSED_LINK_FLAGS[flag]}, which a unikernel "
                "cannot load: rumprun-cc links an app statically into the image "
                f"(leave out {flag}; -fPIC/-fPIE code is fine)"
            )
    with tempfile.TemporaryDirectory(prefix="rumprun-cc.") as tmp:
        note_object = note.assemble(note.APP, note.ARCH, os.path.join(tmp, "rumprun-app-note.o"))
        status = subprocess.run(link_command(gcc, args, note_object)).returncode
    if status != 0:
        return status
    from rumprun.toolchain import elfcheck

    output = output or "a.out"
    elfcheck.check_unbaked_app(output)
    if not any(IGNORE_UNDEFINED in a for a in args):
        check_resolved(output)
    make_executable(output)
    return 0


def make_executable(path):
    """Mode 0777 less the umask, as a linker gives a program: build systems
    run what they link (zlib's make test), and an unbaked app is one."""
    os.chmod(path, 0o777 & ~host.umask())


def check_resolved(app):
    """Fail, as gcc would, if the app needs symbols nothing defines.

    A relocatable link leaves them undefined; catching them here keeps
    ./configure's function checks honest.  The final link defines only
    _GLOBAL_OFFSET_TABLE_ and the weak linker-script symbols musl uses.
    """
    from rumprun.toolchain import elfcheck

    with elfcheck.open_elf(app) as elf:
        missing = [
            name for name in elfcheck.undefined_symbols(elf) if name not in FINAL_LINK_SYMBOLS
        ]
    if missing:
        os.unlink(app)
        raise RumprunError(
            f"undefined reference to {', '.join(missing)}: define it or link "
            f"the library that has it (-l); {IGNORE_UNDEFINED} allows it"
        )


def main():
    try:
        exit_now(compile_or_link(sys.argv[1:]))
    except RumprunError as e:
        fail(PROG, e)
    except KeyboardInterrupt:
        fail(PROG, Interrupted())


class Interrupted(RumprunError):
    """Ctrl-C (gcc, in the same process group, got it too): status 130."""

    exit_status = 130

    def __init__(self):
        super().__init__("interrupted")


if __name__ == "__main__":
    main()
