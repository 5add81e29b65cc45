"""The launch model: one validated description of a guest, for every backend.

The click commands parse flags into make_launch(), which checks every input
once (one sentence for a bad one) and returns a frozen Launch.  Backends
(rumprun/backends/) only render it: QEMU argument lists, grub.cfg,
VBoxManage commands; kernel_config() renders what the kernel reads (rumprun's
JSON, see README.md).  Detached guests store the Launch itself
(to_record/from_record), so ps, stop and cont see what was started.
"""

from __future__ import annotations  # Optional[...] needs no typing import

import json
import re
import shlex
from pathlib import Path

from rumprun.errors import RumprunError
from rumprun.records import fields, is_record, record

DEFAULT_MEMORY_MIB = 64
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}"
# QEMU options a launch must not be given through -g: they would detach
# QEMU from the launcher or fight the options the launcher sets.
REFUSED_QEMU_ARGS = {
    "-daemonize": "the launcher runs QEMU itself (leave out -i for a detached guest)",
}


@record
class Program:
    """One entry of the configuration's "rc": a baked app to run."""

    bin: str
    args: tuple[str, ...] = ()
    runmode: str = ""  # "" foreground, "&" background, "|" pipe


@record
class Image:
    """A baked image, as checked when the launch was made."""

    path: Path  # absolute
    config: str  # the bake configuration's name
    platform: str  # the configuration's platform ("hw")
    min_memory_mib: int
    qemu_loadable: bool = True  # QEMU's -kernel can load it (multiboot
    # a.out-kludge addresses in a 64-bit ELF)


@record
class Interface:
    """-I: a network interface of the guest, in command-line order."""

    tag: str  # the user's name for it (-W refers to it)
    driver: str  # vioif (virtio-net) or e1000 (82540EM)
    ifname: str  # the guest's name: vioif0, vioif1, wm0...
    backend: tuple[str, ...] = ()  # QEMU's -net/-netdev words; () = user


@record
class Address:
    """-W: how an interface gets its address (a "net" entry)."""

    ifname: str
    type: str  # inet | inet6
    method: str  # dhcp (inet) | auto (inet6) | static
    addr: str | None = None  # static only
    mask: str | None = None  # static only: a prefix length
    gw: str | None = None


@record
class Port:
    """-P: a host port forwarded to the guest through user networking."""

    protocol: str  # tcp | udp
    host_addr: str  # "" for every address
    host_port: int
    guest_port: int


@record
class Disk:
    """-b: a disk image, the guest's ldN in command-line order."""

    path: Path  # absolute
    mountpoint: str | None  # None: attached raw
    fstype: str  # ext2 | cd9660 | auto | blk (raw)
    readonly: bool


@record
class Share:
    """--share: a host directory over virtio-9p, mount tag shareN in order."""

    host_dir: Path  # absolute
    mountpoint: str
    readonly: bool


@record
class Launch:
    """Everything a backend needs to run (or describe) one guest."""

    platform: str  # the launcher platform: qemu, kvm, iso...
    image: Image
    argv: tuple[str, ...]  # argv[0] is the image's file name
    env: tuple[tuple[str, str], ...] = ()
    hostname: str = "rumprun"
    memory_mib: int = DEFAULT_MEMORY_MIB
    name: str | None = None  # -N: the guest's handle (and host name)
    rc: tuple[Program, ...] = ()
    interactive: bool = False  # -i: console here, wait for the status
    paused: bool = False  # -p: start with the CPU stopped
    destroy: bool = False  # -d: forget the guest when it powers off
    dry_run: bool = False  # -D: print the plan, run nothing
    tmpdir: Path | None = None  # -T: where temporary files go
    qemu_args: tuple[str, ...] = ()  # -g, already split
    gdb_port: int | None = None  # -D PORT after the platform
    output: Path | None = None  # iso: the file to write
    force: bool = False  # iso: replace an existing output
    interfaces: tuple[Interface, ...] = ()  # -I (and the one -P implies)
    addresses: tuple[Address, ...] = ()  # -W
    ports: tuple[Port, ...] = ()  # -P
    disks: tuple[Disk, ...] = ()  # -b
    shares: tuple[Share, ...] = ()  # --share
    stack: int | None = None  # --stack: the main thread's stack, bytes

    def to_record(self):
        """The launch as JSON-ready data (from_record reads it back)."""
        return _to_data(self)

    @classmethod
    def from_record(cls, data):
        """The Launch to_record() wrote; ValueError if DATA does not fit."""
        return _from_data(cls, data)


