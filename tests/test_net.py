"""Networking in QEMU, as a user sees it: programs from tests/apps/net built with
rumprun-cc, baked once per session, booted with rumprun qemu -i; each test
asserts on what the guest printed and on its exit status.

Images (each baked once):
  nettest.bin  `nettest CASE`: loopback TCP/UDP (127.0.0.1, ::1), many
               connections, AF_UNIX, epoll, no interface, and the outside
               world through QEMU user networking (tests/apps/net/nettest.c);
  httpd.bin    the small HTTP/1.1 server (tests/apps/net/httpd.c), answering
               curl and Python clients on the host through port forwarding;
  peers.bin    two programs, peer_server and peer_client, talking over
               AF_UNIX and 127.0.0.1 inside one image;
  plain.bin    programs written as an outsider writes them, without the
               unikernel in mind (each builds and runs on Linux as it is):
               plain_httpd (poll(2), keep-alive, uploads), plain_client
               (getaddrinfo, TCP and UDP), select_client (select(2),
               non-blocking connects).

Under QEMU user networking the host is 10.0.2.2 (its 127.0.0.1), the DNS
forwarder 10.0.2.3, and DHCP gives the guest 10.0.2.15/24.  Host servers
(HTTP, UDP echo) run in threads of the test.  The guest's interfaces,
their configuration and published ports are given as users give them:
-I, -W and -P; configuration the launcher has no flag for (the "dns" key,
entries it would refuse) goes to QEMU directly (boot_with_config).

The kernel side is also tested in a process: tests/kernel/net_*.c through
test_kernel_posix.py.
"""

import json
import re
import shlex
import socket
import subprocess
import threading
import time

import pytest

from conftest import ROOT, Page, boot, free_port

pytestmark = pytest.mark.qemu  # the tests here boot guests

SOURCES = ROOT / "tests" / "apps" / "net"


@pytest.fixture(scope="session")
def peers_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("peers"),
        "peers.bin",
        {"peer_server": [SOURCES / "peer_server.c"], "peer_client": [SOURCES / "peer_client.c"]},
    )


@pytest.fixture(scope="session")
def plain_bin(bake_image, tmp_path_factory):
    return bake_image(
        tmp_path_factory.mktemp("plain"),
        "plain.bin",
        {
            name: [SOURCES / f"{name}.c"]
            for name in ("plain_httpd", "plain_client", "select_client")
        },
        cc_flags=("-O2",),
    )


def run_case(run, image, case, *args, launch=(), timeout=120):
    """Boot `nettest CASE ARGS`; it must report no failure and exit 0."""
    result, said = boot(run, *launch, image, "--", case, *args, timeout=timeout)
    assert "FAIL" not in result.stdout, said
    assert f"nettest {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    # The program's output, then the kernel's lines (COM1, on stderr).
    return result.stdout + result.stderr


def test_loopback_tcp_udp_ipv4_ipv6(run, nettest_bin):
    out = run_case(run, nettest_bin, "loopback")
    assert "TCP over 127.0.0.1 works" in out
    assert "TCP over ::1 works" in out
    assert "UDP works" in out
    assert "closed port refused" in out


def test_many_connections_over_loopback(run, nettest_bin):
    out = run_case(run, nettest_bin, "many", "1000", "200")
    assert "1000 sequential connections" in out
    assert "200 concurrent connections" in out


def test_af_unix(run, nettest_bin):
    out = run_case(run, nettest_bin, "unix")
    assert "descriptor passing work" in out


def test_epoll(run, nettest_bin):
    out = run_case(run, nettest_bin, "epoll")
    assert "2000 descriptors work" in out


def test_no_interface_still_has_loopback(run, nettest_bin):
    out = run_case(run, nettest_bin, "noif")
    assert (
        "rumprun: net: no network interface is configured: only loopback (127.0.0.1, ::1) works"
    ) in out


