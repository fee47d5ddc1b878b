"""Issue 11 (per-uid mail processes, reload and idle exit): a per-uid mail process (`aerie mail-service --run-as`)
may not reach the configuration file (chroot, permissions), so SIGHUP of the master retires it, as Dovecot's reload
and the login worker generations do: one without a session exits at once, one with sessions takes no new hand-off,
serves its sessions and exits after the last one; the next login of its key starts a new process, which reads the
new configuration. A per-uid process with no session for `idle_kill_interval` exits, which the master does not count
as a crash (no restart until the next login); the main mail service (mail_uid's users, LMTP) stays."""

from __future__ import annotations

import imaplib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import helpers
from test_mail_uid import PASSWORD, append, login

pytestmark = pytest.mark.timeout(300)

EXTRA = "login_process = yes\nssl = yes\nauth_allow_cleartext = yes"


def make_server(aerie_bin, ca_dir, request, name: str, extra: str = ""):
    directory = helpers.private_dir(name) / "srv"
    server = helpers.make_mail_server(aerie_bin, directory, ca_dir, helpers.make_mail_users(["alice"]),
                                      extra=EXTRA + extra, start=False)
    homes = server.directory / "home"
    stored = helpers.sha512_crypt(PASSWORD)
    vmail = helpers.vmail_ids()
    lines = [f"alice:{stored}:{vmail[0]}:{vmail[1]}::{homes / 'alice'}::"]
    lines += [helpers.own_uid_user(homes, user, uid, stored) for user, uid in (("carol", 1501), ("dave", 1502))]
    return helpers.serve_module(server, directory.parent, request, lines)


@pytest.fixture
def srv(aerie_bin, ca_dir, request, vmail):
    yield from make_server(aerie_bin, ca_dir, request, "uidreload")


@pytest.fixture
def idle_srv(aerie_bin, ca_dir, request, vmail):
    yield from make_server(aerie_bin, ca_dir, request, "uididle", "\nservice imap {\n  idle_kill_interval = 2 secs\n}")


def key_pids(server, uid: int) -> list[int]:
    """The master's `aerie mail-service --run-as UID:UID` children, retiring ones included."""
    return sorted(pid for pid in helpers.child_pids(server.pid, "mail-service")
                  if f"--run-as\0{uid}:{uid}".encode() in helpers.cmdline_bytes(pid))


def gone(pid: int) -> bool:
    path = Path(f"/proc/{pid}/status")
    return not path.exists() or "zombie" in path.read_text()


def adm(server, *arguments: str):
    return helpers.run([server.binary, "adm", *arguments, "-c", str(server.config)], timeout=30)


def test_reload_retires_the_users_process_and_the_next_login_gets_the_new_configuration(srv):
    c = login(srv, "carol")
    c.select("INBOX")
    append(c, "before-reload")
    [old] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    d = login(srv, "dave")
    d.logout()
    [idle] = helpers.wait_for(lambda: key_pids(srv, 1502), timeout=15, what="dave's process")

    # The new configuration: one connection per user and IP, counted in each mail process.
    srv.config.write_text(srv.config.read_text() + "\nmail_max_userip_connections = 1\n")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"service(mail uid=1501 gid=1501): child {old} retires" in srv.log(), timeout=20,
                     what="carol's process retiring")
    # Without a session, dave's process exits at once, and the master does not start it again.
    helpers.wait_for(lambda: f"service(mail uid=1502 gid=1502): retired child {idle} exited with status 0"
                     in srv.log(), timeout=20, what="dave's process gone")
    assert gone(idle) and key_pids(srv, 1502) == []

    # The open session goes on in the retiring process.
    assert c.noop()[0] == "OK"
    append(c, "while-retiring")
    assert key_pids(srv, 1501) == [old]

    # A new login of the same uid gets a new process, with the new configuration: the session in the retiring
    # process does not count there, a second one in the new process does (the old process allowed 10).
    n = login(srv, "carol")
    assert n.select("INBOX")[0] == "OK"
    pids = key_pids(srv, 1501)
    assert len(pids) == 2 and old in pids, pids
    [new] = [pid for pid in pids if pid != old]
    extra = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)):
        extra.login("carol", PASSWORD)
        extra.select("INBOX")
    helpers.wait_for(lambda: "mail_max_userip_connections=1" in srv.log()
                     or "Maximum number of connections from user+IP exceeded" in srv.log(),
                     timeout=10, what="the new limit in the log")

    # `adm who` reaches the retiring process too.
    r = adm(srv, "who")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert [row[0] for row in rows[1:]].count("carol") == 2, r.stdout
    assert "did not answer" not in r.stdout and "cannot be asked" not in r.stdout, r.stdout

    # The retiring process ends with its last session; it is not started again.
    c.logout()
    helpers.wait_for(lambda: f"service(mail uid=1501 gid=1501): retired child {old} exited with status 0"
                     in srv.log(), timeout=20, what="carol's old process gone")
    assert gone(old)
    assert f"mail service (pid {old}): retired: its last session ended, exiting" in srv.log()
    assert key_pids(srv, 1501) == [new]
    assert n.noop()[0] == "OK"
    n.logout()
    assert "restarting in" not in srv.log().split("Aerie starting up")[-1]


