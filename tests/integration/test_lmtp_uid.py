"""Issue 11, lmtp: LMTP writes each recipient's copy as that recipient's userdb uid/gid, never as root. Recipients
of the mail service's own uid (vmail) are written by the mail service; the others by a short-lived `aerie
lmtp-deliver` the master starts as their uid/gid after looking them up in the auth process itself. Real clients:
Python's smtplib.LMTP over the unix socket, and the raw LMTP client for the crash case. Runs as root, as CI does."""

from __future__ import annotations

import os
import signal
import smtplib
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import MAIL_DOMAIN, User, make_message, sha512_crypt
from test_auth_process import open_as

pytestmark = pytest.mark.timeout(300)

HOLD_ENV = "AERIE_TEST_LMTP_DELIVER_HOLD"
OTHER_UIDS = {"u1501": 1501, "u1502": 1502}


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    users = helpers.make_mail_users(["alice", "bob"])
    for name, uid in OTHER_UIDS.items():
        users[name] = User(name, helpers.MAIL_PASSWORD, sha512_crypt(helpers.MAIL_PASSWORD), uid, uid, True)
    users["rootuser"] = User("rootuser", "x", sha512_crypt("x"), 0, 0, False)
    users["lowuid"] = User("lowuid", "x", sha512_crypt("x"), 999, 999, False)
    # Above last_valid_uid / last_valid_gid (1600, below).
    users["highuid"] = User("highuid", "x", sha512_crypt("x"), 1700, 1503, False)
    users["highgid"] = User("highgid", "x", sha512_crypt("x"), 1503, 1700, False)
    directory = helpers.private_dir("lmtpuid")
    hold = directory / "hold"
    os.environ[HOLD_ENV] = str(hold)
    try:
        server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users, start=False,
                                          extra="last_valid_uid = 1600\nlast_valid_gid = 1600")
        # The users' homes belong to them (they need not exist in /etc/passwd); the mail user cannot enter them.
        for name, uid in OTHER_UIDS.items():
            home = server.directory / "home" / name
            os.chown(home, uid, uid)
            os.chmod(home, 0o700)
        server.start()
    finally:
        os.environ.pop(HOLD_ENV, None)
    server.hold = hold
    failed_before = request.session.testsfailed
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def message_files(server, user: str) -> list[Path]:
    return helpers.maildir_files(server.directory / "home" / user / "Maildir")


def lmtp_transaction(server, rcpts: list[str], msg: bytes) -> dict[str, tuple[int, bytes]]:
    """smtplib.LMTP driven by hand (its sendmail() reads one reply after DATA, LMTP gives one per recipient)."""
    c = smtplib.LMTP(str(server.lmtp_socket), timeout=helpers.READ_TIMEOUT)
    try:
        out = helpers.lmtp_send(c, "sender@example.org", rcpts, msg)
        c.quit()
        return out
    finally:
        c.close()


