"""Issue 8's acceptance cases: tests/apps/fidelity/fidelity.c run under rumprun
and on Linux (the host's gcc and glibc), what they print compared: stdin
piped in, stdout and stderr apart, three --rc runs of one program, deep
recursion on the default 8 MiB stack, a 64 MiB stack array (--stack and
RLIMIT_STACK), mmaps after 1000 threads in -M 64, file mmap in /tmp,
20000 arguments with non-UTF-8 bytes, __thread in -fPIC code.  (The 16 MiB
flood is tests/test_console.py's.)  About 20 s under TCG."""

import os
import resource
import shutil
import subprocess

import pytest

from conftest import ROOT, tool

SOURCES = ROOT / "tests" / "apps" / "fidelity"
STACK = 80 << 20  # room for the 64 MiB array and the rest


@pytest.fixture(scope="session")
def fidelity_bin(run, kernel_libs, tmp_path_factory):
    out = tmp_path_factory.mktemp("fidelity")
    run(
        "rumprun-cc",
        "-O2",
        "-pthread",
        "-fPIC",
        "-c",
        "-o",
        out / "tls_pic.o",
        SOURCES / "tls_pic.c",
        check=0,
    )
    run(
        "rumprun-cc",
        "-O2",
        "-pthread",
        "-o",
        out / "fidelity",
        SOURCES / "fidelity.c",
        out / "tls_pic.o",
        check=0,
    )
    run("rumprun-bake", "hw_generic", out / "fidelity.bin", out / "fidelity", check=0)
    return out / "fidelity.bin"


@pytest.fixture(scope="session")
def fidelity_native(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no host gcc to build the Linux reference")
    out = tmp_path_factory.mktemp("fidelity-native")
    subprocess.run(
        [gcc, "-O2", "-pthread", "-fPIC", "-c", "-o", out / "tls_pic.o", SOURCES / "tls_pic.c"],
        check=True,
    )
    subprocess.run(
        [gcc, "-O2", "-pthread", "-o", out / "fidelity", SOURCES / "fidelity.c", out / "tls_pic.o"],
        check=True,
    )
    return out / "fidelity"


def linux(native, *args, stdin=b"", stack=None):
    def limits():
        if stack:
            resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))

    return subprocess.run(
        [native, *args], input=stdin, capture_output=True, timeout=60, preexec_fn=limits, cwd="/"
    )


def rumprun(image, *args, launch=(), stdin=b"", state_env=None):
    return subprocess.run(
        tool("rumprun")
        + [
            "qemu",
            "-i",
            *launch,
            str(image),
            "--",
            *[os.fsencode(a) if isinstance(a, str) else a for a in args],
        ],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=state_env,
    )


def same(guest, native):
    said = (
        f"guest (status {guest.returncode}):\n{guest.stdout[-2000:]!r}\n"
        f"{guest.stderr[-2000:]!r}\nLinux:\n{native.stdout[-2000:]!r}"
    )
    assert native.returncode == 0, said
    assert guest.returncode == 0, said
    assert guest.stdout == native.stdout, said


@pytest.mark.parametrize("case", [("recurse", "30000"), ("churn",), ("filemap",), ("tls",)])
def test_like_linux(fidelity_bin, fidelity_native, state_env, case):
    same(
        rumprun(fidelity_bin, *case, launch=("-M", "64"), state_env=state_env),
        linux(fidelity_native, *case),
    )


def test_stdin_piped_and_streams_apart(fidelity_bin, fidelity_native, state_env):
    data = os.urandom(1 << 20) + b"\xff\xfe\r\n\x00" * 100
    guest = rumprun(fidelity_bin, "stdin", stdin=data, state_env=state_env)
    native = linux(fidelity_native, "stdin", stdin=data)
    same(guest, native)
    assert b"on stderr" in guest.stderr and b"on stderr" not in guest.stdout
    assert b"exit status" not in guest.stdout


def test_three_rc_runs_of_one_program_start_afresh(fidelity_bin, fidelity_native, state_env):
    guest = rumprun(fidelity_bin, launch=["--rc", "fidelity state"] * 3, state_env=state_env)
    native = linux(fidelity_native, "state")
    assert guest.returncode == 0, guest.stderr
    assert guest.stdout == native.stdout * 3, (guest.stdout, native.stdout)


def test_a_64_mib_stack_array(fidelity_bin, fidelity_native, state_env):
    same(
        rumprun(
            fidelity_bin, "bigstack", launch=("-M", "128", "--stack", "80M"), state_env=state_env
        ),
        linux(fidelity_native, "bigstack", stack=STACK),
    )


def test_20000_arguments_with_any_bytes(fidelity_bin, fidelity_native, state_env):
    args = (
        ["args"]
        + [f"a{i}" for i in range(20000)]
        + [b"caf\xc3\xa9", b"\xff\xfe", b'it\'s "quoted" \\ $HOME']
    )
    same(rumprun(fidelity_bin, *args, state_env=state_env), linux(fidelity_native, *args))
