"""OAUTHBEARER (RFC 7628) and XOAUTH2 (issue 13 item 1) with real clients against real issuers: oidc-provider-mock
(PyPI) over HTTPS issues an ID token through its authorization-code flow; a small OpenID provider of our own (its
certificate from the test CA too) publishes its OpenID configuration, its JWKS and an RFC 7662 introspection
endpoint, and signs the tokens the mock cannot make (expired, forged, rotated) with joserfc. curl (--oauth2-bearer) logs in over IMAPS and
POP3S, imaplib with XOAUTH2; expired, wrong-audience, wrong-signature, alg none, HS256-signed-with-the-public-key,
unknown-kid, jku and wrong-user tokens get the RFC 7628 error challenge and then NO; a rotated key is fetched
once; an opaque token is introspected; no token reaches the log even with auth_debug = yes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import imaplib
import json
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

import helpers

CLIENT_ID = "aerie"
CLIENT_SECRET = "introspect-s3cret"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """An OpenID provider: /.well-known/openid-configuration, /jwks, /introspect (RFC 7662, client basic auth)."""

    def __init__(self, tls):
        self.keys = {"k1": RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})}
        self.opaque: dict[str, dict] = {}
        self.jwks_fetches = 0
        issuer = self
        self.seen_tokens: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, body: dict, status: int = 200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self.reply({"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks",
                                "introspection_endpoint": issuer.url + "/introspect"})
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    self.reply({"keys": [k.as_dict(private=False) for k in issuer.keys.values()]})
                elif self.path == "/evil-jwks":
                    self.reply({"keys": [issuer.evil.as_dict(private=False)]})
                else:
                    self.reply({"error": "not found"}, 404)

            def do_POST(self):
                expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.path != "/introspect" or self.headers.get("Authorization") != expected:
                    self.reply({"error": "unauthorized"}, 401)
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = form.get("token", [""])[0]
                issuer.seen_tokens.append(token)
                self.reply(issuer.opaque.get(token, {"active": False}))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.evil = RSAKey.generate_key(2048, parameters={"kid": "evil", "alg": "RS256"})
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def claims(self, user: str, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": self.url, "aud": [CLIENT_ID, "account"], "sub": "id-" + user, "preferred_username": user,
                  "scope": "openid mail", "exp": now + 300, "iat": now - 5, "nbf": now - 5}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, user: str, kid: str = "k1", key=None, header: dict | None = None, **overrides) -> str:
        head = {"alg": "RS256", "kid": kid, **(header or {})}
        return jwt.encode(head, self.claims(user, **overrides), key or self.keys[kid])

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def issuer(ca_dir):
    directory = helpers.private_dir("oauth2-issuer")
    tls = helpers.make_tls(directory / "tls", ca_dir=ca_dir)
    issuer = Issuer(tls)
    yield issuer
    issuer.stop()


def oauth2_config(issuer, ca_dir, mode: str = "local") -> str:
    # Every debug log on (the no-token check reads them); bans raised: this module fails many logins on purpose.
    return f"""auth_mechanisms = plain login oauthbearer xoauth2
