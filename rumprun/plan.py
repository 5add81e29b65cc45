"""A backend's plan: what it will do, step by step, and the script -D prints.

plan() of every backend (rumprun.backends) returns a Plan; run() does the
same steps itself.  render() is a shell script with absolute paths that does
the same when pasted: directories to make, files to write and commands to
run, with file contents and the data a command reads from a descriptor as
here-documents.
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple


@dataclass(frozen=True)
class Comment:
    text: str


@dataclass(frozen=True)
class MakeDir:
    path: Path


@dataclass(frozen=True)
class WriteFile:
    """A file the plan writes (a configuration); text, ending in a newline."""

    path: Path
    data: bytes


@dataclass(frozen=True)
class Command:
    argv: Tuple[str, ...]
    # Data the command reads from a file descriptor: (fd, bytes).  The
    # rendered script feeds it with a here-document; run() with a memfd.
    input: Optional[Tuple[int, bytes]] = None


HEREDOC_END = "RUMPRUN_EOF"


@dataclass
class Plan:
    """What a backend will do, step by step, in the order it does it."""

    steps: List[object] = field(default_factory=list)

    def comment(self, text):
        self.steps.append(Comment(text))

    def mkdir(self, path):
        self.steps.append(MakeDir(Path(path)))

    def write_file(self, path, data):
        self.steps.append(WriteFile(Path(path), data))

    def command(self, argv, input=None):
        self.steps.append(Command(tuple(str(a) for a in argv), input))

    @property
    def commands(self):
        return [s for s in self.steps if isinstance(s, Command)]

    def render(self):
        """The plan as a shell script (bytes: arguments may be any bytes)."""
        out = []
        for step in self.steps:
            if isinstance(step, Comment):
                out += [f"# {line}".rstrip() for line in step.text.splitlines()]
            elif isinstance(step, MakeDir):
                out.append(shlex.join(["mkdir", "-p", "-m", "700", str(step.path)]))
            elif isinstance(step, WriteFile):
                text = step.data.decode("utf-8", "surrogateescape")
                if HEREDOC_END in text.splitlines() or not text.endswith("\n"):
                    raise ValueError(
                        "file data must end in a newline and not "
                        "hold the here-document's end marker"
                    )
                out.append(
                    f"cat > {shlex.quote(str(step.path))} <<'{HEREDOC_END}'\n" + text + HEREDOC_END
                )
            else:
                line = shlex.join(step.argv)
                if step.input is not None:
                    fd, data = step.input
                    if b"\n" in data:
                        raise ValueError("here-document data must be one line")
                    line += (
                        f" {fd}<<'{HEREDOC_END}'\n"
                        + data.decode("utf-8", "surrogateescape")
                        + f"\n{HEREDOC_END}"
                    )
                out.append(line)
        return ("\n".join(out) + "\n").encode("utf-8", "surrogateescape")
