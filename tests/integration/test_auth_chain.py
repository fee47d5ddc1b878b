"""Issue 12 (directories), items 1-4 with real clients: passdbs in order, a deny list, allow_nets, nologin with a
reason, master users (`user*master`) and a static userdb, over imaplib and poplib."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import socket

import pytest

import helpers
from helpers import IMAPFrom
from helpers import MAIL_PASSWORD

pytestmark = pytest.mark.timeout(300)

SECOND_PASSWORD = "Second-Pw-4kLm"
MASTER_PASSWORD = "Master-Pw-8sQz"
ALLOWED_SOURCE = "127.0.0.2"

AUTH = """\
auth_failure_delay = 100 ms
auth_master_user_separator = *
auth_cache_size = 1M
passdb deny-list {
  driver = passwd-file
  passwd_file_path = DIR/deny
  deny = yes
}
passdb masters {
  driver = passwd-file
  passwd_file_path = DIR/masters
  master = yes
  pass = yes
}
passdb passwd-file {
  passwd_file_path = DIR/users
}
passdb second {
  driver = passwd-file
  passwd_file_path = DIR/users2
}
userdb static {
  fields {
    uid = vmail
    gid = vmail
    home = DIR/home/%{user}
  }
}
"""


def private_file(path, text: str) -> None:
    """Written as Dovecot keeps passwd-files: root:dovecot 0640, read by the auth process."""
    path.write_text(text)
    os.chown(path, 0, helpers.internal_gid())
    os.chmod(path, 0o640)


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    uid, gid = vmail
    failed_before = request.session.testsfailed
    directory = helpers.private_dir("authchain")
    users = helpers.make_mail_users(["alice", "bob", "carol", "netted", "locked"])
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users, start=False)
    root = server.directory
    stored = helpers.sha512_crypt(MAIL_PASSWORD)
    with open(root / "users", "a") as f:
        f.write(f"netted2:{stored}::::::allow_nets={ALLOWED_SOURCE}/32,2001:db8::/32\n")
        f.write(f"locked2:{stored}::::::nologin reason=Account_moved_to_the_new_server\n")
    private_file(root / "users2", f"dave:{helpers.sha512_crypt(SECOND_PASSWORD)}::::::\n"
                                  f"alice:{helpers.sha512_crypt(SECOND_PASSWORD)}::::::\n")
    private_file(root / "deny", "bob\n")
    private_file(root / "masters", f"admin:{helpers.sha512_crypt(MASTER_PASSWORD)}::::::\n")
    for name in ("dave", "netted2", "locked2"):
        home = root / "home" / name
        home.mkdir(exist_ok=True)
        os.chown(home, uid, gid)
        os.chmod(home, 0o700)
    text = server.config.read_text()
    # The mail configuration's passwd-file passdb and userdb give way to the chain under test.
    text = re.sub(r"passdb passwd-file \{\n  passwd_file_path = [^\n]*\n\}\nuserdb passwd-file \{\n"
                  r"  passwd_file_path = [^\n]*\n\}\n", "", text)
    assert "passdb" not in text, text
    server.config.write_text(text + "\n" + AUTH.replace("DIR", str(root)))
    server.start()
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def imap_login(server, user: str, password: str, source: str = "127.0.0.1") -> bool:
    c = IMAPFrom(source, server)
    try:
        # imaplib sends the name as an atom, where "*" (a LIST wildcard) is not allowed: quote it.
        c.login(f'"{user}"', password)
        c.select("INBOX")
        c.logout()
        return True
    except imaplib.IMAP4.error:
        c.shutdown()
        return False


def pop3_login(server, user: str, password: str) -> bool:
    c = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=helpers.client_context(server.tls.ca), timeout=30)
    try:
        c.user(user)
        c.pass_(password)
        c.quit()
        return True
    except poplib.error_proto:
        c.close()
        return False


def test_passdbs_are_tried_in_order(srv):
    # dave is only in the second passdb; alice is in both, with different passwords.
    assert imap_login(srv, "dave", SECOND_PASSWORD)
    assert pop3_login(srv, "dave", SECOND_PASSWORD)
    assert imap_login(srv, "alice", MAIL_PASSWORD)
    # The first passdb's mismatch continues (result_failure = continue): the second accepts its own password.
    assert imap_login(srv, "alice", SECOND_PASSWORD)
    assert not imap_login(srv, "dave", MAIL_PASSWORD)
    assert not imap_login(srv, "nobody", MAIL_PASSWORD)


def test_static_userdb_gives_uid_gid_and_home(srv):
    assert imap_login(srv, "dave", SECOND_PASSWORD)
    maildir = srv.directory / "home" / "dave" / "Maildir"
    assert maildir.is_dir(), srv.log()[-2000:]
    assert maildir.stat().st_uid == helpers.vmail_ids()[0]
    # A delivery lookup with a static userdb asks the passdbs whether the user exists.
    with helpers.LMTPClient(srv.lmtp_socket, timeout=10) as lmtp:
        lmtp.lhlo()
        assert lmtp.cmd("MAIL FROM:<sender@example.org>")[0] == 250
        assert lmtp.cmd(f"RCPT TO:<dave@{helpers.MAIL_DOMAIN}>")[0] == 250
        assert lmtp.cmd(f"RCPT TO:<ghost@{helpers.MAIL_DOMAIN}>")[0] == 550


def test_deny_list_refuses_a_correct_password(srv):
    assert not imap_login(srv, "bob", MAIL_PASSWORD)
    assert not pop3_login(srv, "bob", MAIL_PASSWORD)
    assert re.search(r"passwd-file\(bob,127\.0\.0\.1[^)]*\): User found from deny passdb", srv.log())
    assert imap_login(srv, "carol", MAIL_PASSWORD)


def test_allow_nets_refuses_other_networks(srv):
    assert not imap_login(srv, "netted2", MAIL_PASSWORD)
    assert "allow_nets check failed: IP 127.0.0.1 not in allowed networks" in srv.log()
    assert imap_login(srv, "netted2", MAIL_PASSWORD, source=ALLOWED_SOURCE)


def test_nologin_with_reason(srv):
    assert not imap_login(srv, "locked2", MAIL_PASSWORD)
    assert "Login disabled by nologin (Account_moved_to_the_new_server)" in srv.log()


def test_master_user_logs_in_as_the_user(srv):
    assert imap_login(srv, "carol*admin", MASTER_PASSWORD)
    assert re.search(r"Master user admin logging in as carol", srv.log())
    assert not imap_login(srv, "carol*admin", MAIL_PASSWORD)  # the user's own password is not the master's
    assert not imap_login(srv, "admin", MASTER_PASSWORD)  # a master user is no ordinary user
    # pass = yes: the target must pass the ordinary passdbs too (the deny list, nologin).
    assert not imap_login(srv, "bob*admin", MASTER_PASSWORD)
    assert not imap_login(srv, "locked2*admin", MASTER_PASSWORD)
    assert pop3_login(srv, "carol*admin", MASTER_PASSWORD)


def test_no_password_or_hash_in_the_log(srv):
    log = srv.log()
    for secret in (MAIL_PASSWORD, SECOND_PASSWORD, MASTER_PASSWORD):
        assert f" {secret}" not in log and f"={secret}" not in log
    for line in (srv.directory / "masters").read_text().splitlines():
        assert line.split(":")[1].split("}")[1] not in log


def adm(srv, *arguments: str):
    return helpers.run([srv.binary, "adm", *arguments, "-c", str(srv.config)], timeout=30)


def test_adm_auth_test_lookup_user_and_cache_flush(srv):
    r = adm(srv, "auth", "test", "dave", SECOND_PASSWORD)
    assert r.returncode == 0 and r.stdout.startswith("passdb: dave auth succeeded"), r.stdout + r.stderr
    assert f"home={srv.directory}/home/dave" in r.stdout
    r = adm(srv, "auth", "test", "dave", "wrong")
    assert r.returncode == 1 and "password mismatch" in r.stderr, r.stdout + r.stderr
    r = adm(srv, "auth", "test", "carol*admin", MASTER_PASSWORD)
    assert r.returncode == 0 and r.stdout.startswith("passdb: carol auth succeeded"), r.stdout + r.stderr
    r = adm(srv, "auth", "lookup", "netted2")
    assert r.returncode == 0 and "allow_nets=127.0.0.2/32,2001:db8::/32" in r.stdout, r.stdout + r.stderr
    assert "SHA512" not in r.stdout and "$6$" not in r.stdout
    r = adm(srv, "user", "dave")
    assert r.returncode == 0 and f"uid={helpers.vmail_ids()[0]}" in r.stdout, r.stdout + r.stderr
    assert adm(srv, "user", "ghost").returncode == 1
    # auth_cache_size = 1M: the logins above left entries; flush one user, then all.
    r = adm(srv, "auth", "cache", "flush", "dave")
    assert r.returncode == 0 and re.fullmatch(r"[1-9]\d* cache entries flushed\n", r.stdout), r.stdout + r.stderr
    r = adm(srv, "auth", "cache", "flush")
    assert r.returncode == 0 and r.stdout.endswith("cache entries flushed\n"), r.stdout + r.stderr
    assert "auth cache flushed for dave by aerie adm" in srv.log()
    assert SECOND_PASSWORD not in srv.log() and MASTER_PASSWORD not in srv.log()


def test_adm_user_lists_passwd_file_users(aerie_bin, ca_dir, vmail, srv):
    """`aerie adm user -A` lists every user line of a passwd-file userdb (comments and blank lines are not users),
    `aerie adm user MASK` the matching ones; a chain without a userdb that can list (static) says so."""
    directory = helpers.private_dir("listing")
    try:
        users = helpers.make_mail_users(["alice", "bob", "carol", "Dave.Smith"])
        server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users, start=False)
        with open(server.directory / "users", "a") as f:
            f.write("# a comment:x::::::\n\nerin@example.org:{PLAIN}x::::::\n")
        server.start()
        try:
            r = adm(server, "user", "-A")
            assert r.returncode == 0, r.stdout + r.stderr
            assert r.stdout.split() == sorted(["alice", "bob", "carol", "Dave.Smith", "erin@example.org"]), r.stdout
            r = adm(server, "user", "*@example.org")
            assert (r.returncode, r.stdout) == (0, "erin@example.org\n"), r.stdout + r.stderr
            r = adm(server, "user", "dave.*")
            assert (r.returncode, r.stdout) == (0, "Dave.Smith\n"), r.stdout + r.stderr
            assert adm(server, "user", "alice").stdout.startswith("userdb: alice")
            assert "users listed for mask *@example.org" in server.log()
        finally:
            assert server.stop_if_running() == 0, server.log()[-2000:]
    finally:
        helpers.remove_private_dir(directory)
    r = adm(srv, "user", "-A")
    assert r.returncode == 1 and "no userdb can list its users" in r.stderr, r.stdout + r.stderr
    r = adm(srv, "user")
    assert r.returncode != 0 and "-A" in r.stderr, r.stdout + r.stderr


def test_cache_answers_until_the_password_changes(srv):
    """auth_cache_size = 1M: a cached login needs no passwd-file read (the old password still works after the file
    changed); the new password is checked against the backend once, and from then on the old one fails."""
    import time

    users2 = srv.directory / "users2"
    original = users2.read_text()
    new_password = "Changed-Pw-2pXc"
    assert adm(srv, "auth", "cache", "flush").returncode == 0
    assert imap_login(srv, "dave", SECOND_PASSWORD)
    try:
        private_file(users2, f"dave:{helpers.sha512_crypt(new_password)}::::::\n")
        time.sleep(1.2)  # past the passwd-file's once-a-second re-check: a read would see the new hash
        assert imap_login(srv, "dave", SECOND_PASSWORD)  # answered from the auth cache
        assert imap_login(srv, "dave", new_password)  # a mismatch with the cached hash asks the backend
        assert not imap_login(srv, "dave", SECOND_PASSWORD)
        assert adm(srv, "auth", "cache", "flush", "dave").returncode == 0
        assert imap_login(srv, "dave", new_password)
    finally:
        private_file(users2, original)
