"""The guest's console on the host, and the exit status it reports.

relay() copies a console stream (QEMU's stdio chardev, a serial port) to
our stdout as it arrives, with serial line endings (CR LF) made the host's
(LF), and finds the kernel's status line (abi.STATUS_LINE) on the way.
exit_status() decides what the launcher reports: the status line, trusted
only when QEMU's own exit code agrees (the kernel writes the same status to
isa-debug-exit right after printing it), so a program that prints a status
line and then resets the machine or writes the port itself cannot fake
its exit status.

This is the one place the console is relayed; every backend that shows a
console uses it.
"""

import os
import signal

from rumprun import abi
from rumprun.backends import GuestFailed

CHUNK = 65536


class StatusScanner:
    """Finds the last status line in a console stream fed in chunks."""

    def __init__(self):
        self.partial = b""
        self.status = None

    def feed(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()[-256:]
        for line in lines:
            self._check(line)

    def finish(self):
        self._check(self.partial)
        self.partial = b""
        return self.status

    def _check(self, line):
        m = abi.STATUS_LINE.search(line)
        if m and int(m.group(1)) <= 255:
            self.status = int(m.group(1))


class LineEndings:
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


def relay(fd, out):
    """Copy everything from FD to binary stream OUT until end of file;
    return the status of the last status line seen, or None.

    BrokenPipeError from OUT reaches the caller (the reader went away)."""
    scanner, endings = StatusScanner(), LineEndings()
    while True:
        data = os.read(fd, CHUNK)
        if not data:
            break
        out.write(endings.convert(data))
        out.flush()
        scanner.feed(data)
    out.write(endings.finish())
    out.flush()
    return scanner.finish()


def describe_exit(code):
    """How a process ended, for a sentence."""
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def exit_status(line_status, qemu_code, said=""):
    """The guest's exit status from its status line and QEMU's exit code.

    Raises GuestFailed (exit status 1) when the kernel did not report one,
    or when QEMU's exit code says the machine ended some other way.
    """
    said = " ".join(said.split())[:500]
    tail = f" and said: {said})" if said else ")"
    if line_status is None:
        raise GuestFailed(
            "the guest ended without reporting its exit status (QEMU "
            f"{describe_exit(qemu_code)}{tail}")
    if qemu_code != abi.debug_exit_code(line_status):
        if qemu_code == 0:
            how = "then reset or powered off without the kernel's exit"
        elif qemu_code > 0 and qemu_code % 2:
            how = (f"then wrote {(qemu_code - 1) // 2} to the exit port, not the "
                   "kernel's status")
        else:
            how = f"then QEMU {describe_exit(qemu_code)}"
        raise GuestFailed(
            f"the guest printed the status line for {line_status} but {how}: "
            f"its exit status is not trustworthy (QEMU {describe_exit(qemu_code)}"
            f"{tail}")
    return line_status
