"""HAProxy (Debian's package) in front of Aerie: PROXY protocol v1 and v2 on `haproxy = yes` listeners.

Clients connect from 127.0.0.2 or 127.0.0.3 to HAProxy on 127.0.0.1, which connects to Aerie from 127.0.0.1 (the only
address in haproxy_trusted_networks). Aerie must use the client's address everywhere (log lines, passwd-file
allow_nets, mail_max_userip_connections, login_trusted_networks), refuse anyone else on those listeners, and count a
connection as secured only when HAProxy says the client's own leg was TLS.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP

CLIENT = "127.0.0.2"
TRUSTED_CLIENT = "127.0.0.3"  # in login_trusted_networks: its IMAP ID x-originating-ip is believed


def ensure_haproxy() -> str:
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "haproxy"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
    if path is None:
        pytest.fail("haproxy is not installed and could not be installed (scripts/test.sh installs it)")
    return path


class From:
    """imaplib clients whose socket is bound to a source address, so the proxy sees another client than itself."""

    @staticmethod
    def plain(source: str, port: int) -> imaplib.IMAP4:
        class Client(imaplib.IMAP4):
            def _create_socket(self, timeout):
                return socket.create_connection((self.host, self.port), timeout, source_address=(source, 0))

        return Client("127.0.0.1", port, timeout=helpers.READ_TIMEOUT)

    @staticmethod
    def tls(source: str, port: int, ca: Path) -> imaplib.IMAP4_SSL:
        class Client(imaplib.IMAP4_SSL):
            def _create_socket(self, timeout):
                sock = socket.create_connection((self.host, self.port), timeout, source_address=(source, 0))
                return self.ssl_context.wrap_socket(sock, server_hostname="localhost")

        return Client("127.0.0.1", port, ssl_context=helpers.client_context(ca), timeout=helpers.READ_TIMEOUT)


def raw_from(source: str, port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=helpers.READ_TIMEOUT, source_address=(source, 0))


class Setup:
    def __init__(self, server, haproxy, ports):
        self.server = server
        self.haproxy = haproxy
        self.ports = ports  # name -> port

    def log_lines(self, pattern: str) -> list[str]:
        return [l for l in self.server.log().splitlines() if re.search(pattern, l)]

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        return helpers.wait_for(lambda: self.log_lines(pattern), timeout, what=f"log line {pattern}")[-1]


HAPROXY_CONFIG = """\
global
  maxconn 100

defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s

# TLS terminated by HAProxy; PROXY v2 with the SSL TLV to Aerie's plaintext haproxy listener.
frontend tls_terminated
  bind 127.0.0.1:{tls_terminated} ssl crt {pem}
  default_backend to_plain_v2ssl
backend to_plain_v2ssl
  server aerie 127.0.0.1:{aerie_plain} send-proxy-v2-ssl

# Plaintext client leg, PROXY v2 with the SSL TLV saying so.
frontend plain_v2
  bind 127.0.0.1:{plain_v2}
  default_backend to_plain_v2ssl

# Plaintext client leg, PROXY v1.
frontend plain_v1
  bind 127.0.0.1:{plain_v1}
  default_backend to_plain_v1
backend to_plain_v1
  server aerie 127.0.0.1:{aerie_plain} send-proxy

# TLS passed through to Aerie's implicit-TLS haproxy listener: the PROXY v2 header comes before the handshake.
frontend tls_passthrough
  bind 127.0.0.1:{tls_passthrough}
  default_backend to_tls_v2
backend to_tls_v2
  server aerie 127.0.0.1:{aerie_tls} send-proxy-v2

# POP3 the same way as the first IMAP frontend.
frontend pop3_tls_terminated
  bind 127.0.0.1:{pop3_tls_terminated} ssl crt {pem}
  default_backend to_pop3_v2ssl
backend to_pop3_v2ssl
  server aerie 127.0.0.1:{aerie_pop3} send-proxy-v2-ssl
