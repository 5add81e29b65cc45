"""What the launcher needs to know about a baked image, remembered per file.

Checking an image with pyelftools (elfcheck.check_baked_image) costs more
than QEMU's whole boot of a small guest, importing pyelftools alone; and an
image does not change between launches.  So the facts a launch needs are
kept in $XDG_CACHE_HOME/rumprun/images/, one small JSON file per image path,
keyed by the file's identity: device, inode, size, modification and change
time.  Any write to the file, a file renamed over it, even a chmod, gives a
new change time, so a changed image is always checked again.  The bake
records what it has just checked, so the first launch is fast too.
"""

import json
import os
from pathlib import Path

VERSION = 1


def _entry_path(path):
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    key = str(path).replace("%", "%25").replace("/", "%2F")
    if len(key) > 200:  # a file name has room for 255 bytes
        import hashlib

        key = hashlib.sha256(os.fsencode(path)).hexdigest()
    return Path(base) / "rumprun" / "images" / f"{key}.json"


def _identity(st):
    return [VERSION, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _facts(info):
    """The launch-relevant facts of an elfcheck.BakedImage."""
    from rumprun.toolchain import elfcheck

    return {
        "config": info.config,
        "min_memory_mib": info.min_memory_mib,
        "qemu_loadable": bool(
            info.multiboot is not None
            and (info.multiboot.flags & elfcheck.MULTIBOOT_AOUT_KLUDGE or not info.elf64)
        ),
    }


def image_facts(path):
    """{config, min_memory_mib, qemu_loadable} of the baked image at PATH,
    checked with pyelftools unless this very file was checked before."""
    path = Path(path).absolute()
    try:
        st = os.stat(path)
        entry = json.loads(_entry_path(path).read_bytes())
        if entry["identity"] == _identity(st):
            return entry["facts"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from rumprun.toolchain import elfcheck

    facts = _facts(elfcheck.check_baked_image(path))
    remember(path, facts)
    return facts


def remember(path, facts_or_info):
    """Record FACTS (or an elfcheck.BakedImage) for the file now at PATH."""
    facts = facts_or_info if isinstance(facts_or_info, dict) else _facts(facts_or_info)
    path = Path(path).absolute()
    entry = _entry_path(path)
    try:
        record = {"identity": _identity(os.stat(path)), "path": str(path), "facts": facts}
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, entry)
    except OSError:
        pass  # no cache: the next launch checks the image again
