"""The kernel's file system components, run in an ordinary process.

`make posix-tests` builds each tests/kernel/NAME.c against the kernel
library and the posix platform (platform/posix); each program makes system
calls through syscall_dispatch exactly as the app would and prints one
"ok"/"FAIL" line per check.  These tests run them and the root file system
packer (rumprun/toolchain/rootfs.py) end to end.  Fast: no QEMU.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rumprun.toolchain import rootfs  # noqa: E402
from rumprun.errors import RumprunError  # noqa: E402

TESTS_DIR = ROOT / "build" / "posix" / "tests"
PROGRAMS = sorted(p.stem for p in (ROOT / "tests" / "kernel").glob("*.c"))


def make(*targets, **variables):
    args = ["make", "-s", "-C", str(ROOT)] + list(targets)
    args += [f"{k}={v}" for k, v in variables.items()]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def posix_tests():
    """Build the kernel library, the posix platform and the test programs once."""
    make("posix-tests")
    return TESTS_DIR


def run_program(path, timeout=60):
    result = subprocess.run([str(path)], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    failures = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL")]
    assert result.returncode == 0 and not failures, (
        f"{path.name} exited {result.returncode} with failures:\n"
        + "\n".join(failures) + f"\n--- output ---\n{result.stdout[-4000:]}"
        + f"\n--- stderr ---\n{result.stderr[-2000:]}")
    assert "done: " in result.stdout, result.stdout[-2000:]
    return result.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_kernel_program(posix_tests, name):
    out = run_program(posix_tests / name)
    checks = int(out.split("done: ")[1].split()[0])
    assert checks > 0


def test_no_rootfs_without_an_archive(posix_tests):
    # Without the archive object the weak symbols are absent: nothing unpacked.
    out = run_program(posix_tests / "vfs_boot")
    assert "rootfs: none" in out


def make_sample_tree(base):
    tree = base / "tree"
    (tree / "data" / "sub").mkdir(parents=True)
    (tree / "data" / "empty").mkdir()
    (tree / "etc").mkdir()
    (tree / "bin").mkdir()
    (tree / "hello.txt").write_text("hello, rootfs\n")
    deep = tree / "data" / "sub" / "deep.bin"
    deep.write_bytes(bytes(i % 251 for i in range(100000)))
    deep.chmod(0o600)
    os.utime(deep, (1234567890, 1234567890))
    (tree / "data" / "sub").chmod(0o750)
    (tree / "data" / "link").symlink_to("sub/deep.bin")
    (tree / "etc" / "motd").write_text("welcome\n")
    (tree / "etc" / "hosts").write_text("10.0.0.1 server\n")
    tool = tree / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    return tree


def test_rootfs_archive_unpacks_in_the_kernel(posix_tests, tmp_path):
    tree = make_sample_tree(tmp_path)
    obj = rootfs.directory_object(tree, tmp_path)
    make("build/posix/tests/vfs_boot-rootfs", POSIX_ROOTFS_OBJ=obj)
    out = run_program(TESTS_DIR / "vfs_boot-rootfs")
    assert "rootfs: linked in" in out


def test_rootfs_archive_format(tmp_path):
    tree = make_sample_tree(tmp_path)
    data = rootfs.pack_rootfs(tree)
    assert data.startswith(b"070701")
    assert data.rstrip(b"\0").endswith(b"TRAILER!!!")
    assert len(data) % 4 == 0
    # Entries are sorted and named relative to the root, "." first.
    names = []
    off = 0
    while True:
        namesize = int(data[off + 94:off + 102], 16)
        filesize = int(data[off + 54:off + 62], 16)
        name = data[off + 110:off + 110 + namesize - 1].decode()
        names.append(name)
        off = (off + 110 + namesize + 3) & ~3
        off = (off + filesize + 3) & ~3
        if name == "TRAILER!!!":
            break
    assert names[0] == "."
    assert "data/sub/deep.bin" in names and "data/link" in names
    assert off == len(data)


def test_rootfs_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(RumprunError, match="not a directory"):
        rootfs.pack_rootfs(tmp_path / "missing")
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "fifo")
    with pytest.raises(RumprunError, match="FIFOs"):
        rootfs.pack_rootfs(tree)


def test_rootfs_object_defines_the_symbols(tmp_path):
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_text("x")
    archive = rootfs.pack_rootfs(tree)
    obj = rootfs.rootfs_object(archive, tmp_path)
    symbols = subprocess.run(["nm", str(obj)], capture_output=True,
                             text=True, check=True).stdout
    addresses = {}
    for line in symbols.splitlines():
        value, kind, name = line.split()
        addresses[name] = (int(value, 16), kind)
    start, start_kind = addresses[rootfs.START_SYMBOL]
    end, end_kind = addresses[rootfs.END_SYMBOL]
    assert start_kind == end_kind == "R"
    # The archive sits between them, whole.
    assert end - start == len(archive)
