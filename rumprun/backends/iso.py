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


def disk_modules(launch):
    """(module name, host path) of each -b image the ISO carries."""
    return list(zip(model.disk_modules(launch), (d.path for d in launch.disks)))


def plan(launch):
    from rumprun.images import iso

    out = output_path(launch)
    p = Plan()
    contents = [
        (iso.KERNEL_PATH, f"a copy of {launch.image.path}"),
        (iso.CONFIG_PATH, "the configuration (GRUB's first module)"),
    ]
    contents += [
        (f"/{name}", f"a copy of {path} (module {i + 2})")
        for i, (name, path) in enumerate(disk_modules(launch))
    ]
    contents.append(("/boot/grub/", f"GRUB, from {iso.GRUB_DIR}"))
    width = max(len(name) for name, _ in contents)
    p.comment(
        f"writes {out}: a hybrid ISO 9660 image (CD, USB stick or disk;\n"
        "BIOS and UEFI) holding\n"
        + "".join(f"  {name:<{width}}  {what}\n" for name, what in contents)
        + "and this command writes it:"
    )
    options = ["-o", out] + (["--force"] if launch.force else [])
    p.command(model.rumprun_command(launch, "iso", *options))
    p.comment(
        f"boot it: qemu-system-x86_64 -m {launch.memory_mib} -cdrom {out} "
        "-serial stdio -display none"
    )
    return p


def run(launch):
    from rumprun import output
    from rumprun.images import iso

    out = output_path(launch)
    iso.build_iso(
        launch.image.path,
        model.kernel_config(launch, disks_as_modules=True),
        out,
        force=launch.force,
        tmpdir=launch.tmpdir,
        modules=disk_modules(launch),
    )
    output.write_stdout(f"{out}\n")
    return 0
