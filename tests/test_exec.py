"""Prebuilt static Linux executables baked as they are (kernel/exec, the
bake's executable input): a static glibc C program, a static-pie one and a
static glibc C++ program, built by the host's gcc and g++, booted with
rumprun qemu -i; their output and exit status must be what the same file
gives on Linux.  Also: beside a rumprun-cc app, run again by --rc, and the
bake's refusals (dynamically linked, overlapping or reserved addresses).

About a minute under TCG.
"""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, assert_one_line_error
from test_runtime import boot

SOURCES = ROOT / "tests" / "apps" / "exec"
# What the guest gives a program beside -e: the environment compared runs
# share, so getenv answers alike.
ENV = {"PATH": "/bin:/usr/bin", "HOME": "/", "WORLD": "exec"}


def host_build(compiler, out, source, *flags):
    if shutil.which(compiler) is None:
        pytest.fail(f"the host has no {compiler} (scripts/setup-host installs it)")
    subprocess.run([compiler, "-O2", *flags, "-o", out, source], check=True)
    return out


@pytest.fixture(scope="module")
def executables(tmp_path_factory):
    """{name: path} of the host-built static executables."""
    out = tmp_path_factory.mktemp("exec")
    return {
        "hello_static": host_build(
            "gcc", out / "hello_static", SOURCES / "hello.c", "-static", "-pthread"
        ),
        "hello_pie": host_build(
            "gcc", out / "hello_pie", SOURCES / "hello.c", "-static-pie", "-pthread"
        ),
        "hellopp_static": host_build(
            "g++", out / "hellopp_static", SOURCES / "hello.cpp", "-static", "-pthread"
        ),
    }


def native(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, env=ENV, timeout=60)


def guest_output(result):
    """What the program printed: the console up to the kernel's status line."""
    return result.stdout.split("=== rumprun: exit status")[0]


def bake(run, image, *inputs):
    run("rumprun-bake", "hw_generic", image, *inputs, check=0)
    return image


@pytest.mark.qemu
@pytest.mark.parametrize("name", ["hello_static", "hello_pie", "hellopp_static"])
def test_runs_as_on_linux(run, executables, tmp_path, name):
    exe = executables[name]
    image = bake(run, tmp_path / f"{name}.bin", exe)
    args = ("one", "two words", "5")
    linux = native(exe, *args)
    result, said = boot(
        run, "-e", f"WORLD={ENV['WORLD']}", "--rc", f"{name} one 'two words' 5", image, timeout=120
    )
    assert "rumprun: unsupported system call" not in result.stdout, said
    assert guest_output(result) == linux.stdout, said
    assert result.returncode == linux.returncode == 5, said


@pytest.mark.qemu
def test_beside_an_app_and_run_again_afresh(run, executables, unbaked_app, tmp_path):
    """Each run of an executable loads it anew: its initialised data is
    pristine (data 7 both times), as in a new process."""
    image = bake(
        run,
        tmp_path / "mixed.bin",
        executables["hello_static"],
        executables["hello_pie"],
        unbaked_app,
    )
    result, said = boot(
        run,
        "--rc",
        "hello_static 1",
        "--rc",
        "hi 9",
        "--rc",
        "hello_pie 2",
        "--rc",
        "hello_static 3",
        image,
        timeout=120,
    )
    out = guest_output(result)
    assert out.count("data 7\n") == 3, said
    assert "Hello, world! 2" in out, said
    assert (
        out.index("argv0 hello_static argc 2 [1]")
        < out.index("Hello, world!")
        < out.index("argv0 hello_pie argc 2 [2]")
        < out.index("argv0 hello_static argc 2 [3]")
    ), said
    assert result.returncode == 3, said


def test_describe_and_list_say_so(run):
    assert (
        "static Linux x86_64 executables"
        in run("rumprun-bake", "describe", "hw_generic", check=0).stdout
    )
    assert "static Linux executables" in run("rumprun-bake", "list", check=0).stdout


def refused(run, tmp_path, *inputs):
    return assert_one_line_error(run("rumprun-bake", "hw_generic", tmp_path / "out.bin", *inputs))


def test_dynamically_linked_is_refused_saying_how(run, tmp_path):
    exe = host_build("gcc", tmp_path / "dyn", SOURCES / "hello.c", "-pthread")
    line = refused(run, tmp_path, exe)
    assert "dynamically linked" in line and "gcc -static" in line, line
    assert not (tmp_path / "out.bin").exists()


def test_overlapping_fixed_addresses_are_refused(run, executables, tmp_path):
    line = refused(run, tmp_path, executables["hello_static"], executables["hellopp_static"])
    assert "overlapping fixed addresses" in line and "static-pie" in line, line
    # Two static-pie executables, or one elsewhere, are fine.
    moved = host_build(
        "gcc",
        tmp_path / "moved",
        SOURCES / "hello.c",
        "-static",
        "-pthread",
        "-Wl,-Ttext-segment=0x10000000",
    )
    bake(run, tmp_path / "ok.bin", executables["hello_static"], moved, executables["hello_pie"])


def test_address_of_the_kernel_image_is_refused(run, tmp_path):
    exe = host_build(
        "gcc",
        tmp_path / "high",
        SOURCES / "hello.c",
        "-static",
        "-pthread",
        "-Wl,-Ttext-segment=0x40000000",
    )
    line = refused(run, tmp_path, exe)
    assert "the unikernel's own image" in line and "0x400000" in line, line


@pytest.mark.qemu
@pytest.mark.skipif(
    shutil.which("go") is None,
    reason="Debian's golang-go is not installed (apt-get install golang-go): "
    "the Go case of the loader is not checked",
)
def test_go_program_runs_as_on_linux(run, tmp_path):
    """A CGO_ENABLED=0 Go program: Go's own runtime (clone, futexes,
    sigaltstack, epoll...), no libc at all."""
    exe = tmp_path / "hellogo"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPATH": str(tmp_path / "gopath"),
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        ["go", "build", "-o", exe, "."], cwd=SOURCES / "go", env=env, check=True, timeout=600
    )
    image = bake(run, tmp_path / "hellogo.bin", exe)
    linux = native(exe, "one", "7")
    result, said = boot(
        run, "-e", f"WORLD={ENV['WORLD']}", "--rc", "hellogo one 7", image, timeout=120
    )
    assert "rumprun: unsupported system call" not in result.stdout, said
    assert guest_output(result) == linux.stdout, said
    assert "goroutines 204" in linux.stdout and "slept true" in linux.stdout, linux
    assert result.returncode == linux.returncode == 7, said


@pytest.mark.qemu
def test_bss_larger_than_memory_is_committed_as_touched(run, tmp_path):
    """As on Linux, a static executable's bss takes memory page by page:
    256 MiB of it in a 64 MiB guest, touched once per MiB."""
    src = tmp_path / "bigbss.c"
    src.write_text(
        "#include <stdio.h>\n"
        "static char big[256 << 20];\n"
        "int main(void) {\n"
        "  unsigned long sum = 0;\n"
        "  for (unsigned long i = 0; i < sizeof(big); i += 1 << 20) big[i] = 1;\n"
        "  for (unsigned long i = 0; i < sizeof(big); i += 1 << 20) sum += big[i];\n"
        '  printf("touched %lu MiB\\n", sum);\n'
        "  return 0;\n}\n"
    )
    exe = host_build("gcc", tmp_path / "bigbss", src, "-static")
    image = bake(run, tmp_path / "bigbss.bin", exe)
    result, said = boot(run, "-M", "64", image, timeout=120)
    assert guest_output(result) == "touched 256 MiB\n", said
    assert result.returncode == 0, said
