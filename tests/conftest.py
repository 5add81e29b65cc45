"""Shared fixtures: run the tools as the user would, build test inputs."""

import http.server
import json
import os
import queue
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from rumprun.toolchain import note


ROOT = Path(__file__).resolve().parent.parent
MODULES = {
    "rumprun": "rumprun.cli",
    "rumprun-bake": "rumprun.toolchain.bake",
    "rumprun-cc": "rumprun.toolchain.cc",
    "rumprun-c++": "rumprun.toolchain.cxx",
}
FIXTURE_KERNEL = ROOT / "tests" / "fixtures" / "kernel"


def tool(name):
    """The command for tool NAME: the installed script, else the module."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", MODULES[name]]


@pytest.fixture
def timer_late_us():
    """How late (microseconds) a guest's 50 ms timed wait may end and still
    pass: QEMU's, on an idle or busy host; test_xen widens it for Xen nested
    under TCG, where every timer event crosses two emulated hypervisors."""
    return 100_000


@pytest.fixture
def clock_step_us():
    """How early (microseconds) a guest's 10 ms sleep on the realtime clock
    may seem to end, measured by that clock: QEMU's; test_xen widens it."""
    return 1_000


@pytest.fixture(scope="session")
def state_env(tmp_path_factory):
    """The environment for the tools: guests' state in a private place."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    return env


@pytest.fixture(scope="session")
def run(state_env):
    """run(tool, *args, ...) -> CompletedProcess with text stdout/stderr."""

    def run(name, *args, cwd=None, env=None, timeout=120, check=None):
        result = subprocess.run(
            tool(name) + [str(a) for a in args],
            cwd=cwd,
            text=True,
            capture_output=True,
            env=env or state_env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check is not None:
            assert result.returncode == check, (
                f"{name} {' '.join(map(str, args))} exited "
                f"{result.returncode}, not {check}\nstdout:\n{result.stdout}"
                f"\nstderr:\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def kernel_libs():
    """The kernel libraries, built (make libs) once per session."""
    make = subprocess.run(["make", "-C", str(ROOT), "libs"], capture_output=True, text=True)
    if make.returncode != 0:
        pytest.fail(f"make libs failed:\n{make.stdout}\n{make.stderr}")


@pytest.fixture(scope="session")
def bake_image(run, kernel_libs):
    """bake_image(out, image, {app: [sources]}, cc_flags, bake_flags): build
    each app with rumprun-cc and bake them all into OUT/IMAGE, as a user
    would; returns the image's path."""

    def bake_image(out, image, apps, cc_flags=("-O2",), bake_flags=()):
        for name, sources in apps.items():
            run("rumprun-cc", *cc_flags, "-o", out / name, *sources, check=0)
        run(
            "rumprun-bake",
            *bake_flags,
            "hw_generic",
            out / image,
            *[out / name for name in apps],
            check=0,
        )
        return out / image

    return bake_image


def assert_one_line_error(result, *words):
    """The tool failed with status 2 and one line on stderr, no traceback."""
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def hello_source(tmp_path_factory):
    """A small C program using libc (printf, getenv, exit status)."""
    src = tmp_path_factory.mktemp("src") / "hi.c"
    src.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n"
        "int main(int argc, char **argv) {\n"
        '  const char *w = getenv("WORLD");\n'
        '  printf("Hello, %s! %d\\n", w ? w : GREETING, argc);\n'
        "  return argc > 1 ? atoi(argv[1]) : 0;\n}\n"
    )
    return src


@pytest.fixture(scope="session")
def unbaked_app(run, hello_source):
    """hi.c built with rumprun-cc: an unbaked app."""
    out = hello_source.parent / "hi"
    run("rumprun-cc", "-O2", '-DGREETING="world"', "-o", out, hello_source, check=0)
    return out


