"""The unikernel's configuration: one typed model, rendered by backends.

Click commands parse flags into these dataclasses (through make_unikernel
and Launch); renderers turn them into what each backend wants: kernel_json()
here for the kernel, rumprun.qemu.qemu_command() for QEMU.
"""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from rumprun import bake, elfcheck
from rumprun.errors import RumprunError

DEFAULT_MEMORY_MIB = 64
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}"
ENV_NAME_PATTERN = r"[^=\0]+"


@dataclass(frozen=True)
class Program:
    """One entry of the configuration's "rc": a baked app to run."""
    bin: str
    args: List[str]
    runmode: str = ""             # "" foreground, "&" background, "|" pipe


@dataclass(frozen=True)
class Unikernel:
    """One guest: the image and what the kernel hands to the app."""
    image: Path
    info: elfcheck.BakedImage
    platform: str                 # the bake configuration's platform ("hw")
    argv: List[str]               # argv[0] is the image's file name
    env: List[Tuple[str, str]]
    hostname: str
    memory_mib: int
    name: Optional[str] = None    # the handle of a detached guest
    rc: List[Program] = field(default_factory=list)


@dataclass(frozen=True)
class Launch:
    """How to run a Unikernel: the launcher's own options."""
    unikernel: Unikernel
    platform: str                 # qemu | kvm | baremetal
    interactive: bool = False     # -i: console on stdout, wait for the end
    paused: bool = False          # -p: start with the CPU stopped
    destroy_on_poweroff: bool = True   # -d: always true for QEMU (-no-reboot)
    qemu_args: List[str] = field(default_factory=list)  # -g, already split
    dry_run: bool = False         # -D: print the command line only
    tmpdir: Optional[Path] = None  # -T: where temporary files go


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
    return Program(words[0], words[1:], mode)


def check_rc(rc):
    if rc and rc[-1].runmode == "|":
        raise RumprunError(
            f"bad --rc: the last program ({rc[-1].bin}) pipes its output ('|') "
            "into nothing")
    return rc


def check_name(name):
    if not re.fullmatch(NAME_PATTERN, name):
        raise RumprunError(
            f"bad guest name {name!r}: use up to 48 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit")
    return name


def make_unikernel(image, args=(), env=(), hostname=None, memory_mib=None,
                   name=None, rc=()):
    """Check the inputs and build the model (one sentence on a bad one)."""
    image = Path(image)
    info = elfcheck.check_baked_image(image)
    try:
        platform = bake.load_config(info.config).platform
    except RumprunError:
        raise RumprunError(
            f"{image} was baked with configuration {info.config!r}, which this "
            f"rumprun does not know: bake it again (rumprun-bake list)") from None
    if memory_mib is None:
        memory_mib = max(DEFAULT_MEMORY_MIB, info.min_memory_mib)
    elif memory_mib < info.min_memory_mib:
        raise RumprunError(
            f"-M {memory_mib} is too little for {image}: it needs at least "
            f"{info.min_memory_mib} MiB")
    if name is not None:
        check_name(name)
    return Unikernel(
        image=image, info=info, platform=platform,
        argv=[image.name] + list(args),
        env=[parse_env(e) for e in env],
        hostname=hostname or name or "rumprun",
        memory_mib=memory_mib, name=name,
        rc=check_rc([parse_program(r) for r in rc]))


def kernel_json(unikernel):
    """The configuration the kernel reads (rumprun's JSON format)."""
    config = {
        "cmdline": shlex.join(unikernel.argv),
        "env": [f"{k}={v}" for k, v in unikernel.env],
        "hostname": unikernel.hostname,
    }
    if unikernel.rc:
        config["rc"] = [{"bin": p.bin, "argv": p.args, "runmode": p.runmode}
                        for p in unikernel.rc]
    return json.dumps(config, separators=(",", ":"))
