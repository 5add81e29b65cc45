"""Parsing the launcher's flags, one function per flag: text -> typed value.

Each parser returns a value of the launch model (rumprun.model) or raises
RumprunError with one sentence naming the flag, what it got and the form it
takes.  Checks that involve several flags (a -W for an unknown interface,
two disks on one mount point) are model.make_launch's.  The net parsers
import ipaddress only when a net flag is given.
"""

import os
import posixpath
import re
import shlex
import stat
from pathlib import Path

from rumprun.errors import RumprunError

# -I's ifbasename -> the driver, and the guest's name stem for it.
NIC_DRIVERS = {"vioif": "vioif", "e1000": "e1000", "wm": "e1000", "xenif": "xenif"}
GUEST_IFNAME = {"vioif": "vioif", "e1000": "wm", "xenif": "xenif"}
# An xl vif specification (rumprun xen's -I options): key=value,...
XL_VIF_PATTERN = r"[a-z][a-z0-9_-]*=[^,\s'\"]*(,[a-z][a-z0-9_-]*=[^,\s'\"]*)*"
TAG_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
ISO9660_MAGIC = (0x8001, b"CD001")
EXT2_MAGIC = (1080, b"\x53\xef")


def parse_env(text):
    """-e VAR=VALUE -> (VAR, VALUE)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise RumprunError(f"bad -e {text!r}: give it as VAR=VALUE")
    if not name:
        raise RumprunError(f"bad -e {text!r}: the variable name is empty")
    if "\0" in text:
        raise RumprunError(f"bad -e {text!r}: it contains a NUL byte")
    return name, value


def parse_program(text):
    """--rc '[&|] BIN [ARGS...]' -> (bin, args, runmode)."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise RumprunError(f"bad --rc {text!r}: {e}") from None
    mode = words.pop(0) if words and words[0] in ("&", "|") else ""
    if not words:
        raise RumprunError(f"bad --rc {text!r}: give it as '[&|] PROGRAM [ARGS...]'")
    return words[0], tuple(words[1:]), mode


def parse_qemu_args(texts, refused):
    """-g ARGS (each split like a shell would) -> one argument tuple.
    REFUSED maps an option to why it cannot be given."""
    args = []
    for text in texts:
        try:
            args += shlex.split(text)
        except ValueError as e:
            raise RumprunError(f"bad -g {text!r}: {e}") from None
    for arg in args:
        why = refused.get("-" + arg.lstrip("-"))
        if why:
            raise RumprunError(f"-g {arg} is not allowed: {why}")
    return tuple(args)


def parse_size(text, flag):
    """BYTES[K|M|G] -> bytes."""
    m = re.fullmatch(r"([0-9]+)([KMG]?)(?:i?B)?", text.strip(), re.I)
    if not m or int(m.group(1)) == 0:
        raise RumprunError(
            f"bad {flag} {text!r}: give a size in bytes with an optional K, M or G suffix, e.g. 8M"
        )
    return int(m.group(1)) * SIZE_SUFFIXES[m.group(2).upper()]


def format_size(size):
    """Bytes as the shortest exact text parse_size reads back (8388608 -> 8M)."""
    for suffix in ("G", "M", "K"):
        if size % SIZE_SUFFIXES[suffix] == 0:
            return f"{size // SIZE_SUFFIXES[suffix]}{suffix}"
    return str(size)


def _guest_path(text, flag, whole):
    """An absolute path in the guest, normalised, not the root."""
    if not text.startswith("/"):
        raise RumprunError(
            f"bad {flag} {whole!r}: the mount point {text!r} must "
            "be an absolute path in the guest, e.g. /data"
        )
    path = posixpath.normpath(text)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if path == "/":
        raise RumprunError(
            f"bad {flag} {whole!r}: the root (/) is the guest's own "
            "file system; mount it somewhere below, e.g. /data"
        )
    return path


