#!/usr/bin/env python3
"""Disk benchmark: ext2 over virtio-blk, the unikernel against Linux.

    .venv/bin/python benchmarks/storage_bench.py [--runs 5]

One program (benchmarks/apps/storage.c) measures, each phase in a fresh
boot so its cache starts cold: writing a 48 MiB file in 1 MiB writes
followed by fsync (MB/s), reading it back in 1 MiB reads (MB/s), and 4000
random 4 KiB reads (reads/s).  It runs in the unikernel (rumprun-cc,
hw_generic, `rumprun qemu -i -M 256 -b vol.img,/data`) and in the Linux
microVM (benchmarks/linux_microvm.py: Debian's cloud kernel, the same
program built static with the host's gcc, virtio_blk loaded, the image
mounted as ext2 at /data), on the same QEMU (TCG, 256 MiB, the same
-blockdev/virtio-blk-pci disk) in the same run, rounds alternating.  The
volume is a 128 MiB `rumprun mkfs ext2` image, fresh for every round.
Prints a Markdown table of medians (and ratios) on stdout, progress on
stderr; exits 2 when something cannot be built or a run fails.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import linux_microvm  # noqa: E402

APP = ROOT / "benchmarks" / "apps" / "storage.c"
VENV = ROOT / ".venv" / "bin"
PHASES = [
    ("write", "seq_write_fsync", "MB/s"),
    ("read", "seq_read", "MB/s"),
    ("random", "random_4k_read", "reads/s"),
]
INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for pass in 1 2 3; do
    for m in /lib/modules/*.ko; do /bin/busybox insmod "$m" 2>/dev/null; done
done
/bin/busybox mkdir -p /data
/bin/busybox mount -t ext2 /dev/vda /data || /bin/busybox mount -t ext4 /dev/vda /data
/program "$@"
echo "microvm: /program exited with status $?"
/bin/busybox umount /data
/bin/busybox poweroff -f
"""
RESULT = re.compile(r"^RESULT (\S+) ([0-9.]+) ")


def progress(msg):
    print(f"storage_bench: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    print(f"storage_bench: {msg}", file=sys.stderr)
    sys.exit(2)


def checked(cmd, what, timeout=600, **kw):
    r = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **kw,
    )
    if r.returncode != 0:
        fail(f"{what} failed (status {r.returncode}): {(r.stderr or r.stdout)[-800:]}")
    return r.stdout


def result(output, name, what):
    for line in output.splitlines():
        m = RESULT.match(line.strip())
        if m and m.group(1) == name:
            return float(m.group(2))
    fail(f"{what} printed no RESULT {name}:\n{output[-1500:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as tmp:
        tmp = Path(tmp)
        progress("building the unikernel image and the static Linux program")
        checked([VENV / "rumprun-cc", "-O2", "-o", tmp / "storage", APP], "rumprun-cc")
        checked(
            [VENV / "rumprun-bake", "hw_generic", tmp / "storage.bin", tmp / "storage"],
            "rumprun-bake",
        )
        checked(["gcc", "-O2", "-static", "-o", tmp / "storage-linux", APP], "gcc -static")
        try:
            vmlinuz, initrd = linux_microvm.build(
                tmp / "storage-linux",
                ROOT / "build" / "microvm-storage",
                modules=linux_microvm.MODULES + ["virtio_blk"],
                init=INIT,
            )
        except (linux_microvm.MicrovmError, OSError) as e:
            fail(f"cannot build the Linux microVM: {e}")
        (tmp / "empty").mkdir()
        pristine = tmp / "pristine.img"
        checked(
            [VENV / "rumprun", "mkfs", "ext2", "--size", "128", tmp / "empty", pristine],
            "rumprun mkfs ext2",
        )

        samples = {(who, name): [] for who in ("rumprun", "linux") for _, name, _ in PHASES}
        for run in range(a.runs):
            for who in ("rumprun", "linux") if run % 2 == 0 else ("linux", "rumprun"):
                image = tmp / f"{who}.img"
                shutil.copyfile(pristine, image)
                for phase, name, _ in PHASES:
                    if who == "rumprun":
                        out = checked(
                            [
                                VENV / "rumprun",
                                "qemu",
                                "-i",
                                "-M",
                                "256",
                                "-b",
                                f"{image},/data",
                                tmp / "storage.bin",
                                "--",
                                phase,
                                "/data",
                            ],
                            f"the unikernel's {phase}",
                        )
                    else:
                        out = checked(
                            linux_microvm.qemu_args(
                                vmlinuz, initrd, [phase, "/data"], disks=[image]
                            ),
                            f"the Linux microVM's {phase}",
                        )
                    value = result(out, name, f"{who} {phase}")
                    samples[(who, name)].append(value)
                    progress(f"run {run + 1}/{a.runs} {who:7} {name} {value}")
                if who == "rumprun":
                    fsck = subprocess.run(
                        ["e2fsck", "-fn", str(image)], capture_output=True, text=True
                    )
                    if fsck.returncode != 0:
                        fail(f"e2fsck -fn after the unikernel's run:\n{fsck.stdout[-1500:]}")

    print("| measurement | rumprun (median) | Linux microVM (median) | ratio |")
    print("|---|---|---|---|")
    for _, name, unit in PHASES:
        ours = statistics.median(samples[("rumprun", name)])
        theirs = statistics.median(samples[("linux", name)])
        print(f"| {name} | {ours:.1f} {unit} | {theirs:.1f} {unit} | {ours / theirs:.2f} |")
    print(
        f"\n{a.runs} runs each; load average at the end: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
