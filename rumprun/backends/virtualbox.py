"""`rumprun virtualbox`: boot a baked image in VirtualBox from a hybrid ISO.

The VM is built with VBoxManage: an IDE DVD drive holding the ISO that
rumprun.images.iso builds, an Intel PRO/1000 MT (82540EM) NIC on NAT, and COM1
writing to a file.  The VM's files, its ISO and its console log live in
one directory per VM, STATE_DIR/NAME, which -d removes with the VM when it
powers off.  VirtualBox has no isa-debug-exit: the exit status is read from
the kernel's last console line, `=== rumprun: exit status N ===`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

from rumprun.backends import GuestFailed
from rumprun.plan import Plan
from rumprun.errors import RumprunError

VBOXMANAGE = "VBoxManage"
_STOPPED = {"poweroff", "aborted", "saved"}


def state_dir() -> Path:
    """Where VMs made by rumprun keep their files: $XDG_STATE_HOME/rumprun/virtualbox."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "rumprun" / "virtualbox"


# -I's driver -> VirtualBox's NIC type; VirtualBox has 8 NIC slots.
NIC_TYPES = {"e1000": "82540EM", "vioif": "virtio"}
MAX_NICS = 8


def virtualbox_commands(
    iso: Path,
    name: str,
    memory_mb: int,
    console_path: Path,
    basefolder: Path,
    vboxmanage: str = VBOXMANAGE,
    nics=("e1000",),
    ports=(),
) -> list[list[str]]:
    """The VBoxManage commands that create, configure and start the VM.

    The VM boots the ISO from its DVD drive, has a NIC on NAT for each of
    NICS (drivers: e1000 is an 82540EM, vioif a virtio-net), PORTS
    (model.Port) forwarded by the first one's NAT, and COM1 (0x3f8, IRQ 4)
    writing to `console_path`; it runs headless.
    """
    v = vboxmanage
    network = []
    for i, driver in enumerate(nics, 1):
        network += [
            f"--nic{i}",
            "nat",
            f"--nictype{i}",
            NIC_TYPES[driver],
            f"--cableconnected{i}",
            "on",
        ]
    for p in ports:
        network += [
            "--natpf1",
            f"rumprun-{p.protocol}-{p.host_port},{p.protocol},"
            f"{p.host_addr},{p.host_port},,{p.guest_port}",
        ]
    return [
        [
            v,
            "createvm",
            "--name",
            name,
            "--ostype",
            "Other_64",
            "--basefolder",
            str(basefolder),
            "--register",
        ],
        [
            v,
            "modifyvm",
            name,
            "--memory",
            str(memory_mb),
            "--cpus",
            "1",
            "--firmware",
            "bios",
            "--acpi",
            "on",
            "--ioapic",
            "on",
            "--boot1",
            "dvd",
            "--boot2",
            "none",
            "--boot3",
            "none",
            "--boot4",
            "none",
            *network,
            "--uart1",
            "0x3F8",
            "4",
            "--uartmode1",
            "file",
            str(console_path),
        ],
        [v, "storagectl", name, "--name", "IDE", "--add", "ide", "--controller", "PIIX4"],
        [
            v,
            "storageattach",
            name,
            "--storagectl",
            "IDE",
            "--port",
            "1",
            "--device",
            "0",
            "--type",
            "dvddrive",
            "--medium",
            str(iso),
        ],
        [v, "startvm", name, "--type", "headless"],
    ]


def destroy_commands(name: str, vboxmanage: str = VBOXMANAGE) -> list[list[str]]:
    """The commands that remove a powered-off VM and its files."""
    return [[vboxmanage, "unregistervm", name, "--delete"]]


def vm_name(launch):
    return launch.name or f"rumprun-{launch.image.path.stem}"[:48]


def _check_supported(launch):
    for given, flag in (
        (launch.qemu_args, "-g"),
        (launch.paused, "-p"),
        (launch.gdb_port is not None, "-D PORT"),
    ):
        if given:
            raise RumprunError(
                f"rumprun virtualbox has no {flag}: VirtualBox is "
                "not QEMU (use rumprun qemu for that)"
            )
    if len(launch.interfaces) > MAX_NICS:
        raise RumprunError(
            f"rumprun virtualbox: a VM has at most {MAX_NICS} "
            f"network interfaces, not {len(launch.interfaces)} (-I)"
        )


def _nics(launch):
    """The VM's NICs: one per -I, else the one 82540EM every VM gets."""
    return [n.driver for n in launch.interfaces] or ["e1000"]


def _commands(launch, iso, name, console, base, vbox):
    return virtualbox_commands(
        iso, name, launch.memory_mib, console, base, vbox, nics=_nics(launch), ports=launch.ports
    )


def plan(launch):
    """The ISO it writes and the VBoxManage commands it runs, in order."""
    from rumprun import model

    _check_supported(launch)
    name = vm_name(launch)
    base = state_dir()
    vmdir = base / name
    iso = vmdir / f"{name}.iso"
    console = vmdir / "console.log"
    vbox = shutil.which(VBOXMANAGE) or VBOXMANAGE
    p = Plan()
    p.mkdir(vmdir)
    p.command(model.rumprun_command(launch, "iso", "-o", iso, "--force"))
    for c in _commands(launch, iso, name, console, base, vbox):
        p.command(c)
    if launch.interactive:
        p.comment(f"the console goes to {console}")
    if launch.destroy:
        p.comment("when the VM has powered off:")
        for c in destroy_commands(name, vbox):
            p.command(c)
    return p


