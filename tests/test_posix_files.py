"""tests/apps/posix/files.c in the unikernel: files through the libc (stdio on
/tmp, readdir, stat, getpwnam from the baked-in /etc, pipes, poll, dup2,
/dev), booted in QEMU the way a user would, with a root file system baked
in from a host directory (rumprun-bake --rootfs)."""

import pytest

from conftest import ROOT

pytestmark = pytest.mark.qemu  # the tests here boot guests

FILES = ROOT / "tests" / "apps" / "posix" / "files.c"


@pytest.fixture(scope="session")
def files_bin(bake_image, tmp_path_factory):
    out = tmp_path_factory.mktemp("files")
    tree = out / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "rootfs-marker").write_text("baked in\n")
    return bake_image(out, "files.bin", {"files": [FILES]}, bake_flags=("--rootfs", tree))


def test_files_through_the_libc(run, files_bin):
    result = run("rumprun", "qemu", "-i", files_bin, timeout=120)
    said = f"the guest printed:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "files: 0 failures" in result.stdout, said
    assert "FAIL" not in result.stdout, said
    assert "ok getpwnam(root): uid 0 home /root" in result.stdout, said
    assert "ok readdir: . .. file0 file1 file2 file3 file4" in result.stdout, said
    assert "ok rootfs marker: baked in" in result.stdout, said
    assert result.returncode == 0, said
