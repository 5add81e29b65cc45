"""rumprun-bake: configurations, input checks, the link, atomic output."""

import json
import os
import stat
import subprocess
import sys

from elftools.elf.elffile import ELFFile

from conftest import ROOT, assert_one_line_error
from rumprun.toolchain import elfcheck, note


def test_list_names_every_configuration(run):
    out = run("rumprun-bake", "list", check=0).stdout
    for path in (ROOT / "app-tools" / "configs").glob("*.json"):
        config = json.loads(path.read_text())
        assert config["name"] == path.stem
        assert f"{config['name']}" in out and config["description"] in out


def test_describe_shows_libraries_and_ldscript(run):
    out = run("rumprun-bake", "describe", "hw_generic", check=0).stdout
    assert "platform:    hw" in out
    assert str(ROOT / "platform" / "x86_64" / "image.ld") in out
    assert str(ROOT / "build" / "lib" / "libhw.a") in out
    assert str(ROOT / "build" / "lib" / "libkernel.a") in out


def test_unknown_configuration_lists_the_known_ones(run, unbaked_app, tmp_path):
    result = run("rumprun-bake", "hw_nonesuch", tmp_path / "x.bin", unbaked_app)
    assert_one_line_error(result, "hw_nonesuch", "hw_generic")
    assert_one_line_error(run("rumprun-bake", "describe", "nope"), "hw_generic")


def bake_fails(run, tmp_path, app, *words):
    out = tmp_path / "out.bin"
    line = assert_one_line_error(run("rumprun-bake", "hw_generic", out, app), *words)
    assert list(tmp_path.iterdir()) == [] or not out.exists()
    assert not any(p.name.startswith(".out.bin") for p in tmp_path.iterdir())
    return line


def test_missing_input(run, tmp_path):
    bake_fails(run, tmp_path, tmp_path / "absent", "does not exist")


def test_text_file_is_not_elf(run, tmp_path, hello_source):
    bake_fails(run, tmp_path, hello_source, "not an ELF file", "rumprun-cc")


def test_dynamically_linked_host_binary_is_refused(run, tmp_path):
    bake_fails(
        run,
        tmp_path,
        "/bin/true",
        "dynamically linked",
        "ld-linux",
        "link it statically",
        "-static",
    )


def test_dynamically_linked_gcc_program_is_refused(run, tmp_path, hello_source):
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    exe = host_dir / "hi"
    subprocess.run(["gcc", '-DGREETING="x"', "-o", exe, hello_source], check=True)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bake_fails(run, out_dir, exe, "dynamically linked", "gcc -static")


