"""The rumprun launcher's command line (a click group).

rumprun.cli.main runs a plain launch (rumprun qemu/kvm/baremetal with
ordinary flags) without importing this module (rumprun.quick); everything
else, including every usage error and --help, comes here.

    rumprun [-D] [-T DIR] PLATFORM [options] APP [--] [ARGS...]
    rumprun ps | stop HANDLE | cont HANDLE

Commands only parse flags into the launch model (rumprun.model.make_launch)
and call one function (rumprun.backends.run); they hold no logic.  One
command per backend in rumprun.backends.BACKENDS, made here from its entry.
Other subcommands live where their code is and are listed in
LAZY_COMMANDS ("name": "module:attribute"), imported only when used, so
adding one (rumprun mkfs) touches one line here.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click

from rumprun import model
from rumprun.backends import BACKENDS
from rumprun.clitools import run_command
from rumprun.errors import RumprunError

PROG = "rumprun"
CONTEXT = {"help_option_names": ["-h", "--help"]}
LAUNCH_CONTEXT = {**CONTEXT, "allow_interspersed_args": False}
# Subcommands defined elsewhere: name -> "module:attribute" (a click command).
LAZY_COMMANDS = {"mkfs": "rumprun.images.mkfs:mkfs"}


@dataclass(frozen=True)
class GlobalOptions:
    dry_run: bool
    tmpdir: Optional[Path]


class RumprunGroup(click.Group):
    """Makes a command when it is first asked for (a launch makes only its
    own); names the platforms for an unknown one."""

    def list_commands(self, ctx):
        return list(BACKENDS) + sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        if name not in self.commands:
            if name in BACKENDS:
                self.add_command(backend_command(BACKENDS[name]))
            elif name in LAZY_COMMANDS:
                module, attribute = LAZY_COMMANDS[name].split(":")
                self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            others = [c for c in self.list_commands(ctx) if c not in BACKENDS]
            raise RumprunError(
                f"unknown platform or command {args[0]!r}: the platforms are "
                f"{', '.join(BACKENDS)}; the other commands are {', '.join(others)}"
            )
        return super().resolve_command(ctx, args)


@click.group(cls=RumprunGroup, context_settings=CONTEXT)
@click.option(
    "-D",
    "dry_run",
    is_flag=True,
    help="Print what would run (a shell script) instead of running it.",
)
@click.option(
    "-T",
    "tmpdir",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Put the launcher's temporary files in DIR.",
)
@click.pass_context
def cli(ctx, dry_run, tmpdir):
    """Run rumprun unikernel images (made by rumprun-bake).

    \b
    rumprun qemu -i -e WORLD=unikernel hello.bin -- one two
    """
    ctx.obj = GlobalOptions(dry_run, tmpdir.absolute() if tmpdir else None)


def app_args(args):
    """APP -- ARGS: the -- is the launcher's, not the app's."""
    return args[1:] if args[:1] == ("--",) else args


# Options every backend takes: what the guest sees.
GUEST_OPTIONS = [
    click.option(
        "-e",
        "env",
        multiple=True,
        metavar="VAR=VALUE",
        help="Set an environment variable for the app (repeatable).",
    ),
    click.option(
        "-N",
        "name",
        metavar="NAME",
        help="The guest's name: its handle for ps/stop/cont and its host name.",
    ),
    click.option(
        "--rc",
        "rc",
        multiple=True,
        metavar="'[&|] PROG ARGS'",
        help="Run baked program PROG (repeatable, in order): '&' in "
        "the background, '|' piping its output to the next; "
        "default: all programs in order, in the foreground.",
    ),
    click.option(
        "-M",
        "memory_mib",
        type=click.IntRange(min=1),
        metavar="MIB",
        help=f"Guest memory in MiB (default {model.DEFAULT_MEMORY_MIB}, or what the image needs).",
    ),
    click.option(
        "-I",
        "interfaces",
        multiple=True,
        metavar="IFTAG,IFBASENAME[,BACKEND]",
        help="A network interface (repeatable, in order): vioif "
        "(virtio-net) or e1000; BACKEND is a QEMU -net/-netdev "
        "option (default: user networking).",
    ),
    click.option(
        "-W",
        "addresses",
        multiple=True,
        metavar="IFTAG,inet,dhcp|IFTAG,inet,static,ADDR/MASK[,GW]",
        help="Configure interface IFTAG (repeatable): inet dhcp or static, inet6 auto or static.",
    ),
    click.option(
        "-P",
        "ports",
        multiple=True,
        metavar="[HOSTADDR:]HOSTPORT:GUESTPORT[/udp]",
        help="Publish a guest port on the host (repeatable; without "
        "-I the guest gets one interface with DHCP).",
    ),
    click.option(
        "-b",
        "disks",
        multiple=True,
        metavar="HOSTPATH[,MOUNTPOINT]",
        help="Attach a disk image (repeatable: ld0, ld1...), mounted "
        "at MOUNTPOINT or raw; read-only when the file is or "
        "holds ISO 9660.",
    ),
    click.option(
        "--share",
        "shares",
        multiple=True,
        metavar="HOSTDIR:GUESTPATH[:ro]",
        help="Share a host directory with the guest (virtio-9p; repeatable).",
    ),
    click.option(
        "--stack",
        "stack",
        metavar="SIZE",
        help="The main thread's stack (bytes, K, M or G), overriding the image's default.",
    ),
]
# Options of the backends that run a guest.
VM_OPTIONS = [
    click.option(
        "-i",
        "interactive",
        is_flag=True,
        help="Attach the console here and exit with the app's exit status.",
    ),
    click.option(
        "-d",
        "destroy",
        is_flag=True,
        help="Forget the guest when it powers off (with -i always so).",
    ),
    click.option(
        "-p",
        "paused",
        is_flag=True,
        help="Start with the CPU stopped: rumprun cont HANDLE (or a debugger) starts it.",
    ),
    click.option(
        "-g",
        "qemu_args",
        multiple=True,
        metavar="ARGS",
        help="Extra QEMU arguments (split like a shell would).",
    ),
    click.option(
        "-D",
        "gdb_port",
        type=click.IntRange(1, 65535),
        metavar="PORT",
        help="Serve gdb on 127.0.0.1:PORT (gdb: target remote :PORT).",
    ),
]
# Options of the backends that write an image.
IMAGE_OPTIONS = [
    click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The file to write (default: APP with .iso).",
    ),
    click.option("--force", is_flag=True, help="Replace an existing output file."),
]


def backend_command(backend):
    """The click command `rumprun BACKEND.name [options] APP [ARGS]`."""
    options = GUEST_OPTIONS + (VM_OPTIONS if backend.kind == "vm" else IMAGE_OPTIONS)

    @click.pass_obj
    def command(globals_, app, args, **flags):
        from rumprun import backends

        launch = model.make_launch(
            backend.name,
            app,
            app_args(args),
            dry_run=globals_.dry_run,
            tmpdir=globals_.tmpdir,
            **flags,
        )
        return backends.run(launch)

    for option in reversed(options):
        command = option(command)
    command = click.argument("args", nargs=-1)(command)
    command = click.argument("app", type=click.Path(path_type=Path))(command)
    return click.command(backend.name, help=backend.summary, context_settings=LAUNCH_CONTEXT)(
        command
    )


@cli.command("ps", context_settings=CONTEXT)
def ps_command():
    """List the registered guests (detached, or started paused)."""
    from rumprun import guests, output

    output.write_stdout(guests.ps() + "\n")


@cli.command("stop", context_settings=CONTEXT)
@click.argument("handle")
def stop_command(handle):
    """Stop the guest HANDLE and forget it.

    Its kernel is asked to write back and unmount its volumes and power off
    (status 143); QEMU is quit when it has not within 5 seconds.
    """
    from rumprun import guests

    guests.stop(handle)


@cli.command("cont", context_settings=CONTEXT)
@click.argument("handle")
def cont_command(handle):
    """Resume the guest HANDLE (started with -p)."""
    from rumprun import guests

    guests.cont(handle)


def main(args=None):
    run_command(cli, PROG, args)