def test_each_copy_is_owned_by_its_recipient(srv, vmail):
    """One transaction to a vmail user and two users of their own uids: each file belongs to its recipient's
    uid/gid, mode 0600; the refused recipients (uid 0, uid below first_valid_uid, uid above last_valid_uid, gid above
    last_valid_gid) get a 5xx of their own and the others are delivered."""
    rcpts = [f"alice@{MAIL_DOMAIN}", f"u1501@{MAIL_DOMAIN}", f"rootuser@{MAIL_DOMAIN}", f"u1502@{MAIL_DOMAIN}",
             f"lowuid@{MAIL_DOMAIN}", f"highuid@{MAIL_DOMAIN}", f"highgid@{MAIL_DOMAIN}"]
    msg = make_message("uid-1@example.org", subject="per uid")
    got = lmtp_transaction(srv, rcpts, msg)
    for refused in ("rootuser", "lowuid", "highuid", "highgid"):
        code, text = got[f"{refused}@{MAIL_DOMAIN}"]
        assert 500 <= code < 600, (refused, code, text)
        assert not (srv.directory / "home" / refused / "Maildir").exists()
    expected = {"alice": vmail, "u1501": (1501, 1501), "u1502": (1502, 1502)}
    for user, (uid, gid) in expected.items():
        code, text = got[f"{user}@{MAIL_DOMAIN}"]
        assert code == 250, (user, code, text, srv.log()[-2000:])
        # One reply per RCPT, in RCPT order (RFC 2033 §4.2): each names its own recipient.
        assert f"<{user}@{MAIL_DOMAIN}>".encode() in text, (user, text)
        files = message_files(srv, user)
        assert len(files) == 1, (user, files)
        st = files[0].stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o600), user
        body = files[0].read_bytes()
        assert f"Delivered-To: {user}@{MAIL_DOMAIN}".encode() in body
        assert b"Message-ID: <uid-1@example.org>" in body
        # Everything the worker made in the user's Maildir is the user's, nothing root's or vmail's.
        for p in (srv.directory / "home" / user).rglob("*"):
            assert (p.stat().st_uid, p.stat().st_gid) == (uid, gid), p
    # The vmail user's copy reads back over IMAP.
    msgs = helpers.wait_for_messages(srv, "alice", 1)
    assert b"Message-ID: <uid-1@example.org>" in msgs[-1][1]
    # The worker ran as the recipient, started by the master; the mail service never became the recipient.
    assert "saved mail to INBOX" in srv.log()


def _deliver_in_thread(server, rcpts, msg, out):
    def run():
        out.update(helpers.lmtp_deliver(server.lmtp_socket, rcpts, msg))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_killed_worker_gives_451_and_a_retry_delivers_once(srv):
    """SIGKILL of `lmtp-deliver` mid-delivery: its recipient gets 451 (RFC 2033 §4.2, one reply per RCPT), the vmail
    recipient of the same transaction is delivered, and the MTA's retry delivers exactly one copy."""
    rcpt = f"u1502@{MAIL_DOMAIN}"
    before = len(message_files(srv, "u1502"))
    msg = make_message("uid-crash@example.org", subject="crash")
    srv.hold.write_text("")
    os.chmod(srv.hold, 0o644)
    out: dict = {}
    try:
        thread = _deliver_in_thread(srv, [f"bob@{MAIL_DOMAIN}", rcpt], msg, out)
        worker = helpers.wait_for(lambda: helpers.child_pids(srv.pid, "lmtp-deliver"), timeout=30,
                                  what="an lmtp-deliver worker")[0]
        status = Path(f"/proc/{worker}/status").read_text()
        assert "Uid:\t1502\t1502\t1502\t1502" in status, status
        assert "Gid:\t1502\t1502\t1502\t1502" in status, status
        assert "NoNewPrivs:\t1" in status
        # Confined as the other mail processes: no capabilities, root /, and as its uid and groups it opens neither
        # the users file (root:dovecot 0640) nor the TLS key.
        assert "CapEff:\t0000000000000000" in status and "CapPrm:\t0000000000000000" in status, status
        assert os.readlink(f"/proc/{worker}/root") == "/"
        for secret in (srv.directory / "users", srv.tls.key):
            assert open_as(worker, secret).returncode != 0, secret
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        srv.hold.unlink(missing_ok=True)
    assert out[rcpt][0] == 451, out
    assert out[f"bob@{MAIL_DOMAIN}"][0] == 250, out
    assert len(message_files(srv, "u1502")) == before
    again = helpers.lmtp_deliver(srv.lmtp_socket, [rcpt], msg)
    assert again[rcpt][0] == 250, again
    files = message_files(srv, "u1502")
    assert len(files) == before + 1
    assert sum(b"uid-crash@example.org" in p.read_bytes() for p in files) == 1


