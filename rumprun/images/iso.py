"""Bootable hybrid ISO images: one file that boots as a CD and, written raw
to a USB stick or disk, on BIOS and UEFI machines.

Layout of an image built by build_iso():

    system area   MBR: GRUB's boot_hybrid.img code, partition 1 (active,
                  type 0, the whole image), partition 2 (type 0xEF, the ESP)
    ISO 9660      with Rock Ridge names:
      /boot/kernel            the baked unikernel (multiboot)
      /boot/config.json       its JSON configuration (a multiboot module)
      /boot/grub/grub.cfg     multiboot + module + boot, no menu
      /boot/grub/bios.img     El Torito entry 1: GRUB i386-pc-eltorito
      /boot/grub/efi.img      El Torito entry 2: FAT12 ESP with
                              /EFI/BOOT/BOOTX64.EFI (GRUB x86_64-efi)
    zero padding  to a multiple of 32 KiB

Both GRUB images come from Debian's grub packages through grub-mkimage and
carry an early configuration that puts GRUB's console on COM1 and the
screen.  BIOS GRUB's root is the device it booted from; UEFI GRUB starts on
the ESP and finds the ISO by its GRUB UUID (the volume date).  Every date
in the image is derived from a hash of the inputs, so the same inputs give
the same bytes and different unikernels get different UUIDs.  The BIOS
image is the same for every ISO and is cached in $XDG_CACHE_HOME/rumprun/grub.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

from rumprun.toolchain.elfcheck import check_baked_image
from rumprun import host
from rumprun.errors import RumprunError

GRUB_DIR = Path("/usr/lib/grub")

# Modules embedded in the GRUB core images: no module is loaded from the ISO.
_COMMON_MODULES = [
    "iso9660",
    "part_msdos",
    "part_gpt",
    "multiboot",
    "normal",
    "configfile",
    "serial",
    "terminal",
    "search",
    "echo",
    "boot",
    "test",
]
_BIOS_MODULES = ["biosdisk"] + _COMMON_MODULES
_EFI_MODULES = ["fat"] + _COMMON_MODULES

# Which Debian package provides what.
_PACKAGES = {
    "i386-pc": "grub-pc-bin",
    "x86_64-efi": "grub-efi-amd64-bin",
    "grub-mkimage": "grub-common",
}

_ISO_BLOCK = 2048
_PAD = 32 * 1024
# Offsets of xorriso's --grub2-boot-info patches (see iso-boot-facts.md).
_MBR_CORE_LBA_OFFSET = 0x1B0
_BOOTIMG_PATCH_OFFSET = 2548

# GRUB's embedded early configuration: console on serial and screen.
_EARLY_CFG = (
    "serial --unit=0 --speed=115200\n"
    "terminal_input serial console\n"
    "terminal_output serial console\n"
)

KERNEL_PATH = "/boot/kernel"
CONFIG_PATH = "/boot/config.json"


def default_output(image: Path) -> Path:
    """The ISO name used when none is given: hello.bin -> hello.iso."""
    return image.with_suffix(".iso")


def grub_cfg(modules=()) -> str:
    """The grub.cfg on every image: boot the kernel at once, no menu; the
    configuration is module 1, then MODULES (names like images/NAME, files
    at /NAME) in order, each module's command line its name."""
    return (
        "# rumprun: boot the unikernel, its configuration as module 1\n"
        "set timeout=0\n"
        f"multiboot {KERNEL_PATH}\n"
        f"module {CONFIG_PATH} config.json\n"
        + "".join(f"module /{name} {name}\n" for name in modules)
        + "boot\n"
    )


