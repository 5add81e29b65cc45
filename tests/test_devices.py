"""Devices, as a program sees them: images booted in QEMU with NICs on the
PCI bus (virtio-net modern, legacy and transitional; Intel 8254x); the
program (tests/apps/devices/netifs.c) prints what Linux would show in
/sys/class/net, so each test checks what the drivers found.

Images (baked once): netifs.bin.  Each boot takes well under a second.
"""

import pytest

from conftest import ROOT

pytestmark = pytest.mark.qemu  # the tests here boot guests

SOURCES = ROOT / "tests" / "apps" / "devices"
MAC = "52:54:00:12:34:56"


@pytest.fixture(scope="session")
def netifs_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("devices"), "netifs.bin", {"netifs": [SOURCES / "netifs.c"]}
    )


def nic(kind, n, mac=None, options=""):
    """QEMU arguments for NIC number N of KIND on user networking."""
    mac_opt = f",mac={mac}" if mac else ""
    return f"-netdev user,id=n{n} -device {kind},netdev=n{n}{mac_opt}{options} "


def interfaces(run, image, qemu_args):
    """Boot IMAGE with QEMU_ARGS; the lines it printed before the status."""
    args = ["-g", qemu_args] if qemu_args else []
    result = run("rumprun", "qemu", "-i", *args, image, timeout=60)
    said = f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, said
    notices = (result.stdout + result.stderr).replace("=== rumprun: exit status 0 ===", "")
    assert "rumprun:" not in notices, said
    return [line for line in result.stdout.splitlines() if not line.startswith("===")]


@pytest.mark.parametrize(
    "interface",
    ["", ",disable-legacy=on", ",disable-modern=on"],
    ids=["transitional", "modern", "legacy"],
)
def test_virtio_net_interface(run, netifs_bin, interface):
    lines = interfaces(run, netifs_bin, nic("virtio-net-pci", 0, MAC, interface))
    assert lines == [f"vioif0 {MAC} 1500"]


def test_virtio_net_units_in_discovery_order(run, netifs_bin):
    macs = ["52:54:00:aa:00:01", "52:54:00:aa:00:02", "52:54:00:aa:00:03"]
    args = "".join(
        nic("virtio-net-pci", i, mac, ",disable-modern=on" if i == 1 else "")
        for i, mac in enumerate(macs)
    )
    lines = interfaces(run, netifs_bin, args)
    assert lines == [f"vioif{i} {mac} 1500" for i, mac in enumerate(macs)]


def test_no_nic_no_interfaces(run, netifs_bin):
    assert interfaces(run, netifs_bin, "") == ["no /sys/class/net"]


@pytest.mark.parametrize("model", ["e1000", "e1000-82545em", "e1000-82544gc"])
def test_e1000_interface(run, netifs_bin, model):
    lines = interfaces(run, netifs_bin, nic(model, 0, MAC))
    assert lines == [f"wm0 {MAC} 1500"]


def test_e1000_and_virtio_side_by_side(run, netifs_bin):
    args = (
        nic("e1000", 0, "52:54:00:bb:00:01")
        + nic("virtio-net-pci", 1, "52:54:00:bb:00:02")
        + nic("e1000", 2, "52:54:00:bb:00:03")
    )
    assert interfaces(run, netifs_bin, args) == [
        "vioif0 52:54:00:bb:00:02 1500",
        "wm0 52:54:00:bb:00:01 1500",
        "wm1 52:54:00:bb:00:03 1500",
    ]