def test_two_programs_talk_over_unix_and_loopback(run, peers_bin):
    result, said = boot(run, "--rc", "& peer_server", "--rc", "peer_client", peers_bin)
    assert 'server got "hello" over AF_UNIX' in result.stdout, said
    assert 'server got "hi" over TCP' in result.stdout, said
    assert result.returncode == 0, said


# ---- with a network interface --------------------------------------------

DHCP = "net0,inet,dhcp"
STATIC = "net0,inet,static,10.0.2.15/24,10.0.2.2"
SLAAC = "net0,inet6,auto"


def nic_args(net=(DHCP,), nic="vioif", backend=None, forwards=()):
    """The launcher's flags for one interface net0 (-I: NIC is vioif or
    e1000, BACKEND QEMU -net/-netdev text, default user networking), its
    -W configurations NET, and -P for each (host port, guest port) pair."""
    args = ["-I", ",".join(["net0", nic] + ([backend] if backend else []))]
    for w in net:
        args += ["-W", w]
    for host, guest_port in forwards:
        args += ["-P", f"127.0.0.1:{host}:{guest_port}"]
    return args


def boot_with_config(run, image, flags, argv, extra, timeout=120):
    """Boot IMAGE with the QEMU command `rumprun -D qemu -i FLAGS` prints,
    but with the JSON configuration's keys updated with EXTRA (keys the
    launcher has no flag for, or entries it would refuse): (status from the
    console's last line, what the guest printed)."""
    plan = run("rumprun", "-D", "qemu", "-i", *flags, image, "--", *argv, check=0)
    # -D prints the command with the configuration as a here-document on
    # fd 3 (fw_cfg); pass the edited configuration on the command line.
    command, config_text = plan.stdout.strip().splitlines()[-3:-1]
    args = shlex.split(command.split(" 3<<")[0])
    i = args.index("-fw_cfg")
    config = json.loads(config_text)
    config.update(extra)
    args[i : i + 2] = ["-append", json.dumps(config)]
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    # The kernel's lines are on COM1, which the plan sends to stderr.
    said = result.stdout + result.stderr
    m = re.search(r"=== rumprun: exit status (\d+) ===", said)
    return (int(m.group(1)) if m else None), said


