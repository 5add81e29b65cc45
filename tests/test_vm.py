"""Memory, stacks and program runs, as a user sees them: tests/apps/vm/*.c built
with rumprun-cc into one image (`vm CASE`), booted with rumprun qemu -i;
the portable cases also run natively for comparison.

About 2 minutes under TCG.
"""

import json
import re
import resource
import shlex
import shutil
import subprocess

import pytest

from conftest import ROOT, assert_one_line_error, boot

pytestmark = pytest.mark.qemu  # the tests here boot guests

SOURCES = ROOT / "tests" / "apps" / "vm"
VM_SOURCES = ["main.c", "anon.c", "stack.c", "filemap.c"]


@pytest.fixture(scope="session")
def vm_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("vm"),
        "vm.bin",
        {"vm": [SOURCES / s for s in VM_SOURCES]},
        cc_flags=("-O2", "-lpthread"),
    )


@pytest.fixture(scope="session")
def vm_native(tmp_path_factory):
    """The same program built by the host's gcc, to compare with Linux."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no host gcc")
    out = tmp_path_factory.mktemp("native") / "vm"
    subprocess.run(
        [gcc, "-O2", "-o", out, *[SOURCES / s for s in VM_SOURCES], "-lpthread"], check=True
    )
    return out


def vm_case(run, vm_bin, case, *args, memory=64, timeout=120):
    """Boot `vm CASE` in MEMORY MiB; assert no failure and status 0; the
    program's output."""
    return vm_case_result(run, vm_bin, case, *args, memory=memory, timeout=timeout).stdout


def vm_case_result(run, vm_bin, case, *args, memory=64, timeout=120):
    result, said = boot(run, "-M", str(memory), vm_bin, "--", case, *args, timeout=timeout)
    assert "FAIL" not in result.stdout, said
    assert f"vm {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result


def kernel_lines(result):
    """What the kernel said (its notices and crash reports): on the
    platform console, which the launcher relays to stdout or stderr."""
    return result.stdout + result.stderr


# ---- anonymous memory, page by page -----------------------------------------


def test_one_mapping_takes_almost_all_free_memory(run, vm_bin):
    out = vm_case(run, vm_bin, "big")
    assert "all of it back after munmap" in out, out


def test_big_mappings_after_1000_threads(run, vm_bin):
    vm_case(run, vm_bin, "churn")


@pytest.mark.parametrize("case", ["fixed", "malloc_errno", "mremap", "madvise", "brk"])
def test_anonymous_memory(run, vm_bin, case):
    vm_case(run, vm_bin, case)


