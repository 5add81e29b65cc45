"""Detached guests: one state directory each, `rumprun ps` and `rumprun stop`.

A detached guest NAME lives in STATE/NAME/, where STATE is
$XDG_RUNTIME_DIR/rumprun/guests (or ~/.cache/rumprun/guests without it):
  guest.json    the model, QEMU's pid and command line
  qmp.sock      QEMU's QMP socket
  console.log   everything the guest printed
  qemu.log      QEMU's own messages
"""

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rumprun import model
from rumprun.errors import RumprunError
from rumprun.qemu import (Monitor, STATUS_LINE, pid_alive, qemu_command,
                          query_status, stop_process)


def state_root():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "rumprun" / "guests"
    return Path.home() / ".cache" / "rumprun" / "guests"


@dataclass(frozen=True)
class Guest:
    name: str
    directory: Path
    record: dict

    @property
    def pid(self):
        return self.record["pid"]

    @property
    def socket(self):
        return self.directory / "qmp.sock"

    def running(self):
        """Whether this guest's QEMU is still alive (and really is it)."""
        if not pid_alive(self.pid):
            return False
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.socket).encode() in cmdline

    def exit_status(self):
        """The status the guest reported on its console, or None."""
        try:
            lines = (self.directory / "console.log").read_bytes().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            m = STATUS_LINE.search(line)
            if m:
                return int(m.group(1))
        return None


def load(name):
    """The detached guest called NAME, or one sentence saying there is none."""
    directory = state_root() / name
    try:
        record = json.loads((directory / "guest.json").read_text())
    except (OSError, ValueError):
        raise RumprunError(
            f"there is no guest called {name!r}: rumprun ps lists them") from None
    return Guest(name, directory, record)


def all_guests():
    root = state_root()
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(root.iterdir()):
        try:
            found.append(load(directory.name))
        except RumprunError:
            continue
    return found


def _new_name(image):
    stem = "".join(c if c.isalnum() or c in "_.-" else "-"
                   for c in Path(image).stem)[:32].lstrip("-._") or "guest"
    return f"{stem}-{secrets.token_hex(3)}"


def start_detached(launch, qemu, accel):
    """Start LAUNCH's guest in the background; return its handle."""
    uk = launch.unikernel
    name = uk.name or _new_name(uk.image)
    directory = state_root() / name
    if directory.exists():
        try:
            old = load(name)
        except RumprunError:
            old = None      # a broken leftover: replace it
        if old is not None and old.running():
            raise RumprunError(
                f"a guest called {name!r} is already running: stop it "
                f"(rumprun stop {name}) or choose another -N")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    try:
        args = qemu_command(launch, accel, directory / "console.log",
                            directory / "qmp.sock")
        args[0] = qemu
        with open(directory / "qemu.log", "wb") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log,
                                    start_new_session=True)
        record = {"name": name, "pid": proc.pid, "platform": launch.platform,
                  "accel": accel, "image": str(uk.image.resolve()),
                  "memory_mib": uk.memory_mib, "argv": uk.argv,
                  "env": [f"{k}={v}" for k, v in uk.env],
                  "hostname": uk.hostname, "config": uk.info.config,
                  "started": time.time(), "command": args}
        (directory / "guest.json").write_text(json.dumps(record, indent=1))
        monitor = Monitor(directory / "qmp.sock")
        try:
            connected = monitor.connect(alive=lambda: proc.poll() is None)
        finally:
            monitor.close()
        if not connected:
            said = " ".join((directory / "qemu.log").read_text(
                errors="replace").split())[:500]
            stop_process(proc)
            raise RumprunError(
                f"QEMU did not start (it said: {said or 'nothing'})")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return name


def status_text(guest):
    if guest.running():
        return query_status(guest.socket) or "running (QMP does not answer)"
    status = guest.exit_status()
    return "exited" if status is None else f"exited (status {status})"


def ps():
    """One line per detached guest, with a header."""
    lines = [f"{'NAME':<20} {'PID':>7} {'PLATFORM':<9} {'MEMORY':>6}  "
             f"{'STATUS':<20} IMAGE"]
    for guest in all_guests():
        r = guest.record
        lines.append(f"{guest.name:<20} {guest.pid:>7} {r['platform']:<9} "
                     f"{str(r['memory_mib']) + 'M':>6}  "
                     f"{status_text(guest):<20} {r['image']}")
    return "\n".join(lines)


def stop(name):
    """Quit guest NAME over QMP (or kill it) and remove its state."""
    guest = load(model.check_name(name))
    if guest.running():
        monitor = Monitor(guest.socket)
        try:
            monitor.connect(timeout=2)
            stop_process(guest.pid, monitor)
        finally:
            monitor.close()
    shutil.rmtree(guest.directory, ignore_errors=True)
