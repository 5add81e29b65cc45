"""The POSIX runtime, as a user sees it: C programs from tests/apps/runtime built
with rumprun-cc, baked once per session, booted with rumprun qemu -i; each
test asserts on what the guest printed and on its exit status.

Images (each baked once):
  runtime.bin   one program, `runtime CASE`: threads, memory, clocks,
                identity, /etc lookups (tests/apps/runtime/main.c and friends);
  crash.bin     `crash CASE`: programs that fault, abort or deadlock;
  programs.bin  three programs (ctors, produce, consume) for --rc.
"""

import re
import time

import pytest

from conftest import boot, build_runtime_apps, micros

pytestmark = pytest.mark.qemu  # the tests here boot guests

MiB = 1024 * 1024


@pytest.fixture(scope="session")
def crash_bin(bake_image, tmp_path_factory):
    return build_runtime_apps(
        bake_image, tmp_path_factory.mktemp("crash"), "crash.bin", {"crash": ["crash.c"]}
    )


def run_case(run, runtime_bin, case, *args, memory=None, timeout=60):
    """Boot `runtime CASE ARGS`; assert it reported no failure and exited 0."""
    flags = ["-M", str(memory)] if memory else []
    result, said = boot(run, *flags, runtime_bin, "--", case, *args, timeout=timeout)
    assert "FAIL" not in result.stdout, said
    assert f"runtime {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout


def fatal_line(stderr):
    """The kernel's crash report (COM1: the launcher's stderr)."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith("rumprun: fatal:")]
    return lines[0] if lines else ""


# ---- 1. constructors and destructors -------------------------------------


def test_constructors_destructors_and_atexit_run_in_order(run, programs_bin):
    result, said = boot(run, "--rc", "ctors 7 x", programs_bin)
    lines = [
        ln for ln in result.stdout.splitlines() if ln.startswith(("ctor", "main", "atexit", "dtor"))
    ]
    assert lines == [
        "ctor 101",
        "ctor 102",
        "ctor plain",
        "main after 3 constructors",
        "ctors argv[0] = ctors",
        "ctors argv[1] = 7",
        "ctors argv[2] = x",
        "atexit registered second",
        "atexit registered first",
        "dtor plain",
        "dtor 102",
        "dtor 101",
    ], said
    assert result.returncode == 7, said


def test_constructors_belong_to_their_own_program(run, programs_bin):
    """produce has no constructors: ctors' must not run in it."""
    result, said = boot(run, "--rc", "produce 2 alone", programs_bin)
    assert "alone 1\nalone 2\n" in result.stdout, said
    assert "ctor" not in result.stdout, said
    assert result.returncode == 0, said


# ---- 2. threads ------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "create_join",
        "detach",
        "pthread_exit",
        "mutex",
        "cond",
        "cond_signalled",
        "rwlock",
        "barrier",
        "once",
        "keys",
        "tls",
        "yield",
    ],
)
def test_threads(run, runtime_bin, case):
    run_case(run, runtime_bin, case)


def test_program_ends_with_its_last_thread_after_main_pthread_exit(run, runtime_bin):
    result, said = boot(run, runtime_bin, "--", "main_exit")
    assert "main: pthread_exit\nok worker ran after main" in result.stdout, said
    assert result.returncode == 0, said


def test_cond_timedwait_times_out_after_50_ms(run, runtime_bin, timer_late_us):
    out = run_case(run, runtime_bin, "cond_timeout")
    said = f"the guest printed:\n{out}"
    for clock in ("realtime", "monotonic"):
        (us,) = micros(rf"cond_timedwait {clock} 50 ms: ETIMEDOUT after (\d+) us", out, said)
        assert 49_000 <= us < 50_000 + timer_late_us, said


def test_cond_timedwait_signalled_well_before_its_timeout(run, runtime_bin):
    out = run_case(run, runtime_bin, "cond_signalled")
    (us,) = micros(r"signalled after (\d+) us: 0", out, out)
    assert 20_000 <= us < 1_000_000, out


def test_semaphores_and_sem_timedwait(run, runtime_bin, timer_late_us):
    out = run_case(run, runtime_bin, "semaphore")
    (us,) = micros(r"sem_timedwait 50 ms: ETIMEDOUT after (\d+) us", out, out)
    assert 49_000 <= us < 50_000 + timer_late_us, out


