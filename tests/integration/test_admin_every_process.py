"""Issue 11: the admin plane covers every mail process. With `login_process = yes` the master routes each login to
the mail process of the user's uid/gid (test_mail_uid.py); `aerie adm logins disable` must refuse every user's
login whatever process would serve it (also after SIGKILL of that process and of the login worker, and before the
password is checked), and `who` / `kick` must reach the sessions of the per-uid processes."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import IMAPFrom, POP3From, adm, admin_lines, read_until_closed
from test_mail_uid import key_process, status
from test_scram import ScramClient

pytestmark = pytest.mark.timeout(300)

EXTRA = "login_process = yes\nssl = yes\nauth_mechanisms = plain login scram-sha-256"
PASSWORD = helpers.MAIL_PASSWORD
REASON = "Incident 42, back soon."
BYE = b"* BYE Disconnected by the administrator.\r\n"


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    directory = helpers.private_dir("admevery") / "srv"
    users = helpers.make_mail_users(["alice"])
    server = helpers.make_mail_server(aerie_bin, directory, ca_dir, users, extra=EXTRA, start=False)
    homes = server.directory / "home"
    stored = helpers.sha512_crypt(PASSWORD)
    lines = [f"alice:{stored}:{vmail[0]}:{vmail[1]}::{homes / 'alice'}::"]
    scram = subprocess.run([aerie_bin, "pw", "-s", "SCRAM-SHA-256", "-p", PASSWORD], capture_output=True, text=True,
                           check=True).stdout.strip()
    for name, uid, hashed in (("carol", 1501, stored), ("dave", 1502, stored), ("erin", 1504, scram)):
        lines.append(helpers.own_uid_user(homes, name, uid, hashed))
    yield from helpers.serve_module(server, directory.parent, request, lines)


def login_worker(srv, not_pid: int = 0, timeout: float = 20) -> int:
    """The login worker's pid once it runs confined (not `not_pid`, when it was killed)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = [pid for pid in helpers.child_pids(srv.pid, "login-worker") if pid != not_pid]
        try:
            if len(workers) == 1 and status(workers[0])["Uid"][0] != "0":
                return workers[0]
        except (FileNotFoundError, AttributeError):
            pass
        assert time.monotonic() < deadline, "no confined login-worker"
        time.sleep(0.1)


def main_mail_process(srv) -> int:
    """The main mail service (mail_uid): the master's `mail-service` child without --run-as; 0 while there is none."""
    found = []
    for pid in helpers.child_pids(srv.pid, "mail-service"):
        try:
            if b"--run-as" not in helpers.cmdline_bytes(pid):
                found.append(pid)
        except FileNotFoundError:
            pass
    return found[0] if len(found) == 1 else 0


def imap_refused(srv, source: str, user: str, password: str = PASSWORD) -> None:
    """The IMAP login is refused with NO [UNAVAILABLE] REASON (a wrong password too: refused before it is checked)."""
    c = IMAPFrom(source, srv)
    with pytest.raises(imaplib.IMAP4.error, match=r"\[UNAVAILABLE\] " + re.escape(REASON)):
        c.login(user, password)
    c.sock.close()


def pop3_refused(srv, source: str, user: str, password: str = PASSWORD) -> None:
    p = POP3From(source, srv)
    p.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] " + re.escape(REASON)):
        p.pass_(password)
    p.sock.close()


