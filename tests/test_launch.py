"""The rumprun launcher: the model, QEMU's command line, bad inputs, and
the console protocol, using tests/minikernel (a tiny multiboot guest that
prints its command line and a status line, then exits like rumprun's kernel
does)."""

import json
import shlex
import subprocess
import time

from conftest import assert_one_line_error, build_minikernel, tool


def dry_run(run, *args):
    result = run("rumprun", "-D", *args, check=0)
    return shlex.split(result.stdout)


def kernel_config(argv):
    return json.loads(argv[argv.index("-append") + 1])


def test_dry_run_prints_the_qemu_command(run, minikernel):
    argv = dry_run(run, "qemu", "-e", "WORLD=unikernel", "-e", "A=b c",
                   "-M", "32", minikernel, "--", "one", "two words", "it's")
    assert argv[0] == "qemu-system-x86_64"
    assert argv[argv.index("-kernel") + 1] == str(minikernel)
    assert argv[argv.index("-m") + 1] == "32"
    assert "isa-debug-exit,iobase=0xf4,iosize=4" in argv
    for flag in ("-nodefaults", "-no-reboot", "-no-user-config"):
        assert flag in argv
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert "-S" not in argv
    config = kernel_config(argv)
    assert config["env"] == ["WORLD=unikernel", "A=b c"]
    assert shlex.split(config["cmdline"]) == \
        ["minikernel.bin", "one", "two words", "it's"]
    assert any(a.startswith("unix:") and a.endswith(",server=on,wait=off")
               for a in argv)


def test_dry_run_defaults_and_extras(run, minikernel, tmp_path):
    argv = dry_run(run, "-T", tmp_path, "qemu", "-p", "-N", "web1",
                   "-g", "-s -smp 2", minikernel)
    assert argv[argv.index("-m") + 1] == "64"
    assert "-S" in argv and argv[-3:] == ["-s", "-smp", "2"]
    config = kernel_config(argv)
    assert config["cmdline"] == "minikernel.bin" and config["env"] == []
    assert config["hostname"] == "web1"
    qmp = next(a for a in argv if a.startswith("unix:"))
    assert qmp.startswith(f"unix:{tmp_path}/")
    assert list(tmp_path.iterdir()) == []       # the private dir is gone


def test_interactive_dry_run_uses_stdio(run, minikernel):
    argv = dry_run(run, "qemu", "-i", minikernel)
    assert "stdio,id=con,signal=off" in argv


def test_bad_inputs_are_one_sentence(run, minikernel, unbaked_app, tmp_path):
    cases = [
        (["qemu", tmp_path / "absent.bin"], ["does not exist"]),
        (["qemu", "-e", "NOEQUALS", minikernel], ["-e", "VAR=VALUE"]),
        (["qemu", "-e", "=v", minikernel], ["name is empty"]),
        (["qemu", "-M", "1", minikernel], ["at least 2 MiB"]),
        (["qemu", "-M", "lots", minikernel], ["-M"]),
        (["qemu", unbaked_app], ["unbaked", "rumprun-bake"]),
        (["qemu", "/bin/true"], ["not a rumprun image"]),
        (["qemu", "-N", "../escape", minikernel], ["bad guest name"]),
        (["xen", minikernel], ["unknown platform", "qemu, kvm, baremetal"]),
        (["qemu"], ["APP"]),
        (["stop", "no-such-guest"], ["no guest", "rumprun ps"]),
        (["-T", tmp_path / "nodir", "qemu", minikernel], ["-T"]),
    ]
    for args, words in cases:
        assert_one_line_error(run("rumprun", *args), *words)


def test_missing_qemu_names_the_package(run, minikernel, state_env):
    env = dict(state_env, PATH="/nonexistent")
    assert_one_line_error(run("rumprun", "qemu", "-i", minikernel, env=env),
                          "qemu-system-x86_64", "qemu-system-x86")


def test_memory_minimum_follows_the_image(run, tmp_path):
    big = build_minikernel(tmp_path, status=0, bss_bytes=5 << 20)
    assert_one_line_error(run("rumprun", "-D", "qemu", "-M", "6", big),
                          "at least 7 MiB")
    argv = dry_run(run, "qemu", "-M", "8", big)
    assert argv[argv.index("-m") + 1] == "8"