def test_plain_object_is_refused(run, tmp_path, hello_source):
    obj_dir = tmp_path / "obj"
    obj_dir.mkdir()
    obj = obj_dir / "hi.o"
    run("rumprun-cc", "-c", '-DGREETING="x"', hello_source, "-o", obj, check=0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bake_fails(run, out_dir, obj, "not a rumprun app", "rumprun-cc")


def test_baked_image_is_not_baked_again(run, tmp_path, fixture_kernel):
    bake_fails(run, tmp_path, fixture_kernel, "already baked")


def test_missing_arguments_are_one_line(run):
    assert_one_line_error(run("rumprun-bake", "hw_generic", "out.bin"), "APP", "--help")


# The tests below link with the kernel libraries (make libs).


def test_bake_gives_multiboot_image_with_baked_note(run, unbaked_app, tmp_path):
    image = tmp_path / "hi.bin"
    run("rumprun-bake", "hw_generic", image, unbaked_app, check=0)
    info = elfcheck.check_baked_image(image)
    assert info.config == "hw_generic"
    assert info.multiboot.offset % 4 == 0 and info.multiboot.offset < 8192
    with open(image, "rb") as f:
        elf = ELFFile(f)
        assert elf.header["e_type"] == "ET_EXEC"
        notes = elfcheck.rumprun_notes(elf)
    assert notes[note.BAKED] == "hw_generic"
    assert [p.name for p in tmp_path.iterdir()] == ["hi.bin"]


def test_xen_bake_gives_a_pvh_only_image_qemu_refuses(run, unbaked_app, tmp_path):
    image = tmp_path / "hi.xen"
    run("rumprun-bake", "xen_pvh", image, unbaked_app, check=0)
    info = elfcheck.check_baked_image(image)
    assert info.config == "xen_pvh" and info.pvh
    # Only Xen boots it: no multiboot header for grub or QEMU's -kernel.
    assert info.multiboot is None
    with open(image, "rb") as f:
        assert "xen_hypercall_page" in {
            s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
        }
    assert_one_line_error(
        run("rumprun", "qemu", "-i", image), "platform 'xen'", "rumprun qemu takes hw"
    )


def test_undefined_symbol_is_named(run, tmp_path):
    src = tmp_path / "undef.c"
    src.write_text("void nowhere_defined(int);\nint main(void) { nowhere_defined(3); return 0; }\n")
    app = tmp_path / "undef"
    # rumprun-cc refuses it too, unless told to leave it to the bake.
    run("rumprun-cc", "-o", app, src, "-Wl,--unresolved-symbols=ignore-all", check=0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bake_fails(run, out_dir, app, "nowhere_defined", "undef")


def test_missing_host_tools_name_their_package(run, unbaked_app, hello_source, state_env, tmp_path):
    env = dict(state_env, PATH="/nonexistent")
    assert_one_line_error(
        run("rumprun-bake", "hw_generic", tmp_path / "x.bin", unbaked_app, env=env),
        "ld",
        "binutils",
    )
    assert_one_line_error(
        run("rumprun-cc", "-c", hello_source, env=env), "gcc", "Debian package gcc"
    )


def test_special_files_at_the_output_are_never_replaced(run, unbaked_app, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for out in ("/dev/null", fifo):
        assert_one_line_error(
            run("rumprun-bake", "hw_generic", out, unbaked_app), "not a regular file"
        )
    assert_one_line_error(
        run("rumprun-bake", "hw_generic", tmp_path, unbaked_app), "is a directory"
    )
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_unwritable_output_directory_is_one_sentence(run, unbaked_app):
    # /sys refuses new files even to root.
    assert_one_line_error(
        run("rumprun-bake", "hw_generic", "/sys/x.bin", unbaked_app),
        "cannot write /sys/x.bin",
        "Permission denied",
    )


def test_list_names_a_broken_configuration(state_env, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    good = json.loads((ROOT / "app-tools" / "configs" / "hw_generic.json").read_text())
    (configs / "hw_generic.json").write_text(json.dumps(good))
    (configs / "typo.json").write_text(
        json.dumps({**good, "name": "typo", "libraries": "hw kernel"})
    )
    (configs / "junk.json").write_text("{")
    code = (
        "import sys; from pathlib import Path; from rumprun import host; "
        "host.CONFIG_DIR = Path(sys.argv[1]); sys.argv[1:] = ['list']; "
        "from rumprun.toolchain import bake; bake.main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, configs],
        env=state_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert result.stdout.startswith("hw_generic ") and "typo" not in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert "junk.json is broken" in errors[0]
    assert "typo.json is broken" in errors[1] and "'libraries'" in errors[1]


def test_generated_tables_have_the_entry_sizes_the_kernel_expects(tmp_path):
    """The C side static-asserts its structs against rumprun_abi.h; this
    checks the bake writes the same layouts."""
    from elftools.elf.relocation import RelocationSection

    from rumprun import abi
    from rumprun.toolchain import linkobjs

    table = linkobjs.program_table_object(["one", "two"], tmp_path)
    with open(table, "rb") as f:
        elf = ELFFile(f)
        relocs = next(s for s in elf.iter_sections() if isinstance(s, RelocationSection))
        first_name = min(r["r_addend"] for r in relocs.iter_relocations() if r["r_offset"] == 0)
    # Two entries and the terminating one, then the names.
    assert first_name == 3 * abi.PROGRAM_ENTRY_SIZE

    symtab = linkobjs.symbol_table_object([(0x1000, 16, "f"), (0x2000, 8, "g")], tmp_path)
    with open(symtab, "rb") as f:
        symbols = {
            s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
        }
    assert symbols["rumprun_symtab_names"] - symbols["rumprun_symtab"] == 2 * abi.SYMBOL_ENTRY_SIZE


def test_abi_header_is_what_the_tools_use():
    from rumprun import abi

    values = abi.parse((ROOT / "kernel" / "include" / "rumprun_abi.h").read_text())
    assert values["DEBUG_EXIT_PORT"] == 0xF4 and values["CRASH_OPCODE"] == 0xD6
    assert abi.STATUS_LINE.search((values["STATUS_LINE"] % 201).encode() + b"\r").group(1) == b"201"
    assert abi.debug_exit_code(200) == 145 and abi.debug_exit_code(0) == 1