def build_iso(
    image: Path,
    config_json,
    output: Path,
    *,
    force: bool = False,
    grub_dir: Path = GRUB_DIR,
    tmpdir: Path = None,
    modules=(),
) -> None:
    """Write a hybrid BIOS+UEFI bootable ISO of a baked image to `output`.

    `config_json` (bytes or text) is the unikernel's JSON configuration; it
    is stored as /boot/config.json and handed to the kernel as the first
    multiboot module.  `modules` are (name, host path) pairs, name like
    images/data.img: each file is stored as /NAME and loaded as the next
    module (disk images the kernel serves as block devices).  An existing
    `output` is replaced (atomically) only when `force` is true.
    `grub_dir` is where Debian's grub packages put their boot files;
    `tmpdir` where temporary files go (default: the system's).  Raises
    RumprunError with one sentence for anything the user can fix; on
    failure no file is left behind.
    """
    image = Path(image)
    output = Path(output)
    check_baked_image(image)
    if isinstance(config_json, str):
        config_json = config_json.encode("utf-8", "surrogateescape")
    try:
        json.loads(config_json.decode("utf-8", "surrogateescape"))
    except ValueError as e:
        raise RumprunError(f"the unikernel configuration is not valid JSON ({e})") from None
    _check_output(output, force)
    mkimage = _check_grub(grub_dir)

    kernel = _read(image)
    config = config_json
    cfg = grub_cfg([name for name, _ in modules]).encode("utf-8")
    digest = hashlib.sha256(b"rumprun-iso-1\0" + kernel + b"\0" + config)
    for name, path in modules:
        digest.update(b"\0" + name.encode() + b"\0" + _file_digest(path))
    digest = digest.digest()
    # A date in 2001..2030 taken from the hash, whole seconds.
    epoch = 978307200 + int.from_bytes(digest[:8], "little") % (30 * 365 * 86400)
    uuid = time.strftime("%Y-%m-%d-%H-%M-%S-00", time.gmtime(epoch))

    esp_volume_id = int.from_bytes(digest[8:12], "little")
    with tempfile.TemporaryDirectory(prefix="rumprun-iso-", dir=tmpdir) as tmp:
        tmp = Path(tmp)
        # BIOS GRUB takes its root from the boot device (CD or the disk of the
        # hybrid MBR), so its image is the same for every ISO and is cached.
        # UEFI GRUB starts on the ESP and must search for the ISO by UUID.
        efi_early = _EARLY_CFG + (
            f"search --no-floppy --fs-uuid --set=root {uuid}\nset prefix=($root)/boot/grub\n"
        )
        efi_job = _start_mkimage(
            mkimage,
            grub_dir,
            "x86_64-efi",
            "x86_64-efi",
            efi_early,
            tmp / "bootx64.efi",
            _EFI_MODULES,
        )
        bios = _bios_image(mkimage, grub_dir, tmp)
        hybrid_mbr_code = _read(grub_dir / "i386-pc" / "boot_hybrid.img")[:440]
        esp = make_esp(efi_job(), epoch, volume_id=esp_volume_id)

        with _fixed_clock(epoch), contextlib.ExitStack() as files:
            opened = [(name, files.enter_context(_open(path))) for name, path in modules]
            iso, bios_fp = _master(kernel, config, cfg, bios, esp, opened)
            bios_block = iso.get_record(iso_path="/BOOT/GRUB/BIOS.IMG;1").extent_location()
            esp_block = iso.get_record(iso_path="/BOOT/GRUB/EFI.IMG;1").extent_location()
            # pycdlib reads the files' bytes when it writes: patch the BIOS
            # image in place now that its block is known.
            with bios_fp.getbuffer() as buf:
                _patch_bios_image(buf, bios_block)
            _write_atomically(
                output,
                force,
                lambda f: _write_hybrid(
                    iso, f, hybrid_mbr_code, bios_block, esp_block, len(esp), digest
                ),
            )
            iso.close()


def _patch_bios_image(buf, block: int) -> None:
    """What xorriso's --grub2-boot-info and -boot-info-table write into the image.

    Bytes 2548..2555: where diskboot's next sectors are (512-byte sectors);
    bytes 8..63: the El Torito boot info table (PVD block, the image's block
    and length, and the 32-bit sum of its words from byte 64 on).
    """
    struct.pack_into("<Q", buf, _BOOTIMG_PATCH_OFFSET, block * 4 + 5)
    words = array.array("I", bytes(buf[64:]) + bytes(-(len(buf) - 64) % 4))
    if sys.byteorder != "little":
        words.byteswap()
    struct.pack_into("<IIII40x", buf, 8, 16, block, len(buf), sum(words) & 0xFFFFFFFF)


