"""A real MTA in front of Aerie: a private Postfix instance (Debian's postfix package; config, queue and log in a
temp directory, nothing in /etc/postfix touched) delivers the test domain to Aerie's LMTP unix socket
(`local_transport = lmtp:unix:…`) and, for a second domain, to its TCP listener. Mail goes in over SMTP (Python's
smtplib to Postfix's smtpd on a free port) and with Postfix's own `sendmail -C DIR`, and is read back over IMAP."""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import time
from pathlib import Path

import pytest

import helpers
from helpers import header_values, make_message, strip_delivery_headers

D = helpers.MAIL_DOMAIN
D2 = "tcp.example.test"
MYHOSTNAME = "mx.example.test"

MASTER_CF = """\
127.0.0.1:SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def main_cf(d: Path, lmtp_socket: Path, lmtp_port: int) -> str:
    return f"""\
compatibility_level = 3.6
config_directory = {d}/etc
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = {MYHOSTNAME}
mydomain = {D}
myorigin = {D}
mydestination = {D}
# Every recipient of the domain is handed to Aerie, which refuses unknown ones (550 5.1.1) itself.
local_recipient_maps =
local_transport = lmtp:unix:{lmtp_socket}
relay_domains = {D2}
transport_maps = inline:{{ {D2}=lmtp:inet:127.0.0.1:{lmtp_port} }}
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP
lmtp_host_lookup = native
smtp_host_lookup = native
disable_dns_lookups = yes
delay_warning_time = 0
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
# The lmtp client runs as the postfix user: Aerie's socket is mode 0666 in this config.
"""


class Postfix:
    def __init__(self, directory: Path, lmtp_socket: Path, lmtp_port: int):
        self.dir = directory
        self.etc = directory / "etc"
        self.smtp_port = helpers.free_port()
        self.etc.mkdir(parents=True)
        os.chmod(directory, 0o755)
        (self.etc / "main.cf").write_text(main_cf(directory, lmtp_socket, lmtp_port))
        (self.etc / "master.cf").write_text(MASTER_CF.replace("SMTP_PORT", str(self.smtp_port)))
        for sub in ("queue", "data"):
            (directory / sub).mkdir()
        helpers.make_readable_by_all(directory / "queue")
        os.chown(directory / "data", *self._postfix_ids())
        self.env = dict(os.environ, MAIL_CONFIG=str(self.etc))

    @staticmethod
    def _postfix_ids() -> tuple[int, int]:
        import pwd

        e = pwd.getpwnam("postfix")
        return e.pw_uid, e.pw_gid

    def postfix(self, *args: str, timeout: float = 60) -> helpers.subprocess.CompletedProcess:
        return helpers.run(["postfix", "-c", str(self.etc), *args], env=self.env, timeout=timeout)

    def log(self) -> str:
        p = self.dir / "maillog"
        return p.read_text(errors="replace") if p.exists() else ""

    def start(self) -> None:
        r = self.postfix("check")
        if r.returncode != 0:
            raise RuntimeError(f"postfix check failed: {r.stdout}{r.stderr}")
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stdout}{r.stderr}\n{self.log()}")
        helpers.wait_for(lambda: self._smtp_ready(), 30, what="Postfix smtpd to greet")

    def _smtp_ready(self) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5) as s:
                s.noop()
            return True
        except OSError:
            return False

    def master_pid(self) -> int | None:
        p = self.dir / "queue" / "pid" / "master.pid"
        try:
            return int(p.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.master_pid()
        self.postfix("stop", timeout=30)
        if pid is None:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        self.postfix("abort", timeout=30)
        try:
            os.kill(pid, signal.SIGKILL)  # our own master process, by its pid
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def stack(aerie_bin, ca_dir, vmail, request):
    failed_before = request.session.testsfailed
    if shutil.which("postfix") is None or shutil.which("postconf") is None:
        pytest.fail("postfix missing (scripts/test.sh installs Debian's postfix)")
    try:
        Postfix._postfix_ids()
    except KeyError:
        pytest.fail("system user postfix missing: the postfix package creates it")
    directory = helpers.private_dir("postfix")
    users = helpers.make_mail_users()
    # A user of its own uid (issue 11, lmtp): its copy is written by `aerie lmtp-deliver` as that uid.
    users["own1501"] = helpers.User("own1501", helpers.MAIL_PASSWORD, helpers.sha512_crypt(helpers.MAIL_PASSWORD),
                                    1501, 1501, True)
    mail = helpers.make_mail_server(aerie_bin, directory / "aerie", ca_dir, users, start=False)
    os.chown(mail.directory / "home" / "own1501", 1501, 1501)
    os.chmod(mail.directory / "home" / "own1501", 0o700)
    mail.start()
    pf = Postfix(directory / "postfix", mail.lmtp_socket, mail.lmtp_port)
    try:
        pf.start()
    except Exception:
        pf.stop()
        mail.stop_if_running()
        raise
    yield mail, pf
    pf.stop()
    rc = mail.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)  # kept (with both logs) when a test failed
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{mail.log()[-3000:]}"


def postfix_received(msg: bytes) -> list[str]:
    return [v for v in header_values(msg, "Received") if f"by {MYHOSTNAME} (Postfix" in v]


@pytest.mark.timeout(120)
def test_smtp_to_postfix_delivers_over_lmtp_unix_socket(stack):
    mail, pf = stack
    u1, u2 = mail.fresh_user(), mail.fresh_user()
    msg = make_message("postfix-smtp@test", subject="via Postfix", to=f"{u1}@{D}",
                       body=b"Through Postfix.\r\n.a dot line\r\n..\r\n.\r\nend\r\n")
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=helpers.READ_TIMEOUT) as s:
        s.ehlo("client.example.org")
        refused = s.sendmail("sender@example.org", [f"{u1}@{D}", f"{u2}@{D}"], msg)
        assert refused == {}
    for u in (u1, u2):
        try:
            got = helpers.wait_for_messages(mail, u, 1, timeout=30)
        except AssertionError:
            raise AssertionError(f"no delivery to {u} within 30 s; Postfix log:\n{pf.log()[-4000:]}\n"
                                 f"Aerie log:\n{mail.log()[-2000:]}")
        data = got[0][1]
        assert postfix_received(data), data[:800]
        assert header_values(data, "Return-Path") == ["<sender@example.org>"], data[:800]
        assert header_values(data, "Delivered-To") == [f"{u}@{D}"], data[:800]
        # Postfix adds its Received header (and nothing else the test sends lacks, since the message is complete).
        assert strip_delivery_headers(data) == helpers.crlf(msg), data
    assert re.search(rf"to=<{u1}@{D}>, relay=\S+\[{re.escape(str(mail.lmtp_socket))}\].*status=sent \(250 2\.0\.0",
                     pf.log()), pf.log()[-3000:]


@pytest.mark.timeout(120)
def test_sendmail_command_delivers(stack):
    mail, pf = stack
    user = mail.fresh_user()
    msg = make_message("postfix-sendmail@test", subject="via sendmail", to=f"{user}@{D}")
    r = helpers.run(["sendmail", "-C", str(pf.etc), "-f", "local@example.org", "-i", f"{user}@{D}"],
                    input=msg.decode(), env=pf.env, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    data = helpers.wait_for_messages(mail, user, 1, timeout=30)[0][1]
    assert postfix_received(data), data[:800]
    assert header_values(data, "Return-Path") == ["<local@example.org>"], data[:800]


@pytest.mark.timeout(120)
def test_postfix_over_lmtp_tcp(stack):
    mail, pf = stack
    user = mail.fresh_user()
    msg = make_message("postfix-tcp@test", to=f"{user}@{D2}")
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=helpers.READ_TIMEOUT) as s:
        assert s.sendmail("sender@example.org", [f"{user}@{D2}"], msg) == {}
    data = helpers.wait_for_messages(mail, user, 1, timeout=30)[0][1]
    assert postfix_received(data), data[:800]
    assert header_values(data, "Delivered-To") == [f"{user}@{D2}"], data[:800]


@pytest.mark.timeout(120)
def test_unknown_recipient_bounces_in_postfix(stack):
    """Aerie's 550 5.1.1 reaches Postfix as a permanent failure (status=bounced), not a retry."""
    mail, pf = stack
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=helpers.READ_TIMEOUT) as s:
        assert s.sendmail("", [f"nobody-here@{D}"], make_message("postfix-bounce@test")) == {}
    helpers.wait_for(lambda: re.search(rf"to=<nobody-here@{D}>.*status=bounced \(host .*said: 550 5\.1\.1",
                                       pf.log()), 30, what="Postfix to log the bounce")


