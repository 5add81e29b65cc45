#!/usr/bin/env python3
"""A Linux microVM to measure the unikernel against: Debian's cloud kernel
and a busybox initramfs that runs one static program, on the same QEMU
(TCG) and the same user networking the unikernel uses.

    benchmarks/linux_microvm.py PROGRAM [OUT_DIR]   # build (cached)

Built from Debian packages fetched with `apt-get download` (the kernel the
linux-image-cloud-amd64 metapackage names, busybox-static), unpacked with
dpkg -x; nothing is installed.  The initramfs (packed with rumprun's own
cpio writer, rumprun/toolchain/rootfs.py) holds busybox, the virtio network modules
and PROGRAM as /program.  Its /init mounts /proc, /sys and /dev, loads the
modules (busybox's insmod resolves no dependencies: three passes), sets
eth0 to 10.0.2.15/24 with 10.0.2.2 as the gateway (what QEMU's DHCP would
give), runs /program with the arguments after `--` on the kernel command
line, and powers off.  The build is cached in OUT_DIR (default
build/microvm) and redone when PROGRAM or the kernel package changes.

Used by benchmarks/net_bench.py; boot it with qemu_args().
"""

import gzip
import hashlib
import lzma
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rumprun.toolchain import rootfs  # noqa: E402

KERNEL_META = "linux-image-cloud-amd64"
# The virtio-net driver and what it needs, as modules of the cloud kernel.
MODULES = [
    "virtio",
    "virtio_ring",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
]

INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for pass in 1 2 3; do
    for m in /lib/modules/*.ko; do /bin/busybox insmod "$m" 2>/dev/null; done
done
/bin/busybox ip link set lo up
/bin/busybox ip link set eth0 up
/bin/busybox ip addr add 10.0.2.15/24 dev eth0
/bin/busybox ip route add default via 10.0.2.2
echo "microvm: running /program $*"
/program "$@"
echo "microvm: /program exited with status $?"
/bin/busybox poweroff -f
"""


class MicrovmError(Exception):
    """A failure of the build, as one sentence."""


def progress(msg):
    print(f"microvm: {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise MicrovmError(f"{' '.join(map(str, cmd))} failed: {detail}")
    return result.stdout


def kernel_package():
    """The versioned kernel package the cloud metapackage depends on."""
    for line in run(["apt-cache", "depends", KERNEL_META]).splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            return line.split()[-1]
    raise MicrovmError(f"apt does not know what {KERNEL_META} depends on (apt-get update?)")


def fetch(package, into):
    """apt-get download PACKAGE, unpacked into INTO; the .deb's path."""
    with tempfile.TemporaryDirectory() as tmp:
        run(["apt-get", "download", "-q", package], cwd=tmp)
        debs = list(Path(tmp).glob("*.deb"))
        if len(debs) != 1:
            raise MicrovmError(f"apt-get download {package} gave {len(debs)} files")
        run(["dpkg", "-x", str(debs[0]), str(into)])
        return debs[0].name


def build(program, out=ROOT / "build" / "microvm", modules=MODULES, init=INIT):
    """Build (or reuse) the microVM for PROGRAM: (vmlinuz, initrd.gz).
    MODULES: the cloud kernel's modules to load; INIT: the /init script."""
    program = Path(program)
    out = Path(out)
    kpkg = kernel_package()
    key = hashlib.sha256(
        program.read_bytes() + kpkg.encode() + "\n".join(modules).encode() + init.encode()
    ).hexdigest()[:16]
    vmlinuz, initrd, stamp = out / "vmlinuz", out / "initrd.gz", out / "key"
    if stamp.exists() and stamp.read_text() == key and vmlinuz.exists() and initrd.exists():
        return vmlinuz, initrd
    progress(f"building the Linux microVM ({kpkg}, busybox-static) in {out}")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    pkgs = out / "pkgs"
    fetch(kpkg, pkgs)
    fetch("busybox-static", pkgs)
    kernels = sorted((pkgs / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise MicrovmError(f"{kpkg} holds no /boot/vmlinuz-*")
    shutil.copy(kernels[-1], vmlinuz)

    tree = out / "initramfs"
    for d in ("bin", "sbin", "proc", "sys", "dev", "lib/modules", "tmp"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(pkgs / "bin" / "busybox", tree / "bin" / "busybox")
    (tree / "bin" / "sh").symlink_to("busybox")
    for name in modules:
        found = list((pkgs / "lib" / "modules").glob(f"*/kernel/**/{name}.ko*"))
        if not found:
            raise MicrovmError(f"{kpkg} has no module {name}")
        data = found[0].read_bytes()
        if found[0].suffix == ".xz":
            data = lzma.decompress(data)
        (tree / "lib" / "modules" / f"{name}.ko").write_bytes(data)
    (tree / "init").write_text(init)
    (tree / "init").chmod(0o755)
    shutil.copy(program, tree / "program")
    (tree / "program").chmod(0o755)
    initrd.write_bytes(gzip.compress(rootfs.pack_rootfs(tree), 6))
    shutil.rmtree(pkgs)
    stamp.write_text(key)
    progress(
        f"built: {vmlinuz.stat().st_size // 1024} KiB kernel, "
        f"{initrd.stat().st_size // 1024} KiB initramfs"
    )
    return vmlinuz, initrd


def qemu_args(vmlinuz, initrd, args, memory_mib=256, netdev="user,id=n0", disks=()):
    """QEMU's command line for the microVM running /program ARGS, on TCG
    as the unikernel's launcher runs QEMU, one virtio-net NIC on NETDEV,
    and a virtio-blk disk (vda, vdb ...) for each raw image in DISKS, as
    the unikernel's launcher attaches them (-blockdev, cache as QEMU's
    default: write-back with flushes honoured)."""
    drives = []
    for i, disk in enumerate(disks):
        drives += [
            "-blockdev",
            f"driver=raw,node-name=disk{i},file.driver=file,file.filename={disk}",
            "-device",
            f"virtio-blk-pci,drive=disk{i}",
        ]
    return [
        "qemu-system-x86_64",
        "-M",
        "pc",
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-m",
        str(memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        "stdio",
        "-kernel",
        str(vmlinuz),
        "-initrd",
        str(initrd),
        "-append",
        "console=ttyS0 quiet panic=-1 -- " + " ".join(args),
        "-netdev",
        netdev,
        "-device",
        "virtio-net-pci,netdev=n0",
    ] + drives


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: linux_microvm.py PROGRAM [OUT_DIR]", file=sys.stderr)
        return 2
    try:
        vmlinuz, initrd = build(argv[1], *(argv[2:]))
    except (MicrovmError, OSError) as e:
        print(f"linux_microvm: {e}", file=sys.stderr)
        return 2
    print(vmlinuz)
    print(initrd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