def build_fixture_kernel(
    directory, status=0, message=None, bss_bytes=4096, config="hw_generic", reset=False
):
    """The tests' fixture kernel (tests/fixtures/kernel), baked by hand.

    It prints the command line it got, the configuration from fw_cfg and
    the first multiboot module, then MESSAGE (by default the status line
    for STATUS), then exits through isa-debug-exit with STATUS (RESET:
    resets the machine instead).  CONFIG names the bake configuration its
    note claims.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if message is None:
        message = f"=== rumprun: exit status {status} ===\\n"
    obj = directory / "kernel.o"
    defines = [f"-DSTATUS={status}", f'-DMESSAGE="{message}"', f"-DBSS_BYTES={bss_bytes}"] + (
        ["-DRESET"] if reset else []
    )
    subprocess.run(
        ["gcc", "-c", *defines, str(FIXTURE_KERNEL / "kernel.S"), "-o", str(obj)], check=True
    )
    note_obj = note.assemble(note.BAKED, config, directory / "note.o")
    image = directory / "fixture.bin"
    subprocess.run(
        [
            "ld",
            "-z",
            "max-page-size=0x1000",
            "--no-warn-rwx-segments",
            "-T",
            str(FIXTURE_KERNEL / "kernel.ld"),
            "-o",
            str(image),
            str(obj),
            str(note_obj),
        ],
        check=True,
    )
    return image


@pytest.fixture(scope="session")
def fixture_kernel(tmp_path_factory):
    """A baked-looking image that prints and exits with status 7."""
    return build_fixture_kernel(tmp_path_factory.mktemp("mk7"), status=7)


# ---- images and helpers several test modules share ------------------------

HELLO_C = ROOT / "tests" / "hello" / "hello.c"
APPS = ROOT / "tests" / "apps"
RUNTIME_APPS = APPS / "runtime"
RUNTIME_SOURCES = ["main.c", "threads.c", "memory.c", "clock.c", "identity.c", "etc.c"]


@pytest.fixture(scope="session")
def hello_bin(bake_image, tmp_path_factory):
    """hello.c built (with -DNO_SLEEP) and baked once per session."""
    return bake_image(
        tmp_path_factory.mktemp("hello"),
        "hello.bin",
        {"hello": [HELLO_C]},
        cc_flags=("-O2", "-DNO_SLEEP"),
    )


def build_runtime_apps(bake_image, out, image, apps):
    """Build APPS ({name: [sources in tests/apps/runtime]}) into OUT/IMAGE."""
    return bake_image(
        out,
        image,
        {name: [RUNTIME_APPS / s for s in sources] for name, sources in apps.items()},
        cc_flags=("-O2", "-lpthread"),
    )


@pytest.fixture(scope="session")
def runtime_bin(bake_image, tmp_path_factory):
    """`runtime CASE`: the POSIX runtime's test cases (tests/apps/runtime)."""
    return build_runtime_apps(
        bake_image, tmp_path_factory.mktemp("runtime"), "runtime.bin", {"runtime": RUNTIME_SOURCES}
    )


@pytest.fixture(scope="session")
def programs_bin(bake_image, tmp_path_factory):
    """Three programs in one image (ctors, produce, consume), for --rc."""
    return build_runtime_apps(
        bake_image,
        tmp_path_factory.mktemp("programs"),
        "programs.bin",
        {"ctors": ["ctors.c"], "produce": ["produce.c"], "consume": ["consume.c"]},
    )


def boot(run, *args, timeout=60, machine="qemu"):
    """rumprun MACHINE -i ARGS -> (result, what the guest printed).

    A guest that hangs past TIMEOUT seconds gives returncode None and what
    it printed until then (QEMU dies with the launcher)."""
    try:
        result = run("rumprun", machine, "-i", *args, timeout=timeout)
    except subprocess.TimeoutExpired as e:

        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else b or ""

        result = SimpleNamespace(
            returncode=None,
            stdout=text(e.stdout),
            stderr=text(e.stderr) + f"\n(no end after {timeout} s)",
        )
    return result, (
        f"exit status {result.returncode}; the guest printed:\n"
        f"{result.stdout}\nstderr:\n{result.stderr}"
    )


def micros(pattern, stdout, said):
    """The integers PATTERN's groups find in STDOUT (the guest's figures)."""
    m = re.search(pattern, stdout)
    assert m, said
    return [int(g) for g in m.groups()]


def parse_plan(script):
    """-D's script -> (QEMU argv, the configuration fed to fd 3, mkdirs)."""
    lines = script.splitlines()
    mkdirs = [shlex.split(ln)[-1] for ln in lines if ln.startswith("mkdir ")]
    i = next(i for i, ln in enumerate(lines) if "qemu-system-x86_64" in ln)
    command, heredoc = lines[i].split(" 3<<")
    assert heredoc == "'RUMPRUN_EOF'" and lines[i + 2] == "RUMPRUN_EOF"
    return shlex.split(command), json.loads(lines[i + 1]), mkdirs


