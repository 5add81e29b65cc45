#!/usr/bin/env python3
"""Network benchmarks: the same static HTTP server (tests/apps/net/httpd.c) in
the unikernel, in a Linux microVM and natively.

    make bench-net                  # = .venv/bin/python benchmarks/net_bench.py
    .venv/bin/python benchmarks/net_bench.py --quick

What it measures, for each server, over QEMU user networking with a port
forwarded from the host's 127.0.0.1 (natively: the server on 127.0.0.1):

- first answer: seconds from starting QEMU (or the process) to the first
  HTTP answer, boot included;
- requests/s: `wrk -t1 -cN -dDs` against the 612-byte page with keep-alive,
  N = 16 and 64, after a one-second warm-up;
- bulk MB/s: one GET of /bytes/268435456 (256 MiB), timed from the request
  to the last byte;
- CPU per request: the CPU time (user + system, all threads) the server's
  process used during the 16-connection wrk run, divided by the requests
  it answered: for the guests, QEMU's (the vCPU and QEMU's own I/O and
  user networking).  Unlike requests/s it does not depend on how much of
  the host's CPUs the run gets, so it compares the guests fairly on a busy
  host; on an idle one, requests/s follow it.

The unikernel is built with rumprun-cc and baked with hw_generic, and runs
with -M 16 (16 MiB of memory), launched as a user would: `rumprun qemu -i
-M 16 -I net0,vioif -W net0,inet,static,10.0.2.15/24,10.0.2.2 -P
127.0.0.1:PORT:80` (the microVM's address, set statically as its init does).
The Linux side runs the same source built
statically against musl (gcc with musl's specs), in the microVM of
benchmarks/linux_microvm.py (Debian's cloud kernel, busybox initramfs,
256 MiB) and natively.  Both guests get the same QEMU (TCG, -cpu max)
and one virtio-net NIC on user networking.  The targets alternate, ROUNDS
times; every figure is a median.  Progress on stderr; the Markdown table
on stdout; every sample in build/bench-net/results.json.  wrk comes from
Debian: installed here when missing (as root), else named.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import linux_microvm  # noqa: E402

HTTPD_C = ROOT / "tests" / "apps" / "net" / "httpd.c"
VENV_BIN = ROOT / ".venv" / "bin"
MUSL_SPECS = "/usr/lib/x86_64-linux-musl/musl-gcc.specs"
BULK_BYTES = 256 << 20
TARGETS = ["unikernel", "linux_microvm", "native"]
NAMES = {
    "unikernel": "rumprun unikernel (-M 16)",
    "linux_microvm": "Linux microVM (Debian cloud kernel, 256 MiB)",
    "native": "native Linux (host)",
}


class BenchError(Exception):
    """A failure that stops the run, as one sentence."""


def progress(msg):
    print(f"bench-net: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BenchError(f"{' '.join(map(str, cmd))} failed: {detail}")
    return result.stdout


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise BenchError("wrk is missing: install it with `sudo apt-get install wrk`")
    progress("installing wrk (Debian package)")
    run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(work):
    work.mkdir(parents=True, exist_ok=True)
    progress("building the server for the unikernel and, statically with musl, for Linux")
    run(["make", "-C", ROOT, "libs"])
    run([VENV_BIN / "rumprun-cc", "-O2", "-o", work / "httpd", HTTPD_C])
    run([VENV_BIN / "rumprun-bake", "hw_generic", work / "httpd.bin", work / "httpd"])
    run(["gcc", f"-specs={MUSL_SPECS}", "-static", "-O2", "-o", work / "httpd-musl", HTTPD_C])
    vmlinuz, initrd = linux_microvm.build(work / "httpd-musl", work / "microvm")
    return {
        "image": work / "httpd.bin",
        "musl": work / "httpd-musl",
        "vmlinuz": vmlinuz,
        "initrd": initrd,
    }


def command(target, b, port):
    """The command that starts TARGET's server, reachable at 127.0.0.1:PORT."""
    fwd = f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80"
    if target == "native":
        return [b["musl"], "-p", str(port)]
    if target == "linux_microvm":
        return linux_microvm.qemu_args(b["vmlinuz"], b["initrd"], ["-p", "80"], netdev=fwd)
    # As a user would, with the microVM's static address.
    return [
        VENV_BIN / "rumprun",
        "qemu",
        "-i",
        "-M",
        "16",
        "-I",
        "net0,vioif",
        "-W",
        "net0,inet,static,10.0.2.15/24,10.0.2.2",
        "-P",
        f"127.0.0.1:{port}:80",
        b["image"],
        "--",
        "-p",
        "80",
    ]


def http_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(target, b, port, log):
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(c) for c in command(target, b, port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    while time.monotonic() - t0 < 120:
        if proc.poll() is not None:
            raise BenchError(
                f"the {target} server ended (status {proc.returncode}) "
                f"before answering; see {log.name}"
            )
        if http_ok(port):
            return proc, time.monotonic() - t0
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise BenchError(f"the {target} server did not answer within 120 s; see {log.name}")


def process_cpu(pid):
    """CPU seconds (user + system) process PID has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(target, proc):
    """The process doing the serving: for the unikernel, the launcher's QEMU."""
    if target != "unikernel":
        return proc.pid
    for _ in range(100):
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise BenchError("the launcher started no QEMU")


def wrk(port, conns, seconds):
    out = run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        timeout=seconds + 60,
    )
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise BenchError(f"wrk printed no Requests/sec:\n{out}")
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise BenchError(f"wrk got {non2xx.group(1)} error answers")
    return float(m.group(1)), errors.group(1) if errors else ""


