"""The wheel (python -m build) installed into a fresh virtual environment
works outside the checkout: rumprun-cc, rumprun-bake (building the kernel
libraries from the sources the wheel carries, into a private cache, on
first use) and rumprun qemu -i, run from another directory.

About a minute: the wheel's build, the installation (dependencies from
PyPI or pip's cache) and the first build of the kernel libraries."""

import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.qemu  # the tests here boot guests

HELLO_C = ROOT / "tests" / "hello" / "hello.c"


def checked(args, status=0, **kwargs):
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        **kwargs,
    )
    assert result.returncode == status, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_installed_wheel_works_from_another_directory(tmp_path):
    dist, venv, work, cache = (tmp_path / d for d in ("dist", "venv", "work", "cache"))
    work.mkdir()
    checked([sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT])
    (wheel,) = dist.glob("rumprun-*.whl")
    checked([sys.executable, "-m", "venv", venv])
    checked([venv / "bin" / "pip", "install", "-q", wheel])
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(cache),
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    bin_ = venv / "bin"
    compiled = checked(
        [bin_ / "rumprun-cc", "-O2", "-DNO_SLEEP", "-o", "hello", HELLO_C], cwd=work, env=env
    )
    baked = checked([bin_ / "rumprun-bake", "hw_generic", "hello.bin", "hello"], cwd=work, env=env)
    # First use (rumprun-cc: it needs the libc extras, libc/extras.mk): the
    # libraries were built into the cache, progress on stderr, once.
    assert "building the kernel libraries" in compiled.stderr
    assert "building the kernel libraries" not in baked.stderr
    assert list(cache.glob("rumprun/build-*/lib/libkernel.a"))
    ran = checked(
        [bin_ / "rumprun", "qemu", "-i", "-e", "WORLD=wheel", "hello.bin", "--", "3"],
        status=3,
        cwd=work,
        env=env,
    )
    assert "Hello, wheel!" in ran.stdout
    # The tools were the installed ones, and wrote nothing into the package.
    where = checked(
        [bin_ / "python", "-c", "import rumprun; print(rumprun.__file__)"], cwd=work, env=env
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    assert not list(venv.rglob("_tree/build"))
