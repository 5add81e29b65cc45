"""docs/syscalls.md is the kernel's system call table, made from the
SYSCALL_REGISTER lines (scripts/syscalls.py): every registration says its
level, and the checked-in table is current."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "syscalls.py"


def test_table_is_current():
    r = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_registration_has_a_level():
    spec = importlib.util.spec_from_file_location("syscalls", SCRIPT)
    syscalls = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(syscalls)
    regs = syscalls.registrations()
    assert len(regs) > 100
    assert syscalls.problems(regs) == []
    # the checker itself catches a registration without a level
    bad = [("dup", "sys_dup", None, "", "kernel/x.c", 1)]
    assert "needs a level" in syscalls.problems(bad)[0]
    bad = [("dup", "sys_dup", "PARTIAL", "", "kernel/x.c", 1)]
    assert "note must say" in syscalls.problems(bad)[0]


def test_table_lists_known_calls():
    text = (ROOT / "docs" / "syscalls.md").read_text()
    assert "| 0 | read | full |" in text
    assert "| 56 | clone | partial | threads only" in text
