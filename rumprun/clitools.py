"""What every entry point shares: how a failure reaches the user.

RumprunError -> "PROG: sentence" on stderr and its exit_status (2 unless
the error says otherwise); Ctrl-C -> "PROG: interrupted", 130; stdout that
cannot be written (closed, full disk, reader gone) -> one sentence, 2.
Never a traceback.
"""

import errno
import io
import os
import sys

from rumprun.errors import RumprunError


def _silence_stdout():
    """Point fd 1 at /dev/null, so the interpreter's last flush of what
    could not be written cannot fail again (with a traceback) at exit."""
    _ClosedStream.silenced = True
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)
    except OSError:
        pass


def exit_now(status):
    """End the process with STATUS once our output is flushed, skipping the
    interpreter's tear-down of every module (tens of milliseconds: the
    launcher's start and end are on every guest's critical path)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, AttributeError, ValueError):
            pass
    os._exit(status)


def fail(prog, error):
    """Print ERROR's sentence prefixed with PROG on stderr and exit."""
    try:
        print(f"{prog}: {error}", file=sys.stderr, flush=True)
    except (OSError, AttributeError):
        pass  # no stderr either: the status must do
    _silence_stdout()
    exit_now(getattr(error, "exit_status", 2))


class _ClosedStream(io.RawIOBase):
    """What sys.stdout writes to when fd 1 was closed when we started
    (Python then sets sys.stdout to None and output vanishes silently)."""

    silenced = False  # once the failure is reported: discard

    def writable(self):
        return True

    def write(self, data):
        if self.silenced:
            return len(data)
        raise OSError(errno.EBADF, "it is closed")


def _flush_stdout():
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except OSError as e:
        raise RumprunError(f"cannot write to standard output: {e.strerror}") from None


# The standard descriptors that were closed when we started (0, 1, 2).
CLOSED_AT_START = set()


def _hold_standard_fds():
    """Put /dev/null on whichever of descriptors 0, 1 and 2 is closed, so
    no file we open (a socket, a memfd) takes its number and gets a
    program's output or input by mistake; remember which were closed."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            CLOSED_AT_START.add(fd)
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:  # a lower one was free: it is taken now
                os.dup2(null, fd)
                os.close(null)


def run_guarded(prog, function):
    """Call FUNCTION() as program PROG and exit with the status it returns
    (an int, or None for 0); every failure is one sentence and a status."""
    _hold_standard_fds()
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_ClosedStream()))
    try:
        status = function()
        _flush_stdout()
    except RumprunError as e:
        fail(prog, e)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        _silence_stdout()
        exit_now(130)
    except OSError as e:
        # Only output can fail this way here (click writing --help).
        fail(prog, RumprunError(f"cannot write its output: {e.strerror or e}"))
    exit_now(status or 0)


def run_command(command, prog, args=None):
    """Run a click COMMAND as program PROG and exit with its status.

    The command's return value (an int or None) is the exit status; click's
    own usage errors keep click's message and its exit status 2.
    """
    import click

    def call():
        try:
            return command.main(args=args, prog_name=prog, standalone_mode=False)
        except click.exceptions.Abort:
            raise KeyboardInterrupt() from None
        except click.UsageError as e:
            # One line, like every other error: the message and where help is.
            where = e.ctx.command_path if e.ctx else prog
            raise RumprunError(f"{e.format_message()} (see {where} --help)") from None
        except click.ClickException as e:
            e.show()
            exit_now(e.exit_code)

    run_guarded(prog, call)
