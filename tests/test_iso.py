"""Bootable ISOs: built with rumprun.images.iso.build_iso, booted in QEMU as a CD,
a USB stick (EHCI and xHCI), a raw hard disk and under UEFI (OVMF).

The fast tests use the fixture kernel (tests/fixtures/kernel), a tiny
multiboot kernel that prints the first multiboot module (the JSON
configuration) and exits with status 3, so they check that the
configuration really reaches the kernel.  The test at
the end does the same with the real tests/hello unikernel.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_fixture_kernel
from rumprun.images import iso as isomod
from rumprun.errors import RumprunError
from rumprun.images.iso import build_iso


ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.qemu  # the tests here boot guests

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")
STATUS_RE = re.compile(r"^=== rumprun: exit status (\d+) ===\r?$", re.M)
CONFIG = json.dumps(
    {"cmdline": 'isokernel "quoted arg" x', "env": ["WORLD=usb"], "hostname": "iso-test"},
    separators=(",", ":"),
)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Keep the GRUB image cache of these tests out of the user's ~/.cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield Path(os.environ["XDG_CACHE_HOME"])
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


def build_isokernel(directory: Path) -> Path:
    """The fixture kernel as these tests use it: exits with status 3."""
    return build_fixture_kernel(directory, status=3)


@pytest.fixture(scope="session")
def isokernel(tmp_path_factory):
    return build_isokernel(tmp_path_factory.mktemp("isokernel"))


@pytest.fixture(scope="session")
def kernel_iso(isokernel, tmp_path_factory):
    out = tmp_path_factory.mktemp("iso") / "isokernel.iso"
    build_iso(isokernel, CONFIG, out)
    return out


def boot(drive_args, *, uefi=False, tmp=None, timeout=120):
    """Boot in QEMU; return (console output, exit status from the status line)."""
    cmd = [
        "qemu-system-x86_64",
        "-m",
        "128",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
        "-serial",
        "stdio",
        "-display",
        "none",
        "-no-reboot",
        "-net",
        "none",
    ]
    if uefi:
        vars_copy = tmp / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd += [
            "-drive",
            f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive",
            f"if=pflash,format=raw,file={vars_copy}",
        ]
    cmd += drive_args
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    statuses = STATUS_RE.findall(out)
    assert statuses, (
        f"no status line; QEMU exited {r.returncode}; the guest printed:\n{out}\n"
        f"{r.stderr.decode()}"
    )
    status = int(statuses[-1])
    assert r.returncode == (2 * status + 1) & 0xFF, f"QEMU exited {r.returncode}:\n{out}"
    return out, status


def cdrom(path):
    return ["-cdrom", str(path)]


def hard_disk(path):
    return ["-drive", f"file={path},format=raw,if=ide,snapshot=on"]


def usb_stick(path, controller):
    dev = {"ehci": "usb-ehci", "xhci": "qemu-xhci"}[controller]
    return [
        "-device",
        f"{dev},id=usbc",
        "-drive",
        f"if=none,id=stick,file={path},format=raw,snapshot=on",
        "-device",
        "usb-storage,bus=usbc.0,drive=stick,bootindex=0",
    ]


def assert_config_arrived(out):
    body = out.split("fixture: module begin\n", 1)[1].split("\nfixture: module end", 1)[0]
    assert body == CONFIG, out
    assert "module string [config.json]" in out


# --- booting, four ways ---

BOOTS = {
    "cdrom": lambda p: cdrom(p),
    "usb-ehci": lambda p: usb_stick(p, "ehci"),
    "usb-xhci": lambda p: usb_stick(p, "xhci"),
    "hard-disk": lambda p: hard_disk(p),
}


@pytest.mark.parametrize("how", sorted(BOOTS))
def test_bios_boot(kernel_iso, how):
    out, status = boot(BOOTS[how](kernel_iso))
    assert status == 3
    assert_config_arrived(out)


@pytest.mark.parametrize("how", ["cdrom", "hard-disk", "usb-xhci"])
def test_uefi_boot(kernel_iso, how, tmp_path):
    out, status = boot(BOOTS[how](kernel_iso), uefi=True, tmp=tmp_path)
    assert status == 3
    assert_config_arrived(out)


# --- the image itself ---


def test_reproducible_and_independent_of_time_zone(isokernel, kernel_iso, tmp_path):
    again = tmp_path / "again.iso"
    code = (
        "import sys; from pathlib import Path; from rumprun.images.iso import build_iso; "
        "build_iso(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))"
    )
    env = dict(os.environ, TZ="America/New_York", PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-c", code, str(isokernel), CONFIG, str(again)], check=True, env=env
    )
    assert again.read_bytes() == kernel_iso.read_bytes()


def test_cold_and_warm_cache_give_the_same_iso(isokernel, kernel_iso, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold"))
    build_iso(isokernel, CONFIG, tmp_path / "cold.iso")
    assert list((tmp_path / "cold").rglob("*.img"))
    build_iso(isokernel, CONFIG, tmp_path / "warm.iso")
    assert (
        (tmp_path / "cold.iso").read_bytes()
        == (tmp_path / "warm.iso").read_bytes()
        == kernel_iso.read_bytes()
    )
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-cache-here")  # unusable cache: still works
    build_iso(isokernel, CONFIG, tmp_path / "nocache.iso")
    assert (tmp_path / "nocache.iso").read_bytes() == kernel_iso.read_bytes()


def test_different_config_gives_different_volume_uuid(isokernel, kernel_iso, tmp_path):
    other = tmp_path / "other.iso"
    build_iso(isokernel, "{}", other)
    pvd = kernel_iso.read_bytes()[16 * 2048 : 17 * 2048]
    pvd2 = other.read_bytes()[16 * 2048 : 17 * 2048]
    assert pvd[830:847] != pvd2[830:847]  # modification date = GRUB's UUID


def test_layout(kernel_iso, tmp_path):
    data = kernel_iso.read_bytes()
    assert len(data) % (32 * 1024) == 0
    assert len(data) < 2 * 1024 * 1024
    assert data[510:512] == b"\x55\xaa"
    assert data[0x8001:0x8006] == b"CD001"
    p1 = data[0x1BE:0x1CE]
    p2 = data[0x1CE:0x1DE]
    assert p1[0] == 0x80 and struct.unpack("<II", p1[8:16]) == (0, len(data) // 512)
    assert p2[4] == 0xEF
    start, count = struct.unpack("<II", p2[8:16])
    esp = data[start * 512 : (start + count) * 512]
    assert esp[54:62] == b"FAT12   "
    # fsck.vfat (dosfstools) and mtype (mtools) come with make setup.
    (tmp_path / "esp.img").write_bytes(esp)
    r = subprocess.run(
        ["fsck.vfat", "-n", str(tmp_path / "esp.img")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(
        ["mtype", "-i", str(tmp_path / "esp.img"), "::/EFI/BOOT/BOOTX64.EFI"], capture_output=True
    )
    assert r.returncode == 0 and r.stdout[:2] == b"MZ"


def test_files_and_grub_cfg(kernel_iso, isokernel):
    import pycdlib
    import io

    iso = pycdlib.PyCdlib()
    iso.open(str(kernel_iso))

    def get(path):
        f = io.BytesIO()
        iso.get_file_from_iso_fp(f, rr_path=path)
        return f.getvalue()

    assert get("/boot/config.json").decode() == CONFIG
    assert get("/boot/kernel") == isokernel.read_bytes()
    cfg = get("/boot/grub/grub.cfg").decode()
    assert "multiboot /boot/kernel" in cfg and "module /boot/config.json" in cfg
    assert "timeout=0" in cfg
    iso.close()


def test_esp_image_is_valid_fat(tmp_path):
    payload = bytes(range(256)) * 3000
    img = tmp_path / "esp.img"
    img.write_bytes(isomod.make_esp(payload, 1_000_000_000))
    r = subprocess.run(["fsck.vfat", "-n", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    r = subprocess.run(["mtype", "-i", str(img), "::/EFI/BOOT/BOOTX64.EFI"], capture_output=True)
    assert r.stdout == payload


# --- bad inputs: one sentence, nothing written ---


def expect_error(fn, *words):
    with pytest.raises(RumprunError) as e:
        fn()
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_unbaked_app(tmp_path):
    obj = tmp_path / "app.o"
    src = tmp_path / "app.S"
    src.write_text(
        '.section .note.rumprun,"",@note\n.long 8,7,1\n.asciz "rumprun"\n'
        '.asciz "x86_64"\n.align 4\n.text\n.globl main\nmain: ret\n'
    )
    subprocess.run(["gcc", "-c", "-o", str(obj), str(src)], check=True)
    out = tmp_path / "app.iso"
    expect_error(lambda: build_iso(obj, "{}", out), "rumprun-bake")
    assert not out.exists()


def test_host_binary(tmp_path):
    out = tmp_path / "true.iso"
    expect_error(lambda: build_iso(Path("/bin/true"), "{}", out), "rumprun")
    assert not out.exists()


def test_missing_image(tmp_path):
    expect_error(
        lambda: build_iso(tmp_path / "nope.bin", "{}", tmp_path / "x.iso"), "does not exist"
    )


def test_output_directory_missing(isokernel, tmp_path):
    expect_error(lambda: build_iso(isokernel, "{}", tmp_path / "no" / "x.iso"), "does not exist")


def test_output_directory_not_writable(isokernel, tmp_path, monkeypatch):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: ask access() to say no
        real = os.access
        monkeypatch.setattr(
            isomod.os, "access", lambda p, m, **kw: False if Path(p) == d else real(p, m, **kw)
        )
    expect_error(lambda: build_iso(isokernel, "{}", d / "x.iso"), "not writable")
    assert list(d.iterdir()) == []


def test_dry_run_prints_a_command_that_writes_the_iso(isokernel, tmp_path):
    out = tmp_path / "dry.iso"
    cli = [sys.executable, "-m", "rumprun.cli"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = subprocess.run(
        cli + ["-D", "iso", "-o", str(out), "-e", "A=b c", str(isokernel), "--", "x"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert not out.exists()
    commands = [ln for ln in script.splitlines() if not ln.startswith("#")]
    assert len(commands) == 1 and str(out) in commands[0]
    subprocess.run(["sh", "-c", script], env=env, check=True, capture_output=True)
    with open(out, "rb") as f:
        f.seek(0x8001)
        assert f.read(5) == b"CD001"


def test_special_file_output_is_refused(isokernel, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for out in (Path("/dev/null"), fifo):
        expect_error(
            lambda: build_iso(isokernel, "{}", out, force=True), "not a regular file", "dd if="
        )
    assert fifo.is_fifo() and Path("/dev/null").is_char_device()


def test_existing_output_needs_force(isokernel, tmp_path):
    out = tmp_path / "x.iso"
    out.write_bytes(b"keep me")
    expect_error(lambda: build_iso(isokernel, "{}", out), "--force")
    assert out.read_bytes() == b"keep me"
    build_iso(isokernel, "{}", out, force=True)
    assert out.read_bytes()[0x8001:0x8006] == b"CD001"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.iso"]


def test_failed_write_leaves_nothing(isokernel, tmp_path, monkeypatch):
    out = tmp_path / "x.iso"
    out.write_bytes(b"keep me")

    def broken(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(isomod, "_write_hybrid", broken)
    expect_error(lambda: build_iso(isokernel, "{}", out, force=True), "No space left")
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.iso"]


def test_grub_files_missing(isokernel, tmp_path):
    empty = tmp_path / "grub"
    empty.mkdir()
    expect_error(
        lambda: build_iso(isokernel, "{}", tmp_path / "x.iso", grub_dir=empty), "grub-pc-bin"
    )
    shutil.copytree("/usr/lib/grub/i386-pc", empty / "i386-pc")
    expect_error(
        lambda: build_iso(isokernel, "{}", tmp_path / "x.iso", grub_dir=empty), "grub-efi-amd64-bin"
    )
    assert not (tmp_path / "x.iso").exists()


def test_bad_json(isokernel, tmp_path):
    expect_error(lambda: build_iso(isokernel, "{nope", tmp_path / "x.iso"), "JSON")


# --- the real unikernel: tests/hello, built and baked as a user would ---

HELLO_ARGS = ["5", "two words"]


@pytest.fixture(scope="session")
def hello_iso(bake_image, tmp_path_factory):
    """tests/hello built with rumprun-cc, baked for hw_generic, burnt to an ISO."""
    from rumprun import model

    out = tmp_path_factory.mktemp("hello-iso")
    bake_image(
        out,
        "hello.bin",
        {"hello": [ROOT / "tests" / "hello" / "hello.c"]},
        cc_flags=("-O2", "-DNO_SLEEP"),
    )
    launch = model.make_launch("iso", out / "hello.bin", HELLO_ARGS, env=["WORLD=usb"])
    build_iso(out / "hello.bin", model.kernel_config(launch), out / "hello.iso")
    return out / "hello.iso"


@pytest.mark.parametrize("how", sorted(BOOTS) + ["uefi-cdrom", "uefi-usb-xhci"])
def test_hello_boots_from_the_iso(hello_iso, how, tmp_path):
    uefi = how.startswith("uefi-")
    out, status = boot(BOOTS[how.removeprefix("uefi-")](hello_iso), uefi=uefi, tmp=tmp_path)
    assert "Hello, usb!" in out, out
    assert "argv[1] = 5" in out, out
    assert "argv[2] = two words" in out, out
    assert status == 5, out
    assert hello_iso.stat().st_size < 4 * 1024 * 1024
