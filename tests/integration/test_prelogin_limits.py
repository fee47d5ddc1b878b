"""Issue 14, item 3: limits on connections that have not logged in yet. All IPs together (`client_limit`: when it
runs out, the oldest idle pre-login connection is dropped, not the newcomer), per IP at once
(`login_max_unauthenticated_per_ip`), per IP per second (`login_max_connection_rate_per_ip`), a TLS handshake
timeout (`login_tls_handshake_timeout`), and the memory a burst took given back afterwards.

Loopback is exempt from the per-IP limits by default (`login_ip_limits_exempt_networks`, for a local webmail), so the
first server shows the shared limit with 1,000 idle connections from 127.0.0.1; the second clears the exemption to
show the per-IP limits from 127.0.0.x addresses."""

from __future__ import annotations

import imaplib
import socket
import ssl
import statistics
import time

import pytest

import helpers
from helpers import IMAPFrom, POP3From  # noqa: F401
from helpers import MAIL_PASSWORD

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def defaults(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "prelogin-defaults",
                                     users=helpers.make_mail_users(["u01", "u02"])) as server:
        yield server


PER_IP = """\
login_ip_limits_exempt_networks =
login_max_unauthenticated_per_ip = 5
login_max_connection_rate_per_ip = 4
login_tls_handshake_timeout = 1 sec
"""


@pytest.fixture(scope="module")
def per_ip(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "prelogin-per-ip",
                                     users=helpers.make_mail_users(["u01", "u02"]), extra=PER_IP) as server:
        yield server


def connect(server, source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.imap_port), timeout, source_address=(source, 0))


def greeting(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def rest(sock: socket.socket) -> bytes:
    """Everything until the server closes."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def login_seconds(server, source: str, user: str) -> float:
    start = time.monotonic()
    c = IMAPFrom(source, server)
    c.login(user, MAIL_PASSWORD)
    took = time.monotonic() - start
    c.logout()
    return took


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_a_thousand_idle_connections_from_one_ip_do_not_lock_out_another(defaults):
    """client_limit = 1000 (the default): each newcomer takes the oldest idle pre-login connection's slot."""
    idle = []
    try:
        for _ in range(1000):
            idle.append(connect(defaults))
        for s in idle:
            assert greeting(s).startswith(b"* OK"), "all 1,000 fit in client_limit"
        took = [login_seconds(defaults, "127.0.0.2", "u01") for _ in range(5)]
        assert statistics.median(took) < 1.0, took
        # The oldest idle ones made room, told so (Dovecot's text); the newest are still there. (A connection still
        # closing when the burst began may have given its slot first, so look among the oldest few.)
        told = []
        for s in idle[:10]:
            s.settimeout(0.5)
            try:
                told.append(rest(s))
            except TimeoutError:
                told.append(None)
        assert b"* BYE Connection queue full\r\n" in told, told
        idle[-1].sendall(b"a NOOP\r\n")
        assert greeting(idle[-1]).startswith(b"a OK")
    finally:
        for s in idle:
            s.close()
    assert "Disconnected: Connection queue full" in defaults.log()


def connections_left(server) -> int:
    r = helpers.run([server.binary, "adm", "who", "--all", "-c", str(server.config)], timeout=30)
    return len([line for line in r.stdout.splitlines()[1:] if "\timap\t" in line])


def test_the_memory_of_a_burst_is_given_back(defaults):
    helpers.wait_for(lambda: connections_left(defaults) == 0, timeout=30, what="the previous burst gone")
    time.sleep(6)  # housekeeping (every 5 s) after it
    base = rss_kib(defaults.login_pid)
    idle = [connect(defaults) for _ in range(1000)]
    for s in idle:
        greeting(s)
    peak = rss_kib(defaults.login_pid)
    for s in idle:
        s.close()
    helpers.wait_for(lambda: connections_left(defaults) == 0, timeout=30, what="the burst gone")
    # Housekeeping runs every 5 s; allow a few rounds on a loaded machine.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and rss_kib(defaults.login_pid) - base >= (peak - base) * 0.6:
        time.sleep(1)
    after = rss_kib(defaults.login_pid)
    assert peak - base > 1000, f"1,000 connections should cost something: base {base} KiB, peak {peak} KiB"
    assert after - base < (peak - base) * 0.6, f"base {base} KiB, peak {peak} KiB, after {after} KiB"


def test_per_ip_limit_refuses_the_ips_newcomer_only(per_ip):
    held = [connect(per_ip, "127.0.0.3") for _ in range(5)]
    try:
        for s in held:
            assert greeting(s).startswith(b"* OK")
        with connect(per_ip, "127.0.0.3") as extra:
            assert rest(extra) == b"* BYE Too many connections from your address.\r\n"
        with connect(per_ip, "127.0.0.4") as other:
            assert greeting(other).startswith(b"* OK"), "another address is not limited"
        # A logged-in connection no longer counts.
        held[0].sendall(b"a STARTTLS\r\n")
        assert greeting(held[0]).startswith(b"a OK")
        tls = helpers.client_context(per_ip.tls.ca).wrap_socket(held[0], server_hostname="localhost")
        held[0] = tls
        tls.sendall(f"b LOGIN u01 {MAIL_PASSWORD}\r\n".encode())
        assert b"b OK" in greeting(tls)
        time.sleep(0.5)  # a token for the rate limit
        with connect(per_ip, "127.0.0.3") as again:
            assert greeting(again).startswith(b"* OK")
    finally:
        for s in held:
            s.close()
    assert "Disconnected: Too many unauthenticated connections from the IP" in per_ip.log()


def test_connection_rate_per_ip(per_ip):
    """4 a second, bursts of 8: a fast loop of 30 connections is cut off, with one log line; later it may again."""
    before = len(per_ip.log().splitlines())
    accepted = refused = 0
    start = time.monotonic()
    for _ in range(30):
        with connect(per_ip, "127.0.0.5") as s:
            line = greeting(s)
            if line.startswith(b"* OK"):
                accepted += 1
            else:
                assert line == b"* BYE Too many connections from your address, slow down.\r\n", line
                refused += 1
    elapsed = time.monotonic() - start
    assert refused >= 1 and accepted <= 8 + 4 * elapsed + 1, (accepted, refused, elapsed)
    with connect(per_ip, "127.0.0.6") as s:
        assert greeting(s).startswith(b"* OK"), "another address is not slowed"
    time.sleep(1.0)
    with connect(per_ip, "127.0.0.5") as s:
        assert greeting(s).startswith(b"* OK"), "a second later the address may connect again"
    lines = [line for line in per_ip.log().splitlines()[before:] if "127.0.0.5" in line]
    assert len([line for line in lines if "over login_max_connection_rate_per_ip" in line]) == 1, lines
    assert not [line for line in lines if "slow down" in line or "rate limit" in line], "one line, not one each"


def test_tls_handshake_timeout(per_ip):
    """login_timeout is 1 min; login_tls_handshake_timeout = 1 sec drops a client that never finishes TLS."""
    with socket.create_connection(("127.0.0.1", per_ip.imaps_port), timeout=30, source_address=("127.0.0.7", 0)) as s:
        start = time.monotonic()
        assert rest(s) == b""
        assert 0.9 <= time.monotonic() - start < 20
    with connect(per_ip, "127.0.0.8") as s:
        greeting(s)
        s.sendall(b"a STARTTLS\r\n")
        assert greeting(s).startswith(b"a OK")
        start = time.monotonic()
        try:
            assert rest(s) == b""
        except ConnectionResetError:
            pass
        assert 0.9 <= time.monotonic() - start < 20
    assert "TLS handshake timed out" in per_ip.log()
