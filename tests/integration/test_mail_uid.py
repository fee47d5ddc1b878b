"""Issue 11 (mail processes per uid/gid/chroot): with `login_process = yes`, the master redeems each hand-off's
one-time token with the auth process and passes the connection to the mail process of the user's uid/gid/chroot
from the userdb: the `mail` child (vmail) for vmail's users, else `aerie mail-service --run-as UID:GID` (started on
demand, one per key, as that uid/gid with only that group, no_new_privs, chrooted when the userdb says so)."""

from __future__ import annotations

import imaplib
import poplib
import os
import re
import signal
import time
from pathlib import Path

import pytest

import helpers
from test_auth_process import open_as

pytestmark = pytest.mark.timeout(300)

EXTRA = "login_process = yes\nssl = yes\nauth_allow_cleartext = yes\nlast_valid_uid = 1600\nlast_valid_gid = 1600"
PASSWORD = helpers.MAIL_PASSWORD


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    directory = helpers.private_dir("mailuid") / "srv"
    users = helpers.make_mail_users(["alice"])
    server = helpers.make_mail_server(aerie_bin, directory, ca_dir, users, extra=EXTRA, start=False)
    homes = server.directory / "home"
    stored = helpers.sha512_crypt(PASSWORD)
    lines = [f"alice:{stored}:{vmail[0]}:{vmail[1]}::{homes / 'alice'}::"]
    # Users of their own uids (not in /etc/passwd): their homes are theirs, 0700.
    lines += [helpers.own_uid_user(homes, name, uid, stored) for name, uid in (("carol", 1501), ("dave", 1502))]
    # Refused: root, and a uid below first_valid_uid = 1000.
    lines.append(f"rooted:{stored}:0:0::{homes / 'rooted'}::")
    lines.append(f"lowuid:{stored}:900:900::{homes / 'lowuid'}::")
    # And above last_valid_uid / last_valid_gid = 1600.
    lines.append(f"highuid:{stored}:1700:1504::{homes / 'highuid'}::")
    lines.append(f"highgid:{stored}:1504:1700::{homes / 'highgid'}::")
    # Chrooted by `/./` in the home: chroot DIR/jail, home /home/jim inside it.
    jail = server.directory / "jail"
    (jail / "home" / "jim").mkdir(parents=True)
    os.chown(jail / "home" / "jim", 1503, 1503)
    os.chmod(jail / "home" / "jim", 0o700)
    lines.append(f"jim:{stored}:1503:1503::{jail}/./home/jim::")
    yield from helpers.serve_module(server, directory.parent, request, lines)


def login(server, name: str) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=15)
    c.login(name, PASSWORD)
    return c


def key_process(server, uid: int, timeout: float = 15) -> int:
    """The running `aerie mail-service --run-as UID:UID` child of the master, once it has dropped to the uid."""
    found: list[int] = []

    def one() -> bool:
        found[:] = [pid for pid in helpers.child_pids(server.pid, "mail-service")
                    if f"--run-as\0{uid}:{uid}".encode() in helpers.cmdline_bytes(pid)
                    and status(pid)["Uid"][0] == str(uid)]
        return len(found) == 1

    helpers.wait_for(one, timeout=timeout, what=f"the mail process of uid {uid}")
    return found[0]


def status(pid: int) -> dict[str, list[str]]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: re.search(rf"^{key}:\s*(.*)$", text, re.M).group(1).split()
            for key in ("Uid", "Gid", "Groups", "NoNewPrivs", "CapEff")}


def append(c: imaplib.IMAP4, subject: str) -> None:
    typ, data = c.append("INBOX", None, None, helpers.make_message(f"{subject}@example.org", subject=subject))
    assert typ == "OK", data


