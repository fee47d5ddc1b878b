"""TLS client certificates (ssl_server_request_client_cert, ssl_server_ca_file with CRLs, ssl_server_require_crl):
certificates made here with `openssl ca` (good, expired, revoked, another CA's), presented by Python and curl."""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers

CA_CONFIG = """\
[ ca ]
default_ca = client_ca
[ client_ca ]
dir = DIR
database = DIR/index.txt
new_certs_dir = DIR/issued
certificate = DIR/ca.pem
private_key = DIR/ca.key
serial = DIR/serial
crlnumber = DIR/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
unique_subject = no
x509_extensions = client_cert
[ policy_any ]
commonName = supplied
[ client_cert ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""


def check(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"


@dataclass
class ClientCA:
    directory: Path
    config: Path
    cert: Path
    crl: Path

    @staticmethod
    def make(directory: Path, name: str) -> "ClientCA":
        (directory / "issued").mkdir(parents=True)
        (directory / "index.txt").write_text("")
        (directory / "serial").write_text("1000\n")
        (directory / "crlnumber").write_text("01\n")
        config = directory / "ca.cnf"
        config.write_text(CA_CONFIG.replace("DIR", str(directory)))
        key, cert = directory / "ca.key", directory / "ca.pem"
        check(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)])
        check(["openssl", "req", "-x509", "-new", "-key", str(key), "-sha256", "-days", "30", "-subj", f"/CN={name}",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
               "-out", str(cert)])
        return ClientCA(directory, config, cert, directory / "crl.pem")

    def issue(self, cn: str, *dates: str) -> tuple[Path, Path]:
        """A client certificate and key for `cn`; `dates` are extra `openssl ca` options (-startdate/-enddate)."""
        key, csr, cert = (self.directory / f"{cn}.{ext}" for ext in ("key", "csr", "pem"))
        check(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)])
        check(["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr)])
        check(["openssl", "ca", "-batch", "-config", str(self.config), "-notext", "-in", str(csr), "-out", str(cert),
               *dates])
        return cert, key

    def revoke(self, cert: Path) -> None:
        check(["openssl", "ca", "-batch", "-config", str(self.config), "-revoke", str(cert)])

    def gencrl(self) -> None:
        check(["openssl", "ca", "-batch", "-config", str(self.config), "-gencrl", "-out", str(self.crl)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = ClientCA.make(d / "client-ca", "Aerie Client CA")
    other = ClientCA.make(d / "other-ca", "Unknown CA")
    certs = {
        "alice": ca.issue("alice"),
        "expired": ca.issue("expired", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"),
        "revoked": ca.issue("revoked"),
        "stranger": other.issue("alice"),
        "sha512": ca.issue("sha512"),  # a user of the users file
        "ghost": ca.issue("ghost"),  # no such user
        "stranger-sha512": other.issue("sha512"),
    }
    ca.revoke(certs["revoked"][0])
    ca.gencrl()
    bundle = d / "client-ca-bundle.pem"  # Dovecot's layout: the CA certificates, then their CRLs
    bundle.write_text(ca.cert.read_text() + ca.crl.read_text())
    helpers.make_readable_by_all(d)
    return {"ca": ca, "bundle": bundle, "certs": certs}


def client_cert_config(ca_file: Path, extra: str = "") -> str:
    return f"ssl_server_request_client_cert = yes\nssl_server_ca_file = {ca_file}\n{extra}"


def greeting(srv, cert: tuple[Path, Path] | None) -> bytes:
    """The implicit-TLS greeting a client presenting `cert` gets; b"" when the server refused the certificate
    (TLS 1.3: the alert arrives after the client's side of the handshake, on the first read)."""
    ctx = ssl.create_default_context(cafile=str(srv.tls.ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    try:
        with socket.create_connection(("127.0.0.1", srv.imaps_port), timeout=helpers.READ_TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.settimeout(helpers.READ_TIMEOUT)
                return tls.recv(4096)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return b""


def test_client_certificates_verified_with_crl(server_factory, pki):
    srv = server_factory.start(name="clientcert", extra=client_cert_config(pki["bundle"]))
    certs = pki["certs"]
    assert greeting(srv, certs["alice"]).startswith(b"* OK")
    assert greeting(srv, None).startswith(b"* OK"), "a client without a certificate may still log in by password"
    assert greeting(srv, certs["expired"]) == b""
    assert greeting(srv, certs["revoked"]) == b""
    assert greeting(srv, certs["stranger"]) == b""
    # STARTTLS verifies the same way.
    r = helpers.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.imap_port}", "-starttls", "imap",
                     "-cert", str(certs["revoked"][0]), "-key", str(certs["revoked"][1]), "-CAfile", str(srv.tls.ca),
                     "-crlf", "-ign_eof"], input="a CAPABILITY\r\n", timeout=30)
    assert "a OK" not in r.stdout, r.stdout[-1500:]


def test_crl_required_by_default(server_factory, pki):
    """ssl_server_require_crl = yes (the default): without a CRL for the issuer no certificate verifies."""
    ca_only = pki["ca"].directory / "ca-only.pem"
    ca_only.write_text(pki["ca"].cert.read_text())
    helpers.make_readable_by_all(ca_only)
    srv = server_factory.start(name="nocrl", extra=client_cert_config(ca_only))
    assert greeting(srv, pki["certs"]["alice"]) == b""
    srv = server_factory.start(name="nocrl-ok", extra=client_cert_config(ca_only, "ssl_server_require_crl = no"))
    assert greeting(srv, pki["certs"]["alice"]).startswith(b"* OK")
    assert greeting(srv, pki["certs"]["stranger"]) == b""


def test_request_client_cert_needs_ca_file(server_factory):
    srv = server_factory.prepare(name="noca", extra="ssl_server_request_client_cert = yes")
    r = subprocess.run([srv.binary, "conf", "check", "-c", str(srv.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert "ssl_server_ca_file" in r.stdout + r.stderr


def test_auth_ssl_require_client_cert(server_factory, pki):
    """auth_ssl_require_client_cert = yes: no login without a verified certificate, PLAIN/LOGIN included."""
    srv = server_factory.prepare(name="requirecert",
                                 extra=client_cert_config(pki["bundle"], "auth_ssl_require_client_cert = yes"))
    srv.start(wait=False)  # wait_ready's own TLS client has no certificate: wait for the plaintext greeting
    deadline = time.monotonic() + helpers.START_TIMEOUT
    while True:
        assert srv.proc.poll() is None and time.monotonic() < deadline, srv.output() + srv.log()
        try:
            with socket.create_connection(("127.0.0.1", srv.imap_port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(4096).startswith(b"* OK"):
                    break
        except OSError:
            time.sleep(0.1)
    u = next(iter(srv.users.values()))
    assert greeting(srv, None) == b""
    assert greeting(srv, pki["certs"]["revoked"]) == b""
    ctx = ssl.create_default_context(cafile=str(srv.tls.ca))
    ctx.load_cert_chain(*(str(p) for p in pki["certs"]["alice"]))
    with imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=ctx, timeout=helpers.READ_TIMEOUT) as c:
        typ, _ = c.login(u.name, u.password)
        assert typ == "OK"
    # STARTTLS without a certificate: the handshake fails, so LOGIN is never answered OK.
    r = helpers.run(["openssl", "s_client", "-connect", f"127.0.0.1:{srv.imap_port}", "-starttls", "imap",
                     "-CAfile", str(srv.tls.ca), "-crlf", "-ign_eof"],
                    input=f'a LOGIN {u.name} "{u.password}"\r\n', timeout=30)
    assert "a OK" not in r.stdout, r.stdout[-1500:]


@pytest.mark.parametrize("ssl_mode, request_cert, needs", [
    ("required", False, "ssl_server_request_client_cert"),
    ("yes", True, "ssl = required"),
])
def test_auth_ssl_require_client_cert_refused_where_it_cannot_hold(server_factory, pki, ssl_mode, request_cert, needs):
    extra = (client_cert_config(pki["bundle"]) if request_cert else "") + "\nauth_ssl_require_client_cert = yes"
    srv = server_factory.prepare(name="requirecert-bad", extra=extra, replace={"ssl = required": f"ssl = {ssl_mode}"})
    r = subprocess.run([srv.binary, "conf", "check", "-c", str(srv.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert needs in r.stdout + r.stderr, r.stdout + r.stderr


def external_server(server_factory, pki):
    pop3s = helpers.free_port()
    extra = client_cert_config(pki["bundle"], "auth_ssl_username_from_cert = yes\n"
                               "auth_mechanisms = plain login external\n"
                               f"service pop3-login {{\n  inet_listener pop3s {{\n    port = {pop3s}\n"
                               "    ssl = yes\n  }\n}\n")
    srv = server_factory.start(name="external", extra=extra, replace={"protocols = imap": "protocols = imap pop3"})
    return srv, pop3s


def context_with(srv, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(srv.tls.ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def test_external_logs_in_by_certificate(server_factory, pki):
    """RFC 4422 Appendix A over IMAP (RFC 9051 §6.2.2) and POP3 (RFC 5034): the certificate's commonName is the
    user; no password is given (Dovecot's nopassword)."""
    srv, pop3s = external_server(server_factory, pki)
    certs = pki["certs"]
    # curl: AUTHENTICATE EXTERNAL with the user as authzid, then LIST.
    r = helpers.run(["curl", "-sS", "--cacert", str(srv.tls.ca), "--cert", str(certs["sha512"][0]),
                     "--key", str(certs["sha512"][1]), "--login-options", "AUTH=EXTERNAL", "-u", "sha512:",
                     f"imaps://127.0.0.1:{srv.imaps_port}/"], timeout=60)
    assert r.returncode == 0, r.stderr + srv.log()[-2000:]
    assert "INBOX" in r.stdout
    for name in ("ghost", "stranger-sha512", None):
        args = ["--cert", str(certs[name][0]), "--key", str(certs[name][1])] if name else []
        r = helpers.run(["curl", "-sS", "--cacert", str(srv.tls.ca), *args, "--login-options", "AUTH=EXTERNAL",
                         "-u", f"{'ghost' if name == 'ghost' else 'sha512'}:",
                         f"imaps://127.0.0.1:{srv.imaps_port}/"], timeout=60)
        assert r.returncode != 0, f"{name}: {r.stdout}"
    # imaplib: an empty authzid.
    with imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=context_with(srv, certs["sha512"]),
                           timeout=helpers.READ_TIMEOUT) as c:
        assert "AUTH=EXTERNAL" in c.capabilities
        typ, _ = c.authenticate("EXTERNAL", lambda _: b"")
        assert typ == "OK"
        assert c.select("INBOX")[0] == "OK"
    # Another user's name as authzid is refused.
    with imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=context_with(srv, certs["sha512"]),
                           timeout=helpers.READ_TIMEOUT) as c:
        with pytest.raises(imaplib.IMAP4.error):
            c.authenticate("EXTERNAL", lambda _: b"argon")
    # Without a certificate EXTERNAL is neither offered nor accepted; passwords still work.
    u = srv.users["argon"]
    with imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=context_with(srv, None),
                           timeout=helpers.READ_TIMEOUT) as c:
        assert "AUTH=EXTERNAL" not in c.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            c.authenticate("EXTERNAL", lambda _: b"")
        assert c.login(u.name, u.password)[0] == "OK"
    # POP3 AUTH EXTERNAL with an empty initial response (RFC 5034 §4: "=").
    p = poplib.POP3_SSL("127.0.0.1", pop3s, context=context_with(srv, certs["sha512"]), timeout=helpers.READ_TIMEOUT)
    try:
        assert "EXTERNAL" in " ".join(p.capa().get("SASL", []))
        assert p._shortcmd("AUTH EXTERNAL =").startswith(b"+OK")
        assert p.stat()[0] >= 0
    finally:
        p.quit()
    p = poplib.POP3_SSL("127.0.0.1", pop3s, context=context_with(srv, certs["ghost"]), timeout=helpers.READ_TIMEOUT)
    try:
        with pytest.raises(poplib.error_proto):
            p._shortcmd("AUTH EXTERNAL =")
    finally:
        p.close()


@pytest.mark.parametrize("extra", ["auth_mechanisms = plain external",
                                   "auth_mechanisms = plain external\nssl_server_request_client_cert = yes\n"
                                   "ssl_server_ca_file = CA"])
def test_external_needs_certificate_names(server_factory, pki, extra):
    srv = server_factory.prepare(name="external-bad", extra=extra.replace("CA", str(pki["bundle"])))
    r = subprocess.run([srv.binary, "conf", "check", "-c", str(srv.config)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert "auth_ssl_username_from_cert" in r.stdout + r.stderr, r.stdout + r.stderr
