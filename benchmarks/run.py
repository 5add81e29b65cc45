#!/usr/bin/env python3
"""Reproducible benchmarks of the toolchain: image size, boot-to-exit time,
smallest guest memory, and POSIX runtime costs against native Linux.

    make bench                       # = .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --quick

Progress goes to stderr; the results (Markdown tables ready for
benchmarks/README.md) go to stdout, and every sample to
build/bench/results.json.  Every figure is a median, and every time is
quoted next to a reference measured in the same run (a trivial multiboot
kernel for boot time, the same C program on Linux for the runtime costs).
Nothing here asserts on a time: the targets are printed beside the figures.
"""

import argparse
import json
import os
import platform
import re
import selectors
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"
HELLO_C = ROOT / "tests" / "hello" / "hello.c"
VENV_BIN = ROOT / ".venv" / "bin"
KIB = 1024

# The floor: a multiboot kernel that exits at once through isa-debug-exit.
FLOOR_S = """\
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

# Workloads: (app source, RESULT names it prints, iterations, quick
# iterations, native variants).  A native variant is (key, what the table
# says of it, command prefix, extra arguments); the unikernel has one CPU,
# so the thread workloads also run natively pinned to one CPU.
ANY_CPU = ("native", "", [], [])
BOTH_CPUS = ("native", " (both CPUs)", [], [])
ONE_CPU = ("native_1cpu", " (pinned to 1 CPU: `taskset -c 0`)", ["taskset", "-c", "0"], [])
WORKLOADS = [
    ("cpu", ["cpu_xorshift"], 20_000_000, 2_000_000, [ANY_CPU]),
    ("getpid", ["getpid"], 1_000_000, 100_000, [ANY_CPU]),
    ("pthread", ["pthread_create_join"], 5_000, 500, [BOTH_CPUS, ONE_CPU]),
    ("pingpong", ["mutex_condvar_pingpong"], 20_000, 2_000, [BOTH_CPUS, ONE_CPU]),
    ("memory", ["mmap_touch_munmap"], 2_000, 200, [ANY_CPU]),
    (
        "file",
        ["file_4k_cycle", "file_4k_pwrite_pread"],
        5_000,
        500,
        [
            ("native_tmp", " (/tmp, ext4)", [], ["/tmp"]),
            ("native_shm", " (/dev/shm, tmpfs)", [], ["/dev/shm"]),
        ],
    ),
]
LABELS = {
    "cpu_xorshift": "CPU only, xorshift64 step, no system call: TCG's own factor (ns/step)",
    "getpid": "getpid system call, `syscall(SYS_getpid)` (ns/call)",
    "pthread_create_join": "pthread_create + pthread_join (ns/pair)",
    "mutex_condvar_pingpong": "mutex/condvar ping-pong, 2 threads (ns/round trip)",
    "mmap_touch_munmap": "anonymous memory: mmap 1 MiB, touch every page, munmap (ns/page)",
    "file_4k_cycle": "4 KiB file: open, write, lseek, read, close (ns/iteration)",
    "file_4k_pwrite_pread": "4 KiB file: pwrite + pread on one descriptor (ns/iteration)",
}
AIMS = {"getpid": "below native (< 1)"}
UNSUPPORTED = re.compile(r"rumprun: unsupported system call .*")


class BenchError(Exception):
    """A failure that stops the run, as one sentence."""


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """Run a build step; fail with its output."""
    p = subprocess.run(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    )
    if p.returncode != 0:
        raise BenchError(
            f"{shlex.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout.strip()}"
        )
    return p.stdout


def timed(cmd, timeout):
    """Spawn CMD, wait for it, and return (seconds from spawn to exit, exit
    status, combined output, its peak RSS in KiB); status None on timeout.
    The child is reaped with wait4 so the RSS is its own."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = t0 + timeout
    chunks = []
    os.set_blocking(p.stdout.fileno(), True)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            p.kill()
            os.wait4(p.pid, 0)
            p.returncode = -9
            return time.perf_counter() - t0, None, b"".join(chunks).decode(errors="replace"), 0
        if sel.select(left):
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            chunks.append(data)
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    sel.close()
    return elapsed, p.returncode, b"".join(chunks).decode(errors="replace"), ru.ru_maxrss


