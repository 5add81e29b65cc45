"""`rumprun mkfs`: file system images from host directories, no root needed.

    rumprun mkfs iso DIR OUT.iso      ISO 9660 + Rock Ridge + Joliet (pycdlib)
    rumprun mkfs ext2 DIR OUT.img     ext2, read-write in the guest (mke2fs -d)

The images are volumes for `rumprun -b IMAGE,MOUNTPOINT`.  Each kind is a
subcommand of the `mkfs` click group below; a kind is one function that
takes its arguments and writes OUT atomically (a temporary file beside it,
moved into place only when complete), raising RumprunError with one
sentence for anything the user can fix.

ISO volumes are reproducible: the tree is walked in sorted order, every
date is the file's own modification time (clamped to SOURCE_DATE_EPOCH
when that is set, as reproducible builds expect) and the volume's date is
SOURCE_DATE_EPOCH or the newest of them, so the same tree gives the same
bytes.  Rock Ridge carries the real names (up to 255 bytes), modes,
symbolic links and times; Joliet carries names of up to 64 characters for
systems without Rock Ridge; the plain ISO 9660 names are short uppercase
forms, unique within their directory.  Hard links are stored as copies;
sockets, FIFOs and devices are refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import click

from rumprun.errors import RumprunError

CONTEXT = {"help_option_names": ["-h", "--help"]}
# Progress lines only for trees big enough for the wait to be noticed.
_PROGRESS_BYTES = 64 << 20
_ISO_NAME_MAX = 30  # ISO 9660 level 3: name + '.' + extension
_JOLIET_NAME_MAX = 64


@click.group("mkfs", context_settings=CONTEXT)
def mkfs():
    """Make a file system image from a host directory."""


@mkfs.command("iso", context_settings=CONTEXT)
@click.option("--force", is_flag=True, help="Replace an existing OUT.")
@click.option(
    "-V",
    "--volume-id",
    default="RUMPRUN_DATA",
    show_default=True,
    help="The volume identifier (A-Z, 0-9, _; at most 32).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
def iso_command(directory, output, force, volume_id, quiet):
    """Write DIRECTORY's tree as an ISO 9660 volume OUTPUT (Rock Ridge and
    Joliet; the same tree gives the same bytes)."""
    make_iso(
        directory,
        output,
        force=force,
        volume_id=volume_id,
        progress=None if quiet else _stderr_progress,
    )


@mkfs.command("ext2", context_settings=CONTEXT)
@click.option(
    "--size",
    "size_mib",
    type=click.IntRange(min=1),
    default=None,
    metavar="MiB",
    help="The volume's size (default: the tree plus room to grow, 16 MiB at least).",
)
@click.option("--force", is_flag=True, help="Replace an existing OUT.")
@click.option("-L", "--label", default="", help="The volume label (at most 16 bytes).")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
def ext2_command(directory, output, size_mib, force, label):
    """Write DIRECTORY's tree as an ext2 volume OUTPUT, which the guest
    mounts read-write (rumprun -b OUTPUT,/MOUNTPOINT)."""
    make_ext2(directory, output, size_mib=size_mib, force=force, label=label)


# ext2 as this project's kernel writes it (kernel/fs/ext2): fixed here so
# the host's /etc/mke2fs.conf cannot add ext4 features the kernel refuses.
EXT2_FEATURES = "none,ext_attr,resize_inode,dir_index,filetype,sparse_super,large_file"
_EXT2_MIN_MIB = 16


def _tree_bytes(root: Path) -> int:
    """Bytes a tree needs on ext2 with 4 KiB blocks (data rounded up to
    blocks, plus an inode's worth and a directory entry per name)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += (st.st_size + 4095) // 4096 * 4096 + 512
    return total


def make_ext2(
    directory: Path, output: Path, *, size_mib=None, force: bool = False, label: str = ""
) -> None:
    """Write DIRECTORY's tree as an ext2 volume at OUTPUT (atomically; an
    existing OUTPUT only with FORCE, and only when it is a regular file),
    SIZE_MIB MiB big or sized for the tree.  Files keep their modes, owners
    and times.  Raises RumprunError with one sentence."""
    from rumprun import host
    from rumprun.images.iso import _check_output

    directory, output = Path(directory), Path(output)
    if not directory.exists():
        raise RumprunError(f"{directory} does not exist; mkfs ext2 takes a directory to pack")
    if not directory.is_dir():
        raise RumprunError(f"{directory} is not a directory; mkfs ext2 takes a directory to pack")
    if len(label.encode()) > 16:
        raise RumprunError(f"the label {label!r} is longer than 16 bytes")
    if output.is_symlink() or (output.exists() and not output.is_file()):
        raise RumprunError(f"{output} is not a regular file, which mkfs never replaces")
    _check_output(output, force)
    with contextlib.suppress(OSError):
        if Path(output.parent).resolve().is_relative_to(directory.resolve()):
            raise RumprunError(
                f"{output} is inside {directory}, the tree being packed; "
                "write the volume outside it"
            )
    mke2fs = host.require_program("mke2fs")
    need = _tree_bytes(directory)
    if size_mib is None:
        size_mib = max(_EXT2_MIN_MIB, (need * 5 // 4 + (8 << 20)) >> 20)
    try:
        fd, tmpname = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
        os.close(fd)
    except OSError as e:
        raise RumprunError(f"cannot create a file in {output.parent}: {e.strerror}") from None
    try:
        args = [
            mke2fs,
            "-q",
            "-F",
            "-t",
            "ext2",
            "-O",
            EXT2_FEATURES,
            "-b",
            "4096",
            "-m",
            "0",
            "-E",
            "root_owner=0:0",
            "-d",
            str(directory),
        ]
        if label:
            args += ["-L", label]
        args += [tmpname, f"{size_mib}M"]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            said = " ".join((result.stderr or result.stdout).split())[:300]
            if (
                "No space" in said
                or "Could not allocate" in said
                or "too small" in said
                or "not enough" in said.lower()
            ):
                raise RumprunError(
                    f"{directory} does not fit in {size_mib} MiB: give a larger "
                    f"--size (the tree holds about {need >> 20} MiB)"
                )
            raise RumprunError(
                f"mke2fs could not make the ext2 volume: {said or 'no reason given'}"
            )
        os.chmod(tmpname, 0o666 & ~host.umask())
        with open(tmpname, "rb+") as f:
            os.fsync(f.fileno())
        exists = f"{output} already exists; use --force to overwrite it"
        if force:
            os.replace(tmpname, output)
        else:
            try:
                os.link(tmpname, output)
            except FileExistsError:
                raise RumprunError(exists) from None
            except OSError:
                if output.exists():
                    raise RumprunError(exists) from None
                os.replace(tmpname, output)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmpname)


# --- the tree ---


@dataclass
class _Node:
    rel: str  # path below the root, '' for the root
    name: str  # its own name (bytes decoded with surrogateescape)
    st: os.stat_result
    target: str = ""  # symbolic links
    children: list = field(default_factory=list)


def _scan(root: Path):
    """The tree below ROOT as _Nodes in sorted order, plus file and byte
    counts.  Refuses special files with one sentence."""
    try:
        st = os.stat(root)
    except OSError as e:
        raise RumprunError(f"cannot read the directory {root}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise RumprunError(f"{root} is not a directory; mkfs iso takes a directory to pack")
    top = _Node("", "", st)
    counts = [0, 0]
    stack = [top]
    while stack:
        node = stack.pop()
        path = root / node.rel if node.rel else root
        try:
            names = sorted(os.listdir(path), key=os.fsencode)
        except OSError as e:
            raise RumprunError(f"cannot read the directory {path}: {e.strerror}") from None
        for name in names:
            rel = f"{node.rel}/{name}" if node.rel else name
            try:
                cst = os.lstat(root / rel)
            except OSError as e:
                raise RumprunError(f"cannot read {root / rel}: {e.strerror}") from None
            child = _Node(rel, name, cst)
            if stat.S_ISDIR(cst.st_mode):
                stack.append(child)
            elif stat.S_ISLNK(cst.st_mode):
                try:
                    child.target = os.readlink(root / rel)
                except OSError as e:
                    raise RumprunError(f"cannot read the link {root / rel}: {e.strerror}") from None
            elif stat.S_ISREG(cst.st_mode):
                counts[1] += cst.st_size
            else:
                raise RumprunError(
                    f"{root / rel} is a {_kind(cst.st_mode)}, which an ISO 9660 "
                    "volume cannot hold; remove it from the tree or pack a copy without it"
                )
            if len(os.fsencode(name)) > 255:
                raise RumprunError(f"the name of {root / rel} is longer than 255 bytes")
            for text, what in ((name, "name"), (child.target, "link target")):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise RumprunError(
                        f"the {what} of {os.fsencode(root / rel)!r} is not valid UTF-8, "
                        "which ISO 9660 volumes here need; rename it or pack a copy"
                    ) from None
            counts[0] += 1
            node.children.append(child)
    return top, counts[0], counts[1]


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


# --- names ---

_D_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _d_chars(text: str) -> str:
    return "".join(c if c in _D_CHARS else "_" for c in text.upper())


def _unique(
    candidate: str, taken: set, limit: int, split_ext: bool, mark: str = "~", measure=len
) -> str:
    """CANDIDATE, or a STEM~N.EXT form of it, that fits LIMIT (as MEASURE
    counts) and is not in TAKEN (compared case-insensitively: ISO and
    Joliet readers often fold case)."""
    stem, dot, ext = (
        candidate.rpartition(".") if split_ext and "." in candidate[1:] else (candidate, "", "")
    )
    name, n = candidate, 0
    while name.upper() in taken or measure(name) > limit:
        n += 1
        suffix = f"{mark}{n}"
        cut = stem
        while cut and measure(cut + suffix + dot + ext) > limit:
            cut = cut[:-1]
        name = cut + suffix + dot + ext
    taken.add(name.upper())
    return name


def _iso_name(name: str, is_dir: bool, taken: set) -> str:
    if is_dir:
        return _unique(_d_chars(name) or "_", taken, _ISO_NAME_MAX + 1, False, "_")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    stem, ext = _d_chars(stem)[: _ISO_NAME_MAX - 1] or "_", _d_chars(ext)[:8]
    return _unique(f"{stem}.{ext}", taken, _ISO_NAME_MAX, True, "_")


def _joliet_name(name: str, is_dir: bool, taken: set) -> str:
    clean = "".join(
        "_" if c in "*/:;?\\" or ord(c) < 32 or ord(c) > 0xFFFF else c
        for c in name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    )
    # pycdlib counts the UTF-8 bytes of the name, with ";1" for files.
    return _unique(
        clean,
        taken,
        _JOLIET_NAME_MAX - (0 if is_dir else 2),
        not is_dir,
        measure=lambda s: len(s.encode("utf-8")),
    )


# --- the clock pycdlib reads, pinned to each record's time ---

_clock_lock = threading.Lock()


class _Clock:
    """What pycdlib's modules see as `time`: now is whatever `now` is set to
    (a record's modification time while it is added), in UTC."""

    def __init__(self, now: float):
        self.now = now
        self.shim = types.SimpleNamespace(
            time=lambda: float(self.now),
            localtime=time.gmtime,
            gmtime=time.gmtime,
            strftime=time.strftime,
            mktime=time.mktime,
        )


@contextlib.contextmanager
def _pinned_clock(clock: _Clock):
    import pycdlib.dates
    import pycdlib.headervd
    import pycdlib.pycdlib
    import pycdlib.utils

    mods = [pycdlib.dates, pycdlib.headervd, pycdlib.pycdlib, pycdlib.utils]
    with _clock_lock:
        saved = [m.time for m in mods]
        for m in mods:
            m.time = clock.shim
        try:
            yield
        finally:
            for m, t in zip(mods, saved):
                m.time = t


# --- the ISO ---


def make_iso(
    directory: Path,
    output: Path,
    *,
    force: bool = False,
    volume_id: str = "RUMPRUN_DATA",
    progress=None,
) -> None:
    """Write DIRECTORY's tree as a Rock Ridge + Joliet ISO 9660 volume at
    OUTPUT (atomically; an existing OUTPUT only with FORCE, and only when it
    is a regular file).  PROGRESS(done_bytes, total_bytes) is called while
    big trees are written.  Raises RumprunError with one sentence."""
    import pycdlib
    from rumprun.images.iso import _check_output, _write_atomically

    directory, output = Path(directory), Path(output)
    if not volume_id or len(volume_id) > 32 or set(volume_id) - _D_CHARS:
        raise RumprunError(f"the volume identifier {volume_id!r} must be 1 to 32 of A-Z, 0-9 and _")
    if output.is_symlink() or (output.exists() and not output.is_file()):
        raise RumprunError(f"{output} is not a regular file, which mkfs never replaces")
    _check_output(output, force)
    top, nfiles, nbytes = _scan(directory)
    with contextlib.suppress(OSError):
        if os.path.samefile(output.parent, directory) or Path(
            output.parent
        ).resolve().is_relative_to(directory.resolve()):
            raise RumprunError(
                f"{output} is inside {directory}, the tree being packed; "
                "write the volume outside it"
            )

    epoch_env = os.environ.get("SOURCE_DATE_EPOCH")
    clamp = None
    if epoch_env is not None:
        try:
            clamp = int(epoch_env)
        except ValueError:
            raise RumprunError(
                f"SOURCE_DATE_EPOCH={epoch_env!r} is not a number of seconds"
            ) from None

    def when(st) -> int:
        t = int(st.st_mtime)
        t = max(t, 0)
        return min(t, clamp) if clamp is not None else t

    newest = [when(top.st)]

    def note(node):
        newest[0] = max(newest[0], when(node.st))
        for c in node.children:
            note(c)

    note(top)
    clock = _Clock(clamp if clamp is not None else newest[0])

    opened = []
    with _pinned_clock(clock):
        iso = pycdlib.PyCdlib()
        iso.new(
            interchange_level=3,
            vol_ident=volume_id,
            rock_ridge="1.09",
            joliet=3,
            app_ident_str="RUMPRUN MKFS ISO",
        )
        try:
            _add_tree(iso, directory, top, clock, when, opened)
            # The root's mode lives in its "." record (pycdlib gives 0555).
            dot = iso.get_record(iso_path="/").children[0]
            dot.rock_ridge.dr_entries.px_record.posix_file_mode = stat.S_IFDIR | stat.S_IMODE(
                top.st.st_mode
            )
            clock.now = clamp if clamp is not None else newest[0]
            callback = (
                _progress_callback(progress) if progress and nbytes >= _PROGRESS_BYTES else None
            )
            _write_atomically(output, force, lambda f: iso.write_fp(f, progress_cb=callback))
        except pycdlib.pycdlibexception.PyCdlibException as e:
            raise RumprunError(f"cannot make the ISO 9660 volume: {e}") from None
        finally:
            for f in opened:
                f.close()


def _add_tree(iso, root: Path, top: _Node, clock: _Clock, when, opened) -> None:
    # Breadth first, so a directory exists before its entries.
    queue = [(top, "/", "/")]
    while queue:
        node, iso_dir, joliet_dir = queue.pop(0)
        iso_taken, joliet_taken = set(), set()
        for child in node.children:
            mode = child.st.st_mode
            is_dir = stat.S_ISDIR(mode)
            iso_path = iso_dir.rstrip("/") + "/" + _iso_name(child.name, is_dir, iso_taken)
            joliet_path = (
                joliet_dir.rstrip("/") + "/" + _joliet_name(child.name, is_dir, joliet_taken)
            )
            clock.now = when(child.st)
            perm = stat.S_IMODE(mode)
            if is_dir:
                iso.add_directory(
                    iso_path,
                    rr_name=child.name,
                    joliet_path=joliet_path,
                    file_mode=stat.S_IFDIR | perm,
                )
                queue.append((child, iso_path, joliet_path))
            elif stat.S_ISLNK(mode):
                iso.add_symlink(
                    iso_path + ";1",
                    rr_symlink_name=child.name,
                    rr_path=child.target,
                    joliet_path=None,
                )
            else:
                try:
                    f = open(root / child.rel, "rb")
                except OSError as e:
                    raise RumprunError(f"cannot read {root / child.rel}: {e.strerror}") from None
                opened.append(f)
                size = os.fstat(f.fileno()).st_size
                if size != child.st.st_size:
                    raise RumprunError(f"{root / child.rel} changed while being packed")
                iso.add_fp(
                    f,
                    size,
                    iso_path + ";1",
                    rr_name=child.name,
                    joliet_path=joliet_path + ";1",
                    file_mode=stat.S_IFREG | perm,
                )


def _progress_callback(progress):
    """pycdlib's progress callback (it wants a plain function of three
    arguments): PROGRESS(done, total) at most once a second, and at the end."""
    last = [0.0]

    def callback(done, total, opaque):
        now = time.monotonic()
        if now - last[0] >= 1.0 or done == total:
            last[0] = now
            progress(done, total)

    return callback


def _stderr_progress(done: int, total: int) -> None:
    pct = 100 * done // total if total else 100
    print(
        f"rumprun mkfs: {done >> 20}/{total >> 20} MiB written ({pct}%)",
        file=sys.stderr,
        flush=True,
    )
