"""The image's root file system: a host directory packed into the image.

``rumprun-bake --rootfs DIR`` packs DIR into a cpio archive in the "newc"
format (the portable ASCII format of cpio(5), magic ``070701``) and links it
into the image between the symbols ``_rumprun_rootfs_start`` and
``_rumprun_rootfs_end``; at boot the kernel's VFS unpacks it into the tmpfs
root (kernel/vfs/rootfs.c), after the baked-in /etc, so the user's files
win.  kernel/vfs/README.md describes the whole path.

What goes in: directories, regular files and symbolic links, with their
permission bits and modification times; every entry belongs to root (uid
and gid 0; the host's owners mean nothing in the unikernel).  Hard links are
stored as separate copies.  Sockets, FIFOs and device nodes are refused
with a clear error, as is anything unreadable.
"""

import os
import stat
from pathlib import Path

from rumprun import host
from rumprun.errors import RumprunError

START_SYMBOL = "_rumprun_rootfs_start"
END_SYMBOL = "_rumprun_rootfs_end"
SECTION = ".rodata.rumprun_rootfs"
MAGIC = b"070701"
TRAILER = "TRAILER!!!"
# The kernel's limits (kernel/vfs/vfs_impl.h): longer names cannot be made.
NAME_MAX = 255
PATH_MAX = 4096


def _pad4(data):
    return data + b"\0" * (-len(data) % 4)


def cpio_entry(name, mode, data=b"", mtime=0, ino=0, nlink=1):
    """One newc entry: header, NUL-terminated name and data, each padded to 4."""
    encoded = name.encode() + b"\0"
    fields = [
        ino,
        mode,
        0,
        0,
        nlink,
        int(mtime) & 0xFFFFFFFF,
        len(data),
        0,
        0,
        0,
        0,
        len(encoded),
        0,
    ]
    header = MAGIC + b"".join(b"%08X" % f for f in fields)
    return _pad4(header + encoded) + _pad4(data)


def _entries(root):
    """(archive name, lstat result, path) for DIR and everything below it, sorted."""
    yield ".", os.lstat(root), root
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_walk_error):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            yield rel, os.lstat(path), path


def _walk_error(err):
    raise RumprunError(
        f"cannot read {err.filename} for the root file system: "
        f"{err.strerror} (check its permissions)"
    )


def pack_rootfs(directory):
    """Pack DIRECTORY into a cpio newc archive (bytes) for the image."""
    root = Path(directory)
    if not root.is_dir():
        raise RumprunError(
            f"root file system {root} is not a directory: give the directory "
            "whose contents should appear under / in the unikernel"
        )
    out = []
    ino = 1
    for name, st, path in _entries(root):
        if any(len(part.encode()) > NAME_MAX for part in name.split("/")):
            raise RumprunError(
                f"{path} has a name longer than {NAME_MAX} bytes, which the "
                "unikernel's file system cannot hold: rename it"
            )
        if len(name.encode()) + 2 > PATH_MAX:
            raise RumprunError(
                f"{path} has a path longer than {PATH_MAX - 2} bytes inside the "
                "root file system: move it higher up"
            )
        perm = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            out.append(cpio_entry(name, stat.S_IFDIR | perm, b"", st.st_mtime, ino, 2))
        elif stat.S_ISREG(st.st_mode):
            try:
                data = path.read_bytes()
            except OSError as e:
                raise RumprunError(
                    f"cannot read {path} for the root file system: "
                    f"{e.strerror} (check its permissions)"
                ) from None
            out.append(cpio_entry(name, stat.S_IFREG | perm, data, st.st_mtime, ino))
        elif stat.S_ISLNK(st.st_mode):
            target = os.readlink(path).encode()
            out.append(cpio_entry(name, stat.S_IFLNK | 0o777, target, st.st_mtime, ino))
        else:
            raise RumprunError(
                f"{path} is not a regular file, directory or symbolic link "
                "(sockets, FIFOs and devices cannot go into the root file "
                "system): remove it from the directory"
            )
        ino += 1
    out.append(cpio_entry(TRAILER, 0, b"", 0, 0, 1))
    return b"".join(out)


def assembly_source(archive_path):
    """The assembler source that links ARCHIVE_PATH in between the two symbols."""
    quoted = str(archive_path).replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'\t.section {SECTION},"a",@progbits\n'
        f"\t.balign 16\n"
        f"\t.globl {START_SYMBOL}\n"
        f"{START_SYMBOL}:\n"
        f'\t.incbin "{quoted}"\n'
        f"\t.globl {END_SYMBOL}\n"
        f"{END_SYMBOL}:\n"
        f"\t.byte 0\n"
        f'\t.section .note.GNU-stack,"",@progbits\n'
    )


def rootfs_object(archive, workdir):
    """Turn ARCHIVE (bytes from pack_rootfs) into an object file in WORKDIR.

    WORKDIR is a private temporary directory the caller removes; returns
    the object's path, ready to be given to the final link.
    """
    workdir = Path(workdir)
    cpio = workdir / "rumprun-rootfs.cpio"
    source = workdir / "rumprun-rootfs.S"
    obj = workdir / "rumprun-rootfs.o"
    cpio.write_bytes(archive)
    source.write_text(assembly_source(cpio))
    host.run_tool(
        ["gcc", "-c", "-o", obj, source],
        "assembling the root file system archive failed (check that "
        "gcc and binutils are installed)",
    )
    return obj


def directory_object(directory, workdir):
    """pack_rootfs and rootfs_object in one step: the object for DIRECTORY."""
    return rootfs_object(pack_rootfs(directory), workdir)
