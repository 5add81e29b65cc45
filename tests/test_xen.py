"""rumprun xen under real Xen: Xen and a Debian dom0 booted once per session
under QEMU (scripts/xen-harness, Session), images baked with xen_pvh on the
host, launched with `rumprun xen -i` inside dom0.

The hello and runtime tests are the QEMU tests themselves (imported from
test_boot_hello and test_runtime), run with this module's `run`, which
sends `rumprun qemu ...` to dom0 as `rumprun xen ...`: the same assertions
on what the guest printed and on its exit status.  Then what is Xen's own:
the configuration through xenstore or the PVH command line, crash
statuses as Xen sees them, detached domains in ps and stop, -D, disks
(blkfront), network interfaces (netfront, over a bridge dom0 makes) and
stdin through the console.

When the harness cannot be built here (no root for debootstrap, no
network), the tests that need it are skipped with the harness's reason.
"""

import importlib.machinery
import importlib.util
import re
import shutil
import signal
import subprocess
import time

import pytest

import test_runtime
from conftest import HELLO_C, ROOT, RUNTIME_APPS, RUNTIME_SOURCES, assert_one_line_error, tool

pytestmark = pytest.mark.qemu  # the tests here boot guests (Xen in QEMU)

HARNESS = ROOT / "scripts" / "xen-harness"
# Guests run nested (a TCG machine running Xen running them): allow more time.
SLOWER = 6


def load_harness():
    loader = importlib.machinery.SourceFileLoader("xen_harness", str(HARNESS))
    spec = importlib.util.spec_from_loader("xen_harness", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def host(state_env, name, *args):
    """A host tool (rumprun-cc, rumprun-bake) that must succeed."""
    result = subprocess.run(
        tool(name) + [str(a) for a in args],
        env=state_env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stderr}"


@pytest.fixture(scope="session")
def xen_images(state_env, kernel_libs, tmp_path_factory):
    """The test programs baked with xen_pvh, in one directory dom0 sees."""
    out = tmp_path_factory.mktemp("xen")
    images = {}

    def bake(image, apps, cc_flags=("-O2",)):
        for name, sources in apps.items():
            host(state_env, "rumprun-cc", *cc_flags, "-o", out / name, *sources)
        host(state_env, "rumprun-bake", "xen_pvh", out / image, *[out / n for n in apps])
        images[image] = out / image

    # As conftest and test_runtime build them for QEMU.
    bake("hello.xen", {"hello": [HELLO_C]}, ("-O2", "-DNO_SLEEP"))
    src, flags = RUNTIME_APPS, ("-O2", "-lpthread")
    bake("runtime.xen", {"runtime": [src / s for s in RUNTIME_SOURCES]}, flags)
    bake("crash.xen", {"crash": [src / "crash.c"]}, flags)
    storage = ROOT / "tests" / "apps" / "storage"
    bake("fsprobe.xen", {"fsprobe": [storage / "fsprobe.c"]})
    bake("storage.xen", {"storage": [storage / "storage.c"]})
    bake("streams.xen", {"streams": [ROOT / "tests" / "apps" / "console" / "streams.c"]})
    net = ROOT / "tests" / "apps" / "net"
    bake("nettest.xen", {"nettest": [net / "nettest.c"]}, ("-O2", "-lpthread"))
    bake("httpd.xen", {"httpd": [net / "httpd.c"]})
    # Volumes for the disk tests, made on the host as a user makes them.
    tree = out / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "in.txt").write_text("from the host\n")
    (tree / "sub" / "deep.txt").write_text("deeper\n")
    host(state_env, "rumprun", "mkfs", "ext2", tree, out / "vol.img")
    host(state_env, "rumprun", "mkfs", "iso", tree, out / "vol.iso")
    images["vol.img"], images["vol.iso"] = out / "vol.img", out / "vol.iso"
    bake(
        "programs.xen",
        {
            "ctors": [src / "ctors.c"],
            "produce": [src / "produce.c"],
            "consume": [src / "consume.c"],
        },
        flags,
    )
    return out, images