@pytest.mark.timeout(120)
def test_postfix_delivers_to_a_user_of_its_own_uid(stack):
    """One SMTP message to a vmail user and a user with uid 1501: Postfix hands both to Aerie's LMTP in one
    transaction; each copy is owned by its recipient's uid/gid, mode 0600."""
    mail, pf = stack
    user = mail.fresh_user()
    msg = make_message("postfix-uid@test", to=f"own1501@{D}")
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=helpers.READ_TIMEOUT) as s:
        assert s.sendmail("sender@example.org", [f"own1501@{D}", f"{user}@{D}"], msg) == {}
    helpers.wait_for_messages(mail, user, 1, timeout=30)
    new = mail.directory / "home" / "own1501" / "Maildir" / "new"
    files = helpers.wait_for(lambda: list(new.iterdir()) if new.is_dir() else [], 30,
                             what="a copy for own1501")
    assert len(files) == 1, files
    st = files[0].stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1501, 1501, 0o600)
    data = files[0].read_bytes()
    assert postfix_received(data), data[:800]
    assert header_values(data, "Delivered-To") == [f"own1501@{D}"], data[:800]
    assert re.search(rf"to=<own1501@{D}>, relay=\S+.*status=sent \(250 2\.0\.0", pf.log()), pf.log()[-3000:]
