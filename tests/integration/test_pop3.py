"""POP3 (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL) end to end with real clients: Python's poplib (STLS and
implicit TLS), curl pop3s://, fetchmail; every message delivered over LMTP and compared byte for byte with what
IMAP reports for it; UIDLs equal Dovecot's default %08Xu%08Xv of IMAP's UID and UIDVALIDITY; the auth-failure log
lines match fail2ban's dovecot filter."""

from __future__ import annotations

import os
import poplib
import re
import shutil
import socket
import stat
import time

import pytest

import helpers
from helpers import LMTPClient, b64, crlf, header_values, make_message, plain_b64, strip_delivery_headers

D = helpers.MAIL_DOMAIN
PW = helpers.MAIL_PASSWORD


@pytest.fixture(scope="module")
def mail(aerie_bin, ca_dir, vmail, request):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "pop3") as server:
        yield server


def deliver(mail, user: str, messages: list[bytes], sender: str = "sender@example.org") -> None:
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.lhlo()[0] == 250
        for m in messages:
            r = c.deliver(sender, [f"{user}@{D}"], m, lhlo=False)
            assert r[f"{user}@{D}"][0] == 250, r
        c.quit()


def mailbox_with(mail, n: int = 3, extra_body: bytes = b"") -> tuple[str, list[bytes]]:
    """A fresh user with n messages delivered over LMTP (one with dot lines); returns (user, sent messages)."""
    user = mail.fresh_user()
    msgs = [make_message(f"{user}-{i}@pop3.test", subject=f"message {i}",
                         body=(b".starts with a dot\r\n..two\r\n.\r\nend\r\n" if i == 2 else b"Hello.\r\n") + extra_body,
                         to=f"{user}@{D}")
            for i in range(1, n + 1)]
    deliver(mail, user, msgs)
    return user, msgs


def pop3s(mail, user: str | None = None) -> poplib.POP3_SSL:
    p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca),
                        timeout=helpers.READ_TIMEOUT)
    if user:
        assert p.user(user).startswith(b"+OK")
        assert p.pass_(PW).startswith(b"+OK")
    return p


def pop3_stls(mail) -> poplib.POP3:
    p = poplib.POP3("127.0.0.1", mail.pop3_port, timeout=helpers.READ_TIMEOUT)
    p.stls(context=helpers.client_context(mail.tls.ca))
    return p


def retr_bytes(p: poplib.POP3, n: int) -> tuple[bytes, bytes]:
    """(status line, message bytes) — poplib removes the dot-stuffing; lines are rejoined with CRLF."""
    resp, lines, octets = p.retr(n)
    data = b"".join(l + b"\r\n" for l in lines)
    return resp, data


def quit_ok(p: poplib.POP3) -> None:
    resp = p.quit()
    assert resp.startswith(b"+OK"), resp


# ---------------------------------------------------------------------------------------------------- greeting, TLS


def test_capa_before_and_after_stls(mail):
    p = poplib.POP3("127.0.0.1", mail.pop3_port, timeout=helpers.READ_TIMEOUT)
    try:
        assert p.getwelcome() == b"+OK Aerie ready."
        caps = p.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps, caps
        for c in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"):
            assert c in caps, caps
        with pytest.raises(poplib.error_proto) as e:
            p.user("alice")
        assert e.value.args[0] == (b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
                                   b"connections."), e.value
        p.stls(context=helpers.client_context(mail.tls.ca))
        caps = p.capa()
        assert "STLS" not in caps and "USER" in caps, caps
        assert set(caps["SASL"]) >= {"PLAIN", "LOGIN"}, caps
        assert p.user("alice").startswith(b"+OK")
        assert p.pass_(PW).startswith(b"+OK")
        quit_ok(p)
    finally:
        p.close()


def test_auth_plain_before_tls_refused_without_reading_secret(mail):
    p = poplib.POP3("127.0.0.1", mail.pop3_port, timeout=helpers.READ_TIMEOUT)
    try:
        with pytest.raises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN " + plain_b64("alice", PW))
        assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value
        with pytest.raises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN")  # no continuation: refused before the secret is sent
        assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value
        assert p.noop().startswith(b"+OK")
        quit_ok(p)
    finally:
        p.close()


