"""IMAP in the not-authenticated state: greeting, capabilities, STARTTLS, LOGIN, AUTHENTICATE, failures."""

from __future__ import annotations

import imaplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers
from helpers import RawIMAP, b64, capabilities_from, plain_b64

GOOD_USERS = ["sha512", "argon", "blf", "doveadm"]
AUTH_FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."


def imap_plain(server) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=helpers.READ_TIMEOUT)
    return c


def imap_ssl(server) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                             timeout=helpers.READ_TIMEOUT)


# ---------------------------------------------------------------------------------------------------- plaintext


def test_greeting_and_capabilities_before_tls(server):
    with RawIMAP(server.imap_port) as c:
        assert c.greeting.startswith("* OK [CAPABILITY "), c.greeting
        assert c.greeting.endswith("] Aerie ready."), c.greeting
        greeting_caps = capabilities_from(c.greeting)
        untagged, done = c.run("a", "CAPABILITY")
        assert done.startswith("a OK"), done
        caps = capabilities_from([l for l in untagged if l.upper().startswith("* CAPABILITY")][0])
    for cap in ("IMAP4REV2", "IMAP4REV1", "STARTTLS", "LOGINDISABLED", "SASL-IR", "ID", "ENABLE", "LITERAL+"):
        assert cap in caps, f"{cap} missing from {caps}"
    assert not [c for c in caps if c.startswith("AUTH=")], f"AUTH= offered before TLS: {caps}"
    assert {"IMAP4REV2", "IMAP4REV1", "STARTTLS", "LOGINDISABLED"} <= greeting_caps, greeting_caps


def test_imaplib_sees_logindisabled(server):
    c = imap_plain(server)
    try:
        assert "LOGINDISABLED" in c.capabilities
        assert "STARTTLS" in c.capabilities
        typ, _ = c.noop()
        assert typ == "OK"
    finally:
        c.logout()


def test_login_before_tls_is_refused(server):
    u = server.users["sha512"]
    with RawIMAP(server.imap_port) as c:
        _, done = c.run("a", f'LOGIN {u.name} "{u.password}"')
        assert done.startswith("a NO [PRIVACYREQUIRED]"), done
        _, done = c.run("b", f"AUTHENTICATE PLAIN {plain_b64(u.name, u.password)}")
        assert done.startswith("b NO [PRIVACYREQUIRED]"), done
        # The continuation form must be refused before the client sends the secret.
        c.cmd("c AUTHENTICATE PLAIN")
        line = c.readline()
        assert line.startswith("c NO [PRIVACYREQUIRED]"), line
        _, done = c.run("d", "NOOP")
        assert done.startswith("d OK"), done


def test_starttls_changes_capabilities_and_login_works(server):
    c = imap_plain(server)
    try:
        c.starttls(ssl_context=helpers.client_context(server.tls.ca))
        typ, data = c.capability()
        assert typ == "OK"
        caps = set(data[0].decode().upper().split())
        assert {"AUTH=PLAIN", "AUTH=LOGIN", "IMAP4REV2", "IMAP4REV1", "SASL-IR"} <= caps, caps
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        u = server.users["sha512"]
        typ, data = c.login(u.name, u.password)
        assert typ == "OK", data
        assert c.noop()[0] == "OK"
        assert c.capability()[0] == "OK"
    finally:
        typ, data = c.logout()
    assert typ == "BYE", (typ, data)


@pytest.mark.parametrize("name", GOOD_USERS)
def test_login_every_scheme_over_starttls(server, name):
    u = server.users[name]
    with RawIMAP(server.imap_port) as c:
        c.starttls()
        c.login(u, tag="a")
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK"), done
        _, done = c.run("c", "CAPABILITY")
        assert done.startswith("c OK"), done
        untagged, done = c.run("d", "LOGOUT")
        assert done.startswith("d OK"), done
        assert any(l.startswith("* BYE") for l in untagged), untagged