auth_debug = yes
auth_verbose = yes
mail_debug = yes
auth_ban_failures = 1000
ssl_client_ca_file = {ca_dir / 'ca.pem'}
oauth2 {{
  introspection_mode = {mode}
  openid_configuration_url = {issuer.url}/.well-known/openid-configuration
  introspection_url = {issuer.url}/introspect
  client_id = {CLIENT_ID}
  client_secret = {CLIENT_SECRET}
  username_attribute = preferred_username
  scope = mail
}}"""


@pytest.fixture(scope="module")
def oauth_server(aerie_bin, ca_dir, vmail, issuer, request):
    state = helpers.private_dir("oauth2-state")
    extra = oauth2_config(issuer, ca_dir) + f"\nstate_dir = {state}/state"
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2", extra=extra) as server:
        yield server
    helpers.remove_private_dir(state)


def curl(server, token: str, scheme: str = "imaps", user: str = "alice") -> subprocess.CompletedProcess:
    port = server.imaps_port if scheme == "imaps" else server.pop3s_port
    return subprocess.run(
        ["curl", "-sS", "--max-time", "30", "--cacert", str(server.tls.ca), "--oauth2-bearer", token,
         "--user", f"{user}:", f"{scheme}://localhost:{port}/"],
        capture_output=True, text=True, timeout=60)


def xoauth2(server, user: str, token: str) -> tuple[bool, list[bytes]]:
    """imaplib AUTHENTICATE XOAUTH2; returns (logged in, the challenges the server sent)."""
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                          timeout=helpers.READ_TIMEOUT)
    challenges: list[bytes] = []

    def respond(challenge: bytes) -> bytes:
        if challenges or challenge:
            challenges.append(challenge)
            return b""  # the dummy response after an error challenge
        challenges.append(challenge)
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()

    try:
        c.authenticate("XOAUTH2", respond)
        ok = True
        c.logout()
    except imaplib.IMAP4.error:
        ok = False
    return ok, [ch for ch in challenges if ch]


def oauthbearer_raw(server, user: str, token: str) -> tuple[dict, str, float]:
    """A hand-driven OAUTHBEARER exchange: (the error JSON, the tagged answer to the dummy response, its delay)."""
    imap = helpers.RawIMAP(server.imaps_port, tls=True)
    message = f"n,a={user},\x01host=localhost\x01auth=Bearer {token}\x01\x01".encode()
    imap.cmd("a AUTHENTICATE OAUTHBEARER " + base64.b64encode(message).decode())
    line = imap.readline()
    assert line.startswith("+ "), line
    error = json.loads(base64.b64decode(line[2:]))
    start = time.monotonic()
    imap.cmd("AQ==")  # RFC 7628 §3.2.3: %x01
    _, done = imap.read_tagged("a")
    imap.close()
    return error, done, time.monotonic() - start


def test_capabilities_offer_oauth2_over_tls_only(oauth_server):
    c = imaplib.IMAP4_SSL("127.0.0.1", oauth_server.imaps_port, ssl_context=helpers.client_context(oauth_server.tls.ca))
    assert "AUTH=OAUTHBEARER" in c.capabilities and "AUTH=XOAUTH2" in c.capabilities
    c.logout()
    plain = helpers.RawIMAP(oauth_server.imap_port)
    others, done = plain.run("c", "CAPABILITY")
    assert "AUTH=OAUTHBEARER" not in " ".join(others) and "LOGINDISABLED" in " ".join(others)
    plain.close()


def test_curl_imaps_and_pop3s_with_a_token(oauth_server, issuer):
    token = issuer.token("alice")
    r = curl(oauth_server, token)
    assert r.returncode == 0, r.stderr
    assert "INBOX" in r.stdout
    r = curl(oauth_server, issuer.token("bob"), scheme="pop3s", user="bob")
    assert r.returncode == 0, r.stderr


def test_imaplib_xoauth2(oauth_server, issuer):
    ok, challenges = xoauth2(oauth_server, "carol", issuer.token("carol"))
    assert ok and challenges == []


def test_rotated_key_is_fetched_once(oauth_server, issuer):
    assert curl(oauth_server, issuer.token("alice")).returncode == 0  # keys cached
    before = issuer.jwks_fetches
    issuer.keys["k2"] = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig", "alg": "RS256"})
    r = curl(oauth_server, issuer.token("alice", kid="k2"))
    assert r.returncode == 0, r.stderr
    assert issuer.jwks_fetches == before + 1
    # Within the minute, made-up kids cause no further fetches.
    for i in range(3):
        other = RSAKey.generate_key(2048, parameters={"kid": f"x{i}"})
        assert curl(oauth_server, issuer.token("alice", kid=f"x{i}", key=other)).returncode != 0
    assert issuer.jwks_fetches == before + 1


def test_failed_token_gets_the_error_json_then_no_after_the_delay(oauth_server, issuer):
    error, done, delay = oauthbearer_raw(oauth_server, "alice", issuer.token("alice", exp=int(time.time()) - 3600))
    assert error == {"status": "invalid_token", "scope": "mail",
                     "openid-configuration": issuer.url + "/.well-known/openid-configuration"}
    assert done.startswith("a NO"), done
    assert delay >= 1.5  # auth_failure_delay (2 s) counted from the token's refusal
    ok, challenges = xoauth2(oauth_server, "alice", issuer.token("alice", scope="openid"))
    assert not ok
    assert json.loads(challenges[0]) == {"status": "403", "schemes": "bearer", "scope": "mail",
                                         "openid-configuration": issuer.url + "/.well-known/openid-configuration"}


def forged_tokens(issuer) -> dict[str, str]:
    now = int(time.time())
    claims = b64url(json.dumps(issuer.claims("alice")).encode())
    none = b64url(json.dumps({"alg": "none", "kid": "k1"}).encode()) + "." + claims + "."
    public_pem = issuer.keys["k1"].as_pem(private=False)
    hs_head = b64url(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    signing_input = f"{hs_head}.{claims}".encode()
    hs256 = f"{hs_head}.{claims}." + b64url(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    return {
        "expired": issuer.token("alice", exp=now - 3600, iat=now - 7200, nbf=now - 7200),
        "not yet valid": issuer.token("alice", nbf=now + 3600),
        "wrong audience": issuer.token("alice", aud="someone-else"),
        "wrong issuer": issuer.token("alice", iss="https://evil.example"),
        "wrong signature": issuer.token("alice", key=other),
        "alg none": none,
        "HS256 with the public key": hs256,
        "unknown kid": issuer.token("alice", kid="nobody", key=other),
        "jku": issuer.token("alice", kid="evil", key=issuer.evil, header={"jku": issuer.url + "/evil-jwks"}),
        "another user's token": issuer.token("bob"),
        "no kid, several keys": jwt.encode({"alg": "RS256"}, issuer.claims("alice"), issuer.keys["k1"]),
    }


def test_forged_and_invalid_tokens_are_refused(oauth_server, issuer):
    for name, token in forged_tokens(issuer).items():
        r = curl(oauth_server, token)
        assert r.returncode != 0, f"{name}: logged in"
    log = oauth_server.log()
    for reason in ["token has expired", "not valid yet", "client_id not found in the token's 'aud' claim",
                   "issuer 'https://evil.example' is not allowed", "JWT signature verification failed",
                   "JWT algorithm 'none' is not accepted", "JWT algorithm 'HS256' is not accepted",
                   "unknown JWT key id 'nobody'", "JWT names its own key ('jku')",
                   "differs from the login name", "JWT has no 'kid' and the issuer has several keys"]:
        assert reason in log, reason


def test_totp_user_logs_in_with_a_token(aerie_bin, oauth_server, issuer):
    """Issue 13: for a TOTP user the token is the second factor; the password alone no longer does."""
    r = subprocess.run([aerie_bin, "adm", "totp", "enroll", "-c", str(oauth_server.config), "u01"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    c = imaplib.IMAP4_SSL("127.0.0.1", oauth_server.imaps_port, ssl_context=helpers.client_context(oauth_server.tls.ca))
    with pytest.raises(imaplib.IMAP4.error):
        c.login("u01", helpers.MAIL_PASSWORD)
    r = curl(oauth_server, issuer.token("u01"), user="u01")
    assert r.returncode == 0, r.stderr


def test_pop3_failure_flow(oauth_server, issuer):
    """RFC 5034 §4 over POP3: the error JSON as a continuation, the empty dummy response, then -ERR."""
    import socket
    sock = helpers.client_context().wrap_socket(socket.create_connection(("127.0.0.1", oauth_server.pop3s_port),
                                                                         timeout=helpers.READ_TIMEOUT))
    f = sock.makefile("rb")
    assert f.readline().startswith(b"+OK")
    token = issuer.token("alice", aud="nobody")
    # RFC 5034 §4: a command over 255 octets is refused, so the token goes in a continued response.
    sock.sendall(b"AUTH XOAUTH2\r\n")
    assert f.readline().strip() == b"+"
    sock.sendall(base64.b64encode(f"user=alice\x01auth=Bearer {token}\x01\x01".encode()) + b"\r\n")
    line = f.readline().decode().strip()
    assert line.startswith("+ "), line
    assert json.loads(base64.b64decode(line[2:]))["status"] == "401"
    sock.sendall(b"\r\n")
    assert f.readline().startswith(b"-ERR")
    sock.close()


def test_opaque_token_is_introspected(oauth_server, issuer):
    token = "opaque-" + b64url(hashlib.sha256(b"alice").digest())
    issuer.opaque[token] = {"active": True, "scope": "mail", "preferred_username": "alice", "client_id": CLIENT_ID,
                            "exp": int(time.time()) + 300}
    assert curl(oauth_server, token).returncode == 0
    assert token in issuer.seen_tokens
    revoked = "opaque-revoked-" + b64url(hashlib.sha256(b"x").digest())
    assert curl(oauth_server, revoked).returncode != 0
    assert "token is not active" in oauth_server.log()


def test_no_token_in_the_log_with_auth_debug(oauth_server, issuer):
    tokens = [issuer.token("alice"), issuer.token("alice", aud="nobody")]
    for token in tokens:
        curl(oauth_server, token)
    log = oauth_server.log()
    assert "token verified" in log  # auth_debug is on
    for token in tokens + list(forged_tokens(issuer).values()):
        for part in token.split("."):
            if len(part) > 8:
                assert part not in log


@pytest.fixture(scope="module")
def mock_provider(ca_dir):
    """oidc-provider-mock over HTTPS on loopback: its JWKS, and ID tokens for whichever user the test names."""
    import ssl as ssl_module
    import urllib.request
    import oidc_provider_mock
    import werkzeug.serving
    directory = helpers.private_dir("oauth2-mock")
    tls = helpers.make_tls(directory / "tls", ca_dir=ca_dir)
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True,
                                          ssl_context=(str(tls.cert), str(tls.key)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_port}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl_module.create_default_context(cafile=str(tls.ca))), NoRedirect)

    def id_token(user: str, client_id: str = CLIENT_ID) -> str:
        """The authorization-code flow, as a mail client's browser would run it: the user's claims, the
        authorization (sub = user), the code traded for tokens at the token endpoint."""
        put = urllib.request.Request(f"{url}/users/{user}", data=json.dumps({"mail_user": user}).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
        assert opener.open(put, timeout=30).status == 204
        query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": "http://localhost/cb",
                                        "response_type": "code", "scope": "openid", "state": "s"})
        try:
            opener.open(urllib.request.Request(f"{url}/oauth2/authorize?{query}",
                                               data=urllib.parse.urlencode({"sub": user}).encode()), timeout=30)
            raise AssertionError("no redirect from the authorization endpoint")
        except urllib.error.HTTPError as e:
            location = e.headers["Location"]
        code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "http://localhost/cb"}).encode()
        basic = "Basic " + base64.b64encode(f"{client_id}:x".encode()).decode()
        answer = opener.open(urllib.request.Request(f"{url}/oauth2/token", data=body,
                                                    headers={"Authorization": basic}), timeout=30)
        return json.loads(answer.read())["id_token"]

    yield url, id_token
    server.shutdown()
    helpers.remove_private_dir(directory)


def test_oidc_provider_mock_token_logs_in(aerie_bin, ca_dir, vmail, mock_provider, request):
    """A token from a real OIDC provider implementation (its discovery document, its JWKS, its RS256 ID token that
    names no kid): curl logs in over IMAPS; a token it issued for another client (audience) does not."""
    url, id_token = mock_provider
    extra = f"""auth_mechanisms = plain oauthbearer xoauth2
