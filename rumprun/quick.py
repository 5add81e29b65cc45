"""The launcher's fast path: a plain `rumprun qemu|kvm|baremetal|microvm
...` parsed without click.

A launch sits on the guest's critical path (rumprun qemu -i is often the
whole of a test or a script step), and importing click and building its
commands costs more than booting a small guest.  parse() reads the
launch commands' flags exactly as click would for the ordinary cases and
gives up (None) on anything else: --help, an unknown or combined option,
--opt=value, a value click would refuse (-M 0, -T with no such directory),
a missing APP, `--` before APP.  The caller then hands the command line to
click (rumprun.commands), so every usage error and help text is click's.

The options here are those of rumprun.commands (GLOBAL_OPTIONS and the vm
backends' commands); tests/test_launch.py checks that they stay the same.
"""

import os

# The group's options before the platform: option -> (parameter, kind).
GLOBAL_OPTIONS = {"-D": ("dry_run", "flag"), "-T": ("tmpdir", "dir")}
# The vm backends' options: option -> (parameter, kind).  kind: "flag";
# "one" (a value, the last one given counts); "many" (repeatable: a tuple);
# "int" with its range.
LAUNCH_OPTIONS = {
    "-e": ("env", "many"),
    "-N": ("name", "one"),
    "--rc": ("rc", "many"),
    "-M": ("memory_mib", ("int", 1, None)),
    "-I": ("interfaces", "many"),
    "-W": ("addresses", "many"),
    "-P": ("ports", "many"),
    "-b": ("disks", "many"),
    "--share": ("shares", "many"),
    "--stack": ("stack", "one"),
    "-i": ("interactive", "flag"),
    "-d": ("destroy", "flag"),
    "-p": ("paused", "flag"),
    "-g": ("qemu_args", "many"),
    "-D": ("gdb_port", ("int", 1, 65535)),
}
PLATFORMS = ("qemu", "kvm", "baremetal", "microvm")


class _GiveUp(Exception):
    """Not a case the fast path reads: click's turn."""


def _options(args, table):
    """Parse TABLE's options from the front of ARGS: (values, rest)."""
    values = {}
    for parameter, kind in table.values():
        values[parameter] = () if kind == "many" else (False if kind == "flag" else None)
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        option = table.get(args[i])
        if option is None:
            raise _GiveUp()  # unknown, combined, --help, --, -x=y
        parameter, kind = option
        if kind == "flag":
            values[parameter] = True
            i += 1
            continue
        if i + 1 >= len(args):
            raise _GiveUp()  # no value: click says so
        value = args[i + 1]
        i += 2
        if kind == "many":
            values[parameter] += (value,)
        elif kind == "one":
            values[parameter] = value
        elif kind == "dir":
            if not os.path.isdir(value):
                raise _GiveUp()
            values[parameter] = value
        else:
            _, low, high = kind
            try:
                number = int(value)
            except ValueError:
                raise _GiveUp() from None
            if number < low or (high is not None and number > high):
                raise _GiveUp()
            values[parameter] = number
    return values, args[i:]


def parse(args):
    """(platform, app, app_args, global values, launch values) for a plain
    launch command line ARGS, or None when click must read it."""
    try:
        globals_, rest = _options(args, GLOBAL_OPTIONS)
        if not rest or rest[0] not in PLATFORMS:
            return None
        platform = rest[0]
        flags, rest = _options(rest[1:], LAUNCH_OPTIONS)
    except _GiveUp:
        return None
    if not rest:
        return None  # no APP: click's usage error
    app, app_args = rest[0], tuple(rest[1:])
    if app_args[:1] == ("--",):
        app_args = app_args[1:]  # the launcher's --, not the app's
    return platform, app, app_args, globals_, flags


def make_launch_arguments(parsed):
    """The arguments PARSED gives model.make_launch, as the click command
    gives them: (positional, keyword)."""
    from pathlib import Path

    platform, app, app_args, globals_, flags = parsed
    tmpdir = globals_["tmpdir"]
    return (
        (platform, Path(app), app_args),
        dict(
            dry_run=globals_["dry_run"], tmpdir=Path(tmpdir).absolute() if tmpdir else None, **flags
        ),
    )


def launch(parsed):
    """Run the launch PARSED describes; the launcher's exit status."""
    from rumprun import backends, model

    args, kwargs = make_launch_arguments(parsed)
    return backends.run(model.make_launch(*args, **kwargs))
