"""Issue 15: `aerie conf check` and `aerie serve` give the same verdict on every configuration (exit 0 from `conf
check` means `serve` starts), settings Aerie does not enforce are refused at FILE:LINE, and `ssl = required` refuses
authentication without TLS whatever auth_allow_cleartext says."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import helpers

HARDENING = helpers.REPO / "Tests" / "Fixtures" / "config" / "hardening"


@pytest.fixture(scope="module")
def corpus_dir(vmail):
    d = helpers.private_dir("honest")
    helpers.make_tls(d / "tls", "rsa")
    helpers.write_users_file(d / "users", helpers.make_mail_users(["alice"]), d / "home")
    root_only = d / "users-root"
    shutil.copy(d / "users", root_only)
    os.chown(root_only, 0, 0)
    os.chmod(root_only, 0o600)
    shutil.copy(d / "tls" / "key.pem", d / "tls" / "key644.pem")
    os.chmod(d / "tls" / "key644.pem", 0o644)
    yield d
    helpers.remove_private_dir(d)


def readme_example(d: Path, port: int) -> str:
    text = (helpers.REPO / "README.md").read_text()
    block = text.split("## Example configuration", 1)[1].split("```", 2)[1]
    for old, new in {
        "listen = *": "listen = 127.0.0.1",
        "/etc/ssl/mail/fullchain.pem": f"{d}/tls/cert.pem", "/etc/ssl/mail/key.pem": f"{d}/tls/key.pem",
        "/etc/aerie/users": f"{d}/users", "port = 993": f"port = {port}", "port = 995": f"port = {helpers.free_port()}",
        "/var/spool/postfix/private/aerie-lmtp": f"{d}/run/readme-lmtp", "group = postfix": "group = vmail",
    }.items():
        assert old in block, old
        block = block.replace(old, new)
    return block + f"\nbase_dir = {d}/run\nlog_path = {d}/aerie.log\n"


def hardening_guide(d: Path, port: int) -> Path:
    """The guide's conf.d as written (port 993 moved to a free port), plus what it leaves out: TLS files, users."""
    target = d / "hardening"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(HARDENING, target)
    master = target / "conf.d" / "10-master.conf"
    master.write_text(master.read_text().replace("port = 993", f"port = {port}"))
    main = target / "dovecot.conf"
    main.write_text(main.read_text() + f"""
listen = 127.0.0.1
base_dir = {d}/run
log_path = {d}/aerie.log
ssl_server_cert_file = {d}/tls/cert.pem
ssl_server_key_file = {d}/tls/key.pem
mail_uid = vmail
mail_gid = vmail
passdb passwd-file {{
  passwd_file_path = {d}/users
}}
""")
    return main


def acceptance(d: Path, port: int, **kw) -> str:
    """The integration tests' configuration with only the IMAPS listener (the plaintext one at port 0)."""
    return helpers.acceptance_config(d, 0, port, **kw)


