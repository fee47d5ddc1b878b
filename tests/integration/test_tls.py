"""TLS: STARTTLS and implicit TLS with openssl and curl, protocol floor, RSA and ECDSA, key-file permissions,
certificate reload on SIGHUP, graceful SIGTERM, privilege drop, and testssl.sh's verdict."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP


def s_client(port: int, *args: str, stdin: str = "a LOGOUT\n", timeout: float = 30) -> subprocess.CompletedProcess:
    """openssl s_client sending `stdin` (CRLF line ends) and reading until the server closes (-ign_eof), so the
    IMAP greeting and the LOGOUT answer are in stdout."""
    return helpers.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                        "-crlf", "-ign_eof", *args], input=stdin, timeout=timeout)


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_openssl_s_client_starttls_and_imaps(server_factory, kind):
    srv = server_factory.start(name=f"tls-{kind}", kind=kind)
    r = s_client(srv.imap_port, "-starttls", "imap", "-CAfile", str(srv.tls.ca), "-verify_return_error")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout[-2000:]
    r = s_client(srv.imaps_port, "-CAfile", str(srv.tls.ca), "-verify_return_error")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "Aerie ready." in r.stdout
    m = re.search(r"Protocol\s*:\s*(TLSv1\.[23])|New, (TLSv1\.[23])", r.stdout)
    assert m, r.stdout[-2000:]
    # The leaf the server presents is the one we made, with the right key type.
    pem = ssl.get_server_certificate(("127.0.0.1", srv.imaps_port), timeout=helpers.READ_TIMEOUT)
    assert helpers.cert_fingerprint_pem(pem) == helpers.file_leaf_fingerprint(srv.tls.cert)
    text = helpers.run(["openssl", "x509", "-noout", "-text"], input=pem).stdout
    assert ("rsaEncryption" if kind == "rsa" else "id-ecPublicKey") in text
    # Log in over this certificate type with Python too.
    u = srv.users["sha512"]
    with RawIMAP(srv.imaps_port, tls=True) as c:
        _, done = c.run("a", f'LOGIN {u.name} "{u.password}"')
        assert done.startswith("a OK"), done


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_old_tls_versions_refused(server, flag):
    # SECLEVEL=0 so that our own client is willing to speak the old protocol: the refusal must come from Aerie.
    r = s_client(server.imaps_port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
    assert r.returncode != 0, f"{flag} handshake succeeded:\n{r.stdout[-1500:]}"
    assert "Aerie ready." not in r.stdout


def test_tls12_and_tls13_accepted(server):
    for flag in ("-tls1_2", "-tls1_3"):
        r = s_client(server.imaps_port, flag)
        assert r.returncode == 0, f"{flag}: {r.stderr}"
        assert "Aerie ready." in r.stdout


def test_python_refuses_nothing_verifying_against_ca(server):
    ctx = ssl.create_default_context(cafile=str(server.tls.ca))
    with socket.create_connection(("127.0.0.1", server.imaps_port), timeout=helpers.READ_TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.settimeout(helpers.READ_TIMEOUT)
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert tls.recv(4096).startswith(b"* OK")


def test_world_readable_key_refuses_to_start(server_factory):
    srv = server_factory.prepare(name="badkey")
    os.chmod(srv.tls.key, 0o644)
    try:
        proc = subprocess.run([srv.binary, "serve", "-c", str(srv.config)], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"aerie serve kept running with a 0644 key: {e.stdout}{e.stderr}")
    out = proc.stdout + proc.stderr + srv.log()
    assert proc.returncode != 0, out
    assert str(srv.tls.key) in out, out
    assert "chmod 0600" in out, out


def test_privilege_drop(server, vmail):
    status = Path(f"/proc/{server.mail_pid}/status").read_text()
    problems = helpers.privilege_problems(server.mail_pid, vmail[0])
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
    gids = re.search(r"^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
    assert uids == (str(vmail[0]),) * 4, f"/proc/PID/status Uid: {uids}; per thread: {problems}"
    assert gids == (str(vmail[1]),) * 4, f"Gid line: {gids}"
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
    groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
    assert "0" not in groups, f"supplementary groups kept root: {groups}"
    # Threads too: credentials and no_new_privs are per thread on Linux.
    bad = helpers.privilege_problems(server.mail_pid, vmail[0])
    assert not bad, "threads not fully dropped: " + "; ".join(bad)


@pytest.mark.parametrize("key_owner", ["root", "vmail"])
def test_sighup_reloads_certificate_keeps_connections(server_factory, vmail, key_owner):
    srv = server_factory.prepare(name=f"reload-{key_owner}")
    if key_owner == "vmail":
        for p in (srv.tls.directory, srv.tls.key, srv.tls.cert):
            os.chown(p, *vmail)
    srv.start()
    old = helpers.server_fingerprint(srv.imaps_port)
    assert old == helpers.file_leaf_fingerprint(srv.tls.cert)
    u = srv.users["sha512"]
    with RawIMAP(srv.imaps_port, tls=True) as kept:
        _, done = kept.run("a", f'LOGIN {u.name} "{u.password}"')
        assert done.startswith("a OK"), done
        helpers.make_tls(srv.tls.directory, kind="ecdsa", ca_dir=server_factory.ca_dir, cn="localhost-reloaded")
        if key_owner == "vmail":
            for p in (srv.tls.key, srv.tls.cert):
                os.chown(p, *vmail)
        new_file = helpers.file_leaf_fingerprint(srv.tls.cert)
        assert new_file != old
        os.kill(srv.pid, signal.SIGHUP)
        try:
            helpers.wait_for(lambda: helpers.server_fingerprint(srv.imaps_port) == new_file, timeout=15,
                             what="new certificate on new connections")
        except AssertionError:
            errors = [l for l in srv.log().splitlines() if "Disconnected" not in l and ("eload" in l or "rror" in l)]
            raise AssertionError(f"certificate not reloaded (key owned by {key_owner}); log:\n" + "\n".join(errors))
        _, done = kept.run("b", "NOOP")
        assert done.startswith("b OK"), done
        # STARTTLS picks it up too.
        with RawIMAP(srv.imap_port) as c:
            c.starttls()
            assert hashlib_fp(c.sock) == new_file
    assert srv.proc.poll() is None, "server died on SIGHUP"


def hashlib_fp(sock: ssl.SSLSocket) -> str:
    import hashlib

    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def test_sigterm_says_bye_and_exits_zero(server_factory):
    srv = server_factory.start(name="sigterm")
    u = srv.users["sha512"]
    with RawIMAP(srv.imaps_port, tls=True) as authed, RawIMAP(srv.imap_port) as pre:
        _, done = authed.run("a", f'LOGIN {u.name} "{u.password}"')
        assert done.startswith("a OK"), done
        srv.proc.send_signal(signal.SIGTERM)
        assert any(l.startswith("* BYE") for l in authed.read_until_closed(timeout=20))
        assert any(l.startswith("* BYE") for l in pre.read_until_closed(timeout=20))
    assert srv.proc.wait(timeout=20) == 0
    assert srv.stop() == 0


@pytest.mark.timeout(420)
def test_testssl_verdict(server, capsys):
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if not testssl:
        pytest.fail("testssl.sh is not installed (scripts/test.sh installs Debian's testssl.sh)")
    out_json = server.directory / "testssl.json"
    cmd = [testssl, "--quiet", "--color", "0", "--warnings", "batch", "--protocols", "--std",
           "--jsonfile", str(out_json), f"127.0.0.1:{server.imaps_port}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400, stdin=subprocess.DEVNULL,
                       cwd=server.directory)
    findings = {x["id"]: x["finding"] for x in json.loads(out_json.read_text())}
    summary = [l.rstrip() for l in r.stdout.splitlines()
               if re.match(r"^\s*(SSLv|TLS 1|NULL|Anonymous|Export|LOW|Triple|Obsolete|Strong|Average|Medium)", l)]
    with capsys.disabled():  # shown even when the test passes: the release note quotes it
        print("\ntestssl " + " ".join(cmd[1:-1]) + " 127.0.0.1:IMAPS\n" + "\n".join(summary))
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings.get(proto, "").startswith("not offered"), f"{proto}: {findings.get(proto)}\n{r.stdout}"
    assert findings.get("TLS1_2", "").startswith("offered"), findings.get("TLS1_2")
    weak = ["cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA",
            "cipherlist_AVERAGE", "cipherlist_OBSOLETED"]
    present = [w for w in weak if w in findings]
    assert len(present) >= 6, f"testssl output format changed: {sorted(findings)}"
    offered = {w: findings[w] for w in present if not findings[w].startswith("not offered")}
    assert not offered, f"weak cipher categories offered: {offered}\n" + "\n".join(summary)


def private_secret_patterns(key_file: Path) -> list[bytes]:
    """Byte strings that betray the private key in a process's memory: its PEM text, and the secret number (RSA's
    private exponent and first prime, or the EC scalar) in big-endian order as DER and file formats hold it and in
    little-endian order as BoringSSL's bignum limbs hold it on x86-64. 32 octets of each."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    pem = key_file.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = [key.private_numbers().d, key.private_numbers().p]
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        numbers = [key.private_numbers().private_value]
    patterns = [pem.splitlines()[1][:32]]
    for n in numbers:
        big = n.to_bytes((n.bit_length() + 7) // 8, "big")
        patterns += [big[:32], big[::-1][:32]]
    return patterns


def process_memory_contains(pid: int, patterns: list[bytes]) -> list[str]:
    """Which patterns occur in the process's readable, private memory (heap, stacks, anonymous maps)."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("/") and "(deleted)" not in line):
                continue  # file-backed: the binary and libraries, not data the process made
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > 1 << 30:
                continue
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            found.update(i for i, p in enumerate(patterns) if p in chunk)
    return [patterns[i].hex() for i in sorted(found)]


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_serving_process_never_holds_the_private_key(server_factory, kind):
    """Issue 11: the process that parses untrusted bytes holds no TLS private key; the root key keeper signs the
    handshakes for it. Scanned after TLS 1.2 and 1.3 handshakes and a SIGHUP reload."""
    srv = server_factory.start(name=f"keyless-{kind}", kind=kind)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = helpers.client_context(srv.tls.ca)
        context.minimum_version = context.maximum_version = version
        with socket.create_connection(("127.0.0.1", srv.imaps_port), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
                assert tls.recv(100).startswith(b"* OK")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: "eload" in srv.log(), timeout=15, what="the reload")
    r = s_client(srv.imaps_port, "-CAfile", str(srv.tls.ca), "-verify_return_error")
    assert r.returncode == 0 and "Aerie ready." in r.stdout, r.stdout[-2000:] + r.stderr
    patterns = private_secret_patterns(srv.tls.key)
    # The login process (TLS and pre-login: it parses untrusted bytes), every generation of it; the mail service; the
    # master (which never reads the key either).
    logins = helpers.child_pids(srv.pid, "login-worker")
    assert logins, "no login process: login_process = yes is the default"
    # The generation the reload retired exits when its last connection has gone: it may do so while it is read.
    scans = {}
    for pid in logins:
        try:
            scans[pid] = process_memory_contains(pid, patterns)
        except (ProcessLookupError, FileNotFoundError):
            continue
    assert scans, "every login process exited while it was scanned"
    leaked = [hit for hits in scans.values() for hit in hits]
    leaked += [hit for pid in [srv.mail_pid, srv.pid] for hit in process_memory_contains(pid, patterns)]
    assert not leaked, f"the serving process's memory holds the {kind} private key: {leaked}"
