#!/usr/bin/env python3
"""C++ and prebuilt programs: what rumprun-c++ costs, and what the ELF
loader costs at boot.

    .venv/bin/python benchmarks/cxx_bench.py [--runs N]

- rumprun-c++ compile+link time of tests/apps/exec/hello.cpp (zig's C++
  libraries already cached: the first link of a machine takes ~90 s more),
  and rumprun-bake's time for it; reference: the host's g++ -static -O2 on
  the same file, in the same run.
- The C++ hello's image size (as baked, and `strip -o`); reference: the C
  hello (tests/hello/hello.c) from rumprun-cc, baked the same way.
- Boot to exit of tests/hello/hello.c (-DNO_SLEEP) built by the host's
  gcc -static (glibc, loaded by the kernel's ELF loader) against the same
  source from rumprun-cc (linked into the image), both with
  `rumprun qemu -i` (the launcher included), runs alternating.

Progress on stderr; a Markdown table on stdout (medians, ratios against the
reference of the same run).  Build products go to build/cxx-bench.  Nothing
here asserts on a time.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HELLO_C = ROOT / "tests" / "hello" / "hello.c"
HELLO_CPP = ROOT / "tests" / "apps" / "exec" / "hello.cpp"
OUT = ROOT / "build" / "cxx-bench"


def say(msg):
    print(f"cxx_bench: {msg}", file=sys.stderr, flush=True)


def run(args, **kw):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.exit(
            f"cxx_bench: {' '.join(map(str, args))} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def timed(args):
    start = time.perf_counter()
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, result


def median_time(args, runs, check=None):
    samples = []
    for _ in range(runs):
        elapsed, result = timed(args)
        if check and not check(result):
            sys.exit(
                f"cxx_bench: {' '.join(map(str, args))} went wrong:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        samples.append(elapsed)
    return statistics.median(samples)


def size(path):
    return path.stat().st_size


def stripped_size(path):
    out = path.with_suffix(".stripped")
    run(["strip", "-o", out, path])
    return size(out)


def fmt_s(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def fmt_b(n):
    return (
        f"{n} bytes ({n / 1024 / 1024:.2f} MiB)"
        if n > 1 << 20
        else f"{n} bytes ({n / 1024:.1f} KiB)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per timing (median)")
    args = parser.parse_args()
    runs = args.runs
    OUT.mkdir(parents=True, exist_ok=True)

    say("warming zig's C++ libraries (the first time: about 90 s)")
    run([BIN / "rumprun-c++", "--warm-up"])

    say(f"timing rumprun-c++ and host g++ on {HELLO_CPP.name}, {runs} runs each")
    cxx_exe, gxx_exe = OUT / "hellopp", OUT / "hellopp-g++"
    cxx_time = median_time([BIN / "rumprun-c++", "-O2", "-o", cxx_exe, HELLO_CPP], runs)
    gxx_time = median_time(["g++", "-static", "-O2", "-pthread", "-o", gxx_exe, HELLO_CPP], runs)
    cxx_image = OUT / "hellopp.bin"
    bake_time = median_time([BIN / "rumprun-bake", "hw_generic", cxx_image, cxx_exe], runs)

    say("building the C hello both ways")
    c_app, c_image = OUT / "hello", OUT / "hello.bin"
    run([BIN / "rumprun-cc", "-O2", "-DNO_SLEEP", "-o", c_app, HELLO_C])
    run([BIN / "rumprun-bake", "hw_generic", c_image, c_app])
    glibc_exe, glibc_image = OUT / "hello_static", OUT / "hello_static.bin"
    run(["gcc", "-static", "-O2", "-DNO_SLEEP", "-o", glibc_exe, HELLO_C])
    run([BIN / "rumprun-bake", "hw_generic", glibc_image, glibc_exe])

    say(f"booting each {runs} times, alternating")
    boots = {"glibc": [], "cc": []}

    def good(result):
        return result.returncode == 0 and "Goodbye, world!" in result.stdout

    for _ in range(runs + 1):  # the first round is a warm-up
        for key, image in (("glibc", glibc_image), ("cc", c_image)):
            elapsed, result = timed([BIN / "rumprun", "qemu", "-i", image])
            if not good(result):
                sys.exit(f"cxx_bench: booting {image} went wrong:\n{result.stdout}{result.stderr}")
            boots[key].append(elapsed)
    boot_glibc = statistics.median(boots["glibc"][1:])
    boot_cc = statistics.median(boots["cc"][1:])

    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    load = os.getloadavg()[0]
    print(
        f"Command: `.venv/bin/python benchmarks/cxx_bench.py --runs {runs}` at commit "
        f"{commit}; nproc {os.cpu_count()}, {platform.machine()}, load "
        f"average {load:.2f} at the end.\n"
    )
    print("| measurement | figure | reference (same run) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| rumprun-c++ -O2 compile+link, C++ hello (zig's libraries cached; median "
        f"of {runs}) | {fmt_s(cxx_time)} | host g++ -static -O2: {fmt_s(gxx_time)} | "
        f"{cxx_time / gxx_time:.2f} |"
    )
    print(f"| rumprun-bake of it (median of {runs}) | {fmt_s(bake_time)} | | |")
    print(f"| rumprun-c++ + rumprun-bake | {fmt_s(cxx_time + bake_time)} | | |")
    print(
        f"| C++ hello image, hw_generic | {fmt_b(size(cxx_image))} | C hello "
        f"(rumprun-cc): {fmt_b(size(c_image))} | {size(cxx_image) / size(c_image):.1f} |"
    )
    print(
        f"| the same, `strip -o` | {fmt_b(stripped_size(cxx_image))} | C hello: "
        f"{fmt_b(stripped_size(c_image))} | "
        f"{stripped_size(cxx_image) / stripped_size(c_image):.1f} |"
    )
    print(
        f"| C++ executable from rumprun-c++ (unstripped) | {fmt_b(size(cxx_exe))} | "
        f"host g++ -static: {fmt_b(size(gxx_exe))} | {size(cxx_exe) / size(gxx_exe):.2f} |"
    )
    print(
        f"| boot to exit, no-sleep hello as a static glibc executable (gcc -static, "
        f"ELF loader), `rumprun qemu -i` (median of {runs}) | {fmt_s(boot_glibc)} | "
        f"same source from rumprun-cc: {fmt_s(boot_cc)} | {boot_glibc / boot_cc:.2f} |"
    )
    print(
        f"| image size of that static glibc hello | {fmt_b(size(glibc_image))} | "
        f"rumprun-cc hello: {fmt_b(size(c_image))} | "
        f"{size(glibc_image) / size(c_image):.1f} |"
    )


if __name__ == "__main__":
    main()
