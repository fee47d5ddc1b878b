"""SCRAM-SHA-256-PLUS (RFC 5802 §6 channel binding, RFC 9266 `tls-exporter`; issue 13 item 2) with a real TLS
library: pyOpenSSL (OpenSSL's SSL_export_keying_material) gives the client the channel's binding data, and the
SCRAM client of test_scram.py binds to it (scramp refuses tls-exporter: Python's ssl module cannot export). -PLUS is offered on TLS 1.3 only; a client that binds to other data (another channel: a man in the
middle) fails; plain SCRAM saying "y" (client supports binding, thinks the server does not) is a downgrade and
fails where -PLUS is offered."""

from __future__ import annotations

import base64
import os
import select
import socket
import ssl

import pytest
from OpenSSL import SSL

import helpers
from test_scram import PW, ScramClient, aerie_hash

PLUS = "SCRAM-SHA-256-PLUS"


@pytest.fixture(scope="module")
def plus_server(aerie_bin, ca_dir, vmail, request):
    uid, gid = vmail
    users = {"scram": helpers.User("scram", PW, aerie_hash(aerie_bin), uid, gid, True)}
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "scramplus", users=users,
                                     extra="auth_mechanisms = plain scram-sha-256 scram-sha-256-plus") as server:
        yield server


class TLS13Line:
    """A line-oriented client over pyOpenSSL, TLS 1.3 only, that can export keying material."""

    def __init__(self, port: int, ca) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(SSL.TLS1_3_VERSION)
        context.load_verify_locations(str(ca))
        context.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1] == 1)
        raw = socket.create_connection(("127.0.0.1", port), timeout=helpers.READ_TIMEOUT)
        raw.setblocking(True)  # pyOpenSSL wants a blocking socket; reads wait in select() with a bound instead
        self.raw = raw
        self.conn = SSL.Connection(context, raw)
        self.conn.set_tlsext_host_name(b"localhost")
        self.conn.set_connect_state()
        self.conn.do_handshake()
        assert self.conn.get_protocol_version_name() == "TLSv1.3"
        self.buffer = b""

    def exporter(self) -> bytes:
        return self.conn.export_keying_material(b"EXPORTER-Channel-Binding", 32)

    def line(self) -> str:
        while b"\r\n" not in self.buffer:
            if not self.conn.pending():
                ready, _, _ = select.select([self.raw], [], [], helpers.READ_TIMEOUT)
                assert ready, "no answer within the read timeout"
            try:
                chunk = self.conn.recv(65536)
            except SSL.WantReadError:
                continue
            assert chunk, "connection closed"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode()

    def send(self, text: str) -> None:
        self.conn.sendall(text.encode() + b"\r\n")

    def close(self) -> None:
        try:
            self.conn.shutdown()
        except SSL.Error:
            pass
        self.conn.close()


def imap_authenticate(c: TLS13Line, mechanism: str, steps) -> str:
    """Runs AUTHENTICATE; `steps(challenge bytes) -> response bytes`; returns the tagged line."""
    c.send(f"a AUTHENTICATE {mechanism}")
    while True:
        line = c.line()
        if line.startswith("a "):
            return line
        assert line.startswith("+"), line
        c.send(base64.b64encode(steps(base64.b64decode(line[2:]))).decode())


def plus_client(user: str, binding: bytes) -> ScramClient:
    return ScramClient(user, PW, gs2_header="p=tls-exporter,,", channel_binding=binding)


def imap_capabilities(c: TLS13Line) -> list[str]:
    c.send("c CAPABILITY")
    caps = c.line()
    assert c.line().startswith("c OK")
    return caps.split()


def test_plus_over_tls13_logs_in_and_verifies_the_server(plus_server):
    c = TLS13Line(plus_server.imaps_port, plus_server.tls.ca)
    assert c.line().startswith("* OK")
    assert f"AUTH={PLUS}" in imap_capabilities(c)
    client = plus_client("scram", c.exporter())
    assert imap_authenticate(c, PLUS, client).startswith("a OK"), "SCRAM-SHA-256-PLUS login failed"
    assert client.final_ok, "the server's v= did not match the signature the client computed"
    c.send("s SELECT INBOX")
    while not (line := c.line()).startswith("s "):
        pass
    assert line.startswith("s OK")
    c.close()


def test_binding_to_another_channel_fails(plus_server):
    c = TLS13Line(plus_server.imaps_port, plus_server.tls.ca)
    c.line()
    client = plus_client("scram", os.urandom(32))
    result = imap_authenticate(c, PLUS, client)
    assert result.startswith("a NO") and "AUTHENTICATIONFAILED" in result, result
    assert client.final_ok is None, "a server final message was sent for a wrong binding"
    c.close()


def test_plain_scram_claiming_no_server_binding_is_a_downgrade(plus_server):
    c = TLS13Line(plus_server.imaps_port, plus_server.tls.ca)
    c.line()

    result = imap_authenticate(c, "SCRAM-SHA-256", ScramClient("scram", PW, gs2_header="y,,"))
    assert result.startswith("a NO"), result
    # The same client without the "y" claim logs in with plain SCRAM.
    c2 = TLS13Line(plus_server.imaps_port, plus_server.tls.ca)
    c2.line()
    assert imap_authenticate(c2, "SCRAM-SHA-256", ScramClient("scram", PW)).startswith("a OK")
    c.close()
    c2.close()


def test_tls12_does_not_offer_plus(plus_server):
    context = helpers.client_context(plus_server.tls.ca)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    import imaplib
    c = imaplib.IMAP4_SSL("127.0.0.1", plus_server.imaps_port, ssl_context=context, timeout=helpers.READ_TIMEOUT)
    assert c.sock.version() == "TLSv1.2"
    assert "AUTH=SCRAM-SHA-256" in c.capabilities
    assert f"AUTH={PLUS}" not in c.capabilities
    # Asking for it anyway: not offered here, so refused like any unknown mechanism.
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate(PLUS, lambda challenge: b"")
    c.logout()


def test_pop3_plus_logs_in(plus_server):
    c = TLS13Line(plus_server.pop3s_port, plus_server.tls.ca)
    assert c.line().startswith("+OK")
    c.send("CAPA")
    capa = []
    while (line := c.line()) != ".":
        capa.append(line)
    assert any(line.startswith("SASL") and PLUS in line.split() for line in capa), capa
    client = plus_client("scram", c.exporter())
    c.send(f"AUTH {PLUS}")
    while True:
        line = c.line()
        if not line.startswith("+ ") and line != "+":
            break
        c.send(base64.b64encode(client(base64.b64decode(line[2:]))).decode())
    assert line.startswith("+OK"), line
    assert client.final_ok
    c.send("QUIT")
    c.close()


def test_login_line_names_the_mechanism(plus_server):
    # fail2ban and admins read the method from the login line (after the tests above logged in with -PLUS).
    assert f"method={PLUS}" in plus_server.log()
    assert PW not in plus_server.log()