# (name, how to build the config given (dir, imaps port), expected verdict: True = starts)
CORPUS = [
    ("acceptance", lambda d, p: acceptance(d, p), True),
    ("readme-example", readme_example, True),
    ("hardening-guide", hardening_guide, True),
    ("hardening-as-written", lambda d, p: HARDENING / "dovecot.conf", False),
    ("cleartext-moot", lambda d, p: acceptance(d, p, extra="auth_allow_cleartext = yes"), True),
    ("missing-cert", lambda d, p: acceptance(d, p, replace={"tls/cert.pem": "tls/nope.pem"}), False),
    ("key-readable-by-all", lambda d, p: acceptance(d, p, replace={"tls/key.pem": "tls/key644.pem"}), False),
    ("passdb-ldap", lambda d, p: acceptance(d, p, extra="passdb ldap {\n}"), False),
    ("oauthbearer", lambda d, p: acceptance(d, p, replace={"auth_mechanisms = plain login":
                                                          "auth_mechanisms = plain oauthbearer"}), False),
    ("passwd-file-unreadable-by-vmail", lambda d, p: acceptance(d, p, replace={f"{d}/users\n": f"{d}/users-root\n"}),
     False),
    ("no-such-mail-user", lambda d, p: acceptance(d, p, replace={"mail_uid = vmail": "mail_uid = aerie-nobody"}),
     False),
    ("no-such-internal-user", lambda d, p: acceptance(d, p, extra="default_internal_user = aerie-no-such-user"),
     False),
    ("no-such-login-user", lambda d, p: acceptance(d, p, extra="default_login_user = aerie-no-such-user"), False),
    ("quota", lambda d, p: acceptance(d, p, extra="quota_storage_size = 1G"), False),
    ("haproxy", lambda d, p: acceptance(d, p, service_extra="  inet_listener proxied {\n    port = 0\n"
                                        "    haproxy = yes\n  }\n"), False),
    ("haproxy-trusted", lambda d, p: acceptance(d, p, extra="haproxy_trusted_networks = 10.0.0.0/8 2001:db8::/32",
                                                service_extra="  inet_listener proxied {\n    port = 0\n"
                                                "    haproxy = yes\n  }\n"), True),
    ("lmtp-to-the-world", lambda d, p: acceptance(d, p, replace={"protocols = imap": "protocols = imap lmtp"},
                                                  extra=f"service lmtp {{\n  inet_listener lmtp {{\n"
                                                  f"    address = 0.0.0.0\n    port = {helpers.free_port()}\n  }}\n}}"),
     False),
    ("nothing-to-serve", lambda d, p: acceptance(d, p, replace={f"port = {p}": "port = 0"}), False),
    ("log-directory-missing", lambda d, p: acceptance(d, p, replace={f"log_path = {d}/aerie.log":
                                                                     f"log_path = {d}/no-such-dir/aerie.log"}), False),
    ("unix-socket-owner-missing", lambda d, p: acceptance(
        d, p, replace={"protocols = imap": "protocols = imap lmtp"},
        extra="service lmtp {\n  unix_listener lmtp {\n    user = aerie-nobody\n  }\n}"), False),
]


