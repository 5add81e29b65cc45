"""Read throughput of the ISO 9660 and 9p file systems (make bench-fs).

    .venv/bin/python benchmarks/fs_bench.py [--rounds N] [--mib M]

One program, tests/apps/storage/fsprobe.c, reads a file of M MiB (default 48)
three times over in 1 MiB reads and reports bytes and nanoseconds
(`readbench`).  It runs, in alternating rounds (default 5), as:

  native        the host's gcc build reading the host file (page cache warm)
  9p share      the unikernel (rumprun-cc, hw_generic) reading it through
                `rumprun qemu -i --share DIR:/s` (virtio-9p, 9P2000.L)
  ISO, -b       the unikernel reading it from `rumprun mkfs iso` volume
                attached with `rumprun qemu -i -b VOL,/data` (virtio-blk;
                the row says so when the kernel has no virtio-blk driver)
  ISO, module   the same volume packed by `rumprun iso -b VOL,/data`,
                booted as a CD: GRUB loads it as a multiboot module and
                the kernel serves it from memory
  Linux, ISO    the same program (gcc -static) in the Linux microVM of
                benchmarks/linux_microvm.py (Debian's cloud kernel, with
                virtio_blk, cdrom and isofs loaded), the volume on
                virtio-blk mounted read-only; Linux keeps the file in its
                page cache after the first pass.  (That kernel has no 9p:
                CONFIG_9P_FS is off, so 9p has only the native reference.)

Each guest run is checked (the byte count must be 3 x M MiB) and timed by
the guest's own clock around the reads only (boot not included).  Prints a
Markdown table of medians (MB/s, ratio against native) on stdout, progress
on stderr.  Everything is built in build/bench-fs (the microVM in
build/microvm-fs, kept while its inputs are the same).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench-fs"
VENV = ROOT / ".venv" / "bin"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import linux_microvm  # noqa: E402

LINUX_INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for pass in 1 2 3; do
    for m in /lib/modules/*.ko; do /bin/busybox insmod "$m" 2>/dev/null; done
done
/bin/busybox mkdir -p /data
/bin/busybox mount -t iso9660 -o ro /dev/vda /data
/program "$@"
/bin/busybox poweroff -f
"""
RESULT = re.compile(r"readbench \S+: (\d+) bytes (\d+) ns")
ROUNDS_PER_RUN = 3


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw
    )


def parse(out, expect):
    m = RESULT.search(out)
    if not m or int(m.group(1)) != expect:
        return None
    return int(m.group(1)) / (int(m.group(2)) / 1e9) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=48)
    a = ap.parse_args()
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "share").mkdir(parents=True)
    data = OUT / "share" / "data.bin"
    with open(data, "wb") as f:
        for i in range(a.mib):
            f.write(bytes([i & 0xFF]) * (1 << 20))
    expect = ROUNDS_PER_RUN * a.mib << 20
    say("building fsprobe (native and unikernel), the volume and the ISO")
    src = ROOT / "tests" / "apps" / "storage" / "fsprobe.c"
    for cmd in [
        ["gcc", "-O2", "-o", OUT / "fsprobe-native", src],
        [VENV / "rumprun-cc", "-O2", "-o", OUT / "fsprobe", src],
        [VENV / "rumprun-bake", "hw_generic", OUT / "fsprobe.bin", OUT / "fsprobe"],
        [VENV / "rumprun", "mkfs", "iso", "-q", OUT / "share", OUT / "vol.iso"],
        [
            VENV / "rumprun",
            "iso",
            "-o",
            OUT / "boot.iso",
            "-b",
            f"{OUT / 'vol.iso'},/data",
            OUT / "fsprobe.bin",
            "--",
            "readbench",
            "/data/data.bin",
            str(ROUNDS_PER_RUN),
        ],
    ]:
        r = sh(*cmd)
        if r.returncode != 0:
            say(f"fs_bench: {' '.join(map(str, cmd))} failed:\n{r.stderr}")
            return 2
    linux = None
    r = sh("gcc", "-O2", "-static", "-o", OUT / "fsprobe-static", src)
    try:
        if r.returncode != 0:
            raise linux_microvm.MicrovmError(f"gcc -static failed: {r.stderr[-300:]}")
        vmlinuz, initrd = linux_microvm.build(
            OUT / "fsprobe-static",
            ROOT / "build" / "microvm-fs",
            modules=linux_microvm.MODULES + ["virtio_blk", "cdrom", "isofs"],
            init=LINUX_INIT,
        )
        linux = linux_microvm.qemu_args(
            vmlinuz,
            initrd,
            ["readbench", "/data/data.bin", str(ROUNDS_PER_RUN)],
            disks=[OUT / "vol.iso"],
        )
    except (linux_microvm.MicrovmError, OSError) as e:
        say(f"fs_bench: no Linux microVM row: {e}")

    runs = {
        "native": [OUT / "fsprobe-native", "readbench", data, ROUNDS_PER_RUN],
        "9p share": [
            VENV / "rumprun",
            "qemu",
            "-i",
            "-M",
            "128",
            "--share",
            f"{OUT / 'share'}:/s",
            OUT / "fsprobe.bin",
            "--",
            "readbench",
            "/s/data.bin",
            ROUNDS_PER_RUN,
        ],
        "ISO, -b (virtio-blk)": [
            VENV / "rumprun",
            "qemu",
            "-i",
            "-M",
            "128",
            "-b",
            f"{OUT / 'vol.iso'},/data",
            OUT / "fsprobe.bin",
            "--",
            "readbench",
            "/data/data.bin",
            ROUNDS_PER_RUN,
        ],
        "ISO, module (rumprun iso)": [
            "qemu-system-x86_64",
            "-m",
            "256",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
            "-serial",
            "stdio",
            "-display",
            "none",
            "-no-reboot",
            "-net",
            "none",
            "-cdrom",
            OUT / "boot.iso",
        ],
        "Linux microVM, ISO (virtio-blk)": linux,
    }
    samples = {k: [] for k in runs}
    notes = {}
    for i in range(a.rounds):
        say(f"round {i + 1}/{a.rounds}")
        for name, cmd in runs.items():
            if name in notes:
                continue
            if cmd is None:
                notes[name] = "the Linux microVM could not be built"
                continue
            r = sh(*cmd, timeout=600)
            mbs = parse(r.stdout, expect)
            if mbs is None:
                line = (
                    r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or ["no output"]
                )
                notes[name] = next((ln for ln in line if "rumprun:" in ln), line[-1])[:120]
                continue
            samples[name].append(mbs)
    ref = statistics.median(samples["native"]) if samples["native"] else None
    commit = sh("git", "-C", ROOT, "rev-parse", "--short", "HEAD").stdout.strip()
    print(
        f"Read of a {a.mib} MiB file, 3 passes in 1 MiB reads; medians of {a.rounds} "
        f"alternating rounds; commit {commit}; load average {os.getloadavg()[0]:.2f}\n"
    )
    print("| how | MB/s | ratio to native |")
    print("| --- | ---: | ---: |")
    for name in runs:
        if samples[name]:
            m = statistics.median(samples[name])
            print(f"| {name} | {m:.0f} | {m / ref:.3f} |" if ref else f"| {name} | {m:.0f} | |")
        else:
            print(f"| {name} | not measured: {notes.get(name, 'no result')} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