def test_a_retiring_process_that_dies_is_not_restarted(srv):
    c = login(srv, "carol")
    c.select("INBOX")
    [old] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {old} retires" in srv.log(), timeout=20, what="retiring")
    os.kill(old, signal.SIGKILL)
    helpers.wait_for(lambda: f"retired child {old} killed with signal 9" in srv.log(), timeout=20,
                     what="the kill in the log")
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        c.noop()
    assert key_pids(srv, 1501) == []
    again = login(srv, "carol")
    assert again.select("INBOX")[0] == "OK"
    assert key_pids(srv, 1501) != [old]
    again.logout()
    assert "restarting in" not in srv.log().split("Aerie starting up")[-1]


def test_an_idle_users_process_exits_and_the_next_login_starts_one(idle_srv):
    srv = idle_srv
    main = helpers.wait_for(lambda: [pid for pid in helpers.child_pids(srv.pid, "mail-service")
                                     if b"--run-as" not in helpers.cmdline_bytes(pid)],
                            timeout=15, what="the main mail service")
    c = login(srv, "carol")
    c.select("INBOX")
    [first] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    # A session keeps it: longer than idle_kill_interval with a session open, it stays.
    time.sleep(3)
    assert c.noop()[0] == "OK" and key_pids(srv, 1501) == [first]
    c.logout()
    helpers.wait_for(lambda: f"service(mail uid=1501 gid=1501): child {first} exited after idle_kill_interval"
                     in srv.log(), timeout=30, what="the idle exit")
    assert f"mail service (pid {first}): no session for idle_kill_interval (2 s): exiting" in srv.log()
    # Not a crash: no restart (the first restart after a crash comes after 1 s).
    time.sleep(3)
    assert key_pids(srv, 1501) == [] and gone(first)
    assert "restarting in" not in srv.log().split("Aerie starting up")[-1]
    # The next login starts a new process.
    again = login(srv, "carol")
    assert again.select("INBOX")[0] == "OK"
    append(again, "after-idle")
    [second] = key_pids(srv, 1501)
    assert second != first
    again.logout()
    # The main mail service (mail_uid's users and LMTP) stays, idle or not.
    a = login(srv, "alice")
    a.logout()
    assert [pid for pid in helpers.child_pids(srv.pid, "mail-service")
            if b"--run-as" not in helpers.cmdline_bytes(pid)] == main


@pytest.fixture
def debug_srv(aerie_bin, ca_dir, request, vmail):
    yield from make_server(aerie_bin, ca_dir, request, "uidpass", "\nmail_debug = yes")


def test_a_session_queued_for_a_process_that_ends_goes_to_a_new_one(debug_srv):
    """A hand-off the master passed to a process that then ends without reading it (retired and killed here; an
    idle exit racing a login likewise) is passed on to a new process of the key, not lost."""
    srv = debug_srv
    first = login(srv, "carol")
    [stopped] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    passed = "service(mail uid=1501 gid=1501): session passed to it"
    before = srv.log().count(passed)
    os.kill(stopped, signal.SIGSTOP)
    result: list = []

    def blocked_login() -> None:
        try:
            c = login(srv, "carol")
            result.append(c.select("INBOX")[0])
            c.logout()
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            result.append(error)

    thread = threading.Thread(target=blocked_login)
    thread.start()
    helpers.wait_for(lambda: srv.log().count(passed) > before, timeout=20, what="the hand-off passed to it")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {stopped} retires" in srv.log(), timeout=20, what="retiring")
    os.kill(stopped, signal.SIGKILL)
    thread.join(timeout=60)
    assert result == ["OK"], result
    assert "service(mail uid=1501 gid=1501): 1 session(s) left for a process that ended: passed on" in srv.log()
    [new] = key_pids(srv, 1501)
    assert new != stopped
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        first.noop()