"""


@pytest.fixture(scope="module")
def setup(server_factory, vmail):
    haproxy_bin = ensure_haproxy()
    names = ["aerie_plain", "aerie_tls", "tls_terminated", "plain_v2", "plain_v1", "tls_passthrough", "aerie_pop3",
             "pop3_tls_terminated"]
    ports = {n: helpers.free_port() for n in names}
    service_extra = (f"  inet_listener proxied {{\n    port = {ports['aerie_plain']}\n    haproxy = yes\n  }}\n"
                     f"  inet_listener proxied_tls {{\n    port = {ports['aerie_tls']}\n    ssl = yes\n"
                     f"    haproxy = yes\n  }}\n")
    extra = (f"haproxy_trusted_networks = 127.0.0.1/32\nhaproxy_timeout = 1 secs\n"
             f"login_trusted_networks = {TRUSTED_CLIENT}/32 192.0.2.0/24\nmail_max_userip_connections = 1\n"
             f"service pop3-login {{\n  inet_listener pop3 {{\n    port = {ports['aerie_pop3']}\n"
             f"    haproxy = yes\n  }}\n}}\n")
    server = server_factory.prepare(name="proxy", extra=extra, service_extra=service_extra,
                                    replace={"protocols = imap": "protocols = imap pop3"})
    # Two users limited by passwd-file allow_nets: one to the client's address, one to the proxy's.
    uid, gid = vmail
    password = "Nets-Pw-4kQz"
    stored = helpers.sha512_crypt(password)
    with open(server.directory / "users", "a") as f:
        for name, nets in (("near", f"{CLIENT}/32,2001:db8::/32"), ("far", "127.0.0.1")):
            home = server.directory / "home" / name
            home.mkdir()
            os.chown(home, uid, gid)
            os.chmod(home, 0o700)
            f.write(f"{name}:{stored}:{uid}:{gid}::{home}::allow_nets={nets}\n")
    server.start()
    d = server.directory
    pem = d / "haproxy.pem"
    pem.write_text((d / "tls" / "cert.pem").read_text() + (d / "tls" / "key.pem").read_text())
    cfg = d / "haproxy.cfg"
    cfg.write_text(HAPROXY_CONFIG.format(pem=pem, **ports))
    out = open(d / "haproxy.out", "w")
    proc = subprocess.Popen([haproxy_bin, "-db", "-f", str(cfg)], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        for name in ("tls_terminated", "plain_v2", "plain_v1", "tls_passthrough", "pop3_tls_terminated"):
            helpers.wait_for(lambda: not helpers.port_is_free(ports[name]) or proc.poll() is not None, 10,
                             what=f"haproxy listening on {name}")
        assert proc.poll() is None, (d / "haproxy.out").read_text()
        yield Setup(server, proc, ports)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out.close()


def test_tls_terminated_by_haproxy_logs_the_client_address_and_counts_as_tls(setup):
    u = setup.server.users["sha512"]
    c = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    try:
        assert "AUTH=PLAIN" in c.capabilities and "LOGINDISABLED" not in c.capabilities, c.capabilities
        assert "STARTTLS" not in c.capabilities, c.capabilities
        c.login(u.name, u.password)
        c.select("INBOX")
    finally:
        c.logout()
    line = setup.wait_log(r"Login: user=<sha512>.*rip=127\.0\.0\.2")
    assert "lip=127.0.0.1" in line and "TLS" in line, line


def test_plaintext_client_leg_cannot_log_in_under_ssl_required(setup):
    u = setup.server.users["sha512"]
    for frontend in ("plain_v2", "plain_v1"):
        c = From.plain(CLIENT, setup.ports[frontend])
        try:
            assert "LOGINDISABLED" in c.capabilities, (frontend, c.capabilities)
            with pytest.raises(imaplib.IMAP4.error):
                c.login(u.name, u.password)
        finally:
            c.logout()
    line = setup.wait_log(r"Disconnected: Aborted login.*plaintext.*rip=127\.0\.0\.2|"
                          r"Disconnected.*user=<sha512>.*rip=127\.0\.0\.2")
    assert "TLS" not in line.split("lip=")[1], line


def test_starttls_through_a_v1_tcp_proxy_is_end_to_end_tls(setup):
    u = setup.server.users["sha512"]
    c = From.plain(CLIENT, setup.ports["plain_v1"])
    try:
        c.starttls(ssl_context=helpers.client_context(setup.server.tls.ca))
        c.login(u.name, u.password)
    finally:
        c.logout()
    setup.wait_log(r"Login: user=<sha512>.*rip=127\.0\.0\.2.*TLS")


def test_tls_passthrough_reads_the_header_before_the_handshake(setup):
    u = setup.server.users["argon"]
    c = From.tls(TRUSTED_CLIENT, setup.ports["tls_passthrough"], setup.server.tls.ca)
    try:
        c.login(u.name, u.password)
    finally:
        c.logout()
    setup.wait_log(r"Login: user=<argon>.*rip=127\.0\.0\.3")


def test_pop3_behind_haproxy(setup):
    class Client(poplib.POP3_SSL):
        def _create_socket(self, timeout):
            sock = socket.create_connection((self.host, self.port), timeout, source_address=(CLIENT, 0))
            return self.context.wrap_socket(sock, server_hostname="localhost")

    u = setup.server.users["sha512"]
    c = Client("127.0.0.1", setup.ports["pop3_tls_terminated"], context=helpers.client_context(setup.server.tls.ca),
               timeout=helpers.READ_TIMEOUT)
    try:
        assert "STLS" not in c.capa()
        c.user(u.name)
        c.pass_(u.password)
        c.stat()
    finally:
        c.quit()
    line = setup.wait_log(r"pop3-login: .*Login: user=<sha512>.*rip=127\.0\.0\.2")
    assert "TLS" in line, line
    with raw_from(CLIENT, setup.ports["aerie_pop3"]) as s:
        s.settimeout(helpers.READ_TIMEOUT)
        assert s.recv(100) == b""
    setup.wait_log(r"pop3-login: Warning: haproxy: Client not trusted \(rip=127\.0\.0\.2\)")


def test_direct_connection_from_an_untrusted_address_is_dropped_and_logged(setup):
    for port in (setup.ports["aerie_plain"], setup.ports["aerie_tls"]):
        with raw_from(CLIENT, port) as s:
            # A client that is not the proxy gets nothing, not even a greeting; it is disconnected at once.
            s.settimeout(helpers.READ_TIMEOUT)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            assert data == b"", data
    refused = setup.log_lines(r"imap-login: Warning: haproxy: Client not trusted \(rip=127\.0\.0\.2\)")
    assert len(refused) >= 2, setup.server.log()[-2000:]


def test_trusted_proxy_without_a_header_times_out_or_is_refused(setup):
    with raw_from("127.0.0.1", setup.ports["aerie_plain"]) as s:
        s.settimeout(helpers.READ_TIMEOUT)
        assert s.recv(100) == b""  # haproxy_timeout = 1 secs: no greeting, then EOF
    setup.wait_log(r"haproxy: Client timed out \(rip=127\.0\.0\.1\)")
    with raw_from("127.0.0.1", setup.ports["aerie_plain"]) as s:
        s.sendall(b"a LOGIN sha512 x\r\n")
        s.settimeout(helpers.READ_TIMEOUT)
        assert s.recv(100) == b""
    setup.wait_log(r"Client disconnected: Failed to read valid HAproxy data \(rip=127\.0\.0\.1\)")
    with raw_from("127.0.0.1", setup.ports["aerie_plain"]) as s:
        s.sendall(b"PROXY TCP4 1.2.3.4 127.0.0.1 1 99999\r\n")
        s.settimeout(helpers.READ_TIMEOUT)
        assert s.recv(100) == b""
    setup.wait_log(r"haproxy\(v1\): Client disconnected: Proxied local port is invalid")


def test_allow_nets_sees_the_client_address(setup):
    near = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    try:
        near.login("near", "Nets-Pw-4kQz")
    finally:
        near.logout()
    # `far` may log in only from 127.0.0.1: the proxy's address, which is not the client's.
    far = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            far.login("far", "Nets-Pw-4kQz")
    finally:
        far.logout()
    setup.wait_log(r"allow_nets check failed: IP 127\.0\.0\.2 not in allowed networks")


def test_userip_limit_counts_the_client_address(setup):
    u = setup.server.users["blf"]
    first = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    first.login(u.name, u.password)
    try:
        # Another client behind the same proxy is another user+IP pair (limit 1 per pair).
        other = From.tls(TRUSTED_CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
        other.login(u.name, u.password)
        other.logout()
        # The same client twice is over the limit.
        again = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
        with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)):
            again.login(u.name, u.password)
            again.noop()
    finally:
        first.logout()
    setup.wait_log(r"imap\(blf\).*Maximum number of connections from user\+IP exceeded")
    assert setup.log_lines(r"Login: user=<blf>.*rip=127\.0\.0\.3"), setup.server.log()[-2000:]


imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def id_then_login(c: imaplib.IMAP4, fields: str, user: str, password: str) -> None:
    typ, _ = c._simple_command("ID", fields)
    assert typ == "OK"
    c.login(user, password)


def test_id_x_originating_ip_is_believed_only_from_login_trusted_networks(setup):
    u = setup.server.users["doveadm"]
    fields = '("name" "proxy" "x-originating-ip" "192.0.2.99" "x-originating-port" "40001")'
    # 127.0.0.3 is in login_trusted_networks as the PROXY header reports it (the proxy itself, 127.0.0.1, is not).
    c = From.tls(TRUSTED_CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    try:
        id_then_login(c, fields, u.name, u.password)
    finally:
        c.logout()
    setup.wait_log(r"Login: user=<doveadm>.*rip=192\.0\.2\.99")
    before = len(setup.log_lines(r"Login: user=<doveadm>"))
    fields2 = '("x-originating-ip" "192.0.2.77")'
    c = From.tls(CLIENT, setup.ports["tls_terminated"], setup.server.tls.ca)
    try:
        id_then_login(c, fields2, u.name, u.password)
    finally:
        c.logout()
    helpers.wait_for(lambda: len(setup.log_lines(r"Login: user=<doveadm>")) > before, 10, what="second login")
    last = setup.log_lines(r"Login: user=<doveadm>")[-1]
    assert "rip=127.0.0.2" in last and "192.0.2.77" not in last, last
    # Directly (no proxy) from 127.0.0.1, which is not in login_trusted_networks: ignored too.
    with RawIMAP(setup.server.imaps_port, tls=True) as raw:
        untagged, done = raw.run("a", 'ID ("x-originating-ip" "192.0.2.55")')
        assert done.startswith("a OK"), done
    assert not setup.log_lines(r"192\.0\.2\.55")


def test_conf_check_refuses_bad_networks_and_an_untrusting_haproxy_listener(aerie_bin, setup, tmp_path):
    base = setup.server.config.read_text()
    bad = tmp_path / "bad.conf"
    bad.write_text(base + "\nlogin_trusted_networks = 10.0.0.300/8\n")
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "login_trusted_networks: invalid network 10.0.0.300/8" in r.stdout + r.stderr, r
    empty = tmp_path / "empty.conf"
    empty.write_text(base.replace("haproxy_trusted_networks = 127.0.0.1/32\n", ""))
    r = subprocess.run([aerie_bin, "conf", "check", "-c", str(empty)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "haproxy_trusted_networks is empty" in r.stdout + r.stderr, r
