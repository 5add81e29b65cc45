"""The rumprun launcher with the QEMU backends: the plan -D prints, the
configuration's way into the guest (fw_cfg), bad inputs, exit statuses,
registered guests (ps, stop, cont) and signals.  It boots tests/fixtures/kernel,
a tiny multiboot guest that prints the configuration it finds in fw_cfg and
a status line, then exits like rumprun's kernel does (conftest)."""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (
    assert_one_line_error,
    build_fixture_kernel,
    dry_run,
    free_port,
    ps_line,
    tool,
    wait_for,
)

pytestmark = pytest.mark.qemu  # the tests here boot guests

FW_CFG_ARG = "name=opt/rumprun/config,file=/dev/fd/3"


# --- what -D prints ----------------------------------------------------------


def test_dry_run_prints_the_qemu_command(run, fixture_kernel):
    argv, config, mkdirs = dry_run(
        run,
        "qemu",
        "-i",
        "-e",
        "WORLD=unikernel",
        "-e",
        "A=b c",
        "-M",
        "32",
        fixture_kernel,
        "--",
        "one",
        "two words",
        "it's",
    )
    assert argv[0].endswith("qemu-system-x86_64") and os.path.isabs(argv[0])
    assert argv[argv.index("-kernel") + 1] == str(fixture_kernel)
    assert argv[argv.index("-m") + 1] == "32"
    assert "isa-debug-exit,iobase=0xf4,iosize=4" in argv
    for flag in ("-nodefaults", "-no-reboot", "-no-user-config"):
        assert flag in argv
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-fw_cfg") + 1] == FW_CFG_ARG
    # COM1 (the kernel's lines) to stderr; the programs' streams on
    # virtio-console ports: stdin from QEMU's stdio, stdout and stderr to
    # the shell's, reopened for appending.
    assert "file,id=con,path=/dev/stderr,append=on" in argv
    assert "virtio-serial-pci,max_ports=5" in argv
    assert "virtserialport,chardev=control,name=rumprun.control" in argv
    for stream, backend in (
        ("stdin", "stdio,id=stdin"),
        ("stdout", "file,id=stdout,path=/dev/stdout,append=on"),
        ("stderr", "file,id=stderr,path=/dev/stderr,append=on"),
    ):
        assert backend in argv
        assert f"virtserialport,chardev={stream},name=rumprun.{stream}" in argv
    assert "-S" not in argv and "-append" not in argv and mkdirs == []
    assert config["env"] == ["WORLD=unikernel", "A=b c"]
    assert shlex.split(config["cmdline"]) == ["fixture.bin", "one", "two words", "it's"]


def test_dry_run_of_a_detached_guest_names_its_real_files(run, fixture_kernel, state_env):
    argv, config, mkdirs = dry_run(
        run, "qemu", "-p", "-N", "web1", "-g", "-smp 2 -name x", fixture_kernel
    )
    state = os.path.join(state_env["XDG_RUNTIME_DIR"], "rumprun", "guests", "web1")
    assert mkdirs == [state]
    assert f"file,id=con,path={state}/console.log" in argv
    assert f"socket,id=qmp,path={state}/qmp.sock,server=on,wait=off" in argv
    assert argv[argv.index("-m") + 1] == "64"
    assert "-S" in argv and argv[-4:] == ["-smp", "2", "-name", "x"]
    assert config["cmdline"] == "fixture.bin" and config["env"] == []
    assert config["hostname"] == "web1"
    assert not os.path.exists(state)  # -D runs nothing


def test_dry_run_output_runs_when_pasted(run, fixture_kernel, tmp_path):
    script = run(
        "rumprun", "-D", "qemu", "-i", "-e", "X=pasted", fixture_kernel, "--", "a b", check=0
    ).stdout
    result = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    # The fixture kernel has no virtio-console: all it says is on COM1, stderr.
    assert '"env":["X=pasted"]' in result.stderr, result
    assert "=== rumprun: exit status 7 ===" in result.stderr
    assert result.stdout == ""
    assert result.returncode == 15  # QEMU's own: (7 << 1) | 1


