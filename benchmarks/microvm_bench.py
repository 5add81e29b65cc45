#!/usr/bin/env python3
"""Boot to exit on QEMU's microvm machine, against the trivial PVH kernel.

    .venv/bin/python benchmarks/microvm_bench.py [--runs 21]

Builds into build/bench-microvm (emptied first): the floor, a PVH kernel of
three instructions (a XEN_ELFNOTE_PHYS32_ENTRY note, then `movb $0,%al;
outb %al,$0xf4; hlt`), the same as a multiboot kernel (QEMU's -kernel
loader prefers multiboot, so that is the path a hw image takes on
microvm), and two apps baked with hw_generic: `int main(void) { return
0; }` and the no-sleep tests/hello.  Every kind runs with the QEMU command
line `rumprun -D microvm -i IMAGE` prints (the configuration in a file
instead of a here-document; the floors get their own -kernel), spawned
directly and timed from spawn to exit; `rumprun microvm -i` is timed too
(the launcher included).  The kinds alternate, RUNS runs each after one
unrecorded round; every run is checked (status, what the guest said).

Progress on stderr; the Markdown table for benchmarks/README.md on stdout.
Exits 2 when something cannot be built or a run fails.
"""

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    HELLO_C,
    ROOT,
    VENV_BIN,
    BenchError,
    machine,  # noqa: E402
    progress,
    run,
    tail,
    with_kernel,
)

WORK = ROOT / "build" / "bench-microvm"

FLOOR_PVH_S = """\
	.section .note.Xen, "a", @note
	.align 4
	.long 4, 4, 18			/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start
	.section .text
	.code32
	.globl _start
_start:
	movb $0, %al
	outb %al, $0xf4
	hlt
"""

FLOOR_MULTIBOOT_S = """\
	.section .text
	.align 4
	.long 0x1BADB002		/* multiboot magic */
	.long 0				/* flags */
	.long -0x1BADB002		/* checksum */
	.globl _start
_start:
	movb $0, %al
	outb %al, $0xf4
	hlt
"""

TRUE_C = "int main(void) { return 0; }\n"


def build():
    progress(f"building into {WORK}")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    cc, bake = VENV_BIN / "rumprun-cc", VENV_BIN / "rumprun-bake"
    built = {}
    for name, source in (("floor_pvh", FLOOR_PVH_S), ("floor_multiboot", FLOOR_MULTIBOOT_S)):
        (WORK / f"{name}.S").write_text(source)
        run(["as", "--32", "-o", WORK / f"{name}.o", WORK / f"{name}.S"])
        # -N: one segment, the note right after the code, nothing far away.
        run(
            [
                "ld",
                "-m",
                "elf_i386",
                "-N",
                "--build-id=none",
                "-Ttext=0x100000",
                "-e",
                "_start",
                "-o",
                WORK / f"{name}.elf",
                WORK / f"{name}.o",
            ]
        )
        built[name] = WORK / f"{name}.elf"
    (WORK / "true.c").write_text(TRUE_C)
    run([cc, "-O2", "-o", WORK / "true", WORK / "true.c"])
    run([bake, "hw_generic", WORK / "true.bin", WORK / "true"])
    built["true"] = WORK / "true.bin"
    run([cc, "-O2", "-DNO_SLEEP", "-o", WORK / "hello", HELLO_C])
    run([bake, "hw_generic", WORK / "hello.bin", WORK / "hello"])
    built["hello"] = WORK / "hello.bin"
    return built


