"""The launcher's side of networking and storage: -I, -W, -P, -b, --share
and --stack rendered into QEMU's devices (what -D prints), into the kernel's
JSON (CONFIG-SPEC.md), into an ISO's modules and into VirtualBox commands;
bad input, a host port in use, a disk image two guests would write.  The
guest side is the kernel's (tests/test_net*.py, tests/test_storage*.py);
here tests/fixtures/kernel boots with the devices and prints the configuration
it got, so QEMU accepting the options is checked too."""

import io
import json
import shlex
import socket

import pytest

from conftest import assert_one_line_error, build_fixture_kernel, dry_run, free_port

pytestmark = pytest.mark.qemu  # the tests here boot guests


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_fixture_kernel(tmp_path_factory.mktemp("devices"), status=0)


@pytest.fixture
def disk(tmp_path):
    """A writable raw disk image (no file system)."""
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(1 << 20))
    return path


@pytest.fixture(scope="module")
def iso_volume(tmp_path_factory):
    """A small ISO 9660 volume (read-only by nature)."""
    import pycdlib

    path = tmp_path_factory.mktemp("vol") / "data.iso"
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3)
    iso.add_fp(io.BytesIO(b"hi\n"), 3, "/HI.TXT;1")
    iso.write(str(path))
    iso.close()
    return path


def devices(argv):
    """The -netdev/-device/-blockdev/-fsdev pairs of a QEMU argv, in order
    (but the console's: the exit port, the programs' streams)."""
    return [
        (a, argv[i + 1])
        for i, a in enumerate(argv)
        if a in ("-netdev", "-device", "-blockdev", "-fsdev")
        and not argv[i + 1].startswith(("isa-debug-exit", "virtio-serial", "virtserialport"))
    ]


# --- networking ------------------------------------------------------------------


def test_ports_without_interfaces_give_one_dhcp_virtio_nic(run, image):
    argv, config, _ = dry_run(
        run, "qemu", "-i", "-P", "8080:80", "-P", "127.0.0.1:5353:53/udp", image
    )
    assert devices(argv) == [
        ("-netdev", "user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:5353-:53"),
        ("-device", "virtio-net-pci,netdev=net0,romfile="),
    ]
    assert "-net" in argv and argv[argv.index("-net") + 1] == "none"
    assert config["net"] == [{"if": "vioif0", "type": "inet", "method": "dhcp"}]


def test_interfaces_in_order_with_their_addresses(run, image):
    argv, config, _ = dry_run(
        run,
        "qemu",
        "-i",
        "-I",
        "lan,vioif,-netdev tap,ifname=tap0,script=no,downscript=no",
        "-I",
        "wan,e1000",
        "-I",
        "mgmt,vioif,-net user,net=10.9.0.0/24",
        "-I",
        "old,wm",
        "-W",
        "lan,inet,static,192.168.7.2/24,192.168.7.1",
        "-W",
        "lan,inet6,static,fd00::2/64",
        "-W",
        "wan,inet,dhcp",
        "-W",
        "wan,inet6,auto",
        "-W",
        "mgmt,inet,static,10.9.0.5/255.255.255.0",
        "-P",
        "2222:22",
        image,
    )
    assert devices(argv) == [
        ("-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no"),
        ("-device", "virtio-net-pci,netdev=net0,romfile="),
        ("-netdev", "user,id=net1,hostfwd=tcp::2222-:22"),
        ("-device", "e1000,netdev=net1,romfile="),
        ("-netdev", "user,id=net2,net=10.9.0.0/24"),
        ("-device", "virtio-net-pci,netdev=net2,romfile="),
        ("-netdev", "user,id=net3"),
        ("-device", "e1000,netdev=net3,romfile="),
    ]
    assert config["net"] == [
        {
            "if": "vioif0",
            "type": "inet",
            "method": "static",
            "addr": "192.168.7.2",
            "mask": "24",
            "gw": "192.168.7.1",
        },
        {"if": "vioif0", "type": "inet6", "method": "static", "addr": "fd00::2", "mask": "64"},
        {"if": "wm0", "type": "inet", "method": "dhcp"},
        {"if": "wm0", "type": "inet6", "method": "auto"},
        {"if": "vioif1", "type": "inet", "method": "static", "addr": "10.9.0.5", "mask": "24"},
    ]