# --- networking (-I, -W, -P) --------------------------------------------------


def parse_interface(text):
    """-I iftag,ifbasename[,backend opts] -> (tag, driver, backend words)."""
    tag, _, rest = text.partition(",")
    base, _, backend = rest.partition(",")
    if not re.fullmatch(TAG_PATTERN, tag) or not base:
        raise RumprunError(
            f"bad -I {text!r}: give it as IFTAG,IFBASENAME[,BACKEND OPTIONS], "
            "e.g. net0,vioif or net0,e1000,'-netdev tap,ifname=tap0,script=no'"
        )
    if base not in NIC_DRIVERS:
        raise RumprunError(
            f"bad -I {text!r}: unknown interface type {base!r}: use vioif "
            "(virtio-net), e1000 (Intel 82540EM; wm is the same) or xenif (Xen)"
        )
    if re.fullmatch(XL_VIF_PATTERN, backend):
        # Not QEMU's: an xl vif specification, for rumprun xen.
        return tag, NIC_DRIVERS[base], (backend,)
    try:
        words = tuple(shlex.split(backend))
    except ValueError as e:
        raise RumprunError(f"bad -I {text!r}: {e}") from None
    if words and (
        words[0] not in ("-net", "-netdev")
        or len(words) != 2
        or not re.match(r"[a-z][a-z0-9-]*(,|$)", words[1])
    ):
        raise RumprunError(
            f"bad -I {text!r}: the backend options are one QEMU -net or -netdev "
            "option, e.g. '-net user' or '-netdev tap,ifname=tap0,script=no' "
            "(for rumprun xen: an xl vif specification, e.g. bridge=xenbr0)"
        )
    return tag, NIC_DRIVERS[base], words


def parse_address(text):
    """-W iftag,inet,dhcp | iftag,inet,static,ADDR/MASK[,GW] | iftag,inet6,auto |
    iftag,inet6,static,ADDR/PREFIX[,GW] -> (tag, type, method, addr, mask, gw)."""
    import ipaddress

    usage = (
        f"bad -W {text!r}: give it as IFTAG,inet,dhcp or "
        "IFTAG,inet,static,ADDR/MASK[,GW] or IFTAG,inet6,auto or "
        "IFTAG,inet6,static,ADDR/PREFIX[,GW]"
    )
    parts = text.split(",")
    if len(parts) < 3:
        raise RumprunError(usage)
    tag, family, method, rest = parts[0], parts[1], parts[2], parts[3:]
    dynamic = {"inet": "dhcp", "inet6": "auto"}
    if family not in dynamic:
        raise RumprunError(f"{usage} (the type is inet or inet6, not {family!r})")
    if method == dynamic[family]:
        if rest:
            raise RumprunError(usage)
        return tag, family, method, None, None, None
    if method != "static" or len(rest) not in (1, 2):
        raise RumprunError(usage)
    kind = ipaddress.IPv4Interface if family == "inet" else ipaddress.IPv6Interface
    try:
        interface = kind(rest[0])
    except ValueError as e:
        raise RumprunError(f"bad -W {text!r}: {e}") from None
    if "/" not in rest[0]:
        raise RumprunError(
            f"bad -W {text!r}: the address needs its mask, e.g. "
            f"{interface.ip}/{24 if family == 'inet' else 64}"
        )
    gw = None
    if len(rest) == 2:
        try:
            gw = kind(rest[1]).ip
        except ValueError as e:
            raise RumprunError(f"bad -W {text!r}: the gateway: {e}") from None
        if gw not in interface.network:
            raise RumprunError(f"bad -W {text!r}: the gateway {gw} is not in {interface.network}")
    return (
        tag,
        family,
        method,
        str(interface.ip),
        str(interface.network.prefixlen),
        None if gw is None else str(gw),
    )


