"""SCRAM-SHA-256 (RFC 5802, RFC 7677; issue 13 item 2) with real clients: mbsync through Cyrus SASL syncs a mailbox,
a hand-driven exchange (imaplib) logs in, a tampered client proof and a wrong password fail, and the stored
`{SCRAM-SHA-256}` format is Dovecot's both ways (doveadm's hash logs in with PLAIN and SCRAM; `aerie pw`'s verifies
with `doveadm pw -t`). POP3 AUTH SCRAM-SHA-256 logs in too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import imaplib
import os
import poplib
import shutil
import subprocess

import pytest

import helpers

PW = "Scram-Pw-9fKq"


def aerie_hash(aerie_bin: str, scheme: str = "SCRAM-SHA-256") -> str:
    out = subprocess.run([aerie_bin, "pw", "-s", scheme, "-p", PW], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def doveadm_hash() -> str:
    out = subprocess.run(["doveadm", "pw", "-s", "SCRAM-SHA-256", "-p", PW], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def scram_server(aerie_bin, ca_dir, vmail, request):
    uid, gid = vmail
    users = {
        "scram": helpers.User("scram", PW, aerie_hash(aerie_bin), uid, gid, True),
        "dovecot": helpers.User("dovecot", PW, doveadm_hash(), uid, gid, True),
        "crypt": helpers.User("crypt", PW, helpers.sha512_crypt(PW), uid, gid, True),
    }
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "scram", users=users,
                                     extra="auth_mechanisms = plain login scram-sha-256") as server:
        yield server


class ScramClient:
    """RFC 5802 §3 client side, step by step, for imaplib's authenticate() callback."""

    def __init__(self, user: str, password: str, tamper: bool = False, gs2_header: str = "n,,",
                 channel_binding: bytes = b""):
        self.user, self.password, self.tamper = user, password, tamper
        # RFC 5802 §7: gs2-header ("n,,", "y,,", "p=tls-exporter,,") and, for "p=", the channel's binding data.
        self.gs2_header, self.channel_binding = gs2_header, channel_binding
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = f"n={user},r={self.nonce}"
        self.step = 0
        self.server_signature = b""
        self.final_ok = None

    def __call__(self, challenge: bytes) -> bytes:
        self.step += 1
        if self.step == 1:
            return (self.gs2_header + self.bare).encode()
        if self.step == 2:
            fields = dict(f.split("=", 1) for f in challenge.decode().split(","))
            assert fields["r"].startswith(self.nonce)
            salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), base64.b64decode(fields["s"]),
                                         int(fields["i"]))
            client_key = hmac.digest(salted, b"Client Key", "sha256")
            stored_key = hashlib.sha256(client_key).digest()
            binding = base64.b64encode(self.gs2_header.encode() + self.channel_binding).decode()
            without_proof = f"c={binding},r={fields['r']}"
            auth_message = f"{self.bare},{challenge.decode()},{without_proof}".encode()
            proof = bytearray(a ^ b for a, b in zip(client_key, hmac.digest(stored_key, auth_message, "sha256")))
            if self.tamper:
                proof[0] ^= 0x01
            server_key = hmac.digest(salted, b"Server Key", "sha256")
            self.server_signature = hmac.digest(server_key, auth_message, "sha256")
            self.proof = base64.b64encode(bytes(proof)).decode()
            return f"{without_proof},p={self.proof}".encode()
        # The server's final message: v=ServerSignature, checked before the empty answer.
        self.final_ok = challenge == b"v=" + base64.b64encode(self.server_signature)
        return b""


def imaps(server) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                             timeout=helpers.READ_TIMEOUT)


def test_capability_offers_scram_when_configured(scram_server, server):
    c = imaps(scram_server)
    assert "AUTH=SCRAM-SHA-256" in c.capabilities
    c.logout()
    plain = imaps(server)  # the acceptance configuration: auth_mechanisms = plain login
    assert "AUTH=SCRAM-SHA-256" not in plain.capabilities
    plain.logout()


@pytest.mark.parametrize("user", ["scram", "dovecot"])
def test_scram_login_verifies_the_server(scram_server, user):
    c = imaps(scram_server)
    client = ScramClient(user, PW)
    typ, _ = c.authenticate("SCRAM-SHA-256", client)
    assert typ == "OK"
    assert client.final_ok, "the server's v= did not match the signature the client computed"
    assert c.select("INBOX")[0] == "OK"
    c.logout()