def median(xs):
    return statistics.median(xs) if xs else None


def tail(text, n=4):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[-n:])


# --------------------------------------------------------------------------
# Builds


def build_all(work):
    progress("building: hello (size and boot), floor kernel, workloads")
    cc, bake = VENV_BIN / "rumprun-cc", VENV_BIN / "rumprun-bake"
    b = {}
    # 1. The hello of the size target: as tests/hello builds it.
    run([cc, "-O2", "-o", work / "hello", HELLO_C])
    run([bake, "hw_generic", work / "hello.bin", work / "hello"])
    run(["strip", "-o", work / "hello.stripped.bin", work / "hello.bin"])
    b["hello_bin"] = work / "hello.bin"
    b["hello_stripped"] = work / "hello.stripped.bin"
    # 2. The no-sleep hello of the boot and memory measurements.
    run([cc, "-O2", "-DNO_SLEEP", "-o", work / "hello-nosleep", HELLO_C])
    run([bake, "hw_generic", work / "hello-nosleep.bin", work / "hello-nosleep"])
    b["nosleep"] = work / "hello-nosleep.bin"
    # 3. The floor kernel.
    (work / "floor.S").write_text(FLOOR_S)
    run(["as", "--32", "-o", work / "floor.o", work / "floor.S"])
    run(
        [
            "ld",
            "-m",
            "elf_i386",
            "--build-id=none",
            "-Ttext=0x100000",
            "-e",
            "_start",
            "-o",
            work / "floor.elf",
            work / "floor.o",
        ]
    )
    b["floor"] = work / "floor.elf"
    # 4. Workloads: the same source for the unikernel and for Linux.
    for name, *_ in WORKLOADS:
        src = APPS / f"{name}.c"
        run([cc, "-O2", "-o", work / name, src])
        run([bake, "hw_generic", work / f"{name}.bin", work / name])
        run(["gcc", "-O2", "-Wall", "-pthread", "-o", work / f"{name}.native", src])
    return b


# --------------------------------------------------------------------------
# QEMU command lines


def launcher_argv(image, work):
    """The QEMU command line `rumprun -D qemu -i IMAGE -- 0` would run, with
    the configuration it feeds QEMU (a here-document on fd 3) written to a
    file in our own directory instead, so the command runs on its own."""
    out = run([VENV_BIN / "rumprun", "-D", "qemu", "-i", image, "--", "0"])
    lines = out.splitlines()
    at = [i for i, ln in enumerate(lines) if "qemu-system" in ln]
    if not at or at[-1] + 1 >= len(lines):
        raise BenchError(f"rumprun -D qemu printed no QEMU command line:\n{out}")
    command, _, heredoc = lines[at[-1]].partition(" 3<<")
    argv = shlex.split(command)
    if heredoc:
        config = work / f"{Path(image).name}.config.json"
        config.write_text(lines[at[-1] + 1])
        argv = [a.replace("file=/dev/fd/3", f"file={config}") for a in argv]
    return argv


