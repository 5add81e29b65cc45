"""The kernel's components, run in an ordinary process.

`make posix-tests` builds each tests/kernel/NAME.c against the kernel
library and the posix platform (platform/posix); each program makes system
calls through syscall_dispatch exactly as the app would and prints one
"ok"/"FAIL" line per check, grouped in named sections (KTEST_SECTION in
tests/kernel/ktest.h).  Each program runs once; each of its sections is a
test case here.  Also the root file system packer
(rumprun/toolchain/rootfs.py) end to end.  Fast: no QEMU.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from rumprun.errors import RumprunError
from rumprun.toolchain import rootfs

ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = ROOT / "build" / "posix" / "tests"
SOURCES = ROOT / "tests" / "kernel"
WHOLE = "whole program"  # the one case of a program without sections


def sections(source):
    """The section names of a test program, in order (from its source)."""
    names = re.findall(r'KTEST_SECTION\("([^"\\]*)"\)', source.read_text())
    return names or [WHOLE]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


CASES = [
    pytest.param(src.stem, name, id=f"{src.stem}:{slug(name)}")
    for src in sorted(SOURCES.glob("*.c"))
    for name in sections(src)
]


def make(*targets, **variables):
    args = ["make", "-s", "-C", str(ROOT)] + list(targets)
    args += [f"{k}={v}" for k, v in variables.items()]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def posix_tests():
    """Build the kernel library, the posix platform and the test programs once."""
    make("posix-tests")
    return TESTS_DIR


def run_program(path, timeout=60):
    result = subprocess.run(
        [str(path)], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    failures = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL")]
    assert result.returncode == 0 and not failures, (
        f"{path.name} exited {result.returncode} with failures:\n"
        + "\n".join(failures)
        + f"\n--- output ---\n{result.stdout[-4000:]}"
        + f"\n--- stderr ---\n{result.stderr[-2000:]}"
    )
    assert "done: " in result.stdout, result.stdout[-2000:]
    return result.stdout


_runs = {}


def program_run(tests_dir, name):
    """The program's one run: (exit status, stdout, stderr), cached."""
    if name not in _runs:
        try:
            r = subprocess.run(
                [str(tests_dir / name)],
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            _runs[name] = (r.returncode, r.stdout, r.stderr)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if e.stdout else ""
            _runs[name] = (None, out, "timed out after 120 s")
    return _runs[name]


@pytest.mark.parametrize("program,section", CASES)
def test_kernel_component(posix_tests, program, section):
    status, out, err = program_run(posix_tests, program)
    lines = out.splitlines()
    if section == WHOLE:
        mine = lines
    else:
        marker = f"section {section}"
        assert marker in lines, (
            f"{program} ended before section {section!r} (status {status}):\n"
            + "\n".join(lines[-20:])
            + f"\n--- stderr ---\n{err[-2000:]}"
        )
        begin = lines.index(marker) + 1
        after = [i for i in range(begin, len(lines)) if lines[i].startswith("section ")]
        mine = lines[begin : after[0] if after else len(lines)]
        finished = bool(after) or any(ln.startswith("done: ") for ln in lines[begin:])
        assert finished, (
            f"{program} ended inside section {section!r} "
            f"(status {status}):\n" + "\n".join(mine[-20:]) + f"\n--- stderr ---\n{err[-2000:]}"
        )
    failures = [ln for ln in mine if ln.startswith("FAIL")]
    assert not failures, f"{program}, {section}:\n" + "\n".join(failures)
    assert any(ln.startswith("ok ") for ln in mine), f"{program}, {section}: no checks ran"
    if section == WHOLE or section == sections(SOURCES / f"{program}.c")[-1]:
        assert status == 0 and "done: " in out, (
            f"{program} exited {status}:\n"
            + "\n".join(lines[-20:])
            + f"\n--- stderr ---\n{err[-2000:]}"
        )


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
        namesize = int(data[off + 94 : off + 102], 16)
        filesize = int(data[off + 54 : off + 62], 16)
        name = data[off + 110 : off + 110 + namesize - 1].decode()
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
    symbols = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    addresses = {}
    for line in symbols.splitlines():
        value, kind, name = line.split()
        addresses[name] = (int(value, 16), kind)
    start, start_kind = addresses[rootfs.START_SYMBOL]
    end, end_kind = addresses[rootfs.END_SYMBOL]
    assert start_kind == end_kind == "R"
    # The archive sits between them, whole.
    assert end - start == len(archive)