def run(launch) -> int:
    """Build the ISO of the image and run it in a new VirtualBox VM.

    interactive (-i): copy the console to stdout until the VM powers off
    and return the app's exit status.  Otherwise return 0 once the VM has
    started and say where its console goes.  destroy (-d): remove the VM
    and its files when it powers off (without -i a detached helper process
    waits for that).
    """
    from rumprun import model
    from rumprun.backends.iso import disk_modules
    from rumprun.images.iso import build_iso

    _check_supported(launch)
    out = sys.stdout
    name = vm_name(launch)
    base = state_dir()
    vmdir = base / name
    iso = vmdir / f"{name}.iso"
    console = vmdir / "console.log"
    vbox = shutil.which(VBOXMANAGE)
    if vbox is None:
        raise RumprunError(
            "VBoxManage is not installed: install VirtualBox, or use -D to print the commands"
        )
    if _vm_state(vbox, name) is not None:
        raise RumprunError(
            f"a VirtualBox VM named {name} already exists: choose another "
            f"name with -N or remove it (VBoxManage unregistervm {name} --delete)"
        )
    try:
        vmdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RumprunError(f"cannot create {vmdir}: {e.strerror}") from None
    commands = _commands(launch, iso, name, console, base, vbox)
    interactive, destroy = launch.interactive, launch.destroy
    started = False
    try:
        build_iso(
            launch.image.path,
            model.kernel_config(launch, disks_as_modules=True),
            iso,
            force=True,
            tmpdir=launch.tmpdir,
            modules=disk_modules(launch),
        )
        if console.exists():
            console.unlink()
        for c in commands:
            _vbox(c)
        started = True
        if not interactive:
            print(f"{name}: started in VirtualBox; console in {console}", file=sys.stderr)
            if destroy:
                _spawn_reaper(vbox, name, vmdir)
            return 0
        return _follow(vbox, name, console, out)
    except KeyboardInterrupt:
        if started:
            subprocess.run([vbox, "controlvm", name, "poweroff"], capture_output=True)
            _wait_stopped(vbox, name, 30)
        return 130
    finally:
        if interactive or not started:
            if destroy or not started:
                _remove(vbox, name, vmdir)
            else:
                # Keep the VM, but not a serial port pointing at a log we may remove.
                subprocess.run(
                    [vbox, "modifyvm", name, "--uartmode1", "disconnected"], capture_output=True
                )


def _vbox(cmd: list[str]) -> str:
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["no message"])[-1]
        raise RumprunError(f"VBoxManage {cmd[1]} failed: {why}")
    return r.stdout


def _vm_state(vbox: str, name: str) -> Optional[str]:
    """The VM's VMState, or None if there is no such VM."""
    r = subprocess.run(
        [vbox, "showvminfo", name, "--machinereadable"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        return None
    m = re.search(r'^VMState="([^"]*)"', r.stdout, re.M)
    return m.group(1) if m else "unknown"


def _wait_stopped(vbox: str, name: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and _vm_state(vbox, name) not in _STOPPED | {None}:
        time.sleep(0.5)


def _follow(vbox: str, name: str, console: Path, out: TextIO) -> int:
    """Copy the console to `out` until the VM stops; the status from its last line."""
    from rumprun.console import LineEndings, StatusScanner

    scanner, endings = StatusScanner(), LineEndings()
    pos = 0
    while True:
        state = _vm_state(vbox, name)
        if console.exists():
            with open(console, "rb") as f:
                f.seek(pos)
                chunk = f.read()
            pos += len(chunk)
            if chunk:
                scanner.feed(chunk)
                out.buffer.write(endings.convert(chunk))
                out.flush()
        if state in _STOPPED or state is None:
            break
        time.sleep(0.2)
    out.buffer.write(endings.finish())
    out.flush()
    status = scanner.finish()
    if status is None:
        raise GuestFailed(
            f"the VM {name} stopped without printing an exit status (its state is {state})"
        )
    return status


def _remove(vbox: str, name: str, vmdir: Path) -> None:
    if _vm_state(vbox, name) is not None:
        subprocess.run(destroy_commands(name, vbox)[0], capture_output=True)
    shutil.rmtree(vmdir, ignore_errors=True)


def _spawn_reaper(vbox: str, name: str, vmdir: Path) -> None:
    subprocess.Popen(
        [sys.executable, "-m", "rumprun.backends.virtualbox", "reap", vbox, name, str(vmdir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
    )


def _reap(vbox: str, name: str, vmdir: Path) -> None:
    """Wait until the VM stops, then remove it and its directory (the -d helper)."""
    while _vm_state(vbox, name) not in _STOPPED | {None}:
        time.sleep(1)
    _remove(vbox, name, vmdir)


if __name__ == "__main__" and sys.argv[1:2] == ["reap"]:
    _reap(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
