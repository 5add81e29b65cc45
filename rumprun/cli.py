"""The rumprun launcher's entry point.

    rumprun [-D] [-T DIR] PLATFORM [options] APP [--] [ARGS...]
    rumprun ps | stop HANDLE | cont HANDLE

A plain launch (rumprun qemu/kvm/baremetal with ordinary flags) runs
through rumprun.quick, which does not import click; every other command
line, --help and every usage error go to the click commands
(rumprun.commands).  Either way the same launch model and backends run.
"""

import sys

PROG = "rumprun"


def main():
    from rumprun import quick

    parsed = quick.parse(sys.argv[1:])
    if parsed is not None:
        from rumprun.clitools import run_guarded

        run_guarded(PROG, lambda: quick.launch(parsed))
    from rumprun import commands

    commands.main()


if __name__ == "__main__":
    main()
