"""What the build adds to Debian's musl (libc/extras.mk): BSD headers from
libbsd (sys/queue.h, sys/tree.h, sys/cdefs.h) and crypt()/crypt_r() from
musl's own sources, found by rumprun-cc as a configure script would look
for them.  tests/apps/libc/bsdcrypt.c is baked and booted, and its output
compared with the same program built natively."""

import shutil
import subprocess

import pytest

from conftest import ROOT, boot

pytestmark = pytest.mark.qemu  # the tests here boot guests

SOURCE = ROOT / "tests" / "apps" / "libc" / "bsdcrypt.c"
LIBBSD_INCLUDE = ROOT / "build" / "libbsd" / "include"
# From the specification of SHA-crypt (Drepper, "Unix crypt using SHA-256
# and SHA-512"): its first SHA-512 test vector.
SHA512_VECTOR = (
    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjn"
    "QJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
)


@pytest.fixture(scope="module")
def bsdcrypt_bin(run, kernel_libs, tmp_path_factory):
    out = tmp_path_factory.mktemp("bsdcrypt")
    run("rumprun-cc", "-O2", "-o", out / "bsdcrypt", SOURCE, "-lcrypt", check=0)
    run("rumprun-bake", "hw_generic", out / "bsdcrypt.bin", out / "bsdcrypt", check=0)
    return out / "bsdcrypt.bin"


def native_output(tmp_path):
    """The program built by the host's gcc against libbsd's headers (as
    libbsd-overlay) and the host's libcrypt, or None without them."""
    if not shutil.which("gcc") or not (LIBBSD_INCLUDE / "bsd").is_dir():
        return None
    exe = tmp_path / "bsdcrypt-native"
    built = subprocess.run(
        [
            "gcc",
            "-O2",
            "-DLIBBSD_OVERLAY",
            f"-I{LIBBSD_INCLUDE}",
            "-isystem",
            str(LIBBSD_INCLUDE / "bsd"),
            "-o",
            exe,
            SOURCE,
            "-lcrypt",
        ],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        return None  # no libcrypt on this host
    return subprocess.run([exe], capture_output=True, text=True, check=True).stdout


def test_queue_tree_and_crypt_as_on_linux(run, bsdcrypt_bin, tmp_path):
    result, said = boot(run, bsdcrypt_bin)
    assert result.returncode == 0, said
    out = result.stdout.split("=== rumprun")[0]
    assert "rb without fig: apple banana kiwi pear" in out, said
    assert f"crypt $6$saltstring -> {SHA512_VECTOR} (crypt_r agrees)" in out, said
    assert "DIFFERS" not in out and "(null)" not in out, said
    native = native_output(tmp_path)
    if native is not None:
        assert out == native, said


def test_configure_style_checks_find_them(run, kernel_libs, tmp_path):
    """What autoconf does: preprocess a header, link a function from -lcrypt."""
    for header in ("sys/queue.h", "sys/tree.h", "sys/cdefs.h", "crypt.h", "fts.h"):
        src = tmp_path / "h.c"
        src.write_text(f"#include <{header}>\nint x;\n")
        run("rumprun-cc", "-E", "-o", tmp_path / "h.i", src, check=0)
    src = tmp_path / "conftest.c"
    src.write_text("char crypt();\nint main(void) { return crypt() != 0; }\n")
    run("rumprun-cc", "-o", tmp_path / "conftest", src, "-lcrypt", check=0)
    missing = run("rumprun-cc", "-o", tmp_path / "conftest", src)
    assert missing.returncode != 0 and "crypt" in missing.stderr, missing