def test_commas_in_paths_are_escaped(run, tmp_path, state_env):
    odd = tmp_path / "a,b=c"
    image = build_fixture_kernel(odd, status=6)
    env = dict(state_env, XDG_RUNTIME_DIR=str(odd), TMPDIR=str(odd))
    result = run("rumprun", "qemu", "-i", image, env=env, timeout=60)
    assert result.returncode == 6, result
    name = run("rumprun", "qemu", "-N", "commas", image, env=env, check=0).stdout.strip()
    try:
        assert name == "commas"
        line = wait_for(
            lambda: "exited" in (ps_line(run, name, env) or "") and ps_line(run, name, env)
        )
        assert "exited (status 6)" in line
        assert (odd / "rumprun" / "guests" / "commas" / "console.log").exists()
    finally:
        run("rumprun", "stop", "commas", env=env)


# --- the configuration's way in ----------------------------------------------


def test_configuration_stays_out_of_the_command_line(run, tmp_path, state_env):
    image = build_fixture_kernel(tmp_path, status=0)
    run("rumprun", "qemu", "-p", "-N", "secretive", "-e", "TOKEN=hunter2", image, check=0)
    try:
        with open(
            os.path.join(
                state_env["XDG_RUNTIME_DIR"], "rumprun", "guests", "secretive", "guest.json"
            )
        ) as f:
            record = json.load(f)
        cmdline = open(f"/proc/{record['pid']}/cmdline", "rb").read()
        assert b"fw_cfg" in cmdline and b"hunter2" not in cmdline
    finally:
        run("rumprun", "stop", "secretive", check=0)


