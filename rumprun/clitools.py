"""What every entry point shares: RumprunError -> one line on stderr, exit 2."""

import sys

import click

from rumprun.errors import RumprunError


def fail(prog, error):
    """Print ERROR's sentence prefixed with PROG on stderr and exit."""
    print(f"{prog}: {error}", file=sys.stderr, flush=True)
    sys.exit(getattr(error, "exit_status", 2))


def run_command(command, prog, args=None):
    """Run a click COMMAND as program PROG and exit with its status.

    The command's return value (an int or None) is the exit status; click's
    own usage errors keep click's message and its exit status 2.
    """
    try:
        status = command.main(args=args, prog_name=prog, standalone_mode=False)
    except RumprunError as e:
        fail(prog, e)
    except click.exceptions.Abort:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    except click.UsageError as e:
        # One line, like every other error: the message and where help is.
        command = e.ctx.command_path if e.ctx else prog
        fail(prog, RumprunError(
            f"{e.format_message()} (see {command} --help)"))
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    sys.exit(status or 0)
