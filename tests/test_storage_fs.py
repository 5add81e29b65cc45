"""Storage file systems: `rumprun mkfs iso`, the kernel's ISO 9660 reader,
shared folders (virtio-9p).

The mkfs tests read the volumes back with pycdlib (an independent reader
of the format), and check that the same tree gives the same bytes and
that bad inputs get one sentence and status 2.
"""

import os
import stat
from pathlib import Path

import pytest

from conftest import assert_one_line_error


ROOT = Path(__file__).resolve().parent.parent
LONG_NAME = "a file name well beyond sixty-four characters, with spaces, dots. and more.txt"


def make_tree(top: Path) -> Path:
    """A tree with what Rock Ridge must carry: long names, modes, symbolic
    links, times, nested (deeper than ISO 9660's 8 levels) directories and a
    multi-MiB file."""
    top.mkdir()
    (top / LONG_NAME).write_text("long name\n")
    deep = top.joinpath(*"abcdefghij")
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("ten levels down\n")
    big = top / "big.bin"
    big.write_bytes(bytes((i * 7 + (i >> 11)) & 0xFF for i in range(3 << 20)))
    big.chmod(0o640)
    os.utime(big, (1577836800, 1577836800))          # 2020-01-01
    (top / "script.sh").write_text("#!/bin/sh\n")
    (top / "script.sh").chmod(0o755)
    (top / "link").symlink_to("a/b/c")
    (top / "dangling").symlink_to("/nowhere/at/all")
    (top / "Mixed").mkdir()
    (top / "mixed").mkdir()
    (top / "Mixed" / "x").write_text("X\n")
    (top / "mixed" / "y").write_text("y\n")
    (top / "empty").mkdir(mode=0o700)
    return top


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("tree") / "t")


@pytest.fixture(scope="module")
def volume(tree, run, tmp_path_factory):
    out = tmp_path_factory.mktemp("vol") / "t.iso"
    run("rumprun", "mkfs", "iso", tree, out, check=0)
    return out


def open_iso(path):
    import pycdlib
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    return iso


def read_rr(iso, path):
    import io
    buf = io.BytesIO()
    iso.get_file_from_iso_fp(buf, rr_path=path)
    return buf.getvalue()


def test_mkfs_iso_rock_ridge_tree(volume, tree):
    iso = open_iso(volume)
    try:
        assert read_rr(iso, "/" + LONG_NAME) == b"long name\n"
        assert read_rr(iso, "/a/b/c/d/e/f/g/h/i/j/deep.txt") == b"ten levels down\n"
        assert read_rr(iso, "/big.bin") == (tree / "big.bin").read_bytes()
        assert read_rr(iso, "/Mixed/x") == b"X\n" and read_rr(iso, "/mixed/y") == b"y\n"
        big = iso.get_record(rr_path="/big.bin")
        assert big.rock_ridge.get_file_mode() == stat.S_IFREG | 0o640
        assert (big.date.years_since_1900, big.date.month, big.date.day_of_month) == (120, 1, 1)
        assert iso.get_record(rr_path="/script.sh").rock_ridge.get_file_mode() & 0o777 == 0o755
        assert iso.get_record(rr_path="/empty").rock_ridge.get_file_mode() == stat.S_IFDIR | 0o700
        assert iso.get_record(rr_path="/link").rock_ridge.symlink_path() == b"a/b/c"
        assert iso.get_record(rr_path="/dangling").rock_ridge.symlink_path() == b"/nowhere/at/all"
        # Joliet, for readers without Rock Ridge: names of up to 64 characters.
        joliet = {name for _, dirs, files in iso.walk(joliet_path="/") for name in dirs + files}
        assert "big.bin;1" in joliet and "deep.txt;1" in joliet
        assert all(len(n.encode()) <= 64 for n in joliet)
    finally:
        iso.close()


def test_mkfs_iso_is_reproducible(tree, volume, run, tmp_path):
    again = tmp_path / "again.iso"
    run("rumprun", "mkfs", "iso", tree, again, check=0)
    assert again.read_bytes() == volume.read_bytes()
    # SOURCE_DATE_EPOCH clamps every date: a different tree time, same bytes.
    env = dict(os.environ, SOURCE_DATE_EPOCH="1000000000",
               PYTHONPATH=str(ROOT))
    one, two = tmp_path / "one.iso", tmp_path / "two.iso"
    run("rumprun", "mkfs", "iso", tree, one, env=env, check=0)
    os.utime(tree / "script.sh")                      # now, after the epoch
    run("rumprun", "mkfs", "iso", tree, two, env=env, check=0)
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes() != volume.read_bytes()


def test_mkfs_iso_bad_inputs(tree, run, tmp_path):
    fifo_tree = tmp_path / "fifo"
    fifo_tree.mkdir()
    os.mkfifo(fifo_tree / "pipe")
    assert_one_line_error(run("rumprun", "mkfs", "iso", fifo_tree, tmp_path / "o.iso"),
                          "FIFO", "pipe")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tmp_path / "missing", tmp_path / "o.iso"),
                          "missing")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree / "big.bin", tmp_path / "o.iso"),
                          "not a directory")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, "/dev/null"),
                          "not a regular file")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, tree / "inside.iso"),
                          "inside")
    existing = tmp_path / "existing.iso"
    existing.write_text("keep me")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, existing), "--force")
    assert existing.read_text() == "keep me"
    run("rumprun", "mkfs", "iso", "--force", tree, existing, check=0)
    assert existing.stat().st_size > 3 << 20
    # Nothing half-written was left behind by the failures.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.iso", "fifo"]