@pytest.fixture(scope="session")
def dom0(xen_images):
    """One Xen + dom0 boot for the whole session."""
    harness = load_harness()
    try:
        session = harness.Session(binds=[str(xen_images[0])])
    except harness.HarnessError as e:
        if e.status == harness.EXIT_CANNOT_BUILD:
            pytest.skip(f"the Xen harness cannot be built here: {e}")
        raise AssertionError(f"the Xen harness did not come up: {e}\n{e.detail}")
    yield session
    session.close()


@pytest.fixture(scope="session")
def run(dom0):
    """Like conftest's run, for the launcher only: in dom0, `qemu` as `xen`."""

    def run(name, *args, cwd=None, env=None, timeout=120, check=None):
        assert name == "rumprun", f"{name} runs on the host, not in dom0"
        args = [str(a) for a in args]
        if args[:1] == ["qemu"]:
            args[0] = "xen"
        status, out, err = dom0.run(["rumprun", *args], cwd=cwd, timeout=timeout * SLOWER)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        if status == 124:
            raise subprocess.TimeoutExpired(["rumprun", *args], timeout, out, err)
        if check is not None:
            assert status == check, f"rumprun {' '.join(args)} exited {status}:\n{out}\n{err}"
        return subprocess.CompletedProcess(["rumprun", *args], status, out, err)

    return run


def shell(dom0, script, timeout=300):
    """A dom0 shell script's (status, stdout, stderr) as text."""
    status, out, err = dom0.run(["sh", "-c", script], timeout=timeout)
    return status, out.decode(errors="replace"), err.decode(errors="replace")


@pytest.fixture(scope="session")
def hello_bin(xen_images):
    return xen_images[1]["hello.xen"]


@pytest.fixture(scope="session")
def runtime_bin(xen_images):
    return xen_images[1]["runtime.xen"]


@pytest.fixture(scope="session")
def crash_bin(xen_images):
    return xen_images[1]["crash.xen"]


@pytest.fixture(scope="session")
def programs_bin(xen_images):
    return xen_images[1]["programs.xen"]


# ---- the QEMU tests, under Xen ---------------------------------------------


@pytest.fixture
def clock_step_us():
    """Xen nested under TCG: the realtime clock read 8.2 ms across a 10 ms
    realtime sleep once (its readings step by milliseconds there)."""
    return 3_000


@pytest.fixture
def timer_late_us():
    """Xen nested under TCG: a 50 ms timed wait ended 180 ms late on a host
    at load 7 (test_cond_timedwait_times_out_after_50_ms)."""
    return 500_000


from test_boot_hello import (  # noqa: E402,F401
    test_arguments_and_environment_arrive_exactly,
    test_hello_greets_from_the_environment,
    test_status_line_is_the_last_line,
)
from test_runtime import (  # noqa: E402,F401
    test_1000_threads_created_and_joined_in_64_mib,
    test_abort_is_sigabrt,
    test_cond_timedwait_times_out_after_50_ms,
    test_constructors_destructors_and_atexit_run_in_order,
    test_identity_of_the_one_process,
    test_monotonic_clock_only_goes_forward,
    test_pipe_feeds_the_producers_output_to_the_consumer,
    test_realtime_clock_is_the_hosts_time,
    test_status_is_the_last_foreground_programs,
    test_10_ms_sleeps_are_never_early_and_end,
)


# A few cases of each kind: every launch costs seconds in dom0 under TCG.
@pytest.mark.parametrize("case", ["create_join", "cond", "tls"])
def test_threads(run, runtime_bin, case):
    test_runtime.run_case(run, runtime_bin, case)


@pytest.mark.parametrize("case", ["mmap"])
def test_memory(run, runtime_bin, case):
    test_runtime.run_case(run, runtime_bin, case, memory=64)


@pytest.mark.parametrize(
    "case, status, words",
    [
        ("null", 139, ["null pointer dereference", "<main+"]),
        ("stack_overflow", 139, ["stack overflow", "<recurse+"]),
    ],
)
def test_crash_is_reported_with_the_shells_status(run, crash_bin, case, status, words):
    test_runtime.test_crash_is_reported_with_the_shells_status(run, crash_bin, case, status, words)


