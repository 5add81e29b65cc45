"""Storage file systems: `rumprun mkfs iso`, the kernel's ISO 9660 reader,
shared folders (virtio-9p).

The mkfs tests read the volumes back with pycdlib (an independent reader
of the format), and check that the same tree gives the same bytes and
that bad inputs get one sentence and status 2.
"""

import io
import re
import os
import shutil
import stat
import subprocess
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
    os.utime(big, (1577836800, 1577836800))  # 2020-01-01
    (top / "script.sh").write_text("#!/bin/sh\n")
    (top / "script.sh").chmod(0o755)
    (top / "link").symlink_to("a/b/c")
    (top / "dangling").symlink_to("/nowhere/at/all")
    # Too long for one directory record: Rock Ridge continues in a CE area.
    (top / ("n" * 240 + ".txt")).write_text("longest name\n")
    (top / "long-target").symlink_to("/".join(["component-%02d" % i for i in range(30)]))
    (top / "Mixed").mkdir()
    (top / "mixed").mkdir()
    (top / "Mixed" / "x").write_text("X\n")
    (top / "mixed" / "y").write_text("y\n")
    (top / "empty").mkdir(mode=0o700)
    # A directory of many sectors (records never cross a sector's end).
    (top / "many").mkdir()
    for i in range(150):
        (top / "many" / f"entry-with-a-longish-name-{i:03d}.dat").write_text(f"{i}\n")
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
    env = dict(os.environ, SOURCE_DATE_EPOCH="1000000000", PYTHONPATH=str(ROOT))
    one, two = tmp_path / "one.iso", tmp_path / "two.iso"
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy, symlinks=True)
    run("rumprun", "mkfs", "iso", copy, one, env=env, check=0)
    os.utime(copy / "script.sh")  # now, after the epoch
    run("rumprun", "mkfs", "iso", copy, two, env=env, check=0)
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes() != volume.read_bytes()


def test_mkfs_iso_progress_for_big_trees(run, tmp_path):
    top = tmp_path / "big"
    top.mkdir()
    with open(top / "sparse.bin", "wb") as f:
        f.truncate(70 << 20)
    r = run("rumprun", "mkfs", "iso", top, tmp_path / "big.iso", check=0)
    assert "rumprun mkfs: " in r.stderr and "MiB written" in r.stderr, r.stderr
    assert r.stdout == ""
    r = run("rumprun", "mkfs", "iso", "-q", "--force", top, tmp_path / "big.iso", check=0)
    assert r.stderr == ""


def test_mkfs_iso_bad_inputs(tree, run, tmp_path):
    fifo_tree = tmp_path / "fifo"
    fifo_tree.mkdir()
    os.mkfifo(fifo_tree / "pipe")
    assert_one_line_error(
        run("rumprun", "mkfs", "iso", fifo_tree, tmp_path / "o.iso"), "FIFO", "pipe"
    )
    bad_name = tmp_path / "badname"
    bad_name.mkdir()
    (bad_name / os.fsdecode(b"\xffname")).write_text("x")
    assert_one_line_error(
        run("rumprun", "mkfs", "iso", bad_name, tmp_path / "o.iso"), "not valid UTF-8"
    )
    shutil.rmtree(bad_name)
    assert_one_line_error(
        run("rumprun", "mkfs", "iso", tmp_path / "missing", tmp_path / "o.iso"), "missing"
    )
    assert_one_line_error(
        run("rumprun", "mkfs", "iso", tree / "big.bin", tmp_path / "o.iso"), "not a directory"
    )
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, "/dev/null"), "not a regular file")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, tree / "inside.iso"), "inside")
    existing = tmp_path / "existing.iso"
    existing.write_text("keep me")
    assert_one_line_error(run("rumprun", "mkfs", "iso", tree, existing), "--force")
    assert existing.read_text() == "keep me"
    run("rumprun", "mkfs", "iso", "--force", tree, existing, check=0)
    assert existing.stat().st_size > 3 << 20
    # Nothing half-written was left behind by the failures.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.iso", "fifo"]


# --- the kernel's ISO 9660 reader, in a process (posix platform) ---


