"""The host side: where the sources and libraries are, which host tools exist.

Two ways to be installed, told apart by this file's location:
- in a source checkout (make, pip install -e): ROOT is the checkout and the
  kernel libraries are built into ROOT/build, as `make` does;
- from a wheel (pip install ., pipx install .): ROOT is the copy of the
  sources the wheel carries (rumprun/_tree, see setup.py) and the libraries
  are built on first use into $XDG_CACHE_HOME/rumprun/build-STAMP (one per
  content of those sources), with make's progress on stderr.
"""

import functools
import os
import subprocess
import sys
from pathlib import Path

from rumprun.errors import RumprunError

PACKAGE = Path(__file__).resolve().parent


def _cache_home():
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _locate():
    """(ROOT, BUILD_DIR): the source tree and where its build goes."""
    checkout = PACKAGE.parent
    if (checkout / "Makefile").is_file() and (checkout / "kernel").is_dir():
        return checkout, checkout / "build"
    tree = PACKAGE / "_tree"
    try:
        stamp = (tree / "STAMP").read_text().strip()
    except OSError:
        stamp = "unknown"
    return tree, _cache_home() / "rumprun" / f"build-{stamp}"


ROOT, BUILD_DIR = _locate()
APP_TOOLS = ROOT / "app-tools"
KERNEL_INCLUDE = ROOT / "kernel" / "include"
CONFIG_DIR = APP_TOOLS / "configs"
LIB_DIR = BUILD_DIR / "lib"
# What Debian's musl lacks (BSD headers, crypt), built for it by the build
# (libc/extras.mk): rumprun-cc's include and library paths after musl's.
LIBC_EXTRAS_INCLUDE = BUILD_DIR / "libc" / "include"
LIBC_EXTRAS_LIB = BUILD_DIR / "libc" / "lib"
LIBC_EXTRAS = [LIBC_EXTRAS_INCLUDE / "sys" / "queue.h", LIBC_EXTRAS_LIB / "libcrypt.a"]

MUSL_INCLUDE = Path("/usr/include/x86_64-linux-musl")
MUSL_LIB = Path("/usr/lib/x86_64-linux-musl")
MUSL_LIBC = MUSL_LIB / "libc.a"

# Host program -> the Debian package that provides it.
PACKAGES = {
    "gcc": "gcc",
    "ld": "binutils",
    "objcopy": "binutils",
    "objdump": "binutils",
    "make": "make",
    "qemu-system-x86_64": "qemu-system-x86",
    "mke2fs": "e2fsprogs",
    "e2fsck": "e2fsprogs",
}


def umask():
    """The process's file creation mask (reading it means setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def which(name):
    """The path of program NAME as the shell finds it on PATH, or None.
    (shutil.which's answer; shutil itself costs the launcher's start a few
    milliseconds of imports.)"""
    if "/" in name:
        return name if os.access(name, os.X_OK) and not os.path.isdir(name) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(directory or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def require_program(name):
    """Return the path of host program NAME, or fail naming its package."""
    path = which(name)
    if path is None:
        package = PACKAGES[name]
        raise RumprunError(
            f"{name} is not installed: install the Debian package {package} "
            f"(apt-get install {package})"
        )
    return path


def run_tool(args, failure):
    """Run host tool ARGS (its name first); on failure raise one sentence:
    FAILURE, then what the tool said."""
    result = subprocess.run(
        [require_program(args[0])] + [str(a) for a in args[1:]], capture_output=True, text=True
    )
    if result.returncode != 0:
        said = " ".join(result.stderr.split())[:300] or "nothing"
        raise RumprunError(f"{failure}: {args[0]} said: {said}")
    return result


def require_musl():
    """Fail unless Debian's musl (headers and libc.a) is installed."""
    if not MUSL_LIBC.is_file() or not MUSL_INCLUDE.is_dir():
        raise RumprunError(
            f"musl is not installed ({MUSL_LIBC} is missing): install the "
            "Debian package musl-dev (apt-get install musl-dev)"
        )


@functools.lru_cache(maxsize=None)
def gcc_file(name):
    """Ask gcc for one of its own files (its include dir, libgcc.a)."""
    gcc = require_program("gcc")
    if name == "libgcc":
        args = [gcc, "-print-libgcc-file-name"]
    else:
        args = [gcc, f"-print-file-name={name}"]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        raise RumprunError(
            f"{' '.join(args)} failed ({result.stderr.strip() or 'no output'}): "
            "check the gcc installation (Debian package gcc)"
        )
    return result.stdout.strip()


def lib_path(library):
    """build/lib/libX.a for kernel library X."""
    return LIB_DIR / f"lib{library}.a"


def build_command():
    """The make command that builds the kernel libraries into LIB_DIR."""
    return [
        require_program("make"),
        "-C",
        str(ROOT),
        f"BUILD={BUILD_DIR}",
        f"-j{os.cpu_count() or 1}",
        "libs",
    ]


def ensure_built(paths, prog):
    """Build the kernel libraries (make libs) unless every file in PATHS
    exists.  One build at a time (a lock next to the build directory);
    make's output goes to stderr as progress; a failed or incomplete build
    is one sentence."""
    import fcntl

    if all(Path(p).exists() for p in paths):
        return
    command = build_command()
    try:
        BUILD_DIR.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(
            BUILD_DIR.parent / f".{BUILD_DIR.name}.lock",
            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
            0o644,
        )
    except OSError as e:
        raise RumprunError(
            f"cannot build the kernel libraries in {BUILD_DIR}: {e.strerror}"
        ) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [p for p in paths if not Path(p).exists()]
        if not missing:
            return  # someone else built them meanwhile
        print(
            f"{prog}: {missing[0]} is missing: building the kernel libraries ({' '.join(command)})",
            file=sys.stderr,
            flush=True,
        )
        # make's own output is progress too: all of it goes to stderr.
        result = subprocess.run(command, stdout=sys.stderr, stdin=subprocess.DEVNULL)
    finally:
        os.close(lock)
    if result.returncode != 0:
        raise RumprunError(
            f"building the kernel libraries failed (make exited with status "
            f"{result.returncode}): see make's output above"
        )
    still = [str(p) for p in paths if not Path(p).exists()]
    if still:
        raise RumprunError(
            f"{' '.join(command)} did not produce {', '.join(still)}: "
            "check the Makefile's libs target"
        )
