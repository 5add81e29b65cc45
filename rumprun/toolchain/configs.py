"""Bake configurations: app-tools/configs/NAME.json (app-tools/README.md).

A configuration names the component libraries an image links, the platform
they run on (which decides the launchers that boot it) and the linker
script.  load_config() checks every field's type, so a broken file is one
sentence naming it, for the bake, for `rumprun-bake list` and for the
launcher alike.
"""

import json
import re
from pathlib import Path

from rumprun import host
from rumprun.errors import RumprunError
from rumprun.records import record

# Field -> (type, what it must be, for the sentence).
FIELDS = {
    "name": (str, "a string"),
    "description": (str, "a string"),
    "platform": (str, "a string"),
    "libraries": (list, "a list of library names"),
    "ldscript": (str, "a path relative to the source tree"),
}


@record
class BakeConfig:
    name: str
    description: str
    platform: str
    libraries: tuple
    ldscript: Path
    # Its kernel can load prebuilt static Linux executables (kernel/exec).
    executables: bool = False

    @property
    def library_paths(self):
        return [host.lib_path(lib) for lib in self.libraries]


def config_names():
    return sorted(p.stem for p in host.CONFIG_DIR.glob("*.json"))


def _broken(path, why):
    return RumprunError(
        f"configuration {path} is broken: {why} (see {host.APP_TOOLS / 'README.md'})"
    )


def load_config(name):
    """The bake configuration NAME, or one sentence naming the known ones."""
    path = host.CONFIG_DIR / f"{name}.json"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not path.is_file():
        raise RumprunError(
            f"unknown configuration {name!r}: the known ones are "
            f"{', '.join(config_names()) or 'none'} (rumprun-bake list)"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise _broken(path, f"{type(e).__name__}: {e}") from None
    if not isinstance(data, dict):
        raise _broken(path, "it must hold one JSON object")
    for field, (kind, what) in FIELDS.items():
        if field not in data:
            raise _broken(path, f"the field {field!r} is missing")
        if not isinstance(data[field], kind):
            raise _broken(path, f"the field {field!r} must be {what}")
    if not all(
        isinstance(lib, str) and re.fullmatch(r"[A-Za-z0-9_-]+", lib) for lib in data["libraries"]
    ):
        raise _broken(path, "the field 'libraries' must be a list of library names")
    if not isinstance(data.get("executables", False), bool):
        raise _broken(path, "the field 'executables' must be true or false")
    if data["name"] != name:
        raise _broken(path, f"it names itself {data['name']!r}, not {name!r} as its file name says")
    return BakeConfig(
        name=name,
        description=data["description"],
        platform=data["platform"],
        libraries=tuple(data["libraries"]),
        ldscript=host.ROOT / data["ldscript"],
        executables=data.get("executables", False),
    )
