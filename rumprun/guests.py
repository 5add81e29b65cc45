"""Registered guests: one state directory each; rumprun ps, stop and cont.

Detached guests (and interactive ones started paused, so `rumprun cont`
can reach them) live in STATE/NAME/, STATE being
$XDG_RUNTIME_DIR/rumprun/guests (or ~/.cache/rumprun/guests without it):

  lock          locked (flock, exclusive) for as long as the guest runs:
                QEMU inherits the locked descriptor, so "running" is "the
                lock is held", whatever happens to the launcher or to pids
  guest.json    the Launch (rumprun.model), QEMU's pid and command line,
                written atomically once QEMU answers
  qmp.sock      QEMU's QMP socket
  console.log   everything the guest printed (detached guests)
  qemu.log      QEMU's own messages (detached guests)

A name is claimed under STATE/.claim (flock) so that two launchers given
the same -N cannot both start a guest: the second finds the first's lock
held and refuses.  A directory whose lock is free is a guest that has
ended (or a start that failed); a new claim of its name replaces it.
"""

import fcntl
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rumprun import abi, qmp
from rumprun.errors import RumprunError
from rumprun.model import Launch, check_name

RECORD = "guest.json"
CONT_PATIENCE = 15.0  # seconds rumprun cont keeps asking a QEMU that does not answer


def state_root():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "rumprun" / "guests"
    return Path.home() / ".cache" / "rumprun" / "guests"


def new_name(image):
    """A handle for an unnamed guest: the image's stem and 6 hex digits."""
    stem = (
        "".join(c if c.isalnum() or c in "_.-" else "-" for c in Path(image).stem)[:32].lstrip(
            "-._"
        )
        or "guest"
    )
    return f"{stem}-{secrets.token_hex(3)}"


def _lock_held(path):
    """Whether someone holds the flock on PATH (False if there is no PATH)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _mkdirs(path):
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise RumprunError(f"cannot create {path} for the guest's state: {e.strerror}") from None


@dataclass
class Claim:
    """A guest name held by this launcher: its directory, locked."""

    name: str
    directory: Path
    lock_fd: Optional[int]  # None once released

    @property
    def socket(self):
        return self.directory / "qmp.sock"

    def save(self, launch, pid, command):
        """Write guest.json (atomically: a reader sees all of it or none)."""
        record = {
            "launch": launch.to_record(),
            "pid": pid,
            "command": list(command),
            "started": time.time(),
        }
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".guest.")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f, indent=1)
            os.replace(tmp, self.directory / RECORD)
        except BaseException:
            os.unlink(tmp)
            raise

    def release(self, remove=True):
        """Give the name up (REMOVE: and the guest's files).  A detached
        guest's QEMU keeps the lock: the name stays taken while it runs."""
        if self.lock_fd is None:
            return
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self.lock_fd)
        self.lock_fd = None