def test_deadlock_is_reported(run, crash_bin):
    test_runtime.test_deadlock_is_reported(run, crash_bin, "deadlock_join")


# ---- Xen's own -----------------------------------------------------------------


def test_configuration_from_the_pvh_command_line(dom0, hello_bin):
    """Without rumprun's xenstore key the kernel reads the PVH command line
    (an xl configuration's cmdline=) from its first '{'."""
    cfg = (
        f'type="pvh"\nname="bycmdline"\nkernel="{hello_bin}"\nmemory=48\n'
        'on_poweroff="destroy"\non_crash="destroy"\non_reboot="destroy"\n'
        'cmdline=\'{"cmdline":"hello.xen 9","env":["WORLD=cmdline"],'
        '"hostname":"h"}\'\n'
    )
    status, out, err = shell(
        dom0, f"cat > /tmp/bycmdline.cfg <<'EOF'\n{cfg}EOF\nxl create -c /tmp/bycmdline.cfg"
    )
    said = f"status {status}\n{out}\n{err}"
    assert "Hello, cmdline!" in out, said
    assert "=== rumprun: exit status 9 ===" in out, said


def test_detached_guest_is_listed_with_how_it_ended_and_stopped(dom0, run, crash_bin):
    """Without -i and -d, Xen keeps a crashed domain: ps shows it crashed
    with its status; stop destroys it and forgets it."""
    started = run("rumprun", "xen", "-N", "crashy", crash_bin, "--", "null", check=0)
    assert started.stdout.strip() == "crashy"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        listing = run("rumprun", "ps", check=0).stdout
        if "crashed (status 139)" in listing:
            break
        time.sleep(2)
    assert re.search(r"crashy .* xen .* crashed \(status 139\)", listing), listing
    status, xl, _ = shell(dom0, "xl list crashy")
    assert status == 0 and re.search(r"crashy\s.*c-", xl), xl
    run("rumprun", "stop", "crashy", check=0)
    assert shell(dom0, "xl list crashy")[0] != 0
    assert "crashy" not in run("rumprun", "ps", check=0).stdout


def test_a_name_in_use_is_refused(dom0, run, hello_bin):
    status, _, err = shell(
        dom0, f"rumprun xen -p -N twice {hello_bin} && rumprun xen -N twice {hello_bin}"
    )
    try:
        assert status == 2, err
        last = err.strip().splitlines()[-1]
        assert "'twice'" in last and "exists already" in last, err
    finally:
        run("rumprun", "stop", "twice")


# ---- ending a guest from outside: Ctrl-C, rumprun stop, xl shutdown ---------
# tests/apps/storage's "lazy" mode writes 1 MiB without fsync, prints
# "written" and sleeps: the kernel must write it back and unmount before
# powering off.  Checked in dom0 with e2fsck and the file's SHA-256.

WAIT_WRITTEN = (
    'i=0; while ! grep -qs written "$1" && [ $i -lt 1500 ]; do sleep 0.2; i=$((i+1)); done; '
)


def lazy_file_checks(image):
    return (
        f"e2fsck -fn {image} >/dev/null; echo fsck $?; "
        f"debugfs -R 'dump /lazy.bin /tmp/lazy.bin' {image} 2>/dev/null; "
        "sha256sum /tmp/lazy.bin; rm -f /tmp/lazy.bin"
    )


def lazy_sha256():
    import hashlib

    from conftest import pattern

    return hashlib.sha256(pattern(98, 0, 1 << 20)).hexdigest()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_launchers_signal_syncs_and_powers_off(dom0, xen_images, signum):
    images = xen_images[1]
    status, out, err = shell(
        dom0,
        "set -- /tmp/lazy.out; cp " + str(images["vol.img"]) + " /tmp/sd.img; "
        f"rumprun xen -i -M 48 -b /tmp/sd.img,/data {images['storage.xen']} -- lazy /data "
        ">/tmp/lazy.out 2>/tmp/lazy.err & pid=$!; "
        + WAIT_WRITTEN
        + f"begin=$(date +%s%N); kill -{int(signum)} $pid; wait $pid; echo status $?; "
        "echo took $(( ($(date +%s%N) - begin) / 1000000 )) ms; "
        "echo ---; cat /tmp/lazy.err; echo ---; "
        + lazy_file_checks("/tmp/sd.img")
        + "; rm -f /tmp/sd.img /tmp/lazy.out /tmp/lazy.err",
        timeout=600,
    )
    said = f"status {status}\n{out}\n{err}"
    assert f"status {128 + signum}\n" in out, said
    guest_said = out.split("---\n")[1]
    assert "rumprun: shutdown requested: syncing volumes\n" in guest_said, said
    assert guest_said.endswith(f"=== rumprun: exit status {128 + signum} ===\n"), said
    assert "destroyed" not in guest_said, said
    assert "fsck 0" in out and lazy_sha256() in out, said