def test_a_large_configuration_reaches_the_guest(run, tmp_path):
    image = build_fixture_kernel(tmp_path, status=0)
    # 300 KB: more than one argument may hold (128 KiB), so -append could not.
    values = [f"V{i}=" + str(i) * 100_000 for i in range(3)]
    result = run(
        "rumprun", "qemu", "-i", *[a for v in values for a in ("-e", v)], image, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert '"env":[' + ",".join(f'"{v}"' for v in values) + "]" in result.stderr


def test_arguments_keep_their_bytes(fixture_kernel, state_env):
    args = [os.fsencode(a) for a in tool("rumprun") + ["qemu", "-i", str(fixture_kernel)]]
    result = subprocess.run(
        args + [b"--", b"caf\xc3\xa9", b"\xff\xfe"],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=state_env,
    )
    assert result.returncode == 7, result
    assert b"fixture.bin 'caf\xc3\xa9' '\xff\xfe'" in result.stderr


# --- bad input ---------------------------------------------------------------


def test_bad_inputs_are_one_sentence(run, fixture_kernel, unbaked_app, tmp_path):
    cases = [
        (["qemu", tmp_path / "absent.bin"], ["does not exist"]),
        (["qemu", "-e", "NOEQUALS", fixture_kernel], ["-e", "VAR=VALUE"]),
        (["qemu", "-e", "=v", fixture_kernel], ["name is empty"]),
        (["qemu", "-M", "1", fixture_kernel], ["at least 2 MiB"]),
        (["qemu", "-M", "lots", fixture_kernel], ["-M"]),
        (["qemu", unbaked_app], ["unbaked", "rumprun-bake"]),
        (["qemu", "/bin/true"], ["not a rumprun image"]),
        (["qemu", "-N", "../escape", fixture_kernel], ["bad guest name"]),
        (["qemu", "-g", "-smp 'unclosed", fixture_kernel], ["-g", "quotation"]),
        (["qemu", "-g", "-daemonize", fixture_kernel], ["-daemonize", "not allowed"]),
        (["qemu", "-D", "0", fixture_kernel], ["-D"]),
        (["nonesuch", fixture_kernel], ["unknown platform", "qemu, kvm, baremetal"]),
        (["qemu"], ["APP"]),
        (["stop", "no-such-guest"], ["no guest", "rumprun ps"]),
        (["cont", "no-such-guest"], ["no guest", "rumprun ps"]),
        (["-T", tmp_path / "nodir", "qemu", fixture_kernel], ["-T"]),
    ]
    for args, words in cases:
        assert_one_line_error(run("rumprun", *args), *words)


def test_missing_qemu_names_the_package(run, fixture_kernel, state_env):
    env = dict(state_env, PATH="/nonexistent")
    assert_one_line_error(
        run("rumprun", "qemu", "-i", fixture_kernel, env=env),
        "qemu-system-x86_64",
        "qemu-system-x86",
    )


def test_memory_minimum_follows_the_image(run, tmp_path):
    big = build_fixture_kernel(tmp_path, status=0, bss_bytes=5 << 20)
    assert_one_line_error(run("rumprun", "-D", "qemu", "-M", "6", big), "at least 7 MiB")
    argv, _, _ = dry_run(run, "qemu", "-M", "8", big)
    assert argv[argv.index("-m") + 1] == "8"


def test_help_everywhere(run):
    for args in (
        ["--help"],
        ["qemu", "--help"],
        ["ps", "--help"],
        ["stop", "--help"],
        ["cont", "--help"],
        ["baremetal", "--help"],
        ["iso", "--help"],
        ["virtualbox", "--help"],
    ):
        result = run("rumprun", *args, check=0)
        assert result.stdout.startswith("Usage:")


@pytest.mark.parametrize("args", [["ps"], ["-D", "qemu", "IMAGE"], ["--help"]])
def test_unwritable_stdout_is_one_sentence(args, fixture_kernel, state_env):
    cmd = tool("rumprun") + [str(fixture_kernel) if a == "IMAGE" else a for a in args]
    for how in ("> /dev/full", ">&-"):
        result = subprocess.run(
            ["sh", "-c", f'exec "$@" {how}', "sh"] + cmd,
            stderr=subprocess.PIPE,
            text=True,
            env=state_env,
            timeout=60,
        )
        assert result.returncode == 2, (how, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "output" in lines[0], (how, result.stderr)


def test_detached_start_that_cannot_report_leaves_no_guest(tmp_path, state_env, run):
    image = build_fixture_kernel(tmp_path, status=0)
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            tool("rumprun") + ["qemu", "-p", "-N", "unreported", str(image)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=state_env,
            timeout=60,
        )
    assert result.returncode == 2, result
    assert "standard output" in result.stderr
    assert ps_line(run, "unreported") is None
    assert subprocess.run(["pgrep", "-f", str(image)], capture_output=True).stdout == b""


# --- exit statuses -----------------------------------------------------------


def test_interactive_exit_status_comes_from_the_status_line(run, fixture_kernel):
    result = run("rumprun", "qemu", "-i", "-e", "X=y", fixture_kernel, "--", "a b", timeout=60)
    assert result.returncode == 7, result
    # COM1 carries the kernel's own lines (all the fixture kernel says): stderr.
    assert "=== rumprun: exit status 7 ===" in result.stderr
    assert '"cmdline":"fixture.bin \'a b\'"' in result.stderr
    assert '"env":["X=y"]' in result.stderr
    assert result.stdout == ""


def test_status_above_127_survives(run, tmp_path):
    image = build_fixture_kernel(tmp_path, status=200)
    assert run("rumprun", "qemu", "-i", image, timeout=60).returncode == 200


@pytest.mark.parametrize("case", ["other port value", "reset"])
def test_a_faked_status_line_is_not_believed(run, tmp_path, case):
    # The guest prints the kernel's status line, then ends another way.
    image = build_fixture_kernel(
        tmp_path, status=9, reset=case == "reset", message="=== rumprun: exit status 0 ===\\n"
    )
    result = run("rumprun", "qemu", "-i", image, timeout=60)
    assert result.returncode == 1, result
    line = assert_one_line_error_status(result, 1)
    assert "not trustworthy" in line
    assert ("reset" in line) if case == "reset" else ("wrote 9" in line)


def assert_one_line_error_status(result, status):
    """The launcher's one sentence: the last line on stderr, after what the
    guest said on COM1."""
    assert result.returncode == status, result
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("rumprun: ")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == lines[0], result.stderr
    return lines[0]


def test_missing_status_line_is_a_failure(run, tmp_path):
    image = build_fixture_kernel(tmp_path, status=0, message="no status here\\n")
    result = run("rumprun", "qemu", "-i", image, timeout=60)
    assert "no status here" in result.stderr
    line = assert_one_line_error_status(result, 1)
    assert "without reporting its exit status" in line


def test_qemu_failure_is_reported_with_its_message(run, fixture_kernel):
    result = run("rumprun", "qemu", "-i", "-g", "-no-such-qemu-flag", fixture_kernel, timeout=60)
    assert result.returncode == 1
    assert "no-such-qemu-flag" in result.stderr


# --- registered guests: ps, stop, cont -----------------------------------------


def test_paused_guest_ps_cont_and_stop(run, tmp_path):
    # -p keeps the guest stopped before its first instruction.
    image = build_fixture_kernel(tmp_path, status=5)
    started = run("rumprun", "qemu", "-p", "-N", "pausy", image, check=0)
    assert started.stdout.strip() == "pausy"
    try:
        line = ps_line(run, "pausy")
        assert " paused " in line, line
        assert str(image) in line and "qemu" in line
        assert_one_line_error(run("rumprun", "qemu", "-N", "pausy", image), "already running")
        run("rumprun", "cont", "pausy", check=0)
        line = wait_for(lambda: "exited" in ps_line(run, "pausy") and ps_line(run, "pausy"))
        assert "exited (status 5)" in line
    finally:
        run("rumprun", "stop", "pausy", check=0)
    assert ps_line(run, "pausy") is None
    assert_one_line_error(run("rumprun", "stop", "pausy"), "no guest")


def test_destroyed_on_poweroff_with_d(run, tmp_path):
    image = build_fixture_kernel(tmp_path, status=4)
    kept = run("rumprun", "qemu", image, check=0).stdout.strip()
    gone = run("rumprun", "qemu", "-d", image, check=0).stdout.strip()
    assert kept.startswith("fixture-") and gone.startswith("fixture-")
    try:
        line = wait_for(lambda: "exited" in (ps_line(run, kept) or "") and ps_line(run, kept))
        assert "exited (status 4)" in line
        assert wait_for(lambda: ps_line(run, gone) is None)
    finally:
        run("rumprun", "stop", kept, check=0)


def test_concurrent_starts_with_one_name(run, tmp_path, state_env):
    image = build_fixture_kernel(tmp_path, status=0)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: run("rumprun", "qemu", "-p", "-N", "racer", image), range(4))
        )
    try:
        winners = [r for r in results if r.returncode == 0]
        assert len(winners) == 1, results
        for r in results:
            if r.returncode:
                assert_one_line_error(r, "already running")
        assert " paused " in ps_line(run, "racer")
        pid = json.load(
            open(
                os.path.join(
                    state_env["XDG_RUNTIME_DIR"], "rumprun", "guests", "racer", "guest.json"
                )
            )
        )["pid"]
    finally:
        run("rumprun", "stop", "racer", check=0)
    assert ps_line(run, "racer") is None
    assert subprocess.run(["pgrep", "-f", str(image)], capture_output=True).stdout == b""
    assert not os.path.exists(f"/proc/{pid}")