def timed(argv, timeout):
    """Run ARGV: (wall seconds from spawn to exit, its CPU seconds (user +
    system, from wait4: what the run costs, whatever else the machine
    does), exit status (-9 when killed after TIMEOUT), output, peak RSS in
    KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    proc.stdout.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (
        wall,
        usage.ru_utime + usage.ru_stime,
        proc.returncode,
        out.decode(errors="replace"),
        usage.ru_maxrss,
    )


def microvm_argv(image):
    """The QEMU command `rumprun -D microvm -i IMAGE` prints, with the
    configuration in a file of ours instead of the here-document on fd 3."""
    out = run([VENV_BIN / "rumprun", "-D", "microvm", "-i", image])
    lines = out.splitlines()
    at = [i for i, line in enumerate(lines) if "qemu-system" in line]
    if not at or at[-1] + 1 >= len(lines):
        raise BenchError(f"rumprun -D microvm printed no QEMU command line:\n{out}")
    command, _, heredoc = lines[at[-1]].partition(" 3<<")
    argv = shlex.split(command)
    if heredoc:
        config = WORK / f"{Path(image).name}.config.json"
        config.write_text(lines[at[-1] + 1])
        argv = [a.replace("file=/dev/fd/3", f"file={config}") for a in argv]
    return argv


def app_ok(words):
    """The app said WORDS, reported status 0, and QEMU exited 1 (status 0
    through isa-debug-exit)."""
    return lambda status, out: (
        status == 1 and words in out and "=== rumprun: exit status 0 ===" in out
    )


def measure(built, runs):
    true_argv = microvm_argv(built["true"])
    kinds = {
        "floor_pvh": (with_kernel(true_argv, built["floor_pvh"]), lambda s, o: s == 1),
        "floor_multiboot": (with_kernel(true_argv, built["floor_multiboot"]), lambda s, o: s == 1),
        "true": (true_argv, app_ok("")),
        "hello": (microvm_argv(built["hello"]), app_ok("Goodbye, world!")),
        "launcher": (
            [str(VENV_BIN / "rumprun"), "microvm", "-i", str(built["true"])],
            lambda s, o: s == 0 and "=== rumprun: exit status 0 ===" in o,
        ),
    }
    progress(f"{runs} alternating runs of each: {', '.join(kinds)}")
    progress("  true: " + shlex.join(true_argv))
    samples = {k: [] for k in kinds}
    cpu = {k: [] for k in kinds}
    rss = {k: [] for k in kinds}
    for i in range(runs + 1):  # round 0 warms the caches, not kept
        for kind, (argv, ok) in kinds.items():
            wall, cpu_seconds, status, out, maxrss = timed(argv, 60)
            if not ok(status, out):
                raise BenchError(f"run of {kind} failed (status {status}): {tail(out)}")
            if i:
                samples[kind].append(wall)
                cpu[kind].append(cpu_seconds)
                rss[kind].append(maxrss)
        if i:
            progress(
                f"  run {i}: " + ", ".join(f"{k} {samples[k][-1] * 1000:.0f} ms" for k in kinds)
            )
    return samples, cpu, rss


def report(samples, cpu, rss, facts, runs, load_end):
    ms = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    cpu_ms = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
    mib = {k: statistics.median(v) / 1024 for k, v in rss.items()}
    floor = ms["floor_pvh"]
    rows = [
        ("trivial PVH kernel (the floor), QEMU run directly", "floor_pvh", ""),
        ("trivial multiboot kernel, QEMU run directly", "floor_multiboot", ""),
        (
            "`int main(void) { return 0; }`, hw_generic, QEMU run directly",
            "true",
            "<= 1.1 (must <= 1.3)",
        ),
        ("no-sleep tests/hello, QEMU run directly", "hello", ""),
        ("`rumprun microvm -i` of the trivial program (launcher included)", "launcher", ""),
    ]
    print(
        f"Command: `.venv/bin/python benchmarks/microvm_bench.py --runs {runs}` at "
        f"commit {facts['git_head']}; {facts['qemu']}; {facts['nproc']} CPUs "
        f"({facts['cpu']}); load average {facts['loadavg_at_start']:.2f} at the "
        f"start, {load_end:.2f} at the end.\n"
    )
    print(
        f"| boot to exit on `-M microvm` (median of {runs}) | wall | ratio to the "
        "PVH floor | CPU (user+sys) | CPU ratio | QEMU peak RSS | aim |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, kind, aim in rows:
        verdict = ""
        if aim:
            verdict = (
                ": met"
                if ms[kind] / floor <= 1.1
                else (": must met, aim not" if ms[kind] / floor <= 1.3 else ": NOT met")
            )
        print(
            f"| {label} | {ms[kind]:.1f} ms | {ms[kind] / floor:.2f} | "
            f"{cpu_ms[kind]:.1f} ms | {cpu_ms[kind] / cpu_ms['floor_pvh']:.2f} | "
            f"{mib[kind]:.1f} MiB | {aim}{verdict} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    try:
        facts = machine()
        built = build()
        samples, cpu, rss = measure(built, args.runs)
    except BenchError as e:
        print(f"microvm_bench: {e}", file=sys.stderr)
        return 2
    report(samples, cpu, rss, facts, args.runs, os.getloadavg()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