def test_starttls_injection_is_discarded(server):
    """Plaintext pipelined behind STARTTLS must never be executed inside TLS (CVE-2011-0411 style)."""
    with RawIMAP(server.imap_port) as c:
        c.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
        line = c.readline()
        assert line.startswith("a OK"), line
        assert c.buf == b"", f"server answered pipelined plaintext: {c.buf!r}"
        try:
            c.sock = helpers.client_context().wrap_socket(c.sock, server_hostname="localhost")
        except (ssl.SSLError, ConnectionError, OSError):
            return  # closing the connection is also a safe answer
        c.sock.settimeout(helpers.READ_TIMEOUT)
        try:
            c.cmd("c NOOP")
            while True:
                line = c.readline()
                assert not line.startswith("b "), f"injected command answered: {line}"
                if line.startswith("c "):
                    assert line.startswith("c OK"), line
                    break
                assert "CAPABILITY" not in line.upper() or line.startswith("* OK"), f"injected CAPABILITY ran: {line}"
        except (ConnectionError, ssl.SSLError):
            pass  # the server may drop a connection that pipelined plaintext; that is also safe


# ---------------------------------------------------------------------------------------------------- implicit TLS


@pytest.mark.parametrize("name", GOOD_USERS)
def test_imaps_login(server, name):
    u = server.users[name]
    c = imap_ssl(server)
    try:
        assert "AUTH=PLAIN" in c.capabilities
        assert "STARTTLS" not in c.capabilities
        typ, _ = c.login(u.name, u.password)
        assert typ == "OK"
        assert c.noop()[0] == "OK"
    finally:
        typ, _ = c.logout()
    assert typ == "BYE"


def test_imaplib_authenticate_plain(server):
    u = server.users["argon"]
    c = imap_ssl(server)
    try:
        # imaplib sends "AUTHENTICATE PLAIN" and answers the "+ " continuation (no SASL-IR).
        typ, _ = c.authenticate("PLAIN", lambda _challenge: f"\0{u.name}\0{u.password}".encode())
        assert typ == "OK"
        assert c.noop()[0] == "OK"
    finally:
        c.logout()


def test_imapclient_login_and_capabilities(server):
    imapclient = pytest.importorskip("imapclient")
    u = server.users["blf"]
    with imapclient.IMAPClient("127.0.0.1", port=server.imaps_port, ssl=True,
                               ssl_context=helpers.client_context(server.tls.ca), timeout=helpers.READ_TIMEOUT) as c:
        caps = c.capabilities()
        assert b"IMAP4REV2" in caps or b"IMAP4rev2" in caps
        c.login(u.name, u.password)
        assert c.noop() is not None
        c.id_({"name": "pytest"})
        c.logout()


