"""The kernel and the hw platform seen from outside: configuration errors,
exit paths, unsupported system calls, crash reports.  Some boots run QEMU
directly, to give the kernel what the launcher never would."""

import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.qemu  # the tests here boot guests

PROBE = ROOT / "tests" / "apps" / "kernelboot" / "probe.c"
QEMU_BASE = [
    "qemu-system-x86_64",
    "-M",
    "pc",
    "-accel",
    "tcg",
    "-m",
    "32",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-net",
    "none",
    "-no-reboot",
    "-serial",
    "stdio",
]


@pytest.fixture(scope="session")
def probe_bin(bake_image, tmp_path_factory):
    return bake_image(tmp_path_factory.mktemp("probe"), "probe.bin", {"probe": [PROBE]})


def qemu(image, append, *extra):
    result = subprocess.run(
        QEMU_BASE + list(extra) + ["-kernel", str(image), "-append", append],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_malformed_json_says_where_it_broke(probe_bin):
    result, said = qemu(probe_bin, '{"cmdline": "probe" "identity"}')
    assert "bad configuration: JSON error at offset 20 (line 1, column 21)" in result.stdout, said
    assert "=== rumprun: exit status 1 ===" in result.stdout, said


def test_wrong_type_in_configuration(probe_bin):
    result, said = qemu(probe_bin, '{"cmdline": "probe", "env": "NOEQUALS"}')
    assert '"env" must be an array of "NAME=value" strings' in result.stdout, said
    result, said = qemu(probe_bin, '{"cmdline": 7}')
    assert '"cmdline" must be a string' in result.stdout, said
    assert "=== rumprun: exit status 1 ===" in result.stdout, said


def test_poweroff_through_acpi_without_isa_debug_exit(probe_bin):
    result, said = qemu(probe_bin, '{"cmdline": "probe identity"}')
    assert "=== rumprun: exit status 0 ===" in result.stdout, said
    assert result.returncode == 0, said  # QEMU ended by ACPI soft-off


def test_isa_debug_exit_carries_the_status(probe_bin):
    result, said = qemu(
        probe_bin, '{"cmdline": "probe"}', "-device", "isa-debug-exit,iobase=0xf4,iosize=4"
    )
    assert "=== rumprun: exit status 2 ===" in result.stdout, said
    assert result.returncode == 2 * 2 + 1, said


def test_unsupported_system_call_is_named_once(run, probe_bin):
    result = run("rumprun", "qemu", "-i", probe_bin, "--", "unknown-syscall")
    said = f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"
    line = "rumprun: unsupported system call io_uring_setup (425), returning ENOSYS"
    # The kernel's notice is on COM1 (stderr), the program's line on stdout.
    assert result.stderr.count(line) == 1 and line not in result.stdout, said
    assert "io_uring_setup returned -1 errno Function not implemented" in result.stdout, said
    assert result.returncode == 0, said


def test_identity_from_the_configuration(run, probe_bin):
    result = run("rumprun", "qemu", "-i", "-N", "box7", probe_bin, "--", "identity")
    assert "pid 1 uid 0 host box7 machine x86_64" in result.stdout, result.stdout


def test_crash_report_names_the_function(run, probe_bin):
    result = run("rumprun", "qemu", "-i", probe_bin, "--", "null")
    said = f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"
    report = result.stderr  # the kernel's report: COM1, the launcher's stderr
    assert "rumprun: fatal: page fault" in report, said
    assert "<main+0x" in report and "null pointer dereference" in report, said
    assert "rax " in report and "rsp " in report, said  # the registers
    assert result.returncode == 139, said
