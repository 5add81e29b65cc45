"""The rumprun ELF note: one definition for the Python side.

The C side's definition is app-tools/rumprun-note.h (a test checks that the
two agree); app-tools/rumprun-note.S assembles one note into an object that
rumprun-cc (type APP) and rumprun-bake (type BAKED) link in.
"""

import struct
from pathlib import Path

from rumprun import host

SECTION = ".note.rumprun"
NAME = "rumprun"
APP = 1  # unbaked app; desc = ARCH, NUL-padded to 8 bytes
BAKED = 2  # baked image; desc = the bake config's name, NUL-padded to 4n
ARCH = "x86_64"

SOURCE = host.APP_TOOLS / "rumprun-note.S"


def assemble(note_type, desc, out_path):
    """Assemble a note object of NOTE_TYPE carrying DESC into OUT_PATH."""
    if not desc.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"note text {desc!r} must be a plain name")
    host.run_tool(
        [
            "gcc",
            "-c",
            f"-I{host.APP_TOOLS}",
            f"-DNOTE_TYPE={note_type}",
            f'-DNOTE_DESC="{desc}"',
            SOURCE,
            "-o",
            out_path,
        ],
        f"assembling the rumprun note from {SOURCE} failed (check the source tree)",
    )
    return Path(out_path)


def parse(data, little_endian=True):
    """Yield (type, desc text) for every rumprun note in a note section."""
    fmt = "<III" if little_endian else ">III"
    offset = 0
    while offset + 12 <= len(data):
        namesz, descsz, note_type = struct.unpack_from(fmt, data, offset)
        offset += 12
        name = data[offset : offset + namesz].rstrip(b"\0")
        offset += (namesz + 3) & ~3
        desc = data[offset : offset + descsz]
        offset += (descsz + 3) & ~3
        if name == NAME.encode():
            yield note_type, desc.split(b"\0", 1)[0].decode(errors="replace")
