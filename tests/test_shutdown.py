"""How a guest ends when it does not end by itself: a program's crash,
the launcher's Ctrl-C (SIGINT, SIGTERM), `rumprun stop`.  Each time the
kernel writes back and unmounts the ext2 volumes first, so what the
program wrote without fsync is on the disk and `e2fsck -fn` finds the
volume clean; a guest that cannot answer (its CPU stopped) is still ended
after the grace period, with one sentence.  The program is
tests/apps/storage/storage.c (modes crash, lazy, spin, outlive).
"""

import os
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import STORAGE_SOURCE, fsck_clean, mkfs, pattern, tool

pytestmark = pytest.mark.qemu  # the tests here boot guests

GRACE = 5.0  # rumprun.backends.qemu.SHUTDOWN_GRACE


@pytest.fixture
def volume(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    return mkfs(run, empty, tmp_path / "vol.img")


def dump(image, name, out):
    """The file NAME of the ext2 IMAGE, as e2fsprogs reads it."""
    subprocess.run(
        ["debugfs", "-R", f"dump /{name} {out}", str(image)], check=True, capture_output=True
    )
    return out.read_bytes()


def start(state_env, platform, args, marker=b"written\n", timeout=120):
    """`rumprun PLATFORM -i ARGS` in a session of its own, once the guest
    has printed MARKER (None: at once); the process."""
    proc = subprocess.Popen(
        tool("rumprun") + [platform, "-i"] + [str(a) for a in args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=state_env,
        start_new_session=True,
    )
    out = b""
    deadline = time.monotonic() + timeout
    while marker and marker not in out and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    if marker and marker not in out:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        pytest.fail(f"the guest never printed {marker!r}:\n{out!r}\n{proc.stderr.read()!r}")
    return proc


def interrupt(proc, signum):
    """Send SIGNUM to the launcher PROC; (status, its stderr, seconds from
    the signal to its exit)."""
    begin = time.monotonic()
    proc.send_signal(signum)
    status = proc.wait(timeout=60)
    took = time.monotonic() - begin
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stdout.close()
    proc.stderr.close()
    return status, stderr, took


def test_a_crash_syncs_and_unmounts(run, storage_bin, volume, tmp_path):  # noqa: F811
    result = run(
        "rumprun", "qemu", "-i", "-b", f"{volume},/data", storage_bin, "--", "crash", "/data"
    )
    assert result.returncode == 128 + signal.SIGSEGV, result
    lines = result.stderr.splitlines()
    crash = [line for line in lines if "null pointer dereference" in line]
    assert len(crash) == 1 and crash[0].startswith("rumprun: fatal: page fault"), result
    assert lines[-1] == "=== rumprun: exit status 139 ===", result
    fsck_clean(volume)
    assert dump(volume, "crashed.bin", tmp_path / "c.bin") == pattern(96, 0, 65536)
    assert dump(volume, "crashed.dir/inside", tmp_path / "i.bin") == pattern(95, 0, 5000)


@pytest.mark.parametrize("how", ["crash", "abort"])
def test_the_other_programs_outlive_a_crash(run, bake_image, volume, tmp_path, how):
    """--rc: a background program crashes (a fault, abort()), the
    foreground one goes on and its status is the machine's, as in a shell
    on Linux."""
    image = bake_image(
        tmp_path, "two.bin", {"crasher": [STORAGE_SOURCE], "survivor": [STORAGE_SOURCE]}
    )
    result = run(
        "rumprun",
        "qemu",
        "-i",
        "-b",
        f"{volume},/data",
        "--rc",
        f"& crasher {how} /data",
        "--rc",
        "survivor outlive /data",
        image,
    )
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == ["outlived"], result
    said = "null pointer dereference" if how == "crash" else "rumprun: killed by SIGABRT (abort)"
    assert said in result.stderr, result
    assert result.stderr.endswith("=== rumprun: exit status 0 ===\n"), result
    fsck_clean(volume)
    if how == "crash":
        assert dump(volume, "crashed.bin", tmp_path / "c.bin") == pattern(96, 0, 65536)
    else:
        assert dump(volume, "aborted.bin", tmp_path / "a.bin") == pattern(97, 0, 65536)
    assert dump(volume, "outlived.bin", tmp_path / "o.bin") == pattern(93, 0, 65536)


@pytest.mark.parametrize(
    "platform,mode,signum",
    [
        ("qemu", "lazy", signal.SIGINT),  # the program sleeps in the kernel
        ("qemu", "spin", signal.SIGTERM),  # it computes, never entering the kernel
        ("microvm", "spin", signal.SIGINT),
    ],
)
def test_the_launchers_signal_shuts_the_guest_down(
    storage_bin,  # noqa: F811
    state_env,
    volume,
    tmp_path,
    platform,
    mode,
    signum,
):
    name, seed = {"lazy": ("lazy.bin", 98), "spin": ("spun.bin", 94)}[mode]
    proc = start(state_env, platform, ["-b", f"{volume},/data", storage_bin, "--", mode, "/data"])
    status, stderr, took = interrupt(proc, signum)
    assert status == 128 + signum, stderr
    assert "rumprun: shutdown requested: syncing volumes\n" in stderr
    assert stderr.endswith(f"=== rumprun: exit status {128 + signum} ===\n"), stderr
    assert took < GRACE, f"{took:.1f} s"
    fsck_clean(volume)
    assert dump(volume, name, tmp_path / name) == pattern(seed, 0, 1 << 20)


def test_a_guest_without_volumes_shuts_down_too(storage_bin, state_env):  # noqa: F811
    proc = start(state_env, "qemu", [storage_bin, "--", "lazy", "/tmp"])
    status, stderr, _ = interrupt(proc, signal.SIGINT)
    assert status == 130, stderr
    assert "rumprun: shutdown requested: syncing volumes\n" in stderr
    assert stderr.endswith("=== rumprun: exit status 130 ===\n"), stderr


def test_a_guest_that_cannot_answer_is_stopped_after_the_grace(storage_bin, state_env):  # noqa: F811
    proc = start(state_env, "qemu", ["-p", storage_bin, "--", "lazy", "/tmp"], marker=None)
    time.sleep(1)  # QEMU is up, its CPU stopped
    status, stderr, took = interrupt(proc, signal.SIGINT)
    assert status == 130, stderr
    said = [line for line in stderr.splitlines() if line and "is paused" not in line]
    assert said == [
        f"rumprun: the guest did not shut down within {GRACE:g} s of SIGINT: QEMU stopped "
        "(writes not yet synced to its disks are lost)"
    ], stderr
    assert GRACE <= took < GRACE + 10, f"{took:.1f} s"


def test_rumprun_stop_shuts_a_detached_guest_down(run, storage_bin, state_env, volume, tmp_path):  # noqa: F811
    started = run(
        "rumprun", "qemu", "-N", "stopme", "-b", f"{volume},/data", storage_bin,
        "--", "spin", "/data",
    )  # fmt: skip
    assert started.returncode == 0 and started.stdout == "stopme\n", started
    log = Path(state_env["XDG_RUNTIME_DIR"], "rumprun", "guests", "stopme", "console.log")
    deadline = time.monotonic() + 120
    while "written" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "written" in log.read_text(errors="replace")
    stopped = run("rumprun", "stop", "stopme")
    assert stopped.returncode == 0 and stopped.stderr == "", stopped
    fsck_clean(volume)
    assert dump(volume, "spun.bin", tmp_path / "s.bin") == pattern(94, 0, 1 << 20)
