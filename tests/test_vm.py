"""Memory, stacks and program runs, as a user sees them: tests/vm/*.c built
with rumprun-cc into one image (`vm CASE`), booted with rumprun qemu -i;
the portable cases also run natively for comparison.

About 2 minutes under TCG.
"""

import shutil
import subprocess

import pytest

from conftest import ROOT
from test_runtime import boot

SOURCES = ROOT / "tests" / "vm"
RUNTIME_H = ROOT / "tests" / "runtime"
VM_SOURCES = ["main.c", "anon.c"]


@pytest.fixture(scope="session")
def vm_bin(bake_image, tmp_path_factory):
    return bake_image(tmp_path_factory.mktemp("vm"), "vm.bin",
                      {"vm": [SOURCES / s for s in VM_SOURCES]},
                      cc_flags=("-O2", f"-I{RUNTIME_H}", "-lpthread"))


@pytest.fixture(scope="session")
def vm_native(tmp_path_factory):
    """The same program built by the host's gcc, to compare with Linux."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no host gcc")
    out = tmp_path_factory.mktemp("native") / "vm"
    subprocess.run([gcc, "-O2", f"-I{RUNTIME_H}", "-o", out,
                    *[SOURCES / s for s in VM_SOURCES], "-lpthread"], check=True)
    return out


def vm_case(run, vm_bin, case, *args, memory=64, timeout=120):
    """Boot `vm CASE` in MEMORY MiB; assert no failure and status 0."""
    result, said = boot(run, "-M", str(memory), vm_bin, "--", case, *args,
                        timeout=timeout)
    assert "FAIL" not in result.stdout, said
    assert f"vm {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout


# ---- anonymous memory, page by page -----------------------------------------

def test_one_mapping_takes_almost_all_free_memory(run, vm_bin):
    out = vm_case(run, vm_bin, "big")
    assert "all of it back after munmap" in out, out


def test_big_mappings_after_1000_threads(run, vm_bin):
    vm_case(run, vm_bin, "churn")


@pytest.mark.parametrize("case", ["fixed", "malloc_errno", "mremap", "madvise",
                                  "brk"])
def test_anonymous_memory(run, vm_bin, case):
    vm_case(run, vm_bin, case)


@pytest.mark.parametrize("case", ["churn", "malloc_errno", "mremap"])
def test_same_results_natively(run, vm_bin, vm_native, case):
    native = subprocess.run([vm_native, case], capture_output=True, text=True,
                            timeout=60)
    assert native.returncode == 0, native.stdout
    ours = vm_case(run, vm_bin, case)
    ok = [ln for ln in native.stdout.splitlines() if ln.startswith("ok ")]
    assert ok and all(ln in ours for ln in ok), (native.stdout, ours)