def claim(name):
    """Take NAME for a new guest, atomically; one sentence if it is in use."""
    root = state_root()
    _mkdirs(root)
    directory = root / name
    guard = os.open(root / ".claim", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if _lock_held(directory / "lock"):
            raise RumprunError(
                f"a guest called {name!r} is already running: stop it "
                f"(rumprun stop {name}) or choose another -N"
            )
        if directory.exists() or directory.is_symlink():
            _remove_entry(directory)
        _mkdirs(directory)
        lock_fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
    finally:
        os.close(guard)
    return Claim(name, directory, lock_fd)


def _remove_entry(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Guest:
    """A registered guest as ps sees it."""

    name: str
    directory: Path
    launch: Optional[Launch]  # None: the entry is damaged
    pid: int = 0
    problem: str = ""  # why the entry is damaged

    @property
    def socket(self):
        return self.directory / "qmp.sock"

    @property
    def xen(self):
        """Whether this guest is a Xen domain (rumprun xen): Xen, not a
        lock, says whether it runs."""
        return self.launch is not None and self.launch.platform == "xen"

    def running(self):
        if self.xen:
            from rumprun.backends import xen

            return xen.domain_state(self.name) in ("running", "paused")
        return _lock_held(self.directory / "lock")

    def exit_status(self):
        """The status the guest's console reported last, or None."""
        return console_status(self.directory)

    def state(self):
        """running, paused, starting, exited (status N), damaged (...)."""
        if self.xen:
            from rumprun.backends import xen

            state = xen.domain_state(self.name)
            if state in ("running", "paused"):
                return state
            status = self.exit_status()
            ended = "crashed" if state == "crashed" else "exited"
            return ended if status is None else f"{ended} (status {status})"
        if self.running():
            if self.launch is None:
                return "starting"
            try:
                status = qmp.execute(self.socket, "query-status", timeout=2)["status"]
            except (qmp.MonitorUnavailable, qmp.CommandFailed):
                return "running (QMP does not answer)"
            return "paused" if status in ("paused", "prelaunch") else status
        if self.launch is None:
            return f"damaged ({self.problem})"
        status = self.exit_status()
        return "exited" if status is None else f"exited (status {status})"


def console_status(directory):
    """The status the console log in DIRECTORY reported last, or None."""
    try:
        with open(directory / "console.log", "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        m = abi.STATUS_LINE.search(line)
        if m:
            return int(m.group(1))
    return None


def load(name):
    """The registered guest NAME (perhaps damaged); None if there is none."""
    directory = state_root() / name
    if not directory.is_dir():
        return None
    try:
        record = json.loads((directory / RECORD).read_text())
        launch = Launch.from_record(record["launch"])
        pid = record["pid"]
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise ValueError("pid is not a number")
    except FileNotFoundError:
        return Guest(name, directory, None, problem=f"no {RECORD}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return Guest(name, directory, None, problem=f"unreadable {RECORD}: {e}")
    return Guest(name, directory, launch, pid)


def all_guests():
    """Every registered guest, by name; guests started with -d that have
    ended are forgotten on the way (that is what -d asks for)."""
    root = state_root()
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    found = []
    for name in names:
        guest = load(name)
        if guest is None:
            continue
        if guest.launch is not None and guest.launch.destroy and not guest.running():
            shutil.rmtree(guest.directory, ignore_errors=True)
            continue
        found.append(guest)
    return found


def ps():
    """One line per registered guest, with a header."""
    lines = [f"{'NAME':<20} {'PID':>7} {'PLATFORM':<9} {'MEMORY':>6}  {'STATUS':<20} IMAGE"]
    for g in all_guests():
        if g.launch is None:
            lines.append(f"{g.name:<20} {'-':>7} {'-':<9} {'-':>6}  {g.state()}")
            continue
        lines.append(
            f"{g.name:<20} {g.pid:>7} {g.launch.platform:<9} "
            f"{str(g.launch.memory_mib) + 'M':>6}  {g.state():<20} "
            f"{g.launch.image.path}"
        )
    return "\n".join(lines)


def find(name):
    guest = load(check_name(name))
    if guest is None:
        raise RumprunError(f"there is no guest called {name!r}: rumprun ps lists them")
    return guest


def stop(name):
    """End guest NAME and forget it: its kernel is asked to sync its
    volumes and power off; QEMU is quit (over QMP, else with signals) when
    it does not within a few seconds."""
    from rumprun.backends.qemu import shut_down, stop_process

    guest = find(name)
    if guest.xen:
        from rumprun.backends import xen

        xen.shut_down(name)
        xen.stop_console(guest.pid, name)
    elif guest.running() and guest.launch is not None:
        if guest.state() == "paused":  # its kernel cannot answer: no need to ask
            stop_process(guest.pid, guest.socket)
        else:
            shut_down(guest.pid, guest.directory, guest.socket, name, guest.running)
    if guest.running():
        raise RumprunError(
            f"guest {name!r} did not stop (pid {guest.pid or 'unknown'}): "
            "try again, or kill its QEMU"
        )
    shutil.rmtree(guest.directory, ignore_errors=True)


def cont(name):
    """Resume guest NAME (started with -p, or stopped by a debugger)."""
    guest = find(name)
    if not guest.running() or guest.launch is None:
        raise RumprunError(f"guest {name!r} is not running ({guest.state()})")
    if guest.xen:
        from rumprun.backends import xen

        xen.unpause(name)
        return
    # A loaded host may keep QEMU's monitor from answering for a while:
    # ask again until CONT_PATIENCE has passed (while QEMU lives).
    deadline = time.monotonic() + CONT_PATIENCE
    try:
        while True:
            try:
                qmp.execute(guest.socket, "cont")
                break
            except qmp.MonitorUnavailable as e:
                if time.monotonic() > deadline or not guest.running():
                    raise RumprunError(
                        f"guest {name!r} does not answer on {guest.socket} ({e})"
                    ) from None
                time.sleep(0.2)
    except qmp.CommandFailed as e:
        raise RumprunError(f"QEMU cannot resume guest {name!r}: {e}") from None