@pytest.mark.parametrize("how", ["stls", "pop3s"])
def test_auth_plain_and_login_after_tls(mail, how):
    for mech in ("PLAIN-IR", "PLAIN", "LOGIN"):
        p = pop3_stls(mail) if how == "stls" else pop3s(mail)
        try:
            if mech == "PLAIN-IR":
                resp = p._shortcmd("AUTH PLAIN " + plain_b64("alice", PW))
            elif mech == "PLAIN":
                p._putcmd("AUTH PLAIN")
                assert p._getline()[0].startswith(b"+"), mech
                p._putcmd(plain_b64("alice", PW))
                resp = p._getresp()
            else:
                p._putcmd("AUTH LOGIN")
                line = p._getline()[0]
                assert line.startswith(b"+ "), line
                p._putcmd(b64("alice"))
                line = p._getline()[0]
                assert line.startswith(b"+ "), line
                p._putcmd(b64(PW))
                resp = p._getresp()
            assert resp.startswith(b"+OK"), (mech, resp)
            assert p.stat()[0] >= 0
            quit_ok(p)
        finally:
            p.close()


# ---------------------------------------------------------------------------------------------------- commands


def test_every_command(mail):
    user, msgs = mailbox_with(mail, 3)
    p = pop3s(mail, user)
    try:
        _, imap_msgs = helpers.imap_messages(mail, user)
        sizes = [len(m) for _, m in imap_msgs]
        assert p.stat() == (3, sum(sizes))
        resp, listing, _ = p.list()
        assert resp.startswith(b"+OK"), resp
        assert listing == [f"{i} {s}".encode() for i, s in enumerate(sizes, 1)], listing
        assert p.list(2) == f"+OK 2 {sizes[1]}".encode()
        for i, (_, stored) in enumerate(imap_msgs, 1):
            resp, data = retr_bytes(p, i)
            assert resp == f"+OK {sizes[i - 1]} octets".encode(), resp
            assert data == stored, (i, data, stored)  # exactly what IMAP's BODY[] returns
            assert len(data) == sizes[i - 1]
            assert strip_delivery_headers(data) == crlf(msgs[i - 1])
            assert header_values(data, "Return-Path") == ["<sender@example.org>"]
            assert header_values(data, "Delivered-To") == [f"{user}@{D}"]
        # TOP n 0: the header and the empty line; TOP n 2: plus the first two body lines.
        head, body = helpers.split_message(imap_msgs[1][1])
        resp, lines, _ = p.top(2, 0)
        assert resp.startswith(b"+OK"), resp
        assert b"".join(l + b"\r\n" for l in lines) == head
        resp, lines, _ = p.top(2, 2)
        assert b"".join(l + b"\r\n" for l in lines) == head + b"".join(l + b"\r\n" for l in body.split(b"\r\n")[:2])
        resp, uidls, _ = p.uidl()
        assert len(uidls) == 3 and len({u.split()[1] for u in uidls}) == 3, uidls
        assert p.uidl(3) == b"+OK " + uidls[2]
        assert p.noop().startswith(b"+OK")
        # Errors: no such message, deleted message, bad argument.
        for bad in (lambda: p.retr(4), lambda: p.list(0), lambda: p.top(9, 0), lambda: p.uidl(4)):
            with pytest.raises(poplib.error_proto) as e:
                bad()
            assert e.value.args[0].startswith(b"-ERR"), e.value
        assert p.dele(1).startswith(b"+OK")
        for bad in (lambda: p.dele(1), lambda: p.retr(1), lambda: p.list(1), lambda: p.uidl(1), lambda: p.top(1, 0)):
            with pytest.raises(poplib.error_proto):
                bad()
        assert p.stat() == (2, sizes[1] + sizes[2])
        assert [l.split()[0] for l in p.list()[1]] == [b"2", b"3"]
        assert [l.split()[0] for l in p.uidl()[1]] == [b"2", b"3"]
        assert p.rset().startswith(b"+OK")
        assert p.stat() == (3, sum(sizes))
        with pytest.raises(poplib.error_proto):
            p._shortcmd("XYZZY")
        quit_ok(p)
    finally:
        p.close()
    assert len(helpers.imap_messages(mail, user)[1]) == 3  # RSET then QUIT: nothing deleted


