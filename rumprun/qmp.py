"""Talking to a running QEMU over QMP, through qemu.qmp's own client.

Each call opens a connection, negotiates, runs its commands and closes, in
an event loop of its own (asyncio.run): the launcher never keeps a
connection open between calls, so no thread or loop outlives one call.
qemu.qmp (and asyncio) are imported on first use: an interactive run that
never needs QMP does not pay for them.
"""

import time

DEFAULT_TIMEOUT = 5.0


class MonitorUnavailable(Exception):
    """No answer on the QMP socket (QEMU gone, not started, or wedged)."""


class CommandFailed(Exception):
    """QEMU answered a command with an error (its text is the message)."""


def execute(socket_path, command, arguments=None, timeout=DEFAULT_TIMEOUT):
    """Run one QMP COMMAND; its return value.  Raises MonitorUnavailable
    or CommandFailed."""
    return _session(socket_path, [(command, arguments)], timeout)[0]


def wait_ready(socket_path, alive=lambda: True, timeout=DEFAULT_TIMEOUT):
    """Wait until QEMU answers on SOCKET_PATH; False if it never does (or
    ALIVE() turns false first: QEMU exited)."""
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        try:
            _session(socket_path, [], timeout)
            return True
        except MonitorUnavailable:
            time.sleep(0.01)
    return False


def quit(socket_path, timeout=2.0):
    """Ask QEMU to quit; True if the request was delivered."""
    try:
        execute(socket_path, "quit", timeout=timeout)
    except MonitorUnavailable as e:
        # QEMU may close the socket before it answers a quit.
        return e.args[0] == "disconnected"
    return True


def _session(socket_path, commands, timeout):
    import asyncio

    from qemu.qmp import ExecuteError, QMPClient, QMPError

    async def session():
        client = QMPClient("rumprun")
        await asyncio.wait_for(client.connect(str(socket_path)), timeout)
        try:
            results = []
            for command, arguments in commands:
                try:
                    results.append(
                        await asyncio.wait_for(client.execute(command, arguments), timeout)
                    )
                except ExecuteError as e:
                    raise CommandFailed(str(e)) from None
                except (QMPError, EOFError, ConnectionError):
                    raise MonitorUnavailable("disconnected") from None
            return results
        finally:
            await client.disconnect()

    try:
        return asyncio.run(session())
    except (MonitorUnavailable, CommandFailed):
        raise
    except (QMPError, OSError, EOFError, asyncio.TimeoutError) as e:
        raise MonitorUnavailable(f"{type(e).__name__}: {e}") from None