def test_rumprun_stop_and_xl_shutdown_sync_and_power_off(dom0, xen_images):
    """A detached guest: rumprun stop asks it to sync and power off (its
    console shows 143, as SIGTERM), then forgets it; xl shutdown, Xen's
    own request, is understood the same way."""
    images = xen_images[1]
    # The guests' state directory, as the launcher in dom0 finds it.
    python = '"$(head -1 "$(command -v rumprun)" | cut -c3-)"'
    state = f"$({python} -c 'from rumprun import guests; print(guests.state_root())')"
    runs = []
    for name, how in (("stopme", "rumprun stop stopme"), ("xlshut", "xl shutdown -w xlshut")):
        runs.append(
            shell(
                dom0,
                f"cp {images['vol.img']} /tmp/{name}.img; "
                f"rumprun xen -N {name} -M 48 -b /tmp/{name}.img,/data "
                f"{images['storage.xen']} -- lazy /data && "
                f"set -- {state}/{name}/console.log && "
                + WAIT_WRITTEN
                + f"{how}; echo stopped $?; sleep 1; echo ---; cat $1; echo ---; "
                + lazy_file_checks(f"/tmp/{name}.img")
                + f"; rumprun stop {name} 2>/dev/null; rm -f /tmp/{name}.img; "
                f"rumprun ps | grep -c {name}",
                timeout=600,
            )
        )
    for (status, out, err), kept in zip(runs, (False, True)):
        said = f"status {status}\n{out}\n{err}"
        assert "stopped 0\n" in out, said
        # The file was never synced by the program: on the disk, it was
        # written back at the shutdown.
        assert "fsck 0" in out and lazy_sha256() in out, said
        assert out.rstrip().endswith("0"), said  # rumprun ps lists it no more
        if kept:  # rumprun stop forgets the guest, its console log too
            console = out.split("---\n")[1]
            assert "rumprun: shutdown requested: syncing volumes" in console, said
            assert "=== rumprun: exit status 143 ===" in console, said


# ---- disks: blkfront ----------------------------------------------------------
# The host's directories are read-only in dom0 (the harness shares them over
# 9p): an image the guest writes is copied into dom0's /tmp first, and
# checked there with dom0's e2fsck.


def test_ext2_disk_is_read_and_written_and_left_clean(dom0, xen_images):
    images = xen_images[1]
    status, out, err = shell(
        dom0,
        f"cp {images['vol.img']} /tmp/rw.img && "
        f"rumprun xen -i -M 48 -b /tmp/rw.img,/data {images['fsprobe.xen']} -- "
        "cat /data/in.txt , cat /data/sub/deep.txt , write /data/out.txt 'from the guest' , "
        "statfs /data; echo status $?; e2fsck -fn /tmp/rw.img >/dev/null; echo fsck $?; "
        "debugfs -R 'cat /out.txt' /tmp/rw.img 2>/dev/null; echo; rm /tmp/rw.img",
    )
    said = f"status {status}\n{out}\n{err}"
    assert "cat /data/in.txt: from the host" in out, said
    assert "cat /data/sub/deep.txt: deeper" in out, said
    assert "write /data/out.txt: ok" in out, said
    assert "statfs /data: type=ef53 ro=0" in out, said
    assert "status 0" in out and "fsck 0" in out, said
    assert out.rstrip().endswith("from the guest"), said