def test_1000_threads_created_and_joined_in_64_mib(run, runtime_bin):
    out = run_case(run, runtime_bin, "threads1000", memory=64)
    assert "ok threads: 1000 created, 1000 joined" in out, out


# ---- 3. memory ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["mmap", "mprotect", "malloc_enomem", "malloc_exhaust"])
def test_memory(run, runtime_bin, case):
    run_case(run, runtime_bin, case, memory=64)


def test_freed_ranges_are_reused_far_beyond_memory(run, runtime_bin):
    out = run_case(run, runtime_bin, "mmap_reuse", memory=64)
    assert "ok mmap reuse: 1600 MiB" in out, out


@pytest.mark.parametrize(
    "case, words",
    [
        ("prot_none", ["page fault", "<prot_none+"]),
        ("write_readonly", ["page fault", "<write_readonly+"]),
        ("write_literal", ["page fault", "<write_literal+"]),
        ("write_code", ["page fault", "<write_code+"]),
    ],
)
def test_bad_memory_access_faults(run, runtime_bin, case, words):
    result, said = boot(run, runtime_bin, "--", case)
    line = fatal_line(result.stderr)
    for word in words:
        assert word in line, said
    assert "FAIL" not in result.stdout, said
    assert result.returncode == 139, said


# ---- 4. time -----------------------------------------------------------------


def test_realtime_clock_is_the_hosts_time(run, runtime_bin):
    before = time.time()
    out = run_case(run, runtime_bin, "realtime")
    after = time.time()
    (sec, _) = micros(r"realtime (\d+)\.(\d+)", out, out)
    (tv_sec, _) = micros(r"gettimeofday (\d+)\.(\d+)", out, out)
    assert before - 3 <= sec <= after + 3, f"host {before}..{after}\n{out}"
    assert abs(tv_sec - sec) <= 1, out


def test_monotonic_clock_only_goes_forward(run, runtime_bin):
    run_case(run, runtime_bin, "monotonic")


def test_10_ms_sleeps_are_never_early_and_end(run, runtime_bin, clock_step_us):
    """Never early; how late depends on the host's load under TCG (tens of
    ms on a busy machine), so the upper bound only catches a lost timer."""
    out = run_case(run, runtime_bin, "sleeps")
    for how in ("nanosleep", "clock_nanosleep", "clock_nanosleep_abstime", "usleep"):
        low, high = micros(
            rf"sleep {how} 10 ms: late by min (-?\d+) us "
            rf"max (-?\d+) us",
            out,
            out,
        )
        assert low >= 0, f"{how} woke early\n{out}"
        assert high < 1_000_000, f"{how} woke a second late\n{out}"
    (us,) = micros(r"realtime_abstime 10 ms: slept (\d+) us \(0\)", out, out)
    assert 10_000 - clock_step_us <= us < 1_000_000, out


# ---- 5. identity -------------------------------------------------------------


def test_identity_of_the_one_process(run, runtime_bin):
    result, said = boot(run, "-N", "runtime-guest", "-M", "96", runtime_bin, "--", "identity")
    out = result.stdout
    lines = out.splitlines()
    assert result.returncode == 0, said
    for line in [
        "getpid 1",
        "getppid 0",
        "gettid 1",
        "uid 0 euid 0 gid 0 egid 0",
        "privileges dropped to root",
        "prctl name runtime",
        "prctl set name a-name-longer-t, a new thread's a-name-longer-t",
        "uname machine x86_64",
        "uname nodename runtime-guest",
        "gethostname runtime-guest",
        "_SC_PAGESIZE 4096",
        "_SC_NPROCESSORS_ONLN 1",
    ]:
        assert line in lines, said
    (tid,) = micros(r"thread gettid (\d+)", out, said)
    assert tid > 1, said
    total, free = micros(r"sysinfo totalram (\d+) freeram (\d+)", out, said)
    assert 0.85 * 96 * MiB <= total <= 96 * MiB, said
    assert 0 < free < total, said
    (after,) = micros(r"sysinfo freeram after 8 MiB (\d+)", out, said)
    assert after <= free - 8 * MiB, said
    (pages,) = micros(r"_SC_PHYS_PAGES (\d+)", out, said)
    assert 0.85 * 96 * MiB <= pages * 4096 <= 96 * MiB, said


# ---- 6. several programs in one image ------------------------------------------


def test_all_programs_run_in_order_by_default(run, programs_bin):
    result, said = boot(run, programs_bin)
    out = result.stdout
    assert out.index("main after") < out.index("line 1") < out.index("consume: 0 lines"), said
    assert result.returncode == 0, said


