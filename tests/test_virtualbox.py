"""`rumprun virtualbox`: the VBoxManage commands, and the runner against a
fake VBoxManage (VirtualBox cannot be installed here) that plays a VM
printing a console and powering off."""

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import build_fixture_kernel, tool
from rumprun import backends
from rumprun.backends.virtualbox import destroy_commands, virtualbox_commands
from rumprun.errors import RumprunError
from rumprun.model import make_launch


ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.qemu  # the tests here boot guests

FAKE = textwrap.dedent('''\
    #!{python}
    """A stand-in for VBoxManage: a VM that prints its console and powers off."""
    import json, os, sys
    state_file = os.environ["FAKE_VBOX_STATE"]
    st = json.load(open(state_file)) if os.path.exists(state_file) else {{"vms": {{}}}}
    with open(os.environ["FAKE_VBOX_LOG"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\\n")
    cmd, name = sys.argv[1], (sys.argv[3] if sys.argv[1] == "createvm" else sys.argv[2])
    vms = st["vms"]
    def save():
        json.dump(st, open(state_file, "w"))
    if cmd == "createvm":
        if name in vms:
            sys.exit("VBoxManage: error: Machine settings file already exists")
        vms[name] = {{"state": "poweroff"}}
    elif cmd == "showvminfo":
        if name not in vms:
            sys.exit("VBoxManage: error: Could not find a registered machine named " + name)
        print('name="%s"\\nVMState="%s"' % (name, vms[name]["state"]))
    elif cmd == "modifyvm":
        args = sys.argv[3:]
        if "--uartmode1" in args and args[args.index("--uartmode1") + 1] == "file":
            vms[name]["console"] = args[args.index("--uartmode1") + 2]
    elif cmd == "storageattach":
        iso = sys.argv[sys.argv.index("--medium") + 1]
        assert open(iso, "rb").read(0x8006)[0x8001:] == b"CD001"
    elif cmd == "startvm":
        with open(vms[name]["console"], "w") as f:
            f.write("fake vm says hi\\n=== rumprun: exit status 5 ===\\n")
        vms[name]["state"] = "running"
        vms[name]["polls"] = 0
    elif cmd == "unregistervm":
        del vms[name]
    elif cmd == "controlvm":
        vms[name]["state"] = "poweroff"
    if cmd == "showvminfo" and vms[name]["state"] == "running":
        vms[name]["polls"] += 1
        if vms[name]["polls"] >= 3:
            vms[name]["state"] = "poweroff"
    save()
''')


@pytest.fixture
def fake_vbox(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "VBoxManage"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    log = tmp_path / "vbox.log"
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_VBOX_STATE", str(tmp_path / "vbox.json"))
    monkeypatch.setenv("FAKE_VBOX_LOG", str(log))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_fixture_kernel(tmp_path_factory.mktemp("vboxkernel"), status=3)


@pytest.fixture
def vms(tmp_path, monkeypatch):
    """Where the VMs' files go ($XDG_STATE_HOME/rumprun/virtualbox)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "rumprun" / "virtualbox"


def launch(image, **options):
    return make_launch("virtualbox", image, **options)


def test_commands():
    cmds = virtualbox_commands(
        Path("/x/hello.iso"), "hello", 128, Path("/x/console.log"), Path("/x")
    )
    assert [c[1] for c in cmds] == [
        "createvm",
        "modifyvm",
        "storagectl",
        "storageattach",
        "startvm",
    ]
    assert all(c[0] == "VBoxManage" for c in cmds)
    modify = cmds[1]
    assert modify[modify.index("--memory") + 1] == "128"
    assert modify[modify.index("--nictype1") + 1] == "82540EM"
    assert modify[modify.index("--uart1") + 1 : modify.index("--uart1") + 3] == ["0x3F8", "4"]
    assert modify[modify.index("--uartmode1") + 1 :][:2] == ["file", "/x/console.log"]
    attach = cmds[3]
    assert attach[attach.index("--type") + 1] == "dvddrive"
    assert attach[attach.index("--medium") + 1] == "/x/hello.iso"
    assert cmds[4][-2:] == ["--type", "headless"]
    assert destroy_commands("hello") == [["VBoxManage", "unregistervm", "hello", "--delete"]]


def test_dry_run_prints_commands(image, vms, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        tool("rumprun")
        + [
            "-D",
            "virtualbox",
            "-N",
            "demo",
            "-M",
            "96",
            "-d",
            "-e",
            "A=b",
            str(image),
            "--",
            "x y",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    cmds = [shlex.split(line) for line in lines if not line.startswith("#")]
    vmdir = vms / "demo"
    assert cmds[0] == ["mkdir", "-p", "-m", "700", str(vmdir)]
    iso = cmds[1]
    assert os.path.isabs(iso[0]) and iso[1:5] == ["iso", "-o", str(vmdir / "demo.iso"), "--force"]
    assert iso[iso.index("-e") + 1] == "A=b" and iso[-3:] == [str(image), "--", "x y"]
    assert cmds[2:] == virtualbox_commands(
        vmdir / "demo.iso", "demo", 96, vmdir / "console.log", vms
    ) + destroy_commands("demo")
    assert not vms.exists()  # -D does nothing
    # The ISO command works as printed.
    iso[2:4] = ["-o", str(tmp_path / "demo.iso")]
    assert subprocess.run(iso, env=env, capture_output=True, timeout=120).returncode == 0
    assert (tmp_path / "demo.iso").stat().st_size > 0


def test_qemu_only_options_are_refused(image, vms):
    for options in ({"qemu_args": ["-smp 2"]}, {"paused": True}, {"gdb_port": 1234}):
        with pytest.raises(RumprunError, match="rumprun virtualbox has no"):
            backends.run(launch(image, **options))


def test_interactive_destroy(image, vms, fake_vbox, capsys):
    status = backends.run(launch(image, name="demo", interactive=True, destroy=True, env=["A=b"]))
    assert status == 5
    assert "fake vm says hi" in capsys.readouterr().out
    verbs = [c[0] for c in fake_vbox()]
    assert verbs[verbs.index("createvm") : verbs.index("startvm") + 1] == [
        "createvm",
        "modifyvm",
        "storagectl",
        "storageattach",
        "startvm",
    ]
    assert "unregistervm" in verbs
    assert not (vms / "demo").exists()


def test_interactive_keeps_vm_without_d(image, vms, fake_vbox, capsys):
    assert backends.run(launch(image, name="keep", interactive=True)) == 5
    calls = fake_vbox()
    assert "unregistervm" not in [c[0] for c in calls]
    assert calls[-1] == ["modifyvm", "keep", "--uartmode1", "disconnected"]
    assert (vms / "keep" / "keep.iso").exists()
    with pytest.raises(RumprunError, match="already exists"):
        backends.run(launch(image, name="keep", interactive=True))


def test_detached_destroy_reaps_after_poweroff(image, vms, fake_vbox):
    assert backends.run(launch(image, name="bg", destroy=True)) == 0
    deadline = time.monotonic() + 20
    while (vms / "bg").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (vms / "bg").exists()
    assert ["unregistervm", "bg", "--delete"] in fake_vbox()


def test_no_vboxmanage(image, vms, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RumprunError, match="VBoxManage is not installed"):
        backends.run(launch(image))


def test_reaper_runs_as_module():
    r = subprocess.run([sys.executable, "-c", "import rumprun.backends.virtualbox"], cwd=ROOT)
    assert r.returncode == 0
