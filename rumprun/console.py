"""The guest's console on the host, and the exit status it reports.

relay() copies a guest's console as it arrives: COM1 (QEMU's stdio
chardev: what the kernel itself says) to our stderr, with serial line
endings (CR LF) made the host's (LF), finding the kernel's status line
(abi.STATUS_LINE) on the way; the programs' stdout and stderr ports to
ours byte for byte; our stdin to their stdin port, at the pace the guest
reads it, with end of file passed on.
exit_status() decides what the launcher reports: the status line, trusted
only when QEMU's own exit code agrees (the kernel writes the same status to
isa-debug-exit right after printing it), so a program that prints a status
line and then resets the machine or writes the port itself cannot fake
its exit status.

This is the one place the console is relayed; every backend that shows a
console uses it.
"""

import os
import select
import signal
import socket

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
        self.cr = False  # the last chunk ended in CR: is LF next?

    def convert(self, data):
        if self.cr:
            data = b"\r" + data
        self.cr = data.endswith(b"\r")
        if self.cr:
            data = data[:-1]
        return data.replace(b"\r\n", b"\n")

    def finish(self):
        return b"\r" if self.cr else b""


def _write_all(fd, data):
    """Write DATA to our descriptor FD (1 or 2).  BrokenPipeError passes
    (the reader went away); another failure is one sentence."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        raise
    except OSError as e:
        from rumprun.output import OutputError

        raise OutputError(
            f"cannot write to standard {'output' if fd == 1 else 'error'}: {e.strerror}"
        ) from None


class _StdinFeed:
    """Our stdin to the guest's rumprun.stdin port: read only when the port
    has taken what was read before (the guest sets the pace), end of file
    passed on as the socket's shutdown."""

    def __init__(self, host_fd, port):
        self.host_fd, self.port = host_fd, port
        self.pending = b""
        self.host_open = True
        self.shut = False
        port.setblocking(False)

    def events(self):
        """(fd, poll mask) pairs this feed waits for."""
        if self.shut:
            return []
        if self.pending:
            return [(self.port.fileno(), select.POLLOUT)]
        return [(self.host_fd, select.POLLIN)] if self.host_open else []

    def host_readable(self):
        try:
            data = os.read(self.host_fd, CHUNK)
        except OSError:
            data = b""  # a closed or unreadable stdin: end of file
        if data:
            self.pending = data
            self.port_writable()
        else:
            self.host_open = False
            self._end()

    def port_writable(self):
        try:
            self.pending = self.pending[self.port.send(self.pending) :]
        except BlockingIOError:
            return
        except OSError:  # QEMU closed the port: it reads no more
            self.pending = b""
            self.host_open = False
        if not self.pending and not self.host_open:
            self._end()

    def _end(self):
        """End of file for the guest, once everything read has gone: a
        shutdown, not a close (QEMU drops what it has not read yet when the
        socket hangs up); relay() closes the socket when QEMU is done."""
        if self.port is not None and not self.pending and not self.shut:
            self.shut = True
            try:
                self.port.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def relay(serial_fd, outputs=(), stdin=None, err_fd=2):
    """Relay a guest's console until QEMU closes it; the status of the last
    status line seen on SERIAL_FD, or None.

    SERIAL_FD is COM1: what the kernel itself says (notices, crash reports,
    the status line; also a program's output when it has no virtio-console
    port), copied to ERR_FD with serial line endings made the host's.
    OUTPUTS are (guest port socket, host fd) pairs: the programs' stdout and
    stderr, copied byte for byte.  STDIN is (host fd, guest port socket), or
    None.  Everything a stream carries is relayed to its end of file, so
    nothing the guest wrote before it stopped is lost.

    BrokenPipeError from a host fd reaches the caller (the reader went away).
    """
    scanner, endings = StatusScanner(), LineEndings()
    open_outputs = {sock.fileno(): (sock, host_fd) for sock, host_fd in outputs}
    feed = _StdinFeed(*stdin) if stdin is not None else None
    serial_open = True
    while serial_open or open_outputs:
        poller = select.poll()
        if serial_open:
            poller.register(serial_fd, select.POLLIN)
        for fd in open_outputs:
            poller.register(fd, select.POLLIN)
        for fd, mask in feed.events() if feed else ():
            poller.register(fd, mask)
        # The streams before COM1: the kernel's write to a port returns
        # once QEMU has it, so what a program wrote before the kernel's
        # last words is already waiting there; relaying it first keeps
        # the order it was written in (the status line last).
        for fd, _ in sorted(poller.poll(), key=lambda event: event[0] == serial_fd):
            if fd == serial_fd and serial_open:
                data = os.read(serial_fd, CHUNK)
                if not data:
                    serial_open = False
                    _write_all(err_fd, endings.finish())
                    continue
                _write_all(err_fd, endings.convert(data))
                scanner.feed(data)
            elif fd in open_outputs:
                sock, host_fd = open_outputs[fd]
                try:
                    data = sock.recv(CHUNK)
                except ConnectionError:
                    data = b""
                if data:
                    _write_all(host_fd, data)
                else:
                    del open_outputs[fd]
                    sock.close()
            elif feed is not None and fd == feed.host_fd:
                feed.host_readable()
            elif feed is not None:
                feed.port_writable()
    if feed is not None:
        feed.port.close()
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
            f"{describe_exit(qemu_code)}{tail}"
        )
    if qemu_code != abi.debug_exit_code(line_status):
        if qemu_code == 0:
            how = "then reset or powered off without the kernel's exit"
        elif qemu_code > 0 and qemu_code % 2:
            how = f"then wrote {(qemu_code - 1) // 2} to the exit port, not the kernel's status"
        else:
            how = f"then QEMU {describe_exit(qemu_code)}"
        raise GuestFailed(
            f"the guest printed the status line for {line_status} but {how}: "
            f"its exit status is not trustworthy (QEMU {describe_exit(qemu_code)}"
            f"{tail}"
        )
    return line_status
