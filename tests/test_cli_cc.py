"""rumprun-cc: gcc against musl, producing unbaked apps."""

import os
import re
import signal
import subprocess
import time

from elftools.elf.elffile import ELFFile

from conftest import ROOT, assert_one_line_error, tool
from rumprun.toolchain import elfcheck, note


def notes_of(path):
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return (
            elf.header["e_type"],
            elf.header["e_machine"],
            elfcheck.rumprun_notes(elf),
            elfcheck.undefined_symbols(elf),
        )


def test_link_gives_relocatable_x86_64_app_with_note(unbaked_app):
    e_type, machine, notes, undefined = notes_of(unbaked_app)
    assert (e_type, machine) == ("ET_REL", "EM_X86_64")
    assert notes == {note.APP: "x86_64"}
    # musl's startup and printf came along; only the final link's symbols
    # are missing.
    assert set(undefined) <= {"_GLOBAL_OFFSET_TABLE_"}, undefined
    elfcheck.check_unbaked_app(unbaked_app)


def test_app_contains_libc_startup_and_main(unbaked_app):
    symbols = subprocess.run(["nm", unbaked_app], capture_output=True, text=True, check=True).stdout
    for name in ("main", "__libc_start_main", "printf", "getenv"):
        assert re.search(rf" [TtWw] {name}$", symbols, re.M), name


def test_compile_then_link_separately(run, hello_source, tmp_path):
    obj = tmp_path / "hi.o"
    run("rumprun-cc", "-c", "-O2", '-DGREETING="x"', hello_source, "-o", obj, check=0)
    e_type, _, notes, _ = notes_of(obj)
    assert e_type == "ET_REL" and notes == {}  # a plain object
    app = tmp_path / "hi"
    run("rumprun-cc", obj, "-o", app, "-lm", check=0)
    assert notes_of(app)[2] == {note.APP: "x86_64"}


def test_flags_are_forwarded(run, tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "answer.h").write_text("#define ANSWER 42\n")
    src = tmp_path / "f.c"
    src.write_text(
        '#include "answer.h"\nint f(void) { return ANSWER + X; }\n'
        "#ifndef __OPTIMIZE__\n#error not optimised\n#endif\n"
    )
    out = run("rumprun-cc", "-E", "-O2", "-DX=1", "-I", tmp_path / "inc", src, check=0).stdout
    assert "return 42 + 1;" in out
    run(
        "rumprun-cc",
        "-c",
        "-O2",
        "-DX=1",
        f"-I{tmp_path / 'inc'}",
        src,
        "-o",
        tmp_path / "f.o",
        check=0,
    )
    failed = run("rumprun-cc", "-c", "-DX=1", f"-I{tmp_path / 'inc'}", src, "-o", tmp_path / "g.o")
    assert failed.returncode != 0 and "not optimised" in failed.stderr


def test_uses_musl_headers(run, tmp_path):
    src = tmp_path / "m.c"
    src.write_text("#include <stdio.h>\n#ifndef __GLIBC__\nint musl = 1;\n#endif\n")
    out = run("rumprun-cc", "-E", src, check=0).stdout
    assert "x86_64-linux-musl" in out and "int musl = 1;" in out


def test_compile_error_keeps_gccs_message(run, tmp_path):
    src = tmp_path / "bad.c"
    src.write_text("int main(void) { return undeclared_thing; }\n")
    result = run("rumprun-cc", "-o", tmp_path / "bad", src)
    assert result.returncode != 0
    assert "undeclared_thing" in result.stderr and "error" in result.stderr
    assert not (tmp_path / "bad").exists()


def test_dumpmachine_names_the_rumprun_target(run):
    assert run("rumprun-cc", "-dumpmachine", check=0).stdout.strip() == "x86_64-rumprun-linux-musl"


def test_note_constants_match_the_c_header():
    header = (ROOT / "app-tools" / "rumprun-note.h").read_text()
    defines = dict(re.findall(r"#define (RUMPRUN_NOTE_\w+)[ \t]+(\S+)", header))
    assert defines["RUMPRUN_NOTE_SECTION"] == f'"{note.SECTION}"'
    assert defines["RUMPRUN_NOTE_NAME"] == f'"{note.NAME}"'
    assert defines["RUMPRUN_NOTE_ARCH"] == f'"{note.ARCH}"'
    assert int(defines["RUMPRUN_NOTE_APP"]) == note.APP
    assert int(defines["RUMPRUN_NOTE_BAKED"]) == note.BAKED


def test_baked_note_is_padded_to_four_bytes(tmp_path):
    obj = note.assemble(note.BAKED, "hw_generic", tmp_path / "n.o")
    with open(obj, "rb") as f:
        section = ELFFile(f).get_section_by_name(note.SECTION)
        data = section.data()
    assert data[:12] == (8).to_bytes(4, "little") + (12).to_bytes(4, "little") + (2).to_bytes(
        4, "little"
    )
    assert data[12:20] == b"rumprun\0" and data[20:] == b"hw_generic\0\0"


def test_undefined_function_fails_the_link_like_gcc(run, tmp_path):
    # ./configure's function checks rely on this.
    src = tmp_path / "conftest.c"
    src.write_text("char no_such_function();\nint main(void) { return no_such_function(); }\n")
    result = run("rumprun-cc", src, "-o", tmp_path / "conftest")
    assert result.returncode != 0
    assert "no_such_function" in result.stderr
    assert not (tmp_path / "conftest").exists()


def test_default_output_is_a_out(run, hello_source, tmp_path):
    run("rumprun-cc", '-DGREETING="x"', hello_source, cwd=tmp_path, check=0)
    assert notes_of(tmp_path / "a.out")[2] == {note.APP: "x86_64"}


def test_shared_and_pie_links_get_our_sentence(run, hello_source, tmp_path):
    for flag in ("-shared", "-pie", "-static-pie"):
        line = assert_one_line_error(
            run("rumprun-cc", flag, '-DGREETING="x"', "-o", tmp_path / "x", hello_source),
            flag,
            "statically",
        )
        assert "-r" not in line.split()
    assert not (tmp_path / "x").exists()


def test_unbaked_apps_are_executable(unbaked_app):
    mode = unbaked_app.stat().st_mode
    assert mode & 0o111 == 0o111 & ~current_umask(), oct(mode)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_ctrl_c_is_one_line(state_env, tmp_path):
    # gcc waits for its source on stdin; Ctrl-C reaches the whole group.
    proc = subprocess.Popen(
        tool("rumprun-cc") + ["-x", "c", "-", "-o", str(tmp_path / "x")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=state_env,
        start_new_session=True,
    )
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "rumprun-cc: interrupted", err
    assert "Traceback" not in err