def test_reload_applies_the_new_uid_range_to_the_next_login_and_keeps_the_open_session(srv):
    """SIGHUP with first_valid_uid raised past carol's uid: her next login is refused (the auth process and the
    master's router both read the new range), her open session goes on in the retiring process; dave's uid is
    still in range."""
    c = login(srv, "carol")
    c.select("INBOX")
    [old] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    srv.config.write_text(srv.config.read_text() + "\nfirst_valid_uid = 1502\n")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {old} retires" in srv.log(), timeout=20, what="carol's process retiring")
    refused = ("user=<carol>: mail access refused: uid 1501 is outside first_valid_uid/last_valid_uid",
               "Mail access for users with UID 1501 not permitted (see first_valid_uid in config file)")
    before = sum(srv.log().count(line) for line in refused)
    again = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)):
        again.login("carol", PASSWORD)
        again.select("INBOX")
    helpers.wait_for(lambda: sum(srv.log().count(line) for line in refused) > before, timeout=10,
                     what="the refusal in the log")
    assert key_pids(srv, 1501) == [old], "no new process for a refused uid"
    assert c.noop()[0] == "OK"
    append(c, "after-the-range-changed")
    d = login(srv, "dave")
    assert d.select("INBOX")[0] == "OK"
    d.logout()
    c.logout()
    helpers.wait_for(lambda: gone(old), timeout=20, what="carol's old process gone")


def test_reload_applies_mail_chroot_to_the_next_login(srv):
    """mail_chroot is the master's (the router places each user): after SIGHUP the next login gets a process of
    the new key, chrooted, with the home inside it."""
    homes = srv.directory / "home"
    c = login(srv, "carol")
    [old] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    assert os.readlink(f"/proc/{old}/root") == "/"
    srv.config.write_text(srv.config.read_text() + f"\nmail_chroot = {homes}\n")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {old} retires" in srv.log(), timeout=20, what="carol's process retiring")
    n = login(srv, "carol")
    assert n.select("INBOX")[0] == "OK"
    append(n, "chrooted")
    [new] = [pid for pid in key_pids(srv, 1501) if pid != old]
    assert os.readlink(f"/proc/{new}/root") == str(homes)
    assert f"service(mail uid=1501 gid=1501 chroot={homes}): started child {new}" in srv.log()
    n.logout()
    c.logout()


def test_a_rotated_log_is_reopened_by_a_retiring_process(srv):
    """logrotate renames the log file and sends SIGHUP: the master reopens it and passes it to the main mail
    service and every per-uid process (which may not open it themselves: their uid, a chroot), the retiring ones
    included."""
    a = login(srv, "alice")
    a.select("INBOX")
    c = login(srv, "carol")
    c.select("INBOX")
    [old] = helpers.wait_for(lambda: key_pids(srv, 1501), timeout=15, what="carol's process")
    rotated = srv.log_path.with_name(srv.log_path.name + ".1")
    srv.log_path.rename(rotated)
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {old} retires" in srv.log(), timeout=20, what="the retire in the new file")
    helpers.wait_for(lambda: f"mail service (pid {old}): reload: retiring" in srv.log(), timeout=20,
                     what="the retiring process logging into the new file")
    c.logout()
    helpers.wait_for(lambda: f"mail service (pid {old}): retired: its last session ended, exiting" in srv.log(),
                     timeout=20, what="its exit in the new file")
    assert any("imap(carol)" in line and "Logged out" in line for line in srv.log().splitlines()), srv.log()
    helpers.wait_for(lambda: "Configuration and certificates reloaded" in srv.log(), timeout=20,
                     what="the main mail service logging into the new file")
    a.logout()
    helpers.wait_for(lambda: any("imap(alice)" in line and "Logged out" in line for line in srv.log().splitlines()),
                     timeout=20, what="alice's logout in the new file")
    assert f"mail service (pid {old}): retired" not in rotated.read_text(errors="replace")