def test_a_netdev_keeps_its_own_id(run, image):
    argv, _, _ = dry_run(run, "qemu", "-I", "x,vioif,-netdev socket,id=s0,listen=:0", image)
    assert devices(argv) == [
        ("-netdev", "socket,id=s0,listen=:0"),
        ("-device", "virtio-net-pci,netdev=s0,romfile="),
    ]


@pytest.mark.parametrize(
    "args, words",
    [
        (["-I", "net0"], ["-I", "IFTAG,IFBASENAME"]),
        (["-I", "net0,ne2k"], ["unknown interface type", "vioif", "e1000"]),
        (["-I", "net0,vioif,tap"], ["-net or -netdev"]),
        (["-I", "net0,vioif,'-net user"], ["-I", "quotation"]),
        (["-I", "a,vioif", "-I", "a,e1000"], ["two interfaces", "'a'"]),
        (["-W", "net0,inet,dhcp"], ["no interface 'net0'", "-I"]),
        (["-I", "a,vioif", "-W", "b,inet,dhcp"], ["no interface 'b'", "known ones: a"]),
        (
            ["-I", "a,vioif", "-W", "a,inet,dhcp", "-W", "a,inet,static,1.2.3.4/8"],
            ["two inet configurations"],
        ),
        (["-I", "a,vioif", "-W", "a,ipx,dhcp"], ["inet or inet6"]),
        (["-I", "a,vioif", "-W", "a,inet,auto"], ["IFTAG,inet,dhcp"]),
        (["-I", "a,vioif", "-W", "a,inet,static,300.1.1.1/24"], ["-W", "300.1.1.1"]),
        (["-I", "a,vioif", "-W", "a,inet,static,10.0.0.2"], ["needs its mask"]),
        (
            ["-I", "a,vioif", "-W", "a,inet,static,10.0.0.2/24,10.0.1.1"],
            ["gateway 10.0.1.1 is not in 10.0.0.0/24"],
        ),
        (["-I", "a,vioif", "-W", "a,inet6,static,10.0.0.2/24"], ["-W"]),
        (["-P", "80"], ["-P", "HOSTPORT:GUESTPORT"]),
        (["-P", "70000:80"], ["1 to 65535"]),
        (["-P", "8080:80/sctp"], ["tcp or udp"]),
        (["-P", "localhost:8080:80"], ["not an IPv4 address"]),
        (["-P", "[::1]:8080:80"], ["IPv4"]),
        (["-I", "a,vioif,-netdev tap,ifname=t0", "-P", "8080:80"], ["user networking"]),
    ],
)
def test_bad_network_flags_are_one_sentence(run, image, args, words):
    assert_one_line_error(run("rumprun", "-D", "qemu", *args, image), *words)


def test_a_host_port_in_use_is_named(run, image):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = assert_one_line_error(
            run("rumprun", "qemu", "-i", "-P", f"127.0.0.1:{port}:80", image),
            f"host tcp port {port}",
            "already in use",
        )
        assert line.startswith(f"rumprun: -P 127.0.0.1:{port}:80")


def test_guest_boots_with_interfaces_and_forwards(run, image):
    port = free_port()
    result = run(
        "rumprun",
        "qemu",
        "-i",
        "-P",
        f"127.0.0.1:{port}:80",
        "-I",
        "n1,e1000",
        "-W",
        "n1,inet,dhcp",
        image,
        timeout=60,
    )
    assert result.returncode == 0, result
    config = json.loads(result.stderr.splitlines()[1])  # COM1: stderr
    assert config["net"] == [{"if": "wm0", "type": "inet", "method": "dhcp"}]


# --- storage -------------------------------------------------------------------------