def test_damaged_entries_are_named_not_tracebacks(run, state_env):
    guests = os.path.join(state_env["XDG_RUNTIME_DIR"], "rumprun", "guests")
    os.makedirs(os.path.join(guests, "broken"), exist_ok=True)
    with open(os.path.join(guests, "broken", "guest.json"), "w") as f:
        f.write('{"launch": {"platform": 3}, "pid": "x"')
    result = run("rumprun", "ps", check=0)
    assert "Traceback" not in result.stderr
    line = ps_line(run, "broken")
    assert "damaged" in line and "guest.json" in line
    run("rumprun", "stop", "broken", check=0)
    assert ps_line(run, "broken") is None


# --- signals and readers -----------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_stop_qemu(state_env, tmp_path, signum):
    image = build_fixture_kernel(tmp_path, status=0)
    proc = subprocess.Popen(
        tool("rumprun") + ["qemu", "-i", "-p", str(image)],
        env=state_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The paused guest says so on stderr once QEMU runs.
    assert "is paused" in proc.stderr.readline()
    # The first signal asks the guest to shut down (it cannot: its CPU is
    # stopped; tests/test_shutdown.py waits for the grace to pass), the
    # second ends QEMU at once.
    proc.send_signal(signum)
    time.sleep(0.5)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signum, (out, err)
    assert f"interrupted again ({signum.name})" in err and "Traceback" not in err
    assert subprocess.run(["pgrep", "-f", str(image)], capture_output=True).stdout == b""


def test_closed_console_reader_stops_qemu_quietly(state_env, tmp_path):
    # The fixture kernel prints on COM1, which the launcher relays to stderr
    # (tests/test_console.py closes a real program's stdout).
    image = build_fixture_kernel(tmp_path, status=0, message="x" * 100000)
    proc = subprocess.Popen(
        tool("rumprun") + ["qemu", "-i", str(image)],
        env=state_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stderr.read(10)
    proc.stderr.close()  # like `2>&1 | head -c 10`
    assert proc.wait(timeout=20) == 141
    assert proc.stdout.read() == b""
    assert subprocess.run(["pgrep", "-f", str(image)], capture_output=True).stdout == b""


# --- gdb ---------------------------------------------------------------------


def test_gdb_server_answers(run, tmp_path):
    image = build_fixture_kernel(tmp_path, status=0)
    port = free_port()
    run("rumprun", "qemu", "-p", "-N", "debugged", "-D", port, image, check=0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"$?#3f")  # why did the target stop?
            reply = b""
            while b"#" not in reply:
                reply += s.recv(100)
        assert reply.lstrip(b"+").startswith((b"$S05", b"$T05")), reply
    finally:
        run("rumprun", "stop", "debugged", check=0)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


# --- the fast path (rumprun.quick) -----------------------------------------------


def test_the_fast_path_knows_the_commands_options():
    import click

    from rumprun import commands, quick
    from rumprun.backends import BACKENDS

    def options(params):
        return {
            o: p.name
            for p in params
            if isinstance(p, click.Option)
            for o in p.opts + p.secondary_opts
            if o not in ("-h", "--help")
        }

    assert options(commands.cli.params) == {o: v[0] for o, v in quick.GLOBAL_OPTIONS.items()}
    for name in quick.PLATFORMS:
        command = commands.backend_command(BACKENDS[name])
        assert options(command.params) == {o: v[0] for o, v in quick.LAUNCH_OPTIONS.items()}


@pytest.mark.parametrize(
    "args",
    [
        ["qemu", "-i", "IMAGE", "--", "0"],
        ["qemu", "IMAGE"],
        [
            "-D",
            "-T",
            "TMP",
            "kvm",
            "-i",
            "-p",
            "-d",
            "-N",
            "a",
            "-N",
            "b",
            "-M",
            "12",
            "-e",
            "A=1",
            "-e",
            "B=-2",
            "--rc",
            "x 1",
            "--rc",
            "& y",
            "-g",
            "-smp 2",
            "-I",
            "n,vioif",
            "-W",
            "n,inet,dhcp",
            "-P",
            "80:80",
            "-b",
            "d.img,/d",
            "--share",
            "/tmp:/t",
            "--stack",
            "1M",
            "-D",
            "1234",
            "IMAGE",
            "a",
            "--",
            "-b",
        ],
        ["baremetal", "-e", "--", "IMAGE", "-x"],
        ["qemu", "-i", "-", "--", "--"],
    ],
)
def test_the_fast_path_reads_what_click_reads(monkeypatch, tmp_path, args):
    """Where rumprun.quick takes a command line, make_launch gets exactly
    what the click command would give it."""
    from rumprun import backends, commands, model, quick

    args = [str(tmp_path) if a == "TMP" else a for a in args]
    calls = []
    monkeypatch.setattr(model, "make_launch", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(backends, "run", lambda launch: 0)
    commands.cli.main(args=args, standalone_mode=False)
    parsed = quick.parse(args)
    assert parsed is not None
    assert quick.make_launch_arguments(parsed) == calls[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["qemu"],
        ["qemu", "-i"],
        ["qemu", "--help"],
        ["-h"],
        ["qemu", "-ip", "IMAGE"],
        ["qemu", "-M", "0", "IMAGE"],
        ["qemu", "-M", "x", "IMAGE"],
        ["qemu", "-M12", "IMAGE"],
        ["qemu", "-D", "70000", "IMAGE"],
        ["qemu", "--rc=x", "IMAGE"],
        ["qemu", "-e"],
        ["qemu", "-i", "--", "IMAGE"],
        ["-T", "/no/such/dir", "qemu", "IMAGE"],
        ["iso", "IMAGE"],
        ["ps"],
        ["stop", "x"],
        ["qemu", "-x", "IMAGE"],
    ],
)
def test_the_fast_path_leaves_everything_else_to_click(args):
    from rumprun import quick

    assert quick.parse(args) is None


def test_the_launch_model_is_a_frozen_record(fixture_kernel):
    from rumprun import model, records

    launch = model.make_launch(
        "qemu",
        fixture_kernel,
        ("a",),
        env=("A=1",),
        rc=("fixture 1",),
        ports=("8080:80",),
        interactive=True,
    )
    again = model.Launch.from_record(launch.to_record())
    assert again == launch and hash(again) == hash(launch)
    assert again.interfaces[0].ifname == "vioif0" and again.ports[0].guest_port == 80
    with pytest.raises(records.FrozenInstanceError):
        launch.memory_mib = 1
    with pytest.raises(ValueError):
        model.Launch.from_record({**launch.to_record(), "memory_mib": "64"})
    with pytest.raises(TypeError):
        model.Port("tcp", "", 80)  # a field missing