def test_retr_over_stls_equals_lmtp_delivery(mail):
    user, msgs = mailbox_with(mail, 2, extra_body=b"8bit: \xc3\xa9\xc3\xa0\r\n")
    p = pop3_stls(mail)
    try:
        p.user(user)
        p.pass_(PW)
        for i, m in enumerate(msgs, 1):
            _, data = retr_bytes(p, i)
            expected_head = f"Return-Path: <sender@example.org>\r\nDelivered-To: {user}@{D}\r\n".encode()
            assert data.startswith(expected_head), data[:200]
            assert strip_delivery_headers(data) == crlf(m), data
        quit_ok(p)
    finally:
        p.close()


def test_dele_rset_keeps(mail):
    user, _ = mailbox_with(mail, 3)
    p = pop3s(mail, user)
    try:
        p.dele(1)
        p.dele(3)
        assert p.stat()[0] == 1
        p.rset()
        quit_ok(p)
    finally:
        p.close()
    assert len(helpers.imap_messages(mail, user)[1]) == 3
    p = pop3s(mail, user)
    try:
        assert p.stat()[0] == 3
        quit_ok(p)
    finally:
        p.close()


def test_dele_quit_removes(mail):
    user, msgs = mailbox_with(mail, 3)
    uidvalidity, before = helpers.imap_messages(mail, user)
    p = pop3s(mail, user)
    try:
        p.dele(1)
        p.dele(3)
        # Not yet removed: another client still sees all three until QUIT.
        assert len(helpers.imap_messages(mail, user)[1]) == 3
        quit_ok(p)
    finally:
        p.close()
    _, after = helpers.imap_messages(mail, user)
    assert after == [before[1]], after
    p = pop3s(mail, user)
    try:
        assert p.stat() == (1, len(before[1][1]))
        assert retr_bytes(p, 1)[1] == before[1][1]
        assert p.uidl()[1] == [b"1 " + helpers.pop3_uidl(before[1][0], uidvalidity).encode()]
        quit_ok(p)
    finally:
        p.close()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_dele_then_dropped_connection_deletes_nothing(mail, how):
    user, _ = mailbox_with(mail, 3)
    p = pop3s(mail, user)
    p.dele(1)
    p.dele(2)
    disconnects = len(re.findall(rf"pop3\({user}\).*Disconnected", mail.log()))
    if how == "reset":  # RST instead of FIN
        import struct
        p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    p.sock.close()
    p.file.close()
    # The server has noticed the drop (logged the disconnect) before we look.
    helpers.wait_for(lambda: len(re.findall(rf"pop3\({user}\).*Disconnected", mail.log())) > disconnects, 10,
                     what="the POP3 disconnect in the log")
    assert len(helpers.imap_messages(mail, user)[1]) == 3
    p = pop3s(mail, user)
    try:
        assert p.stat()[0] == 3
        quit_ok(p)
    finally:
        p.close()


def test_uidl_matches_imap_uid_and_uidvalidity(mail):
    user, _ = mailbox_with(mail, 4)
    # Expunge one over IMAP first so UIDs are not simply 1..n.
    c = helpers.imap_login(mail, user)
    try:
        c.select("INBOX")
        c.store("2", "+FLAGS", r"(\Deleted)")
        c.expunge()
    finally:
        c.logout()
    deliver(mail, user, [make_message(f"{user}-late@pop3.test")])
    uidvalidity, imap_msgs = helpers.imap_messages(mail, user)
    assert [u for u, _ in imap_msgs] == [1, 3, 4, 5], imap_msgs
    p = pop3s(mail, user)
    try:
        _, uidls, _ = p.uidl()
        expected = [f"{i} {helpers.pop3_uidl(uid, uidvalidity)}".encode() for i, (uid, _) in enumerate(imap_msgs, 1)]
        assert uidls == expected, (uidls, expected)
        for i, (_, body) in enumerate(imap_msgs, 1):
            assert retr_bytes(p, i)[1] == body
        quit_ok(p)
    finally:
        p.close()


