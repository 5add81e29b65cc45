#!/usr/bin/env python3
"""Ending a guest with unsynced writes: Ctrl-C of `rumprun qemu -i` (the
kernel syncs and unmounts, then powers off) against stopping its QEMU
with SIGTERM (what the launcher did before: nothing synced), in the same
run.

    .venv/bin/python benchmarks/shutdown_bench.py [--runs N]

Builds tests/apps/storage/storage.c into build/bench-shutdown and bakes it
with hw_generic.  Each run makes a fresh ext2 volume (`rumprun mkfs ext2`),
boots `storage lazy /data` on it (1 MiB written without fsync, then a
sleep), and once the guest says "written", alternating:

  sigint    SIGINT to `rumprun qemu -i -b vol.img,/data ...`: time from the
            signal to the launcher's exit (status 130 checked)
  sigterm   the QEMU command `rumprun -D` prints for the same launch, run
            directly, then SIGTERM to QEMU: time from the signal to its exit

then `e2fsck -fn` on the volume (clean: status 0).  Prints a Markdown table
on stdout (progress on stderr): medians, the ratio to sigterm's, and how
many volumes e2fsck found clean.
"""

import argparse
import os
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORK = ROOT / "build" / "bench-shutdown"


def progress(text):
    print(text, file=sys.stderr, flush=True)


def run(args, **kwargs):
    return subprocess.run(
        [str(a) for a in args], check=True, capture_output=True, text=True, **kwargs
    ).stdout


def build():
    WORK.mkdir(parents=True, exist_ok=True)
    run([BIN / "python", "-m", "compileall", "-q", ROOT / "rumprun"])
    app, image = WORK / "storage", WORK / "storage.bin"
    run([BIN / "rumprun-cc", "-O2", "-o", app, ROOT / "tests/apps/storage/storage.c"])
    run([BIN / "rumprun-bake", "hw_generic", image, app])
    (WORK / "empty").mkdir(exist_ok=True)
    return image


def fresh_volume():
    volume = WORK / "vol.img"
    volume.unlink(missing_ok=True)
    run([BIN / "rumprun", "mkfs", "ext2", WORK / "empty", volume])
    return volume


def launch_args(image, volume):
    return ["qemu", "-i", "-b", f"{volume},/data", str(image), "--", "lazy", "/data"]


def direct_command(image, volume):
    """The QEMU command of the launcher's plan, its config in a file."""
    lines = run([BIN / "rumprun", "-D", *launch_args(image, volume)]).splitlines()
    command, _, _ = lines[0].partition(" 3<<")
    config = WORK / "config.json"
    config.write_text(lines[1])
    return [a.replace("file=/dev/fd/3", f"file={config}") for a in shlex.split(command)]


def until_written(proc):
    out = b""
    deadline = time.monotonic() + 120
    while b"written\n" not in out and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    if b"written\n" not in out:
        proc.kill()
        sys.exit(f"the guest never said it had written its file: {out[-300:]!r}")


def timed_end(argv, signum, status):
    """Start ARGV, wait for "written", send SIGNUM; seconds to its exit."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    until_written(proc)
    start = time.perf_counter()
    proc.send_signal(signum)
    code = proc.wait(timeout=60)
    seconds = time.perf_counter() - start
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    if status is not None and code != status:
        sys.exit(f"{argv[0]} ended with {code}, not {status}: {err[-300:]!r}")
    return seconds


def fsck_clean(volume):
    return subprocess.run(["e2fsck", "-fn", str(volume)], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    runs = parser.parse_args().runs
    image = build()
    samples = {"sigint": [], "sigterm": []}
    clean = {"sigint": 0, "sigterm": 0}
    progress(f"shutdown: {runs} alternating runs of sigint, sigterm")
    for i in range(runs + 1):
        volume = fresh_volume()
        sigint = timed_end([str(BIN / "rumprun"), *launch_args(image, volume)], signal.SIGINT, 130)
        sigint_clean = fsck_clean(volume)
        volume = fresh_volume()
        sigterm = timed_end(direct_command(image, volume), signal.SIGTERM, None)
        sigterm_clean = fsck_clean(volume)
        if i:  # the first round warms up
            samples["sigint"].append(sigint)
            samples["sigterm"].append(sigterm)
            clean["sigint"] += sigint_clean
            clean["sigterm"] += sigterm_clean
            progress(f"  run {i}: sigint {sigint * 1000:.0f} ms, sigterm {sigterm * 1000:.0f} ms")
    median = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    print("| how the guest ends | signal to exit, median (ms) | vs SIGTERM | e2fsck -fn clean |")
    print("| --- | ---: | ---: | ---: |")
    for kind, label in (
        ("sigint", "Ctrl-C of `rumprun qemu -i` (sync, unmount, power off)"),
        ("sigterm", "SIGTERM to QEMU (no sync: the old Ctrl-C)"),
    ):
        print(
            f"| {label} | {median[kind]:.0f} | {median[kind] / median['sigterm']:.2f}x "
            f"| {clean[kind]}/{runs} |"
        )


if __name__ == "__main__":
    main()
