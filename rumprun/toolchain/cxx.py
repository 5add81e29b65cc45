"""rumprun-c++: C++ for the unikernel, through PyPI's ziglang.

Debian's g++ and libstdc++ are built for glibc (its headers need glibc's
macros and ctype tables), so rumprun-c++ compiles with the clang that the
`ziglang` wheel ships, against the libc++, libc++abi, libunwind and musl
that zig builds for x86_64-linux-musl.  Linking gives a static Linux
executable (ET_EXEC, linked at 16 MiB), which rumprun-bake takes as it is
and the kernel's ELF loader runs (kernel/exec): the same path as any
prebuilt static executable, so zig's musl never meets the musl that
rumprun-cc apps link.

Compiling (-c, -S, -E, -M, -MM) is zig's clang with the target added and
UBSan off, as g++ has it (zig turns it on in unoptimised builds); every
other flag goes through as it is.  zig builds its C++ libraries on first
use into the user's cache ($XDG_CACHE_HOME/zig or ~/.cache/zig; about 90 s,
said on stderr first), once per optimisation mode: so a link always asks
for -O2's, and a command that compiles and links compiles its sources
first, with the user's flags.
"""

import os
import subprocess
import sys
from pathlib import Path

from rumprun.clitools import exit_now, fail
from rumprun.errors import RumprunError
from rumprun.toolchain.cc import TARGET, Interrupted, parse_args

PROG = "rumprun-c++"
ZIG_TARGET = "x86_64-linux-musl"
REFUSED_LINK_FLAGS = {
    "-shared": "a shared library",
    "-rdynamic": "a dynamically linked executable",
}
INSTALL_HINT = (
    "install PyPI's ziglang into rumprun's environment "
    "(pip install 'rumprun[cxx]', or pip install ziglang; make setup does)"
)


def zig_command():
    """The command that runs zig's clang (python -m ziglang), or one
    sentence saying how to get it."""
    try:
        import ziglang  # noqa: F401  (only whether it is there)
    except ImportError:
        raise RumprunError(
            f"C++ needs the zig toolchain, which is missing: {INSTALL_HINT}"
        ) from None
    return [sys.executable, "-m", "ziglang"]


def zig_version():
    try:
        from importlib.metadata import version

        return version("ziglang")
    except Exception:
        return "unknown"


def _cache_home():
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def zig_cache_dir():
    """zig's global cache: ZIG_GLOBAL_CACHE_DIR, else XDG_CACHE_HOME/zig."""
    return Path(os.environ.get("ZIG_GLOBAL_CACHE_DIR") or _cache_home() / "zig")


def _warm_stamp():
    return _cache_home() / "rumprun" / f"cxx-libs-{zig_version()}.stamp"


def _say_first_use():
    """zig builds libc++ and friends on the first link: say so first, as a
    long silent pause would look like a hang."""
    if _warm_stamp().exists():
        return False
    print(
        f"{PROG}: first C++ link with zig {zig_version()}: building libc++, "
        f"libc++abi, libunwind and musl for {ZIG_TARGET} into {zig_cache_dir()} "
        "(about 90 s, once)",
        file=sys.stderr,
        flush=True,
    )
    return True


def _remember_warm():
    try:
        stamp = _warm_stamp()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"{zig_cache_dir()}\n")
    except OSError:
        pass  # only the notice depends on it


SOURCE_SUFFIXES = {
    ".c",
    ".cc",
    ".cp",
    ".cpp",
    ".cxx",
    ".c++",
    ".C",
    ".CPP",
    ".i",
    ".ii",
    ".m",
    ".mm",
    ".s",
    ".S",
    ".sx",
}
LINK_ONLY_PREFIXES = ("-l", "-L", "-Wl,", "-Xlinker", "-static", "-shared", "-rdynamic")
# What every compile gets: g++'s defaults where zig's clang differs (zig
# turns on UBSan in unoptimised builds, whose runtime the link then needs).
COMPILE_DEFAULTS = ["-fno-sanitize=undefined"]
# zig builds libc++ & co. once per optimisation mode (about 90 s each):
# every link asks for the one mode the cache holds.
LINK_MODE = "-O2"


def _is_source(arg):
    return arg == "-" or Path(arg).suffix in SOURCE_SUFFIXES


def _defaults(args):
    return [] if any(a.startswith("-fsanitize") for a in args) else COMPILE_DEFAULTS


def _compile_flags(args):
    """ARGS without the inputs, the output and the link-only options: what
    compiling each source of a compile-and-link command takes."""
    flags, i = [], 0
    while i < len(args):
        arg = args[i]
        if arg in ("-o", "-Xlinker", "-l", "-L") and i + 1 < len(args):
            i += 2
            continue
        if arg.startswith("-") and not arg.startswith(LINK_ONLY_PREFIXES + ("-o",)):
            flags.append(arg)
        i += 1
    return flags


def compile_or_link(args):
    """Run zig's clang for ARGS as rumprun-c++; return its exit status."""
    if args == ["-dumpmachine"]:
        print(TARGET)
        return 0
    zig = zig_command()
    links, inputs, output = parse_args(args)
    base = zig + ["c++", "-target", ZIG_TARGET]
    if not links or not inputs:
        return subprocess.run(base + _defaults(args) + args).returncode
    for flag in args:
        if flag in REFUSED_LINK_FLAGS:
            raise RumprunError(
                f"{flag} asks for {REFUSED_LINK_FLAGS[flag]}, which a unikernel "
                "cannot load: rumprun-c++ links a static executable (leave out "
                f"{flag})"
            )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rumprun-c++.") as tmp:
        # Sources are compiled first with the user's flags, so that the link
        # can ask for LINK_MODE without changing how they are compiled.
        link_args, n = [], 0
        compile_flags = _compile_flags(args)
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("-o", "-x", "-Xlinker", "-l", "-L") and i + 1 < len(args):
                link_args += [arg, args[i + 1]]
                i += 2
                continue
            if _is_source(arg) and arg in inputs:
                obj = str(Path(tmp) / f"{n}.o")
                n += 1
                status = subprocess.run(
                    base + _defaults(args) + compile_flags + ["-c", "-o", obj, arg]
                ).returncode
                if status != 0:
                    return status
                link_args.append(obj)
            else:
                link_args.append(arg)
            i += 1
        first = _say_first_use()
        status = subprocess.run(base + ["-static"] + link_args + [LINK_MODE]).returncode
    if status == 0:
        if first:
            _remember_warm()
        from rumprun.toolchain import elfcheck

        elfcheck.input_kind(output or "a.out")
    return status


def warm_up():
    """Build zig's C++ libraries now (make setup, the tests' fixture):
    link a small program once.  Progress on stderr."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rumprun-c++.") as tmp:
        src = Path(tmp) / "warm.cpp"
        src.write_text(
            "#include <iostream>\n#include <thread>\n"
            "int main() { std::thread t([] { std::cout << 1; }); "
            "t.join(); }\n"
        )
        status = compile_or_link(["-O2", "-o", str(Path(tmp) / "warm"), str(src)])
    if status != 0:
        raise RumprunError(
            f"building zig's C++ libraries failed (status {status}): see its messages above"
        )
    return 0


def main():
    try:
        if sys.argv[1:] == ["--warm-up"]:
            exit_now(warm_up())
        exit_now(compile_or_link(sys.argv[1:]))
    except RumprunError as e:
        fail(PROG, e)
    except KeyboardInterrupt:
        fail(PROG, Interrupted())


if __name__ == "__main__":
    main()