# ---------------------------------------------------------------------------------------------------- failures


def test_auth_failures_delay_close_and_fail2ban(mail, tmp_path, capsys):
    before = mail.log()
    failures = 0
    # Connection 1: three wrong passwords -> the server closes.
    p = pop3s(mail)
    try:
        for i in range(3):
            p.user("alice")
            t0 = time.monotonic()
            with pytest.raises(poplib.error_proto) as e:
                p.pass_(f"wrong-{i}")
            elapsed = time.monotonic() - t0
            failures += 1
            assert e.value.args[0] == b"-ERR [AUTH] Authentication failed.", e.value
            assert elapsed >= 1.8, f"failure answered after {elapsed:.2f}s, auth_failure_delay is 2 secs"
        p.sock.settimeout(10)
        try:
            rest = p.sock.recv(4096)
        except ConnectionResetError:
            rest = b""
        assert rest == b"" or rest.startswith(b"-ERR"), rest
    finally:
        p.close()
    # Connection 2: unknown user over AUTH PLAIN, then QUIT.
    p = pop3s(mail)
    try:
        with pytest.raises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN " + plain_b64("nosuchuser", "whatever"))
        failures += 1
        assert e.value.args[0].startswith(b"-ERR [AUTH]"), e.value
        quit_ok(p)
    finally:
        p.close()

    def new_log():
        return mail.log()[len(before):]

    auth_failed = r"pop3-login: Info: .*\(auth failed, \d+ attempts in \d+ secs\): user=<[^>]*>, method=\S+, rip=127\.0\.0\.1"
    helpers.wait_for(lambda: len(re.findall(auth_failed, new_log())) >= 2, 10, what="two 'auth failed' lines")
    log = new_log()
    assert re.search(r"pop3-login: Info: Disconnected: .*\(auth failed, 3 attempts in \d+ secs\): user=<alice>, "
                     r"method=PLAIN, rip=127\.0\.0\.1", log), log
    assert "wrong-0" not in log and "whatever" not in mail.log()
    exe = shutil.which("fail2ban-regex")
    if not exe:
        pytest.fail("fail2ban-regex missing (scripts/test.sh installs fail2ban)")

    def fail2ban(text: str, name: str) -> tuple[int, int, str]:
        f = tmp_path / name
        f.write_text(text)
        r = helpers.run([exe, str(f), "dovecot[_daemon=aerie]"], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched", r.stdout)
        assert m, r.stdout
        return int(m.group(1)), int(m.group(3)), m.group(0)

    lines, matched, summary = fail2ban(log, "pop3.log")
    with capsys.disabled():
        print(f"\nfail2ban-regex (POP3 failures) 'dovecot[_daemon=aerie]': {summary}; failures made: {failures}")
    assert matched >= failures, summary
    # Every "(auth failed, …)" line on its own must match, also the one after QUIT (Dovecot's bare
    # "Aborted login by logging out (auth failed, …)" form is one the stock filter misses; IMAP writes
    # "Disconnected: Aborted login by logging out (…)" for that reason).
    failed_lines = [l for l in log.splitlines() if re.search(auth_failed, l)]
    lines, matched, summary = fail2ban("\n".join(failed_lines) + "\n", "auth-failed.log")
    assert matched == len(failed_lines) == 2, f"{summary}: {failed_lines}"


def test_stls_injection_is_discarded(mail):
    """RFC 2595 §4: plaintext pipelined behind STLS is dropped, never run inside TLS: here a QUIT that would end the
    session right after the handshake (the connection state machine's STARTTLS ordering, shared with IMAP)."""

    def line(sock) -> bytes:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(1)
            if not chunk:
                return data
            data += chunk
        return data

    with socket.create_connection(("127.0.0.1", mail.pop3_port), timeout=helpers.READ_TIMEOUT) as raw:
        assert line(raw).startswith(b"+OK"), "no greeting"
        raw.sendall(b"STLS\r\nQUIT\r\n")
        assert line(raw).startswith(b"+OK"), "STLS refused"
        tls = helpers.client_context(mail.tls.ca).wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"CAPA\r\n")
        answer = [line(tls)]
        while answer[-1] not in (b".\r\n", b""):
            answer.append(line(tls))
        assert answer[0].startswith(b"+OK") and b"USER\r\n" in answer and answer[-1] == b".\r\n", answer
        tls.sendall(b"QUIT\r\n")
        assert line(tls).startswith(b"+OK")


