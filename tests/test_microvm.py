"""rumprun microvm: the same images and the same assertions as on the pc
machine (test_boot_hello, test_runtime, test_net, test_storage,
test_storage_fs), booted on QEMU's microvm machine, which has no PCI bus
and no firmware tables: the kernel's console on the ISA serial port, the
programs' streams, network, disks and shared folders over virtio-mmio,
the configuration through fw_cfg, the status through isa-debug-exit.
(Their fixtures are repeated here: test modules import none of each
other.)
"""

import http.server
import shutil
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

from conftest import (
    ROOT,
    assert_one_line_error,
    dry_run,
    free_port,
    micros,
    ps_line,
    tool,
    wait_for,
)

APPS = ROOT / "tests" / "apps"

pytestmark = pytest.mark.qemu  # the tests here boot guests


def boot(run, *args, timeout=120):
    """rumprun microvm -i ARGS -> (result, what the guest printed); a hang
    gives returncode None."""
    try:
        result = run("rumprun", "microvm", "-i", *args, timeout=timeout)
    except subprocess.TimeoutExpired as e:

        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else b or ""

        result = SimpleNamespace(
            returncode=None,
            stdout=text(e.stdout),
            stderr=text(e.stderr) + f"\n(no end after {timeout} s)",
        )
    return result, (
        f"exit status {result.returncode}; the guest printed:\n"
        f"{result.stdout}\nstderr:\n{result.stderr}"
    )


def run_case(run, image, case, *args, memory=None):
    flags = ["-M", str(memory)] if memory else []
    result, said = boot(run, *flags, image, "--", case, *args)
    assert "FAIL" not in result.stdout, said
    assert f"runtime {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout


# ---- the machine ------------------------------------------------------------


def test_the_plan_is_a_microvm_without_pci(run, hello_bin):
    argv, config, _ = dry_run(
        run, "microvm", "-i", "-e", "WORLD=mv", "-I", "net0,vioif", hello_bin, "--", "a"
    )
    machine = argv[argv.index("-M") + 1].split(",")
    assert machine[0] == "microvm" and "ioapic2=off" in machine
    assert argv[argv.index("-kernel") + 1] == str(hello_bin)
    assert "virtio-net-device,netdev=net0" in argv
    assert not any("-pci" in a for a in argv), argv
    assert config["env"] == ["WORLD=mv"] and config["cmdline"].endswith(" a")


def test_no_e1000_without_pci(run, hello_bin):
    assert_one_line_error(
        run("rumprun", "microvm", "-I", "net0,e1000", hello_bin), "microvm", "e1000"
    )


# ---- tests/hello, as test_boot_hello -----------------------------------------


def test_hello_greets_from_the_environment(run, hello_bin):
    result, said = boot(run, "-e", "WORLD=microvm", hello_bin, "--", "7")
    assert "Hello, microvm" in result.stdout, said
    assert result.returncode == 7, said


def test_status_line_is_the_last_line(run, hello_bin):
    result, said = boot(run, hello_bin, "--", "3")
    # The kernel's line is on COM1 (stderr): the programs' streams are
    # virtio-console ports, over MMIO here.
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].strip() == "=== rumprun: exit status 3 ===", said
    assert "exit status" not in result.stdout, said
    assert result.returncode == 3, said


def test_arguments_and_environment_arrive_exactly(run, hello_bin):
    result, said = boot(
        run, "-e", 'WORLD=wörld "q" \\x', hello_bin, "--", "0", "it's", 'a"b', "c\\d", ""
    )
    assert 'Hello, wörld "q" \\x!' in result.stdout, said
    for i, arg in enumerate(["it's", 'a"b', "c\\d", ""], start=2):
        assert f"argv[{i}] = {arg}\n" in result.stdout, said
    assert result.returncode == 0, said


def test_detached_guest_ps_and_stop(run, hello_bin):
    name = "microvm-detached"
    started = run("rumprun", "microvm", "-N", name, hello_bin, "--", "5", check=0)
    assert started.stdout.strip() == name
    try:
        line = wait_for(lambda: "exited" in (ps_line(run, name) or "") and ps_line(run, name))
        assert line and "microvm" in line and "exited (status 5)" in line, line
    finally:
        run("rumprun", "stop", name, check=0)
    assert ps_line(run, name) is None


def test_paused_guest_continues(run, hello_bin):
    name = "microvm-paused"
    run("rumprun", "microvm", "-p", "-N", name, hello_bin, "--", "6", check=0)
    try:
        assert " paused " in ps_line(run, name)
        run("rumprun", "cont", name, check=0)
        line = wait_for(lambda: "exited" in (ps_line(run, name) or "") and ps_line(run, name))
        assert line and "exited (status 6)" in line, line
    finally:
        run("rumprun", "stop", name, check=0)


