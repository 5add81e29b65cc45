"""rumprun-bake: link unbaked apps with kernel components into an image.

    rumprun-bake [--rootfs DIR] [--stack SIZE] CONFIG OUTPUT APP [APP...]
    rumprun-bake list
    rumprun-bake describe CONFIG

(rumprun's order: config, output, inputs.)  Several apps make one image
that runs them as separate programs (the configuration's "rc" says how);
each keeps its own libc.  An APP may also be a prebuilt static Linux
x86_64 executable (glibc or musl, static-pie or not), carried as it is for
the kernel's ELF loader (kernel/exec).  A configuration is app-tools/configs/NAME.json
(see app-tools/README.md).

The link runs twice: the second pass adds the image's own symbol table (for
crash reports), which sits after the code, so no code address moves; the
bake checks that.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from rumprun import host
from rumprun.clitools import run_command
from rumprun.errors import RumprunError
from rumprun.toolchain import elfcheck, imagecache, linkobjs, note, rootfs
from rumprun.toolchain.configs import config_names, load_config

PROG = "rumprun-bake"


def ld_command(config, objects, output):
    return (
        [
            host.require_program("ld"),
            "-static",
            "-nostdlib",
            "--no-dynamic-linker",
            "-z",
            "max-page-size=0x1000",
            "-z",
            "noexecstack",
            "--gc-sections",
            "-T",
            str(config.ldscript),
            "-o",
            str(output),
        ]
        + [str(o) for o in objects]
        + ["--whole-archive"]
        + [str(p) for p in config.library_paths]
        + ["--no-whole-archive", str(host.MUSL_LIBC), host.gcc_file("libgcc")]
    )


def explain_ld_failure(config, apps, stderr):
    """ld's error output as one sentence."""
    undefined = set(re.findall(r"undefined reference to [`']([^']+)'", stderr))
    if undefined:
        for app in apps:
            with elfcheck.open_elf(app) as elf:
                from_app = undefined & set(elfcheck.undefined_symbols(elf))
            if from_app:
                return RumprunError(
                    f"{app} uses symbols that nothing defines: "
                    f"{', '.join(sorted(from_app))} (define them in the app, or "
                    "link the library that has them with rumprun-cc -l)"
                )
        return RumprunError(
            f"the kernel libraries of {config.name} use symbols that nothing "
            f"defines: {', '.join(sorted(undefined))} (rebuild them: "
            f"{shlex.join(host.build_command())})"
        )
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    detail = "; ".join(lines[:3]) or "no message"
    return RumprunError(f"linking {', '.join(map(str, apps))} failed: ld said: {detail}")


def _link(config, apps, objects, output):
    result = subprocess.run(ld_command(config, objects, output), capture_output=True, text=True)
    if result.returncode != 0:
        raise explain_ld_failure(config, apps, result.stderr)


MAX_STACK = 1 << 40  # what the kernel accepts from the "stack" key too


def stack_size(text):
    """Bytes in a stack size such as 8M (K, M, G suffixes), or one sentence;
    the same sizes as the launcher's --stack."""
    from rumprun import abi, options

    size = options.parse_size(str(text), "--stack")
    if not abi.MIN_STACK_SIZE <= size <= MAX_STACK:
        raise RumprunError(
            f"bad --stack {text!r}: give from {options.format_size(abi.MIN_STACK_SIZE)} "
            f"to {options.format_size(MAX_STACK)}"
        )
    return size