def net_case(run, image, case, *args, **kw):
    """Boot `nettest CASE ARGS` with a NIC (nic_args KW); it must report no
    failure."""
    result, said = boot(run, *nic_args(**kw), image, "--", case, *args, timeout=120)
    assert "FAIL" not in result.stdout, said
    assert f"nettest {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def host_udp_echo():
    """A UDP echo server on the host's 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def echo():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_dhcp_then_fetch_from_a_host_server(run, nettest_bin, host_http):
    out = net_case(run, nettest_bin, "fetch", "10.0.2.2", str(host_http), "/")
    assert "rumprun: net: vioif0: 10.0.2.15/24, gateway 10.0.2.2 (DHCP)" in out
    assert "fetch: HTTP/1.0 200 OK" in out
    assert f"fetch: body {len(Page.body)} bytes: served by the host" in out


def test_udp_round_trip_with_the_host(run, nettest_bin, host_udp_echo):
    out = net_case(run, nettest_bin, "udp", "10.0.2.2", str(host_udp_echo), net=[STATIC])
    assert "udp: udp round trip" in out


def test_closed_host_port_is_refused(run, nettest_bin):
    net_case(run, nettest_bin, "refused", "10.0.2.2", str(free_port()))


def test_non_blocking_connect_with_poll_and_epoll(run, nettest_bin, host_http):
    out = net_case(run, nettest_bin, "nbconnect", "10.0.2.2", str(host_http))
    assert "nbconnect: with poll: HTTP/1.0 200 OK" in out
    assert "nbconnect: with epoll: HTTP/1.0 200 OK" in out


def test_static_configuration_and_dns_key(run, nettest_bin):
    status, out = boot_with_config(
        run, nettest_bin, nic_args([STATIC]), ["netinfo"], {"dns": ["10.0.2.3", "fec0::3"]}
    )
    assert "nettest netinfo: 0 failures" in out and status == 0, out
    assert "rumprun: net: vioif0: 10.0.2.15/24, gateway 10.0.2.2 (static)" in out
    assert "netinfo: vioif0 10.0.2.15 index 2" in out
    assert "netinfo: resolv.conf: nameserver 10.0.2.3" in out
    assert "netinfo: resolv.conf: nameserver fec0::3" in out


def test_dhcp_name_server_and_ipv6_autoconfiguration(run, nettest_bin):
    out = net_case(run, nettest_bin, "netinfo", net=[DHCP, SLAAC])
    assert "netinfo: resolv.conf: nameserver 10.0.2.3" in out
    assert "rumprun: net: vioif0: fec0::5054:ff:fe12:3456/64 (autoconfigured)" in out


def test_names_resolve_through_musl_and_the_dhcp_name_server(run, nettest_bin):
    # QEMU's forwarder asks the host's resolver, which the build's fetch of
    # Debian sources needs too.
    try:
        expected = {
            a[4][0]
            for a in socket.getaddrinfo("deb.debian.org", 80, socket.AF_INET, socket.SOCK_STREAM)
        }
    except OSError as e:
        pytest.fail(f"the host itself cannot resolve deb.debian.org: {e}")
    out = net_case(run, nettest_bin, "resolve", "deb.debian.org")
    line = [ln for ln in out.splitlines() if ln.startswith("resolve:")][0]
    assert line.split()[-1] in expected, out


def test_e1000(run, nettest_bin, host_http):
    out = net_case(
        run, nettest_bin, "fetch", "10.0.2.2", str(host_http), "/", nic="e1000", backend="-net user"
    )
    assert "rumprun: net: wm0: 10.0.2.15/24" in out
    assert "fetch: HTTP/1.0 200 OK" in out


def test_no_dhcp_server_is_said_and_the_program_still_runs(run, nettest_bin):
    # A NIC on a QEMU hub with nothing else on it: no DHCP server answers.
    out = net_case(run, nettest_bin, "loopback", backend="-netdev hubport,hubid=0")
    assert (
        "rumprun: net: vioif0: no DHCP lease within 10 s; going on without "
        "an address (DHCP keeps trying)"
    ) in out


def test_a_configured_interface_that_is_missing(run, nettest_bin):
    status, out = boot_with_config(
        run,
        nettest_bin,
        nic_args(),
        ["noif"],
        {"net": [{"if": "vioif7", "type": "inet", "method": "dhcp"}]},
    )
    assert (
        'rumprun: bad configuration: "net" names interface vioif7, which this machine does not have'
    ) in out
    assert status == 1, out


def test_a_bad_net_entry(run, nettest_bin):
    status, out = boot_with_config(
        run,
        nettest_bin,
        nic_args(),
        ["noif"],
        {
            "net": [
                {
                    "if": "vioif0",
                    "type": "inet",
                    "method": "static",
                    "addr": "10.0.2.15",
                    "mask": "33",
                }
            ]
        },
    )
    assert 'rumprun: bad configuration: "net" must be entries whose "mask"' in out
    assert status == 1, out


# ---- servers in the guest, clients on the host -----------------------------


def http_get(port, path="/", close=True):
    """One request to the guest's server; (status line, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        hdr = "Connection: close\r\n" if close else ""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{hdr}\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def test_http_server_answers_curl_through_port_forwarding(guest, httpd_bin):
    port = free_port()
    # -P alone: the launcher gives the guest a virtio NIC with DHCP.
    g = guest(httpd_bin, ["-n", "3"], ["-P", f"127.0.0.1:{port}:80"])
    g.wait_for("httpd: listening on port 80")
    for path in ("/", "/index.html", "/bytes/100000"):
        out = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{size_download}",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        size = "100000" if path.startswith("/bytes") else "612"
        assert out.stdout == f"200 {size}", out
    status, said = g.finish()
    assert status == 0, said