def test_workers_are_bounded_and_the_rest_wait(srv):
    """Ten transactions at once for a user of another uid: at most 8 `lmtp-deliver` workers run, the others wait
    for a free one, and every message is delivered exactly once."""
    srv.hold.write_text("")
    os.chmod(srv.hold, 0o644)
    threads, outs = [], []
    try:
        for i in range(10):
            out: dict = {}
            outs.append(out)
            msg = make_message(f"uid-many-{i}@example.org", subject="many")
            threads.append(_deliver_in_thread(srv, [f"u1501@{MAIL_DOMAIN}"], msg, out))
        helpers.wait_for(lambda: len(helpers.child_pids(srv.pid, "lmtp-deliver")) >= 8, timeout=60,
                         what="eight lmtp-deliver workers")
        time.sleep(1)
        assert len(helpers.child_pids(srv.pid, "lmtp-deliver")) == 8
    finally:
        srv.hold.unlink(missing_ok=True)
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert all(out[f"u1501@{MAIL_DOMAIN}"][0] == 250 for out in outs), outs
    bodies = [p.read_bytes() for p in message_files(srv, "u1501")]
    for i in range(10):
        assert sum(f"uid-many-{i}@example.org".encode() in b for b in bodies) == 1, i


@pytest.fixture(scope="module")
def jailed(aerie_bin, ca_dir, request, vmail):
    """With the login process (IMAP sessions per uid/gid/chroot) and `mail_chroot = DIR/jail`: jim is chrooted by
    `/./` in his home, kim by mail_chroot with a home outside it (so /home/kim inside the jail)."""
    directory = helpers.private_dir("lmtpjail")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users([]), start=False,
                                      extra="login_process = yes\nssl = yes\nauth_allow_cleartext = yes\n"
                                            f"mail_chroot = {directory / 'srv' / 'jail'}")
    stored = sha512_crypt(helpers.MAIL_PASSWORD)
    jail = server.directory / "jail"
    for name, uid in (("jim", 1503), ("kim", 1504)):
        (jail / "home" / name).mkdir(parents=True)
        os.chown(jail / "home" / name, uid, uid)
        os.chmod(jail / "home" / name, 0o700)
    # lena is the mail user itself (mail_uid): chrooted by mail_chroot all the same.
    vmail_uid, vmail_gid = helpers.vmail_ids()
    (jail / "home" / "lena").mkdir(parents=True)
    os.chown(jail / "home" / "lena", vmail_uid, vmail_gid)
    os.chmod(jail / "home" / "lena", 0o700)
    lines = [f"jim:{stored}:1503:1503::{jail}/./home/jim::", f"kim:{stored}:1504:1504::/home/kim::",
             f"lena:{stored}:{vmail_uid}:{vmail_gid}::/home/lena::"]
    server.hold = directory / "hold"
    os.environ[HOLD_ENV] = str(server.hold)
    fixture = helpers.serve_module(server, directory, request, lines)
    try:
        started = next(fixture)
    finally:
        os.environ.pop(HOLD_ENV, None)
    yield started
    next(fixture, None)


def test_a_chrooted_recipient_is_written_in_its_chroot(jailed):
    """A recipient whose IMAP sessions are chrooted (`/./` in the home, mail_chroot) gets its copy from an
    `lmtp-deliver` chrooted the same way (/proc/PID/root), at the path its IMAP session reads, owned by it."""
    jail = jailed.directory / "jail"
    expected = {"jim": 1503, "kim": 1504}
    msg = make_message("jailed@example.org", subject="jailed")
    jailed.hold.write_text("")
    os.chmod(jailed.hold, 0o644)
    out: dict = {}
    try:
        thread = _deliver_in_thread(jailed, [f"{name}@{MAIL_DOMAIN}" for name in expected], msg, out)
        helpers.wait_for(lambda: len(helpers.child_pids(jailed.pid, "lmtp-deliver")) == 2, timeout=30,
                         what="two lmtp-deliver workers")

        def confined() -> bool:
            roots = {}
            for pid in helpers.child_pids(jailed.pid, "lmtp-deliver"):
                uid = Path(f"/proc/{pid}/status").read_text().split("Uid:\t")[1].split("\t")[0]
                roots[int(uid)] = os.readlink(f"/proc/{pid}/root")
            return roots == {uid: str(jail) for uid in expected.values()}

        # The workers wait for the hold file after their chroot and privilege drop.
        helpers.wait_for(confined, timeout=30, what="both workers chrooted to the jail as their uid")
    finally:
        jailed.hold.unlink(missing_ok=True)
    thread.join(timeout=60)
    assert not thread.is_alive()
    for name, uid in expected.items():
        code, text = out[f"{name}@{MAIL_DOMAIN}"]
        assert code == 250, (name, code, text, jailed.log()[-2000:])
        files = helpers.maildir_files(jail / "home" / name / "Maildir")
        assert len(files) == 1, (name, files)
        st = files[0].stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, uid, 0o600), name
        # The user's IMAP session (its own chrooted mail process) reads the copy the worker wrote.
        msgs = helpers.wait_for_messages(jailed, name, 1)
        assert b"Message-ID: <jailed@example.org>" in msgs[-1][1]
    assert not Path("/home/kim/Maildir").exists()
    assert f"lmtp-deliver: chrooted to {jail} (uid 1504 gid 1504)" in jailed.log()


