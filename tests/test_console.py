"""The programs' standard streams through `rumprun qemu -i`, as a user
sees them: tests/apps/console/streams.c booted with the host's stdin, stdout
and stderr being pipes or a terminal (virtio-console ports on the guest's
side, rumprun.console on the launcher's).  About 15 s under TCG."""

import hashlib
import os
import pty
import subprocess
import time

import pytest

from conftest import ROOT, tool
from test_runtime import crash_bin  # noqa: F401 (a fixture)

STATUS_0 = "=== rumprun: exit status 0 ==="


@pytest.fixture(scope="session")
def streams_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("console"),
        "streams.bin",
        {"streams": [ROOT / "tests" / "apps" / "console" / "streams.c"]},
    )


def launch(streams_bin, *args, state_env, **popen):
    return subprocess.run(
        tool("rumprun") + ["qemu", "-i", str(streams_bin), "--", *args],
        capture_output=True,
        timeout=120,
        env=state_env,
        **popen,
    )


def test_stdin_reaches_the_program_byte_for_byte(streams_bin, state_env):
    data = os.urandom(300_000) + b"\r\n\x00\x04\x1a\xff\r" * 1000
    result = launch(streams_bin, "echo", input=data, state_env=state_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == data
    err = result.stderr.decode()
    assert f"read {len(data)} bytes (last 0) isatty 0 0 0" in err
    assert err.strip().splitlines()[-1] == STATUS_0


def test_stdin_ends_at_once_when_empty(streams_bin, state_env):
    result = launch(streams_bin, "echo", stdin=subprocess.DEVNULL, state_env=state_env)
    assert result.returncode == 0 and result.stdout == b"", result.stderr
    assert b"read 0 bytes (last 0)" in result.stderr


def test_a_closed_stdin_is_end_of_file(streams_bin, state_env):
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh"]
        + tool("rumprun")
        + ["qemu", "-i", str(streams_bin), "--", "echo"],
        capture_output=True,
        timeout=120,
        env=state_env,
    )
    assert result.returncode == 0 and result.stdout == b"", result.stderr
    assert b"read 0 bytes (last 0)" in result.stderr


def test_stdout_and_stderr_stay_apart(streams_bin, state_env):
    result = launch(streams_bin, "apart", stdin=subprocess.DEVNULL, state_env=state_env)
    assert result.returncode == 3, result.stderr
    # stdout is the program's alone, its last line unterminated as written.
    assert result.stdout == b"to stdout\nstdout's last words"
    lines = result.stderr.decode().splitlines()
    assert "to stderr" in lines
    assert lines[-1] == "=== rumprun: exit status 3 ===", lines
    assert "stdout" not in result.stderr.decode()


def test_a_flood_arrives_whole_and_in_order(streams_bin, state_env):
    mib = 16
    started = time.monotonic()
    result = launch(streams_bin, "flood", str(mib), stdin=subprocess.DEVNULL, state_env=state_env)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == mib << 20
    pattern = bytes(ord("a") + i % 23 for i in range(23 * 4096))
    expected = hashlib.sha256()
    for _ in range((mib << 20) // len(pattern)):
        expected.update(pattern)
    expected.update(pattern[: (mib << 20) % len(pattern)])
    assert hashlib.sha256(result.stdout).hexdigest() == expected.hexdigest()
    print(f"{mib} MiB through the console in {took:.2f} s")


def test_a_reader_that_goes_away_stops_the_guest(streams_bin, state_env):
    proc = subprocess.Popen(
        tool("rumprun") + ["qemu", "-i", str(streams_bin), "--", "flood", "64"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=state_env,
    )
    assert proc.stdout.read(100) == bytes(ord("a") + i % 23 for i in range(100))
    proc.stdout.close()  # like `| head -c 100`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err
    assert subprocess.run(["pgrep", "-f", str(streams_bin)], capture_output=True).stdout == b""


def test_a_terminal_is_a_terminal(streams_bin, state_env):
    """stdin and stdout a terminal: isatty() says so for them (not for
    stderr, a pipe), and the terminal's line discipline edits the input."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            tool("rumprun") + ["qemu", "-i", str(streams_bin), "--", "echo"],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=state_env,
        )
        os.close(slave)
        slave = None
        # A line with a mistake erased (DEL), then end of file (^D).
        os.write(master, b"hellx\x7fo\n\x04")
        err = proc.communicate(timeout=120)[1].decode()
        said = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert proc.returncode == 0, err
    assert "read 6 bytes (last 0) isatty 1 1 0" in err
    assert b"hello\r\n" in said


@pytest.mark.parametrize("how", ["> /dev/full", ">&-"])
def test_stdout_that_cannot_be_written_is_one_sentence(streams_bin, state_env, how):
    result = subprocess.run(
        ["sh", "-c", f'exec "$@" {how}', "sh"]
        + tool("rumprun")
        + ["qemu", "-i", str(streams_bin), "--", "flood", "1"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
        env=state_env,
    )
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert [ln for ln in lines if ln.startswith("rumprun: ")] == [lines[-1]]
    assert "cannot write to standard output" in lines[-1]
    assert subprocess.run(["pgrep", "-f", str(streams_bin)], capture_output=True).stdout == b""


def test_a_deadlock_is_still_reported_with_the_console_and_a_disk(run, crash_bin, tmp_path):
    """The console's and a polled disk's interrupts are not awaited, so a
    program whose threads all block is reported, not left idling."""
    disk = tmp_path / "raw.img"
    disk.write_bytes(bytes(1 << 20))
    result = run("rumprun", "qemu", "-i", "-b", disk, crash_bin, "--", "deadlock_join", timeout=60)
    assert any(
        "deadlock" in ln for ln in result.stderr.splitlines() if ln.startswith("rumprun:")
    ), result.stderr
    assert result.returncode not in (0, None), result.stderr
