"""Second factors (issue 13 item 4) with real clients: `aerie adm totp enroll` prints an otpauth:// URI whose secret
oathtool turns into codes; IMAP LOGIN needs PASSWORD:CODE, a code works once; app passwords (`aerie adm
app-password add/list/revoke`) log in without the code within their scope, each use is logged with the name, and
nothing secret reaches the log or the state files."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import shutil
import signal
import struct
import subprocess
import time
import urllib.parse
import zlib
from pathlib import Path

import pytest

import helpers

USER = "tfa"
PW = "Tfa-Pw-3xQz"


@pytest.fixture(scope="module")
def tfa_server(aerie_bin, ca_dir, vmail, request):
    if shutil.which("oathtool") is None:
        pytest.fail("oathtool missing (scripts/test.sh installs Debian's oathtool)")
    failed_before = request.session.testsfailed
    directory = helpers.private_dir("factors")
    users = helpers.make_mail_users([USER, "plainuser"], password=PW)
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users,
                                      extra=f"state_dir = {directory}/state")
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def adm(aerie_bin, server, *args, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([aerie_bin, "adm", *args[:2], "-c", str(server.config), *args[2:]], capture_output=True,
                       text=True)
    if check:
        assert r.returncode == 0, r
    return r


def login(server, user: str, password: str) -> bool:
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                          timeout=helpers.READ_TIMEOUT)
    try:
        c.login(user, password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def oathtool(secret: str, offset: int = 0) -> str:
    args = ["oathtool", "--totp", "-b", secret]
    if offset:
        args += ["-N", f"@{int(time.time()) + offset}"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def test_totp_login_needs_a_fresh_code(aerie_bin, tfa_server):
    out = adm(aerie_bin, tfa_server, "totp", "enroll", USER).stdout
    uri = out.splitlines()[0]
    assert uri.startswith(f"otpauth://totp/Aerie:{USER}?")
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    assert not login(tfa_server, USER, PW), "the password alone must not do once TOTP is on"
    code = oathtool(secret)
    assert login(tfa_server, USER, f"{PW}:{code}")
    assert not login(tfa_server, USER, f"{PW}:{code}"), "a code works once"
    assert not login(tfa_server, USER, f"{PW}:{oathtool(secret, -30)}"), "an older code after a newer one"
    assert login(tfa_server, "plainuser", PW)
    state = (tfa_server.directory.parent / "state" / "auth" / "factors").read_text()
    assert secret not in state
    log = tfa_server.log()
    assert "TOTP code missing" in log and secret not in log and PW not in log and code not in log


def auth_worker(server) -> int | None:
    """The pid of this server's `aerie auth-service` (the supervisor's child), None while it is being restarted."""
    def children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out += [int(p) for p in (task / "children").read_text().split()]
            except OSError:  # gone, or exiting while read (ESRCH)
                pass
        return out

    def named(pid: int, name: str) -> bool:
        try:
            return name in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:  # gone, or exiting while read (ESRCH): the restart test kills the auth process
            return False

    supervisors = [p for p in children(server.pid) if named(p, "auth-supervisor")]
    assert len(supervisors) == 1
    workers = [p for p in children(supervisors[0]) if named(p, "auth-service")]
    return max(workers) if len(workers) == 1 else None


def test_spent_code_stays_spent_after_an_auth_restart(aerie_bin, tfa_server):
    uri = adm(aerie_bin, tfa_server, "totp", "enroll", USER, "--no-qr").stdout.splitlines()[0]
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    code = oathtool(secret, 30)  # the next step's: valid for 30-60 s more, however slow the restart
    assert login(tfa_server, USER, f"{PW}:{code}")
    before = auth_worker(tfa_server)
    assert before is not None
    os.kill(before, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (worker := auth_worker(tfa_server)) in (None, before):
        assert time.monotonic() < deadline, "the auth process was not restarted"
        time.sleep(0.1)
    assert login(tfa_server, "plainuser", PW), "the new auth process answers"
    assert not login(tfa_server, USER, f"{PW}:{code}"), "the code was spent before the restart"
    used = (tfa_server.directory.parent / "state" / "auth" / "totp-used").read_text()
    assert used.startswith(f"{USER}\t")


def png_from_half_blocks(lines: list[str], scale: int = 6) -> bytes:
    """A grey PNG of the terminal's QR code: each character is two modules, drawn (█▀▄) ones light."""
    halves = {"█": (255, 255), "▀": (255, 0), "▄": (0, 255), " ": (0, 0)}
    rows: list[list[int]] = []
    for line in lines:
        pairs = [halves[ch] for ch in line]
        rows += [[p[0] for p in pairs], [p[1] for p in pairs]]
    raw = b"".join(b"\0" + bytes(v for v in row for _ in range(scale)) for row in rows for _ in range(scale))
    height, width = len(rows) * scale, len(rows[0]) * scale

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_enrolment_prints_a_qr_code_of_the_uri(aerie_bin, tfa_server, tmp_path):
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg missing (scripts/test.sh installs Debian's zbar-tools)")
    out = adm(aerie_bin, tfa_server, "totp", "enroll", USER).stdout.splitlines()
    uri = out[0]
    qr = out[out.index("Scan with the authenticator app:") + 1:]
    assert qr and set("".join(qr)) <= set("█▀▄ ") and len({len(line) for line in qr}) == 1
    (tmp_path / "qr.png").write_bytes(png_from_half_blocks(qr))
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "qr.png")], capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stdout.strip() == uri, decoded
    quiet = adm(aerie_bin, tfa_server, "totp", "enroll", USER, "--no-qr").stdout
    assert "Scan" not in quiet and "█" not in quiet


