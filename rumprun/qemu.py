"""Running a unikernel in QEMU: argument lists, the KVM probe, QMP.

qemu_command() renders a Launch into QEMU's argument list (never a shell
string).  run_interactive() runs a guest with its console on our stdout and
returns the guest's exit status, read from the status line the kernel
prints last:

    === rumprun: exit status N ===

(The kernel then writes N to isa-debug-exit, so QEMU exits with 2N+1; that
truncates N above 127, so the line is authoritative.)
"""

import asyncio
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from qemu.qmp import QMPClient, QMPError

from rumprun import host, model
from rumprun.errors import RumprunError

QEMU = "qemu-system-x86_64"
DEBUG_EXIT_PORT = 0xF4
STATUS_LINE = re.compile(rb"=== rumprun: exit status (\d{1,3}) ===\r?$")
KVM_PROBE_TIMEOUT = 5.0
KVM_PROBE_OK = (0x2A << 1) | 1        # kvmprobe.bin writes 0x2a: QEMU exits 85
QMP_TIMEOUT = 5.0


class GuestFailed(RumprunError):
    """The guest ended without reporting an exit status: exit 1."""
    exit_status = 1


def machine_args(qemu, accel, memory_mib, kernel):
    """QEMU with a bare pc, ACCEL (tcg or kvm), isa-debug-exit and KERNEL."""
    cpu = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else \
          ["-accel", "tcg", "-cpu", "max"]
    return ([qemu, "-M", "pc"] + cpu
            + ["-m", str(memory_mib), "-nodefaults", "-no-user-config",
               "-display", "none", "-net", "none", "-no-reboot",
               "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=4",
               "-kernel", str(kernel)])


def qemu_command(launch, accel, console, qmp_socket):
    """QEMU's argument list for LAUNCH.

    ACCEL is "tcg" or "kvm"; CONSOLE is None for the launcher's stdin/stdout
    or the path of a log file; QMP_SOCKET is the QMP unix socket's path.
    """
    uk = launch.unikernel
    if console is None:
        chardev = "stdio,id=con,signal=off"
    else:
        chardev = f"file,id=con,path={console}"
    return (machine_args(QEMU, accel, uk.memory_mib, uk.image)
            + ["-append", model.kernel_json(uk),
               "-serial", "chardev:con", "-chardev", chardev,
               "-qmp", f"unix:{qmp_socket},server=on,wait=off"]
            + (["-S"] if launch.paused else [])
            + list(launch.qemu_args))


# --- KVM ------------------------------------------------------------------

def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rumprun"


def _probe_kvm(qemu, prog):
    """Boot build/lib/kvmprobe.bin under KVM: (works, reason)."""
    probe = host.LIB_DIR / "kvmprobe.bin"
    host.ensure_built([probe], prog)
    try:
        result = subprocess.run(machine_args(qemu, "kvm", 16, probe), capture_output=True, text=True,
                                stdin=subprocess.DEVNULL,
                                timeout=KVM_PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, (f"a KVM test guest did not finish in "
                       f"{KVM_PROBE_TIMEOUT:g} s")
    if result.returncode == KVM_PROBE_OK:
        return True, "KVM works"
    said = " ".join(result.stderr.split())[:200] or "nothing"
    return False, (f"a KVM test guest using SSE failed: QEMU "
                   f"{_describe_exit(result.returncode)} and said: {said}")


def _describe_exit(code):
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def kvm_works(qemu, prog):
    """(works, reason): whether KVM runs our guests, cached per host boot."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "you may not use /dev/kvm (join the kvm group)"
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = None
    cache = _cache_dir() / "kvm-probe.json"
    try:
        cached = json.loads(cache.read_text())
        if boot_id and cached["boot_id"] == boot_id and cached["qemu"] == qemu:
            return cached["works"], cached["reason"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    works, reason = _probe_kvm(qemu, prog)
    if boot_id:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"boot_id": boot_id, "qemu": qemu,
                                   "works": works, "reason": reason}))
        os.replace(tmp, cache)
    return works, reason


def choose_accel(platform, qemu, prog):
    """The accelerator for PLATFORM: qemu=tcg, kvm=kvm or fail, baremetal=best."""
    if platform == "qemu":
        return "tcg"
    works, reason = kvm_works(qemu, prog)
    if works:
        return "kvm"
    if platform == "kvm":
        raise RumprunError(
            f"KVM does not work on this host ({reason}): use rumprun qemu, "
            "which emulates the CPU")
    print(f"{prog}: warning: KVM does not work on this host ({reason}); "
          "using QEMU's emulation (TCG)", file=sys.stderr, flush=True)
    return "tcg"


# --- QMP ------------------------------------------------------------------

class Monitor:
    """A synchronous handle on a guest's QMP socket (qemu.qmp in a thread)."""

    def __init__(self, socket_path):
        self.socket_path = str(socket_path)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        daemon=True)
        self._thread.start()
        self._qmp = None

    def _run(self, coro, timeout):
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def connect(self, timeout=QMP_TIMEOUT, alive=lambda: True):
        """Connect, retrying while the socket appears; False if it never does."""
        deadline = time.monotonic() + timeout

        async def attempt():
            qmp = QMPClient("rumprun")
            await qmp.connect(self.socket_path)
            return qmp

        while time.monotonic() < deadline and alive():
            try:
                self._qmp = self._run(attempt(), timeout)
                return True
            except (QMPError, OSError):
                time.sleep(0.02)
        return False

    def execute(self, command, arguments=None, timeout=QMP_TIMEOUT):
        return self._run(self._qmp.execute(command, arguments), timeout)

    def quit(self):
        """Ask QEMU to quit; True if the request went out."""
        if self._qmp is None:
            return False
        try:
            self.execute("quit", timeout=2)
        except Exception:  # QEMU may close the socket before it answers.
            pass
        return True

    def close(self):
        if self._qmp is not None:
            try:
                self._run(self._qmp.disconnect(), 2)
            except Exception:
                pass
            self._qmp = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2)
        if not self._loop.is_running():
            self._loop.close()


