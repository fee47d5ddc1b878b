"""Issue 14, item 5: the incident switch. `aerie adm logins disable|enable|status`, `aerie adm kick`, `aerie adm who`
over the serving process's admin socket (base_dir/aerie-admin), with real IMAP and POP3 clients.

Clients connect from their own loopback addresses (127.0.0.2, .3, …) so `kick --ip` can pick them out."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import socket
import stat

import pytest

import helpers
from helpers import IMAPFrom, POP3From  # noqa: F401
from helpers import MAIL_PASSWORD, adm, admin_lines, read_until_closed

pytestmark = pytest.mark.timeout(300)

MESSAGE = b"From: a@example.org\r\nTo: u01@example.org\r\nSubject: incident\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "incident") as server:
        yield server


def test_admin_socket_is_only_the_starting_accounts(srv):
    st = os.stat(srv.directory / "run" / "aerie-admin")  # base_dir = DIR/run
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0, oct(st.st_mode)


def test_disable_refuses_new_logins_while_sessions_go_on(srv):
    assert helpers.lmtp_deliver(srv.lmtp_socket, ["u01@example.org"], MESSAGE)["u01@example.org"][0] == 250
    existing = IMAPFrom("127.0.0.2", srv)
    existing.login("u01", MAIL_PASSWORD)
    before = len(srv.log().splitlines())
    r = adm(srv, "logins", "disable", "--reason", "Maintenance until 10:00 UTC.")
    assert r.returncode == 0 and "imap: disabled (Maintenance until 10:00 UTC.)" in r.stdout, (r.stdout, r.stderr)
    try:
        fresh = IMAPFrom("127.0.0.3", srv)
        with pytest.raises(imaplib.IMAP4.error, match=r"\[UNAVAILABLE\] Maintenance until 10:00 UTC\."):
            fresh.login("u02", MAIL_PASSWORD)
        fresh.logout()
        pop = POP3From("127.0.0.3", srv)
        pop.user("u02")
        with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] Maintenance until 10:00 UTC\."):
            pop.pass_(MAIL_PASSWORD)
        pop.quit()
        # The session logged in before goes on, and LMTP still delivers.
        assert existing.noop()[0] == "OK"
        assert helpers.lmtp_deliver(srv.lmtp_socket, ["u01@example.org"], MESSAGE)["u01@example.org"][0] == 250
        typ, data = existing.select("INBOX")
        assert typ == "OK" and int(data[0]) == 2, data
        typ, data = existing.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and b"Subject: incident" in data[0][1], data
        assert "disabled" in adm(srv, "logins", "status").stdout
    finally:
        r = adm(srv, "logins", "enable")
    assert r.returncode == 0 and "imap: enabled" in r.stdout and "pop3: enabled" in r.stdout, r.stdout
    again = IMAPFrom("127.0.0.3", srv)
    assert again.login("u02", MAIL_PASSWORD)[0] == "OK"
    again.logout()
    existing.logout()
    lines = admin_lines(srv, before)
    assert any(re.search(r'admin\(uid=0 pid=\d+\): logins disable all reason="Maintenance until 10:00 UTC\."', line)
               for line in lines), lines
    assert any("logins status" in line for line in lines) and any("logins enable all" in line for line in lines), lines


def test_disable_one_protocol_only(srv):
    r = adm(srv, "logins", "disable", "--protocol", "pop3")
    assert r.returncode == 0, r.stderr
    try:
        pop = POP3From("127.0.0.4", srv)
        pop.user("u03")
        with pytest.raises(poplib.error_proto, match=r"SYS/TEMP\] Logins are temporarily disabled"):
            pop.pass_(MAIL_PASSWORD)
        pop.quit()
        c = IMAPFrom("127.0.0.4", srv)
        assert c.login("u03", MAIL_PASSWORD)[0] == "OK"
        c.logout()
    finally:
        assert adm(srv, "logins", "enable", "--protocol", "pop3").returncode == 0


def test_who_lists_sessions_and_kick_closes_them_with_bye(srv):
    a = IMAPFrom("127.0.0.10", srv)
    a.login("u04", MAIL_PASSWORD)
    a.select("INBOX")
    b = IMAPFrom("127.0.0.11", srv)
    b.login("u05", MAIL_PASSWORD)
    b2 = IMAPFrom("127.0.0.12", srv)
    b2.login("u05", MAIL_PASSWORD)
    p = POP3From("127.0.0.13", srv)
    p.user("u06")
    p.pass_(MAIL_PASSWORD)
    prelogin = IMAPFrom("127.0.0.14", srv)  # connected, never logs in
    before = len(srv.log().splitlines())

    r = adm(srv, "who")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows[0] == ["username", "proto", "ip", "since", "in", "out"], rows
    mine = {(row[0], row[1], row[2]) for row in rows[1:]}
    assert {("u04", "imap", "127.0.0.10"), ("u05", "imap", "127.0.0.11"), ("u05", "imap", "127.0.0.12"),
            ("u06", "pop3", "127.0.0.13")} <= mine, rows
    assert not any(row[2] == "127.0.0.14" for row in rows), "who lists logged-in sessions only"
    for row in rows[1:]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[3]) and int(row[4]) > 0 and int(row[5]) > 0, row
    assert any(row[2] == "127.0.0.14" and row[0] == "-" for row in
               (line.split("\t") for line in adm(srv, "who", "--all").stdout.splitlines())), "who --all: pre-login"

    # kick --ip: the pre-login connection and the session from that network, nothing else.
    r = adm(srv, "kick", "--ip", "127.0.0.14/32")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", r.stdout
    assert read_until_closed(prelogin) == [b"* BYE Disconnected by the administrator.\r\n"]
    r = adm(srv, "kick", "--ip", "127.0.0.10")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", r.stdout
    assert read_until_closed(a) == [b"* BYE Disconnected by the administrator.\r\n"]

    # kick USER: both of u05's sessions; u06's POP3 session stays.
    r = adm(srv, "kick", "u05")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 2 connections", r.stdout
    for c in (b, b2):
        assert read_until_closed(c) == [b"* BYE Disconnected by the administrator.\r\n"]
    assert p.noop().startswith(b"+OK")
    everyone = adm(srv, "who", "--all").stdout
    r = adm(srv, "kick", "--all")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", (r.stdout, everyone)
    assert read_until_closed(p) == [b"-ERR Disconnected by the administrator.\r\n"]

    lines = admin_lines(srv, before)
    for asked in ("who: 4 sessions", "who all: ", "kick ip 127.0.0.14/32: kicked 1 connection",
                  "kick ip 127.0.0.10/32: kicked 1 connection", "kick user u05: kicked 2 connections",
                  "kick all: kicked 1 connection"):
        assert any(re.search(r"admin\(uid=0 pid=\d+\): " + re.escape(asked), line) for line in lines), (asked, lines)
    helpers.wait_for(lambda: len([line for line in srv.log().splitlines()[before:]
                                  if "imap(u05)" in line and "Disconnected: User kicked" in line]) == 2,
                     timeout=10, what="two 'Disconnected: User kicked' lines for u05")


def test_bad_requests_are_refused_and_logged(srv):
    before = len(srv.log().splitlines())
    r = adm(srv, "kick", "--ip", "not-a-network")
    assert r.returncode == 1 and "usage:" in r.stderr, (r.stdout, r.stderr)
    r = adm(srv, "logins", "disable", "--protocol", "smtp")
    assert r.returncode == 1, r.stdout
    r = adm(srv, "logins", "disable", "--reason", "two\nlines")
    assert r.returncode == 1, r.stdout
    r = adm(srv, "kick", "u01", "--all")
    assert r.returncode != 0
    assert "enabled" in adm(srv, "logins", "status").stdout and "disabled" not in adm(srv, "logins", "status").stdout
    assert len([line for line in admin_lines(srv, before) if "refused" in line]) == 3
