"""Networking in QEMU, as a user sees it: programs from tests/net built with
rumprun-cc, baked once per session, booted with rumprun qemu -i; each test
asserts on what the guest printed and on its exit status.

Images (each baked once):
  nettest.bin  `nettest CASE`: loopback TCP/UDP (127.0.0.1, ::1), many
               connections, AF_UNIX, epoll, no interface (tests/net/nettest.c);
  peers.bin    two programs, peer_server and peer_client, talking over
               AF_UNIX and 127.0.0.1 inside one image.

The kernel side is also tested in a process: tests/kernel/net_*.c through
test_kernel_posix.py.
"""

import pytest

from conftest import ROOT
from test_runtime import boot

SOURCES = ROOT / "tests" / "net"


@pytest.fixture(scope="session")
def nettest_bin(bake_image, tmp_path_factory):
    return bake_image(tmp_path_factory.mktemp("nettest"), "nettest.bin",
                      {"nettest": [SOURCES / "nettest.c"]},
                      cc_flags=("-O2", "-lpthread"))


@pytest.fixture(scope="session")
def peers_bin(bake_image, tmp_path_factory):
    return bake_image(tmp_path_factory.mktemp("peers"), "peers.bin",
                      {"peer_server": [SOURCES / "peer_server.c"],
                       "peer_client": [SOURCES / "peer_client.c"]})


def run_case(run, image, case, *args, launch=(), timeout=120):
    """Boot `nettest CASE ARGS`; it must report no failure and exit 0."""
    result, said = boot(run, *launch, image, "--", case, *args,
                        timeout=timeout)
    assert "FAIL" not in result.stdout, said
    assert f"nettest {case}: 0 failures" in result.stdout, said
    assert result.returncode == 0, said
    return result.stdout


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
    assert ("rumprun: net: no network interface is configured: only "
            "loopback (127.0.0.1, ::1) works") in out


def test_two_programs_talk_over_unix_and_loopback(run, peers_bin):
    result, said = boot(run, "--rc", "& peer_server", "--rc", "peer_client",
                        peers_bin)
    assert 'server got "hello" over AF_UNIX' in result.stdout, said
    assert 'server got "hi" over TCP' in result.stdout, said
    assert result.returncode == 0, said
