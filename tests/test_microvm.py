"""rumprun microvm: the same images and the same assertions as on the pc
machine (test_boot_hello, test_runtime), booted on QEMU's microvm machine,
which has no PCI bus and no firmware tables: the console on the ISA serial
port, the configuration through fw_cfg, the status through isa-debug-exit.
"""

import subprocess
import time
from types import SimpleNamespace

import pytest

from conftest import assert_one_line_error
from test_boot_hello import hello_bin  # noqa: F401 (a fixture)
from test_launch import dry_run, ps_line, wait_for
from test_runtime import micros, runtime_bin, programs_bin  # noqa: F401

pytestmark = pytest.mark.qemu  # the tests here boot guests


def boot(run, *args, timeout=120):
    """rumprun microvm -i ARGS -> (result, what the guest printed); a hang
    gives returncode None."""
    try:
        result = run("rumprun", "microvm", "-i", *args, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else b or ""
        result = SimpleNamespace(returncode=None, stdout=text(e.stdout),
                                 stderr=text(e.stderr) +
                                 f"\n(no end after {timeout} s)")
    return result, (f"exit status {result.returncode}; the guest printed:\n"
                    f"{result.stdout}\nstderr:\n{result.stderr}")


def run_case(run, image, case, *args, memory=None):
    flags = ["-M", str(memory)] if memory else []
    result, said = boot(run, *flags, image, "--", case, *args)
    assert "FAIL" not in result.stdout, said
    assert f"runtime {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout


# ---- the machine ------------------------------------------------------------

def test_the_plan_is_a_microvm_without_pci(run, hello_bin):
    argv, config, _ = dry_run(run, "microvm", "-i", "-e", "WORLD=mv", "-I",
                              "net0,vioif", hello_bin, "--", "a")
    machine = argv[argv.index("-M") + 1].split(",")
    assert machine[0] == "microvm" and "ioapic2=off" in machine
    assert argv[argv.index("-kernel") + 1] == str(hello_bin)
    assert "virtio-net-device,netdev=net0" in argv
    assert not any("-pci" in a for a in argv), argv
    assert config["env"] == ["WORLD=mv"] and config["cmdline"].endswith(" a")


def test_no_e1000_without_pci(run, hello_bin):
    assert_one_line_error(run("rumprun", "microvm", "-I", "net0,e1000", hello_bin),
                          "microvm", "e1000")


# ---- tests/hello, as test_boot_hello -----------------------------------------

def test_hello_greets_from_the_environment(run, hello_bin):
    result, said = boot(run, "-e", "WORLD=microvm", hello_bin, "--", "7")
    assert "Hello, microvm" in result.stdout, said
    assert result.returncode == 7, said


def test_status_line_is_the_last_line(run, hello_bin):
    result, said = boot(run, hello_bin, "--", "3")
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert lines[-1].strip() == "=== rumprun: exit status 3 ===", said
    assert result.returncode == 3, said


def test_arguments_and_environment_arrive_exactly(run, hello_bin):
    result, said = boot(run, "-e", 'WORLD=wörld "q" \\x', hello_bin, "--",
                        "0", "it's", 'a"b', "c\\d", "")
    assert 'Hello, wörld "q" \\x!' in result.stdout, said
    for i, arg in enumerate(["it's", 'a"b', "c\\d", ""], start=2):
        assert f"argv[{i}] = {arg}\n" in result.stdout, said
    assert result.returncode == 0, said


def test_detached_guest_ps_and_stop(run, hello_bin):
    name = "microvm-detached"
    started = run("rumprun", "microvm", "-N", name, hello_bin, "--", "5", check=0)
    assert started.stdout.strip() == name
    try:
        line = wait_for(lambda: "exited" in (ps_line(run, name) or "") and
                        ps_line(run, name))
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
        line = wait_for(lambda: "exited" in (ps_line(run, name) or "") and
                        ps_line(run, name))
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
        low, high = micros(rf"sleep {how} 10 ms: late by min (-?\d+) us "
                           rf"max (-?\d+) us", out, out)
        assert low >= 0, f"{how} woke early\n{out}"
        assert high < 1_000_000, f"{how} woke a second late\n{out}"


def test_pipe_feeds_the_producers_output_to_the_consumer(run, programs_bin):
    result, said = boot(run, "--rc", "| produce 4 piped", "--rc", "consume 6",
                        programs_bin)
    got = [ln for ln in result.stdout.splitlines()
           if ln.startswith("consume got: piped")]
    assert got == [f"consume got: piped {i}" for i in range(1, 5)], said
    assert result.returncode == 6, said