def test_each_uid_writes_its_own_files_from_its_own_process(srv):
    clients = {name: login(srv, name) for name in ("carol", "dave", "alice")}
    for name, c in clients.items():
        append(c, f"for-{name}")
    for name, uid in (("carol", 1501), ("dave", 1502)):
        files = helpers.maildir_files(srv.directory / "home" / name / "Maildir")
        assert files, name
        for f in files:
            info = os.stat(f)
            assert (info.st_uid, info.st_gid) == (uid, uid), f
        pid = key_process(srv, uid)
        ids = status(pid)
        assert ids["Uid"] == [str(uid)] * 4 and ids["Gid"] == [str(uid)] * 4, ids
        assert ids["Groups"] == [str(uid)], ids
        assert ids["NoNewPrivs"] == ["1"] and ids["CapEff"] == ["0000000000000000"], ids
        assert f"service(mail uid={uid} gid={uid}): started child {pid}" in srv.log()
        # One process per key: a second login of the same user goes to the same one.
        again = login(srv, name)
        again.select("INBOX")
        assert key_process(srv, uid) == pid
        again.logout()
    vmail_uid = helpers.vmail_ids()[0]
    for f in helpers.maildir_files(srv.directory / "home" / "alice" / "Maildir"):
        assert os.stat(f).st_uid == vmail_uid
    # vmail's users stay in the `mail` child: no process of their own.
    assert not [pid for pid in helpers.child_pids(srv.pid, "mail-service")
                if f"{vmail_uid}:".encode() in helpers.cmdline_bytes(pid)]
    for c in clients.values():
        c.logout()


def test_one_users_process_cannot_open_anothers_maildir(srv):
    c = login(srv, "carol")
    c.select("INBOX")
    d = login(srv, "dave")
    append(d, "private")
    carol = key_process(srv, 1501)
    for f in helpers.maildir_files(srv.directory / "home" / "dave" / "Maildir"):
        assert open_as(carol, f).returncode != 0, f
    assert open_as(key_process(srv, 1502), helpers.maildir_files(srv.directory / "home" / "dave" / "Maildir")[0]) \
        .returncode == 0
    c.logout()
    d.logout()


def test_root_and_out_of_range_uids_are_refused(srv):
    """uid 0, a uid below first_valid_uid, above last_valid_uid, a gid above last_valid_gid: no login, no process."""
    for name, kind, number in (("rooted", "UID", 0), ("lowuid", "UID", 900), ("highuid", "UID", 1700),
                               ("highgid", "GID", 1700)):
        c = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
        with pytest.raises(imaplib.IMAP4.error):
            c.login(name, PASSWORD)
        c.shutdown()
        helpers.wait_for(lambda: f"Mail access for users with {kind} {number} not permitted" in srv.log(),
                         timeout=10, what=f"{kind} {number} refused in the log")
    started = b"".join(helpers.cmdline_bytes(pid) for pid in helpers.child_pids(srv.pid, "mail-service"))
    for refused in (b"0:", b"900:", b"1700:", b"1504:1700"):
        assert b"--run-as\x00" + refused not in started, refused


def test_killing_one_users_process_leaves_the_others_session(srv):
    """SIGKILL of one uid's mail process: only its sessions close, another uid's goes on, and what it acknowledged
    (an APPEND) is there after the restart."""
    c = login(srv, "carol")
    c.select("INBOX")
    d = login(srv, "dave")
    d.select("INBOX")
    append(d, "acked-before-kill")
    victim = key_process(srv, 1502)
    os.kill(victim, signal.SIGKILL)
    helpers.wait_for(lambda: f"service(mail uid=1502 gid=1502): child {victim} killed with signal 9" in srv.log(),
                     timeout=10, what="the kill in the master's log")
    assert c.noop()[0] == "OK"
    append(c, "still-here")
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        d.noop()
    # The next login of the killed key works (its process is started again).
    again = login(srv, "dave")
    assert again.select("INBOX")[0] == "OK"
    typ, data = again.search(None, "HEADER", "Message-ID", "acked-before-kill@example.org")
    assert typ == "OK" and len(data[0].split()) == 1, data
    assert key_process(srv, 1502) != victim
    again.logout()
    c.logout()


