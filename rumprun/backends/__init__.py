"""Launcher backends: one module per way of running an image.

Every backend module provides the same two functions:

    plan(launch) -> Plan   what it will do, exactly: the directories, files
                           and commands, with absolute paths.  `rumprun -D`
                           prints plan.render(), a shell script that does
                           the same when pasted.
    run(launch) -> int     do it; the launcher's exit status (the app's
                           with -i).  Failures the user can fix raise
                           RumprunError; a guest that ends without the
                           kernel's own report raises GuestFailed.

BACKENDS says which module serves which launcher platform and which bake
platforms' images it boots.  A new backend (xen, microvm, libvirt) is a
module with plan() and run() and one entry here; the CLI makes its command
from the entry.  Modules are imported only when used, so `rumprun qemu`
never pays for pycdlib or VirtualBox.
"""

import importlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from rumprun.errors import RumprunError


class GuestFailed(RumprunError):
    """The guest ended without the kernel's own exit report: status 1."""
    exit_status = 1


@dataclass(frozen=True)
class Backend:
    name: str              # the launcher platform: rumprun NAME ...
    module: str            # the module with plan() and run()
    summary: str           # one line for --help
    boots: Tuple[str, ...]  # bake platforms whose images it runs
    kind: str = "vm"       # "vm" runs a guest; "image" writes a file


BACKENDS = {b.name: b for b in [
    Backend("qemu", "rumprun.backends.qemu",
            "Run APP in QEMU, emulating the CPU (TCG).", ("hw",)),
    Backend("kvm", "rumprun.backends.qemu",
            "Run APP in QEMU with KVM (fails if KVM does not work).", ("hw",)),
    Backend("baremetal", "rumprun.backends.qemu",
            "Run APP like a PC would: KVM where it works, else QEMU's TCG.",
            ("hw",)),
    Backend("iso", "rumprun.backends.iso",
            "Write a bootable ISO of APP (CD, USB stick or disk; BIOS and UEFI).",
            ("hw",), kind="image"),
    Backend("virtualbox", "rumprun.backends.virtualbox",
            "Run APP in a new VirtualBox VM, booting it from an ISO.", ("hw",)),
]}


def backend_module(platform):
    return importlib.import_module(BACKENDS[platform].module)


def check_bootable(launch):
    """Fail unless LAUNCH's image was baked for a platform its backend runs."""
    backend = BACKENDS[launch.platform]
    if launch.image.platform not in backend.boots:
        raise RumprunError(
            f"{launch.image.path} was baked for platform "
            f"{launch.image.platform!r} (configuration {launch.image.config}): "
            f"rumprun {launch.platform} takes {', '.join(backend.boots)} "
            "images, e.g. rumprun-bake hw_generic")


def plan(launch):
    check_bootable(launch)
    return backend_module(launch.platform).plan(launch)


def run(launch):
    check_bootable(launch)
    module = backend_module(launch.platform)
    if launch.dry_run:
        from rumprun import output
        output.write_stdout(module.plan(launch).render())
        return 0
    return module.run(launch)


# --- plans ------------------------------------------------------------------

@dataclass(frozen=True)
class Comment:
    text: str


@dataclass(frozen=True)
class MakeDir:
    path: Path


@dataclass(frozen=True)
class Command:
    argv: Tuple[str, ...]
    # Data the command reads from a file descriptor: (fd, bytes).  The
    # rendered script feeds it with a here-document; run() with a memfd.
    input: Optional[Tuple[int, bytes]] = None


HEREDOC_END = "RUMPRUN_EOF"


@dataclass
class Plan:
    """What a backend will do, step by step, in the order it does it."""
    steps: List[object] = field(default_factory=list)

    def comment(self, text):
        self.steps.append(Comment(text))

    def mkdir(self, path):
        self.steps.append(MakeDir(Path(path)))

    def command(self, argv, input=None):
        self.steps.append(Command(tuple(str(a) for a in argv), input))

    @property
    def commands(self):
        return [s for s in self.steps if isinstance(s, Command)]

    def render(self):
        """The plan as a shell script (bytes: arguments may be any bytes)."""
        out = []
        for step in self.steps:
            if isinstance(step, Comment):
                out += [f"# {line}".rstrip() for line in step.text.splitlines()]
            elif isinstance(step, MakeDir):
                out.append(shlex.join(["mkdir", "-p", "-m", "700", str(step.path)]))
            else:
                line = shlex.join(step.argv)
                if step.input is not None:
                    fd, data = step.input
                    if b"\n" in data:
                        raise ValueError("here-document data must be one line")
                    line += (f" {fd}<<'{HEREDOC_END}'\n"
                             + data.decode("utf-8", "surrogateescape")
                             + f"\n{HEREDOC_END}")
                out.append(line)
        return ("\n".join(out) + "\n").encode("utf-8", "surrogateescape")
