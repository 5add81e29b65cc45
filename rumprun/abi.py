"""The constants the tools share with the image, read from the C header.

kernel/include/rumprun_abi.h is the one definition (what each constant means
is written there); this module parses its "#define RUMPRUN_NAME VALUE" lines
when first imported, so Python and C cannot disagree.  Derived helpers:
STATUS_LINE (a regular expression for the status line) and
debug_exit_code(status) (QEMU's exit code for a guest status).
"""

import re

from rumprun import host

HEADER = host.KERNEL_INCLUDE / "rumprun_abi.h"
_DEFINE = re.compile(r"^#define\s+RUMPRUN_(\w+)\s+(.+?)\s*$")
_STRING = re.compile(r'^"([^"\\]*)"$')
_PRODUCT = re.compile(r"^\(?\s*(\w+(?:\s*\*\s*\w+)*)\s*\)?$")


def _value(text):
    """A string literal (no escapes) or an integer, or a product of
    integers in parentheses, as a Python value."""
    m = _STRING.match(text)
    if m:
        return m.group(1)
    m = _PRODUCT.match(text)
    if not m:
        raise ValueError(f"{HEADER}: not a string or an integer product: {text}")
    value = 1
    for factor in m.group(1).split("*"):
        value *= int(factor.strip(), 0)
    return value


def parse(text):
    """{NAME: value} for every RUMPRUN_NAME defined in header TEXT."""
    values = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if m and not m.group(1).endswith("_H"):
            values[m.group(1)] = _value(m.group(2))
    return values


def _load():
    try:
        text = HEADER.read_text()
    except OSError as e:
        from rumprun.errors import RumprunError

        raise RumprunError(
            f"cannot read {HEADER} ({e.strerror}): the rumprun "
            "installation is incomplete; reinstall it"
        ) from None
    return parse(text)


_values = _load()
STATUS_FORMAT = _values["STATUS_LINE"]
DEBUG_EXIT_PORT = _values["DEBUG_EXIT_PORT"]
KVM_PROBE_VALUE = _values["KVM_PROBE_VALUE"]
HLT_OPCODE = _values["HLT_OPCODE"]
CRASH_OPCODE = _values["CRASH_OPCODE"]
FW_CFG_CONFIG = _values["FW_CFG_CONFIG"]
DEFAULT_STACK_SIZE = _values["DEFAULT_STACK_SIZE"]
MIN_STACK_SIZE = _values["MIN_STACK_SIZE"]
BOOT_RESERVE = _values["BOOT_RESERVE"]
PROGRAM_ENTRY_SIZE = _values["PROGRAM_ENTRY_SIZE"]
SYMBOL_ENTRY_SIZE = _values["SYMBOL_ENTRY_SIZE"]
EXEC_FIXED_LO = _values["EXEC_FIXED_LO"]
EXEC_IMAGE_WINDOW_LO = _values["EXEC_IMAGE_WINDOW_LO"]
EXEC_IMAGE_WINDOW_HI = _values["EXEC_IMAGE_WINDOW_HI"]
EXEC_FIXED_HI = _values["EXEC_FIXED_HI"]

# The status line as the console shows it (a serial line may end in CR).
STATUS_LINE = re.compile(re.escape(STATUS_FORMAT).replace("%d", r"(\d{1,3})").encode() + rb"\r?$")


def debug_exit_code(status):
    """QEMU's exit code when the guest writes STATUS to isa-debug-exit."""
    return (((status & 0xFF) << 1) | 1) & 0xFF