def test_killing_the_mail_service_leaves_other_uids_sessions(srv):
    """SIGKILL of the `mail` child (vmail's users): a session in another uid's process goes on; vmail's user logs
    in again once it is back and finds what was acknowledged before the kill."""
    c = login(srv, "carol")
    c.select("INBOX")
    a = login(srv, "alice")
    append(a, "alice-acked-before-kill")
    victim = srv.mail_pid
    os.kill(victim, signal.SIGKILL)
    helpers.wait_for(lambda: f"service(mail): child {victim} killed with signal 9" in srv.log(), timeout=10,
                     what="the kill in the master's log")
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        a.noop()
    assert c.noop()[0] == "OK"
    append(c, "carol-after-the-kill")
    helpers.wait_for(lambda: srv.mail_pid != victim, timeout=20, what="a new mail service")
    again = login(srv, "alice")
    assert again.select("INBOX")[0] == "OK"
    typ, data = again.search(None, "HEADER", "Message-ID", "alice-acked-before-kill@example.org")
    assert typ == "OK" and len(data[0].split()) == 1, data
    again.logout()
    c.logout()


def test_a_users_process_holds_no_capability_and_cannot_read_the_secrets(srv):
    """As its uid and groups, a per-uid mail process can open neither the users file (root:dovecot 0640) nor the
    TLS key; it has no capabilities, every thread no_new_privs, and (no chroot in its userdb) root /."""
    c = login(srv, "carol")
    c.select("INBOX")
    pid = key_process(srv, 1501)
    users = srv.directory / "users"
    dovecot_gid = helpers.internal_gid()
    assert (users.stat().st_uid, users.stat().st_gid, users.stat().st_mode & 0o777) == (0, dovecot_gid, 0o640)
    for secret in (users, srv.tls.key):
        assert open_as(pid, secret).returncode != 0, secret
    text = Path(f"/proc/{pid}/status").read_text()
    assert re.search(r"^CapPrm:\s*0+$", text, re.M) and re.search(r"^CapEff:\s*0+$", text, re.M), text
    assert helpers.privilege_problems(pid, 1501) == []
    assert os.readlink(f"/proc/{pid}/root") == "/"
    c.logout()


def test_a_chroot_in_the_home_confines_the_users_process(srv):
    c = login(srv, "jim")
    append(c, "jailed")
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"], data
    pid = key_process(srv, 1503)
    jail = srv.directory / "jail"
    assert os.readlink(f"/proc/{pid}/root") == str(jail)
    files = helpers.maildir_files(jail / "home" / "jim" / "Maildir")
    assert files and os.stat(files[0]).st_uid == 1503
    c.logout()
    assert f"service(mail uid=1503 gid=1503 chroot={jail}): started child {pid}" in srv.log()


def test_mail_chroot_is_refused_without_the_login_process(srv, aerie_bin):
    """Only the per-key mail processes chroot: without login_process = yes, mail_chroot is refused, not ignored."""
    jail = srv.directory / "jail"
    config = srv.directory / "chroot.conf"
    config.write_text(srv.config.read_text() + f"\nmail_chroot = {jail}\n")
    ok = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    config.write_text(srv.config.read_text().replace("login_process = yes", "login_process = no")
                      + f"\nmail_chroot = {jail}\n")
    bad = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    assert bad.returncode != 0
    assert f"mail_chroot = {jail} needs login_process = yes" in bad.stdout + bad.stderr, bad


def test_pop3_and_sighup_reach_the_users_process(srv):
    c = login(srv, "carol")
    append(c, "by-pop3")
    pid = key_process(srv, 1501)
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=15)
    p.user("carol")
    assert p.pass_(PASSWORD).startswith(b"+OK")
    count, _ = p.stat()
    assert count >= 1
    p.quit()
    # SIGHUP of the master retires the per-uid processes (test_mail_uid_reload.py): this one keeps its session and
    # ends after it.
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: f"child {pid} retires" in srv.log(), timeout=20, what="the process retiring")
    assert c.noop()[0] == "OK"
    c.logout()
    helpers.wait_for(lambda: f"retired child {pid} exited with status 0" in srv.log(), timeout=20,
                     what="the retired process gone")
    c = login(srv, "carol")
    assert key_process(srv, 1501) != pid
    # SIGTERM of the master stops every mail process, with a session or not.
    pids = [p for p in helpers.child_pids(srv.pid, "mail-service")]
    assert len(pids) >= 2
    assert srv.stop() == 0
    for p in pids:
        assert not Path(f"/proc/{p}").exists() or "zombie" in Path(f"/proc/{p}/status").read_text()
