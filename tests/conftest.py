"""Shared fixtures: run the tools as the user would, build test inputs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rumprun.toolchain import note


ROOT = Path(__file__).resolve().parent.parent
MODULES = {"rumprun": "rumprun.cli", "rumprun-bake": "rumprun.toolchain.bake",
           "rumprun-cc": "rumprun.toolchain.cc", "rumprun-c++": "rumprun.toolchain.cxx"}
MINIKERNEL = ROOT / "tests" / "fixtures" / "minikernel"


def tool(name):
    """The command for tool NAME: the installed script, else the module."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", MODULES[name]]


@pytest.fixture(scope="session")
def state_env(tmp_path_factory):
    """The environment for the tools: guests' state in a private place."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    return env


@pytest.fixture(scope="session")
def run(state_env):
    """run(tool, *args, ...) -> CompletedProcess with text stdout/stderr."""
    def run(name, *args, cwd=None, env=None, timeout=120, check=None):
        result = subprocess.run(
            tool(name) + [str(a) for a in args], cwd=cwd, text=True,
            capture_output=True, env=env or state_env, timeout=timeout,
            stdin=subprocess.DEVNULL)
        if check is not None:
            assert result.returncode == check, (
                f"{name} {' '.join(map(str, args))} exited "
                f"{result.returncode}, not {check}\nstdout:\n{result.stdout}"
                f"\nstderr:\n{result.stderr}")
        return result
    return run


@pytest.fixture(scope="session")
def kernel_libs():
    """The kernel libraries, built (make libs) once per session."""
    make = subprocess.run(["make", "-C", str(ROOT), "libs"],
                          capture_output=True, text=True)
    if make.returncode != 0:
        pytest.fail(f"make libs failed:\n{make.stdout}\n{make.stderr}")


@pytest.fixture(scope="session")
def bake_image(run, kernel_libs):
    """bake_image(out, image, {app: [sources]}, cc_flags, bake_flags): build
    each app with rumprun-cc and bake them all into OUT/IMAGE, as a user
    would; returns the image's path."""
    def bake_image(out, image, apps, cc_flags=("-O2",), bake_flags=()):
        for name, sources in apps.items():
            run("rumprun-cc", *cc_flags, "-o", out / name, *sources, check=0)
        run("rumprun-bake", *bake_flags, "hw_generic", out / image,
            *[out / name for name in apps], check=0)
        return out / image
    return bake_image


def assert_one_line_error(result, *words):
    """The tool failed with status 2 and one line on stderr, no traceback."""
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def hello_source(tmp_path_factory):
    """A small C program using libc (printf, getenv, exit status)."""
    src = tmp_path_factory.mktemp("src") / "hi.c"
    src.write_text(
        '#include <stdio.h>\n#include <stdlib.h>\n'
        'int main(int argc, char **argv) {\n'
        '  const char *w = getenv("WORLD");\n'
        '  printf("Hello, %s! %d\\n", w ? w : GREETING, argc);\n'
        '  return argc > 1 ? atoi(argv[1]) : 0;\n}\n')
    return src


@pytest.fixture(scope="session")
def unbaked_app(run, hello_source):
    """hi.c built with rumprun-cc: an unbaked app."""
    out = hello_source.parent / "hi"
    run("rumprun-cc", "-O2", '-DGREETING="world"', "-o", out, hello_source,
        check=0)
    return out


def build_minikernel(directory, status=0, message=None, bss_bytes=4096,
                     config="hw_generic", reset=False):
    """A tiny multiboot guest baked by hand (see tests/fixtures/minikernel).

    It prints the command line it got and the configuration from fw_cfg,
    then MESSAGE (by default the status line for STATUS), then exits
    through isa-debug-exit with STATUS (RESET: resets the machine instead).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if message is None:
        message = f"=== rumprun: exit status {status} ===\\n"
    obj = directory / "minikernel.o"
    defines = [f"-DSTATUS={status}", f'-DMESSAGE="{message}"',
               f"-DBSS_BYTES={bss_bytes}"] + (["-DRESET"] if reset else [])
    subprocess.run(["gcc", "-c", *defines, str(MINIKERNEL / "minikernel.S"),
                    "-o", str(obj)], check=True)
    note_obj = note.assemble(note.BAKED, config, directory / "note.o")
    image = directory / "minikernel.bin"
    subprocess.run(["ld", "-z", "max-page-size=0x1000",
                    "--no-warn-rwx-segments", "-T",
                    str(MINIKERNEL / "minikernel.ld"), "-o", str(image),
                    str(obj), str(note_obj)], check=True)
    return image


@pytest.fixture(scope="session")
def minikernel(tmp_path_factory):
    """A baked-looking image that prints and exits with status 7."""
    return build_minikernel(tmp_path_factory.mktemp("mk7"), status=7)
