"""rumprun microvm: the same images and the same assertions as on the pc
machine (test_boot_hello, test_runtime, test_net, test_storage,
test_storage_fs), booted on QEMU's microvm machine, which has no PCI bus
and no firmware tables: the kernel's console on the ISA serial port, the
programs' streams, network, disks and shared folders over virtio-mmio,
the configuration through fw_cfg, the status through isa-debug-exit.
(Their images, servers and helpers come from conftest.py, as theirs do.)
"""

import subprocess
import time

import pytest

import conftest
from conftest import (
    Page,
    assert_one_line_error,
    dry_run,
    fsck_clean,
    free_port,
    micros,
    mkfs,
    native,
    ps_line,
    wait_for,
)

pytestmark = pytest.mark.qemu  # the tests here boot guests


def boot(run, *args, timeout=120):
    return conftest.boot(run, *args, timeout=timeout, machine="microvm")


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


def nic_args():
    """One interface, net0, with DHCP (as test_net's default)."""
    return ["-I", "net0,vioif", "-W", "net0,inet,dhcp"]


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
    g = guest(httpd_bin, ["-n", "3"], ["-P", f"127.0.0.1:{port}:80"], machine="microvm")
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
