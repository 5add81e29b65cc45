#!/usr/bin/env python3
"""Launcher overhead: `rumprun qemu -i IMAGE` against QEMU run directly on
the same image, in the same run.

    .venv/bin/python benchmarks/launcher_bench.py [--runs N]

Builds tests/hello without its one-second sleep (-DNO_SLEEP) into
build/bench-launcher, bakes it with hw_generic, and times, alternating,
N runs (after one unrecorded warm-up round) of:

  qemu      the QEMU command `rumprun -D qemu -i IMAGE -- 0` prints, run
            directly (its configuration, a here-document in the printed
            script, written to a file instead): the floor the launcher adds to
  rumprun   `rumprun qemu -i IMAGE -- 0`, from spawn to exit
  python    `python -c pass` with the same interpreter: what any Python
            launcher pays before its first line

Every run is checked (the guest says goodbye, status 0).  Prints a Markdown
table on stdout (progress on stderr): medians of wall time, and of CPU time
(user + system of the process and the children it waited for: QEMU's
included in rumprun's), each with its ratio to QEMU's.  Wall time is the
target; CPU time is the same comparison made robust against other load on
the machine.
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORK = ROOT / "build" / "bench-launcher"


def progress(text):
    print(text, file=sys.stderr, flush=True)


def run(args, **kwargs):
    return subprocess.run(
        [str(a) for a in args], check=True, capture_output=True, text=True, **kwargs
    ).stdout


def build():
    WORK.mkdir(parents=True, exist_ok=True)
    # Byte-compile the package first, as pip does on install and Python on
    # a checkout's first run: where PYTHONDONTWRITEBYTECODE is set (CI, these
    # machines) every launch would otherwise compile the launcher anew.
    run([BIN / "python", "-m", "compileall", "-q", ROOT / "rumprun"])
    app, image = WORK / "hello", WORK / "hello.bin"
    run([BIN / "rumprun-cc", "-O2", "-DNO_SLEEP", "-o", app, ROOT / "tests/hello/hello.c"])
    run([BIN / "rumprun-bake", "hw_generic", image, app])
    return image


def direct_command(image):
    """The QEMU command of the launcher's plan, its config in a file."""
    lines = run([BIN / "rumprun", "-D", "qemu", "-i", image, "--", "0"]).splitlines()
    command, _, _ = lines[0].partition(" 3<<")
    config = WORK / "config.json"
    config.write_text(lines[1])
    return [a.replace("file=/dev/fd/3", f"file={config}") for a in shlex.split(command)]


def timed(argv):
    """(wall seconds, CPU seconds of it and what it waited for, result)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    return wall, usage.ru_utime + usage.ru_stime, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    image = build()
    kinds = {
        "qemu": (direct_command(image), lambda r: r.returncode == 1),
        "rumprun": (
            [str(BIN / "rumprun"), "qemu", "-i", str(image), "--", "0"],
            lambda r: r.returncode == 0,
        ),
        "python": ([str(BIN / "python"), "-c", "pass"], lambda r: r.returncode == 0),
    }
    samples = {k: [] for k in kinds}
    cpu = {k: [] for k in kinds}
    progress(f"launcher: {runs} alternating runs of " + ", ".join(kinds))
    for i in range(runs + 1):
        for kind, (argv, ok) in kinds.items():
            seconds, cpu_seconds, result = timed(argv)
            if not ok(result) or (kind != "python" and b"Goodbye" not in result.stdout):
                sys.exit(
                    f"{kind} run failed ({result.returncode}): "
                    f"{result.stdout[-300:]!r} {result.stderr[-300:]!r}"
                )
            if i:
                samples[kind].append(seconds)
                cpu[kind].append(cpu_seconds)
        if i:
            progress(
                f"  run {i}: " + ", ".join(f"{k} {samples[k][-1] * 1000:.0f} ms" for k in kinds)
            )
    wall = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    used = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
    print("| what | wall, median (ms) | vs QEMU | CPU, median (ms) | vs QEMU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, label in (
        ("qemu", "QEMU run directly (the plan's command)"),
        ("rumprun", "`rumprun qemu -i`"),
        ("python", "`python -c pass` (interpreter start)"),
    ):
        print(
            f"| {label} | {wall[kind]:.0f} | {wall[kind] / wall['qemu']:.2f}x "
            f"| {used[kind]:.0f} | {used[kind] / used['qemu']:.2f}x |"
        )


if __name__ == "__main__":
    main()