def with_kernel(argv, kernel, append=True):
    """ARGV with -kernel KERNEL, and without -append unless APPEND."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "-kernel":
            out += ["-kernel", str(kernel)]
            i += 2
        elif argv[i] == "-append" and not append:
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def with_memory(argv, mib):
    out = list(argv)
    out[out.index("-m") + 1] = str(mib)
    return out


def hello_ok(status, output):
    """The no-sleep hello ran correctly: it said goodbye and exited 0
    (QEMU's isa-debug-exit turns guest status 0 into 1)."""
    return (
        status == 1
        and "Goodbye, world! Exiting with status 0." in output
        and "=== rumprun: exit status 0 ===" in output
    )


# --------------------------------------------------------------------------
# Measurements


def measure_boot(b, work, runs):
    hello_argv = launcher_argv(b["nosleep"], work)
    floor_argv = with_kernel(hello_argv, b["floor"], append=False)
    launcher = [str(VENV_BIN / "rumprun"), "qemu", "-i", str(b["nosleep"]), "--", "0"]
    kinds = {
        "floor": (floor_argv, lambda s, o: s == 1),
        "hello": (hello_argv, hello_ok),
        "launcher": (launcher, lambda s, o: s == 0 and "Goodbye" in o),
        "launcher_help": ([str(VENV_BIN / "rumprun"), "--help"], lambda s, o: s == 0),
    }
    progress(f"boot: {runs} alternating runs each of floor, hello, rumprun qemu -i, rumprun --help")
    progress("  hello: " + shlex.join(hello_argv))
    progress("  floor: " + shlex.join(floor_argv))
    samples = {k: [] for k in kinds}
    rss = {k: [] for k in kinds}
    for i in range(runs + 1):  # run 0 warms the page cache, not kept
        for k, (argv, ok) in kinds.items():
            dt, status, out, maxrss = timed(argv, 60)
            if not ok(status, out):
                raise BenchError(f"boot run of {k} failed (status {status}): {tail(out)}")
            if i:
                samples[k].append(dt)
                rss[k].append(maxrss)
        if i:
            progress(
                f"  run {i}: " + ", ".join(f"{k} {samples[k][-1] * 1000:.0f} ms" for k in kinds)
            )
    return {
        "argv_hello": hello_argv,
        "argv_floor": floor_argv,
        "seconds": samples,
        "maxrss_kib": rss,
    }


def measure_memory(b, work, top, timeout):
    """Smallest -m (MiB) with which the no-sleep hello still runs correctly,
    trying top, top-1, ... 1 with QEMU run directly (below the launcher's
    own check).  The floor kernel is tried the same way."""
    hello_argv = launcher_argv(b["nosleep"], work)
    floor_argv = with_kernel(hello_argv, b["floor"], append=False)
    res = {}
    for name, argv, ok in (
        ("hello", hello_argv, hello_ok),
        ("floor", floor_argv, lambda s, o: s == 1),
    ):
        tries = {}
        for mib in range(top, 0, -1):
            dt, status, out, _ = timed(with_memory(argv, mib), timeout)
            good = ok(status, out)
            tries[mib] = {
                "ok": good,
                "status": status,
                "seconds": dt,
                "tail": "" if good else tail(out, 2),
            }
            progress(
                f"memory: {name} -m {mib}: "
                + (
                    "runs"
                    if good
                    else f"fails ({'timeout' if status is None else f'status {status}'}"
                    f"{': ' + tries[mib]['tail'] if tries[mib]['tail'] else ''})"
                )
            )
            if not good:
                break
        good = [m for m, t in tries.items() if t["ok"]]
        res[name] = {"smallest_mib": min(good) if good else None, "tries": tries}
    return res


def parse_results(output):
    found = {}
    for line in output.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "RESULT":
            found[f[1]] = float(f[2])
    return found


def measure_workloads(b, work, runs, quick):
    res = {}
    for name, metrics, n, nq, natives in WORKLOADS:
        iters = str(nq if quick else n)
        variants = {
            "unikernel": [
                str(VENV_BIN / "rumprun"),
                "qemu",
                "-i",
                str(work / f"{name}.bin"),
                "--",
                iters,
            ]
        }
        for key, _, prefix, extra in natives:
            variants[key] = prefix + [str(work / f"{name}.native"), iters] + extra
        progress(
            f"workload {name}: {runs} alternating runs of "
            + ", ".join(variants)
            + f", {iters} iterations each"
        )
        samples = {v: {m: [] for m in metrics} for v in variants}
        failures = {}
        notes = set()
        for i in range(runs):
            for v, argv in variants.items():
                if v in failures:
                    continue
                dt, status, out, _ = timed(argv, 300)
                notes.update(UNSUPPORTED.findall(out))
                found = parse_results(out)
                if status != 0 or any(m not in found for m in metrics):
                    msgs = UNSUPPORTED.findall(out)
                    failures[v] = {
                        "status": status,
                        "message": "; ".join(dict.fromkeys(msgs)) or tail(out),
                        "partial": found,
                    }
                    progress(f"  {v}: FAILED (status {status}): {failures[v]['message']}")
                    continue
                for m in metrics:
                    samples[v][m].append(found[m])
                progress(
                    f"  run {i + 1} {v}: " + ", ".join(f"{m} {found[m]:.0f} ns" for m in metrics)
                )
        res[name] = {
            "iterations": int(iters),
            "argv": variants,
            "ns": samples,
            "failures": failures,
            "unsupported": sorted(notes),
        }
    return res


# --------------------------------------------------------------------------
# Report


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    qemu = run(["qemu-system-x86_64", "--version"]).splitlines()[0]
    gcc = run(["gcc", "--version"]).splitlines()[0]
    try:
        head = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    except BenchError:
        head = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "qemu": qemu,
        "gcc": gcc,
        "kernel": platform.release(),
        "git_head": head,
        "loadavg_at_start": os.getloadavg()[0],
    }


