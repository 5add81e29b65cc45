"""QEMU on a pc machine: rumprun qemu (TCG), kvm and baremetal.

plan() renders the Launch into QEMU's argument list; run() starts it:

- interactive (-i): the console on our stdout (rumprun.console relays it),
  and the guest's exit status as the launcher's;
- detached: a registered guest (rumprun.guests) with its console in a
  file, left running; the launcher prints its handle.

Other QEMU machines reuse all of this with their own Machine (the
microvm backend): the machine's base arguments, its devices, its checks
of the image and its choice of accelerator.

The configuration reaches the kernel through fw_cfg (-fw_cfg
name=opt/rumprun/config,file=/dev/fd/N): run() hands QEMU an in-memory
file (memfd) on an inherited descriptor, so -e values never appear in a
command line (ps, /proc/PID/cmdline) nor on disk, and there is no size
limit.  The plan printed by -D feeds the same descriptor from a
here-document.  Every value placed inside a QEMU option string has its
commas doubled (QEMU's escape), so no path can inject options.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rumprun import abi, host, model
from rumprun.errors import RumprunError
from rumprun.records import record

QEMU = "qemu-system-x86_64"
CONFIG_FD = 3  # the descriptor -D's script feeds the config on
KVM_PROBE_TIMEOUT = 5.0
STOP_GRACE = 3.0
# How long a guest asked to shut down (Ctrl-C, rumprun stop) has to sync
# its volumes and power off before QEMU is stopped anyway.
SHUTDOWN_GRACE = 5.0
# The virtio-console port the kernel reads the launcher's requests on
# (kernel/dev/virtio/virtio_console.c): one line each, "shutdown N".
CONTROL_PORT = "rumprun.control"


def escape(value):
    """VALUE for use inside a QEMU option string (commas doubled)."""
    return str(value).replace(",", ",,")


def machine_args(qemu, accel, memory_mib, kernel, machine="pc"):
    """QEMU with MACHINE (-M; a bare pc by default), ACCEL (tcg or kvm),
    isa-debug-exit and KERNEL: what every QEMU machine of ours starts from."""
    cpu = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
    return (
        [qemu, "-M", machine]
        + cpu
        + [
            "-m",
            str(memory_mib),
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-net",
            "none",
            "-no-reboot",
            "-device",
            f"isa-debug-exit,iobase={abi.DEBUG_EXIT_PORT:#x},iosize=4",
            "-kernel",
            str(kernel),
        ]
    )


def qemu_command(
    launch, qemu, accel, config_path, serial, streams=(), qmp_socket=None, machine=None
):
    """QEMU's argument list for LAUNCH on MACHINE (default: the pc).

    CONFIG_PATH is the file QEMU reads the configuration from.  SERIAL is
    the chardev COM1 goes to (the kernel's own lines: notices, crash
    reports, the status line), as (backend, {option: value}); STREAMS are
    (port name, chardev) pairs, one virtio-console port per standard stream
    of the programs (console_ports), or none: then the programs write to
    COM1 too.  QMP_SOCKET is None for no monitor, else the path of the QMP
    socket to create.
    """
    machine = machine or PC
    args = machine.base_args(qemu, accel, launch.memory_mib, launch.image.path) + [
        "-fw_cfg",
        f"name={abi.FW_CFG_CONFIG},file={escape(config_path)}",
        "-serial",
        "chardev:con",
        "-chardev",
        chardev("con", *serial),
    ]
    if qmp_socket is not None:
        args += [
            "-chardev",
            f"socket,id=qmp,path={escape(qmp_socket)},server=on,wait=off",
            "-mon",
            "chardev=qmp,mode=control",
        ]
    if launch.paused:
        args.append("-S")
    if launch.gdb_port is not None:
        args += ["-gdb", f"tcp:127.0.0.1:{launch.gdb_port}"]
    return (
        args
        + machine.device_args(launch)
        + stream_args(streams, machine.transport)
        + list(launch.qemu_args)
    )


def chardev(ident, backend, options=None):
    """A -chardev value: BACKEND with id IDENT and OPTIONS (values escaped)."""
    return ",".join(
        [backend, f"id={ident}"] + [f"{k}={escape(v)}" for k, v in (options or {}).items()]
    )


# The programs' standard streams: the virtio-console port names the kernel
# looks for (kernel/dev/virtio/virtio_console.c), and the host descriptor
# each one stands for.
STREAM_PORTS = (("rumprun.stdin", 0), ("rumprun.stdout", 1), ("rumprun.stderr", 2))


def shutdown_request(signum):
    """The control port's line asking the guest to sync its volumes and
    power off as if killed by signal SIGNUM (status 128 + SIGNUM)."""
    return f"shutdown {int(signum)}\n".encode()


def console_ports(chardevs):
    """(port name, chardev) pairs for the streams CHARDEVS gives (port name
    -> chardev); a port is named NAME.tty when the host end it stands for
    (our descriptor 0, 1 or 2) is a terminal, so isatty() says so."""
    return [
        (name + (".tty" if os.isatty(fd) else ""), chardevs[name])
        for name, fd in STREAM_PORTS
        if name in chardevs
    ]


def stream_args(streams, transport="pci"):
    """A virtio-serial device (on TRANSPORT: pci, or device for MMIO) with
    one port per stream (STREAMS: (port name, (backend, options)) pairs)."""
    if not streams:
        return []
    args = ["-device", f"virtio-serial-{transport},max_ports={len(streams) + 1}"]
    for name, (backend, options) in streams:
        ident = name.split(".")[1]
        args += [
            "-chardev",
            chardev(ident, backend, options),
            "-device",
            f"virtserialport,chardev={ident},name={name}",
        ]
    return args


def device_args(launch, transport="pci"):
    """QEMU's devices for LAUNCH's interfaces, disks and shared folders, in
    command-line order (PCI slots in that order: vioif0 before vioif1, ld0
    before ld1).  TRANSPORT is "pci", or "device" for virtio over MMIO
    (virtio-net-device...; a machine without PCI has no e1000).  No option
    ROMs: a NIC's iPXE ROM only slows the boot."""
    from rumprun.model import user_networking

    args = []
    rom = ",romfile=" if transport == "pci" else ""
    forwards = [
        f"hostfwd={p.protocol}:{p.host_addr}:{p.host_port}-:{p.guest_port}" for p in launch.ports
    ]
    for i, nic in enumerate(launch.interfaces):
        netdev, ident = _netdev(nic.backend, f"net{i}")
        if forwards and user_networking(nic):
            netdev = ",".join([netdev] + forwards)
            forwards = []
        model = f"virtio-net-{transport}" if nic.driver == "vioif" else "e1000"
        args += ["-netdev", netdev, "-device", f"{model},netdev={escape(ident)}{rom}"]
    for i, disk in enumerate(launch.disks):
        driver = "host_device" if disk.path.is_block_device() else "file"
        args += [
            "-blockdev",
            f"driver=raw,node-name=disk{i},read-only={_on(disk.readonly)},"
            f"file.driver={driver},file.filename={escape(disk.path)}",
            "-device",
            f"virtio-blk-{transport},drive=disk{i}",
        ]
    for i, share in enumerate(launch.shares):
        args += [
            "-fsdev",
            f"local,id=fs{i},path={escape(share.host_dir)},"
            f"security_model=none,readonly={_on(share.readonly)}",
            "-device",
            f"virtio-9p-{transport},fsdev=fs{i},mount_tag=share{i}",
        ]
    return args