# ---- the POSIX runtime, as test_runtime ------------------------------------


@pytest.mark.parametrize("case", ["create_join", "mutex", "cond", "tls", "yield"])
def test_threads(run, runtime_bin, case):
    run_case(run, runtime_bin, case)


@pytest.mark.parametrize("case", ["mmap", "mprotect"])
def test_memory(run, runtime_bin, case):
    run_case(run, runtime_bin, case, memory=64)


def test_realtime_clock_is_the_hosts_time(run, runtime_bin):
    before = time.time()
    out = run_case(run, runtime_bin, "realtime")
    after = time.time()
    (sec, _) = micros(r"realtime (\d+)\.(\d+)", out, out)
    assert before - 3 <= sec <= after + 3, f"host {before}..{after}\n{out}"


def test_10_ms_sleeps_are_never_early_and_end(run, runtime_bin):
    out = run_case(run, runtime_bin, "sleeps")
    for how in ("nanosleep", "clock_nanosleep", "usleep"):
        low, high = micros(
            rf"sleep {how} 10 ms: late by min (-?\d+) us "
            rf"max (-?\d+) us",
            out,
            out,
        )
        assert low >= 0, f"{how} woke early\n{out}"
        assert high < 1_000_000, f"{how} woke a second late\n{out}"


def test_pipe_feeds_the_producers_output_to_the_consumer(run, programs_bin):
    result, said = boot(run, "--rc", "| produce 4 piped", "--rc", "consume 6", programs_bin)
    got = [ln for ln in result.stdout.splitlines() if ln.startswith("consume got: piped")]
    assert got == [f"consume got: piped {i}" for i in range(1, 5)], said
    assert result.returncode == 6, said


# ---- virtio over MMIO: the network, as test_net ------------------------------


@pytest.fixture(scope="session")
def nettest_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("nettest"),
        "nettest.bin",
        {"nettest": [APPS / "net" / "nettest.c"]},
        cc_flags=("-O2", "-lpthread"),
    )


@pytest.fixture(scope="session")
def httpd_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("httpd"), "httpd.bin", {"httpd": [APPS / "net" / "httpd.c"]}
    )


class Page(http.server.BaseHTTPRequestHandler):
    body = b"served by the host\n" * 50

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host_http():
    """An HTTP server on the host's 127.0.0.1 (10.0.2.2 for the guest)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def nic_args():
    """One interface, net0, with DHCP (as test_net's default)."""
    return ["-I", "net0,vioif", "-W", "net0,inet,dhcp"]


class Guest:
    """A guest booted in the background on microvm (as test_net's):
    wait for what it prints, stop it."""

    def __init__(self, state_env, image, argv, flags):
        args = tool("rumprun") + ["microvm", "-i", *flags, str(image), "--", *argv]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=state_env,
            stdin=subprocess.DEVNULL,
        )
        self.lines = []

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return
        pytest.fail(f"the guest never said {text!r}:\n{''.join(self.lines)}")

    def finish(self, timeout=60):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.lines.append(out)
        return self.proc.returncode, "".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def guest(state_env):
    started = []

    def start(*args, **kw):
        g = Guest(state_env, *args, **kw)
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()


def net_case(run, image, case, *args, flags=()):
    result, said = boot(run, *flags, *nic_args(), image, "--", case, *args)
    assert "FAIL" not in result.stdout, said
    assert f"nettest {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout + result.stderr  # the kernel's lines: stderr


@pytest.mark.parametrize("interface", ["modern", "legacy"])
def test_dhcp_then_fetch_from_a_host_server(run, nettest_bin, host_http, interface):
    """The launcher's virtio-mmio transports are version 2; QEMU's default,
    the legacy version 1, works too."""
    flags = ["-g", "-global virtio-mmio.force-legacy=true"] if interface == "legacy" else []
    out = net_case(run, nettest_bin, "fetch", "10.0.2.2", str(host_http), "/", flags=flags)
    assert "rumprun: net: vioif0: 10.0.2.15/24, gateway 10.0.2.2 (DHCP)" in out
    assert "fetch: HTTP/1.0 200 OK" in out
    assert f"fetch: body {len(Page.body)} bytes: served by the host" in out


def test_two_interfaces_keep_their_order(run, nettest_bin, host_http):
    """vioif0 is the first -I: the transports' order on the command line."""
    result, said = boot(
        run,
        "-I",
        "net0,vioif",
        "-I",
        "net1,vioif,-net user,net=10.0.3.0/24",
        "-W",
        "net0,inet,dhcp",
        "-W",
        "net1,inet,dhcp",
        nettest_bin,
        "--",
        "fetch",
        "10.0.2.2",
        str(host_http),
        "/",
    )
    assert "rumprun: net: vioif0: 10.0.2.15/24, gateway 10.0.2.2 (DHCP)" in result.stderr, said
    assert "rumprun: net: vioif1: 10.0.3.15/24" in result.stderr, said
    assert "fetch: HTTP/1.0 200 OK" in result.stdout, said
    assert result.returncode == 0, said


