#!/usr/bin/env python3
"""The system call table: docs/syscalls.md, made from the kernel's
SYSCALL_REGISTER lines (kernel/include/kernel/syscall.h says their form).

    python3 scripts/syscalls.py            # rewrite docs/syscalls.md (make syscalls)
    python3 scripts/syscalls.py --check    # exit 1 if it is not current

A registration without a level (FULL, PARTIAL, STUB), or a PARTIAL or
STUB one without a note, is an error: the table is only as good as they are.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "syscalls.md"
SOURCES = ("kernel", "platform")
LEVELS = ("FULL", "PARTIAL", "STUB")

# SYSCALL_REGISTER(SYS_name, handler[, LEVEL, "note"]); over several lines,
# the note perhaps in adjacent literals ("a" "b", as clang-format splits them)
REGISTRATION = re.compile(
    r"^SYSCALL_REGISTER\(\s*SYS_(\w+)\s*,\s*(\w+)\s*"
    r'(?:,\s*(\w+)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+))?\)\s*;',
    re.M,
)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
ANY_REGISTRATION = re.compile(r"^SYSCALL_REGISTER\(", re.M)

# x86_64 system call numbers, from the libc headers the kernel is built with.
UNISTD = Path("/usr/include/x86_64-linux-musl/bits/syscall.h")


unread = []  # files with a registration the pattern could not read


def registrations():
    """[(name, handler, level, note, path, line)] in source order."""
    found = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.c")):
            text = path.read_text(errors="replace")
            matches = list(REGISTRATION.finditer(text))
            for m in matches:
                line = text.count("\n", 0, m.start()) + 1
                note = "".join(LITERAL.findall(m.group(4) or ""))
                found.append(
                    (
                        m.group(1),
                        m.group(2),
                        m.group(3),
                        note,
                        path.relative_to(ROOT).as_posix(),
                        line,
                    )
                )
            if len(matches) != len(ANY_REGISTRATION.findall(text)):
                unread.append(path.relative_to(ROOT).as_posix())
    return found


def numbers():
    """{name: number} from musl's header (empty when it is not installed)."""
    table = {}
    if UNISTD.exists():
        for m in re.finditer(r"#define __NR_(\w+)\s+(\d+)", UNISTD.read_text()):
            table[m.group(1)] = int(m.group(2))
    return table


def problems(regs):
    out = [f"{path}: a SYSCALL_REGISTER line this script cannot read" for path in unread]
    seen = {}
    for name, _, level, note, path, line in regs:
        where = f"{path}:{line}"
        if level not in LEVELS:
            out.append(f"{where}: SYS_{name} needs a level ({', '.join(LEVELS)}) and a note")
        elif level != "FULL" and not note:
            out.append(f"{where}: SYS_{name} is {level}: its note must say what is missing")
        if name in seen:
            out.append(f"{where}: SYS_{name} is also registered at {seen[name]}")
        seen[name] = where
    return out


def render(regs):
    nrs = numbers()
    counts = {lvl: sum(1 for r in regs if r[2] == lvl) for lvl in LEVELS}
    lines = [
        "# System calls",
        "",
        "What the kernel serves of Linux's x86_64 system call interface, made",
        "by `make syscalls` (scripts/syscalls.py) from the `SYSCALL_REGISTER`",
        "lines next to each handler; tests/test_syscall_table.py checks that",
        "it is current.  A call that is not listed fails with ENOSYS, and the",
        "first time the console says",
        "`rumprun: unsupported system call NAME (NR), returning ENOSYS`.",
        "",
        "Levels: **full** as Linux gives it to one process run by root (the",
        "note says what is fixed by that); **partial** the note says what is",
        "missing; **stub** accepted, next to nothing done.",
        "",
        f"{len(regs)} calls: {counts['FULL']} full, {counts['PARTIAL']} partial, "
        f"{counts['STUB']} stub.",
        "",
        "| nr | call | level | note | handler |",
        "|---:|---|---|---|---|",
    ]
    for name, handler, level, note, path, line in sorted(
        regs, key=lambda r: (nrs.get(r[0], 1 << 20), r[0])
    ):
        nr = nrs.get(name, "")
        note = note.replace("|", "\\|")
        lines.append(
            f"| {nr} | {name} | {(level or '?').lower()} | {note} | "
            f"`{handler}` in [{path}](../{path}) |"
        )
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="exit 1 when docs/syscalls.md is not current"
    )
    args = ap.parse_args()
    regs = registrations()
    bad = problems(regs)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    text = render(regs)
    if args.check:
        current = TABLE.read_text() if TABLE.exists() else ""
        if current != text:
            print(f"{TABLE.relative_to(ROOT)} is not current: run `make syscalls`", file=sys.stderr)
            return 1
        return 0
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}: {len(regs)} system calls", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
