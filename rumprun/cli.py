"""The rumprun launcher's command line (a click group).

    rumprun [-D] [-T DIR] qemu|kvm|baremetal [options] APP [--] [ARGS...]
    rumprun ps
    rumprun stop HANDLE

Commands only parse flags into the model (rumprun.model) and call one
function.  Adding a subcommand is a @cli.command() function in this file or
elsewhere (cli.add_command).
"""

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click

from rumprun import guests, iso, launcher, model, virtualbox
from rumprun.clitools import run_command
from rumprun.errors import RumprunError

PROG = "rumprun"
CONTEXT = {"help_option_names": ["-h", "--help"]}


@dataclass(frozen=True)
class GlobalOptions:
    dry_run: bool
    tmpdir: Optional[Path]


class RumprunGroup(click.Group):
    """A group that names the known platforms when given an unknown one."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            platforms = [p for p in launcher.PLATFORMS if p in self.commands]
            others = [c for c in self.commands if c not in launcher.PLATFORMS]
            raise RumprunError(
                f"unknown platform or command {args[0]!r}: the platforms are "
                f"{', '.join(platforms)}; the other commands are "
                f"{', '.join(others)}")
        return super().resolve_command(ctx, args)


@click.group(cls=RumprunGroup, context_settings=CONTEXT)
@click.option("-D", "dry_run", is_flag=True,
              help="Print the QEMU command line instead of running it.")
@click.option("-T", "tmpdir", type=click.Path(exists=True, file_okay=False,
                                              path_type=Path),
              help="Put the launcher's temporary files (QMP socket) in DIR.",
              metavar="DIR")
@click.pass_context
def cli(ctx, dry_run, tmpdir):
    """Run rumprun unikernel images (made by rumprun-bake).

    \b
    rumprun qemu -i -e WORLD=unikernel hello.bin -- one two
    """
    ctx.obj = GlobalOptions(dry_run, tmpdir)


rc_option = click.option(
    "--rc", "rc", multiple=True, metavar="'[&|] PROG ARGS'",
    help="Run baked program PROG (repeatable, in order): '&' in the "
         "background, '|' piping its output to the next; default: all "
         "programs in order, in the foreground.")
env_option = click.option(
    "-e", "env", multiple=True, metavar="VAR=VALUE",
    help="Set an environment variable for the app (repeatable).")


def app_args(args):
    """APP -- ARGS: the -- is the launcher's, not the app's."""
    return args[1:] if args[:1] == ("--",) else args


def launch_command(platform, summary):
    """Make the launcher command for PLATFORM (qemu, kvm, baremetal)."""

    @cli.command(platform, help=summary, context_settings={
        **CONTEXT, "allow_interspersed_args": False})
    @click.option("-i", "interactive", is_flag=True,
                  help="Attach the console to this terminal and exit with "
                       "the app's exit status.")
    @click.option("-d", "destroy", is_flag=True,
                  help="Destroy the guest when it powers off (always so).")
    @env_option
    @click.option("-M", "memory", type=click.IntRange(min=1), metavar="MIB",
                  help=f"Guest memory in MiB (default "
                       f"{model.DEFAULT_MEMORY_MIB}, or what the image needs).")
    @click.option("-N", "name", metavar="NAME",
                  help="The guest's name (its handle for ps and stop).")
    @click.option("-g", "qemu_args", multiple=True, metavar="ARGS",
                  help="Extra QEMU arguments (split like a shell would).")
    @click.option("-p", "paused", is_flag=True,
                  help="Start with the CPU stopped (QEMU -S).")
    @rc_option
    @click.argument("app", type=click.Path(path_type=Path))
    @click.argument("args", nargs=-1)
    @click.pass_obj
    def command(options, interactive, destroy, env, memory, name, qemu_args,
                paused, rc, app, args):
        unikernel = model.make_unikernel(app, app_args(args), env,
                                         memory_mib=memory, name=name, rc=rc)
        return launcher.run(model.Launch(
            unikernel=unikernel, platform=platform, interactive=interactive,
            paused=paused, destroy_on_poweroff=True,
            qemu_args=[a for g in qemu_args for a in shlex.split(g)],
            dry_run=options.dry_run, tmpdir=options.tmpdir), PROG)

    return command


launch_command("qemu", "Run APP in QEMU, emulating the CPU (TCG).")
launch_command("kvm", "Run APP in QEMU with KVM (fails if KVM does not work).")
launch_command("baremetal",
               "Run APP like a PC would: KVM where it works, else QEMU's TCG.")


@cli.command("iso", context_settings={**CONTEXT, "allow_interspersed_args": False})
@env_option
@click.option("-N", "name", metavar="NAME", help="The guest's host name.")
@rc_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The ISO to write (default: APP with .iso).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@click.argument("app", type=click.Path(path_type=Path))
@click.argument("args", nargs=-1)
def iso_command(env, name, rc, output, force, app, args):
    """Write a bootable ISO of APP (CD, USB stick or disk; BIOS and UEFI)."""
    unikernel = model.make_unikernel(app, app_args(args), env, name=name, rc=rc)
    output = output or iso.default_output(app)
    iso.build_iso(app, model.kernel_json(unikernel), output, force=force)
    print(output)


@cli.command("virtualbox",
             context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.option("-i", "interactive", is_flag=True,
              help="Copy the console here and exit with the app's status.")
@click.option("-d", "destroy", is_flag=True,
              help="Remove the VM and its files when it powers off.")
@env_option
@click.option("-M", "memory", type=click.IntRange(min=1), metavar="MIB",
              help=f"VM memory in MiB (default {model.DEFAULT_MEMORY_MIB}).")
@click.option("-N", "name", metavar="NAME", help="The VM's name.")
@rc_option
@click.argument("app", type=click.Path(path_type=Path))
@click.argument("args", nargs=-1)
@click.pass_obj
def virtualbox_command(options, interactive, destroy, env, memory, name, rc, app, args):
    """Run APP in a new VirtualBox VM, booting it from an ISO."""
    unikernel = model.make_unikernel(app, app_args(args), env, memory_mib=memory,
                                     name=name, rc=rc)
    return virtualbox.run_virtualbox(
        app, model.kernel_json(unikernel), name=name,
        memory_mb=unikernel.memory_mib, interactive=interactive,
        destroy=destroy, dry_run=options.dry_run)


@cli.command("ps", context_settings=CONTEXT)
def ps_command():
    """List the detached guests."""
    print(guests.ps())


@cli.command("stop", context_settings=CONTEXT)
@click.argument("handle")
def stop_command(handle):
    """Stop the detached guest HANDLE and forget it."""
    guests.stop(handle)


def main():
    run_command(cli, PROG)


if __name__ == "__main__":
    main()