def test_disks_and_shares_in_order(run, image, disk, iso_volume, tmp_path):
    ro = tmp_path / "ro.img"
    ro.write_bytes(bytes(4096))
    ro.chmod(0o444)
    folder = tmp_path / "src,dir"
    folder.mkdir()
    argv, config, _ = dry_run(
        run,
        "qemu",
        "-b",
        f"{disk},/data",
        "-b",
        iso_volume,
        "-b",
        f"{ro},/ro",
        "--share",
        f"{folder}:/src",
        "--share",
        f"{tmp_path}:/all:ro",
        "--stack",
        "8M",
        image,
    )
    assert devices(argv) == [
        (
            "-blockdev",
            f"driver=raw,node-name=disk0,read-only=off,file.driver=file,file.filename={disk}",
        ),
        ("-device", "virtio-blk-pci,drive=disk0"),
        (
            "-blockdev",
            f"driver=raw,node-name=disk1,read-only=on,file.driver=file,file.filename={iso_volume}",
        ),
        ("-device", "virtio-blk-pci,drive=disk1"),
        (
            "-blockdev",
            f"driver=raw,node-name=disk2,read-only=on,file.driver=file,file.filename={ro}",
        ),
        ("-device", "virtio-blk-pci,drive=disk2"),
        (
            "-fsdev",
            f"local,id=fs0,path={str(folder).replace(',', ',,')},security_model=none,readonly=off",
        ),
        ("-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share0"),
        ("-fsdev", f"local,id=fs1,path={tmp_path},security_model=none,readonly=on"),
        ("-device", "virtio-9p-pci,fsdev=fs1,mount_tag=share1"),
    ]
    assert config["blk"] == [
        {"source": "dev", "path": "/dev/ld0", "fstype": "auto", "mountpoint": "/data", "ro": False},
        {"source": "dev", "path": "/dev/ld1", "fstype": "blk", "ro": True},
        {"source": "dev", "path": "/dev/ld2", "fstype": "auto", "mountpoint": "/ro", "ro": True},
    ]
    assert config["share"] == [
        {"tag": "share0", "mountpoint": "/src", "ro": False},
        {"tag": "share1", "mountpoint": "/all", "ro": True},
    ]
    assert config["stack"] == "8M"


def test_file_systems_are_recognised(run, image, iso_volume, tmp_path):
    ext2 = tmp_path / "fs.img"  # an ext2 superblock's magic number
    ext2.write_bytes(bytes(1080) + b"\x53\xef" + bytes(4096))
    _, config, _ = dry_run(run, "qemu", "-b", f"{ext2},/e", "-b", f"{iso_volume},/i", image)
    assert [(b["fstype"], b["ro"]) for b in config["blk"]] == [("ext2", False), ("cd9660", True)]


@pytest.mark.parametrize(
    "args, words",
    [
        (["-b", "/nonexistent.img"], ["-b", "No such file"]),
        (["-b", "/tmp"], ["directory, not a disk image", "--share"]),
        (["-b", "/dev/null"], ["not a regular file or a block device"]),
        (["-b", "DISK,data"], ["mount point 'data'", "absolute"]),
        (["-b", "DISK,/"], ["root"]),
        (["-b", "DISK,/x", "-b", "DISK,/y"], ["same image"]),
        (["-b", "DISK,/x", "--share", "/tmp:/x"], ["both mount on /x"]),
        (["--share", "/nonexistent:/x"], ["not a directory"]),
        (["--share", "/tmp"], ["HOSTDIR:GUESTPATH"]),
        (["--stack", "lots"], ["--stack", "K, M or G"]),
        (["--stack", "1G"], ["does not fit", "64 MiB"]),
    ],
)
def test_bad_storage_flags_are_one_sentence(run, image, disk, args, words):
    args = [a.replace("DISK", str(disk)) for a in args]
    assert_one_line_error(run("rumprun", "-D", "qemu", *args, image), *words)


def test_one_image_is_not_written_by_two_guests(run, image, disk, iso_volume):
    run("rumprun", "qemu", "-p", "-N", "writer", "-b", f"{disk},/data", image, check=0)
    try:
        assert_one_line_error(
            run("rumprun", "qemu", "-i", "-b", disk, image),
            str(disk),
            "in use by another running guest",
        )
        # Read-only images can be shared.
        run("rumprun", "qemu", "-p", "-N", "reader1", "-b", iso_volume, image, check=0)
        result = run("rumprun", "qemu", "-i", "-b", iso_volume, image, timeout=60)
        assert result.returncode == 0, result
    finally:
        run("rumprun", "stop", "writer", check=0)
        run("rumprun", "stop", "reader1", check=0)
    # The writer's lock went with it.
    assert run("rumprun", "qemu", "-i", "-b", disk, image, timeout=60).returncode == 0


def test_guest_boots_with_disks_and_shares(run, image, disk, iso_volume, tmp_path):
    result = run(
        "rumprun",
        "qemu",
        "-i",
        "-b",
        f"{disk},/data",
        "-b",
        iso_volume,
        "--share",
        f"{tmp_path}:/host",
        "--stack",
        "512K",
        image,
        timeout=60,
    )
    assert result.returncode == 0, result
    config = json.loads(result.stderr.splitlines()[1])  # COM1: stderr
    assert [b["path"] for b in config["blk"]] == ["/dev/ld0", "/dev/ld1"]
    assert config["share"][0]["tag"] == "share0" and config["stack"] == "512K"