def test_pipe_feeds_the_producers_output_to_the_consumer(run, programs_bin):
    result, said = boot(run, "--rc", "| produce 4 piped", "--rc", "consume 6", programs_bin)
    got = [ln for ln in result.stdout.splitlines() if ln.startswith("consume got: piped")]
    assert got == [f"consume got: piped {i}" for i in range(1, 5)], said
    assert "\npiped 1" not in result.stdout, said  # not on the console
    assert re.search(r"consume: \d+ lines, \d+ bytes, end of input", result.stdout), said
    assert result.returncode == 6, said


def test_background_program_runs_alongside_the_foreground(run, programs_bin):
    result, said = boot(run, "--rc", "& produce 3 background", "--rc", "ctors 5", programs_bin)
    for i in (1, 2, 3):
        assert f"background {i}\n" in result.stdout, said
    assert "ctors argv[1] = 5" in result.stdout, said
    assert result.returncode == 5, said


def test_status_is_the_last_foreground_programs(run, programs_bin):
    result, said = boot(
        run,
        "--rc",
        "produce 1 first 9",
        "--rc",
        "produce 1 second 4",
        "--rc",
        "& produce 2 bg 11",
        programs_bin,
    )
    out = result.stdout
    assert out.index("first 1") < out.index("second 1"), said
    assert "bg 2" in out, said
    assert result.returncode == 4, said


def test_unknown_rc_program_is_named(run, programs_bin):
    result, said = boot(run, "--rc", "nosuch 1", programs_bin)
    assert 'no program "nosuch" in this image (it has: ctors produce consume)' in result.stderr, (
        said
    )
    assert result.returncode not in (0, None), said


# ---- 7. failures -------------------------------------------------------------


@pytest.mark.parametrize(
    "case, status, words",
    [
        ("null", 139, ["null pointer dereference", "<main+"]),
        ("null_write", 139, ["null pointer dereference", "<main+"]),
        ("divide", 136, ["divide error", "<main+"]),
        ("stack_overflow", 139, ["stack overflow", "<recurse+"]),
        ("thread_stack_overflow", 139, ["stack overflow", "<recurse+"]),
        ("trap", 132, ["invalid opcode"]),
        ("double_free", 139, []),
        # musl's a_crash() (detaching a detached thread, heap corruption) is
        # `hlt`: a fault on Linux (SIGSEGV); so are other privileged instructions.
        ("detach_twice", 139, []),
        ("hlt", 139, []),
    ],
)
def test_crash_is_reported_with_the_shells_status(run, crash_bin, case, status, words):
    result, said = boot(run, crash_bin, "--", case, timeout=10)
    line = fatal_line(result.stderr)
    assert line, said
    for word in words:
        assert word in line, said
    assert "still running" not in result.stderr, said
    assert result.returncode == status, said


def test_abort_is_sigabrt(run, crash_bin):
    result, said = boot(run, crash_bin, "--", "abort", timeout=10)
    assert "SIGABRT" in result.stderr, said
    assert result.returncode == 134, said


@pytest.mark.parametrize("case", ["deadlock_mutexes", "deadlock_join", "deadlock_self_join"])
def test_deadlock_is_reported(run, crash_bin, case):
    result, said = boot(run, crash_bin, "--", case, timeout=10)
    assert any(
        "deadlock" in ln for ln in result.stderr.splitlines() if ln.startswith("rumprun:")
    ), said
    assert "still running" not in result.stderr, said
    assert result.returncode not in (0, None), said


# ---- 8. /etc lookups -----------------------------------------------------------


def test_getpwnam_root(run, runtime_bin):
    out = run_case(run, runtime_bin, "passwd")
    assert "getpwnam root: uid 0 gid 0 home /root" in out, out


def test_getgrnam_root(run, runtime_bin):
    out = run_case(run, runtime_bin, "group")
    assert "getgrnam root: gid 0" in out, out


def test_gethostbyname_localhost(run, runtime_bin):
    out = run_case(run, runtime_bin, "hosts")
    assert "gethostbyname localhost: 127.0.0.1" in out, out


def test_getaddrinfo_localhost_and_getservbyname(run, runtime_bin):
    out = run_case(run, runtime_bin, "addrinfo")
    assert "getaddrinfo localhost: 127.0.0.1 port 80" in out, out
    assert "getservbyname http: 80" in out, out