def test_a_chrooted_recipient_of_the_mail_user_is_written_in_its_chroot(jailed):
    """mail_chroot applies to the mail user's own recipients too: their IMAP sessions run in a chrooted process of
    their own, so the mail service (unchrooted) hands their copy to a chrooted `lmtp-deliver` as the mail user,
    which writes it where that session reads, never at the raw home."""
    jail = jailed.directory / "jail"
    vmail_uid, vmail_gid = helpers.vmail_ids()
    msg = make_message("lena@example.org", subject="jailed mail user")
    out = lmtp_transaction(jailed, [f"lena@{MAIL_DOMAIN}"], msg)
    code, text = out[f"lena@{MAIL_DOMAIN}"]
    assert code == 250, (code, text, jailed.log()[-2000:])
    files = helpers.maildir_files(jail / "home" / "lena" / "Maildir")
    assert len(files) == 1, files
    st = files[0].stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (vmail_uid, vmail_gid, 0o600)
    assert not Path("/home/lena").exists()
    assert f"lmtp-deliver: chrooted to {jail} (uid {vmail_uid} gid {vmail_gid})" in jailed.log()
    msgs = helpers.wait_for_messages(jailed, "lena", 1)
    assert b"Message-ID: <lena@example.org>" in msgs[-1][1]


@pytest.fixture
def reloading(aerie_bin, ca_dir, request, vmail):
    """With the login process and no mail_chroot yet: kim's home lies in DIR/jail."""
    directory = helpers.private_dir("lmtpreload")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users([]), start=False,
                                      extra="login_process = yes\nssl = yes\nauth_allow_cleartext = yes")
    jail = server.directory / "jail"
    (jail / "home" / "kim").mkdir(parents=True)
    os.chown(jail / "home" / "kim", 1504, 1504)
    os.chmod(jail / "home" / "kim", 0o700)
    stored = sha512_crypt(helpers.MAIL_PASSWORD)
    yield from helpers.serve_module(server, directory, request, [f"kim:{stored}:1504:1504::{jail}/home/kim::"])


def test_a_reload_applies_mail_chroot_to_the_next_delivery(reloading):
    """mail_chroot is read by the master, which starts the workers: after SIGHUP the next copy is written by a
    worker chrooted to it, as kim's next IMAP session is."""
    srv = reloading
    jail = srv.directory / "jail"
    rcpt = f"kim@{MAIL_DOMAIN}"
    out = lmtp_transaction(srv, [rcpt], make_message("before@example.org", subject="before"))
    assert out[rcpt][0] == 250, out
    assert "lmtp-deliver: chrooted to" not in srv.log()
    srv.config.write_text(srv.config.read_text() + f"\nmail_chroot = {jail}\n")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: "Configuration and certificates reloaded" in srv.log(), timeout=20, what="the reload")
    out = lmtp_transaction(srv, [rcpt], make_message("after@example.org", subject="after"))
    assert out[rcpt][0] == 250, (out, srv.log()[-2000:])
    assert f"lmtp-deliver: chrooted to {jail} (uid 1504 gid 1504)" in srv.log()
    assert len(helpers.maildir_files(jail / "home" / "kim" / "Maildir")) == 2