def serve_starts(aerie_bin: str, config: Path, port: int, output: Path) -> tuple[bool, str]:
    """Starts `aerie serve`; True once the IMAPS port answers a greeting (then SIGTERM), False if it exits first."""
    out = open(output, "w+")
    proc = subprocess.Popen([aerie_bin, "serve", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    ctx = helpers.client_context()
    deadline = time.monotonic() + helpers.START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out.seek(0)
                return False, out.read()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with ctx.wrap_socket(raw) as tls:
                        tls.settimeout(helpers.READ_TIMEOUT)
                        if tls.recv(100).startswith(b"* OK"):
                            return True, ""
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"aerie serve -c {config} neither answered nor exited")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.mark.parametrize("name,build,expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_conf_check_and_serve_agree(aerie_bin, corpus_dir, name, build, expected):
    port = helpers.free_port()
    built = build(corpus_dir, port)
    if isinstance(built, Path):
        config = built
    else:
        config = corpus_dir / f"{name}.conf"
        config.write_text(built)
    check = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    started, output = serve_starts(aerie_bin, config, port, corpus_dir / f"{name}.serve.txt")
    assert (check.returncode == 0) == started, (
        f"conf check exit {check.returncode} but serve {'started' if started else 'refused'}:\n"
        f"conf check: {check.stdout}{check.stderr}\nserve: {output}")
    assert started == expected, f"{name}: {check.stderr}\n{output}"


# Issue 11: the process model's refusals, and what `conf check` and `serve` both print for them (the whole line).
REFUSALS = {
    "key-readable-by-all": "Fatal: ssl_server_key_file={d}/tls/key644.pem has mode 0644: group or others may read "
                           "it. Run: chmod 0600 {d}/tls/key644.pem",
    "passwd-file-unreadable-by-vmail": "Fatal: passdb passwd-file: passwd_file_path {d}/users-root is not readable "
                                       "by dovecot (uid {uid}), as which the auth process reads it "
                                       "(default_internal_user): chgrp {gid} {d}/users-root && chmod g+r "
                                       "{d}/users-root",
    "no-such-internal-user": "Fatal: default_internal_user: system user aerie-no-such-user does not exist: the auth "
                             "process runs as it (create it, e.g. useradd --system --user-group aerie-no-such-user)",
    "no-such-login-user": "Fatal: default_login_user: system user aerie-no-such-user does not exist; the login "
                          "process runs as it (create it, e.g. useradd --system --no-create-home --shell "
                          "/usr/sbin/nologin aerie-no-such-user)",
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_conf_check_refuses_as_serve_does(aerie_bin, corpus_dir, name):
    """A missing default_login_user/default_internal_user, a passwd-file the auth process's user cannot read (the
    check reads it as that user: root's 0600 file is readable by root) and a key others may read: `conf check`
    exits 1 with the very line `serve` exits 1 with."""
    build = next(c[1] for c in CORPUS if c[0] == name)
    config = corpus_dir / f"{name}.refusal.conf"
    config.write_text(build(corpus_dir, helpers.free_port()))
    dovecot = pwd.getpwnam("dovecot")
    expected = REFUSALS[name].format(d=corpus_dir, uid=dovecot.pw_uid, gid=dovecot.pw_gid)
    check = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    serve = helpers.run([aerie_bin, "serve", "-c", str(config)], timeout=60)
    assert (check.returncode, serve.returncode) == (1, 1), (check, serve)
    assert expected in (check.stdout + check.stderr).splitlines(), check
    assert expected in (serve.stdout + serve.stderr).splitlines(), serve


def test_hardening_guide_names_exactly_the_unenforced_lines(aerie_bin, corpus_dir):
    """Every line of the guide's conf.d that Aerie does not enforce is named (refused or no effect), and no
    other line is: the rest are renames (which Aerie applies) and audits of what the lines mean."""
    config = hardening_guide(corpus_dir, helpers.free_port())
    r = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    assert r.returncode == 0, r.stderr
    d = config.parent / "conf.d"
    flagged = sorted(line.split(": warning: ")[0] for line in r.stderr.splitlines()
                     if "has no effect in Aerie" in line or "not supported by Aerie" in line)
    assert flagged == sorted([
        f"{d}/10-mail.conf:9", f"{d}/10-mail.conf:9",                            # mail_plugins quota, acl
        f"{d}/10-master.conf:12", f"{d}/10-master.conf:13", f"{d}/10-master.conf:14",  # process model
        f"{d}/10-master.conf:17",                                                # service dict
    ]), r.stderr


@pytest.fixture(scope="module")
def cleartext_servers(aerie_bin, ca_dir, request):
    """ssl = required and ssl = yes, both with auth_allow_cleartext = yes, IMAP and POP3 with plaintext ports."""
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "cleartext-required",
                                     extra="auth_allow_cleartext = yes") as required:
        with helpers.private_mail_server(aerie_bin, ca_dir, request, "cleartext-optional",
                                         extra="ssl = yes\nauth_allow_cleartext = yes") as optional:
            yield required, optional


def imap_plain(srv) -> imaplib.IMAP4:
    return imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=helpers.READ_TIMEOUT)


def test_ssl_required_refuses_imap_login_without_tls(cleartext_servers):
    required, optional = cleartext_servers
    c = imap_plain(required)
    assert "LOGINDISABLED" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        c.login("alice", helpers.MAIL_PASSWORD)
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate("PLAIN", lambda _: f"\0alice\0{helpers.MAIL_PASSWORD}".encode())
    c.logout()
    # The same file with ssl = yes: auth_allow_cleartext = yes lets LOGIN through, as it says.
    c = imap_plain(optional)
    assert c.login("alice", helpers.MAIL_PASSWORD)[0] == "OK"
    c.logout()


def pop3_user_pass(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=helpers.READ_TIMEOUT) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        s.sendall(b"USER alice\r\n")
        user = f.readline()
        s.sendall(f"PASS {helpers.MAIL_PASSWORD}\r\n".encode())
        return user + f.readline()


def test_ssl_required_refuses_pop3_user_pass_without_tls(cleartext_servers):
    required, optional = cleartext_servers
    assert b"+OK Logged in" not in pop3_user_pass(required.pop3_port)
    assert b"-ERR" in pop3_user_pass(required.pop3_port)
    assert pop3_user_pass(optional.pop3_port).count(b"+OK") == 2
