"""rumprun-c++ (also x86_64-rumprun-linux-musl-g++ and -c++): C++ through
PyPI's ziglang (clang, libc++, libc++abi, libunwind, musl), linked into a
static executable that rumprun-bake takes as it is and the kernel's ELF
loader runs.  tests/apps/exec/hello.cpp (iostream, string, vector, map,
exceptions across functions, a static constructor and destructor,
std::thread) must print and end in the guest as it does on Linux (the
executable runs on the host too).  The CMake toolchain file builds C and
C++ for rumprun.

The first use builds zig's C++ libraries into the user's cache (about
90 s, once per machine); later links take about a second.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, assert_one_line_error, tool
from test_runtime import boot

SOURCE = ROOT / "tests" / "apps" / "exec" / "hello.cpp"
TOOLCHAIN = ROOT / "app-tools" / "rumprun-toolchain.cmake"
ENV = {"PATH": "/bin:/usr/bin", "HOME": "/"}


@pytest.fixture(scope="session")
def cxx_ready(run, kernel_libs):
    """zig's C++ libraries built (rumprun-c++ --warm-up), once."""
    run("rumprun-c++", "--warm-up", timeout=1200, check=0)


def guest_output(result):
    return result.stdout.split("=== rumprun: exit status")[0]


@pytest.mark.qemu
def test_cxx_program_runs_as_on_linux(run, cxx_ready, tmp_path):
    exe = tmp_path / "hellopp"
    run("rumprun-c++", "-O2", "-o", exe, SOURCE, check=0)
    image = tmp_path / "hellopp.bin"
    run("rumprun-bake", "hw_generic", image, exe, check=0)
    linux = subprocess.run([exe, "x", "4"], capture_output=True, text=True, env=ENV)
    assert "caught: not a number: five" in linux.stdout, linux
    assert linux.stdout.endswith("dtor global\n"), linux
    result, said = boot(run, image, "--", "x", "4", timeout=120)
    assert "rumprun: unsupported system call" not in result.stdout, said
    assert guest_output(result) == linux.stdout, said
    assert result.returncode == linux.returncode == 4, said


def test_compile_then_link_under_the_gnu_names(run, cxx_ready, tmp_path):
    """What make and ./configure do: compile with -c, link the objects, ask
    the compiler what it targets."""
    bindir = Path(sys.executable).parent
    gnu_names = [
        bindir / n for n in ("x86_64-rumprun-linux-musl-g++", "x86_64-rumprun-linux-musl-c++")
    ]
    assert all(p.exists() for p in gnu_names), gnu_names
    obj = tmp_path / "hello.o"
    subprocess.run([gnu_names[0], "-O2", "-c", "-o", obj, SOURCE], check=True)
    subprocess.run([gnu_names[1], "-o", tmp_path / "linked", obj], check=True)
    assert run("rumprun-c++", "-dumpmachine", check=0).stdout.strip() == "x86_64-rumprun-linux-musl"
    with open(tmp_path / "linked", "rb") as f:
        assert f.read(4) == b"\x7fELF"


def test_shared_library_is_refused(run, cxx_ready, tmp_path):
    result = run("rumprun-c++", "-shared", "-o", tmp_path / "lib.so", SOURCE)
    assert_one_line_error(result, "-shared", "static")


@pytest.mark.qemu
@pytest.mark.skipif(
    shutil.which("cmake") is None, reason="cmake is not installed (scripts/setup-host installs it)"
)
def test_cmake_toolchain_builds_c_and_cxx(run, cxx_ready, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SOURCE, src / "hello.cpp")
    shutil.copy(ROOT / "tests" / "apps" / "exec" / "hello.c", src / "hello.c")
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(both C CXX)\n"
        "set(CMAKE_CXX_STANDARD 17)\nfind_package(Threads REQUIRED)\n"
        "add_executable(hellopp hello.cpp)\nadd_executable(helloc hello.c)\n"
        "target_link_libraries(helloc Threads::Threads)\n"
        "target_link_libraries(hellopp Threads::Threads)\n"
    )
    build = tmp_path / "build"
    env = dict(os.environ)
    env["PATH"] = f"{os.path.dirname(tool('rumprun-c++')[0])}:{env['PATH']}"
    for args in (
        ["-S", src, "-B", build, f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}"],
        ["--build", build],
    ):
        done = subprocess.run(["cmake", *map(str, args)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    image = tmp_path / "both.bin"
    run("rumprun-bake", "hw_generic", image, build / "helloc", build / "hellopp", check=0)
    result, said = boot(run, "--rc", "helloc 2", "--rc", "hellopp 3", image, timeout=120)
    out = guest_output(result)
    assert "argv0 helloc argc 2 [2]" in out and "tls main 40 thread 42" in out, said
    assert "caught: plain throw" in out and out.endswith("dtor global\n"), said
    assert result.returncode == 3, said
