"""pyelftools checks of every ELF file the tools read or write.

Each check either returns what the caller needs or raises RumprunError with
one sentence: what is wrong, which file, what to do.
"""

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from rumprun import abi
from rumprun.errors import RumprunError
from rumprun.toolchain import note

MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_SEARCH = 8192  # the header must lie in the first 8 KiB
MULTIBOOT_AOUT_KLUDGE = 1 << 16  # header carries load addresses (flags bit 16)
MIB = 1 << 20
XEN_ELFNOTE_PHYS32_ENTRY = 18  # Xen's PVH entry note (what Xen boots)


@dataclass(frozen=True)
class MultibootHeader:
    offset: int  # file offset, 4-byte aligned
    flags: int
    # With MULTIBOOT_AOUT_KLUDGE: header_addr, load_addr, load_end_addr,
    # bss_end_addr, entry_addr; otherwise None.
    addresses: tuple = None


@dataclass(frozen=True)
class BakedImage:
    path: Path
    config: str  # the bake configuration's name
    load_end: int  # highest physical end address of PT_LOAD (with bss)
    entry: int
    multiboot: MultibootHeader  # None in an image only Xen boots (PVH)
    elf64: bool
    pvh: bool = False  # carries Xen's PVH entry note

    @property
    def min_memory_mib(self):
        """Guest memory it needs: the image and what the kernel takes at
        boot past it (abi.BOOT_RESERVE), in MiB."""
        return max(2, (self.load_end + abi.BOOT_RESERVE + MIB - 1) // MIB)


@contextlib.contextmanager
def open_elf(path):
    """Open PATH as an ELF file, or fail with one sentence."""
    path = Path(path)
    if not path.exists():
        raise RumprunError(f"{path} does not exist")
    if not path.is_file():
        raise RumprunError(f"{path} is not a regular file")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise RumprunError(f"{path} cannot be read ({e.strerror})") from None
    with f:
        if f.read(4) != b"\x7fELF":
            raise RumprunError(f"{path} is not an ELF file: give a program built with rumprun-cc")
        f.seek(0)
        try:
            yield ELFFile(f)
        except (ELFError, struct.error, ValueError) as e:
            raise RumprunError(f"{path} is a damaged ELF file ({e}): rebuild it") from None


def rumprun_notes(elf):
    """{note type: desc} of the rumprun notes in an open ELF file."""
    found = {}
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOTE":
            continue
        for note_type, desc in note.parse(section.data(), elf.little_endian):
            found[note_type] = desc
    return found


def _check_machine(elf, path):
    if elf.header["e_machine"] not in ("EM_X86_64", "EM_386"):
        raise RumprunError(
            f"{path} is for {elf.header['e_machine']}, not x86_64: build it with rumprun-cc"
        )


def check_unbaked_app(path):
    """Check that PATH is an unbaked rumprun app (rumprun-cc's output)."""
    with open_elf(path) as elf:
        if elf.elfclass != 64 or elf.header["e_machine"] != "EM_X86_64":
            raise RumprunError(
                f"{path} is not an x86_64 program ({elf.header['e_machine']}, "
                f"ELF{elf.elfclass}): build it with rumprun-cc"
            )
        notes = rumprun_notes(elf)
        if note.BAKED in notes:
            raise RumprunError(
                f"{path} is already baked (with {notes[note.BAKED]}): "
                "bake the app rumprun-cc produced, not the image"
            )
        if note.APP not in notes:
            if elf.header["e_type"] == "ET_REL":
                raise RumprunError(
                    f"{path} is not a rumprun app (it is an object file "
                    "without the rumprun note): link it with rumprun-cc"
                )
            raise RumprunError(
                f"{path} is not a rumprun app (it looks like a host binary): "
                "build it with rumprun-cc"
            )
        if notes[note.APP] != note.ARCH:
            raise RumprunError(
                f"{path} is a rumprun app for {notes[note.APP]}, not "
                f"{note.ARCH}: rebuild it with this rumprun-cc"
            )
        if elf.header["e_type"] != "ET_REL":
            raise RumprunError(
                f"{path} is not relocatable ({elf.header['e_type']}): "
                "link it with rumprun-cc without -shared or -pie"
            )


@dataclass(frozen=True)
class StaticExecutable:
    """A prebuilt static Linux x86_64 executable the kernel's ELF loader
    runs as it is (kernel/exec)."""

    path: Path
    pie: bool  # static-pie (ET_DYN): loaded anywhere
    span: tuple  # (lo, hi): the pages its segments occupy, unbiased
    libc: str  # "glibc" or "not glibc", for messages

    def describe(self):
        if self.pie:
            return f"static-pie executable ({self.libc})"
        return f"static executable ({self.libc}) at {self.span[0]:#x}-{self.span[1]:#x}"


PAGE = 4096
GLIBC_HINTS = (b"GLIBC_PRIVATE", b"glibc.malloc.")
DF_1_PIE = 0x08000000
STATIC_HOWTO = (
    "link it statically: gcc -static (or -static-pie), g++ -static, "
    "rumprun-c++, or for Go CGO_ENABLED=0"
)


def input_kind(path):
    """What the bake was given: "app" for an unbaked rumprun app (checked
    as check_unbaked_app does), or a StaticExecutable; anything else is one
    sentence."""
    path = Path(path)
    with open_elf(path) as elf:
        notes = rumprun_notes(elf)
        kind = elf.header["e_type"]
        if note.APP in notes or note.BAKED in notes or kind not in ("ET_EXEC", "ET_DYN"):
            app = True
        else:
            app = False
            exe = _static_executable(elf, path)
    if app:
        check_unbaked_app(path)
        return "app"
    return exe


def _static_executable(elf, path):
    if elf.elfclass != 64 or elf.header["e_machine"] != "EM_X86_64":
        raise RumprunError(
            f"{path} is not an x86_64 program ({elf.header['e_machine']}, "
            f"ELF{elf.elfclass}): give a static Linux x86_64 executable, or "
            "build it with rumprun-cc"
        )
    segments = list(elf.iter_segments())
    interp = [s for s in segments if s["p_type"] == "PT_INTERP"]
    if interp:
        loader = interp[0].data().rstrip(b"\0").decode(errors="replace")
        raise RumprunError(
            f"{path} is dynamically linked (it needs {loader}) and the unikernel "
            f"has no dynamic loader: {STATIC_HOWTO}"
        )
    dynamic = elf.get_section_by_name(".dynamic")
    pie = elf.header["e_type"] == "ET_DYN"
    if dynamic is not None:
        tags = list(dynamic.iter_tags())
        if any(t.entry.d_tag == "DT_NEEDED" for t in tags):
            raise RumprunError(
                f"{path} is dynamically linked (it needs shared libraries) and "
                f"the unikernel has no dynamic loader: {STATIC_HOWTO}"
            )
        flags = [t.entry.d_val for t in tags if t.entry.d_tag == "DT_FLAGS_1"]
        if pie and not (flags and flags[0] & DF_1_PIE):
            raise RumprunError(f"{path} is a shared library, not a program: {STATIC_HOWTO}")
    elif pie:
        raise RumprunError(
            f"{path} is position-independent but has no dynamic section to "
            f"relocate itself with: {STATIC_HOWTO}"
        )
    loads = [s for s in segments if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
    if not loads:
        raise RumprunError(f"{path} has nothing to load (no PT_LOAD segment): rebuild it")
    phoff = elf.header["e_phoff"]
    phend = phoff + elf.header["e_phnum"] * elf.header["e_phentsize"]
    if not any(s["p_offset"] <= phoff and phend <= s["p_offset"] + s["p_filesz"] for s in loads):
        raise RumprunError(
            f"{path} does not load its own program headers, so its libc could "
            "not find its TLS: link it with the usual linker scripts"
        )
    lo = min(s["p_vaddr"] for s in loads) // PAGE * PAGE
    hi = -(-max(s["p_vaddr"] + s["p_memsz"] for s in loads) // PAGE) * PAGE
    if not pie:
        _check_fixed_range(path, lo, hi)
    return StaticExecutable(path, pie, (lo, hi), _libc_of(path))


def _check_fixed_range(path, lo, hi):
    """An ET_EXEC must fit where the unikernel leaves room (rumprun_abi.h)."""
    where = f"{path} is linked at {lo:#x}-{hi:#x}"
    if lo < abi.EXEC_FIXED_LO:
        raise RumprunError(
            f"{where}, below {abi.EXEC_FIXED_LO:#x} where null pointers must "
            "fault: link it higher (ld's default is 0x400000) or as static-pie"
        )
    if lo < abi.EXEC_IMAGE_WINDOW_HI and hi > abi.EXEC_IMAGE_WINDOW_LO:
        raise RumprunError(
            f"{where}, which overlaps the unikernel's own image "
            f"({abi.EXEC_IMAGE_WINDOW_LO:#x}-{abi.EXEC_IMAGE_WINDOW_HI:#x}): "
            "link it lower (ld's default is 0x400000) or as static-pie"
        )
    if hi > abi.EXEC_FIXED_HI:
        raise RumprunError(
            f"{where}, above {abi.EXEC_FIXED_HI:#x} where the kernel places "
            "programs' memory: link it lower (ld's default is 0x400000) or as "
            "static-pie"
        )


def _libc_of(path):
    data = Path(path).read_bytes()
    return "glibc" if any(h in data for h in GLIBC_HINTS) else "not glibc"


def find_multiboot_header(path):
    """The valid multiboot (v1) header in PATH's first 8 KiB, or None."""
    with open(path, "rb") as f:
        data = f.read(MULTIBOOT_SEARCH + 48)
    for offset in range(0, min(len(data) - 11, MULTIBOOT_SEARCH), 4):
        magic, flags, checksum = struct.unpack_from("<III", data, offset)
        if magic != MULTIBOOT_MAGIC:
            continue
        if (magic + flags + checksum) & 0xFFFFFFFF:
            continue
        addresses = None
        if flags & MULTIBOOT_AOUT_KLUDGE and offset + 32 <= len(data):
            addresses = struct.unpack_from("<5I", data, offset + 12)
        return MultibootHeader(offset, flags, addresses)
    return None


def has_pvh_note(elf):
    """Whether an open ELF file has Xen's PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)."""
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_NOTE":
            continue
        for n in segment.iter_notes():
            if n["n_name"] == "Xen" and n["n_type"] == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
    return False


def undefined_symbols(elf):
    """Names of the strong undefined symbols of an open ELF file."""
    return sorted(
        {
            sym.name
            for sym in _symbols(elf)
            if sym.name
            and sym["st_shndx"] == "SHN_UNDEF"
            and sym["st_info"]["bind"] == "STB_GLOBAL"
        }
    )


def _symbols(elf):
    for section in elf.iter_sections():
        if section["sh_type"] == "SHT_SYMTAB":
            yield from section.iter_symbols()


def defined_symbols(path):
    """Names of the global symbols that object or image PATH defines."""
    with open_elf(path) as elf:
        return {
            sym.name
            for sym in _symbols(elf)
            if sym.name
            and sym["st_shndx"] != "SHN_UNDEF"
            and sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
        }


def function_symbols(path):
    """(address, size, name) of every sized function in image PATH, sorted."""
    with open_elf(path) as elf:
        return sorted(
            {
                (sym["st_value"], sym["st_size"], sym.name)
                for sym in _symbols(elf)
                if sym.name and sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"] > 0
            }
        )


def check_baked_image(path):
    """Check that PATH is a bootable rumprun image; return what it holds."""
    path = Path(path)
    with open_elf(path) as elf:
        _check_machine(elf, path)
        notes = rumprun_notes(elf)
        if note.BAKED not in notes:
            if note.APP in notes:
                raise RumprunError(
                    f"{path} is an unbaked rumprun app: bake it first, e.g. "
                    f"rumprun-bake hw_generic {path.name}.bin {path}"
                )
            raise RumprunError(
                f"{path} is not a rumprun image (it has no rumprun note): "
                "build it with rumprun-cc and rumprun-bake"
            )
        if elf.header["e_type"] != "ET_EXEC":
            raise RumprunError(
                f"{path} is not a linked image ({elf.header['e_type']}): "
                "bake it again with rumprun-bake"
            )
        undefined = undefined_symbols(elf)
        if undefined:
            raise RumprunError(
                f"{path} has undefined symbols ({', '.join(undefined)}): "
                "bake it again with rumprun-bake"
            )
        ends = [
            seg["p_paddr"] + seg["p_memsz"]
            for seg in elf.iter_segments()
            if seg["p_type"] == "PT_LOAD"
        ]
        if not ends:
            raise RumprunError(
                f"{path} has nothing to load (no PT_LOAD segment): bake it again with rumprun-bake"
            )
        entry = elf.header["e_entry"]
        elf64 = elf.elfclass == 64
        pvh = has_pvh_note(elf)
    header = find_multiboot_header(path)
    if header is None and not pvh:
        raise RumprunError(
            f"{path} has neither a valid multiboot header in its first "
            f"{MULTIBOOT_SEARCH // 1024} KiB nor Xen's PVH entry note: bake it "
            "with a hw or xen configuration"
        )
    return BakedImage(path, notes[note.BAKED], max(ends), entry, header, elf64, pvh)