def test_app_passwords(aerie_bin, tfa_server):
    phone = adm(aerie_bin, tfa_server, "app-password", "add", USER, "phone", "--protocols", "imap").stdout.strip()
    assert re.fullmatch(r"[a-z0-9]{24}", phone), phone
    netbound = adm(aerie_bin, tfa_server, "app-password", "add", USER, "office", "--nets", "198.51.100.0/24",
                   "--expires", "30 days").stdout.strip()
    dup = adm(aerie_bin, tfa_server, "app-password", "add", USER, "phone", check=False)
    assert dup.returncode == 1 and "exists" in dup.stderr
    assert login(tfa_server, USER, phone)
    assert not login(tfa_server, USER, netbound), "valid only from 198.51.100.0/24"
    p = poplib.POP3_SSL("127.0.0.1", tfa_server.pop3s_port, context=helpers.client_context(tfa_server.tls.ca),
                        timeout=helpers.READ_TIMEOUT)
    p.user(USER)
    with pytest.raises(poplib.error_proto):
        p.pass_(phone)  # imap only
    listing = adm(aerie_bin, tfa_server, "app-password", "list", USER).stdout
    assert "phone\tprotocols=imap\tnets=any\tno expiry" in listing and "office" in listing
    assert phone not in listing and netbound not in listing
    adm(aerie_bin, tfa_server, "app-password", "revoke", USER, "phone")
    assert not login(tfa_server, USER, phone)
    log = tfa_server.log()
    assert "app password 'phone' used" in log
    assert "app password 'office' refused: not valid from this network" in log
    assert phone not in log and netbound not in log
    state = (tfa_server.directory.parent / "state" / "auth" / "factors").read_text()
    assert phone not in state and netbound not in state


def test_totp_disable(aerie_bin, tfa_server):
    adm(aerie_bin, tfa_server, "totp", "disable", USER)
    assert login(tfa_server, USER, PW)
    again = adm(aerie_bin, tfa_server, "totp", "disable", USER, check=False)
    assert again.returncode == 1


def test_separator_must_end_the_password(aerie_bin, tfa_server):
    text = tfa_server.config.read_text()
    for value, ok in (("", False), ("7", False), ("/", True), ("\"#\"", True)):
        conf = tfa_server.directory / "sep.conf"
        conf.write_text(text + f"\nauth_totp_separator = {value}\n")
        r = subprocess.run([aerie_bin, "conf", "check", "-c", str(conf)], capture_output=True, text=True)
        assert (r.returncode == 0) == ok, (value, r)


def test_main_password_alone_refused_per_protocol(aerie_bin, ca_dir, vmail):
    """`protocol pop3 { auth_main_password_alone = no }`: a user without TOTP logs in to IMAP with the password, not
    to POP3 (there only an app password scoped to pop3 does); the log says why, the client sees a plain failure."""
    directory = helpers.private_dir("pwalone")
    users = helpers.make_mail_users(["solo"], password=PW)
    server = helpers.make_mail_server(
        aerie_bin, directory / "srv", ca_dir, users,
        extra=f"state_dir = {directory}/state\nprotocol pop3 {{\n  auth_main_password_alone = no\n}}\n")
    try:
        assert login(server, "solo", PW), "IMAP keeps the default: the password alone is enough without TOTP"

        def pop3(password: str) -> bool:
            p = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=helpers.client_context(server.tls.ca),
                                timeout=helpers.READ_TIMEOUT)
            try:
                p.user("solo")
                p.pass_(password)
                p.quit()
                return True
            except poplib.error_proto:
                return False

        assert not pop3(PW), "POP3 refuses the main password alone"
        app = adm(aerie_bin, server, "app-password", "add", "solo", "mailer", "--protocols", "pop3").stdout.strip()
        assert pop3(app)
        assert "the main password alone is refused for pop3 (auth_main_password_alone = no)" in server.log()
        assert PW not in server.log() and app not in server.log()
    finally:
        assert server.stop_if_running() == 0
        helpers.remove_private_dir(directory)


def test_app_password_expiry(aerie_bin, tfa_server):
    """An app password added with --expires logs in until then, and is refused (and logged as expired) after."""
    short = adm(aerie_bin, tfa_server, "app-password", "add", USER, "shortlived", "--expires", "2 secs").stdout.strip()
    assert login(tfa_server, USER, short)
    time.sleep(3)
    assert not login(tfa_server, USER, short), "an expired app password must not log in"
    assert "app password 'shortlived' refused: expired" in tfa_server.log()
    adm(aerie_bin, tfa_server, "app-password", "revoke", USER, "shortlived")
