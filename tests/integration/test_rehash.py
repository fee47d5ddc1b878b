"""Rehash on login (issue 12 item 5) with real clients: with `auth_rehash_scheme = ARGON2ID`, a SHA512-CRYPT user's
successful IMAP login leaves an ARGON2ID hash in the users file that `doveadm pw -t` verifies, every other byte of
the file unchanged, owner and mode kept (root:dovecot 0640). The file sits in a root-owned 0755 directory, where the
auth process (default_internal_user) cannot create a temp file: the auth supervisor writes it. A TOTP user is
rehashed with the password only; without the setting nothing changes."""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import stat
import subprocess
import time
import urllib.parse

import pytest

import helpers

pytestmark = pytest.mark.timeout(300)

PW = "Rehash-Pw-7kQ"
# A comment, a CRLF line and extra fields around the users: all must survive byte for byte.
HEAD = b"# users file, edited by hand\r\n\n"
TAIL = b"extra:{PLAIN}x:5000:5000::/nonexistent::userdb_quota_rule=*:storage=1G nologin\r\n# end\n"


def make_server(aerie_bin, ca_dir, name: str, extra: str):
    directory = helpers.private_dir(name)
    users = helpers.make_mail_users(["alice", "bob", "tfa"], password=PW)
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users,
                                      extra=f"state_dir = {directory}/state\n{extra}", start=False)
    path = server.directory / "users"
    path.write_bytes(HEAD + path.read_bytes() + TAIL)
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, helpers.internal_gid(), 0o640)
    dir_info = os.stat(server.directory)
    assert (dir_info.st_uid, stat.S_IMODE(dir_info.st_mode)) == (0, 0o755)
    return directory, server.start()


@pytest.fixture(scope="module")
def rehash_server(aerie_bin, ca_dir, vmail, request):
    if shutil.which("doveadm") is None or shutil.which("oathtool") is None:
        pytest.fail("doveadm and oathtool needed (scripts/test.sh installs dovecot-core and oathtool)")
    failed_before = request.session.testsfailed
    directory, server = make_server(aerie_bin, ca_dir, "rehash", "auth_rehash_scheme = ARGON2ID")
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def login(server, user: str, password: str) -> bool:
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                          timeout=helpers.READ_TIMEOUT)
    try:
        c.login(user, password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def lines(server) -> list[bytes]:
    return (server.directory / "users").read_bytes().split(b"\n")


def field(server, user: str) -> str:
    line = next(x for x in lines(server) if x.startswith(user.encode() + b":"))
    return line.split(b":")[1].decode()


def doveadm_verifies(stored: str, password: str) -> bool:
    r = subprocess.run(["doveadm", "pw", "-t", stored, "-p", password], capture_output=True, text=True)
    return r.returncode == 0 and "verified" in r.stdout + r.stderr


def test_sha512_crypt_user_is_rehashed_to_argon2id_by_the_supervisor(rehash_server):
    path = rehash_server.directory / "users"
    before = lines(rehash_server)
    old = field(rehash_server, "alice")
    assert old.startswith("{SHA512-CRYPT}")
    assert login(rehash_server, "alice", PW)
    new = field(rehash_server, "alice")
    assert new.startswith("{ARGON2ID}$argon2id$"), new
    assert doveadm_verifies(new, PW)
    assert not doveadm_verifies(new, PW + "x")
    after = lines(rehash_server)
    assert len(after) == len(before)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(changed) == 1 and changed[0][1] == changed[0][0].replace(old.encode(), new.encode())
    assert path.read_bytes().startswith(HEAD) and path.read_bytes().endswith(TAIL)
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, helpers.internal_gid(), 0o640)
    # The next login works (from the new hash: the cache entry was flushed), and nothing is rewritten again.
    assert login(rehash_server, "alice", PW)
    assert not login(rehash_server, "alice", PW + "x")
    assert field(rehash_server, "alice") == new
    log = rehash_server.log()
    assert len(re.findall(r"alice.*password rehashed from SHA512-CRYPT to ARGON2ID", log)) == 1, log[-3000:]
    assert PW not in log and new.split("$")[-1] not in log
    assert not [n for n in os.listdir(rehash_server.directory) if ".rehash." in n]


def test_a_totp_user_is_rehashed_with_the_password_only(aerie_bin, rehash_server):
    r = subprocess.run([aerie_bin, "adm", "totp", "enroll", "-c", str(rehash_server.config), "tfa"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(r.stdout.splitlines()[0]).query)["secret"][0]
    old = field(rehash_server, "tfa")
    assert not login(rehash_server, "tfa", PW), "the password alone must not do once TOTP is on"
    assert not login(rehash_server, "tfa", f"{PW}:000000x")
    assert field(rehash_server, "tfa") == old, "a failed login must not rehash"
    code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert login(rehash_server, "tfa", f"{PW}:{code}")
    new = field(rehash_server, "tfa")
    assert new.startswith("{ARGON2ID}") and doveadm_verifies(new, PW)
    assert not doveadm_verifies(new, f"{PW}:{code}")


def test_off_by_default(aerie_bin, ca_dir, vmail):
    directory, server = make_server(aerie_bin, ca_dir, "rehash-off", "")
    try:
        before = (server.directory / "users").read_bytes()
        assert login(server, "bob", PW)
        assert (server.directory / "users").read_bytes() == before
        assert "password rehash" not in server.log()
    finally:
        assert server.stop_if_running() == 0
    helpers.remove_private_dir(directory)


def test_conf_check_refuses_a_weak_or_unknown_target(aerie_bin, rehash_server, tmp_path):
    config = tmp_path / "bad.conf"
    config.write_text(rehash_server.config.read_text() + "\nauth_rehash_scheme = SHA512-CRYPT rounds=10000\n")
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(config)], capture_output=True, text=True)
    assert r.returncode == 0, r
    for value in ["PLAIN-MD5", "ARGON2ID rounds=x", "NOSUCH"]:
        config.write_text(rehash_server.config.read_text() + f"\nauth_rehash_scheme = {value}\n")
        r = subprocess.run([aerie_bin, "conf", "check", "-c", str(config)], capture_output=True, text=True)
        assert r.returncode != 0 and "auth_rehash_scheme" in r.stdout + r.stderr, r
