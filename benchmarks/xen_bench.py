"""Xen create-to-exit: the no-sleep hello (xen_pvh) against a trivial PVH
guest, both under the same Xen harness (scripts/xen-harness, one session).

    .venv/bin/python benchmarks/xen_bench.py [--rounds N]

Builds into build/bench-xen: tests/hello/hello.c with -DNO_SLEEP baked with
xen_pvh, and the floor, a PVH kernel of a few instructions (find Xen's CPUID
leaves, install the hypercall page, SCHEDOP_shutdown poweroff; `as --32`,
`ld -m elf_i386`).  In dom0, timed there with `date +%s%N` (so the
harness's channel is not counted), rounds alternate:

  floor      xl create -c floor.cfg        (create, run, gone)
  hello      xl create -c hello.cfg        (the same for our kernel)
  rumprun    rumprun xen -i hello.xen      (the launcher: its Python start-up
                                            in dom0, xl create -p, xenstore,
                                            unpause, console)

Every hello run is checked (the status line for 0).  Prints a Markdown table
of medians on stdout, progress on stderr; exits 2 when something cannot be
built or the harness cannot come up.
"""

import argparse
import importlib.machinery
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench-xen"
BIN = ROOT / ".venv" / "bin"

FLOOR_S = r"""
	.section .note.Xen, "a"
	.align 4
	.long 4, 4, 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long start

	.text
	.code32
	.globl start
start:					/* paging off, flat 32-bit */
	mov $0x40000000, %esi
1:	mov %esi, %eax
	cpuid
	cmp $0x566e6558, %ebx		/* "XenV" */
	je 2f
	add $0x100, %esi
	cmp $0x40010000, %esi
	jb 1b
	hlt
2:	lea 2(%esi), %eax
	cpuid				/* ebx: the hypercall page's MSR */
	mov %ebx, %ecx
	mov $hypercall_page, %eax
	xor %edx, %edx
	wrmsr
	mov $2, %ebx			/* SCHEDOP_shutdown */
	mov $reason, %ecx
	call hypercall_page + 29 * 32	/* sched_op */
	hlt

	.data
reason:	.long 0				/* SHUTDOWN_poweroff */
	.balign 4096
hypercall_page:
	.fill 4096, 1, 0
"""

DOMAIN = """type = "pvh"
name = "{name}"
kernel = "{kernel}"
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
"""


def progress(text):
    print(f"xen_bench: {text}", file=sys.stderr, flush=True)


def build():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    (OUT / "floor.S").write_text(FLOOR_S)
    subprocess.run(["as", "--32", "-o", OUT / "floor.o", OUT / "floor.S"], check=True)
    subprocess.run(
        [
            "ld",
            "-m",
            "elf_i386",
            "-e",
            "start",
            "-Ttext=0x100000",
            "--section-start=.note.Xen=0x100800",
            "-o",
            OUT / "floor.elf",
            OUT / "floor.o",
        ],
        check=True,
    )
    subprocess.run(
        [
            BIN / "rumprun-cc",
            "-O2",
            "-DNO_SLEEP",
            "-o",
            OUT / "hello",
            ROOT / "tests" / "hello" / "hello.c",
        ],
        check=True,
    )
    subprocess.run([BIN / "rumprun-bake", "xen_pvh", OUT / "hello.xen", OUT / "hello"], check=True)
    for name, kernel in (("floor", OUT / "floor.elf"), ("hello", OUT / "hello.xen")):
        (OUT / f"{name}.cfg").write_text(DOMAIN.format(name=f"bench-{name}", kernel=kernel))


def timed(kind):
    """A dom0 shell line printing KIND's nanoseconds (and failing when a
    hello run did not end with status 0)."""
    if kind == "rumprun":
        command = f"rumprun xen -i {OUT / 'hello.xen'} > /tmp/out 2>&1"
    else:
        command = f"xl create -c {OUT / (kind + '.cfg')} > /tmp/out 2>&1"
    check = (
        ""
        if kind == "floor"
        else " && grep -q '=== rumprun: exit status 0 ===' /tmp/out || { cat /tmp/out; exit 1; }"
    )
    return f"t0=$(date +%s%N); {command}; t1=$(date +%s%N); echo {kind} $((t1 - t0)){check}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    progress("building hello (xen_pvh) and the floor PVH kernel")
    try:
        build()
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"xen_bench: cannot build: {e}", file=sys.stderr)
        return 2
    loader = importlib.machinery.SourceFileLoader(
        "xen_harness", str(ROOT / "scripts" / "xen-harness")
    )
    spec = importlib.util.spec_from_loader("xen_harness", loader)
    harness = importlib.util.module_from_spec(spec)
    loader.exec_module(harness)
    os.environ["PATH"] = f"{BIN}:{os.environ['PATH']}"
    started = time.monotonic()
    try:
        session = harness.Session(binds=[str(OUT)])
    except harness.HarnessError as e:
        print(f"xen_bench: the harness did not come up: {e}\n{e.detail}", file=sys.stderr)
        return 2
    boot = time.monotonic() - started
    samples = {"floor": [], "hello": [], "rumprun": []}
    try:
        kinds = list(samples)
        # One unrecorded warm-up round, then alternating rounds.
        for round_ in range(args.rounds + 1):
            progress(f"round {round_}/{args.rounds}")
            for kind in kinds:
                status, out, err = session.run(["sh", "-c", timed(kind)], timeout=300)
                text = out.decode(errors="replace")
                if status != 0:
                    print(
                        f"xen_bench: {kind} failed (status {status}):\n{text}"
                        f"{err.decode(errors='replace')}",
                        file=sys.stderr,
                    )
                    return 1
                if round_:
                    samples[kind].append(int(text.split()[-1]) / 1e6)
    finally:
        session.close()
    floor = statistics.median(samples["floor"])
    commit = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"Xen harness boot (QEMU start to dom0 ready): {boot:.0f} s; "
        f"{args.rounds} rounds; commit {commit}; load average "
        f"{os.getloadavg()[0]:.2f} at the end\n"
    )
    print("| in dom0 | median create-to-exit | min | max | vs floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    names = {
        "floor": "trivial PVH guest, `xl create -c`",
        "hello": "hello (xen_pvh), `xl create -c`",
        "rumprun": "hello, `rumprun xen -i`",
    }
    for kind, values in samples.items():
        m = statistics.median(values)
        print(
            f"| {names[kind]} | {m:.0f} ms | {min(values):.0f} ms | "
            f"{max(values):.0f} ms | {m / floor:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