def query_status(socket_path, timeout=2.0):
    """The guest's run state over QMP ("running", "paused", ...), or None."""
    monitor = Monitor(socket_path)
    try:
        if not monitor.connect(timeout):
            return None
        return monitor.execute("query-status", timeout=timeout)["status"]
    except (QMPError, OSError, TimeoutError):
        return None
    finally:
        monitor.close()


# --- running ----------------------------------------------------------------

def _die_with_parent():
    """In the child: get SIGKILL if the launcher dies (Linux prctl)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_process(proc_or_pid, monitor=None, grace=3.0):
    """End a QEMU: quit over QMP, then SIGTERM, then SIGKILL."""
    def gone():
        if isinstance(proc_or_pid, subprocess.Popen):
            return proc_or_pid.poll() is not None
        return not pid_alive(proc_or_pid)

    def wait(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if gone():
                return True
            time.sleep(0.02)
        return gone()

    pid = getattr(proc_or_pid, "pid", proc_or_pid)
    if monitor is not None and monitor.quit() and wait(grace):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait(grace):
            return


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _interrupt(signum, frame):
    """SIGTERM ends an interactive guest the way Ctrl-C does."""
    raise KeyboardInterrupt


class _StatusScanner:
    """Finds the last status line in the console stream."""

    def __init__(self):
        self.partial = b""
        self.status = None

    def feed(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self._check(line)

    def finish(self):
        self._check(self.partial)
        return self.status

    def _check(self, line):
        m = STATUS_LINE.search(line)
        if m and int(m.group(1)) <= 255:
            self.status = int(m.group(1))


class _LineEndings:
    """Serial line endings (CR LF) to the host's (LF), across chunks."""

    def __init__(self):
        self.cr = False     # the last chunk ended in CR: is LF next?

    def convert(self, data):
        if self.cr:
            data = b"\r" + data
        self.cr = data.endswith(b"\r")
        if self.cr:
            data = data[:-1]
        return data.replace(b"\r\n", b"\n")

    def finish(self):
        return b"\r" if self.cr else b""


def run_interactive(launch, qemu, accel, prog):
    """Run LAUNCH with its console on stdout; return the guest's status."""
    with tempfile.TemporaryDirectory(prefix="rumprun.",
                                     dir=launch.tmpdir) as tmp:
        socket_path = Path(tmp) / "qmp.sock"
        args = qemu_command(launch, accel, None, socket_path)
        args[0] = qemu
        with open(Path(tmp) / "qemu.stderr", "w+b") as errors:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=errors, start_new_session=True,
                preexec_fn=_die_with_parent)
            monitor = Monitor(socket_path)
            scanner = _StatusScanner()
            endings = _LineEndings()
            previous_term = signal.signal(signal.SIGTERM, _interrupt)
            try:
                monitor.connect(alive=lambda: proc.poll() is None)
                out = sys.stdout.buffer
                fd = proc.stdout.fileno()
                while True:
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    out.write(endings.convert(data))
                    out.flush()
                    scanner.feed(data)
                out.write(endings.finish())
                out.flush()
                code = proc.wait()
            except KeyboardInterrupt:
                stop_process(proc, monitor)
                print(f"\n{prog}: interrupted: QEMU stopped", file=sys.stderr)
                return 130
            except BrokenPipeError:
                # Whoever read the console went away (| head): stop quietly.
                stop_process(proc, monitor)
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 128 + signal.SIGPIPE
            finally:
                signal.signal(signal.SIGTERM, previous_term)
                monitor.close()
                if proc.poll() is None:
                    stop_process(proc)
                proc.stdout.close()
            status = scanner.finish()
            if status is not None:
                return status
            errors.seek(0)
            said = " ".join(errors.read().decode(errors="replace").split())
    raise GuestFailed(
        f"the guest ended without reporting its exit status (QEMU "
        f"{_describe_exit(code)}" + (f" and said: {said[:500]})" if said else ")"))