def _master(kernel: bytes, config: bytes, cfg: bytes, bios: bytes, esp: bytes, modules=()):
    """The ISO 9660 image (not yet written) and the BIOS image's buffer.
    MODULES: (name, open file) pairs stored as /NAME."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3, vol_ident="RUMPRUN", rock_ridge="1.09", app_ident_str="RUMPRUN ISO"
    )
    iso.add_directory("/BOOT", rr_name="boot")
    iso.add_directory("/BOOT/GRUB", rr_name="grub")
    bios_fp = io.BytesIO(bios)
    for path, rr, fp, size in [
        ("/BOOT/GRUB/BIOS.IMG;1", "bios.img", bios_fp, len(bios)),
        ("/BOOT/GRUB/EFI.IMG;1", "efi.img", io.BytesIO(esp), len(esp)),
        ("/BOOT/GRUB/GRUB.CFG;1", "grub.cfg", io.BytesIO(cfg), len(cfg)),
        ("/BOOT/CONFIG.JSON;1", "config.json", io.BytesIO(config), len(config)),
        ("/BOOT/KERNEL;1", "kernel", io.BytesIO(kernel), len(kernel)),
    ]:
        iso.add_fp(fp, size, path, rr_name=rr)
    directories = set()
    for i, (name, f) in enumerate(modules):
        directory, _, rr = name.rpartition("/")
        iso_dir = "/" + directory.upper().replace("/", "_")
        if directory not in directories:
            iso.add_directory(iso_dir, rr_name=directory)
            directories.add(directory)
        iso.add_fp(f, os.fstat(f.fileno()).st_size, f"{iso_dir}/MODULE{i}.;1", rr_name=rr)
    iso.add_eltorito(
        "/BOOT/GRUB/BIOS.IMG;1",
        bootcatfile="/BOOT/GRUB/BOOT.CAT;1",
        rr_bootcatname="boot.cat",
        boot_load_size=4,
    )
    iso.add_eltorito(
        "/BOOT/GRUB/EFI.IMG;1",
        bootcatfile="/BOOT/GRUB/BOOT.CAT;1",
        rr_bootcatname="boot.cat",
        boot_load_size=len(esp) // 512,
        efi=True,
        platform_id=0xEF,
    )
    iso.force_consistency()
    return iso, bios_fp


def _write_hybrid(
    iso, f, mbr_code: bytes, bios_block: int, esp_block: int, esp_size: int, digest: bytes
) -> None:
    iso.write_fp(f)
    size = f.tell()
    padded = -(-size // _PAD) * _PAD
    f.write(bytes(padded - size))
    mbr = bytearray(512)
    mbr[:440] = mbr_code
    struct.pack_into("<Q", mbr, _MBR_CORE_LBA_OFFSET, bios_block * 4 + 4)
    mbr[0x1B8:0x1BC] = digest[12:16]  # disk signature
    esp_lba = esp_block * 4
    mbr[0x1BE:0x1CE] = _partition(0x80, 0x00, 0, padded // 512)
    mbr[0x1CE:0x1DE] = _partition(0x00, 0xEF, esp_lba, esp_size // 512)
    mbr[0x1FE:0x200] = b"\x55\xaa"
    f.seek(0)
    f.write(mbr)


def _partition(status: int, ptype: int, lba: int, sectors: int) -> bytes:
    return (
        bytes([status])
        + _chs(lba)
        + bytes([ptype])
        + _chs(lba + sectors - 1)
        + struct.pack("<II", lba, sectors)
    )


def _chs(lba: int) -> bytes:
    heads, spt = 64, 32
    cyl, rest = divmod(lba, heads * spt)
    if cyl > 1023:
        return b"\xfe\xff\xff"
    head, sector = divmod(rest, spt)
    return bytes([head, ((cyl >> 2) & 0xC0) | (sector + 1), cyl & 0xFF])


# --- The EFI system partition: a FAT12 image holding /EFI/BOOT/BOOTX64.EFI ---


def make_esp(bootx64: bytes, epoch: int, *, volume_id: int = 0x52554D50) -> bytes:
    """A minimal FAT12 file system image with /EFI/BOOT/BOOTX64.EFI.

    512-byte sectors and clusters, 2 FATs, 16 root entries; the size is the
    smallest that fits, rounded to 2 KiB.  All timestamps are `epoch`.
    """
    sec = 512
    root_entries = 16
    root_secs = root_entries * 32 // sec
    file_clusters = -(-len(bootx64) // sec)
    clusters = file_clusters + 2  # EFI and BOOT directories
    while True:
        fat_secs = -(-((clusters + 2) * 3 // 2 + 1) // sec)
        total = 1 + 2 * fat_secs + root_secs + clusters
        total = -(-total // 4) * 4
        have = total - (1 + 2 * fat_secs + root_secs)
        if -(-((have + 2) * 3 // 2 + 1) // sec) == fat_secs:
            clusters = have
            break
        clusters = have
    if clusters >= 4085:
        raise RumprunError("BOOTX64.EFI is too large for the EFI system partition image")

    boot = bytearray(sec)
    boot[0:3] = b"\xeb\x3c\x90"
    boot[3:11] = b"RUMPRUN "
    struct.pack_into(
        "<HBHBHHBHHHII", boot, 11, sec, 1, 1, 2, root_entries, total, 0xF8, fat_secs, 32, 64, 0, 0
    )
    struct.pack_into("<BBBI", boot, 36, 0x80, 0, 0x29, volume_id & 0xFFFFFFFF)
    boot[43:54] = b"NO NAME    "
    boot[54:62] = b"FAT12   "
    boot[510:512] = b"\x55\xaa"

    fat = [0] * (clusters + 2)
    fat[0], fat[1] = 0xFF8, 0xFFF
    efi_dir, boot_dir, first = 2, 3, 4
    fat[efi_dir] = fat[boot_dir] = 0xFFF
    for c in range(first, first + file_clusters):
        fat[c] = c + 1
    fat[first + file_clusters - 1] = 0xFFF
    fat_bytes = bytearray(fat_secs * sec)
    for i in range(0, len(fat), 2):
        a = fat[i]
        b = fat[i + 1] if i + 1 < len(fat) else 0
        fat_bytes[i * 3 // 2 : i * 3 // 2 + 3] = bytes(
            [a & 0xFF, ((a >> 8) & 0x0F) | ((b & 0x0F) << 4), b >> 4]
        )

    t = time.gmtime(epoch)
    fdate = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    ftime = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)

    def entry(name: bytes, attr: int, cluster: int, size: int) -> bytes:
        return struct.pack(
            "<11sBBBHHHHHHHI", name, attr, 0, 0, ftime, fdate, fdate, 0, ftime, fdate, cluster, size
        )

    root = bytearray(root_secs * sec)
    root[0:32] = entry(b"EFI        ", 0x10, efi_dir, 0)
    efi = bytearray(sec)
    efi[0:96] = (
        entry(b".          ", 0x10, efi_dir, 0)
        + entry(b"..         ", 0x10, 0, 0)
        + entry(b"BOOT       ", 0x10, boot_dir, 0)
    )
    bootd = bytearray(sec)
    bootd[0:96] = (
        entry(b".          ", 0x10, boot_dir, 0)
        + entry(b"..         ", 0x10, efi_dir, 0)
        + entry(b"BOOTX64 EFI", 0x20, first, len(bootx64))
    )
    data = bytes(efi) + bytes(bootd) + bootx64
    data += bytes(clusters * sec - len(data))
    out = bytes(boot) + bytes(fat_bytes) * 2 + bytes(root) + data
    assert len(out) == total * sec
    return out


# --- Checks: one sentence for each thing the user can fix ---


def _check_output(output: Path, force: bool) -> None:
    parent = output.parent
    if not parent.is_dir():
        raise RumprunError(f"the output directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RumprunError(f"the output directory {parent} is not writable")
    if output.is_dir():
        raise RumprunError(f"{output} is a directory; name the ISO file with -o")
    if output.exists() and not output.is_file():
        raise RumprunError(
            f"{output} is not a regular file (a device or other special file), "
            "which rumprun iso never replaces: write the ISO to a file, then "
            f"copy it onto the device with dd if=FILE.iso of={output} bs=4M"
        )
    if output.exists() and not force:
        raise RumprunError(f"{output} already exists; use --force to overwrite it")


def _check_grub(grub_dir: Path) -> str:
    for platform, modules, extra in [
        ("i386-pc", _BIOS_MODULES, ["boot_hybrid.img", "cdboot.img"]),
        ("x86_64-efi", _EFI_MODULES, []),
    ]:
        d = grub_dir / platform
        missing = [m + ".mod" for m in modules if not (d / (m + ".mod")).is_file()]
        missing += [x for x in extra if not (d / x).is_file()]
        if missing:
            raise RumprunError(
                f"GRUB's {platform} boot files are missing ({d / missing[0]}); "
                f"install the Debian package {_PACKAGES[platform]}"
            )
    mkimage = shutil.which("grub-mkimage")
    if mkimage is None:
        raise RumprunError("grub-mkimage is not installed; install the Debian package grub-common")
    return mkimage


def _start_mkimage(
    mkimage: str,
    grub_dir: Path,
    platform: str,
    fmt: str,
    early_cfg: str,
    out: Path,
    modules: list[str],
):
    """Start grub-mkimage; return a function that waits and returns the image."""
    early = out.with_suffix(".cfg")
    early.write_text(early_cfg)
    cmd = [
        mkimage,
        "-d",
        str(grub_dir / platform),
        "-O",
        fmt,
        "-p",
        "/boot/grub",
        "-c",
        str(early),
        "-o",
        str(out),
    ] + modules
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )

    def wait() -> bytes:
        _, err = proc.communicate()
        if proc.returncode != 0:
            why = (err.strip().splitlines() or ["no message"])[-1]
            raise RumprunError(
                f"grub-mkimage failed for {platform} ({why}); "
                f"reinstall the Debian package {_PACKAGES[platform]}"
            )
        return out.read_bytes()

    return wait


def _bios_image(mkimage: str, grub_dir: Path, tmp: Path) -> bytes:
    """GRUB's i386-pc El Torito image, from the cache when GRUB is unchanged."""
    key = hashlib.sha256(
        repr(
            (
                _EARLY_CFG,
                _BIOS_MODULES,
                _stamp(Path(mkimage)),
                [
                    _stamp(grub_dir / "i386-pc" / f)
                    for f in ("kernel.img", "moddep.lst", "cdboot.img")
                ],
            )
        ).encode()
    ).hexdigest()[:32]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rumprun" / "grub"
    cached = cache / f"i386-pc-eltorito-{key}.img"
    with contextlib.suppress(OSError):
        return cached.read_bytes()
    image = _start_mkimage(
        mkimage,
        grub_dir,
        "i386-pc",
        "i386-pc-eltorito",
        _EARLY_CFG,
        tmp / "bios.img",
        _BIOS_MODULES,
    )()
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=cache, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(image)
        os.replace(name, cached)
    return image


