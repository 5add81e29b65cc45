"""Launcher backends: one module per way of running an image.

Every backend module provides the same two functions:

    plan(launch) -> Plan   what it will do, exactly: the directories, files
                           and commands, with absolute paths (rumprun.plan).
                           `rumprun -D` prints plan.render(), a shell script
                           that does the same when pasted.
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

from __future__ import annotations  # tuple[...] needs no typing import

import importlib

from rumprun.errors import RumprunError
from rumprun.records import record


class GuestFailed(RumprunError):
    """The guest ended without the kernel's own exit report: status 1."""

    exit_status = 1


@record
class Backend:
    """A launcher platform and what it can give a guest (make_launch refuses
    the flags it cannot honour with one sentence)."""

    name: str  # the launcher platform: rumprun NAME ...
    module: str  # the module with plan() and run()
    summary: str  # one line for --help
    boots: tuple[str, ...]  # bake platforms whose images it runs
    kind: str = "vm"  # "vm" runs a guest; "image" writes a file
    default_nic: str = "vioif"  # the interface -P gives a guest without -I
    netdev: bool = True  # -I takes QEMU -net/-netdev backend options
    ports: bool = True  # -P: ports published through user networking
    shares: bool = True  # --share: host folders over virtio-9p
    nics: tuple[str, ...] = ("vioif", "e1000")  # the -I drivers it has
    vif_options: bool = False  # -I takes an xl vif specification (xen)
    disk_modules: bool = False  # -b images travel as multiboot modules
    # (in an ISO), not as virtio-blk drives


_ISO = dict(netdev=False, shares=False, disk_modules=True)
BACKENDS = {
    b.name: b
    for b in [
        Backend(
            "qemu", "rumprun.backends.qemu", "Run APP in QEMU, emulating the CPU (TCG).", ("hw",)
        ),
        Backend(
            "kvm",
            "rumprun.backends.qemu",
            "Run APP in QEMU with KVM (fails if KVM does not work).",
            ("hw",),
        ),
        Backend(
            "baremetal",
            "rumprun.backends.qemu",
            "Run APP like a PC would: KVM where it works, else QEMU's TCG.",
            ("hw",),
        ),
        Backend(
            "microvm",
            "rumprun.backends.microvm",
            "Run APP in QEMU's microvm machine (no PCI, no firmware: the "
            "fastest boot; virtio over MMIO).",
            ("hw",),
            nics=("vioif",),
        ),
        Backend(
            "iso",
            "rumprun.backends.iso",
            "Write a bootable ISO of APP (CD, USB stick or disk; BIOS and UEFI).",
            ("hw",),
            kind="image",
            ports=False,
            **_ISO,
        ),
        Backend(
            "virtualbox",
            "rumprun.backends.virtualbox",
            "Run APP in a new VirtualBox VM, booting it from an ISO.",
            ("hw",),
            default_nic="e1000",
            **_ISO,
        ),
        Backend(
            "xen",
            "rumprun.backends.xen",
            "Run APP as a Xen PVH domain (in dom0, with xl).",
            ("xen",),
            default_nic="xenif",
            nics=("xenif",),
            vif_options=True,
            netdev=False,
            ports=False,
            shares=False,
        ),
    ]
}


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
            "images, e.g. rumprun-bake hw_generic"
        )


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