def test_disable_refuses_every_uid_also_after_restarts(srv):
    # carol's process runs; dave's is started only after the switch is thrown.
    c = IMAPFrom("127.0.0.20", srv)
    assert c.login("carol", PASSWORD)[0] == "OK"
    carol_process = key_process(srv, 1501)
    before = len(srv.log().splitlines())
    r = adm(srv, "logins", "disable", "--reason", REASON)
    assert r.returncode == 0 and f"imap: disabled ({REASON})" in r.stdout, (r.stdout, r.stderr)
    try:
        for user in ("carol", "dave", "alice"):
            imap_refused(srv, "127.0.0.21", user)
            pop3_refused(srv, "127.0.0.21", user)
        # Before the password is checked: a wrong one gets the same answer.
        imap_refused(srv, "127.0.0.21", "carol", "wrong")
        # The session logged in before goes on (until its process is killed below).
        assert c.noop()[0] == "OK"
        c.sock.close()

        # carol's process and the login worker killed: both start again, the switch still holds (the login
        # worker gets it on its command line from the master, which refuses the hand-off anyway).
        worker = login_worker(srv)
        os.kill(carol_process, signal.SIGKILL)
        os.kill(worker, signal.SIGKILL)
        login_worker(srv, not_pid=worker)
        for user in ("carol", "dave"):
            imap_refused(srv, "127.0.0.22", user)
            pop3_refused(srv, "127.0.0.22", user)
        imap_refused(srv, "127.0.0.22", "dave", "wrong")
        pop3_refused(srv, "127.0.0.22", "carol", "wrong")

        # The main mail service killed too: it starts again with the switch the master holds.
        main = main_mail_process(srv)
        os.kill(main, signal.SIGKILL)
        helpers.wait_for(lambda: main_mail_process(srv) not in (0, main) and
                         adm(srv, "logins", "status").returncode == 0, timeout=20, what="the main mail service again")
        assert f"imap: disabled ({REASON})" in adm(srv, "logins", "status").stdout
        imap_refused(srv, "127.0.0.22", "alice", "wrong")
        pop3_refused(srv, "127.0.0.22", "dave")
    finally:
        r = adm(srv, "logins", "enable")
    assert r.returncode == 0 and "imap: enabled" in r.stdout and "pop3: enabled" in r.stdout, r.stdout
    for user in ("carol", "dave"):
        again = IMAPFrom("127.0.0.23", srv)
        assert again.login(user, PASSWORD)[0] == "OK"
        again.logout()
        p = POP3From("127.0.0.23", srv)
        p.user(user)
        assert p.pass_(PASSWORD).startswith(b"+OK")
        p.quit()
    lines = admin_lines(srv, before)
    assert any(re.search(r"admin\(uid=0 pid=\d+\): logins disable all reason=\"" + re.escape(REASON) + '"', line)
               for line in lines), lines


def test_the_master_refuses_a_login_the_login_worker_let_through(srv):
    """Thrown between SCRAM's first and final step: the login worker checked the switch at the first step and
    completes the login; the master, which holds the switch, refuses the hand-off (NO [UNAVAILABLE] + BYE)."""
    c = IMAPFrom("127.0.0.25", srv)
    client = ScramClient("erin", PASSWORD)

    def steps(challenge: bytes) -> bytes:
        if client.step == 1:
            assert adm(srv, "logins", "disable", "--reason", REASON).returncode == 0
        return client(challenge)

    try:
        with pytest.raises(imaplib.IMAP4.error, match=r"\[UNAVAILABLE\] " + re.escape(REASON)):
            c.authenticate("SCRAM-SHA-256", steps)
        assert client.step >= 2, "the exchange went to its final step"
        assert read_until_closed(c) == [b"* BYE Logins are disabled.\r\n"]
        assert "user=<erin>: login refused: logins are disabled by the administrator" in srv.log()
    finally:
        assert adm(srv, "logins", "enable").returncode == 0
    again = IMAPFrom("127.0.0.25", srv)
    assert again.authenticate("SCRAM-SHA-256", ScramClient("erin", PASSWORD))[0] == "OK"
    again.logout()


def test_who_and_kick_reach_every_process(srv):
    a = IMAPFrom("127.0.0.30", srv)
    assert a.login("alice", PASSWORD)[0] == "OK"
    c = IMAPFrom("127.0.0.31", srv)
    assert c.login("carol", PASSWORD)[0] == "OK"
    c.select("INBOX")
    d = POP3From("127.0.0.32", srv)
    d.user("dave")
    assert d.pass_(PASSWORD).startswith(b"+OK")
    before = len(srv.log().splitlines())

    r = adm(srv, "who")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows[0] == ["username", "proto", "ip", "since", "in", "out"], rows
    assert {("alice", "imap", "127.0.0.30"), ("carol", "imap", "127.0.0.31"),
            ("dave", "pop3", "127.0.0.32")} <= {(row[0], row[1], row[2]) for row in rows[1:]}, rows
    assert len(rows) == 4, rows

    r = adm(srv, "kick", "carol")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", r.stdout
    assert read_until_closed(c) == [BYE]
    assert a.noop()[0] == "OK"

    r = adm(srv, "kick", "--all")
    assert r.returncode == 0 and r.stdout.strip() == "kicked 2 connections", r.stdout
    assert read_until_closed(a) == [BYE]
    assert read_until_closed(d) == [b"-ERR Disconnected by the administrator.\r\n"]

    lines = admin_lines(srv, before)
    for asked in ("who: 3 sessions", "kick user carol: kicked 1 connection", "kick all: kicked 2 connections"):
        assert [line for line in lines if re.search(r"admin\(uid=0 pid=\d+\): " + re.escape(asked) + "$", line)], \
            (asked, lines)
    assert len(lines) == 3, lines
