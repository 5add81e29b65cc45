"""Writing the tools' own output (not a guest's console) to stdout.

A closed stdout, a full disk or a reader that went away is one sentence and
status 2, never a traceback; the caller can clean up first (a detached
start stops the guest it could not report).
"""

import sys

from rumprun.errors import RumprunError


def write_stdout(data):
    """Write DATA (str or bytes) to stdout and flush it."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    stream = sys.stdout
    try:
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()
    except OSError as e:
        raise OutputError(f"cannot write to standard output: {e.strerror or e}") from None


class OutputError(RumprunError):
    """Our stdout cannot be written: status 2."""
