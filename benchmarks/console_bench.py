#!/usr/bin/env python3
"""Console throughput: a program's stdout and stdin through `rumprun qemu -i`.

    .venv/bin/python benchmarks/console_bench.py [--runs 5] [--mib 16]

Builds benchmarks/apps/flood.c (writes MIB MiB to stdout in 64 KiB writes)
and benchmarks/apps/sink.c (reads stdin to its end) with rumprun-cc and
hw_generic, and natively with gcc -O2, then times, alternating, RUNS rounds
of:

  stdout   `rumprun qemu -i flood.bin MIB`, its stdout a pipe this script
           drains and counts (every byte checked to arrive), against
           `flood.bin 0` (the same boot writing nothing): MB/s is
           MIB MiB / (median with - median without)
  stdin    `rumprun qemu -i sink.bin` fed MIB MiB on a pipe, against sink.bin
           fed nothing, the same way
  COM1     flood.bin 1 with QEMU run directly on the launcher's plan minus
           its virtio-console (the programs' output falls back to the
           kernel's serial port, the path every stream took before), against
           flood.bin 0 the same way: the reference the virtio-console replaced
  native   ./flood MIB and ./sink on Linux through the same pipes

Each row also gives the program's own figure (its clock, from its first
write to its last, or its first read to end of file).  MB/s are 10^6 bytes
per second.  Progress on stderr, a Markdown table on stdout.
"""

import argparse
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORK = ROOT / "build" / "bench-console"
APPS = ROOT / "benchmarks" / "apps"


def progress(text):
    print(text, file=sys.stderr, flush=True)


def build():
    WORK.mkdir(parents=True, exist_ok=True)
    for name in ("flood", "sink"):
        subprocess.run(
            [BIN / "rumprun-cc", "-O2", "-o", WORK / name, APPS / f"{name}.c"], check=True
        )
        subprocess.run(
            [BIN / "rumprun-bake", "hw_generic", WORK / f"{name}.bin", WORK / name], check=True
        )
        subprocess.run(
            ["gcc", "-O2", "-o", WORK / f"{name}-native", APPS / f"{name}.c"], check=True
        )