def test_ext2_workload_on_a_xen_disk_matches_the_host(dom0, xen_images, tmp_path):
    """tests/apps/storage's workload on a fresh volume, then its manifest,
    as the QEMU tests compare it with the same program run natively."""
    images = xen_images[1]
    status, out, err = shell(
        dom0,
        f"cp {images['vol.img']} /tmp/work.img && "
        f"rumprun xen -i -M 64 -b /tmp/work.img,/data {images['storage.xen']} -- work /data "
        "&& e2fsck -fn /tmp/work.img >/dev/null && echo clean && "
        f"rumprun xen -i -M 64 -b /tmp/work.img,/data {images['storage.xen']} -- manifest /data; "
        "echo status $?; rm /tmp/work.img",
        timeout=600,
    )
    said = f"status {status}\n{out[-3000:]}\n{err[-3000:]}"
    assert "work done" in out and "clean" in out and "status 0" in out, said
    native = tmp_path / "storage"
    subprocess.run(
        ["gcc", "-O2", "-o", native, ROOT / "tests" / "apps" / "storage" / "storage.c"], check=True
    )
    on_host = tmp_path / "data"
    shutil.copytree(xen_images[0] / "tree", on_host)
    subprocess.run([native, "work", on_host], check=True, capture_output=True)
    want = subprocess.run(
        [native, "manifest", on_host], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    got = out.split("clean\n", 1)[1].splitlines()
    got = [line for line in got if not line.startswith(("===", "status "))]
    assert got == want, said


def test_iso_volume_is_read_only(run, xen_images):
    """An ISO 9660 image straight from the host (read-only in dom0 too)."""
    images = xen_images[1]
    result = run(
        "rumprun",
        "xen",
        "-i",
        "-M",
        "48",
        "-b",
        f"{images['vol.iso']},/cd",
        images["fsprobe.xen"],
        "--",
        "cat",
        "/cd/sub/deep.txt",
        ",",
        "write",
        "/cd/new.txt",
        "x",
        ",",
        "statfs",
        "/cd",
    )
    said = f"status {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, said
    assert "cat /cd/sub/deep.txt: deeper" in result.stdout, said
    assert "write /cd/new.txt: error EROFS" in result.stdout, said
    assert "ro=1" in result.stdout, said


def test_raw_disk_is_dev_ld0(dom0, xen_images):
    images = xen_images[1]
    status, out, err = shell(
        dom0,
        "head -c 3145728 /dev/zero > /tmp/raw.img && "
        f"rumprun xen -i -M 48 -b /tmp/raw.img {images['storage.xen']} -- raw /dev/ld0; "
        "echo status $?; dd if=/tmp/raw.img bs=1 skip=1000 count=14 2>/dev/null; echo; "
        "rm /tmp/raw.img",
    )
    said = f"status {status}\n{out}\n{err}"
    assert f"size {3 << 20} end {3 << 20}" in out, said
    assert "read back 'raw block data'" in out and "block device 1" in out, said
    assert "status 0" in out, said
    assert out.rstrip().endswith("raw block data"), said


# ---- the console's input: stdin ---------------------------------------------------


def test_stdin_reaches_the_program_byte_for_byte_then_ends(dom0, xen_images):
    """rumprun xen -i feeds its stdin through the PV console: every byte
    value (0xff is the launcher's escape), more than the console's ring
    holds, then end of file.  The program's stdout and stderr share Xen's
    one console, so its report follows the echo on stdout."""
    out_dir, images = xen_images
    # No \r: the launcher reads the console's line ends as text.
    data = bytes(range(256)).replace(b"\r", b"") * 4 + b"0123456789abcdef" * 300 + b"\n"
    (out_dir / "stdin.bin").write_bytes(data)
    status, out, err = dom0.run(
        [
            "sh",
            "-c",
            f"rumprun xen -i -M 48 {images['streams.xen']} -- echo < {out_dir / 'stdin.bin'}",
        ],
        timeout=300,
    )
    said = f"status {status}\n{out[-500:]!r}\n{err.decode(errors='replace')}"
    assert status == 0, said
    assert out.startswith(data), said
    report = out[len(data) :].decode(errors="replace")
    assert f"read {len(data)} bytes (last 0) isatty 0 " in report, said


# ---- network: netfront ----------------------------------------------------------
# dom0's side of the guests' network is the bridge xl's vifs join by
# default (xenbr0), with dom0 at 10.0.0.1/24; the guests take static
# addresses on it (dom0 runs no DHCP server).


@pytest.fixture(scope="session")
def bridge(dom0):
    status, _, err = shell(
        dom0,
        "ip link show xenbr0 >/dev/null 2>&1 || { ip link add xenbr0 type bridge && "
        "ip addr add 10.0.0.1/24 dev xenbr0 && ip link set xenbr0 up; }",
    )
    assert status == 0, err
    return "10.0.0.1"


def test_guest_fetches_from_dom0_over_netfront(dom0, bridge, xen_images):
    """TCP from the guest: 300 kB from an HTTP server in dom0."""
    images = xen_images[1]
    status, out, err = shell(
        dom0,
        "mkdir -p /tmp/www && cd /tmp/www && "
        "{ printf 'served by dom0'; head -c 300000 /dev/zero | tr '\\0' z; } > big && "
        "{ python3 -m http.server 8000 --bind 10.0.0.1 >/dev/null 2>&1 & echo $! > /tmp/www.pid; } "
        "&& sleep 1 && "
        "rumprun xen -i -M 64 -I net0,xenif -W net0,inet,static,10.0.0.2/24 "
        f"{images['nettest.xen']} -- fetch 10.0.0.1 8000 /big; echo status $?; "
        "kill $(cat /tmp/www.pid)",
    )
    said = f"status {status}\n{out}\n{err}"
    assert "rumprun: net: xenif0: 10.0.0.2/24" in err, said
    assert "fetch: HTTP/1.0 200 OK" in out, said
    assert "fetch: body 300014 bytes: served by dom0zzz" in out, said
    assert "nettest fetch: 0 failures" in out and "status 0" in out, said


def test_dom0_fetches_from_the_guests_server(dom0, bridge, xen_images):
    """TCP to the guest: dom0 asks its httpd for 200 kB, twice; the
    server ends after two requests, with status 0."""
    images = xen_images[1]
    fetch = (
        "import sys, time, urllib.request\n"
        "for attempt in range(240):\n"
        "    try:\n"
        "        url = 'http://10.0.0.3:8080/bytes/200000'\n"
        "        body = urllib.request.urlopen(url, timeout=5).read()\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.5)\n"
        "else:\n"
        "    sys.exit('no answer')\n"
        "again = urllib.request.urlopen('http://10.0.0.3:8080/', timeout=30).read()\n"
        "print('got', len(body), len(again))\n"
    )
    status, out, err = shell(
        dom0,
        "rumprun xen -i -M 64 -I net0,xenif,bridge=xenbr0 -W net0,inet,static,10.0.0.3/24 "
        f"{images['httpd.xen']} -- -p 8080 -n 2 > /tmp/httpd.out 2>&1 & "
        f'python3 -c "{fetch}"; wait $!; echo status $?; cat /tmp/httpd.out',
    )
    said = f"status {status}\n{out}\n{err}"
    assert "got 200000 612" in out, said
    assert "httpd: listening on port 8080" in out and "status 0" in out, said


# ---- without Xen -----------------------------------------------------------------


@pytest.fixture(scope="session")
def host_hello(xen_images):
    return xen_images[1]["hello.xen"]


def test_dry_run_prints_the_domain_config_and_commands(state_env, host_hello, tmp_path):
    result = subprocess.run(
        tool("rumprun")
        + [
            "-D",
            "-T",
            str(tmp_path),
            "xen",
            "-d",
            "-M",
            "48",
            "-N",
            "web",
            "-e",
            "A=b c",
            str(host_hello),
            "--",
            "x",
        ],
        env=state_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    cfg = out.split("<<'RUMPRUN_EOF'\n", 1)[1].split("RUMPRUN_EOF", 1)[0]
    for line in [
        'type = "pvh"',
        'name = "web"',
        f'kernel = "{host_hello}"',
        "memory = 48",
        "vcpus = 1",
        'on_poweroff = "destroy"',
        'on_crash = "destroy"',
        'on_reboot = "destroy"',
    ]:
        assert line in cfg.splitlines(), out
    commands = [ln for ln in out.splitlines() if ln.startswith(("xl ", "sh "))]
    assert commands[0] == f"xl create -p {tmp_path}/rumprun-xen.web/web.cfg", out
    assert "xenstore-write" in commands[1] and "/rumprun/cfg" in commands[1], out
    assert '"env":["A=b c"]' in commands[1] and "hello.xen x" in commands[1], out
    assert commands[2] == "xl unpause web", out
    # The script does what it says: a shell reads it without error.
    assert subprocess.run(["sh", "-n"], input=out, text=True).returncode == 0


def test_without_xl_one_sentence(state_env, host_hello):
    if shutil.which("xl"):
        pytest.skip("this host has xl (it may be a dom0)")
    result = subprocess.run(
        tool("rumprun") + ["xen", "-i", str(host_hello)],
        env=state_env,
        capture_output=True,
        text=True,
    )
    assert_one_line_error(result, "xl", "xen-utils", "dom0")


def test_dry_run_gives_disks_in_order_read_only_where_needed(state_env, xen_images, tmp_path):
    images = xen_images[1]
    result = subprocess.run(
        tool("rumprun")
        + [
            "-D",
            "-T",
            str(tmp_path),
            "xen",
            "-N",
            "disks",
            "-b",
            f"{images['vol.img']},/data",
            "-b",
            f"{images['vol.iso']},/cd",
            str(images["fsprobe.xen"]),
        ],
        env=state_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    cfg = result.stdout.split("<<'RUMPRUN_EOF'\n", 1)[1].split("RUMPRUN_EOF", 1)[0]
    assert (
        "disk = [\n"
        f'    "format=raw, vdev=xvda, access=rw, target={images["vol.img"]}",\n'
        f'    "format=raw, vdev=xvdb, access=ro, target={images["vol.iso"]}",\n'
        "]\n"
    ) in cfg, cfg
    config = [ln for ln in result.stdout.splitlines() if "xenstore-write" in ln][0]
    assert '"path":"/dev/ld0"' in config and '"mountpoint":"/data"' in config, config
    assert '"path":"/dev/ld1"' in config and '"fstype":"cd9660"' in config, config


def test_dry_run_gives_interfaces_as_vifs_in_order(state_env, host_hello, tmp_path):
    result = subprocess.run(
        tool("rumprun")
        + [
            "-D",
            "-T",
            str(tmp_path),
            "xen",
            "-I",
            "net0,xenif",
            "-I",
            "net1,xenif,bridge=br1,mac=00:16:3e:00:00:01",
            "-W",
            "net1,inet,static,10.1.0.2/24,10.1.0.1",
            str(host_hello),
        ],
        env=state_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    cfg = result.stdout.split("<<'RUMPRUN_EOF'\n", 1)[1].split("RUMPRUN_EOF", 1)[0]
    assert 'vif = [\n    "",\n    "bridge=br1,mac=00:16:3e:00:00:01",\n]\n' in cfg, cfg
    config = [ln for ln in result.stdout.splitlines() if "xenstore-write" in ln][0]
    assert '"if":"xenif1"' in config and '"gw":"10.1.0.1"' in config, config


def test_interfaces_of_the_wrong_kind_are_refused(state_env, host_hello):
    for flag, words in [
        ("net0,vioif", ["rumprun xen has no vioif", "xenif"]),
        ("net0,xenif,-net user", ["takes no QEMU backend options", "bridge=xenbr0"]),
    ]:
        result = subprocess.run(
            tool("rumprun") + ["xen", "-I", flag, str(host_hello)],
            env=state_env,
            capture_output=True,
            text=True,
        )
        assert_one_line_error(result, *words)


def test_devices_xen_cannot_give_are_refused(state_env, host_hello):
    result = subprocess.run(
        tool("rumprun") + ["xen", "-g", "-m 64", str(host_hello)],
        env=state_env,
        capture_output=True,
        text=True,
    )
    assert_one_line_error(result, "rumprun xen cannot give", "-g")
