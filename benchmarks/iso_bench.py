#!/usr/bin/env python3
"""ISO benchmark: size, build time against grub-mkrescue, boot-to-exit.

    python3 benchmarks/iso_bench.py [--image build/hello.bin] [--runs 5]

Without --image it bakes nothing and uses tests/fixtures/kernel (a tiny multiboot
kernel that prints its configuration and exits), which measures the ISO
path itself.  For every run it builds the ISO with `rumprun.images.iso.build_iso`
in a fresh Python process (interpreter start and imports included), once
with an empty GRUB image cache and once with the cached BIOS core, and, in
the same run, the equivalent ISO with grub-mkrescue (same kernel, config,
grub.cfg and GRUB modules, BIOS+UEFI, no locales, fonts or themes), then
boots the rumprun ISO as a CD under QEMU/SeaBIOS (TCG) until the guest
exits through isa-debug-exit.  It prints medians as a Markdown table.
grub-mkrescue and xorriso are used here only, as the reference.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rumprun.images import iso as isomod  # noqa: E402

CONFIG = json.dumps(
    {"cmdline": "hello.bin", "env": [], "hostname": "rumprun"}, separators=(",", ":")
)
QEMU = [
    "qemu-system-x86_64",
    "-m",
    "128",
    "-device",
    "isa-debug-exit,iobase=0xf4,iosize=4",
    "-serial",
    "stdio",
    "-display",
    "none",
    "-no-reboot",
    "-net",
    "none",
]


def timed(cmd, **kw):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, **kw)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, help="a baked image (default: tests/fixtures/kernel)")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="iso-bench-") as tmp:
        tmp = Path(tmp)
        if a.image:
            image, label = a.image, str(a.image)
        else:
            sys.path.insert(0, str(ROOT / "tests"))
            from conftest import build_fixture_kernel

            image, label = build_fixture_kernel(tmp, status=3), "tests/fixtures/kernel"
        ours = tmp / "rumprun.iso"
        build = (
            "import sys; from pathlib import Path; from rumprun.images.iso import build_iso; "
            "build_iso(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), force=True)"
        )

        staging = tmp / "tree"
        (staging / "boot" / "grub").mkdir(parents=True)
        shutil.copyfile(image, staging / "boot" / "kernel")
        (staging / "boot" / "config.json").write_text(CONFIG)
        (staging / "boot" / "grub" / "grub.cfg").write_text(isomod.grub_cfg())
        mods = " ".join(sorted(set(isomod._COMMON_MODULES)))
        ref = tmp / "mkrescue.iso"
        mkrescue = [
            "grub-mkrescue",
            "-o",
            str(ref),
            f"--modules={mods}",
            f"--install-modules={mods}",
            "--locales=",
            "--fonts=",
            "--themes=",
            str(staging),
        ]

        t_cold, t_ours, t_ref, t_boot, t_inproc = [], [], [], [], []
        for i in range(a.runs):
            # Cold: an empty GRUB image cache (the first ISO on a machine);
            # warm: the cached BIOS core image (every later ISO).
            cache = tmp / f"cache{i}"
            env = dict(os.environ, XDG_CACHE_HOME=str(cache))
            os.environ["XDG_CACHE_HOME"] = str(cache)
            for times in (t_cold, t_ours):
                dt, r = timed(
                    [sys.executable, "-c", build, str(image), CONFIG, str(ours)], cwd=ROOT, env=env
                )
                if r.returncode:
                    sys.exit(r.stderr.decode())
                times.append(dt)
            t = time.perf_counter()
            isomod.build_iso(image, CONFIG, tmp / "inproc.iso", force=True)
            t_inproc.append(time.perf_counter() - t)
            if shutil.which("grub-mkrescue"):
                dt, r = timed(mkrescue)
                if r.returncode:
                    sys.exit(r.stderr.decode())
                t_ref.append(dt)
            dt, r = timed(QEMU + ["-cdrom", str(ours)], timeout=300)
            out = r.stdout.decode("utf-8", "replace")
            if "=== rumprun: exit status" not in out:
                sys.exit(f"the guest did not print its status line:\n{out}")
            t_boot.append(dt)

        med = statistics.median
        size = ours.stat().st_size
        print(
            f"ISO benchmark: {label} ({image.stat().st_size} bytes), "
            f"medians of {a.runs} runs, QEMU TCG\n"
        )
        print("| measurement | rumprun iso | grub-mkrescue (same modules) |")
        print("|---|---|---|")
        ref_size = f"{ref.stat().st_size / 2**20:.2f} MiB" if t_ref else "n/a"
        print(
            f"| ISO size (BIOS+UEFI, hybrid) | {size / 2**20:.2f} MiB ({size} bytes) | {ref_size} |"
        )
        ref_t = f"{med(t_ref) * 1000:.0f} ms" if t_ref else "n/a"
        print(
            f"| build time, new process, cold GRUB cache | {med(t_cold) * 1000:.0f} ms | {ref_t} |"
        )
        print(
            f"| build time, new process, warm GRUB cache | {med(t_ours) * 1000:.0f} ms | {ref_t} |"
        )
        if t_ref:
            print(
                f"| build time ratio, cold (ours / grub-mkrescue) | "
                f"{med(t_cold) / med(t_ref):.2f} | 1 |"
            )
            print(
                f"| build time ratio, warm (ours / grub-mkrescue) | "
                f"{med(t_ours) / med(t_ref):.2f} | 1 |"
            )
        print(f"| build time, in-process build_iso(), warm | {med(t_inproc) * 1000:.0f} ms | |")
        print(f"| boot to exit, -cdrom under SeaBIOS | {med(t_boot) * 1000:.0f} ms | |")


if __name__ == "__main__":
    main()
