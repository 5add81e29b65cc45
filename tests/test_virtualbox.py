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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rumprun.errors import RumprunError  # noqa: E402
from rumprun.virtualbox import (destroy_commands, run_virtualbox,  # noqa: E402
                                virtualbox_commands)
from test_iso import build_isokernel  # noqa: E402

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
    return build_isokernel(tmp_path_factory.mktemp("vboxkernel"))


def test_commands():
    cmds = virtualbox_commands(Path("/x/hello.iso"), "hello", 128, Path("/x/console.log"),
                               Path("/x"))
    assert [c[1] for c in cmds] == ["createvm", "modifyvm", "storagectl", "storageattach",
                                    "startvm"]
    assert all(c[0] == "VBoxManage" for c in cmds)
    modify = cmds[1]
    assert modify[modify.index("--memory") + 1] == "128"
    assert modify[modify.index("--nictype1") + 1] == "82540EM"
    assert modify[modify.index("--uart1") + 1:modify.index("--uart1") + 3] == ["0x3F8", "4"]
    assert modify[modify.index("--uartmode1") + 1:][:2] == ["file", "/x/console.log"]
    attach = cmds[3]
    assert attach[attach.index("--type") + 1] == "dvddrive"
    assert attach[attach.index("--medium") + 1] == "/x/hello.iso"
    assert cmds[4][-2:] == ["--type", "headless"]
    assert destroy_commands("hello") == [["VBoxManage", "unregistervm", "hello", "--delete"]]


def test_dry_run_prints_commands(image, tmp_path, capsys):
    status = run_virtualbox(image, "{}", name="demo", memory_mb=96, dry_run=True,
                            destroy=True, base=tmp_path / "vms")
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    cmds = [shlex.split(line) for line in lines if not line.startswith("#")]
    assert cmds == virtualbox_commands(tmp_path / "vms" / "demo" / "demo.iso", "demo", 96,
                                       tmp_path / "vms" / "demo" / "console.log",
                                       tmp_path / "vms") + destroy_commands("demo")
    assert not (tmp_path / "vms").exists()          # -D does nothing


def test_interactive_destroy(image, tmp_path, fake_vbox, capsys):
    status = run_virtualbox(image, '{"cmdline":"x"}', name="demo", interactive=True,
                            destroy=True, base=tmp_path / "vms")
    assert status == 5
    assert "fake vm says hi" in capsys.readouterr().out
    verbs = [c[0] for c in fake_vbox()]
    assert verbs[verbs.index("createvm"):verbs.index("startvm") + 1] == [
        "createvm", "modifyvm", "storagectl", "storageattach", "startvm"]
    assert verbs[-1] == "unregistervm" or "unregistervm" in verbs
    assert not (tmp_path / "vms" / "demo").exists()


def test_interactive_keeps_vm_without_d(image, tmp_path, fake_vbox, capsys):
    assert run_virtualbox(image, "{}", name="keep", interactive=True,
                          base=tmp_path / "vms") == 5
    calls = fake_vbox()
    assert "unregistervm" not in [c[0] for c in calls]
    assert calls[-1] == ["modifyvm", "keep", "--uartmode1", "disconnected"]
    assert (tmp_path / "vms" / "keep" / "keep.iso").exists()
    with pytest.raises(RumprunError, match="already exists"):
        run_virtualbox(image, "{}", name="keep", interactive=True, base=tmp_path / "vms")


def test_detached_destroy_reaps_after_poweroff(image, tmp_path, fake_vbox):
    assert run_virtualbox(image, "{}", name="bg", destroy=True, base=tmp_path / "vms") == 0
    deadline = time.monotonic() + 20
    while (tmp_path / "vms" / "bg").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (tmp_path / "vms" / "bg").exists()
    assert ["unregistervm", "bg", "--delete"] in fake_vbox()


def test_no_vboxmanage(image, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RumprunError, match="VBoxManage is not installed"):
        run_virtualbox(image, "{}", base=tmp_path / "vms")


def test_bad_image_leaves_nothing(tmp_path, fake_vbox):
    with pytest.raises(RumprunError, match="rumprun"):
        run_virtualbox(Path("/bin/true"), "{}", name="bad", interactive=True,
                       base=tmp_path / "vms")
    assert not (tmp_path / "vms" / "bad").exists()
    assert "createvm" not in [c[0] for c in fake_vbox()]


def test_reaper_runs_as_module():
    r = subprocess.run([sys.executable, "-c", "import rumprun.virtualbox"], cwd=ROOT)
    assert r.returncode == 0