def test_commands_before_login_refused(mail):
    p = pop3s(mail)
    try:
        for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0", "RSET"):
            with pytest.raises(poplib.error_proto) as e:
                p._shortcmd(cmd)
            assert e.value.args[0].startswith(b"-ERR"), (cmd, e.value)
        with pytest.raises(poplib.error_proto):
            p.pass_(PW)  # PASS without USER
        quit_ok(p)
    finally:
        p.close()


# ---------------------------------------------------------------------------------------------------- real clients


def curl(*args: str) -> helpers.subprocess.CompletedProcess:
    exe = shutil.which("curl")
    if not exe:
        pytest.fail("curl missing (scripts/test.sh installs it)")
    r = helpers.run([exe, "-sS", "--max-time", "30", *args], text=False, timeout=60)
    return r


def test_curl_pop3s_list_and_retr(mail):
    user, _ = mailbox_with(mail, 3)
    _, imap_msgs = helpers.imap_messages(mail, user)
    base = f"pop3s://127.0.0.1:{mail.pop3s_port}/"
    r = curl("--cacert", str(mail.tls.ca), base, "-u", f"{user}:{PW}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace(b"\r\n", b"\n").splitlines() == [f"{i} {len(m)}".encode()
                                                             for i, (_, m) in enumerate(imap_msgs, 1)], r.stdout
    for i in (1, 2):
        r = curl("-k", f"{base}{i}", "-u", f"{user}:{PW}")
        assert r.returncode == 0, r.stderr
        assert crlf(r.stdout) == imap_msgs[i - 1][1], (r.stdout, imap_msgs[i - 1][1])
    # curl with the wrong password: the POP3 error, after the failure delay.
    r = curl("-k", base, "-u", f"{user}:wrong")
    assert r.returncode != 0
    assert len(helpers.imap_messages(mail, user)[1]) == 3


@pytest.mark.timeout(120)
def test_fetchmail_retrieves_and_deletes_everything(mail, tmp_path):
    exe = shutil.which("fetchmail")
    if not exe:
        pytest.fail("fetchmail missing (scripts/test.sh installs it)")
    user, msgs = mailbox_with(mail, 4)
    _, imap_msgs = helpers.imap_messages(mail, user)
    out = tmp_path / "fetched"
    out.mkdir()
    home = tmp_path / "fmhome"
    home.mkdir()
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no bouncemail\nset no syslog\n"
        f"poll 127.0.0.1 with protocol POP3 port {mail.pop3s_port} uidl\n"
        f'  user "{user}" there with password "{PW}" is root here\n'
        "  ssl no sslcertck nokeep fetchall\n"
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out}/msg.XXXXXX)'\"\n")
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    r = helpers.run([exe, "-f", str(rc), "-N", "--nosyslog", "-v"], env=env, timeout=90)
    assert r.returncode == 0, f"fetchmail exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    files = sorted(out.iterdir())
    assert len(files) == 4, (files, r.stdout, r.stderr)
    got = sorted(strip_delivery_headers(f.read_bytes()) for f in files)
    # fetchmail adds its own Received header; what remains is the message as stored (with Return-Path and
    # Delivered-To removed by the same helper on both sides).
    want = sorted(strip_delivery_headers(m) for _, m in imap_msgs)
    assert got == want, (got, want)
    for f in files:
        assert b"with POP3" in f.read_bytes() or b"fetchmail" in f.read_bytes(), f.read_bytes()[:400]
    # nokeep: fetchmail deleted them with DELE + QUIT.
    assert helpers.imap_messages(mail, user)[1] == []