def test_1000_sequential_and_200_concurrent_connections_with_epoll(guest, httpd_bin):
    port = free_port()
    g = guest(httpd_bin, ["-e", "-c", "1200"], nic_args(forwards=[(port, 80)]))
    g.wait_for("httpd: listening on port 80 (epoll)")
    ok = sum(http_get(port)[0] == "HTTP/1.1 200 OK" for _ in range(1000))
    assert ok == 1000
    # QEMU's port forwarding listens with a backlog of one: connections
    # opened faster than it accepts them wait for the host's SYN
    # retransmission (a second each); 5 ms apart they do not.
    socks = []
    for _ in range(200):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=60))
        time.sleep(0.005)
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answers = 0
    for s in socks:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        answers += data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\n")
        s.close()
    assert answers == 200
    status, said = g.finish()
    assert status == 0, said


# ---- programs written without the unikernel in mind ---------------------------


def test_plain_poll_server_transfers_big_bodies_both_ways(guest, plain_bin):
    """-I/-W as rumprun had them, and -P on top: a 10 MB answer and three
    20 MB uploads, every byte checked, then the server still answers.
    (Uploads once stalled for good in one run of three: a virtio
    notification lost under TCG, see virtq_fence.)"""
    port = free_port()
    uploads = 3
    g = guest(
        plain_bin,
        [],
        ["--rc", f"plain_httpd 80 {3 + uploads}"]
        + nic_args(backend="-net user", forwards=[(port, 80)]),
    )
    g.wait_for("plain_httpd: ready on 80")
    status, body = http_get(port, "/")
    assert status == "HTTP/1.1 200 OK" and b"hello from plain_httpd" in body
    size = 10_000_000
    status, body = http_get(port, f"/big?{size}")
    assert status == "HTTP/1.1 200 OK" and len(body) == size
    assert body == (bytes(range(ord("a"), ord("z") + 1)) * (size // 26 + 1))[:size]
    upload = bytes((i * 7 + i // 4096) & 0xFF for i in range(20_000_000))
    for _ in range(uploads):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(
                f"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Content-Length: {len(upload)}\r\n\r\n".encode()
                + upload
            )
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.split(b"\r\n\r\n", 1)[1] == f"{len(upload)} {sum(upload)}\n".encode()
    assert http_get(port, "/")[0] == "HTTP/1.1 200 OK"
    status, said = g.finish()
    assert f"plain_httpd: served {3 + uploads} requests" in said and status == 0, said


def test_plain_tcp_and_udp_client(run, plain_bin, host_http, host_udp_echo):
    result, said = boot(
        run,
        "--rc",
        f"plain_client 10.0.2.2 {host_http} / {host_udp_echo}",
        *nic_args(backend="-net user"),
        plain_bin,
        timeout=120,
    )
    got = re.search(r"plain_client: tcp: 'HTTP/1.0 200 OK', (\d+) bytes", result.stdout)
    assert got and int(got.group(1)) > len(Page.body), said
    assert "plain_client: udp: got 'ping-udp'" in result.stdout, said
    assert result.returncode == 0, said


def test_select_client_with_50_connections_at_once(run, plain_bin, host_http):
    # -P alone gives the guest its NIC.
    result, said = boot(
        run,
        "--rc",
        f"select_client 10.0.2.2 {host_http} 50",
        "-P",
        f"127.0.0.1:{free_port()}:80",
        plain_bin,
        timeout=120,
    )
    assert "select_client: 50 connections answered" in result.stdout, said
    total = int(re.search(r"answered, (\d+) bytes", result.stdout).group(1))
    assert total > 50 * len(Page.body), said
    assert result.returncode == 0, said
