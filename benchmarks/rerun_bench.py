#!/usr/bin/env python3
"""The cost of a fresh --rc run.  One image with benchmarks/apps/noop.c,
booted once with `--rc 'noop ARG'` repeated RUNS times; each run prints
when it started by the guest's monotonic clock, so the median distance
between consecutive starts is what one more run costs: restoring the
program's data, a new stack, descriptors and memory, musl's start-up and
exit, releasing what the run took.  Host noise (QEMU, the launcher) does
not enter the figure.

    .venv/bin/python benchmarks/rerun_bench.py [--runs 101]

Two programs: `noop` (starts and exits) and `noop 8` (also touches 8 MiB
of heap and runs a thread, which the next run must find released).
Progress on stderr, a Markdown table on stdout.
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def starts(image, runs, arg):
    argv = [str(VENV_BIN / "rumprun"), "qemu", "-i", "-M", "64"]
    for _ in range(runs):
        argv += ["--rc", f"noop {arg}".strip()]
    result = subprocess.run(argv + [str(image)], capture_output=True, text=True, timeout=600)
    found = [int(t) for t in re.findall(r"^START (\d+)$", result.stdout, re.M)]
    if result.returncode != 0 or len(found) != runs:
        sys.exit(
            f"rerun_bench: the guest failed (status {result.returncode}, "
            f"{len(found)} of {runs} runs): {result.stdout[-300:]}"
            f"{result.stderr[-300:]}"
        )
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=101)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rerun-bench.") as tmp:
        tmp = Path(tmp)
        print("building noop", file=sys.stderr)
        subprocess.run(
            [
                VENV_BIN / "rumprun-cc",
                "-O2",
                "-pthread",
                "-o",
                tmp / "noop",
                ROOT / "benchmarks" / "apps" / "noop.c",
            ],
            check=True,
        )
        subprocess.run(
            [VENV_BIN / "rumprun-bake", "hw_generic", tmp / "noop.bin", tmp / "noop"], check=True
        )
        for arg, what in (
            ("", "`noop`: start and exit"),
            ("8", "`noop 8`: also 8 MiB of heap touched and a thread"),
        ):
            print(f"booting {args.runs} runs of noop {arg}", file=sys.stderr)
            t = starts(tmp / "noop.bin", args.runs, arg)
            gaps = [b - a for a, b in zip(t, t[1:])]
            rows.append((what, statistics.median(gaps), min(gaps), max(gaps)))
    print(
        f"| one more run in an --rc sequence ({args.runs} runs, guest clock) | median | min | max |"
    )
    print("|---|---|---|---|")
    for what, med, lo, hi in rows:
        print(f"| {what} | {med / 1e6:.2f} ms | {lo / 1e6:.2f} ms | {hi / 1e6:.2f} ms |")


if __name__ == "__main__":
    main()
