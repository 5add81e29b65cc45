"""tests/posix/files.c in the unikernel: files through the libc (stdio on
/tmp, readdir, stat, getpwnam from the baked-in /etc, pipes, poll, dup2,
/dev), booted in QEMU the way a user would, with a root file system baked
in from a host directory when rumprun-bake has --rootfs."""

import subprocess

import pytest

from conftest import ROOT

FILES = ROOT / "tests" / "posix" / "files.c"


@pytest.fixture(scope="session")
def files_bin(run, tmp_path_factory):
    make = subprocess.run(["make", "-C", str(ROOT), "libs"],
                          capture_output=True, text=True)
    if make.returncode != 0:
        pytest.fail(f"make libs failed:\n{make.stdout}\n{make.stderr}")
    out = tmp_path_factory.mktemp("files")
    run("rumprun-cc", "-O2", "-o", out / "files", FILES, check=0)
    args = []
    if "--rootfs" in run("rumprun-bake", "--help").stdout:
        tree = out / "tree"
        (tree / "etc").mkdir(parents=True)
        (tree / "etc" / "rootfs-marker").write_text("baked in\n")
        args = ["--rootfs", tree]
    run("rumprun-bake", *args, "hw_generic", out / "files.bin", out / "files",
        check=0)
    return out / "files.bin", bool(args)


def test_files_through_the_libc(run, files_bin):
    image, with_rootfs = files_bin
    result = run("rumprun", "qemu", "-i", image, timeout=120)
    said = f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "files: 0 failures" in result.stdout, said
    assert "FAIL" not in result.stdout, said
    assert "ok getpwnam(root): uid 0 home /root" in result.stdout, said
    assert "ok readdir: . .. file0 file1 file2 file3 file4" in result.stdout, said
    if with_rootfs:
        assert "ok rootfs marker: baked in" in result.stdout, said
    assert result.returncode == 0, said