ssl_client_ca_file = {ca_dir / 'ca.pem'}
oauth2 {{
  introspection_mode = local
  openid_configuration_url = {url}/.well-known/openid-configuration
  client_id = {CLIENT_ID}
  username_attribute = mail_user
}}"""
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2-mock-srv", extra=extra) as server:
        r = curl(server, id_token("alice"))
        assert r.returncode == 0, r.stderr + server.log()[-2000:]
        ok, _ = xoauth2(server, "bob", id_token("bob"))
        assert ok
        assert curl(server, id_token("alice", client_id="another-app")).returncode != 0
        assert "client_id not found in the token's 'aud' claim" in server.log()


def test_a_jwks_url_with_issuers(aerie_bin, ca_dir, vmail, issuer, request):
    """openid_configuration_url may name the JWKS itself; oauth2_issuers then says whose tokens count."""
    extra = f"""auth_mechanisms = plain oauthbearer
ssl_client_ca_file = {ca_dir / 'ca.pem'}
oauth2 {{
  introspection_mode = local
  openid_configuration_url = {issuer.url}/jwks
  issuers = {issuer.url}
  client_id = {CLIENT_ID}
  username_attribute = preferred_username
}}"""
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2-jwks", extra=extra) as server:
        r = curl(server, issuer.token("alice"))
        assert r.returncode == 0, r.stderr + server.log()[-2000:]
        assert curl(server, issuer.token("alice", iss="https://other.example")).returncode != 0
        assert "issuer 'https://other.example' is not allowed" in server.log()


def test_a_jwks_file_with_issuers(aerie_bin, ca_dir, vmail, issuer, request):
    """The issuer's keys may also come from a local JWKS file (file:///…); oauth2_issuers says whose tokens count,
    and a token signed by a key the file does not hold is refused."""
    directory = helpers.private_dir("oauth2-jwksfile")
    jwks = directory / "issuer-jwks.json"
    jwks.write_text(json.dumps({"keys": [k.as_dict(private=False) for k in issuer.keys.values()]}))
    jwks.chmod(0o644)
    extra = f"""auth_mechanisms = plain oauthbearer
