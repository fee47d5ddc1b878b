"""Issue 13's "done when": no password, SCRAM proof, channel binding, TOTP secret or code, app password (or OAuth2
token, in test_oauth2.py) appears in any log, even with `auth_debug = yes` and `auth_verbose = yes` — while the debug
lines themselves are there. Every mechanism a client can use logs in (and fails) once against one server, then its
whole log is searched for each secret and for the base64 forms the client sent."""

from __future__ import annotations

import base64
import imaplib
import poplib
import urllib.parse

import pytest

import helpers
from test_scram import PW, ScramClient, aerie_hash
from test_scram_plus import PLUS, TLS13Line, imap_authenticate, plus_client
from test_second_factor import adm, oathtool

WRONG = "Wrong-Pw-8kLm"


@pytest.fixture(scope="module")
def debug_server(aerie_bin, ca_dir, vmail, request, tmp_path_factory):
    uid, gid = vmail
    users = {name: helpers.User(name, PW, aerie_hash(aerie_bin), uid, gid, True) for name in ["alice", "tfa"]}
    state = helpers.private_dir("secrets-state")
    extra = (f"state_dir = {state}\nauth_debug = yes\nauth_verbose = yes\n"
             "auth_mechanisms = plain login scram-sha-256 scram-sha-256-plus")
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "secrets", users=users, extra=extra) as server:
        yield server
    helpers.remove_private_dir(state)


def imaps(server) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                             timeout=helpers.READ_TIMEOUT)


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_every_mechanism_then_no_secret_in_the_log(aerie_bin, debug_server):
    secrets: dict[str, str] = {"password": PW, "wrong password": WRONG}
    # IMAP LOGIN, right and wrong.
    c = imaps(debug_server)
    c.login("alice", PW)
    c.logout()
    c = imaps(debug_server)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("alice", WRONG)
    c.logout()
    # AUTHENTICATE PLAIN (SASL-IR) and LOGIN (continuations).
    plain = f"\0alice\0{PW}"
    secrets["PLAIN response"] = b64(plain)
    c = imaps(debug_server)
    assert c.authenticate("PLAIN", lambda _: plain.encode())[0] == "OK"
    c.logout()
    c = imaps(debug_server)
    answers = iter([b"alice", PW.encode()])
    assert c.authenticate("LOGIN", lambda _: next(answers))[0] == "OK"
    c.logout()
    secrets["LOGIN password response"] = b64(PW)
    # SCRAM-SHA-256, right and tampered; the proofs are secrets (a replayable proof would be a password).
    for tamper in (False, True):
        c = imaps(debug_server)
        client = ScramClient("alice", PW, tamper=tamper)
        if tamper:
            with pytest.raises(imaplib.IMAP4.error):
                c.authenticate("SCRAM-SHA-256", client)
        else:
            assert c.authenticate("SCRAM-SHA-256", client)[0] == "OK"
        c.logout()
        assert client.step >= 2
        secrets[f"SCRAM proof (tampered={tamper})"] = client.proof
    # SCRAM-SHA-256-PLUS: the channel binding data too.
    t = TLS13Line(debug_server.imaps_port, debug_server.tls.ca)
    t.line()
    binding = t.exporter()
    client = plus_client("alice", binding)
    assert imap_authenticate(t, PLUS, client).startswith("a OK")
    t.close()
    secrets["SCRAM-PLUS proof"] = client.proof
    secrets["channel binding"] = b64(binding)
    secrets["channel binding (hex)"] = binding.hex()
    # POP3 USER/PASS.
    p = poplib.POP3_SSL("127.0.0.1", debug_server.pop3s_port, context=helpers.client_context(debug_server.tls.ca),
                        timeout=helpers.READ_TIMEOUT)
    p.user("alice")
    p.pass_(PW)
    p.quit()
    # TOTP: the secret, and a code appended to the password.
    uri = adm(aerie_bin, debug_server, "totp", "enroll", "tfa", "--no-qr").stdout.splitlines()[0]
    totp_secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    secrets["TOTP secret"] = totp_secret
    code = oathtool(totp_secret)
    c = imaps(debug_server)
    c.login("tfa", f"{PW}:{code}")
    c.logout()
    secrets["password with code"] = f"{PW}:{code}"
    # An app password.
    app = adm(aerie_bin, debug_server, "app-password", "add", "tfa", "phone").stdout.strip()
    secrets["app password"] = app
    c = imaps(debug_server)
    c.login("tfa", app)
    c.logout()

    log = debug_server.log()
    for line in ("Password verified", "SCRAM-SHA-256: proof verified", "SCRAM-SHA-256-PLUS: proof verified"):
        assert f"auth: Debug: passwd-file(alice," in log and line in log, f"auth_debug wrote no '{line}' line"
    for what, secret in secrets.items():
        assert secret not in log, f"the {what} is in the log"