@pytest.mark.parametrize("case", ["churn", "malloc_errno", "mremap"])
def test_same_results_natively(run, vm_bin, vm_native, case):
    native = subprocess.run([vm_native, case], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stdout
    ours = vm_case(run, vm_bin, case)
    ok = [ln for ln in native.stdout.splitlines() if ln.startswith("ok ")]
    assert ok and all(ln in ours for ln in ok), (native.stdout, ours)


# ---- the main stack ------------------------------------------------------------


def qemu_with_config(run, image, extra, timeout=60):
    """Boot IMAGE with QEMU directly, as `rumprun -D qemu -i` would, but
    with EXTRA keys in the kernel's JSON configuration (to try what the
    launcher would refuse): (status from the status line, what the guest
    printed)."""
    plan = run("rumprun", "-D", "qemu", "-i", image, "--", "limit", check=0)
    # -D prints the command with the configuration as a here-document on
    # fd 3 (fw_cfg); pass the edited configuration on the command line.
    command, config_text = plan.stdout.strip().splitlines()[-3:-1]
    args = shlex.split(command.split(" 3<<")[0])
    i = args.index("-fw_cfg")
    config = json.loads(config_text)
    config.update(extra)
    args[i : i + 2] = ["-append", json.dumps(config)]
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    said = kernel_lines(result)
    m = re.search(r"=== rumprun: exit status (\d+) ===", said)
    return (int(m.group(1)) if m else None), said


def test_stack_is_8_mib_and_getrlimit_says_so(run, vm_bin):
    out = vm_case(run, vm_bin, "limit")
    assert "stack limit 8192 KiB" in out, out


@pytest.mark.parametrize("case", [("deep", "7000"), ("array", "7")])
def test_7_mib_of_stack_in_16_mib_of_memory(run, vm_bin, vm_native, case):
    """Committed as touched: 8 MiB of stack costs only what is used."""
    vm_case(run, vm_bin, *case, memory=16)
    native = subprocess.run([vm_native, *case], capture_output=True, text=True)
    assert native.returncode == 0, native.stdout


@pytest.mark.parametrize("limit, mib", [("72", "64"), ("unlimited", "100")])
def test_raised_rlimit_stack_grows_the_stack(run, vm_bin, vm_native, limit, mib):
    """setrlimit(RLIMIT_STACK) raised, then a big array: as on Linux."""
    out = vm_case(run, vm_bin, "raise", limit, mib, memory=160)
    assert f"ok array: {mib} MiB on the stack" in out, out
    if resource.getrlimit(resource.RLIMIT_STACK)[1] == resource.RLIM_INFINITY:
        native = subprocess.run(
            [vm_native, "raise", limit, mib], capture_output=True, text=True, timeout=60
        )
        assert native.returncode == 0 and "ok raise" in native.stdout, native


def test_frame_larger_than_the_stack_is_a_stack_overflow(run, vm_bin, vm_native):
    result, said = boot(run, vm_bin, "--", "huge_frame")
    kernel = kernel_lines(result)
    assert "stack overflow" in kernel and "<huge_frame+" in kernel, said
    assert "FAIL" not in result.stdout, said
    assert result.returncode == 139, said
    native = subprocess.run([vm_native, "huge_frame"], capture_output=True)
    assert native.returncode == -11  # SIGSEGV on Linux too


def test_bake_sets_the_stack_size(run, bake_image, tmp_path):
    image = bake_image(
        tmp_path,
        "vm100.bin",
        {"vm": [SOURCES / s for s in VM_SOURCES]},
        cc_flags=("-O2", "-lpthread"),
        bake_flags=("--stack", "100M"),
    )
    assert "stack limit 102400 KiB" in vm_case(run, image, "limit", memory=160)
    vm_case(run, image, "array", "90", memory=160)


def test_launch_time_stack_overrides_the_bake(run, vm_bin):
    result, said = boot(run, "--stack", "16M", vm_bin, "--", "limit")
    assert "stack limit 16384 KiB" in result.stdout and result.returncode == 0, said
    status, out = qemu_with_config(run, vm_bin, {"stack": "8 bananas"})
    assert status == 1 and 'bad configuration: "stack" must be' in out, out


def test_bad_bake_stack_size_is_one_sentence(run, tmp_path, vm_bin):
    result = run(
        "rumprun-bake", "--stack", "1x", "hw_generic", tmp_path / "x.bin", vm_bin.parent / "vm"
    )
    assert_one_line_error(result, "--stack", "1x")
    assert not (tmp_path / "x.bin").exists()


# ---- each run of a program starts afresh -------------------------------------


@pytest.fixture(scope="session")
def rerun_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("rerun"),
        "rerun.bin",
        {"rerun": [SOURCES / "rerun.c"]},
        cc_flags=("-O2", "-lpthread"),
    )


def test_three_runs_of_one_program_start_alike(run, rerun_bin):
    result, said = boot(
        run, "-M", "64", "--rc", "rerun 1", "--rc", "rerun 2", "--rc", "rerun 3", rerun_bin
    )
    out = result.stdout
    for n in (1, 2, 3):
        assert f"rerun {n}: data 5 bss 0 tls 7 fd 3\n" in out, said
    assert out.count("rerun thread 49\n") == 3, said
    assert out.count("rerun SIGUSR1 default\n") == 3, said
    assert out.count("rerun atexit\n") == 3, said
    # The heap, the thread left waiting and the descriptor are given back.
    free = [int(k) for k in re.findall(r"rerun free (\d+) KiB", out)]
    assert len(free) == 3 and max(free) - min(free) < 64, said
    assert result.returncode == 3, said


def test_a_program_cannot_overlap_its_own_run(run, rerun_bin):
    result, said = boot(run, "--rc", "& rerun 1", "--rc", "rerun 2", rerun_bin)
    assert "cannot start rerun again while its previous run is still running" in kernel_lines(
        result
    ), said
    assert result.returncode == 1, said