def test_help_everywhere(run):
    for args in (["--help"], ["qemu", "--help"], ["ps", "--help"],
                 ["stop", "--help"], ["baremetal", "--help"]):
        result = run("rumprun", *args, check=0)
        assert result.stdout.startswith("Usage:")


def test_interactive_exit_status_comes_from_the_status_line(run, minikernel):
    result = run("rumprun", "qemu", "-i", "-e", "X=y", minikernel, "--", "a b",
                 timeout=60)
    assert result.returncode == 7, result
    assert "=== rumprun: exit status 7 ===" in result.stdout
    assert '"cmdline":"minikernel.bin \'a b\'"' in result.stdout
    assert '"env":["X=y"]' in result.stdout


def test_status_above_127_survives(run, tmp_path):
    image = build_minikernel(tmp_path, status=200)
    assert run("rumprun", "qemu", "-i", image, timeout=60).returncode == 200


def test_status_line_is_authoritative(run, tmp_path):
    # The guest says 3 but writes 0 to isa-debug-exit: the line wins.
    image = build_minikernel(tmp_path, status=0,
                             message="=== rumprun: exit status 3 ===\\n")
    assert run("rumprun", "qemu", "-i", image, timeout=60).returncode == 3


def test_missing_status_line_is_a_failure(run, tmp_path):
    image = build_minikernel(tmp_path, status=0, message="no status here\\n")
    result = run("rumprun", "qemu", "-i", image, timeout=60)
    assert result.returncode == 1
    assert "no status here" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "without reporting its exit status" in lines[0]


def test_qemu_failure_is_reported_with_its_message(run, minikernel):
    result = run("rumprun", "qemu", "-i", "-g", "-no-such-qemu-flag",
                 minikernel, timeout=60)
    assert result.returncode == 1
    assert "no-such-qemu-flag" in result.stderr


def test_detached_guest_ps_and_stop(run, tmp_path, state_env):
    # -p keeps the guest stopped before its first instruction, so it is
    # still there for ps and stop.
    image = build_minikernel(tmp_path, status=5)
    started = run("rumprun", "qemu", "-p", "-N", "pausy", image, check=0)
    assert started.stdout.strip() == "pausy"
    try:
        listing = run("rumprun", "ps", check=0).stdout
        line = next(ln for ln in listing.splitlines() if ln.startswith("pausy"))
        assert "prelaunch" in line  # QEMU's name for "stopped before boot"
        assert str(image) in line and "qemu" in line
        again = run("rumprun", "qemu", "-N", "pausy", image)
        assert_one_line_error(again, "already running")
    finally:
        run("rumprun", "stop", "pausy", check=0)
    assert "pausy" not in run("rumprun", "ps", check=0).stdout
    assert_one_line_error(run("rumprun", "stop", "pausy"), "no guest")


def test_detached_guest_that_exits_shows_its_status(run, tmp_path):
    image = build_minikernel(tmp_path, status=4)
    name = run("rumprun", "qemu", image, check=0).stdout.strip()
    assert name.startswith("minikernel-")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = next(ln for ln in run("rumprun", "ps", check=0).stdout
                    .splitlines() if ln.startswith(name))
        if "exited" in line:
            break
        time.sleep(0.1)
    assert "exited (status 4)" in line
    run("rumprun", "stop", name, check=0)


def test_ctrl_c_stops_qemu(state_env, tmp_path):
    image = build_minikernel(tmp_path, status=0)
    proc = subprocess.Popen(tool("rumprun") + ["qemu", "-i", "-p", str(image)],
                            env=state_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(2)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    leftover = subprocess.run(["pgrep", "-f", str(image)],
                              capture_output=True, text=True).stdout
    assert leftover == ""


def test_closed_console_reader_stops_qemu_quietly(state_env, tmp_path):
    image = build_minikernel(tmp_path, status=0, message="x" * 100000)
    proc = subprocess.Popen(tool("rumprun") + ["qemu", "-i", str(image)],
                            env=state_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()          # like `| head -c 10`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=20) == 141, err
    assert "Traceback" not in err