def _on(flag):
    return "on" if flag else "off"


def _netdev(words, default_id):
    """-I's backend words as one -netdev value, and its id.

    () is user networking; -net TYPE[,opts] and -netdev TYPE[,opts] become
    -netdev TYPE,id=ID[,opts] (the id the user gave, else DEFAULT_ID)."""
    text = words[1] if words else "user"
    options = _split_options(text)
    ident = next((o[3:] for o in options if o.startswith("id=")), None)
    if ident is None:
        ident = default_id
        text = ",".join([options[0], f"id={default_id}"] + options[1:])
    return text, ident.replace(",,", ",")


def _split_options(text):
    """A QEMU option string split at its single commas (",," escapes one)."""
    parts, current, i = [], "", 0
    while i < len(text):
        if text[i] == "," and text[i + 1 : i + 2] == ",":
            current += ",,"
            i += 2
        elif text[i] == ",":
            parts.append(current)
            current = ""
            i += 1
        else:
            current += text[i]
            i += 1
    return parts + [current]


def check_loadable(launch):
    if not launch.image.qemu_loadable:
        raise RumprunError(
            f"{launch.image.path} is a 64-bit ELF whose multiboot header has no "
            "load addresses (flags bit 16), which QEMU cannot boot: fix the "
            "platform's multiboot header and bake it again"
        )


