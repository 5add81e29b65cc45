"""The launch model: one validated description of a guest, for every backend.

The click commands parse flags into make_launch(), which checks every input
once (one sentence for a bad one) and returns a frozen Launch.  Backends
(rumprun/backends/) only render it: QEMU argument lists, grub.cfg,
VBoxManage commands; kernel_config() renders what the kernel reads (rumprun's
JSON, see README.md).  Detached guests store the Launch itself
(to_record/from_record), so ps, stop and cont see what was started.
"""

import json
import re
import shlex
import typing
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Optional, Tuple

from rumprun.errors import RumprunError

DEFAULT_MEMORY_MIB = 64
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}"
# QEMU options a launch must not be given through -g: they would detach
# QEMU from the launcher or fight the options the launcher sets.
REFUSED_QEMU_ARGS = {
    "-daemonize": "the launcher runs QEMU itself (leave out -i for a detached guest)",
}


@dataclass(frozen=True)
class Program:
    """One entry of the configuration's "rc": a baked app to run."""
    bin: str
    args: Tuple[str, ...] = ()
    runmode: str = ""             # "" foreground, "&" background, "|" pipe


@dataclass(frozen=True)
class Image:
    """A baked image, as checked when the launch was made."""
    path: Path                    # absolute
    config: str                   # the bake configuration's name
    platform: str                 # the configuration's platform ("hw")
    min_memory_mib: int
    qemu_loadable: bool = True    # QEMU's -kernel can load it (multiboot
                                  # a.out-kludge addresses in a 64-bit ELF)


@dataclass(frozen=True)
class Launch:
    """Everything a backend needs to run (or describe) one guest."""
    platform: str                 # the launcher platform: qemu, kvm, iso...
    image: Image
    argv: Tuple[str, ...]         # argv[0] is the image's file name
    env: Tuple[Tuple[str, str], ...] = ()
    hostname: str = "rumprun"
    memory_mib: int = DEFAULT_MEMORY_MIB
    name: Optional[str] = None    # -N: the guest's handle (and host name)
    rc: Tuple[Program, ...] = ()
    interactive: bool = False     # -i: console here, wait for the status
    paused: bool = False          # -p: start with the CPU stopped
    destroy: bool = False         # -d: forget the guest when it powers off
    dry_run: bool = False         # -D: print the plan, run nothing
    tmpdir: Optional[Path] = None  # -T: where temporary files go
    qemu_args: Tuple[str, ...] = ()  # -g, already split
    gdb_port: Optional[int] = None  # -D PORT after the platform
    output: Optional[Path] = None  # iso: the file to write
    force: bool = False           # iso: replace an existing output

    def to_record(self):
        """The launch as JSON-ready data (from_record reads it back)."""
        return _to_data(self)

    @classmethod
    def from_record(cls, data):
        """The Launch to_record() wrote; ValueError if DATA does not fit."""
        return _from_data(cls, data)


# --- checking the user's input ----------------------------------------------

def parse_env(text):
    """VAR=VALUE -> (VAR, VALUE), or one sentence saying what is wrong."""
    name, sep, value = text.partition("=")
    if not sep:
        raise RumprunError(f"bad -e {text!r}: give it as VAR=VALUE")
    if not name:
        raise RumprunError(f"bad -e {text!r}: the variable name is empty")
    if "\0" in text:
        raise RumprunError(f"bad -e {text!r}: it contains a NUL byte")
    return name, value


