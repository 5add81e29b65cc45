"""The host side: where the source tree is, which host tools exist.

The package is used from a source checkout (installed editable), so the
tree's root is found from this file's location; no environment variables.
"""

import functools
import shutil
import subprocess
import sys
from pathlib import Path

from rumprun.errors import RumprunError

ROOT = Path(__file__).resolve().parent.parent
APP_TOOLS = ROOT / "app-tools"
KERNEL_INCLUDE = ROOT / "kernel" / "include"
CONFIG_DIR = APP_TOOLS / "configs"
LIB_DIR = ROOT / "build" / "lib"

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
}


def require_program(name):
    """Return the path of host program NAME, or fail naming its package."""
    path = shutil.which(name)
    if path is None:
        package = PACKAGES[name]
        raise RumprunError(
            f"{name} is not installed: install the Debian package {package} "
            f"(apt-get install {package})")
    return path


def run_tool(args, failure):
    """Run host tool ARGS (its name first); on failure raise one sentence:
    FAILURE, then what the tool said."""
    result = subprocess.run([require_program(args[0])] + [str(a) for a in args[1:]],
                            capture_output=True, text=True)
    if result.returncode != 0:
        said = " ".join(result.stderr.split())[:300] or "nothing"
        raise RumprunError(f"{failure}: {args[0]} said: {said}")
    return result


def require_musl():
    """Fail unless Debian's musl (headers and libc.a) is installed."""
    if not MUSL_LIBC.is_file() or not MUSL_INCLUDE.is_dir():
        raise RumprunError(
            f"musl is not installed ({MUSL_LIBC} is missing): install the "
            "Debian package musl-dev (apt-get install musl-dev)")


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
            "check the gcc installation (Debian package gcc)")
    return result.stdout.strip()


def lib_path(library):
    """build/lib/libX.a for kernel library X."""
    return LIB_DIR / f"lib{library}.a"


def ensure_built(paths, prog):
    """Run `make -C ROOT libs` unless every file in PATHS exists.

    Progress goes to stderr; a failed or incomplete build is one sentence.
    """
    missing = [p for p in paths if not Path(p).exists()]
    if not missing:
        return
    make = require_program("make")
    print(f"{prog}: {missing[0]} is missing: building the kernel libraries "
          f"(make -C {ROOT} libs)", file=sys.stderr, flush=True)
    # make's own output is progress too: all of it goes to stderr.
    result = subprocess.run([make, "-C", str(ROOT), "libs"],
                            stdout=sys.stderr, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RumprunError(
            f"building the kernel libraries failed (make -C {ROOT} libs "
            f"exited with status {result.returncode}): see make's output above")
    still = [str(p) for p in paths if not Path(p).exists()]
    if still:
        raise RumprunError(
            f"make -C {ROOT} libs did not produce {', '.join(still)}: "
            "check the Makefile's libs target")
