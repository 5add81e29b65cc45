"""Boot tests/hello/hello.c the way a user would: rumprun-cc, rumprun-bake,
rumprun qemu -i; assert on what the guest printed and its exit status."""

import subprocess
import time

import pytest

from conftest import HELLO_C, ROOT, boot

pytestmark = pytest.mark.qemu  # the tests here boot guests


def test_hello_greets_from_the_environment(run, hello_bin):
    result, said = boot(run, "-e", "WORLD=unikernel", hello_bin, "--", "7", timeout=120)
    assert "Hello, unikernel" in result.stdout, said
    assert result.returncode == 7, said


def test_hello_default_greeting_and_status_zero(run, hello_bin):
    result, said = boot(run, hello_bin, timeout=120)
    assert "Hello, world" in result.stdout, said
    assert result.returncode == 0, said


def test_status_line_is_the_last_line(run, hello_bin):
    result, said = boot(run, hello_bin, "--", "3", timeout=120)
    # The kernel's last line, on COM1 (the launcher's stderr); never on
    # the program's stdout.
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].strip() == "=== rumprun: exit status 3 ===", said
    assert "exit status" not in result.stdout, said
    assert result.returncode == 3, said


def test_baremetal_uses_kvm_or_warns_once(run, hello_bin):
    result = run("rumprun", "baremetal", "-i", hello_bin, "--", "5", timeout=120)
    said = f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 5, said
    warnings = [
        ln for ln in result.stderr.strip().splitlines() if "=== rumprun: exit status" not in ln
    ]
    assert len(warnings) <= 1, said
    if warnings:
        assert "KVM does not work" in warnings[0] and "TCG" in warnings[0]


def test_kvm_runs_or_refuses_in_one_sentence(run, hello_bin):
    result = run("rumprun", "kvm", "-i", hello_bin, "--", "4", timeout=120)
    if result.returncode == 4:
        assert "Hello, world" in result.stdout
    else:
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert "KVM does not work" in lines[0] and "rumprun qemu" in lines[0]


def test_arguments_and_environment_arrive_exactly(run, hello_bin):
    result, said = boot(
        run, "-e", 'WORLD=wörld "q" \\x', hello_bin, "--", "0", "it's", 'a"b', "c\\d", ""
    )
    assert 'Hello, wörld "q" \\x!' in result.stdout, said
    for i, arg in enumerate(["it's", 'a"b', "c\\d", ""], start=2):
        assert f"argv[{i}] = {arg}\n" in result.stdout, said
    assert result.returncode == 0, said


def test_console_lines_end_like_the_hosts(hello_bin):
    """The serial console's CR LF reaches stdout as plain LF."""
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rumprun"), "qemu", "-i", str(hello_bin)],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert b"\r" not in result.stdout, result.stdout
    assert b"Hello, world!\n" in result.stdout


def test_the_canonical_hello_sleeps_a_second(run, bake_image, tmp_path):
    """tests/hello as users build it: greets, sleeps 1 s, greets again."""
    image = bake_image(tmp_path, "hello.bin", {"hello": [HELLO_C]}, cc_flags=())
    started = time.monotonic()
    result, said = boot(run, "-e", "WORLD=unikernel", image, "--", "9", timeout=120)
    assert time.monotonic() - started >= 1.0, said
    out = result.stdout
    assert (
        out.index("Hello, unikernel!")
        < out.index("Slept for a second.")
        < out.index("Goodbye, unikernel!")
    ), said
    assert "The time is 20" in out, said
    assert result.returncode == 9, said