# --- checking the user's input ----------------------------------------------


def check_rc(rc):
    if rc and rc[-1].runmode == "|":
        raise RumprunError(
            f"bad --rc: the last program ({rc[-1].bin}) pipes its output ('|') into nothing"
        )
    return tuple(rc)


def check_name(name):
    if not re.fullmatch(NAME_PATTERN, name):
        raise RumprunError(
            f"bad guest name {name!r}: use up to 48 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return name


def load_image(path):
    """Check that PATH is a baked image this rumprun knows; describe it."""
    from rumprun.toolchain import configs, imagecache

    path = Path(path)
    facts = imagecache.image_facts(path)
    try:
        platform = configs.load_config(facts["config"]).platform
    except RumprunError:
        raise RumprunError(
            f"{path} was baked with configuration {facts['config']!r}, which this "
            f"rumprun does not know: bake it again (rumprun-bake list)"
        ) from None
    return Image(
        path=path.resolve(),
        config=facts["config"],
        platform=platform,
        min_memory_mib=facts["min_memory_mib"],
        qemu_loadable=facts["qemu_loadable"],
    )


def make_launch(
    platform,
    image,
    args=(),
    *,
    env=(),
    memory_mib=None,
    name=None,
    hostname=None,
    rc=(),
    qemu_args=(),
    interfaces=(),
    addresses=(),
    ports=(),
    disks=(),
    shares=(),
    stack=None,
    **options,
):
    """Check every input and build the Launch (one sentence on a bad one).

    PLATFORM names the backend (rumprun.backends.BACKENDS); IMAGE is a path;
    ARGS the app's arguments; the other arguments are the flags' texts (-e,
    --rc, -g, -I, -W, -P, -b, --share, --stack); OPTIONS the remaining
    Launch fields.
    """
    from rumprun import options as opt
    from rumprun.backends import BACKENDS

    backend = BACKENDS[platform]
    image = load_image(image)
    if memory_mib is None:
        memory_mib = max(DEFAULT_MEMORY_MIB, image.min_memory_mib)
    elif memory_mib < image.min_memory_mib:
        raise RumprunError(
            f"-M {memory_mib} is too little for {image.path}: it needs at least "
            f"{image.min_memory_mib} MiB"
        )
    if name is not None:
        check_name(name)
    nics, nets = _network(
        backend,
        [opt.parse_interface(t) for t in interfaces],
        [opt.parse_address(t) for t in addresses],
        ports,
    )
    disks = tuple(Disk(*opt.parse_disk(t)) for t in disks)
    shares = tuple(Share(*opt.parse_share(t)) for t in shares)
    _check_storage(backend, disks, shares)
    if stack is not None:
        from rumprun import abi

        stack = opt.parse_size(stack, "--stack")
        if stack < abi.MIN_STACK_SIZE:
            raise RumprunError(
                f"--stack {opt.format_size(stack)} is too small: "
                f"give at least {opt.format_size(abi.MIN_STACK_SIZE)}"
            )
        if stack >= memory_mib << 20:
            raise RumprunError(
                f"--stack {opt.format_size(stack)} does not fit in "
                f"the guest's {memory_mib} MiB (-M)"
            )
    return Launch(
        platform=platform,
        image=image,
        argv=(image.path.name,) + tuple(args),
        env=tuple(opt.parse_env(e) for e in env),
        hostname=hostname or name or "rumprun",
        memory_mib=memory_mib,
        name=name,
        rc=check_rc([Program(*opt.parse_program(r)) for r in rc]),
        qemu_args=opt.parse_qemu_args(qemu_args, REFUSED_QEMU_ARGS),
        interfaces=nics,
        addresses=nets,
        ports=tuple(Port(*opt.parse_port(t)) for t in ports),
        disks=disks,
        shares=shares,
        stack=stack,
        **options,
    )


def _network(backend, interfaces, addresses, ports):
    """The guest's interfaces (-I) and their "net" entries (-W), checked
    together and against what BACKEND can do.  -P without -I gives the
    guest one interface of the backend's usual kind, with DHCP."""
    from rumprun.options import GUEST_IFNAME

    if ports and not backend.ports:
        raise RumprunError(
            f"rumprun {backend.name} cannot publish ports (-P): "
            "it has no user networking of its own"
        )
    if ports and not interfaces:
        interfaces = [("net0", backend.default_nic, ())]
        addresses = [("net0", "inet", "dhcp", None, None, None)] + list(addresses)
    nics, counts = [], {}
    for tag, driver, words in interfaces:
        if any(n.tag == tag for n in nics):
            raise RumprunError(f"bad -I: two interfaces are called {tag!r}")
        if driver not in backend.nics:
            raise RumprunError(
                f"bad -I {tag},{driver}: rumprun {backend.name} has no {driver} "
                f"interfaces (it has {', '.join(backend.nics)})"
            )
        xl_spec = bool(words) and not words[0].startswith("-")
        if xl_spec and not backend.vif_options:
            raise RumprunError(
                f"bad -I {tag}: {words[0]!r} is an xl vif specification, for rumprun "
                f"xen; rumprun {backend.name} takes a QEMU -net or -netdev option"
            )
        if words and not xl_spec and not backend.netdev:
            raise RumprunError(
                f"bad -I {tag}: rumprun {backend.name} takes no QEMU backend options "
                "(give the interface as IFTAG,IFBASENAME"
                + (
                    ", or with an xl vif specification such as bridge=xenbr0)"
                    if backend.vif_options
                    else ")"
                )
            )
        unit = counts.get(driver, 0)
        counts[driver] = unit + 1
        nics.append(Interface(tag, driver, f"{GUEST_IFNAME[driver]}{unit}", words))
    by_tag = {n.tag: n for n in nics}
    nets, seen = [], set()
    for tag, family, method, addr, mask, gw in addresses:
        if tag not in by_tag:
            known = ", ".join(by_tag) or "none"
            raise RumprunError(
                f"bad -W {tag},{family},...: there is no interface "
                f"{tag!r} (-I gives them; the known ones: {known})"
            )
        if (tag, family) in seen:
            raise RumprunError(f"bad -W: interface {tag!r} has two {family} configurations")
        seen.add((tag, family))
        nets.append(Address(by_tag[tag].ifname, family, method, addr, mask, gw))
    if ports and not any(user_networking(n) for n in nics):
        raise RumprunError(
            "-P publishes ports through QEMU's user networking, and no -I "
            "interface uses it (give one with no backend options, or '-net user')"
        )
    return tuple(nics), tuple(nets)


def user_networking(interface):
    """Whether INTERFACE's QEMU backend is user networking (slirp)."""
    return not interface.backend or interface.backend[1].split(",")[0] == "user"


def _check_storage(backend, disks, shares):
    if shares and not backend.shares:
        raise RumprunError(
            f"rumprun {backend.name} cannot share host folders "
            "(--share needs QEMU's virtio-9p): use -b with an "
            "image made by rumprun mkfs"
        )
    seen = {}
    for disk in disks:
        real = disk.path.resolve()
        if real in seen:
            raise RumprunError(
                f"-b {seen[real]} and -b {disk.path} are the same "
                "image: a guest gets each image once"
            )
        seen[real] = disk.path
    places = {}
    for what, mountpoint in [(f"-b {d.path}", d.mountpoint) for d in disks] + [
        (f"--share {s.host_dir}", s.mountpoint) for s in shares
    ]:
        if mountpoint is None:
            continue
        if mountpoint in places:
            raise RumprunError(
                f"{places[mountpoint]} and {what} both mount on "
                f"{mountpoint}: give each its own mount point"
            )
        places[mountpoint] = what


# --- rendering --------------------------------------------------------------


def disk_modules(launch):
    """The names -b images get when a backend packs them into an ISO as
    multiboot modules (images/NAME, one per disk, in order, made unique)."""
    names = []
    for disk in launch.disks:
        name, n = disk.path.name, 1
        while f"images/{name}" in names:
            n += 1
            name = f"{disk.path.stem}-{n}{disk.path.suffix}"
        names.append(f"images/{name}")
    return names


def kernel_config(launch, disks_as_modules=False):
    """The configuration the kernel reads (rumprun's JSON), as bytes.

    Arguments and -e values are passed byte for byte: text that came from
    the command line as undecodable bytes (Python's surrogate escapes) goes
    back out as those bytes.  DISKS_AS_MODULES: the -b images reach the
    guest as multiboot modules (disk_modules), not as virtio-blk devices.
    """
    from rumprun.options import format_size

    config = {
        "cmdline": shlex.join(launch.argv),
        "env": [f"{k}={v}" for k, v in launch.env + _terminal_env(launch)],
        "hostname": launch.hostname,
    }
    if launch.rc:
        config["rc"] = [
            {"bin": p.bin, "argv": list(p.args), "runmode": p.runmode} for p in launch.rc
        ]
    if launch.addresses:
        config["net"] = [
            {
                k: v
                for k, v in (
                    ("if", a.ifname),
                    ("type", a.type),
                    ("method", a.method),
                    ("addr", a.addr),
                    ("mask", a.mask),
                    ("gw", a.gw),
                )
                if v is not None
            }
            for a in launch.addresses
        ]
    if launch.disks:
        sources = (
            disk_modules(launch)
            if disks_as_modules
            else [f"/dev/ld{i}" for i in range(len(launch.disks))]
        )
        config["blk"] = [
            {
                "source": "module" if disks_as_modules else "dev",
                "path": source,
                "fstype": d.fstype,
                **({"mountpoint": d.mountpoint} if d.mountpoint else {}),
                "ro": d.readonly,
            }
            for d, source in zip(launch.disks, sources)
        ]
    if launch.shares:
        config["share"] = [
            {"tag": f"share{i}", "mountpoint": s.mountpoint, "ro": s.readonly}
            for i, s in enumerate(launch.shares)
        ]
    if launch.stack is not None:
        config["stack"] = format_size(launch.stack)
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


def _terminal_env(launch):
    """TERM for the programs when -i gives them this terminal (our stdin or
    stdout is one), as a login there would: the host's own value, unless -e
    sets TERM."""
    import os

    term = os.environ.get("TERM")
    if (
        not launch.interactive
        or not term
        or any(k == "TERM" for k, _ in launch.env)
        or not (os.isatty(0) or os.isatty(1))
    ):
        return ()
    return (("TERM", term),)


def rumprun_command(launch, platform, *options):
    """The rumprun command line that makes LAUNCH's guest on PLATFORM (with
    the platform's own OPTIONS), absolute paths: -D prints it where a
    backend's work is done by the tools themselves (an ISO)."""
    from rumprun.options import format_size

    args = [*_rumprun_program(), platform, *map(str, options)]
    if launch.name:
        args += ["-N", launch.name]
    for k, v in launch.env:
        args += ["-e", f"{k}={v}"]
    for p in launch.rc:
        args += ["--rc", shlex.join(([p.runmode] if p.runmode else []) + [p.bin, *p.args])]
    tags = {}
    for n in launch.interfaces:
        tags[n.ifname] = n.tag
        args += ["-I", ",".join([n.tag, n.driver] + ([shlex.join(n.backend)] if n.backend else []))]
    for a in launch.addresses:
        static = [f"{a.addr}/{a.mask}"] + ([a.gw] if a.gw else []) if a.addr else []
        args += ["-W", ",".join([tags[a.ifname], a.type, a.method] + static)]
    for d in launch.disks:
        args += ["-b", str(d.path) + (f",{d.mountpoint}" if d.mountpoint else "")]
    if launch.stack is not None:
        args += ["--stack", format_size(launch.stack)]
    return args + [str(launch.image.path), "--", *launch.argv[1:]]


def _rumprun_program():
    """How to run this rumprun again: the script we were started as, else
    the one on PATH, else this Python with -m."""
    import os
    import shutil
    import sys

    me = Path(sys.argv[0])
    if me.name == "rumprun" and os.access(me, os.X_OK):
        return [str(me.absolute())]
    found = shutil.which("rumprun")
    return [found] if found else [sys.executable, "-m", "rumprun.cli"]


# --- records: a Launch as JSON data and back -----------------------------------


def _to_data(value):
    if is_record(value):
        return {name: _to_data(getattr(value, name)) for name in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_data(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _from_data(kind, data):
    """DATA (from _to_data) as type KIND; ValueError when it does not fit."""
    import typing

    origin, params = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Union:  # X | None
        if data is None:
            return None
        return _from_data(next(p for p in params if p is not type(None)), data)
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"expected a list, not {data!r}")
        if len(params) == 2 and params[1] is Ellipsis:
            return tuple(_from_data(params[0], d) for d in data)
        if len(params) != len(data):
            raise ValueError(f"expected {len(params)} items, not {data!r}")
        return tuple(_from_data(p, d) for p, d in zip(params, data))
    if is_record(kind):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, not {data!r}")
        hints = typing.get_type_hints(
            kind, localns={"Optional": typing.Optional, "Tuple": typing.Tuple}
        )
        known = set(fields(kind))
        return kind(**{k: _from_data(hints[k], v) for k, v in data.items() if k in known})
    if kind is Path:
        if not isinstance(data, str):
            raise ValueError(f"expected a path, not {data!r}")
        return Path(data)
    if kind is int and isinstance(data, bool) or not isinstance(data, kind):
        raise ValueError(f"expected {kind.__name__}, not {data!r}")
    return data