def dry_run(run, *args, env=None):
    """rumprun -D ARGS, parsed (parse_plan)."""
    return parse_plan(run("rumprun", "-D", *args, env=env, check=0).stdout)


def wait_for(predicate, timeout=30):
    """PREDICATE()'s first true value within TIMEOUT seconds (else its last)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def ps_line(run, name, env=None):
    """The line `rumprun ps` prints for guest NAME, or None."""
    lines = run("rumprun", "ps", env=env, check=0).stdout.splitlines()
    return next((ln for ln in lines if ln.split()[0] == name), None)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- what the network and storage tests share (test_net, test_storage,
# test_storage_fs, and test_microvm, which runs them on microvm) ----------


@pytest.fixture(scope="session")
def nettest_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("nettest"),
        "nettest.bin",
        {"nettest": [APPS / "net" / "nettest.c"]},
        cc_flags=("-O2", "-lpthread"),
    )


@pytest.fixture(scope="session")
def httpd_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("httpd"), "httpd.bin", {"httpd": [APPS / "net" / "httpd.c"]}
    )


class Page(http.server.BaseHTTPRequestHandler):
    body = b"served by the host\n" * 50

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host_http():
    """An HTTP server on the host's 127.0.0.1 (10.0.2.2 for the guest)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class Guest:
    """A guest booted in the background: wait for what it prints, stop it.
    A thread reads the console, so a guest that goes quiet fails the wait
    at its timeout instead of blocking the test."""

    def __init__(self, state_env, image, argv, flags, machine="qemu"):
        args = tool("rumprun") + [machine, "-i", *flags, str(image), "--", *argv]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=state_env,
            stdin=subprocess.DEVNULL,
        )
        self.lines = []
        self.queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.queue.put(line)
        self.queue.put(None)

    def _take(self, timeout):
        try:
            line = self.queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return ""
        if line is not None:
            self.lines.append(line)
        return line

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while line := self._take(deadline - time.monotonic()):
            if text in line:
                return
        pytest.fail(f"the guest never said {text!r} (within {timeout} s):\n{''.join(self.lines)}")

    def finish(self, timeout=60):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        self.reader.join(timeout=10)
        while self._take(0):
            pass
        return self.proc.returncode, "".join(self.lines)

    def stop(self):
        # SIGTERM first: the launcher then stops its QEMU too.
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def guest(state_env):
    """start(IMAGE, ARGV, FLAGS, machine="qemu"): a Guest, stopped at the
    test's end."""
    started = []

    def start(*args, **kw):
        g = Guest(state_env, *args, **kw)
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()


STORAGE_SOURCE = APPS / "storage" / "storage.c"


def need(program):
    if shutil.which(program) is None:
        pytest.fail(f"{program} is missing: install e2fsprogs (scripts/setup-host does)")


@pytest.fixture(scope="session")
def storage_bin(bake_image, tmp_path_factory):
    for program in ("mke2fs", "e2fsck", "debugfs"):
        need(program)
    return bake_image(
        tmp_path_factory.mktemp("storage"),
        "storage.bin",
        {"storage": [STORAGE_SOURCE]},
    )


@pytest.fixture(scope="session")
def storage_native(tmp_path_factory):
    """The same program built for the host, for the differential test."""
    out = tmp_path_factory.mktemp("native") / "storage"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(STORAGE_SOURCE)], check=True)
    return out


def mkfs(run, tree, image, *extra):
    run("rumprun", "mkfs", "ext2", *extra, tree, image, check=0)
    return image


def fsck_clean(image):
    result = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    assert result.returncode == 0, f"e2fsck -fn {image}:\n{result.stdout}\n{result.stderr}"


def pattern(seed, off, n):
    """Bytes OFF..OFF+N of the data storage.c writes from SEED."""
    return bytes(((i * 131 + seed * 17 + (i >> 11)) & 0xFF) for i in range(off, off + n))


def native(storage_native, *args):
    result = subprocess.run(
        [str(storage_native), *map(str, args)], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


@pytest.fixture(scope="session")
def fsprobe(bake_image, tmp_path_factory):
    out = tmp_path_factory.mktemp("fsprobe")
    source = ROOT / "tests" / "apps" / "storage" / "fsprobe.c"
    return bake_image(out, "fsprobe.bin", {"fsprobe": [source]})
