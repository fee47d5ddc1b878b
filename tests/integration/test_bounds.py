"""Pre-login bounds: line length, literal size, tag length, connection count, idle time, bad-command count.
Each one ends in a clear BAD or BYE, and the server keeps serving."""

from __future__ import annotations

import select
import socket
import ssl
import time

import pytest

import helpers
from helpers import RawIMAP


def assert_still_serving(srv) -> None:
    with RawIMAP(srv.imap_port) as c:
        assert c.greeting.startswith("* OK"), c.greeting
        _, done = c.run("z", "NOOP")
        assert done.startswith("z OK"), done
    assert srv.proc.poll() is None, "server died"


def send_until_answered(c: RawIMAP, data: bytes, chunk: int = 4096) -> None:
    """Writes `data` in chunks, stopping as soon as the server says something (so that we do not keep writing
    into a socket the server has closed, which would turn its BYE into a reset)."""
    for i in range(0, len(data), chunk):
        r, _, _ = select.select([c.sock], [], [], 0)
        if r:
            return
        try:
            c.sock.sendall(data[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            return


def test_overlong_line_gets_bye(server):
    with RawIMAP(server.imap_port) as c:
        send_until_answered(c, b"a NOOP " + b"x" * 100_000 + b"\r\n")
        try:
            lines = c.read_until_closed(timeout=15)
        except ConnectionResetError:
            pytest.fail("connection reset without a BYE")
        assert any(l.startswith("* BYE") for l in lines), lines
    assert_still_serving(server)


def test_overlong_line_after_tls_gets_bye(server):
    with RawIMAP(server.imaps_port, tls=True) as c:
        send_until_answered(c, b"a NOOP " + b"x" * 100_000 + b"\r\n", chunk=8192)
        lines = c.read_until_closed(timeout=15)
        assert any(l.startswith("* BYE") for l in lines), lines
    assert_still_serving(server)


def test_big_synchronizing_literal_before_login_is_refused(server):
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd("a LOGIN {100000}")
        line = c.readline()
        assert not line.startswith("+"), "server invited a 100000-byte literal before login"
        assert line.startswith("a BAD"), line
    with RawIMAP(server.imap_port) as c:
        c.cmd("a LOGIN {100000}")
        line = c.readline()
        assert line.startswith("a BAD"), line
    assert_still_serving(server)


def test_small_literal_login_works(server):
    """Literals within the bound are fine (a password with a quote in it is often sent as one)."""
    u = server.users["sha512"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd(f"a LOGIN {u.name} {{{len(u.password)}}}")
        assert c.readline().startswith("+")
        c.cmd(u.password)
        _, done = c.read_tagged("a")
        assert done.startswith("a OK"), done


def test_largest_id_before_login_is_answered(server):
    """RFC 2971 §3.3 allows 30 pairs of 30-octet names and 1024-octet values (about 31 KiB on one line): answered
    with OK, never a BYE; one pair more is a BAD and the connection goes on."""
    pairs = " ".join(f'"{i:030d}" "{"v" * 1024}"' for i in range(30))
    with RawIMAP(server.imaps_port, tls=True) as c:
        lines, done = c.run("a", f"ID ({pairs})")
        assert done.startswith("a OK"), done
        assert any(l.startswith("* ID") for l in lines), lines
        _, done = c.run("b", f'ID ({pairs} "x" "y")')
        assert done.startswith("b BAD"), done
        _, done = c.run("c", "NOOP")
        assert done.startswith("c OK"), done


def test_one_synchronizing_literal_too_many_is_bad(server):
    """Before login a command holds 4 literals; a fifth synchronizing one is refused unsent and the session goes on."""
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd('a ID ("k1" {1}')
        for i in range(4):
            assert c.readline().startswith("+")
            c.cmd(f'v "k{i + 2}" {{1}}')
        line = c.readline()
        assert line.startswith("a BAD [TOOBIG]"), line
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK"), done


def test_long_tag_is_bad(server):
    with RawIMAP(server.imap_port) as c:
        tag = "t" * 200
        c.cmd(f"{tag} NOOP")
        line = c.readline()
        assert " BAD" in line and (line.startswith("* BAD") or line.startswith(tag + " BAD")), line
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK"), done


def test_too_many_invalid_commands(server):
    with RawIMAP(server.imap_port) as c:
        lines = []
        for i in range(11):
            try:
                c.cmd(f"g{i} XYZZY{i}")
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                line = c.readline()
            except ConnectionError:
                break
            lines.append(line)
            if line.startswith("* BYE"):
                break
            assert line.startswith(f"g{i} BAD"), line
        if not any(l.startswith("* BYE") for l in lines):
            lines += c.read_until_closed(timeout=10)
        assert "* BYE Too many invalid IMAP commands." in lines, lines
    assert_still_serving(server)


@pytest.fixture(scope="module")
def limited(server_factory):
    return server_factory.start(name="limits", service_extra="  client_limit = 5\n", extra="login_timeout = 2 secs")


def test_client_limit(limited):
    conns = []
    try:
        for _ in range(5):
            c = RawIMAP(limited.imap_port)
            assert c.greeting.startswith("* OK"), c.greeting
            conns.append(c)
        # Issue 14: the newcomer gets the slot of the oldest idle pre-login connection, which is told so.
        conns.append(RawIMAP(limited.imap_port))
        assert conns[-1].greeting.startswith("* OK"), conns[-1].greeting
        assert conns[0].read_until_closed(timeout=10) == ["* BYE Connection queue full"]
        # Over implicit TLS too: the sixth is greeted after its handshake, the next oldest leaves.
        with RawIMAP(limited.imaps_port, tls=True, greeting=False) as extra_tls:
            assert extra_tls.readline().startswith("* OK")
            assert conns[1].read_until_closed(timeout=10) == ["* BYE Connection queue full"]
    finally:
        for c in conns:
            c.close()


def test_login_timeout(limited):
    with RawIMAP(limited.imap_port) as c:
        start = time.monotonic()
        lines = c.read_until_closed(timeout=15)
        elapsed = time.monotonic() - start
    assert any(l.startswith("* BYE") for l in lines), lines
    assert elapsed >= 1.5, f"idle connection closed after {elapsed:.1f}s, before login_timeout (2 secs)"


def test_login_timeout_also_after_starttls(limited):
    with RawIMAP(limited.imap_port) as c:
        c.starttls()
        lines = c.read_until_closed(timeout=15)
    assert any(l.startswith("* BYE") for l in lines), lines


def test_limits_server_still_serves(limited):
    def ok():
        with RawIMAP(limited.imap_port) as c:
            return c.greeting.startswith("* OK")

    helpers.wait_for(ok, timeout=10, what="server accepting after the limit tests")


def test_login_timeout_covers_tls_handshake(limited):
    """A client that connects to the IMAPS port and never sends a ClientHello is dropped by login_timeout too."""
    with socket.create_connection(("127.0.0.1", limited.imaps_port), timeout=15) as s:
        start = time.monotonic()
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            pytest.fail("a connection that never started TLS was still open after 15 s (login_timeout = 2 secs)")
        assert data == b"", data
    assert time.monotonic() - start >= 1.5


def test_over_limit_connection_without_handshake_is_closed(limited):
    """Past client_limit, a connection on the IMAPS port that never starts TLS must not be held open."""
    conns = [RawIMAP(limited.imap_port) for _ in range(5)]
    try:
        with socket.create_connection(("127.0.0.1", limited.imaps_port), timeout=15) as s:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                pytest.fail("an over-limit IMAPS connection that never started TLS was still open after 15 s")
            assert data == b"", data
    finally:
        for c in conns:
            c.close()
