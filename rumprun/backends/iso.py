"""rumprun iso: a bootable hybrid ISO of the image (rumprun.images.iso).

The ISO boots as a CD, from a USB stick or a disk, on BIOS and UEFI; GRUB
hands the kernel its configuration as the first multiboot module
(/boot/config.json).  Nothing runs: the plan names the file it writes, what
goes in, and the rumprun command that writes it.
"""

from pathlib import Path

from rumprun import model
from rumprun.plan import Plan


def output_path(launch):
    """The ISO to write: -o, else the image's name with .iso (absolute)."""
    out = launch.output or launch.image.path.with_suffix(".iso")
    return Path(out).absolute()


def plan(launch):
    from rumprun.images import iso

    out = output_path(launch)
    p = Plan()
    p.comment(
        f"writes {out}, a hybrid ISO 9660 image (CD, USB stick or disk; BIOS\n"
        f"and UEFI) holding {iso.KERNEL_PATH} (a copy of {launch.image.path}),\n"
        f"{iso.CONFIG_PATH} (the configuration, GRUB's first module) and GRUB\n"
        f"from {iso.GRUB_DIR}; the same command writes it:")
    options = ["-o", out] + (["--force"] if launch.force else [])
    p.command(model.rumprun_command(launch, "iso", *options))
    p.comment(f"boot it: qemu-system-x86_64 -m {launch.memory_mib} -cdrom {out} "
              "-serial stdio -display none")
    return p


def run(launch):
    from rumprun import output
    from rumprun.images import iso

    out = output_path(launch)
    iso.build_iso(launch.image.path, model.kernel_config(launch), out,
                  force=launch.force, tmpdir=launch.tmpdir)
    output.write_stdout(f"{out}\n")
    return 0
