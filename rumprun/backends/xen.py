"""Xen: rumprun xen, run in dom0 with Xen's xl.

plan() renders the Launch into an xl domain configuration (type "pvh",
the image as the kernel) and the commands that start it; run() does the
same steps:

    xl create -p CONFIG          the domain, paused
    xenstore-write /local/domain/ID/rumprun/cfg JSON
                                 the kernel's configuration (platform/xen
                                 reads it at boot), outside any command line
                                 the guest sees
    xl unpause NAME              (not with -p: rumprun cont NAME does it)
    xl console NAME              with -i: the console here; the launcher
                                 exits with the status line's status

The domain's name is the guest's handle (-N, or the image's name and six
hex digits).  With -i, or -d, the domain is destroyed when it powers off
or crashes; otherwise Xen keeps it ("preserve") so that rumprun ps shows
how it ended, until rumprun stop.  A detached guest's console is copied
into its state directory (rumprun.guests) by a process the launcher forks.
run() reads the console's pty itself (what `xl console` does; -D prints
that command) so that it is attached before the domain is unpaused.

Ctrl-C (SIGINT, SIGTERM, SIGHUP) of `rumprun xen -i`, and `rumprun stop`,
ask the guest's kernel to write its volumes back and power off, as `xl
shutdown` does (xenstore's control/shutdown, kernel/dev/xen/xen_control.c),
with the signal in rumprun/shutdown-signal; a guest that has not done so
within SHUTDOWN_GRACE seconds is destroyed, with one sentence.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rumprun import model
from rumprun.errors import RumprunError

XENSTORE_KEY = "rumprun/cfg"  # under /local/domain/ID, as platform/xen reads it
# "1" there: the launcher feeds the programs' stdin through the console
# (kernel/dev/xen/xen_cons.c), escaped: 0xff doubled, 0xff 0x00 the end.
STDIN_KEY = "rumprun/stdin"
STDIN_ESCAPE, STDIN_EOF = b"\xff", b"\xff\x00"
XENSTORE_VALUE_MAX = 4096  # xenstore's payload limit
# A shutdown request: the signal it stands for, then what xl shutdown writes.
SIGNAL_KEY = "rumprun/shutdown-signal"
SHUTDOWN_KEY, POWEROFF = "control/shutdown", "poweroff"
SHUTDOWN_GRACE = 5.0  # seconds a guest gets to sync and power off (as on QEMU)
CAPABILITIES = Path("/proc/xen/capabilities")
MAX_DISKS = 16  # the kernel's block device table (kernel/dev/blkdev.c)


def _quote(value):
    """VALUE as an xl configuration string (double quotes, backslash escapes)."""
    text = str(value)
    if any(c in text for c in "\n\r\0"):
        raise RumprunError(
            f"{text!r} cannot be written into an xl configuration (it holds a line break)"
        )
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def domain_config(launch, name):
    """The xl domain configuration for LAUNCH as domain NAME (text)."""
    keep = "destroy" if launch.interactive or launch.destroy else "preserve"
    lines = [
        "# Written by rumprun xen.",
        'type = "pvh"',
        f"name = {_quote(name)}",
        f"kernel = {_quote(launch.image.path)}",
        f"memory = {launch.memory_mib}",
        "vcpus = 1",
        f'on_poweroff = "{keep}"',
        f'on_crash = "{keep}"',
        # A triple fault is a reset to Xen: recreating the guest forever
        # would hide it.
        'on_reboot = "destroy"',
    ]
    if launch.interfaces:
        # One vif per -I, in order (netfront's xenif0, xenif1...): its xl
        # specification, or xl's defaults (bridge xenbr0, vif-bridge).
        lines.append("vif = [")
        lines += [f"    {_quote(n.backend[0] if n.backend else '')}," for n in launch.interfaces]
        lines.append("]")
    if launch.disks:
        lines.append("disk = [")
        lines += [f"    {_quote(spec)}," for spec in disk_specs(launch)]
        lines.append("]")
    return "\n".join(lines) + "\n"


def disk_specs(launch):
    """The xl disk specifications of -b: raw images as xvda, xvdb... in
    order (blkfront's ld0, ld1...), read-only where the model says; target
    last, since xl takes the rest of the entry (commas and all) as the path."""
    specs = []
    for i, disk in enumerate(launch.disks):
        access = "ro" if disk.readonly else "rw"
        specs.append(
            f"format=raw, vdev=xvd{chr(ord('a') + i)}, access={access}, target={disk.path}"
        )
    return specs


def check_launch(launch):
    """Refuse what rumprun xen cannot give a guest yet, one sentence each."""
    missing = [
        flag
        for flag, used in (
            ("-P", launch.ports),
            ("--share", launch.shares),
            ("-g", launch.qemu_args),
            ("-D PORT", launch.gdb_port is not None),
        )
        if used
    ]
    if missing:
        raise RumprunError(
            f"rumprun xen cannot give a guest {', '.join(missing)} (the xen "
            "platform has no 9p, and there is no QEMU): "
            "leave them out, or use rumprun qemu with an hw_generic image"
        )
    if len(launch.disks) > MAX_DISKS:
        raise RumprunError(
            f"rumprun xen gives a guest at most {MAX_DISKS} disks (-b), not {len(launch.disks)}"
        )
    config = model.kernel_config(launch)
    if len(config) >= XENSTORE_VALUE_MAX:
        raise RumprunError(
            f"the guest's configuration is {len(config)} bytes, and xenstore "
            f"holds at most {XENSTORE_VALUE_MAX - 1} in one key: give fewer or "
            "shorter arguments and -e values"
        )
    return config


def guest_name(launch):
    from rumprun import guests

    return launch.name or guests.new_name(launch.image.path)


def xenstore_text(config):
    """CONFIG as xenstore-write's argument: it reads backslash escapes
    (\\x41, \\\\), so backslashes are doubled."""
    return config.decode("utf-8", "surrogateescape").replace("\\", "\\\\")


def escape_stdin(data):
    """DATA as the kernel's console input reads it (0xff doubled)."""
    return data.replace(STDIN_ESCAPE, STDIN_ESCAPE * 2)


def open_console(name, domid, timeout=30.0, writable=False):
    """Domain DOMID's console: the pty xenconsoled made for it (its path in
    xenstore's console/tty, empty until xenconsoled has it), opened raw.
    What `xl console` does, done here so the console is attached before
    the domain is unpaused and nothing it prints is missed."""
    import termios
    import tty as ttymod

    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            ["xenstore-read", f"/local/domain/{domid}/console/tty"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        path = result.stdout.strip()
        if result.returncode == 0 and path:
            break
        if time.monotonic() > deadline:
            raise RumprunError(
                f"domain {name}'s console did not appear in {timeout:g} s "
                "(is xenconsoled running in dom0?)"
            )
        time.sleep(0.1)
    try:
        fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        raise RumprunError(f"cannot open domain {name}'s console {path}: {e.strerror}") from None
    try:
        ttymod.setraw(fd, termios.TCSANOW)
    except termios.error:
        pass
    return fd


def read_console(fd):
    """The next output on console FD; b"" once the domain is gone (the
    pty's other end closed: EIO)."""
    import errno

    try:
        return os.read(fd, 65536)
    except OSError as e:
        if e.errno == errno.EIO:
            return b""
        raise


def _xenstore_command(name, config):
    """xenstore-write of CONFIG under domain NAME's home (its ID is known
    only once xl has created it, so a shell asks xl for it)."""
    return [
        "sh",
        "-c",
        'xenstore-write "/local/domain/$(xl domid "$1")/' + XENSTORE_KEY + '" "$2"',
        "sh",
        name,
        xenstore_text(config),
    ]


def plan(launch, name=None, directory=None):
    from rumprun.plan import Plan

    config = check_launch(launch)
    name = name or guest_name(launch)
    if directory is None:
        directory = Path(launch.tmpdir or tempfile.gettempdir()) / f"rumprun-xen.{name}"
    cfg = Path(directory) / f"{name}.cfg"
    p = Plan()
    p.comment(
        f"rumprun xen: the domain {name}, paused, its configuration in xenstore, then started"
    )
    p.mkdir(directory)
    p.write_file(cfg, domain_config(launch, name).encode())
    p.command(["xl", "create", "-p", cfg])
    p.command(["rm", "-r", directory])
    p.command(_xenstore_command(name, config))
    if not launch.paused:
        p.command(["xl", "unpause", name])
    if launch.interactive:
        p.command(["xl", "console", name])
    return p


# --- the host ----------------------------------------------------------------


def check_host():
    """Fail with one sentence unless xl can be used here: xl installed,
    this is Xen's dom0, and we may talk to the hypervisor."""
    for tool, package in (("xl", "xen-utils"), ("xenstore-write", "xenstore-utils")):
        if not shutil.which(tool):
            raise RumprunError(
                f"rumprun xen needs Xen's {tool}, which is not installed (Debian "
                f"package {package}; it runs in dom0 of a Xen host)"
            )
    if os.geteuid() != 0:
        raise RumprunError(
            "rumprun xen needs root in dom0 (xl talks to the hypervisor "
            "through /dev/xen/privcmd): run it as root"
        )
    try:
        caps = CAPABILITIES.read_text()
    except FileNotFoundError:
        raise RumprunError(
            "this machine is not running on Xen, or is not its dom0 "
            f"({CAPABILITIES} does not exist): run rumprun xen in Xen's dom0"
        ) from None
    except PermissionError:
        raise RumprunError(
            f"you may not talk to Xen (cannot read {CAPABILITIES}): run rumprun xen as root in dom0"
        ) from None
    if "control_d" not in caps:
        raise RumprunError(
            "this is a Xen guest, not dom0 (/proc/xen/capabilities lacks "
            "control_d): run rumprun xen in Xen's dom0"
        )


def _xl(*args, what, capture=True):
    """Run xl (or another dom0 tool); its output, or one sentence with what
    it said."""
    result = subprocess.run(list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        said = " ".join((result.stderr + " " + result.stdout).split())[:400]
        raise RumprunError(f"{what} failed: {args[0]} said: {said or 'nothing'}")
    return result.stdout


def domain_state(name):
    """Xen's state of domain NAME as xl list shows it: running, blocked,
    paused, shutdown, crashed, dying; None when there is no such domain."""
    result = subprocess.run(
        ["xl", "list", name], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    lines = result.stdout.splitlines()
    if len(lines) < 2:
        return None
    flags = lines[1].split()[4] if len(lines[1].split()) > 4 else ""
    for letter, state in (
        ("c", "crashed"),
        ("s", "shutdown"),
        ("d", "dying"),
        ("p", "paused"),
        ("b", "running"),
        ("r", "running"),
    ):
        if letter in flags:
            return state
    return "running"


def destroy(name):
    subprocess.run(
        ["xl", "destroy", name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def request_shutdown(domid, signum):
    """Ask domain DOMID's kernel to write its volumes back and power off
    as if killed by SIGNUM; whether xenstore took the request."""
    for key, value in ((SIGNAL_KEY, str(int(signum))), (SHUTDOWN_KEY, POWEROFF)):
        written = subprocess.run(
            ["xenstore-write", f"/local/domain/{domid}/{key}", value],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if written.returncode != 0:
            return False
    return True


def shut_down(name, grace=SHUTDOWN_GRACE):
    """End domain NAME (rumprun stop): a running one is asked to sync and
    power off (as SIGTERM) and given GRACE seconds; then it is destroyed,
    with one sentence on stderr when it was asked and did not end."""
    if domain_state(name) == "running":
        domid = subprocess.run(
            ["xl", "domid", name], stdin=subprocess.DEVNULL, capture_output=True, text=True
        ).stdout.strip()
        if domid and request_shutdown(domid, signal.SIGTERM):
            deadline = time.monotonic() + grace
            while (state := domain_state(name)) == "running" and time.monotonic() < deadline:
                time.sleep(0.1)
            if state == "running":
                print(
                    f"rumprun: guest {name} did not shut down within {grace:g} s: "
                    "destroying the domain (writes not yet synced to its disks are lost)",
                    file=sys.stderr,
                    flush=True,
                )
    destroy(name)


def stop_console(pid, name, wait=2.0):
    """End the process (pid PID) that copies a detached guest's console, if
    that process is still it (a pid can be reused).  It ends by itself
    once the domain is destroyed and it has copied the last output: it is
    given WAIT seconds for that."""

    def copier():  # alive (not a zombie nobody reaps) and still the copier
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return False
        comm, _, rest = stat.partition(b" (")[2].rpartition(b") ")
        return comm == CONSOLE_COPIER and not rest.startswith(b"Z")

    deadline = time.monotonic() + wait
    while pid and copier() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid and copier():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def unpause(name):
    _xl("xl", "unpause", name, what=f"resuming domain {name}")


# --- running -----------------------------------------------------------------


class _Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame):
    raise _Interrupted(signum)


def run(launch):
    from rumprun import guests

    config = check_launch(launch)
    check_host()
    name = guest_name(launch)
    registered = not launch.interactive or launch.paused
    if registered and domain_state(name) is not None:
        # Before claiming the name: the claim would replace the state of
        # the guest that has it.
        raise RumprunError(
            f"a Xen domain called {name!r} exists already: stop it "
            f"(rumprun stop {name}, or xl destroy {name}) or choose "
            "another -N"
        )
    claim = guests.claim(name) if registered else None
    created = False
    try:
        with tempfile.TemporaryDirectory(prefix="rumprun-xen.", dir=launch.tmpdir) as tmp:
            cfg = Path(tmp) / f"{name}.cfg"
            cfg.write_text(domain_config(launch, name))
            try:
                _xl("xl", "create", "-p", str(cfg), what=f"creating Xen domain {name}")
            except RumprunError as e:
                if "already exists" in str(e):  # xl checks names (each xl run costs)
                    raise RumprunError(
                        f"a Xen domain called {name!r} exists already: stop it (rumprun "
                        f"stop {name}, or xl destroy {name}) or choose another -N"
                    ) from None
                raise
            created = True
        domid = _xl("xl", "domid", name, what=f"finding domain {name}'s ID").strip()
        _xl(
            "xenstore-write",
            f"/local/domain/{domid}/{XENSTORE_KEY}",
            xenstore_text(config),
            what=f"writing domain {name}'s configuration into xenstore",
        )
        if launch.interactive:
            _xl(
                "xenstore-write",
                f"/local/domain/{domid}/{STDIN_KEY}",
                "1",
                what=f"writing domain {name}'s stdin key into xenstore",
            )
        fd = open_console(name, domid, writable=launch.interactive)
        try:
            if launch.interactive:
                return _run_interactive(launch, name, domid, claim, fd)
            return _start_detached(launch, name, claim, fd)
        finally:
            os.close(fd)
    except BaseException:
        if created and (launch.interactive or claim is None):
            destroy(name)
        elif created and claim is not None and not (claim.directory / guests.RECORD).exists():
            destroy(name)
        raise
    finally:
        if claim is not None:
            claim.release(remove=launch.interactive)


def _run_interactive(launch, name, domid, claim, fd):
    """The console here; the guest's status from its status line."""
    from rumprun import console
    from rumprun.backends import GuestFailed

    handlers = {
        s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    scanner, relay = console.StatusScanner(), _ConsoleRelay()
    try:
        if launch.paused:
            claim.save(launch, os.getpid(), ["rumprun", "xen", name])
            print(
                f"rumprun: guest {name} is paused: `rumprun cont {name}` starts it",
                file=sys.stderr,
                flush=True,
            )
        else:
            unpause(name)
        for data in _console_with_stdin(fd):
            relay.feed(data)
            scanner.feed(data)
        relay.finish()
        status = scanner.finish()
    except _Interrupted as e:
        return _shut_down_interactive(name, domid, fd, e.signum, scanner, relay)
    except BrokenPipeError:
        destroy(name)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    if status is None:
        destroy(name)
        raise GuestFailed(
            f"domain {name} ended without reporting its exit status "
            "(its console closed without the kernel's status line)"
        )
    return status


class _ConsoleRelay:
    """The console's bytes to our stdout and stderr (KernelLines), line
    endings made the host's."""

    def __init__(self):
        from rumprun import console

        self.split, self.endings = KernelLines(), console.LineEndings()

    def feed(self, data):
        for stream, text in self.split.feed(self.endings.convert(data)):
            stream.write(text)
            stream.flush()

    def finish(self):
        for stream, text in self.split.finish(self.endings.finish()):
            stream.write(text)
            stream.flush()


def _shut_down_interactive(name, domid, fd, signum, scanner, relay):
    """The launcher got SIGNUM: ask the guest to sync and power off, and
    relay what it still says until its console closes; its status (128 +
    SIGNUM when it said none).  It has SHUTDOWN_GRACE seconds to say its
    status line.
    A guest that cannot be asked or does not end in time (or the signal
    again) is destroyed, with one sentence."""
    import select

    signame = signal.Signals(signum).name
    previous = signal.signal(signal.SIGALRM, _interrupt)
    try:
        if not request_shutdown(domid, signum):
            destroy(name)
            print(
                f"\nrumprun: interrupted ({signame}): domain {name} destroyed",
                file=sys.stderr,
                flush=True,
            )
            return 128 + signum
        signal.setitimer(signal.ITIMER_REAL, SHUTDOWN_GRACE)
        while True:
            select.select([fd], [], [])
            try:
                data = read_console(fd)
            except BlockingIOError:
                continue
            if not data:
                break
            scanner.feed(data)
            if scanner.status is not None:
                # It has synced and powered off; what is left is Xen's
                # teardown (seconds under TCG), which needs no deadline.
                signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                relay.feed(data)
            except BrokenPipeError:
                # Whoever read the console went away: the guest's last
                # words go nowhere, its shutdown goes on.
                devnull = os.open(os.devnull, os.O_WRONLY)
                for std in (1, 2):
                    os.dup2(devnull, std)
        relay.finish()
        status = scanner.finish()
        return 128 + signum if status is None else status
    except _Interrupted as again:
        destroy(name)
        if again.signum == signal.SIGALRM:
            why = f"the guest did not shut down within {SHUTDOWN_GRACE:g} s of {signame}"
        else:
            why = f"interrupted again ({signal.Signals(again.signum).name})"
        print(
            f"\nrumprun: {why}: domain {name} destroyed "
            "(writes not yet synced to its disks are lost)",
            file=sys.stderr,
            flush=True,
        )
        return 128 + signum
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _console_with_stdin(fd):
    """What the console FD says, chunk by chunk, until the domain is gone;
    meanwhile our stdin goes the other way (escaped, then the end mark
    when it ends), as fast as the console daemon takes it."""
    import fcntl
    import selectors

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    # poll(2), not epoll: stdin may be a regular file, which epoll refuses.
    sel = selectors.PollSelector()
    sel.register(fd, selectors.EVENT_READ, "console")
    pending, stdin_open = b"", True
    try:
        sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    except (ValueError, OSError, AttributeError):  # no stdin at all
        stdin_open, pending = False, STDIN_EOF
    while True:
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
        sel.modify(fd, want, "console")
        for key, events in sel.select():
            if key.data == "stdin":
                try:
                    data = os.read(key.fd, 65536)
                except OSError:
                    data = b""
                if data:
                    pending += escape_stdin(data)
                else:
                    sel.unregister(key.fd)
                    stdin_open = False
                    pending += STDIN_EOF
                # Read no further ahead than the console takes.
                if len(pending) > 65536 and stdin_open:
                    sel.unregister(key.fd)
                    stdin_open = None
                continue
            if events & selectors.EVENT_WRITE and pending:
                try:
                    pending = pending[os.write(fd, pending) :]
                except BlockingIOError:
                    pass
                except OSError:
                    pending = b""  # the domain is gone: its output says how
                if not pending and stdin_open is None:
                    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
                    stdin_open = True
            if events & selectors.EVENT_READ:
                try:
                    data = read_console(fd)
                except BlockingIOError:
                    continue
                if not data:
                    return
                yield data


class KernelLines:
    """Xen's one PV console carries the kernel's own lines and the programs'
    output together; on QEMU they arrive apart (COM1 and virtio-console
    ports) and the launcher gives the kernel's to stderr.  Here whole lines
    are told apart: the kernel's start with "rumprun: " or are its status
    line, or continue a crash report (indented, after "rumprun: fatal");
    they go to stderr, the rest to stdout.  A line is passed on once it is
    complete (or at the end)."""

    def __init__(self):
        self.partial = b""
        self.in_report = False

    def _route(self, line):
        from rumprun import abi

        body = line.rstrip(b"\n")
        if body.startswith(b"rumprun: fatal"):
            self.in_report = True
        elif not body.startswith(b"  "):
            self.in_report = self.in_report and body.startswith(b"rumprun: ")
        kernel = (
            body.startswith(b"rumprun: ")
            or abi.STATUS_LINE.search(body)
            or (self.in_report and body.startswith(b"  "))
        )
        return (sys.stderr.buffer if kernel else sys.stdout.buffer), line

    def feed(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        return [self._route(line + b"\n") for line in lines]

    def finish(self, tail=b""):
        rest, self.partial = self.partial + tail, b""
        return [self._route(rest)] if rest else []


CONSOLE_COPIER = b"rumprun-cons"  # the copier's process name (/proc/PID/comm)


def _start_detached(launch, name, claim, fd):
    """Leave the domain running, its console copied into the state
    directory by a forked process of our own; print the handle."""
    from rumprun import output

    log = os.open(
        claim.directory / "console.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600
    )
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the copier: until the domain is destroyed
        try:
            os.setsid()
            import ctypes

            ctypes.CDLL(None).prctl(15, CONSOLE_COPIER)  # PR_SET_NAME
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(null, std)
            while data := read_console(fd):
                os.write(log, data.replace(b"\r\n", b"\n"))
        finally:
            os._exit(0)
    os.close(log)
    claim.save(launch, pid, ["rumprun", "xen", name])
    if not launch.paused:
        unpause(name)
    output.write_stdout(f"{name}\n")
    return 0