def serial_only_command(image, args):
    """QEMU run directly on the launcher's plan for IMAGE ARGS without its
    virtio-console: the programs write to COM1, on QEMU's stdout."""
    lines = subprocess.run(
        [BIN / "rumprun", "-D", "qemu", "-i", image, "--", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    command, _, _ = lines[0].partition(" 3<<")
    config = WORK / f"config-{image.stem}-{'-'.join(args)}.json"
    config.write_text(lines[1])
    argv, kept, i = shlex.split(command), [], 0
    while i < len(argv):
        if argv[i] == "-device" and argv[i + 1].startswith(("virtio-serial", "virtserialport")):
            i += 2
        elif argv[i] == "-chardev" and not argv[i + 1].split(",")[1] == "id=con":
            i += 2
        elif argv[i] == "-chardev":
            kept += ["-chardev", "stdio,id=con,signal=off"]
            i += 2
        else:
            kept.append(argv[i].replace("file=/dev/fd/3", f"file={config}"))
            i += 1
    return kept


def timed(argv, feed=0, keep=False):
    """Run ARGV with FEED bytes on its stdin and its stdout drained:
    (seconds, bytes that came out, stderr text (and stdout's, if KEEP),
    exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(a) for a in argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def write():
        chunk = b"x" * 65536
        left = feed
        try:
            while left:
                left -= proc.stdin.write(chunk[: min(left, len(chunk))])
        except BrokenPipeError:
            pass
        proc.stdin.close()

    errors = []
    threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True).start()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    count, kept = 0, []
    while chunk := proc.stdout.read1(1 << 16):
        count += len(chunk)
        if keep:
            kept.append(chunk)
    status = proc.wait()
    seconds = time.perf_counter() - start
    writer.join()
    while not errors:
        time.sleep(0.001)
    said = errors[0] + b"".join(kept)
    return seconds, count, said.decode(errors="replace"), status


def guest_figure(kind, text):
    m = re.search(rf"{kind} (\d+) bytes ([\d.]+) s", text)
    return (int(m.group(1)), float(m.group(2))) if m else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=int, default=16)
    opts = parser.parse_args()
    size = opts.mib << 20
    progress("console: building flood and sink")
    build()
    rumprun = [BIN / "rumprun", "qemu", "-i"]
    flood, sink = WORK / "flood.bin", WORK / "sink.bin"
    # name -> (argv, bytes fed, bytes expected out (None: COM1 carries
    # everything), what the program reports: (line, bytes))
    cases = {
        "stdout": (rumprun + [flood, "--", str(opts.mib)], 0, size, ("FLOOD", size)),
        "stdout-empty": (rumprun + [flood, "--", "0"], 0, 0, None),
        "stdin": (rumprun + [sink], size, 0, ("SINK", size)),
        "stdin-empty": (rumprun + [sink], 0, 0, None),
        "com1": (serial_only_command(flood, ["1"]), 0, None, ("FLOOD", 1 << 20)),
        "com1-empty": (serial_only_command(flood, ["0"]), 0, None, None),
        "native-stdout": ([WORK / "flood-native", str(opts.mib)], 0, size, ("FLOOD", size)),
        "native-stdin": ([WORK / "sink-native"], size, 0, ("SINK", size)),
    }
    wall = {k: [] for k in cases}
    own = {k: [] for k in cases}
    progress(f"console: {opts.runs} alternating rounds of {', '.join(cases)}")
    for i in range(opts.runs + 1):
        for name, (argv, feed, expected, report) in cases.items():
            seconds, count, said, status = timed(argv, feed, keep=expected is None)
            ok_status = 1 if name.startswith("com1") else 0  # QEMU's (0 << 1) | 1
            if status != ok_status or (expected is not None and count != expected):
                sys.exit(
                    f"console: {name} failed (status {status}, {count} bytes out): {said[-400:]}"
                )
            figure = guest_figure(report[0], said) if report else None
            if report and (figure is None or figure[0] != report[1]):
                sys.exit(
                    f"console: {name}: the program did not report {report[1]} bytes: {said[-400:]}"
                )
            if i:
                wall[name].append(seconds)
                if figure:
                    own[name].append(figure[0] / figure[1] / 1e6)
        if i:
            progress(
                f"  round {i}: " + ", ".join(f"{k} {wall[k][-1] * 1000:.0f} ms" for k in cases)
            )
    med = {k: statistics.median(v) for k, v in wall.items()}

    def rate(name, base, nbytes):
        return nbytes / (med[name] - med[base]) / 1e6

    rows = [
        (
            f"stdout, {opts.mib} MiB in 64 KiB writes, `rumprun qemu -i` into a pipe",
            rate("stdout", "stdout-empty", size),
            statistics.median(own["stdout"]),
            med["stdout"],
            med["stdout-empty"],
        ),
        (
            f"stdin, {opts.mib} MiB from a pipe through `rumprun qemu -i`",
            rate("stdin", "stdin-empty", size),
            statistics.median(own["stdin"]),
            med["stdin"],
            med["stdin-empty"],
        ),
        (
            "stdout over COM1 (no virtio-console: the old path), 1 MiB, QEMU direct",
            rate("com1", "com1-empty", 1 << 20),
            statistics.median(own["com1"]),
            med["com1"],
            med["com1-empty"],
        ),
    ]
    print(
        "| stream | MB/s (wall, boot taken off) | MB/s (program's clock) "
        "| wall with data | wall without |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, by_wall, by_clock, with_, without in rows:
        print(
            f"| {label} | {by_wall:.1f} | {by_clock:.1f} | {with_ * 1000:.0f} ms "
            f"| {without * 1000:.0f} ms |"
        )
    for name, label in (
        ("native-stdout", f"stdout, {opts.mib} MiB, Linux into a pipe"),
        ("native-stdin", f"stdin, {opts.mib} MiB, Linux from a pipe"),
    ):
        print(
            f"| {label} | {size / med[name] / 1e6:.1f} | "
            f"{statistics.median(own[name]):.1f} | {med[name] * 1000:.0f} ms | |"
        )


if __name__ == "__main__":
    main()