def parse_program(text):
    """--rc '[&|] BIN [ARGS...]' -> Program, or one sentence."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise RumprunError(f"bad --rc {text!r}: {e}") from None
    mode = words.pop(0) if words and words[0] in ("&", "|") else ""
    if not words:
        raise RumprunError(
            f"bad --rc {text!r}: give it as '[&|] PROGRAM [ARGS...]'")
    return Program(words[0], tuple(words[1:]), mode)


def check_rc(rc):
    if rc and rc[-1].runmode == "|":
        raise RumprunError(
            f"bad --rc: the last program ({rc[-1].bin}) pipes its output ('|') "
            "into nothing")
    return tuple(rc)


def check_name(name):
    if not re.fullmatch(NAME_PATTERN, name):
        raise RumprunError(
            f"bad guest name {name!r}: use up to 48 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit")
    return name


def parse_qemu_args(texts):
    """-g ARGS (each split like a shell would) -> one argument tuple."""
    args = []
    for text in texts:
        try:
            args += shlex.split(text)
        except ValueError as e:
            raise RumprunError(f"bad -g {text!r}: {e}") from None
    for arg in args:
        why = REFUSED_QEMU_ARGS.get("-" + arg.lstrip("-"))
        if why:
            raise RumprunError(f"-g {arg} is not allowed: {why}")
    return tuple(args)


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
            f"rumprun does not know: bake it again (rumprun-bake list)") from None
    return Image(path=path.resolve(), config=facts["config"], platform=platform,
                 min_memory_mib=facts["min_memory_mib"],
                 qemu_loadable=facts["qemu_loadable"])


def make_launch(platform, image, args=(), *, env=(), memory_mib=None,
                name=None, hostname=None, rc=(), qemu_args=(), **options):
    """Check every input and build the Launch (one sentence on a bad one).

    IMAGE is a path; ARGS the app's arguments; ENV "VAR=VALUE" texts; RC
    --rc texts; QEMU_ARGS -g texts; OPTIONS the remaining Launch fields.
    """
    image = load_image(image)
    if memory_mib is None:
        memory_mib = max(DEFAULT_MEMORY_MIB, image.min_memory_mib)
    elif memory_mib < image.min_memory_mib:
        raise RumprunError(
            f"-M {memory_mib} is too little for {image.path}: it needs at least "
            f"{image.min_memory_mib} MiB")
    if name is not None:
        check_name(name)
    return Launch(
        platform=platform, image=image,
        argv=(image.path.name,) + tuple(args),
        env=tuple(parse_env(e) for e in env),
        hostname=hostname or name or "rumprun",
        memory_mib=memory_mib, name=name,
        rc=check_rc([parse_program(r) for r in rc]),
        qemu_args=parse_qemu_args(qemu_args), **options)


# --- rendering --------------------------------------------------------------

def kernel_config(launch):
    """The configuration the kernel reads (rumprun's JSON), as bytes.

    Arguments and -e values are passed byte for byte: text that came from
    the command line as undecodable bytes (Python's surrogate escapes) goes
    back out as those bytes.
    """
    config = {
        "cmdline": shlex.join(launch.argv),
        "env": [f"{k}={v}" for k, v in launch.env],
        "hostname": launch.hostname,
    }
    if launch.rc:
        config["rc"] = [{"bin": p.bin, "argv": list(p.args), "runmode": p.runmode}
                        for p in launch.rc]
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


def rumprun_command(launch, platform, *options):
    """The rumprun command line that makes LAUNCH's guest on PLATFORM (with
    the platform's own OPTIONS), absolute paths: -D prints it where a
    backend's work is done by the tools themselves (an ISO)."""
    args = [*_rumprun_program(), platform, *map(str, options)]
    if launch.name:
        args += ["-N", launch.name]
    for k, v in launch.env:
        args += ["-e", f"{k}={v}"]
    for p in launch.rc:
        args += ["--rc", shlex.join(([p.runmode] if p.runmode else []) + [p.bin, *p.args])]
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
    if is_dataclass(value):
        return {f.name: _to_data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_data(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _from_data(kind, data):
    """DATA (from _to_data) as type KIND; ValueError when it does not fit."""
    origin, params = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Union:                      # Optional[X]
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
    if is_dataclass(kind):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, not {data!r}")
        hints = typing.get_type_hints(kind)
        known = {f.name for f in fields(kind)}
        return kind(**{k: _from_data(hints[k], v) for k, v in data.items()
                       if k in known})
    if kind is Path:
        if not isinstance(data, str):
            raise ValueError(f"expected a path, not {data!r}")
        return Path(data)
    if kind is int and isinstance(data, bool) or not isinstance(data, kind):
        raise ValueError(f"expected {kind.__name__}, not {data!r}")
    return data