def bake(config_name, output, apps, rootfs_dir=None, stack=None):
    """Bake APPS with configuration CONFIG_NAME into OUTPUT, atomically.
    STACK: the programs' main stack size by default (e.g. "16M"; the
    kernel's default, 8 MiB, without it)."""
    config = load_config(config_name)
    stack = stack_size(stack) if stack is not None else None
    if isinstance(apps, (str, Path)):
        apps = [apps]
    apps, output = [Path(a) for a in apps], Path(output)
    host.require_program("ld")
    host.require_musl()
    executables = {}
    for i, app in enumerate(apps):
        kind = elfcheck.input_kind(app)
        if kind != "app":
            executables[i] = kind
        if output.exists() and output.resolve() == app.resolve():
            raise RumprunError(f"output {output} is the app {app} itself: give another output name")
    if executables and not config.executables:
        exe = next(iter(executables.values()))
        raise RumprunError(
            f"{exe.path} is a prebuilt executable and {config.name} has no loader "
            f"for those: bake it with a configuration that has one "
            f"({', '.join(executable_configs()) or 'none'}), or rebuild it with rumprun-cc"
        )
    check_fixed_overlaps(list(executables.values()))
    names = [linkobjs.safe_name(a) for a in apps]
    if len(set(names)) != len(names):
        raise RumprunError(
            f"two apps have the same name ({', '.join(names)}): programs are "
            "told apart by their file names, so rename one"
        )
    if rootfs_dir is not None and not Path(rootfs_dir).is_dir():
        raise RumprunError(
            f"--rootfs {rootfs_dir} is not a directory: give the directory "
            "whose contents become the image's root file system"
        )
    out_dir = output.parent if str(output.parent) else Path(".")
    if not out_dir.is_dir():
        raise RumprunError(f"cannot write {output}: directory {out_dir} does not exist")
    if output.exists() and not output.is_file():
        raise RumprunError(
            f"{output} exists and is not a regular file (a directory, device "
            "or other special file), which rumprun-bake never replaces: give "
            "another output name"
        )
    host.ensure_built(config.library_paths + [config.ldscript], PROG)

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=out_dir)
    except OSError as e:
        raise RumprunError(
            f"cannot write {output}: cannot create a file in {out_dir} ({e.strerror})"
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _work_directory() as tmpdir:
            objects, copies = [], {}
            for i, app in enumerate(apps):
                if i in executables:
                    copies[i] = linkobjs.executable_copy(app, i, tmpdir)
                    continue
                obj = linkobjs.rename_program(app, i, tmpdir)
                main, _ = linkobjs.program_symbols(i)
                if main not in elfcheck.defined_symbols(obj):
                    raise RumprunError(f"{app} has no main function: a program needs one")
                objects.append(obj)
            objects.append(
                note.assemble(note.BAKED, config.name, Path(tmpdir) / "rumprun-baked-note.o")
            )
            objects.append(linkobjs.program_table_object(names, tmpdir, stack, copies))
            if rootfs_dir is not None:
                objects.append(rootfs.directory_object(rootfs_dir, tmpdir))
            _link(config, apps, objects, tmp)
            functions = elfcheck.function_symbols(tmp)
            objects.append(linkobjs.symbol_table_object(functions, tmpdir))
            _link(config, apps, objects, tmp)
            if elfcheck.function_symbols(tmp) != functions:
                raise RumprunError(
                    f"adding the symbol table moved code in {output}: "
                    f"{config.ldscript} must place read-only data after the code"
                )
            stray = linkobjs.stray_data_sections(tmp)
            if stray:
                raise RumprunError(
                    f"{config.ldscript} leaves the programs' data unsorted ({stray[0]} "
                    "is a section of its own): add the .rumprun.data.* and "
                    ".rumprun.bss.* lines of platform/x86_64/image.ld to it"
                )
        info = elfcheck.check_baked_image(tmp)
        # What the platform's loaders need: Xen boots the PVH entry note,
        # every other machine a multiboot header.
        if config.platform == "xen" and not info.pvh:
            raise RumprunError(
                f"baking {app} with {config.name} gave an image without Xen's "
                f"PVH entry note: check {config.ldscript} and platform/x86_64/pvh.S"
            )
        if config.platform != "xen" and info.multiboot is None:
            raise RumprunError(
                f"baking {app} with {config.name} gave an image without a "
                f"multiboot header in its first 8 KiB: check {config.ldscript} "
                "and the platform's boot code"
            )
        os.chmod(tmp, 0o755 & ~host.umask())
        os.replace(tmp, output)
        imagecache.remember(output, info)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def executable_configs():
    """The configurations whose kernel loads prebuilt executables."""
    names = []
    for name in config_names():
        try:
            if load_config(name).executables:
                names.append(name)
        except RumprunError:
            pass
    return names


def check_fixed_overlaps(executables):
    """Two static executables linked at overlapping fixed addresses cannot
    share an image (each run maps them there): one sentence."""
    fixed = sorted((e for e in executables if not e.pie), key=lambda e: e.span)
    for a, b in zip(fixed, fixed[1:]):
        if b.span[0] < a.span[1]:
            raise RumprunError(
                f"{a.path} ({a.span[0]:#x}-{a.span[1]:#x}) and {b.path} "
                f"({b.span[0]:#x}-{b.span[1]:#x}) are linked at overlapping fixed "
                "addresses, so they cannot share an image: link one elsewhere "
                "(-Wl,-Ttext-segment=0x10000000) or as static-pie (-static-pie)"
            )


def _work_directory():
    try:
        return tempfile.TemporaryDirectory(prefix="rumprun-bake.")
    except OSError as e:
        raise RumprunError(
            f"cannot create a temporary directory in {tempfile.gettempdir()} "
            f"({e.strerror}): set TMPDIR to a writable directory"
        ) from None


class BakeGroup(click.Group):
    """A group whose default form is `rumprun-bake CONFIG OUTPUT APP`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["bake"] + list(args)
        return super().parse_args(ctx, args)


@click.group(cls=BakeGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Bake an unbaked rumprun app into a bootable image.

    \b
    rumprun-bake CONFIG OUTPUT APP...  link APP(s) (from rumprun-cc, or static
                                       Linux executables) into OUTPUT
    rumprun-bake --rootfs DIR CONFIG OUTPUT APP   ...with DIR's files in /
    rumprun-bake --stack 16M CONFIG OUTPUT APP   ...with 16 MiB main stacks
    rumprun-bake list                the known configurations
    rumprun-bake describe CONFIG     what a configuration contains
    """


@cli.command("bake")
@click.option(
    "--stack",
    metavar="SIZE",
    help="The programs' main stack size (default 8M; the launcher's --stack overrides it).",
)
@click.option(
    "--rootfs",
    "rootfs_dir",
    type=click.Path(),
    metavar="DIR",
    help="Put DIR's files into the image's root file system.",
)
@click.argument("config")
@click.argument("output", type=click.Path(dir_okay=False))
@click.argument("apps", nargs=-1, required=True, type=click.Path(), metavar="APP...")
def bake_command(config, output, apps, rootfs_dir, stack):
    """Link APP(s) with configuration CONFIG into the image OUTPUT."""
    bake(config, output, apps, rootfs_dir, stack)


@cli.command("list")
def list_command():
    """List the known configurations (a broken one is named on stderr)."""
    broken = []
    for name in config_names():
        try:
            c = load_config(name)
            also = " (also runs static Linux executables)" if c.executables else ""
            print(f"{name:<16} {c.description}{also}")
        except RumprunError as e:
            broken.append(e)
    for error in broken:
        print(f"{PROG}: {error}", file=sys.stderr)
    return 2 if broken else 0


@cli.command("describe")
@click.argument("config")
def describe_command(config):
    """Show what configuration CONFIG links and how."""
    c = load_config(config)
    print(
        f"name:        {c.name}\n"
        f"description: {c.description}\n"
        f"platform:    {c.platform}\n"
        f"ldscript:    {c.ldscript}\n"
        f"programs:    rumprun-cc apps"
        + (
            ", and static Linux x86_64 executables as they are (glibc or musl, "
            "C or C++, static-pie or not), loaded by the kernel's ELF loader"
            if c.executables
            else ""
        )
    )
    for lib, path in zip(c.libraries, c.library_paths):
        state = "" if path.exists() else "  (not built yet: make libs)"
        print(f"library:     {lib:<10} {path}{state}")


def main():
    run_command(cli, PROG)


if __name__ == "__main__":
    main()