def parse_port(text):
    """-P [HOSTADDR:]HOSTPORT:GUESTPORT[/udp] -> (protocol, host_addr,
    host_port, guest_port)."""
    import ipaddress

    usage = (
        f"bad -P {text!r}: give it as [HOSTADDR:]HOSTPORT:GUESTPORT[/udp], "
        "e.g. 8080:80 or 127.0.0.1:8080:80 or 5353:53/udp"
    )
    spec, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp"):
        raise RumprunError(f"{usage} (the protocol is tcp or udp)")
    if spec.startswith("["):
        raise RumprunError(
            f"bad -P {text!r}: QEMU's user networking forwards IPv4 host addresses only"
        )
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise RumprunError(usage)
    host_addr = parts[0] if len(parts) == 3 else ""
    if host_addr:
        try:
            ipaddress.IPv4Address(host_addr)
        except ValueError:
            raise RumprunError(f"{usage} ({host_addr!r} is not an IPv4 address)") from None
    ports = []
    for port in parts[-2:]:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise RumprunError(f"{usage} (a port is a number from 1 to 65535, not {port!r})")
        ports.append(int(port))
    return protocol, host_addr, ports[0], ports[1]


# --- storage (-b, --share, --stack) ----------------------------------------------


def _has(f, where):
    offset, magic = where
    f.seek(offset)
    return f.read(len(magic)) == magic


def parse_disk(text):
    """-b HOSTPATH[,MOUNTPOINT] -> (absolute path, mountpoint or None,
    fstype, read-only).  Read-only when the file is (its mode, or we cannot
    write it) or holds ISO 9660; fstype from the superblock (cd9660, ext2,
    else auto), blk without a mount point."""
    path, mountpoint = text, None
    head, sep, tail = text.rpartition(",")
    if sep and (tail.startswith("/") or os.path.exists(head) and not os.path.exists(text)):
        path, mountpoint = head, _guest_path(tail, "-b", text)
    if not path:
        raise RumprunError(f"bad -b {text!r}: give it as HOSTPATH[,MOUNTPOINT]")
    absolute = Path(path).absolute()
    try:
        st = os.stat(absolute)
    except OSError as e:
        raise RumprunError(f"bad -b {text!r}: {path}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise RumprunError(
            f"bad -b {text!r}: {path} is a directory, not a disk image (make one "
            f"with rumprun mkfs, or share the directory with --share {path}:/dir)"
        )
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise RumprunError(f"bad -b {text!r}: {path} is not a regular file or a block device")
    try:
        with open(absolute, "rb") as f:
            iso = _has(f, ISO9660_MAGIC)
            ext2 = _has(f, EXT2_MAGIC)
    except OSError as e:
        raise RumprunError(f"bad -b {text!r}: cannot read {path}: {e.strerror}") from None
    # Read-only by its mode (even for root, who may write anything) or for
    # us (permissions, a read-only mount), or because ISO 9660 is.
    readonly = iso or not st.st_mode & 0o222 or not os.access(absolute, os.W_OK)
    if mountpoint is None:
        fstype = "blk"
    else:
        fstype = "cd9660" if iso else "ext2" if ext2 else "auto"
    return absolute, mountpoint, fstype, readonly


def parse_share(text):
    """--share HOSTDIR:GUESTPATH[:ro] -> (absolute host directory, guest
    path, read-only)."""
    spec, readonly = (text[:-3], True) if text.endswith(":ro") else (text, False)
    host, sep, guest = spec.rpartition(":/")
    if not sep or not host:
        raise RumprunError(
            f"bad --share {text!r}: give it as HOSTDIR:GUESTPATH[:ro], "
            "e.g. ./src:/src or /srv/www:/www:ro"
        )
    mountpoint = _guest_path("/" + guest, "--share", text)
    absolute = Path(host).absolute()
    if not absolute.is_dir():
        raise RumprunError(f"bad --share {text!r}: {host} is not a directory")
    return absolute, mountpoint, readonly