def bulk(port, nbytes):
    """MB/s of one GET /bytes/NBYTES, request to last byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        t0 = time.monotonic()
        s.sendall(f"GET /bytes/{nbytes} HTTP/1.0\r\n\r\n".encode())
        got = 0
        head = b""
        while chunk := s.recv(1 << 20):
            if not head:
                head = chunk[:16]
            got += len(chunk)
        elapsed = time.monotonic() - t0
    if not head.startswith(b"HTTP/1.1 200") or got < nbytes:
        raise BenchError(f"the bulk transfer got {got} bytes of {nbytes}")
    return nbytes / elapsed / 1e6


def measure(target, b, work, seconds, nbytes):
    port = free_port()
    log = open(work / f"{target}.log", "w")
    proc, first = start(target, b, port, log)
    try:
        pid = server_pid(target, proc)
        wrk(port, 16, 1)  # warm-up
        cpu0 = process_cpu(pid)
        r16, e16 = wrk(port, 16, seconds)
        cpu_us = (process_cpu(pid) - cpu0) / (r16 * seconds) * 1e6
        r64, e64 = wrk(port, 64, seconds)
        mbs = bulk(port, nbytes)
    finally:
        proc.kill()
        proc.wait()
        log.close()
    progress(
        f"{target}: first answer {first:.1f} s, {r16:.0f} req/s (16), "
        f"{r64:.0f} req/s (64), {mbs:.1f} MB/s, {cpu_us:.1f} us CPU per request"
    )
    return {
        "first_answer_s": first,
        "rps16": r16,
        "rps64": r64,
        "bulk_mbs": mbs,
        "cpu_us_per_request": cpu_us,
        "wrk_errors16": e16,
        "wrk_errors64": e64,
    }


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    qemu = run(["qemu-system-x86_64", "--version"]).splitlines()[0]
    return (
        f"{cpu}, {os.cpu_count()} CPUs; {qemu}; load average {os.getloadavg()[0]:.1f} at the start"
    )


def report(samples, rounds, seconds):
    med = {
        t: {
            k: statistics.median(s[k] for s in samples[t])
            for k in ("first_answer_s", "rps16", "rps64", "bulk_mbs", "cpu_us_per_request")
        }
        for t in TARGETS
    }
    ref = med["linux_microvm"]
    print(f"Medians of {rounds} rounds (wrk -t1, {seconds} s each; bulk: 256 MiB in one GET).\n")
    print(
        "| server | first answer | requests/s, 16 conns | requests/s, 64 conns "
        "| CPU per request (16 conns) | bulk MB/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for t in TARGETS:
        m = med[t]
        print(
            f"| {NAMES[t]} | {m['first_answer_s']:.1f} s | {m['rps16']:,.0f} | "
            f"{m['rps64']:,.0f} | {m['cpu_us_per_request']:.1f} us | {m['bulk_mbs']:,.1f} |"
        )
    u = med["unikernel"]
    print(
        f"| **unikernel / Linux microVM** | {u['first_answer_s'] / ref['first_answer_s']:.2f}x | "
        f"**{u['rps16'] / ref['rps16']:.2f}x** | **{u['rps64'] / ref['rps64']:.2f}x** | "
        f"{u['cpu_us_per_request'] / ref['cpu_us_per_request']:.2f}x "
        f"(**{ref['cpu_us_per_request'] / u['cpu_us_per_request']:.2f}x fewer**) | "
        f"{u['bulk_mbs'] / ref['bulk_mbs']:.2f}x |"
    )
    print("\nAim: requests/s at least 2x the Linux microVM's, never below it.")
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5, help="wrk's duration")
    ap.add_argument("--quick", action="store_true", help="1 round, 2 s, 64 MiB bulk")
    args = ap.parse_args()
    rounds, seconds, nbytes = args.rounds, args.seconds, BULK_BYTES
    if args.quick:
        rounds, seconds, nbytes = 1, 2, 64 << 20
    work = ROOT / "build" / "bench-net"
    try:
        ensure_wrk()
        b = build(work)
        info = machine()
        samples = {t: [] for t in TARGETS}
        for r in range(rounds):
            order = TARGETS[r % 3 :] + TARGETS[: r % 3]
            for t in order:
                progress(f"round {r + 1}/{rounds}: {t}")
                samples[t].append(measure(t, b, work, seconds, nbytes))
    except BenchError as e:
        print(f"bench-net: {e}", file=sys.stderr)
        return 2
    except linux_microvm.MicrovmError as e:
        print(f"bench-net: the Linux microVM: {e}", file=sys.stderr)
        return 2
    print(f"Machine: {info}.\n")
    med = report(samples, rounds, seconds)
    (work / "results.json").write_text(
        json.dumps(
            {
                "machine": info,
                "rounds": rounds,
                "seconds": seconds,
                "bulk_bytes": nbytes,
                "samples": samples,
                "medians": med,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
