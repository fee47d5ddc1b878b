"""`aerie adm` over TCP with mutual TLS (issue 13 item 6): `service aerie-admin { inet_listener }`, the client
certificate required and verified against admin_ssl_ca_file (with its CRL), the subject in admin_allowed_subjects;
every command logged with the certificate's subject."""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess

import pytest

import helpers
from test_external import ClientCA


@pytest.fixture(scope="module")
def admin_pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("adminpki")
    ca = ClientCA.make(d / "admin-ca", "Aerie Admin CA")
    other = ClientCA.make(d / "other-ca", "Unknown CA")
    certs = {
        "ops1": ca.issue("ops1"),
        "intern": ca.issue("intern"),  # the right CA, not an allowed subject
        "expired": ca.issue("expired", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"),
        "revoked": ca.issue("revoked"),
        "stranger": other.issue("ops1"),  # an allowed subject from another CA
    }
    ca.revoke(certs["revoked"][0])
    ca.gencrl()
    bundle = d / "admin-ca-bundle.pem"
    bundle.write_text(ca.cert.read_text() + ca.crl.read_text())
    helpers.make_readable_by_all(d)
    return {"bundle": bundle, "certs": certs}


@pytest.fixture(scope="module")
def admin_server(server_factory, admin_pki):
    port = helpers.free_port()
    extra = (f"service aerie-admin {{\n  inet_listener admin {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n"
             f"admin_ssl_ca_file = {admin_pki['bundle']}\n"
             "admin_allowed_subjects = CN=ops1; CN=ops2,O=Example\n")
    state = helpers.private_dir("adminstate")  # reachable by the auth process's account
    srv = server_factory.start(name="admintls", extra=extra + f"state_dir = {state}\n")
    srv.admin_port = port
    yield srv
    helpers.remove_private_dir(state)


def adm(aerie_bin, srv, cert, *words) -> subprocess.CompletedProcess:
    args = [aerie_bin, "adm", *words, "--host", f"localhost:{srv.admin_port}", "--ca", str(srv.tls.ca)]
    if cert:
        args += ["--cert", str(cert[0]), "--key", str(cert[1])]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def imap_login(srv, user) -> bool:
    c = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=helpers.client_context(srv.tls.ca),
                          timeout=helpers.READ_TIMEOUT)
    try:
        c.login(user.name, user.password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def test_allowed_certificate_runs_commands(aerie_bin, admin_server, admin_pki, users):
    ops1 = admin_pki["certs"]["ops1"]
    # The options before the command, as `aerie adm --host H:PORT --cert … who`.
    r = subprocess.run([aerie_bin, "adm", "--host", f"localhost:{admin_server.admin_port}", "--cert", str(ops1[0]),
                        "--key", str(ops1[1]), "--ca", str(admin_server.tls.ca), "who"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("username\tproto\tip"), r
    r = adm(aerie_bin, admin_server, ops1, "logins", "disable", "--reason", "Maintenance until noon")
    assert r.returncode == 0 and "imap: disabled (Maintenance until noon)" in r.stdout, r
    assert not imap_login(admin_server, users["sha512"])
    assert adm(aerie_bin, admin_server, ops1, "logins", "enable").returncode == 0
    assert imap_login(admin_server, users["sha512"])
    # Commands the auth process answers go through the server.
    r = adm(aerie_bin, admin_server, ops1, "user", "sha512")
    assert r.returncode == 0 and "userdb: sha512" in r.stdout, r
    r = adm(aerie_bin, admin_server, ops1, "user", "-A")  # a listing comes in parts; passed on whole
    assert r.returncode == 0 and "sha512" in r.stdout.split(), r
    r = adm(aerie_bin, admin_server, ops1, "auth", "test", "sha512", users["sha512"].password)
    assert r.returncode == 0 and "auth succeeded" in r.stdout, r
    log = admin_server.log()
    assert 'admin(subject="CN=ops1" ip=127.0.0.1): logins disable all reason="Maintenance until noon"' in log
    assert 'admin(subject="CN=ops1" ip=127.0.0.1): who: ' in log
    assert 'admin(subject="CN=ops1" ip=127.0.0.1): auth test sha512: done' in log
    assert users["sha512"].password not in log


def test_second_factors_over_tls(aerie_bin, admin_server, admin_pki, users):
    ops1 = admin_pki["certs"]["ops1"]
    r = adm(aerie_bin, admin_server, ops1, "totp", "enroll", "sha512")
    assert r.returncode == 0 and r.stdout.startswith("otpauth://totp/Aerie:sha512?"), r
    assert "Scan with the authenticator app:" in r.stdout
    assert not imap_login(admin_server, users["sha512"]), "TOTP is on: the password alone no longer does"
    r = adm(aerie_bin, admin_server, ops1, "app-password", "add", "sha512", "phone", "--protocols", "imap")
    assert r.returncode == 0, r
    phone = r.stdout.strip()
    c = imaplib.IMAP4_SSL("127.0.0.1", admin_server.imaps_port,
                          ssl_context=helpers.client_context(admin_server.tls.ca), timeout=helpers.READ_TIMEOUT)
    c.login("sha512", phone)
    c.logout()
    listing = adm(aerie_bin, admin_server, ops1, "app-password", "list", "sha512").stdout
    assert "TOTP: on (SHA1)" in listing and "phone\tprotocols=imap" in listing and phone not in listing
    assert adm(aerie_bin, admin_server, ops1, "app-password", "revoke", "sha512", "phone").returncode == 0
    assert adm(aerie_bin, admin_server, ops1, "totp", "disable", "sha512").returncode == 0
    assert imap_login(admin_server, users["sha512"])
    log = admin_server.log()
    assert 'admin(subject="CN=ops1" ip=127.0.0.1): totp enroll sha512: done' in log
    assert "adm: app password 'phone' added for sha512" in log and phone not in log


@pytest.mark.parametrize("which", ["stranger", "expired", "revoked", "intern", None])
def test_refused_certificates(aerie_bin, admin_server, admin_pki, which):
    cert = admin_pki["certs"][which] if which else None
    if cert is None:
        r = subprocess.run([aerie_bin, "adm", "who", "--host", f"localhost:{admin_server.admin_port}",
                            "--ca", str(admin_server.tls.ca), "--cert", "/nonexistent", "--key", "/nonexistent"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        # A TLS client without a certificate: the handshake is refused.
        ctx = helpers.client_context(admin_server.tls.ca)
        with socket.create_connection(("127.0.0.1", admin_server.admin_port), timeout=helpers.READ_TIMEOUT) as raw:
            with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"x")
                    assert tls.recv(100) == b""
                    raise ssl.SSLError("closed without an answer")
        # The refusal is logged once the handshake has failed on the server's side, maybe after the client saw it.
        helpers.wait_for(lambda: "PEER_DID_NOT_RETURN_A_CERTIFICATE" in admin_server.log(), timeout=10,
                         what="the refused handshake in the log")
        return
    r = adm(aerie_bin, admin_server, cert, "logins", "disable")
    assert r.returncode == 1, r
    assert adm(aerie_bin, admin_server, admin_pki["certs"]["ops1"], "logins", "status").stdout.count("enabled") == 2
    if which == "intern":
        assert "certificate subject not allowed" in r.stderr
        assert 'admin(subject="CN=intern" ip=127.0.0.1): refused' in admin_server.log()
    else:
        assert "CERTIFICATE_VERIFY_FAILED" in admin_server.log()


def test_listener_without_ca_is_refused_with_file_and_line(aerie_bin, tmp_path):
    conf = tmp_path / "aerie.conf"
    conf.write_text("service aerie-admin {\n  inet_listener admin {\n    address = 192.0.2.1\n    port = 4443\n"
                    "  }\n}\nadmin_allowed_subjects = CN=ops1\n")
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{conf}:2" in r.stdout + r.stderr and "admin_ssl_ca_file is not set" in r.stdout + r.stderr, r