def registered(launch):
    """Whether the guest gets a state directory (ps, stop, cont)."""
    return not launch.interactive or launch.paused


def _qemu_path():
    return host.which(QEMU) or QEMU


def plan(launch, name=None, config_fd=CONFIG_FD, machine=None):
    """The directory, files and command run() will use.

    NAME is the registered guest's handle (one is made up when the launch
    has none); CONFIG_FD the descriptor the configuration is read from;
    MACHINE the QEMU machine (default: the pc).
    """
    from rumprun.plan import Plan

    machine = machine or PC
    machine.check(launch)
    qemu = _qemu_path()
    accel = machine.choose_accel(launch.platform, qemu)
    config = model.kernel_config(launch)
    p = Plan()
    socket = None
    if registered(launch):
        from rumprun import guests

        directory = guests.state_root() / (
            name or launch.name or guests.new_name(launch.image.path)
        )
        p.mkdir(directory)
        socket = directory / "qmp.sock"
    if launch.interactive and not machine.console_ports:
        argv = qemu_command(
            launch,
            qemu,
            accel,
            f"/dev/fd/{config_fd}",
            ("stdio", {"signal": "off"}),
            (),
            socket,
            machine,
        )
    elif launch.interactive:
        # The script's own descriptors: COM1 and the programs' stderr on
        # stderr, stdout on stdout (appending: QEMU opens them anew), stdin
        # from QEMU's stdio.
        to = {fd: ("file", {"path": f"/dev/{fd}", "append": "on"}) for fd in ("stdout", "stderr")}
        argv = qemu_command(
            launch,
            qemu,
            accel,
            f"/dev/fd/{config_fd}",
            to["stderr"],
            console_ports(
                {
                    "rumprun.stdin": ("stdio", {}),
                    "rumprun.stdout": to["stdout"],
                    "rumprun.stderr": to["stderr"],
                }
            ),
            socket,
            machine,
        )
    else:
        argv = qemu_command(
            launch,
            qemu,
            accel,
            f"/dev/fd/{config_fd}",
            ("file", {"path": directory / "console.log"}),
            control_ports(directory, machine),
            socket,
            machine,
        )
    p.command(argv, input=(config_fd, config))
    return p


# --- KVM --------------------------------------------------------------------


def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rumprun"