# ---- file mappings ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["private", "shared", "wal_index"])
def test_file_mappings_as_on_linux(run, vm_bin, vm_native, case, tmp_path):
    ours = vm_case(run, vm_bin, case)
    native = subprocess.run([vm_native, case], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stdout
    ok = [ln for ln in native.stdout.splitlines() if ln.startswith("ok ")]
    assert ok and all(ln in ours for ln in ok), (native.stdout, ours)


def test_unsupported_shared_mapping_is_said_once(run, vm_bin):
    result = vm_case_result(run, vm_bin, "devzero")
    said = kernel_lines(result)
    assert said.count("rumprun: unsupported: MAP_SHARED mapping") == 1, said
    assert "MAP_SHARED of /dev/zero: No such device\nagain: No such device" in result.stdout, said


# ---- thread-local storage in position-independent code ---------------------


def test_fpic_thread_locals_bake_and_run(run, bake_image, tmp_path):
    """Two -fPIC programs in one image: each keeps its own __tls_get_addr."""
    image = bake_image(
        tmp_path,
        "pictls.bin",
        {"pictls": [SOURCES / "pictls.c"], "rerun": [SOURCES / "rerun.c"]},
        cc_flags=("-O2", "-fPIC", "-lpthread"),
    )
    result, said = boot(run, "--rc", "pictls", "--rc", "rerun 4", image)
    assert "worker 100\nmain 42\n" in result.stdout, said
    assert "rerun 4: data 5 bss 0 tls 7 fd 3" in result.stdout, said
    assert result.returncode == 4, said


# ---- arguments and environment -------------------------------------------------


@pytest.fixture(scope="session")
def args_bin(bake_image, tmp_path_factory):
    return bake_image(tmp_path_factory.mktemp("args"), "args.bin", {"args": [SOURCES / "args.c"]})


@pytest.fixture(scope="session")
def args_native(tmp_path_factory):
    out = tmp_path_factory.mktemp("args-native") / "args"
    subprocess.run(["gcc", "-O2", "-o", out, SOURCES / "args.c"], check=True)
    return out


def arg_lines(out):
    return [ln for ln in out.splitlines() if ln.startswith(("argc ", "arg "))]


def run_bytes(run, *args):
    """run() for arguments that are bytes: decoded the way Python's own
    sys.argv would hold them (surrogateescape)."""
    return run(*[a.decode("utf-8", "surrogateescape") if isinstance(a, bytes) else a for a in args])


def test_arguments_and_environment_arrive_byte_exact(run, args_bin, args_native):
    args = [b"\xff\xfe", "é".encode(), "😀".encode()]
    result = run_bytes(run, "rumprun", "qemu", "-i", "-e", b"V=a\xffb", args_bin, "--", *args)
    native = subprocess.run([args_native, *args], capture_output=True, text=True)
    said = result.stdout + result.stderr
    assert arg_lines(result.stdout) == arg_lines(native.stdout), said
    assert "arg 1: ff fe\n" in result.stdout, said
    assert "V: 61 ff 62\n" in result.stdout, said
    assert result.returncode == 0, said


def test_20000_arguments(run, args_bin, args_native):
    args = [str(i) for i in range(20000)]
    result, said = boot(run, args_bin, "--", *args)
    native = subprocess.run([args_native, *args], capture_output=True, text=True)
    assert arg_lines(result.stdout) == arg_lines(native.stdout), said
    assert "argc 20001 " in result.stdout, said
    assert result.returncode == 0, said


def test_default_path_and_home_and_overrides(run, args_bin):
    result, said = boot(run, args_bin)
    assert "PATH=/bin:/usr/bin HOME=/ TERM=(null)\n" in result.stdout, said
    result, said = boot(run, "-e", "HOME=/root", "-e", "PATH=/x", args_bin)
    assert "PATH=/x HOME=/root " in result.stdout, said


@pytest.mark.parametrize("flags, term", [((), "xterm-test"), (("-e", "TERM=dumb"), "dumb")])
def test_term_when_the_console_is_a_terminal(args_bin, state_env, flags, term):
    """The host's TERM when rumprun -i runs in a terminal (stdin a pty)."""
    import os
    import pty
    from conftest import tool

    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            tool("rumprun") + ["qemu", "-i", *flags, str(args_bin)],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            env={**state_env, "TERM": "xterm-test"},
        )
    finally:
        os.close(terminal)
        os.close(controller)
    said = result.stdout + result.stderr
    assert f"HOME=/ TERM={term}\n" in result.stdout, said
    assert result.returncode == 0, said


# ---- the watchdog -----------------------------------------------------------------


def test_a_thread_that_never_yields_is_named(run, bake_image, tmp_path):
    image = bake_image(
        tmp_path, "spin.bin", {"spin": [SOURCES / "spin.c"]}, cc_flags=("-O2", "-lpthread")
    )
    result, said = boot(run, image)
    lines = [ln for ln in kernel_lines(result).splitlines() if "without yielding" in ln]
    assert len(lines) == 1, said
    assert lines[0].startswith(
        'rumprun: thread "spin" has run 3 s without yielding; other threads are starved'
    ), said
    assert "spinner done\nmain woke" in result.stdout, said
    assert result.returncode == 0, said