oauth2 {{
  introspection_mode = local
  openid_configuration_url = file://{jwks}
  issuers = {issuer.url}
  client_id = {CLIENT_ID}
  username_attribute = preferred_username
}}"""
    try:
        with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2-jwksf", extra=extra) as server:
            before = issuer.jwks_fetches
            r = curl(server, issuer.token("alice"))
            assert r.returncode == 0, r.stderr + server.log()[-2000:]
            assert curl(server, issuer.token("alice", kid="evil", key=issuer.evil)).returncode != 0
            assert issuer.jwks_fetches == before, "keys came from the file, not the issuer's URL"
    finally:
        helpers.remove_private_dir(directory)


@pytest.mark.parametrize("case", ["closed port", "untrusted certificate"])
def test_unreachable_issuer_is_a_temporary_failure(aerie_bin, ca_dir, vmail, issuer, request, case):
    """The issuer cannot be asked (nothing listens; or its certificate is not from a trusted CA: without
    ssl_client_ca_file only the system's CAs are): NO [UNAVAILABLE], not a wrong token; logged as an error."""
    if case == "closed port":
        where = f"ssl_client_ca_file = {ca_dir / 'ca.pem'}\n", f"https://127.0.0.1:{helpers.free_port()}"
    else:
        where = "", issuer.url
    extra = f"""auth_mechanisms = plain oauthbearer
{where[0]}oauth2 {{
  introspection_mode = local
  openid_configuration_url = {where[1]}/.well-known/openid-configuration
}}"""
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2-down", extra=extra) as server:
        # The HTTP client retries a refused connection until its 10 s deadline.
        imap = helpers.RawIMAP(server.imaps_port, tls=True, timeout=60)
        message = f"n,a=alice,\x01auth=Bearer {issuer.token('alice')}\x01\x01".encode()
        _, done = imap.run("a", "AUTHENTICATE OAUTHBEARER " + base64.b64encode(message).decode(), timeout=60)
        imap.close()
        assert done.startswith("a NO [UNAVAILABLE]"), done
        assert "OAUTHBEARER: OpenID configuration:" in server.log()


def readme_oauth2_example(issuer, ca_dir) -> str:
    """The README's OAuth2 block as written, pointed at the test issuer and CA, nothing else."""
    text = (helpers.REPO / "README.md").read_text()
    block = text.split("### OAuth2 / OIDC", 1)[1].split("```", 2)[1]
    replace = {"https://idp.example.com/realms/mail": issuer.url, "/etc/ssl/idp-ca.pem": str(ca_dir / "ca.pem")}
    for old, new in replace.items():
        assert old in block, old
        block = block.replace(old, new)
    return block


def test_readme_oauth2_example_works(aerie_bin, ca_dir, vmail, issuer, request):
    """The README's example passes `aerie conf check`, and a token logs in with it."""
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "oauth2-readme",
                                     extra=readme_oauth2_example(issuer, ca_dir)) as server:
        r = helpers.run([aerie_bin, "conf", "check", "-c", str(server.config)], timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        r = curl(server, issuer.token("alice"))
        assert r.returncode == 0, r.stderr + server.log()[-2000:]


def test_conf_check_refuses_unsupported_oauth2_settings(aerie_bin, ca_dir, vmail, issuer, tmp_path):
    """Dovecot names Aerie does not implement are refused with a hint; a mode without its URL is refused."""
    base = helpers.make_mail_server(aerie_bin, tmp_path / "srv", ca_dir, helpers.make_mail_users(["alice"]),
                                    start=False)
    config = base.config.read_text()
    cases = {
        "oauth2 {\n  tokeninfo_url = https://idp/tokeninfo\n}": "oauth2_tokeninfo_url is not supported",
        "oauth2 {\n  introspection_mode = get\n  introspection_url = https://idp/i\n}": "introspection_mode = get",
        "oauth2 {\n  introspection_mode = post\n}": "needs oauth2_introspection_url",
        "oauth2_local_validation {\n  dict_driver = fs\n}": "oauth2_local_validation { } is not supported",
        "passdb oauth2 {\n  driver = oauth2\n}": "checked by auth_mechanisms = oauthbearer xoauth2",
    }
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello\n")
    good = "oauth2 {\n  introspection_mode = local\n  openid_configuration_url = https://idp/.well-known/x\n}"
    cases[f"ssl_client_ca_file = {not_pem}\n" + good] = "no PEM certificate in it"
    for extra, message in cases.items():
        base.config.write_text(config + "\nauth_mechanisms = plain oauthbearer\n" + extra + "\n")
        r = helpers.run([aerie_bin, "conf", "check", "-c", str(base.config)], timeout=60)
        assert r.returncode != 0 and message in r.stdout + r.stderr, (extra, r.stdout + r.stderr)