def fnv1a(data):
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def host_walk(top: Path):
    """The lines fsprobe's walk prints for a host tree (the reference)."""
    lines = []
    fnv = fnv1a

    def walk(rel):
        d = top / rel if rel else top
        for name in sorted(os.listdir(d), key=os.fsencode):
            sub = f"{rel}/{name}" if rel else name
            st = os.lstat(top / sub)
            if stat.S_ISDIR(st.st_mode):
                lines.append(f"walk: {sub} d {stat.S_IMODE(st.st_mode):o}")
                walk(sub)
            elif stat.S_ISLNK(st.st_mode):
                lines.append(f"walk: {sub} l ->{os.readlink(top / sub)}")
            else:
                data = (top / sub).read_bytes()
                lines.append(
                    f"walk: {sub} f {stat.S_IMODE(st.st_mode):o} {len(data)} "
                    f"{fnv(data):016x} {int(st.st_mtime)}"
                )

    walk("")
    return lines


@pytest.fixture(scope="module")
def posix_iso():
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "build/posix/inputs/iso9660"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return ROOT / "build" / "posix" / "inputs" / "iso9660"


def run_posix(program, *args):
    result = subprocess.run(
        [str(program), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    failures = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL")]
    assert result.returncode == 0 and not failures, result.stdout + result.stderr
    return result.stdout


def walked(output):
    return [ln for ln in output.splitlines() if ln.startswith("walk: ")]


def test_kernel_reads_rock_ridge_tree(posix_iso, volume, tree):
    """Names, modes, sizes, contents, times and symlinks as on the host,
    deep directories (relocated by mastering) in place; changes are EROFS."""
    out = run_posix(posix_iso, volume, "/iso", "checks")
    assert walked(out) == host_walk(tree)
    assert "done: " in out


def test_kernel_reads_joliet_and_plain_names(posix_iso, tmp_path):
    """Without Rock Ridge, Joliet names; without either, plain ISO 9660
    names as Linux shows them (lower case, no ;1)."""
    import pycdlib

    payload = b"0123456789" * 100_000
    for kind in ("joliet", "plain"):
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, joliet=3 if kind == "joliet" else None)
        iso.add_directory("/SUB", joliet_path="/Sub Dir" if kind == "joliet" else None)
        iso.add_fp(
            io.BytesIO(payload),
            len(payload),
            "/SUB/DATA.BIN;1",
            joliet_path="/Sub Dir/Data file.bin;1" if kind == "joliet" else None,
        )
        iso.add_fp(
            io.BytesIO(b"hi\n"),
            3,
            "/README.;1",
            joliet_path="/Read me, a long Joliet name with spaces.txt;1"
            if kind == "joliet"
            else None,
        )
        out_path = tmp_path / f"{kind}.iso"
        iso.write(str(out_path))
        iso.close()
        lines = walked(run_posix(posix_iso, out_path, "/v"))
        names = [
            ln.split(" ")[1]
            if kind == "plain"
            else ln[len("walk: ") :].rsplit(" f ", 1)[0].rsplit(" d ", 1)[0]
            for ln in lines
        ]
        if kind == "joliet":
            assert names == [
                "Read me, a long Joliet name with spaces.txt",
                "Sub Dir",
                "Sub Dir/Data file.bin",
            ], lines
        else:
            assert names == ["readme", "sub", "sub/data.bin"], lines
        data_line = lines[-1]
        assert f" f 444 {len(payload)} " in data_line, data_line


def test_kernel_reads_multi_extent_file(posix_iso, tmp_path):
    """A file in two extents (records with the multi-extent flag, as files
    past 4 GiB are written) reads as one: made by joining two files'
    records under one name."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09")
    iso.add_fp(io.BytesIO(b"a" * 4096), 4096, "/A.;1", rr_name="a")
    iso.add_fp(io.BytesIO(b"b" * 1000), 1000, "/B.;1", rr_name="b")
    buf = io.BytesIO()
    iso.write_fp(buf)
    data = bytearray(buf.getvalue())
    rec_a, rec_b = data.index(b"A.;1") - 33, data.index(b"B.;1") - 33
    data[rec_a + 25] |= 0x80  # more extents follow
    data[rec_b + 33 : rec_b + 37] = b"A.;1"
    nm = data.index(b"NM\x06\x01\x00b", rec_b)
    data[nm + 5] = ord("a")
    (tmp_path / "multi.iso").write_bytes(data)
    lines = walked(run_posix(posix_iso, tmp_path / "multi.iso", "/m"))
    assert len(lines) == 1 and lines[0].startswith("walk: a f 444 5096 "), lines
    assert lines[0].split()[5] == "%016x" % fnv1a(b"a" * 4096 + b"b" * 1000)


def test_kernel_refuses_disk_without_file_system(posix_iso, volume, tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(1 << 20))
    out = run_posix(posix_iso, blank, "/x", "nofs")
    assert "ok " in out
    damaged = bytearray(volume.read_bytes())
    damaged[16 * 2048 + 128 : 16 * 2048 + 132] = bytes(4)  # logical block size 0
    (tmp_path / "damaged.iso").write_bytes(damaged)
    out = run_posix(posix_iso, tmp_path / "damaged.iso", "/x", "damaged")
    assert "ok " in out


# --- in the unikernel: ISO disks packed by `rumprun iso`, shared folders ---

STATUS_LINE = re.compile(r"^=== rumprun: exit status (\d+) ===\r?$", re.M)


def boot_cdrom(iso_path):
    cmd = [
        "qemu-system-x86_64",
        "-m",
        "128",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
        "-serial",
        "stdio",
        "-display",
        "none",
        "-no-reboot",
        "-net",
        "none",
        "-cdrom",
        str(iso_path),
    ]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=180)
    out = r.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    statuses = STATUS_LINE.findall(out)
    assert statuses, f"no status line; QEMU exited {r.returncode}:\n{out}"
    return out, int(statuses[-1])


def guest_lines(out, prefix):
    # GRUB's screen escapes may precede the first line of the program.
    return [ln[ln.index(prefix) :] for ln in out.splitlines() if prefix in ln]


@pytest.mark.qemu
def test_iso_carries_volume_as_module_disk(run, fsprobe, volume, tree, tmp_path):
    """rumprun iso -b VOLUME,/data: GRUB loads the volume as a module, the
    kernel serves it as a disk and mounts it; the program reads the tree."""
    image = tmp_path / "boot.iso"
    run(
        "rumprun",
        "iso",
        "-o",
        image,
        "-b",
        f"{volume},/data",
        fsprobe,
        "--",
        "walk",
        "/data",
        ",",
        "statfs",
        "/data",
        ",",
        "write",
        "/data/new",
        "x",
        check=0,
    )
    out, status = boot_cdrom(image)
    assert status == 0, out
    assert guest_lines(out, "walk: ") == host_walk(tree), out
    assert "statfs /data: type=9660 ro=1" in out
    assert "write /data/new: error EROFS" in out


@pytest.mark.qemu
def test_iso_carries_writable_ext2_module(run, fsprobe, tree, tmp_path):
    """An ext2 image packed by rumprun iso is a disk in memory: writable,
    the ISO itself unchanged."""
    img = tmp_path / "t.ext2"
    run("rumprun", "mkfs", "ext2", tree, img, check=0)
    image = tmp_path / "boot.iso"
    run(
        "rumprun",
        "iso",
        "-o",
        image,
        "-b",
        f"{img},/data",
        fsprobe,
        "--",
        "write",
        "/data/new",
        "written in memory",
        ",",
        "cat",
        "/data/new",
        ",",
        "statfs",
        "/data",
        check=0,
    )
    before = image.read_bytes()
    out, status = boot_cdrom(image)
    assert status == 0, out
    assert "cat /data/new: written in memory" in out
    assert "statfs /data: type=ef53 ro=0" in out
    assert image.read_bytes() == before


@pytest.mark.qemu
def test_volume_on_virtio_blk(run, fsprobe, volume, tree):
    """rumprun qemu -b VOLUME,/data: the same tree through virtio-blk."""
    r = run(
        "rumprun",
        "qemu",
        "-i",
        "-b",
        f"{volume},/data",
        fsprobe,
        "--",
        "walk",
        "/data",
        ",",
        "statfs",
        "/data",
        ",",
        "mkdir",
        "/data/d",
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert guest_lines(r.stdout, "walk: ") == host_walk(tree), r.stdout
    assert "statfs /data: type=9660 ro=1" in r.stdout
    assert "mkdir /data/d: error EROFS" in r.stdout


@pytest.mark.qemu
def test_disk_without_file_system_stops_the_boot(run, fsprobe, tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(1 << 20))
    image = tmp_path / "boot.iso"
    run("rumprun", "iso", "-o", image, "-b", f"{blank},/x", fsprobe, "--", "walk", "/x", check=0)
    out, status = boot_cdrom(image)
    assert status == 1, out
    assert "cannot mount images/blank.img on /x: it holds no file system" in out
    assert "walk" not in out


@pytest.mark.qemu
def test_shared_folder_both_ways(run, fsprobe, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "in.txt").write_text("from the host\n")
    (host / "sub").mkdir()
    (host / "sub" / "old").write_text("old\n")
    big = os.urandom(3 << 20)
    (host / "big.bin").write_bytes(big)
    (host / "gone").write_text("still readable")
    (host / "many").mkdir()
    for i in range(400):  # more than one Treaddir answer's worth
        (host / "many" / f"a-rather-long-file-name-number-{i:04d}").write_text(str(i))
    r = run(
        "rumprun",
        "qemu",
        "-i",
        "--share",
        f"{host}:/mnt/share",
        fsprobe,
        "--",
        "cat",
        "/mnt/share/in.txt",
        ",",
        "write",
        "/mnt/share/out.txt",
        "from the guest",
        ",",
        "mkdir",
        "/mnt/share/made",
        ",",
        "write",
        "/mnt/share/made/f",
        "nested",
        ",",
        "symlink",
        "../in.txt",
        "/mnt/share/made/link",
        ",",
        "cat",
        "/mnt/share/made/link",
        ",",
        "rename",
        "/mnt/share/sub/old",
        "/mnt/share/made/moved",
        ",",
        "rmdir",
        "/mnt/share/sub",
        ",",
        "chmod",
        "600",
        "/mnt/share/made/f",
        ",",
        "append",
        "/mnt/share/in.txt",
        "+guest",
        ",",
        "link",
        "/mnt/share/out.txt",
        "/mnt/share/hard",
        ",",
        "write",
        "/mnt/share/cut",
        "0123456789",
        ",",
        "truncate",
        "/mnt/share/cut",
        "4",
        ",",
        "utime",
        "/mnt/share/cut",
        "1234567890",
        ",",
        "stat",
        "/mnt/share/cut",
        ",",
        "stat",
        "/mnt/share/hard",
        ",",
        "unlinkread",
        "/mnt/share/gone",
        ",",
        "walk",
        "/mnt/share",
        ",",
        "statfs",
        "/mnt/share",
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "cat /mnt/share/in.txt: from the host" in out
    assert "cat /mnt/share/made/link: from the host" in out
    assert "statfs /mnt/share: type=1021997 ro=0" in out
    assert "error" not in out, out
    # The host sees every change.
    assert (host / "out.txt").read_text() == "from the guest"
    assert (host / "made" / "f").read_text() == "nested"
    assert stat.S_IMODE((host / "made" / "f").stat().st_mode) == 0o600
    assert os.readlink(host / "made" / "link") == "../in.txt"
    assert (host / "made" / "moved").read_text() == "old\n"
    assert not (host / "sub").exists()
    assert (host / "in.txt").read_text() == "from the host\n+guest"
    assert os.path.samefile(host / "hard", host / "out.txt")
    assert "unlinkread /mnt/share/gone: still readable" in out
    assert not (host / "gone").exists()
    assert "stat /mnt/share/hard: mode=100644 size=14 nlink=2" in out
    assert (host / "cut").read_text() == "0123"
    assert (host / "cut").stat().st_mtime == 1234567890
    assert "stat /mnt/share/cut: mode=100644 size=4 nlink=1 mtime=1234567890" in out
    # And the guest saw the host's tree as it is now (the big file byte for byte).
    assert guest_lines(out, "walk: ") == host_walk(host), out


@pytest.mark.qemu
def test_read_only_share_refuses_writes(run, fsprobe, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "in.txt").write_text("keep\n")
    r = run(
        "rumprun",
        "qemu",
        "-i",
        "--share",
        f"{host}:/ro:ro",
        fsprobe,
        "--",
        "cat",
        "/ro/in.txt",
        ",",
        "write",
        "/ro/in.txt",
        "x",
        ",",
        "write",
        "/ro/new",
        "x",
        ",",
        "mkdir",
        "/ro/d",
        ",",
        "unlink",
        "/ro/in.txt",
        ",",
        "chmod",
        "600",
        "/ro/in.txt",
        ",",
        "statfs",
        "/ro",
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for line in [
        "cat /ro/in.txt: keep",
        "write /ro/in.txt: error EROFS",
        "write /ro/new: error EROFS",
        "mkdir /ro/d: error EROFS",
        "unlink /ro/in.txt: error EROFS",
        "chmod /ro/in.txt: error EROFS",
        "statfs /ro: type=1021997 ro=1",
    ]:
        assert line in r.stdout, r.stdout
    assert sorted(os.listdir(host)) == ["in.txt"]
    assert (host / "in.txt").read_text() == "keep\n"
    assert stat.S_IMODE((host / "in.txt").stat().st_mode) == 0o644