def _stamp(path: Path):
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def _open(path: Path):
    try:
        return open(path, "rb")
    except OSError as e:
        raise RumprunError(f"cannot read {path}: {e.strerror}") from None


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with _open(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise RumprunError(f"cannot read {path}: {e.strerror}") from None


def _write_atomically(output: Path, force: bool, write) -> None:
    """Write through a temporary file next to `output`, then move it in place."""
    try:
        fd, tmpname = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    except OSError as e:
        raise RumprunError(f"cannot create a file in {output.parent}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w+b") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmpname, 0o666 & ~host.umask())
        if force:
            os.replace(tmpname, output)
        else:
            try:
                os.link(tmpname, output)  # fails if output appeared meanwhile
            except FileExistsError:
                raise RumprunError(
                    f"{output} already exists; use --force to overwrite it"
                ) from None
            except OSError:  # no hard links on this file system
                if output.exists():
                    raise RumprunError(
                        f"{output} already exists; use --force to overwrite it"
                    ) from None
                os.replace(tmpname, output)
    except OSError as e:
        raise RumprunError(f"cannot write {output}: {e.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmpname)


# --- pycdlib reads the clock and the local time zone: pin both ---

_clock_lock = threading.Lock()


@contextlib.contextmanager
def _fixed_clock(epoch: int):
    """Make pycdlib see `epoch` as now, in UTC, without touching the process's TZ."""
    import pycdlib.dates
    import pycdlib.headervd
    import pycdlib.pycdlib
    import pycdlib.utils

    shim = types.SimpleNamespace(
        time=lambda: float(epoch),
        localtime=time.gmtime,
        gmtime=time.gmtime,
        strftime=time.strftime,
        mktime=time.mktime,
    )
    mods = [pycdlib.dates, pycdlib.headervd, pycdlib.pycdlib, pycdlib.utils]
    with _clock_lock:
        saved = [m.time for m in mods]
        for m in mods:
            m.time = shim
        try:
            yield
        finally:
            for m, t in zip(mods, saved):
                m.time = t