def fmt_ms(s):
    return f"{s * 1000:.1f} ms"


def fmt_ns(x):
    if x >= 100_000:
        return f"{x / 1000:,.0f} µs"
    if x >= 10_000:
        return f"{x / 1000:.1f} µs"
    if x < 100:
        return f"{x:.2f} ns"
    return f"{x:,.0f} ns"


def report(r, args):
    m = r["machine"]
    out = []
    w = out.append
    w(f"Command: `{r['command']}`  ")
    w(
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Linux {m['kernel']}, {m['qemu']}, "
        f"{m['gcc']}; commit {m['git_head']}; {r['date']}; "
        f"load average {m['loadavg_at_start']:.2f} at the start."
    )
    w("")
    w("### Foundation")
    w("")
    w("| measurement | figure | reference (same run) | ratio | aim |")
    w("|---|---|---|---|---|")
    sz = r["size"]
    w(
        f"| hello image, hw_generic, stripped (`strip -o`) | {sz['stripped']} bytes "
        f"({sz['stripped'] / KIB:.1f} KiB) | unstripped {sz['unstripped']} bytes | | "
        f"≤ 150 KiB: {'met' if sz['stripped'] <= 150 * KIB else 'NOT met'} |"
    )
    bt = r["boot"]
    runs = len(bt["seconds"]["hello"])
    fl = median(bt["seconds"]["floor"])
    he = median(bt["seconds"]["hello"])
    la = median(bt["seconds"]["launcher"])
    ratio = he / fl
    w(
        f"| boot to exit, no-sleep hello, QEMU run directly (median of {runs}) | "
        f"{fmt_ms(he)} | floor kernel {fmt_ms(fl)} | {ratio:.2f} | "
        f"≤ 1.3: {'met' if ratio <= 1.3 else 'NOT met'} |"
    )
    w(
        f"| boot to exit, `rumprun qemu -i` (launcher included, median of {runs}) | "
        f"{fmt_ms(la)} | floor kernel {fmt_ms(fl)} | {la / fl:.2f} | |"
    )
    lh = median(bt["seconds"]["launcher_help"])
    w(f"| of which the launcher's start-up alone, `rumprun --help` | {fmt_ms(lh)} | | | |")
    rh = median(bt["maxrss_kib"]["hello"]) / KIB
    rf = median(bt["maxrss_kib"]["floor"]) / KIB
    w(
        f"| QEMU peak RSS, no-sleep hello, `-m 64` | {rh:.1f} MiB | "
        f"floor kernel {rf:.1f} MiB | {rh / rf:.2f} | |"
    )
    mem = r["memory"]
    mh, mf = mem["hello"]["smallest_mib"], mem["floor"]["smallest_mib"]
    w(
        f"| smallest `-m` (MiB) with which hello runs correctly | {mh} | "
        f"floor kernel {mf} | | ≤ 4: {'met' if mh and mh <= 4 else 'NOT met'} |"
    )
    w("")
    w("### POSIX runtime (unikernel under QEMU TCG vs the same program on Linux)")
    w("")
    w(
        f"Native: `gcc -O2 -pthread` (glibc, dynamically linked) on the host. "
        f"Medians of {args.runs} boots / {args.runs} native runs; "
        f"ratio = unikernel / native (below 1: faster than native). "
        f"The unikernel has one virtual CPU."
    )
    w("")
    w("| workload | iterations | unikernel (TCG) | native Linux | ratio | aim |")
    w("|---|---|---|---|---|---|")
    for name, metrics, _, _, natives in WORKLOADS:
        wl = r["workloads"][name]
        for metric in metrics:
            uk_fail = wl["failures"].get("unikernel")
            uk = median(wl["ns"]["unikernel"][metric])
            for nk, where, _, _ in natives:
                nat = median(wl["ns"][nk][metric])
                nat_s = (
                    "FAILED: " + wl["failures"][nk]["message"]
                    if nk in wl["failures"]
                    else fmt_ns(nat) + where
                )
                if uk_fail:
                    uk_s = f"FAILED (status {uk_fail['status']}): {uk_fail['message']}"
                    ratio_s = "—"
                else:
                    uk_s = fmt_ns(uk) + (" (/tmp, tmpfs)" if name == "file" else "")
                    ratio_s = f"{uk / nat:.2f}" if nat and nk not in wl["failures"] else "—"
                aim = AIMS.get(metric, "")
                if aim and not uk_fail and nat:
                    aim += ": " + ("met" if uk < nat else "NOT met")
                w(
                    f"| {LABELS[metric]} | {wl['iterations']:,} | {uk_s} | {nat_s} | "
                    f"{ratio_s} | {aim} |"
                )
        if wl["unsupported"]:
            w(f"| ↳ {name}: the unikernel printed | | {'; '.join(wl['unsupported'])} | | | |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="5 boot runs, 3 workload runs, a tenth of the iterations",
    )
    ap.add_argument(
        "--boot-runs",
        type=int,
        default=None,
        help="alternating boot runs of each kind (default 21)",
    )
    ap.add_argument(
        "--runs", type=int, default=None, help="boots and native runs per workload (default 5)"
    )
    ap.add_argument(
        "--mem-top",
        type=int,
        default=8,
        help="largest -m tried when looking for the smallest (default 8)",
    )
    ap.add_argument(
        "--mem-timeout",
        type=float,
        default=15,
        help="seconds before a -m try counts as hung (default 15)",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "bench",
        help="build directory (default build/bench)",
    )
    args = ap.parse_args()
    args.boot_runs = args.boot_runs or (5 if args.quick else 21)
    args.runs = args.runs or (3 if args.quick else 5)

    for tool in ("qemu-system-x86_64", "as", "ld", "gcc", "strip", "taskset"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not installed: run `make setup`")
    if not (VENV_BIN / "rumprun").exists():
        raise BenchError("the virtual environment is missing: run `make setup libs`")
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"

    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.time()
    b = build_all(work)
    r = {
        "command": shlex.join([".venv/bin/python", "benchmarks/run.py"] + sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": machine(),
        "size": {
            "stripped": b["hello_stripped"].stat().st_size,
            "unstripped": b["hello_bin"].stat().st_size,
        },
    }
    r["boot"] = measure_boot(b, work, args.boot_runs)
    r["memory"] = measure_memory(b, work, args.mem_top, args.mem_timeout)
    r["workloads"] = measure_workloads(b, work, args.runs, args.quick)
    (work / "results.json").write_text(json.dumps(r, indent=1, default=str) + "\n")
    progress(f"done in {time.time() - t0:.0f} s; samples in {work / 'results.json'}")
    print(report(r, args))
    failed = [n for n, wl in r["workloads"].items() if wl["failures"]]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"benchmarks: {e}", file=sys.stderr)
        sys.exit(2)