# --- ISO and VirtualBox ------------------------------------------------------------------


def test_iso_packs_disks_as_modules(run, image, disk, iso_volume, tmp_path):
    import pycdlib

    out = tmp_path / "packed.iso"
    run(
        "rumprun",
        "iso",
        "-o",
        out,
        "-b",
        f"{disk},/data",
        "-b",
        iso_volume,
        "-I",
        "n,e1000",
        "-W",
        "n,inet,static,10.0.2.15/24,10.0.2.2",
        "--stack",
        "1M",
        image,
        check=0,
    )
    iso = pycdlib.PyCdlib()
    iso.open(str(out))

    def read(path):
        buf = io.BytesIO()
        iso.get_file_from_iso_fp(buf, rr_path=path)
        return buf.getvalue()

    try:
        cfg = read("/boot/grub/grub.cfg").decode()
        config = json.loads(read("/boot/config.json"))
        assert read("/images/disk.img") == disk.read_bytes()
        assert read("/images/data.iso") == iso_volume.read_bytes()
    finally:
        iso.close()
    modules = [ln.split()[1:] for ln in cfg.splitlines() if ln.startswith("module")]
    assert modules == [
        ["/boot/config.json", "config.json"],
        ["/images/disk.img", "images/disk.img"],
        ["/images/data.iso", "images/data.iso"],
    ]
    assert config["blk"] == [
        {
            "source": "module",
            "path": "images/disk.img",
            "fstype": "auto",
            "mountpoint": "/data",
            "ro": False,
        },
        {"source": "module", "path": "images/data.iso", "fstype": "blk", "ro": True},
    ]
    assert config["net"] == [
        {
            "if": "wm0",
            "type": "inet",
            "method": "static",
            "addr": "10.0.2.15",
            "mask": "24",
            "gw": "10.0.2.2",
        }
    ]
    assert config["stack"] == "1M"


def test_iso_module_names_stay_apart(run, image, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for d in (a, b):
        (d / "disk.img").write_bytes(bytes(512))
    script = run(
        "rumprun",
        "-D",
        "iso",
        "-b",
        f"{a / 'disk.img'},/a",
        "-b",
        f"{b / 'disk.img'},/b",
        image,
        check=0,
    ).stdout
    assert "/images/disk.img " in script and "/images/disk-2.img " in script


@pytest.mark.parametrize(
    "args, words",
    [
        (["-P", "8080:80"], ["cannot publish ports"]),
        (["--share", "/tmp:/x"], ["cannot share host folders"]),
        (["-I", "n,vioif,-net user"], ["takes no QEMU backend options"]),
    ],
)
def test_iso_refuses_what_a_pc_cannot_do(run, image, args, words):
    assert_one_line_error(run("rumprun", "-D", "iso", *args, image), *words)


def test_virtualbox_nics_forwards_and_disks(run, image, disk):
    script = run(
        "rumprun",
        "-D",
        "virtualbox",
        "-N",
        "vm1",
        "-P",
        "8080:80",
        "-P",
        "127.0.0.1:5353:53/udp",
        "-b",
        f"{disk},/data",
        image,
        check=0,
    ).stdout
    commands = [shlex.split(ln) for ln in script.splitlines() if not ln.startswith("#")]
    iso = next(c for c in commands if c[1:2] == ["iso"])
    # The ISO carries the interface -P implies (an 82540EM, with DHCP), the disk.
    assert ["-I", "net0,e1000"] == iso[iso.index("-I") : iso.index("-I") + 2]
    assert iso[iso.index("-W") + 1] == "net0,inet,dhcp"
    assert iso[iso.index("-b") + 1] == f"{disk},/data"
    modify = next(c for c in commands if c[1:2] == ["modifyvm"])
    assert modify[modify.index("--nictype1") + 1] == "82540EM"
    forwards = [modify[i + 1] for i, a in enumerate(modify) if a == "--natpf1"]
    assert forwards == ["rumprun-tcp-8080,tcp,,8080,,80", "rumprun-udp-5353,udp,127.0.0.1,5353,,53"]
    script = run(
        "rumprun", "-D", "virtualbox", "-I", "a,vioif", "-I", "b,e1000", image, check=0
    ).stdout
    modify = next(shlex.split(ln) for ln in script.splitlines() if " modifyvm " in ln)
    assert [modify[modify.index(f"--nictype{i}") + 1] for i in (1, 2)] == ["virtio", "82540EM"]
