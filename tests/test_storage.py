"""Disks in the guest: ext2 volumes made by `rumprun mkfs ext2`, mounted
with -b IMAGE,MOUNTPOINT over virtio-blk, written and read by a program
(tests/apps/storage/storage.c) as it would on Linux; raw disks as /dev/ld0;
what happens on bad input, on a read-only image, and when QEMU is killed.

The differential test runs the same workload natively on a host
directory and in the guest on ext2, and compares the trees (entries,
modes, sizes, link counts, contents).  After every clean exit `e2fsck -fn`
must find the volume clean.  Needs e2fsprogs (mke2fs, e2fsck, debugfs).
"""

import fcntl
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import assert_one_line_error, fsck_clean, mkfs, native, pattern

pytestmark = pytest.mark.qemu  # the tests here boot guests

EROFS = 30


def guest(run, image, *args, timeout=120, status=0):
    """Boot IMAGE with rumprun ARGS; the program's lines (status line and
    the launcher's notices dropped)."""
    result = run("rumprun", "qemu", "-i", *args, timeout=timeout)
    said = f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == status, said
    assert "FAILED" not in result.stdout, said
    return [line for line in result.stdout.splitlines() if not line.startswith("===")]


def test_workload_on_ext2_matches_the_host(run, storage_bin, storage_native, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    fsck_clean(image)
    assert guest(run, image, "-b", f"{image},/data", storage_bin, "--", "work", "/data") == [
        "work done"
    ]
    fsck_clean(image)
    on_host = tmp_path / "host"
    on_host.mkdir()
    assert native(storage_native, "work", on_host) == ["work done"]
    want = native(storage_native, "manifest", on_host)
    assert want[-1] == "manifest: 99 entries"
    # What the guest reads back after a fresh boot: the same tree.
    got = guest(run, image, "-b", f"{image},/data", storage_bin, "--", "manifest", "/data")
    assert got == want
    fsck_clean(image)
    # And what is on the disk, read by e2fsprogs (rdump drops hard links).
    dump = tmp_path / "dump"
    dump.mkdir()
    subprocess.run(
        ["debugfs", "-R", f"rdump / {dump}", str(image)], check=True, capture_output=True
    )
    on_disk = [line for line in native(storage_native, "manifest", dump)]
    unlink_counts = [
        line.replace(" 2 ", " 1 ") if "hardlink" in line or "size-50000" in line else line
        for line in want
    ]
    assert on_disk == unlink_counts


def test_a_tree_packed_by_mkfs_reads_back(run, storage_bin, storage_native, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    native(storage_native, "work", tree)
    want = native(storage_native, "manifest", tree)
    image = mkfs(run, tree, tmp_path / "packed.img")
    got = guest(run, image, "-b", f"{image},/srv", storage_bin, "--", "manifest", "/srv")
    assert got == want
    assert guest(run, image, "-b", f"{image},/srv", storage_bin, "--", "statfs", "/srv") == [
        "type ef53 ro 0 free<total 1"
    ]
    fsck_clean(image)


def test_two_disks_one_inside_the_other(run, storage_bin, tmp_path):
    outer_tree, inner_tree = tmp_path / "outer", tmp_path / "inner"
    outer_tree.mkdir()
    inner_tree.mkdir()
    (inner_tree / "hello").write_text("inner\n")
    outer = mkfs(run, outer_tree, tmp_path / "outer.img")
    inner = mkfs(run, inner_tree, tmp_path / "inner.img")
    lines = guest(
        run, outer, "-b", f"{outer},/a", "-b", f"{inner},/a/b", storage_bin, "--", "manifest", "/a"
    )
    assert sorted(line.split()[0] + " " + line.split()[-1] for line in lines[:-1]) == [
        "d b",
        "f b/hello",
    ], lines
    assert "f 0644 6 1 " in "\n".join(lines), lines
    fsck_clean(outer)
    fsck_clean(inner)
    # The mount point was made on the outer volume; a read-only one cannot.
    outer.chmod(0o444)
    result = run(
        "rumprun",
        "qemu",
        "-i",
        "-b",
        f"{outer},/x",
        "-b",
        f"{inner},/x/new/dir",
        storage_bin,
        "--",
        "manifest",
        "/x",
    )
    assert result.returncode == 1, result
    # The kernel's mount error is on COM1 (stderr).
    assert "the directory is missing and its file system is read-only" in result.stderr


def test_mkfs_ext2_bad_input(run, tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "big").write_bytes(os.urandom(3 << 20))
    result = run("rumprun", "mkfs", "ext2", "--size", "2", tmp_path / "tree", tmp_path / "x.img")
    assert_one_line_error(result, "does not fit in 2 MiB")
    assert not (tmp_path / "x.img").exists()
    assert_one_line_error(
        run("rumprun", "mkfs", "ext2", tmp_path / "nope", tmp_path / "x.img"), "does not exist"
    )
    (tmp_path / "x.img").write_bytes(b"keep")
    assert_one_line_error(
        run("rumprun", "mkfs", "ext2", tmp_path / "tree", tmp_path / "x.img"), "already exists"
    )
    assert (tmp_path / "x.img").read_bytes() == b"keep"
    assert list(tmp_path.glob(".x.img.*")) == []


def start_until(state_env, args, marker, timeout=120):
    """Start `rumprun qemu -i ARGS` in a session of its own and wait until
    the guest has printed MARKER; the process (killpg it when done)."""
    from conftest import tool

    proc = subprocess.Popen(
        tool("rumprun") + ["qemu", "-i"] + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=state_env,
        start_new_session=True,
    )
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    if marker not in out:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        pytest.fail(
            f"the guest never printed {marker!r}:\n{out.decode(errors='replace')}"
            f"\n{proc.stderr.read().decode(errors='replace')}"
        )
    return proc


def test_fsynced_data_survives_kill_9(run, storage_bin, state_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    proc = start_until(
        state_env, ["-b", f"{image},/data", storage_bin, "--", "durable", "/data"], b"synced\n"
    )
    time.sleep(0.5)  # let it be in the middle of unsynced writes
    kill_and_fsck(proc, image)
    dumped = tmp_path / "durable.bin"
    subprocess.run(
        ["debugfs", "-R", f"dump /durable.bin {dumped}", str(image)],
        check=True,
        capture_output=True,
    )
    data = dumped.read_bytes()
    assert len(data) == 4 << 20
    assert data == pattern(99, 0, 4 << 20)


def kill_and_fsck(proc, image):
    """SIGKILL the launcher's session (and so its QEMU), wait for QEMU to
    let go of the image, repair it with e2fsck -fy, which must then leave
    it clean."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with open(image, "rb") as f:  # QEMU is gone when the lock is free
        for _ in range(200):
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.05)
    fsck = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, text=True)
    assert fsck.returncode in (0, 1), fsck.stdout + fsck.stderr
    fsck_clean(image)


def test_unsynced_writes_reach_the_disk_within_seconds(run, storage_bin, state_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    proc = start_until(
        state_env, ["-b", f"{image},/data", storage_bin, "--", "lazy", "/data"], b"written\n"
    )
    # The syncer writes back every 5 s: watch the image from the host
    # (debugfs reads it while QEMU runs) until the file is there.
    start = time.monotonic()
    while time.monotonic() - start < 30:
        time.sleep(1)
        seen = subprocess.run(
            ["debugfs", "-R", "stat /lazy.bin", str(image)], capture_output=True, text=True
        )
        if "Size: 1048576" in seen.stdout:
            break
    waited = time.monotonic() - start
    kill_and_fsck(proc, image)
    assert waited < 30, "the unsynced file never reached the disk"
    dumped = tmp_path / "lazy.bin"
    subprocess.run(
        ["debugfs", "-R", f"dump /lazy.bin {dumped}", str(image)], check=True, capture_output=True
    )
    assert dumped.read_bytes() == pattern(98, 0, 1 << 20)


def test_abort_still_leaves_a_clean_volume(run, storage_bin, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    result = run(
        "rumprun", "qemu", "-i", "-b", f"{image},/data", storage_bin, "--", "abort", "/data"
    )
    assert result.returncode == 128 + signal.SIGABRT, result
    fsck_clean(image)
    dumped = tmp_path / "aborted.bin"
    subprocess.run(
        ["debugfs", "-R", f"dump /aborted.bin {dumped}", str(image)],
        check=True,
        capture_output=True,
    )
    assert dumped.read_bytes() == pattern(97, 0, 65536)


def test_read_only_image_gives_erofs(run, storage_bin, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("x")
    image = mkfs(run, tree, tmp_path / "ro.img")
    image.chmod(0o444)
    before = image.read_bytes()
    lines = guest(run, image, "-b", f"{image},/ro", storage_bin, "--", "erofs", "/ro")
    assert lines == [f"create {EROFS}", f"mkdir {EROFS}", f"chmod {EROFS}", "statfs-ro 1"]
    assert image.read_bytes() == before


@pytest.mark.parametrize(
    "transport",
    ["", "disable-modern=on", "disable-legacy=on"],
    ids=["transitional", "legacy", "modern"],
)
def test_raw_disk_is_dev_ld0(run, storage_bin, tmp_path, transport):
    disk = tmp_path / "raw.img"
    disk.write_bytes(b"\0" * (3 << 20))
    extra = ["-g", f"-global virtio-blk-pci.{transport}"] if transport else []
    lines = guest(run, disk, *extra, "-b", str(disk), storage_bin, "--", "raw", "/dev/ld0")
    assert lines == [
        f"size {3 << 20} end {3 << 20}",
        "read back 'raw block data'",
        "block device 1",
    ]
    assert disk.read_bytes()[1000:1014] == b"raw block data"


def test_unknown_file_system_stops_the_program(run, storage_bin, tmp_path):
    disk = tmp_path / "zero.img"
    disk.write_bytes(b"\0" * (4 << 20))
    result = run(
        "rumprun", "qemu", "-i", "-b", f"{disk},/data", storage_bin, "--", "statfs", "/data"
    )
    assert result.returncode == 1, result
    # The kernel's line is on COM1 (stderr); the program's output on stdout.
    assert "cannot mount /dev/ld0 on /data: it holds no file system" in result.stderr
    assert "type " not in result.stdout  # the program never ran


def test_ext4_is_refused_with_a_reason(run, storage_bin, tmp_path):
    image = tmp_path / "ext4.img"
    subprocess.run(
        ["mke2fs", "-q", "-F", "-t", "ext4", str(image), "16M"], check=True, capture_output=True
    )
    result = run(
        "rumprun", "qemu", "-i", "-b", f"{image},/data", storage_bin, "--", "statfs", "/data"
    )
    assert result.returncode == 1, result
    assert "ext3/ext4 features this kernel cannot read (extent" in result.stderr
    assert "type " not in result.stdout


def test_bad_disks_on_the_command_line(run, storage_bin, tmp_path):
    assert_one_line_error(
        run("rumprun", "qemu", "-i", "-b", f"{tmp_path}/nope.img,/data", storage_bin),
        "No such file",
    )
    assert_one_line_error(
        run("rumprun", "qemu", "-i", "-b", f"{tmp_path},/data", storage_bin), "is a directory"
    )
    a, b = tmp_path / "a.img", tmp_path / "b.img"
    for disk in (a, b):
        disk.write_bytes(b"\0" * (1 << 20))
    assert_one_line_error(
        run("rumprun", "qemu", "-i", "-b", f"{a},/data", "-b", f"{b},/data", storage_bin),
        "both mount on /data",
    )


def test_one_image_is_written_by_one_guest(run, storage_bin, state_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    first = start_until(
        state_env, ["-b", f"{image},/data", storage_bin, "--", "durable", "/data"], b"synced\n"
    )
    try:
        second = run(
            "rumprun", "qemu", "-i", "-b", f"{image},/data", storage_bin, "--", "statfs", "/data"
        )
        assert_one_line_error(second, "in use by another running guest")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
