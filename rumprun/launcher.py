"""The one function the launcher commands call: run a Launch."""

import shlex
import tempfile
from pathlib import Path

from rumprun import elfcheck, guests, host, qemu
from rumprun.errors import RumprunError

# Launcher platform -> the bake platforms whose images it can boot.
PLATFORMS = {"qemu": ("hw",), "kvm": ("hw",), "baremetal": ("hw",)}


def check_bootable(launch):
    uk = launch.unikernel
    if uk.platform not in PLATFORMS[launch.platform]:
        raise RumprunError(
            f"{uk.image} was baked for platform {uk.platform!r} "
            f"(configuration {uk.info.config}): rumprun {launch.platform} boots "
            f"{', '.join(PLATFORMS[launch.platform])} images, e.g. rumprun-bake "
            "hw_generic")
    mb = uk.info.multiboot
    with elfcheck.open_elf(uk.image) as elf:
        elf64 = elf.elfclass == 64
    if elf64 and not mb.flags & elfcheck.MULTIBOOT_AOUT_KLUDGE:
        raise RumprunError(
            f"{uk.image} is a 64-bit ELF whose multiboot header has no load "
            "addresses (flags bit 16), which QEMU cannot boot: fix the "
            "platform's multiboot header and bake it again")


def run(launch, prog="rumprun"):
    """Run LAUNCH; return the exit status for the launcher."""
    check_bootable(launch)
    if launch.dry_run:
        accel = qemu.choose_accel(launch.platform, qemu.QEMU, prog)
        with tempfile.TemporaryDirectory(prefix="rumprun.",
                                         dir=launch.tmpdir) as tmp:
            console = None if launch.interactive else Path(tmp) / "console.log"
            print(shlex.join(qemu.qemu_command(launch, accel, console,
                                               Path(tmp) / "qmp.sock")))
        return 0
    qemu_path = host.require_program(qemu.QEMU)
    accel = qemu.choose_accel(launch.platform, qemu_path, prog)
    if launch.interactive:
        return qemu.run_interactive(launch, qemu_path, accel, prog)
    print(guests.start_detached(launch, qemu_path, accel))
    return 0