def _probe_kvm(qemu):
    """Boot kvmprobe.bin under KVM: (works, reason)."""
    from rumprun.console import describe_exit

    probe = host.LIB_DIR / "kvmprobe.bin"
    host.ensure_built([probe], "rumprun")
    try:
        result = subprocess.run(
            machine_args(qemu, "kvm", 16, probe),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=KVM_PROBE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return False, f"a KVM test guest did not finish in {KVM_PROBE_TIMEOUT:g} s"
    if result.returncode == abi.debug_exit_code(abi.KVM_PROBE_VALUE):
        return True, "KVM works"
    said = " ".join(result.stderr.split())[:200] or "nothing"
    return False, (
        f"a KVM test guest using SSE failed: QEMU "
        f"{describe_exit(result.returncode)} and said: {said}"
    )


def kvm_works(qemu):
    """(works, reason): whether KVM runs our guests, cached per host boot."""
    import json

    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "you may not use /dev/kvm (join the kvm group)"
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = None
    cache = _cache_dir() / "kvm-probe.json"
    try:
        cached = json.loads(cache.read_text())
        if boot_id and cached["boot_id"] == boot_id and cached["qemu"] == qemu:
            return cached["works"], cached["reason"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    works, reason = _probe_kvm(qemu)
    if boot_id:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
            tmp.write_text(
                json.dumps({"boot_id": boot_id, "qemu": qemu, "works": works, "reason": reason})
            )
            os.replace(tmp, cache)
        except OSError:
            pass  # no cache: probe again next time
    return works, reason


def choose_accel(platform, qemu):
    """The accelerator for PLATFORM: qemu=tcg, kvm=kvm or fail, baremetal=best."""
    if platform == "qemu":
        return "tcg"
    works, reason = kvm_works(qemu)
    if works:
        return "kvm"
    if platform == "kvm":
        raise RumprunError(
            f"KVM does not work on this host ({reason}): use rumprun qemu, which emulates the CPU"
        )
    print(
        f"rumprun: warning: KVM does not work on this host ({reason}); "
        "using QEMU's emulation (TCG)",
        file=sys.stderr,
        flush=True,
    )
    return "tcg"


@record
class Machine:
    """A QEMU machine type the QEMU backends boot images on."""

    base_args: "callable"  # (qemu, accel, memory_mib, kernel) -> QEMU, the
    # machine, isa-debug-exit and -kernel KERNEL
    device_args: "callable"  # (launch) -> the -I, -b and --share devices
    check: "callable"  # (launch) -> None; RumprunError when the image
    # cannot boot on the machine
    choose_accel: "callable"  # (platform, qemu) -> "tcg" or "kvm"
    transport: str = "pci"  # virtio devices: -pci, or -device (MMIO)
    console_ports: bool = True  # the programs' streams on virtio-console
    # ports (else on COM1 with the kernel's)


PC = Machine(machine_args, device_args, check_loadable, choose_accel)


# --- processes --------------------------------------------------------------


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def control_ports(directory, machine):
    """A detached guest's control port: a socket in its state DIRECTORY
    that `rumprun stop` writes its request to (none on a machine without
    virtio-console ports)."""
    if not machine.console_ports:
        return []
    path = Path(directory) / "control.sock"
    return [(CONTROL_PORT, ("socket", {"path": path, "server": "on", "wait": "off"}))]


def shut_down(pid, directory, qmp_socket, name, running, grace=SHUTDOWN_GRACE):
    """End the detached guest NAME (QEMU's PID, its state DIRECTORY;
    RUNNING() says whether QEMU still holds the guest's lock: a QEMU that
    has exited may linger as a zombie nobody reaps): ask the kernel to sync
    its volumes and power off (status 143, as SIGTERM), wait up to GRACE
    seconds, then stop QEMU as stop_process does, saying so on stderr when
    the guest was asked and did not answer."""
    import socket

    control = Path(directory) / "control.sock"
    asked = False
    if control.exists():
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(str(control))
                s.sendall(shutdown_request(signal.SIGTERM))
                asked = True
                deadline = time.monotonic() + grace
                while time.monotonic() < deadline and running():
                    time.sleep(0.02)
        except OSError:
            pass  # no control port answering: stop QEMU as before
    if not running():
        return
    if asked:
        print(
            f"rumprun: guest {name} did not shut down within {grace:g} s: "
            "stopping QEMU (writes not yet synced to its disks are lost)",
            file=sys.stderr,
            flush=True,
        )
    stop_process(pid, qmp_socket)


def stop_process(proc_or_pid, qmp_socket=None, grace=STOP_GRACE):
    """End a QEMU: quit over QMP (when it has a socket), then SIGTERM, then
    SIGKILL, each given GRACE seconds."""

    def gone():
        if isinstance(proc_or_pid, subprocess.Popen):
            return proc_or_pid.poll() is not None
        return not pid_alive(proc_or_pid)

    def wait(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if gone():
                return True
            time.sleep(0.02)
        return gone()

    pid = getattr(proc_or_pid, "pid", proc_or_pid)
    if qmp_socket is not None:
        from rumprun import qmp

        if qmp.quit(qmp_socket) and wait(grace):
            return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait(grace):
            return


def _dying_with_parent(argv):
    """(argv, preexec_fn) that start ARGV so it gets SIGKILL when the
    launcher dies (Linux's parent-death signal): through util-linux's
    setpriv where it is installed (a plain spawn, no ctypes), else set in
    the forked child."""
    setpriv = host.which("setpriv")
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "KILL", "--", *argv], None

    def die_with_parent():
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return argv, die_with_parent


def _memfd(name, data=b""):
    """An in-memory file holding DATA; its descriptor (not inheritable)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd


def _read_all(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


class _Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame):
    raise _Interrupted(signum)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# --- running ----------------------------------------------------------------


def run(launch, machine=None):
    """Start LAUNCH's guest on MACHINE (default: the pc); its exit status
    with -i, else 0 once it runs."""
    machine = machine or PC
    machine.check(launch)
    qemu = host.require_program(QEMU)
    accel = machine.choose_accel(launch.platform, qemu)
    check_ports(launch.ports)
    locks = lock_disks(launch.disks)
    claim = None
    try:
        if not registered(launch):
            return _run_interactive(launch, qemu, accel, None, locks, machine)
        from rumprun import guests

        claim = guests.claim(launch.name or guests.new_name(launch.image.path))
        if launch.interactive:
            return _run_interactive(launch, qemu, accel, claim, locks, machine)
        return _start_detached(launch, qemu, accel, claim, locks, machine)
    finally:
        if claim is not None:
            claim.release(remove=launch.interactive)
        for fd in locks:
            os.close(fd)


def check_ports(ports):
    """One sentence for a -P host port QEMU could not listen on (taken, or
    privileged), found before QEMU starts."""
    if not ports:
        return
    import errno
    import socket

    for p in ports:
        kind = socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM
        where = f"{p.host_addr}:{p.host_port}" if p.host_addr else str(p.host_port)
        with socket.socket(socket.AF_INET, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((p.host_addr or "0.0.0.0", p.host_port))
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    why = "is already in use: choose another host port"
                elif e.errno == errno.EACCES:
                    why = "needs root (ports below 1024): choose a port from 1024 up"
                elif e.errno == errno.EADDRNOTAVAIL:
                    why = f"cannot be used: {p.host_addr} is not an address of this host"
                else:
                    why = f"cannot be used ({e.strerror})"
                raise RumprunError(
                    f"-P {where}:{p.guest_port}"
                    f"{'/udp' if p.protocol == 'udp' else ''}: host "
                    f"{p.protocol} port {p.host_port} {why}"
                ) from None


def lock_disks(disks):
    """Lock every -b image for the guest's life: shared when read-only,
    exclusive when read-write, so no two running guests write one image.
    Returns the locked descriptors (QEMU inherits them)."""
    import fcntl

    fds = []
    try:
        for disk in disks:
            fd = os.open(disk.path, os.O_RDONLY | os.O_CLOEXEC)
            fds.append(fd)
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if disk.readonly else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                how = "" if disk.readonly else " (this guest would write it)"
                raise RumprunError(
                    f"-b {disk.path}: the image is in use by another running "
                    f"guest{how}: stop that guest first (rumprun ps lists them)"
                ) from None
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def _spawn(argv, fds, **popen):
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, pass_fds=fds, start_new_session=True, **popen
    )


def _run_interactive(launch, qemu, accel, claim, locks, machine):
    """Run with the console here; return the guest's status.

    The programs' stdin, stdout and stderr are virtio-console ports, each
    one end of a socket pair whose other end QEMU inherits (-chardev
    socket,fd=N): our stdin goes to the guest, its stdout and stderr come
    to ours, apart.  COM1 (QEMU's stdout, a pipe) carries what the kernel
    itself says, relayed to our stderr and scanned for the status line.
    On a machine without the ports (Machine.console_ports) COM1 carries
    the programs' output too, and goes to our stdout.  A fourth pair is
    the control port: on SIGINT, SIGTERM or SIGHUP the launcher asks the
    kernel there to sync and power off (_shut_down_interactive).
    """
    import socket

    from rumprun import clitools, console, output

    if 1 in clitools.CLOSED_AT_START:
        raise output.OutputError("cannot write to standard output: it is closed")
    config_fd = _memfd("rumprun-config", model.kernel_config(launch))
    errors = _memfd("qemu-stderr")  # QEMU's messages, for a failure
    names = [name for name, _ in STREAM_PORTS] + [CONTROL_PORT]
    pairs = {name: socket.socketpair() for name in names if machine.console_ports}
    for ours, theirs in pairs.values():
        ours.set_inheritable(False)
    chardevs = {name: ("socket", {"fd": theirs.fileno()}) for name, (_, theirs) in pairs.items()}
    ports = console_ports(chardevs)
    if CONTROL_PORT in chardevs:
        ports.append((CONTROL_PORT, chardevs[CONTROL_PORT]))
    argv = qemu_command(
        launch,
        qemu,
        accel,
        f"/dev/fd/{config_fd}",
        ("stdio", {"signal": "off"}),
        ports,
        claim.socket if claim else None,
        machine,
    )
    handlers = {s: signal.signal(s, _interrupt) for s in STOP_SIGNALS}
    proc = None
    outputs = []
    try:
        spawned, preexec = _dying_with_parent(argv)
        proc = _spawn(
            spawned,
            _inherited(config_fd, claim, locks)
            + tuple(theirs.fileno() for _, theirs in pairs.values()),
            stdout=subprocess.PIPE,
            stderr=errors,
            preexec_fn=preexec,
        )
        os.close(config_fd)
        config_fd = None
        for _, theirs in pairs.values():
            theirs.close()
        if claim:
            claim.save(launch, proc.pid, argv)
            print(
                f"rumprun: guest {claim.name} is paused: `rumprun cont "
                f"{claim.name}` (or a debugger's continue) starts it",
                file=sys.stderr,
                flush=True,
            )
        outputs = [(pairs[n][0], fd) for n, fd in STREAM_PORTS[1:] if n in pairs]
        if pairs:
            status = console.relay(proc.stdout.fileno(), outputs, (0, pairs["rumprun.stdin"][0]))
        else:
            status = console.relay(proc.stdout.fileno(), err_fd=1)
        code = proc.wait()
    except _Interrupted as e:
        control = pairs[CONTROL_PORT][0] if CONTROL_PORT in pairs else None
        if proc is None or not _shut_down_interactive(proc, control, outputs, e.signum):
            for s in STOP_SIGNALS:  # stopping QEMU is not interrupted again
                signal.signal(s, signal.SIG_IGN)
            _stop(proc, claim)
        return 128 + e.signum
    except BrokenPipeError:
        # Whoever read the console went away (| head): stop quietly.
        _stop(proc, claim)
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
        return 128 + signal.SIGPIPE
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        if config_fd is not None:
            os.close(config_fd)
        for pair in pairs.values():
            for end in pair:
                end.close()
        if proc is not None:
            if proc.poll() is None:
                _stop(proc, claim)
            proc.stdout.close()
        said = _read_all(errors).decode(errors="replace")
        os.close(errors)
    return console.exit_status(status, code, said)


def _shut_down_interactive(proc, control, outputs, signum):
    """The launcher got SIGNUM: ask the guest on its CONTROL port to sync
    and power off, and relay what it still says (OUTPUTS: the programs'
    streams) until QEMU ends, at most SHUTDOWN_GRACE seconds.  Whether it
    did; if not (no control port, no answer, the signal again), one
    sentence on stderr, and the caller stops QEMU."""
    from rumprun import console

    name = signal.Signals(signum).name
    previous = signal.signal(signal.SIGALRM, _interrupt)
    try:
        try:
            if control is None:
                raise OSError("no control port")
            control.sendall(shutdown_request(signum))
        except OSError:
            print(f"\nrumprun: interrupted ({name}): QEMU stopped", file=sys.stderr, flush=True)
            return False
        signal.setitimer(signal.ITIMER_REAL, SHUTDOWN_GRACE)
        try:
            console.relay(proc.stdout.fileno(), [(s, fd) for s, fd in outputs if s.fileno() >= 0])
        except BrokenPipeError:
            # Whoever read the console went away: the guest's last words
            # go nowhere, its shutdown goes on.
            devnull = os.open(os.devnull, os.O_WRONLY)
            for fd in (1, 2):
                os.dup2(devnull, fd)
        proc.wait()
        return True
    except _Interrupted as again:
        if again.signum == signal.SIGALRM:
            why = f"the guest did not shut down within {SHUTDOWN_GRACE:g} s of {name}"
        else:
            why = f"interrupted again ({signal.Signals(again.signum).name})"
        print(
            f"\nrumprun: {why}: QEMU stopped (writes not yet synced to its disks are lost)",
            file=sys.stderr,
            flush=True,
        )
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stop(proc, claim):
    if proc is not None:
        stop_process(proc, claim.socket if claim else None)


def _inherited(config_fd, claim, locks):
    """The descriptors QEMU inherits: the configuration, and the locks it
    holds for the guest's life (its name, its disks)."""
    return (config_fd, *((claim.lock_fd,) if claim else ()), *locks)


def _start_detached(launch, qemu, accel, claim, locks, machine):
    """Start the guest in the background under CLAIM; print its handle."""
    from rumprun import guests, output, qmp

    config_fd = _memfd("rumprun-config", model.kernel_config(launch))
    directory = claim.directory
    argv = qemu_command(
        launch,
        qemu,
        accel,
        f"/dev/fd/{config_fd}",
        ("file", {"path": directory / "console.log"}),
        control_ports(directory, machine),
        claim.socket,
        machine,
    )
    proc = None
    try:
        with open(directory / "qemu.log", "wb") as log:
            proc = _spawn(argv, _inherited(config_fd, claim, locks), stdout=log, stderr=log)
        os.close(config_fd)
        config_fd = None
        if not qmp.wait_ready(claim.socket, alive=lambda: proc.poll() is None) and not (
            proc.poll() is not None and guests.console_status(directory) is not None
        ):
            # (A short program may run to its end before the monitor first
            # answers: its console's status line says it did start.)
            said = " ".join((directory / "qemu.log").read_text(errors="replace").split())[:500]
            raise RumprunError(f"QEMU did not start (it said: {said or 'nothing'})")
        claim.save(launch, proc.pid, argv)
        output.write_stdout(f"{claim.name}\n")
    except BaseException:
        if config_fd is not None:
            os.close(config_fd)
        if proc is not None and proc.poll() is None:
            stop_process(proc, claim.socket)
        claim.release(remove=True)
        raise
    return 0