@pytest.mark.parametrize("user,password,tamper", [("scram", PW, True), ("scram", PW + "x", False),
                                                  ("nobody", PW, False), ("crypt", PW, False)])
def test_tampered_or_wrong_scram_fails(scram_server, user, password, tamper):
    c = imaps(scram_server)
    client = ScramClient(user, password, tamper=tamper)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        c.authenticate("SCRAM-SHA-256", client)
    assert client.step == 2, "every user, known or not, gets a server-first message"
    c.logout()
    log = scram_server.log()
    assert PW not in log


def test_plain_login_against_scram_hashes(scram_server):
    for user in ("scram", "dovecot"):
        helpers.imap_login(scram_server, user, PW).logout()


def test_aerie_hash_verifies_with_doveadm(aerie_bin):
    stored = aerie_hash(aerie_bin)
    ok = subprocess.run(["doveadm", "pw", "-t", stored, "-p", PW], capture_output=True, text=True)
    assert ok.returncode == 0 and "(verified)" in ok.stdout + ok.stderr, ok
    bad = subprocess.run(["doveadm", "pw", "-t", stored, "-p", PW + "x"], capture_output=True, text=True)
    assert bad.returncode != 0


def test_pop3_auth_scram(scram_server):
    p = poplib.POP3_SSL("127.0.0.1", scram_server.pop3s_port, context=helpers.client_context(scram_server.tls.ca),
                        timeout=helpers.READ_TIMEOUT)
    client = ScramClient("scram", PW)
    line = p._shortcmd("AUTH SCRAM-SHA-256")
    while line.startswith(b"+ ") or line == b"+":
        challenge = base64.b64decode(line[1:].strip())
        line = p._shortcmd(base64.b64encode(client(challenge)).decode())
    assert line.startswith(b"+OK"), line
    assert client.final_ok
    p.quit()


def test_mbsync_syncs_over_scram(scram_server):
    if shutil.which("mbsync") is None:
        pytest.fail("mbsync missing (scripts/test.sh installs Debian's isync)")
    directory = helpers.private_dir("mbsync-scram")
    try:
        sync = helpers.MBSync(directory, scram_server.imaps_port, scram_server.tls.ca, "scram", PW)
        sync.config.write_text(sync.config.read_text().replace("AuthMechs PLAIN", "AuthMechs SCRAM-SHA-256"))
        inbox = sync.local / "INBOX"
        for sub in ("cur", "new", "tmp"):
            (inbox / sub).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            (inbox / "cur" / f"17000000{i}.1.host:2,S").write_bytes(
                f"From: a@example.com\nSubject: scram {i}\n\nbody {i}\n".encode())
        out = sync.sync()
        commands = helpers.mbsync_commands(out)
        assert any(cmd.startswith("AUTHENTICATE SCRAM-SHA-256") for cmd in commands), commands[:5]
        c = helpers.imap_login(scram_server, "scram", PW)
        c.select("INBOX", readonly=True)
        typ, data = c.search(None, "ALL")
        assert len(data[0].split()) == 3
        c.logout()
        log = scram_server.log()
        assert "Login: user=<scram>, method=SCRAM-SHA-256" in log, log[-2000:]
    finally:
        helpers.remove_private_dir(directory)


def test_scram_sha1_needs_weak_schemes(aerie_bin, scram_server):
    """RFC 7677 §1: SCRAM-SHA-1 is weak; `aerie conf check` (the same checks as serve) refuses it unless allowed."""
    text = scram_server.config.read_text()
    weak = scram_server.directory / "weak.conf"
    weak.write_text(text + "\nauth_mechanisms = plain scram-sha-1\n")
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(weak)], capture_output=True, text=True)
    assert r.returncode != 0 and "auth_allow_weak_schemes" in r.stdout + r.stderr, r
    weak.write_text(text + "\nauth_mechanisms = plain scram-sha-1\nauth_allow_weak_schemes = yes\n")
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(weak)], capture_output=True, text=True)
    assert r.returncode == 0, r