def test_authenticate_plain_sasl_ir(server):
    u = server.users["sha512"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        _, done = c.run("a", f"AUTHENTICATE PLAIN {plain_b64(u.name, u.password)}")
        assert done.startswith("a OK"), done
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK")


def test_authenticate_plain_continuation(server):
    u = server.users["doveadm"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd("a AUTHENTICATE PLAIN")
        assert c.readline() in ("+ ", "+"), "expected an empty continuation"
        c.cmd(plain_b64(u.name, u.password))
        _, done = c.read_tagged("a")
        assert done.startswith("a OK"), done


def test_authenticate_login(server):
    u = server.users["blf"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd("a AUTHENTICATE LOGIN")
        assert c.readline() == "+ VXNlcm5hbWU6"
        c.cmd(b64(u.name))
        assert c.readline() == "+ UGFzc3dvcmQ6"
        c.cmd(b64(u.password))
        _, done = c.read_tagged("a")
        assert done.startswith("a OK"), done


def test_authenticate_cancel(server):
    with RawIMAP(server.imaps_port, tls=True) as c:
        c.cmd("a AUTHENTICATE PLAIN")
        assert c.readline().startswith("+")
        c.cmd("*")
        _, done = c.read_tagged("a")
        assert done.startswith("a BAD"), done
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK"), done


def test_id(server):
    with RawIMAP(server.imaps_port, tls=True) as c:
        untagged, done = c.run("a", 'ID ("name" "pytest" "version" "1")')
        assert done.startswith("a OK"), done
        assert any(l.startswith('* ID ("name" "Aerie"') for l in untagged), untagged
        untagged, done = c.run("b", "ID NIL")
        assert done.startswith("b OK"), done


def test_logout_before_login(server):
    with RawIMAP(server.imaps_port, tls=True) as c:
        untagged, done = c.run("a", "LOGOUT")
        assert done.startswith("a OK"), done
        assert untagged and untagged[0].startswith("* BYE"), untagged
        assert c.read_until_closed(timeout=5) == []


# ---------------------------------------------------------------------------------------------------- failures


def test_wrong_password_is_delayed(server):
    u = server.users["sha512"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        start = time.monotonic()
        _, done = c.run("a", f'LOGIN {u.name} "not-{u.password}"', timeout=15)
        elapsed = time.monotonic() - start
        assert done == f"a {AUTH_FAILED}", done
        assert elapsed >= 1.9, f"failure answered after {elapsed:.2f}s, before auth_failure_delay (2 secs)"


def test_third_failure_disconnects(server):
    u = server.users["argon"]
    with RawIMAP(server.imaps_port, tls=True) as c:
        for i in range(2):
            _, done = c.run(f"a{i}", f'LOGIN {u.name} "wrong{i}"', timeout=15)
            assert done == f"a{i} {AUTH_FAILED}", done
        c.cmd('a2 LOGIN argon "wrong2"')
        lines = c.read_until_closed(timeout=15)
        assert any(l.startswith("* BYE") for l in lines), lines
        tagged = [l for l in lines if l.startswith("a2 ")]
        assert not tagged or tagged[0] == f"a2 {AUTH_FAILED}", lines


@pytest.mark.parametrize("name", ["lowuid", "rootuser", "weak", "nosuchuser"])
def test_refused_accounts_fail_like_wrong_passwords(server, name):
    u = server.users.get(name)
    password = u.password if u else "Whatever-123"
    with RawIMAP(server.imaps_port, tls=True) as c:
        _, done = c.run("a", f'LOGIN {name} "{password}"', timeout=15)
        assert done == f"a {AUTH_FAILED}", done
        # Same answer through SASL.
        _, done = c.run("b", f"AUTHENTICATE PLAIN {plain_b64(name, password)}", timeout=15)
        assert done == f"b {AUTH_FAILED}", done


def test_failure_delay_does_not_block_other_clients(server):
    """While one client waits out its failure delay, another logs in (the delay is per connection)."""
    bad, good = server.users["sha512"], server.users["doveadm"]

    def fail():
        with RawIMAP(server.imaps_port, tls=True) as c:
            return c.run("a", f'LOGIN {bad.name} "nope"', timeout=15)[1]

    with ThreadPoolExecutor(2) as pool:
        f = pool.submit(fail)
        with RawIMAP(server.imaps_port, tls=True) as c:
            _, done = c.run("a", f'LOGIN {good.name} "{good.password}"', timeout=15)
            assert done.startswith("a OK"), done
        assert f.result(timeout=30) == f"a {AUTH_FAILED}"


def test_curl_starttls_and_imaps(server):
    u = server.users["sha512"]
    r = helpers.run(["curl", "-sS", "--max-time", "20", "--ssl-reqd", "-k", f"imap://127.0.0.1:{server.imap_port}/",
                     "-u", f"{u.name}:{u.password}", "-X", "CAPABILITY"])
    assert r.returncode == 0, r.stderr
    assert "IMAP4rev2" in r.stdout or "IMAP4REV2" in r.stdout.upper(), r.stdout
    r = helpers.run(["curl", "-sS", "--max-time", "20", "-k", f"imaps://127.0.0.1:{server.imaps_port}/",
                     "-u", f"{u.name}:{u.password}", "-X", "NOOP"])
    assert r.returncode == 0, r.stderr
    r = helpers.run(["curl", "-sS", "--max-time", "20", "-k", f"imaps://127.0.0.1:{server.imaps_port}/",
                     "-u", f"{u.name}:wrong-{u.password}", "-X", "NOOP"])
    assert r.returncode != 0, "curl with a wrong password succeeded"
    # Verifying against the test CA works too.
    r = helpers.run(["curl", "-sS", "--max-time", "20", "--cacert", str(server.tls.ca),
                     f"imaps://localhost:{server.imaps_port}/", "-u", f"{u.name}:{u.password}", "-X", "NOOP"])
    assert r.returncode == 0, r.stderr