def test_http_server_answers_curl_through_port_forwarding(guest, httpd_bin):
    port = free_port()
    # -P alone: the launcher gives the guest a virtio NIC with DHCP.
    g = guest(httpd_bin, ["-n", "3"], ["-P", f"127.0.0.1:{port}:80"])
    g.wait_for("httpd: listening on port 80")
    for path in ("/", "/index.html", "/bytes/100000"):
        out = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_download}",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        size = "100000" if path.startswith("/bytes") else "612"
        assert out.stdout == f"200 {size}", out
    status, said = g.finish()
    assert status == 0, said


def test_no_devices_means_loopback_only(run, nettest_bin):
    result, said = boot(run, nettest_bin, "--", "noif")
    assert (
        "rumprun: net: no network interface is configured: only loopback (127.0.0.1, ::1) works"
    ) in result.stderr, said
    assert result.returncode == 0, said


# ---- virtio over MMIO: disks and shares, as test_storage, test_storage_fs ----


@pytest.fixture(scope="session")
def storage_bin(bake_image, tmp_path_factory):
    for program in ("mke2fs", "e2fsck"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is missing: install e2fsprogs (scripts/setup-host does)")
    return bake_image(
        tmp_path_factory.mktemp("storage"),
        "storage.bin",
        {"storage": [APPS / "storage" / "storage.c"]},
    )


@pytest.fixture(scope="session")
def storage_native(tmp_path_factory):
    """The same program built for the host, for the differential test."""
    out = tmp_path_factory.mktemp("native") / "storage"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(APPS / "storage" / "storage.c")], check=True)
    return out


@pytest.fixture(scope="module")
def fsprobe(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("fsprobe"),
        "fsprobe.bin",
        {"fsprobe": [APPS / "storage" / "fsprobe.c"]},
    )


def mkfs(run, tree, image):
    run("rumprun", "mkfs", "ext2", tree, image, check=0)
    return image


def fsck_clean(image):
    result = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    assert result.returncode == 0, f"e2fsck -fn {image}:\n{result.stdout}\n{result.stderr}"


def native(storage_native, *args):
    result = subprocess.run(
        [str(storage_native), *map(str, args)], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def disk_guest(run, *args):
    result = run("rumprun", "microvm", "-i", *args, timeout=120)
    said = f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, said
    assert "FAILED" not in result.stdout, said
    return [line for line in result.stdout.splitlines() if not line.startswith("===")]


def test_raw_disk_is_dev_ld0(run, storage_bin, tmp_path):
    disk = tmp_path / "raw.img"
    disk.write_bytes(b"\0" * (3 << 20))
    lines = disk_guest(run, "-b", str(disk), storage_bin, "--", "raw", "/dev/ld0")
    assert lines == [
        f"size {3 << 20} end {3 << 20}",
        "read back 'raw block data'",
        "block device 1",
    ]
    assert disk.read_bytes()[1000:1014] == b"raw block data"


def test_workload_on_ext2_matches_the_host(run, storage_bin, storage_native, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image = mkfs(run, empty, tmp_path / "vol.img")
    assert disk_guest(run, "-b", f"{image},/data", storage_bin, "--", "work", "/data") == [
        "work done"
    ]
    fsck_clean(image)
    on_host = tmp_path / "host"
    on_host.mkdir()
    assert native(storage_native, "work", on_host) == ["work done"]
    want = native(storage_native, "manifest", on_host)
    got = disk_guest(run, "-b", f"{image},/data", storage_bin, "--", "manifest", "/data")
    assert got == want


def test_shared_folder_both_ways(run, fsprobe, tmp_path):
    """--share over virtio-9p-device, as test_storage_fs's (in short)."""
    host = tmp_path / "share"
    host.mkdir()
    (host / "in.txt").write_text("from the host\n")
    r = run(
        "rumprun",
        "microvm",
        "-i",
        "--share",
        f"{host}:/mnt/share",
        fsprobe,
        "--",
        "cat",
        "/mnt/share/in.txt",
        ",",
        "write",
        "/mnt/share/out.txt",
        "from the guest",
        ",",
        "mkdir",
        "/mnt/share/made",
        ",",
        "statfs",
        "/mnt/share",
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cat /mnt/share/in.txt: from the host" in r.stdout
    assert "statfs /mnt/share: type=1021997 ro=0" in r.stdout
    assert (host / "out.txt").read_text() == "from the guest"
    assert (host / "made").is_dir()
