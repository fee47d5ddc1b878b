"""Shared helpers for Aerie's integration tests: TLS material, users files, configs, the server process, and
small raw IMAP and LMTP clients in which every read has a timeout."""

from __future__ import annotations

import base64
import contextlib
import imaplib
import poplib
import hashlib
import os
import pwd
import random
import re
import signal
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # Python 3.11: deprecated but present; the reference for SHA512-CRYPT and BLF-CRYPT.

REPO = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 10.0  # seconds; any single read longer than this is a hang, and fails the test
START_TIMEOUT = 30.0

# ------------------------------------------------------------------------------------------------------------
# Accounts


def vmail_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("vmail")
    return entry.pw_uid, entry.pw_gid


def make_readable_by_all(path: Path) -> None:
    """Lets vmail traverse to `path`: pytest's base temp dir is 0700 by default."""
    path = path.resolve()
    for p in [path, *path.parents]:
        if str(p) in ("/", "/tmp"):
            break
        mode = p.stat().st_mode & 0o7777
        if mode & 0o005 != 0o005:
            os.chmod(p, mode | 0o755)


# ------------------------------------------------------------------------------------------------------------
# Ports


_used_ports: set[int] = set()


def free_port() -> int:
    """A random high port (below Linux's ephemeral range) that is free for both listening and not yet handed out."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in _used_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _used_ports.add(port)
        return port
    raise RuntimeError("no free port found")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# ------------------------------------------------------------------------------------------------------------
# TLS material


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, **kw)


def _check(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = run(cmd, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    return r


@dataclass
class TLSFiles:
    directory: Path
    cert: Path
    key: Path
    ca: Path
    kind: str


def make_ca(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    if not ca_cert.exists():
        _check(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key)])
        _check(["openssl", "req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "30",
                "-subj", "/CN=Aerie Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(ca_cert)])
    return ca_key, ca_cert


def make_tls(directory: Path, kind: str = "rsa", ca_dir: Path | None = None, cn: str = "localhost") -> TLSFiles:
    """A leaf certificate (RSA 2048 or ECDSA P-256) for localhost/127.0.0.1 issued by a small test CA.
    cert.pem holds the leaf then the CA (a chain file); key.pem is 0600, owned by root."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = make_ca(ca_dir or directory.parent / "ca")
    key, csr, leaf, cert = directory / "key.pem", directory / "leaf.csr", directory / "leaf.pem", directory / "cert.pem"
    tmp_key = directory / "key.pem.new"
    if kind == "rsa":
        _check(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(tmp_key)])
    elif kind == "ecdsa":
        _check(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(tmp_key)])
    else:
        raise ValueError(kind)
    os.chmod(tmp_key, 0o600)
    ext = directory / "leaf.ext"
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\n")
    _check(["openssl", "req", "-new", "-key", str(tmp_key), "-subj", f"/CN={cn}", "-out", str(csr)])
    _check(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(ext), "-out", str(leaf)])
    chain = leaf.read_text() + ca_cert.read_text()
    tmp_cert = directory / "cert.pem.new"
    tmp_cert.write_text(chain)
    os.chmod(tmp_cert, 0o644)
    os.replace(tmp_key, key)  # atomic: a reload never sees a half-written file
    os.replace(tmp_cert, cert)
    return TLSFiles(directory, cert, key, ca_cert, kind)


def cert_fingerprint_pem(pem: str) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem)
    return hashlib.sha256(der).hexdigest()


def file_leaf_fingerprint(cert_file: Path) -> str:
    pem = cert_file.read_text()
    first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    return cert_fingerprint_pem(first)


def client_context(ca: Path | None = None) -> ssl.SSLContext:
    if ca is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False  # we connect to 127.0.0.1; the SAN has it, but keep it simple for imaplib
    return ctx


def server_fingerprint(port: int) -> str:
    """SHA-256 of the leaf certificate a new IMAPS connection presents."""
    ctx = client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest()


# ------------------------------------------------------------------------------------------------------------
# Users


@dataclass
class User:
    name: str
    password: str
    stored: str  # {SCHEME}hash as written to the users file
    uid: int
    gid: int
    can_login: bool


def sha512_crypt(password: str) -> str:
    return "{SHA512-CRYPT}" + crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def blf_crypt(password: str) -> str:
    return "{BLF-CRYPT}" + crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=256))  # cost 08


def argon2id(password: str) -> str:
    from argon2 import PasswordHasher

    return "{ARGON2ID}" + PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1).hash(password)


def doveadm_sha512(password: str) -> str:
    out = _check(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", password]).stdout.strip()
    assert out.startswith("{SHA512-CRYPT}$6$"), out
    return out


def make_users() -> dict[str, User]:
    uid, gid = vmail_ids()
    users = {
        "sha512": User("sha512", "Sha512-Pw-7hQx2", "", uid, gid, True),
        "argon": User("argon", "Argon-Pw-k3Vb9", "", uid, gid, True),
        "blf": User("blf", "Blf-Pw-Zr5mW1", "", uid, gid, True),
        "doveadm": User("doveadm", "Doveadm-Pw-Jt8c", "", uid, gid, True),
        "lowuid": User("lowuid", "Lowuid-Pw-Pq4s", "", 999, 999, False),
        "rootuser": User("rootuser", "Rootuser-Pw-Mx6n", "", 0, 0, False),
        "weak": User("weak", "Weak-Pw-Ld2f", "", uid, gid, False),
    }
    users["sha512"].stored = sha512_crypt(users["sha512"].password)
    users["argon"].stored = argon2id(users["argon"].password)
    users["blf"].stored = blf_crypt(users["blf"].password)
    users["doveadm"].stored = doveadm_sha512(users["doveadm"].password)
    users["lowuid"].stored = sha512_crypt(users["lowuid"].password)
    users["rootuser"].stored = sha512_crypt(users["rootuser"].password)
    users["weak"].stored = "{PLAIN-MD5}" + hashlib.md5(users["weak"].password.encode()).hexdigest()
    return users


def write_users_file(path: Path, users: dict[str, User], home_root: Path) -> None:
    uid, gid = vmail_ids()
    home_root.mkdir(parents=True, exist_ok=True)
    os.chown(home_root, uid, gid)
    os.chmod(home_root, 0o755)
    lines = []
    for u in users.values():
        home = home_root / u.name
        home.mkdir(exist_ok=True)
        if u.uid == uid:
            os.chown(home, uid, gid)
            os.chmod(home, 0o700)
        lines.append(f"{u.name}:{u.stored}:{u.uid}:{u.gid}::{home}::\n")
    path.write_text("".join(lines))
    # Dovecot's usual: only root and the auth process (default_internal_user's group) read it.
    os.chown(path, 0, internal_gid())
    os.chmod(path, 0o640)


def internal_gid() -> int:
    """The primary group of default_internal_user (dovecot), as which Aerie's auth process reads passwd-files."""
    return pwd.getpwnam("dovecot").pw_gid


def secrets_of(users: dict[str, User]) -> list[str]:
    """Every string that must never reach a log: passwords, hashes (and their salt+digest part), SASL payloads."""
    out = []
    for u in users.values():
        out.append(u.password)
        out.append(u.stored)
        body = u.stored.split("}", 1)[1]
        out.append(body)
        digest = body.rsplit("$", 1)[-1]
        if len(digest) >= 16:
            out.append(digest)
        out.append(base64.b64encode(f"\0{u.name}\0{u.password}".encode()).decode())
        out.append(base64.b64encode(u.password.encode()).decode())
    return out


# ------------------------------------------------------------------------------------------------------------
# Configuration

ACCEPTANCE = """\
dovecot_config_version = 2.4.0
protocols = imap
listen = 127.0.0.1
base_dir = DIR/run
log_path = DIR/aerie.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
ssl = required
ssl_server_cert_file = DIR/tls/cert.pem
ssl_server_key_file = DIR/tls/key.pem
auth_mechanisms = plain login
auth_failure_delay = 2 secs
# Many tests fail logins from 127.0.0.1 on one server: no growing penalty, no ban (test_penalty.py tests them).
auth_penalty_max_delay = 2 secs
auth_ban_failures = 0
auth_ban_distinct_users = 0
mail_driver = maildir
mail_path = ~/Maildir
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1000

passdb passwd-file {
  passwd_file_path = DIR/users
}
userdb passwd-file {
  passwd_file_path = DIR/users
}

service imap-login {
  inet_listener imap {
    port = 11143
  }
  inet_listener imaps {
    port = 11993
    ssl = yes
  }
}
"""


def acceptance_config(directory: Path, imap_port: int, imaps_port: int, extra: str = "",
                      replace: dict[str, str] | None = None, service_extra: str = "") -> str:
    text = ACCEPTANCE.replace("DIR", str(directory))
    text = text.replace("port = 11143", f"port = {imap_port}").replace("port = 11993", f"port = {imaps_port}")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    if service_extra:
        text = text.replace("service imap-login {\n", "service imap-login {\n" + service_extra, 1)
    if extra:
        text += "\n" + extra + "\n"
    return text


# ------------------------------------------------------------------------------------------------------------
# The server


@dataclass
class Server:
    binary: str
    directory: Path
    config: Path
    imap_port: int
    imaps_port: int
    users: dict[str, User]
    tls: TLSFiles
    log_path: Path
    proc: subprocess.Popen | None = None
    extra_args: list[str] = field(default_factory=list)
    output_mode = "wb"  # how start() opens stdout.txt and stderr.txt (not a dataclass field: no annotation)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def mail_pid(self) -> int:
        """The mail service (`aerie mail-service`, the child of `aerie serve` that serves the connections)."""
        return mail_service_pid(self.pid)

    @property
    def login_pid(self) -> int:
        """The process holding the pre-login connections: the login process (`aerie login-worker`, the default), else
        the mail service (`login_process = no`)."""
        workers = child_pids(self.pid, "login-worker")
        return workers[0] if len(workers) == 1 else self.mail_pid

    def start(self, wait: bool = True) -> "Server":
        self.stdout = open(self.directory / "stdout.txt", self.output_mode)
        self.stderr = open(self.directory / "stderr.txt", self.output_mode)
        self.proc = subprocess.Popen([self.binary, "serve", "-c", str(self.config), *self.extra_args],
                                     stdout=self.stdout, stderr=self.stderr, stdin=subprocess.DEVNULL,
                                     cwd=self.directory)
        if wait:
            self.wait_ready()
        return self

    def output(self) -> str:
        parts = []
        for name in ("stdout.txt", "stderr.txt"):
            p = self.directory / name
            if p.exists():
                parts.append(p.read_text(errors="replace"))
        return "\n".join(parts)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Ready = both listeners accept and the plain one sends its greeting."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aerie serve exited with {self.proc.returncode} during start-up:\n"
                                   f"{self.output()}\nlog:\n{self.log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=2) as s:
                    s.settimeout(5)
                    greeting = s.recv(4096)
                    if greeting.startswith(b"* OK"):
                        s.sendall(b"z LOGOUT\r\n")
                        # A full TLS handshake and LOGOUT on the IMAPS port (a bare connect would log a failed
                        # handshake).
                        with RawIMAP(self.imaps_port, tls=True, timeout=5) as c:
                            c.run("z", "LOGOUT")
                        return
            except OSError as e:
                last_error = e
            time.sleep(0.1)
        raise RuntimeError(f"aerie did not become ready in {timeout}s ({last_error}):\n{self.output()}\n{self.log()}")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, wait; returns the exit status (kills and fails loudly on a hang)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"aerie did not exit within {timeout}s of SIGTERM")
        for f in (self.stdout, self.stderr):
            f.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def maildir(self, user: str) -> Path:
        return self.directory / "home" / user / "Maildir"

    def account(self, user: str) -> "Account":
        return Account(self, self.users[user])


@dataclass
class Account:
    """One user of a running server, and the ways a test reaches their mail."""

    server: Server
    user: User

    @property
    def maildir(self) -> Path:
        return self.server.maildir(self.user.name)

    def imap(self):
        """imaplib.IMAP4_SSL, logged in on the IMAPS port."""
        return imap_login(self.server, self.user.name, self.user.password)

    def raw(self) -> "RawIMAP":
        """RawIMAP over implicit TLS, logged in."""
        c = RawIMAP(self.server.imaps_port, tls=True)
        try:
            c.login(self.user)
        except BaseException:
            c.close()
            raise
        return c


# ------------------------------------------------------------------------------------------------------------
# Raw line clients


class LineClient:
    """A client of a CRLF line protocol over a connected socket, every read bounded by a timeout."""

    protocol = ""  # how timeout and end-of-stream messages name the protocol ("LMTP ")
    error: type[AssertionError] = AssertionError  # raised for a line longer than readline_bytes' limit

    def __init__(self, sock: socket.socket, timeout: float):
        self.timeout = timeout
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def readline_bytes(self, timeout: float | None = None, limit: int | None = None) -> bytes:
        """The next line without its CRLF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"no complete {self.protocol}line within {timeout or self.timeout}s; "
                                     f"have {self.buf[:200]!r}")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{self.protocol}connection closed; pending {self.buf[:200]!r}")
            self.buf += chunk
            if limit is not None and len(self.buf) > limit:
                raise self.error("line too long")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line


class IMAPError(AssertionError):
    pass


class RawIMAP(LineClient):
    """Line-oriented IMAP over a socket, every read bounded by a timeout. Lines are returned without CRLF."""

    error = IMAPError

    def __init__(self, port: int, tls: bool = False, timeout: float = READ_TIMEOUT, greeting: bool = True):
        self.port = port
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = client_context().wrap_socket(sock, server_hostname="localhost")
        super().__init__(sock, timeout)
        self.greeting = self.readline() if greeting else None

    def cmd(self, line: str) -> None:
        self.send(line + "\r\n")

    def readline(self, timeout: float | None = None, limit: int = 1 << 20) -> str:
        return self.readline_bytes(timeout, limit).decode("utf-8", errors="replace")

    def read_tagged(self, tag: str, timeout: float | None = None) -> tuple[list[str], str]:
        """Reads until the tagged response for `tag`; returns (untagged/continuation lines, tagged line)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        others = []
        while True:
            line = self.readline(timeout=max(0.01, deadline - time.monotonic()))
            if line.startswith(tag + " "):
                return others, line
            others.append(line)

    def run(self, tag: str, command: str, timeout: float | None = None) -> tuple[list[str], str]:
        self.cmd(f"{tag} {command}")
        return self.read_tagged(tag, timeout)

    def login(self, user: User, tag: str = "l") -> str:
        """LOGIN that must succeed; returns the tagged OK (it carries the capabilities after login)."""
        _, done = self.run(tag, f'LOGIN "{user.name}" "{user.password}"')
        assert done.startswith(f"{tag} OK"), done
        return done

    def starttls(self, tag: str = "s") -> None:
        _, done = self.run(tag, "STARTTLS")
        if not done.startswith(f"{tag} OK"):
            raise IMAPError(done)
        assert self.buf == b"", f"bytes after STARTTLS OK before handshake: {self.buf!r}"
        self.sock = client_context().wrap_socket(self.sock, server_hostname="localhost")
        self.sock.settimeout(self.timeout)

    def read_until_closed(self, timeout: float | None = None) -> list[str]:
        """Reads lines until EOF; raises socket.timeout if the server keeps the connection open."""
        lines = []
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"connection still open after {timeout or self.timeout}s; got {lines}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                chunk = b""
            if not chunk:
                lines += [l.decode(errors="replace") for l in self.buf.split(b"\r\n") if l]
                self.buf = b""
                return lines
            self.buf += chunk
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                lines.append(line.decode(errors="replace"))


def plain_b64(user: str, password: str, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def capabilities_from(line: str) -> set[str]:
    """CAPABILITY atoms from a `* CAPABILITY …` line or a `[CAPABILITY …]` response code."""
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", line)
    if m:
        return set(m.group(1).upper().split())
    m = re.match(r"\* CAPABILITY (.*)$", line, re.I)
    assert m, f"no capabilities in {line!r}"
    return set(m.group(1).upper().split())


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Polls until predicate() is truthy (returns it) or fails after timeout. Not a speed assertion: the
    timeout is a generous upper bound so a broken server fails instead of stalling."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------------------------
# A private network namespace (for tests bound to fixed ports)


class PrivateNetwork:
    """Moves the calling thread into a fresh network namespace with loopback up, so fixed ports (the embedded
    default's 1143/1993) cannot collide with anything on the host; processes started from this thread inherit
    it. `leave()` returns to the original namespace. Needs root (CAP_SYS_ADMIN); `enter()` returns False if the
    kernel or container refuses."""

    CLONE_NEWNET = 0x40000000

    def __init__(self):
        import ctypes

        self.libc = ctypes.CDLL(None, use_errno=True)
        self.original: int | None = None

    def enter(self) -> bool:
        import fcntl
        import struct

        self.original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        if self.libc.unshare(self.CLONE_NEWNET) != 0:
            os.close(self.original)
            self.original = None
            return False
        # ioctl(SIOCSIFFLAGS, lo, IFF_UP|IFF_LOOPBACK|IFF_RUNNING)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            ifr = struct.pack("16sH14s", b"lo", 0x1 | 0x8 | 0x40, b"\0" * 14)
            fcntl.ioctl(sock.fileno(), 0x8914, ifr)
        return True

    def leave(self) -> None:
        if self.original is not None:
            if self.libc.setns(self.original, self.CLONE_NEWNET) != 0:
                raise OSError(f"setns back to the host network failed: errno {__import__('ctypes').get_errno()}")
            os.close(self.original)
            self.original = None


def child_pids(parent: int, subcommand: str, serves: str = "mail") -> list[int]:
    """Processes `aerie SUBCOMMAND …` whose parent is `parent` (the children of `aerie serve`, the master); for
    key workers, those signing for `serves` (the mail service's, or the login process's own)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and len(cmd) > 1 and cmd[1] == subcommand.encode():
            if subcommand == "tls-keeper-worker" and (b"login" in cmd) != (serves == "login"):
                continue
            out.append(int(p.name))
    return out


def cmdline_bytes(pid: int) -> bytes:
    """/proc/PID/cmdline, or b"" for a process that is gone or going (reading it races with the exit: ENOENT or
    ESRCH)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def mail_service_pid(master: int, timeout: float = 15) -> int:
    """The running mail service of the master `master` (waits for one while it restarts)."""
    found: list[int] = []

    def one() -> bool:
        # Not the mail processes of one uid/gid (`--run-as`, started for users of their own uid).
        found[:] = [pid for pid in child_pids(master, "mail-service")
                    if b"--run-as" not in cmdline_bytes(pid)]
        return len(found) == 1

    wait_for(one, timeout=timeout, what=f"one mail-service child of {master}")
    return found[0]


def thread_credentials(pid: int) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(tid, thread name, (real, effective, saved, fs uid), NoNewPrivs) for every thread of `pid`."""
    out = []
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        try:
            status = (task / "status").read_text()
            name = (task / "comm").read_text().strip()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        uids = tuple(re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split())
        nnp = re.search(r"^NoNewPrivs:\s+(\d)", status, re.M).group(1)
        out.append((task.name, name, uids, nnp))
    return out


def privilege_problems(pid: int, uid: int | None = None) -> list[str]:
    """Threads still able to act as root (any uid 0, or not the expected uid) or without no_new_privs."""
    bad = []
    for tid, name, uids, nnp in thread_credentials(pid):
        if "0" in uids or (uid is not None and uids != (str(uid),) * 4):
            bad.append(f"thread {tid} ({name}) Uid {' '.join(uids)}")
        if nnp != "1":
            bad.append(f"thread {tid} ({name}) NoNewPrivs {nnp}")
    return bad



# ------------------------------------------------------------------------------------------------------------
# POP3 and LMTP (issue 4): a server with all three protocols, mail users, an LMTP client, mailbox inspection

MAIL_PASSWORD = "secret"  # every mail test user's password (SHA512-CRYPT in the users file; fast to verify)
MAIL_DOMAIN = "example.test"


def make_mail_users(names: list[str] | None = None, password: str = MAIL_PASSWORD) -> dict[str, User]:
    """Users for delivery tests: alice, bob, carol and u01..u40 (one fresh mailbox per test), all owned by vmail."""
    uid, gid = vmail_ids()
    names = names or ["alice", "bob", "carol", *[f"u{i:02d}" for i in range(1, 41)]]
    return {n: User(n, password, sha512_crypt(password), uid, gid, True) for n in names}


MAIL_SERVICES = """\
service pop3-login {
  inet_listener pop3 {
    port = POP3_PORT
  }
  inet_listener pop3s {
    port = POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = LMTP_PORT
  }
}
"""


def mail_config(directory: Path, imap_port: int, imaps_port: int, pop3_port: int, pop3s_port: int,
                lmtp_port: int, extra: str = "") -> str:
    """The acceptance configuration with `protocols = imap pop3 lmtp`, POP3 (STLS + implicit TLS) and LMTP (unix
    socket `DIR/run/lmtp`, mode 0666, plus TCP on 127.0.0.1)."""
    services = (MAIL_SERVICES.replace("POP3S_PORT", str(pop3s_port)).replace("POP3_PORT", str(pop3_port))
                .replace("LMTP_PORT", str(lmtp_port)))
    text = acceptance_config(directory, imap_port, imaps_port, replace={"protocols = imap": "protocols = imap pop3 lmtp"})
    # The users file holds bare names; LMTP recipients are user@domain (Dovecot: auth_username_format strips it).
    text += "auth_username_format = %{user | username | lower}\n"
    return text + "\n" + services + ("\n" + extra + "\n" if extra else "")


@dataclass
class MailServer(Server):
    pop3_port: int = 0
    pop3s_port: int = 0
    lmtp_port: int = 0
    handed_out: set = field(default_factory=set)
    output_mode = "ab"  # a restarted server (crash test) keeps the earlier output

    @property
    def lmtp_socket(self) -> Path:
        return self.directory / "run" / "lmtp"

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        super().wait_ready(timeout)
        deadline = time.monotonic() + timeout
        while True:  # the LMTP unix socket answers with a 220 greeting
            try:
                with LMTPClient(self.lmtp_socket, timeout=5) as c:
                    c.quit()
                return
            except OSError as e:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"LMTP socket {self.lmtp_socket} not ready: {e}\n{self.log()[-3000:]}")
                time.sleep(0.1)

    def fresh_user(self) -> str:
        """The next user (u01, u02, …) whose INBOX no test has touched yet."""
        free = sorted(n for n in self.users if re.fullmatch(r"u\d+", n) and n not in self.handed_out)
        assert free, "out of fresh users: make_mail_users() makes u01..u40"
        self.handed_out.add(free[0])
        return free[0]

    def stop_if_running(self) -> int:
        if self.proc is not None and self.proc.poll() is None:
            return self.stop()
        return 0


def make_mail_server(binary: str, directory: Path, ca_dir: Path, users: dict[str, User], extra: str = "",
                     start: bool = True, tls_kind: str = "rsa") -> MailServer:
    """A directory readable by vmail with TLS files, users and a config (mail_config); started unless told."""
    directory.mkdir(parents=True, exist_ok=True)
    make_readable_by_all(directory)
    tls = make_tls(directory / "tls", kind=tls_kind, ca_dir=ca_dir)
    write_users_file(directory / "users", users, directory / "home")
    ports = [free_port() for _ in range(5)]
    conf = directory / "aerie.conf"
    conf.write_text(mail_config(directory, *ports, extra=extra))
    server = MailServer(binary, directory, conf, ports[0], ports[1], users, tls, directory / "aerie.log",
                        pop3_port=ports[2], pop3s_port=ports[3], lmtp_port=ports[4])
    return server.start() if start else server


@contextlib.contextmanager
def private_mail_server(binary: str, ca_dir: Path, request, name: str, users: dict[str, User] | None = None,
                        extra: str = "") -> Iterator[MailServer]:
    """A module fixture's mail server: started in a fresh private_dir(name) with make_mail_users() unless told;
    afterwards stopped, where it must exit 0 on SIGTERM, and its directory removed unless a test failed meanwhile."""
    failed_before = request.session.testsfailed
    directory = private_dir(name)
    server = make_mail_server(binary, directory / "srv", ca_dir, make_mail_users() if users is None else users,
                              extra=extra)
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        remove_private_dir(directory)  # kept (with the log) when a test failed
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def crlf(data: bytes) -> bytes:
    """Line endings normalized to CRLF (bare LF and bare CR become CRLF)."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def make_message(msgid: str, subject: str = "test", body: bytes = b"Hello.\r\n", sender: str = "sender@example.org",
                 to: str = f"alice@{MAIL_DOMAIN}", size: int = 0) -> bytes:
    """A small RFC 5322 message with CRLF line endings; `size` pads the body with lines to about that many octets."""
    head = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=us-ascii\r\n\r\n").encode()
    body = crlf(body)
    msg = head + f"Body-ID: {msgid}\r\n".encode() + body
    while len(msg) < size:
        msg += b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijk\r\n"
    return msg


def dot_stuff(message: bytes) -> bytes:
    """DATA encoding: CRLF line endings, leading dots doubled, the terminating CRLF.CRLF appended."""
    message = crlf(message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")[:-1]
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"


class LMTPError(AssertionError):
    pass


class LMTPClient(LineClient):
    """A raw LMTP client (unix socket path or TCP port), every read bounded by a timeout. Replies are returned as
    (code, [text lines]) with multi-line replies joined."""

    protocol = "LMTP "
    error = LMTPError

    def __init__(self, where: Path | str | int, timeout: float = READ_TIMEOUT, greeting: bool = True):
        if isinstance(where, int):
            sock = socket.create_connection(("127.0.0.1", where), timeout=timeout)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(str(where))
            except OSError:
                sock.close()
                raise
        super().__init__(sock, timeout)
        self.greeting = self.reply() if greeting else None

    def readline(self, timeout: float | None = None) -> bytes:
        return self.readline_bytes(timeout)

    def reply(self, timeout: float | None = None) -> tuple[int, list[str]]:
        lines = []
        while True:
            line = self.readline(timeout).decode("utf-8", errors="replace")
            if len(line) < 3 or not line[:3].isdigit():
                raise LMTPError(f"malformed LMTP reply line {line!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines
            if line[3] != "-":
                raise LMTPError(f"malformed LMTP reply line {line!r}")

    def cmd(self, line: str, timeout: float | None = None) -> tuple[int, list[str]]:
        self.send(line + "\r\n")
        return self.reply(timeout)

    def lhlo(self, name: str = "client.example.org") -> tuple[int, list[str]]:
        return self.cmd(f"LHLO {name}")

    def deliver(self, sender: str, recipients: list[str], message: bytes, lhlo: bool = True,
                timeout: float | None = None) -> dict[str, tuple[int, str]]:
        """One transaction: {recipient: (code, text)} — RCPT's reply if refused, else the DATA reply for it."""
        if lhlo:
            code, text = self.lhlo()
            if code != 250:
                raise LMTPError(f"LHLO: {code} {text}")
        code, text = self.cmd(f"MAIL FROM:<{sender}>")
        if code != 250:
            raise LMTPError(f"MAIL FROM: {code} {text}")
        out: dict[str, tuple[int, str]] = {}
        accepted = []
        for r in recipients:
            code, text = self.cmd(f"RCPT TO:<{r}>")
            out[r] = (code, " ".join(text))
            if code == 250:
                accepted.append(r)
        if not accepted:
            self.cmd("RSET")
            return out
        code, text = self.cmd("DATA")
        if code != 354:
            raise LMTPError(f"DATA: {code} {text}")
        self.send(dot_stuff(message))
        for r in accepted:
            code, text = self.reply(timeout)
            out[r] = (code, " ".join(text))
        return out

    def quit(self) -> None:
        try:
            self.cmd("QUIT", timeout=5)
        except (OSError, LMTPError):
            pass
        self.close()


def lmtp_deliver(where: Path | str | int, recipients: list[str], message: bytes, sender: str = "sender@example.org",
                 timeout: float = READ_TIMEOUT) -> dict[str, tuple[int, str]]:
    with LMTPClient(where, timeout=timeout) as c:
        result = c.deliver(sender, recipients, message, timeout=timeout)
        c.quit()
    return result


def lmtp_send(c, sender: str, rcpts: list[str], msg: bytes) -> dict[str, tuple[int, bytes]]:
    """On an smtplib.LMTP `c`: its sendmail() reads a single reply after DATA (it does not know LMTP's one reply
    per recipient), so the transaction is driven by hand: RCPT replies, then one DATA reply per accepted recipient,
    in order."""
    code, _ = c.ehlo("client.example.org")  # LHLO
    assert code == 250
    code, text = c.mail(sender)
    assert code == 250, (code, text)
    out, accepted = {}, []
    for r in rcpts:
        code, text = c.rcpt(r)
        out[r] = (code, text)
        if code == 250:
            accepted.append(r)
    if accepted:
        code, text = c.data(msg)
        out[accepted[0]] = (code, text)
        for r in accepted[1:]:
            out[r] = c.getreply()
    return out


def maildir_files(maildir: Path) -> list[Path]:
    """The message files of a Maildir (new/ and cur/), sorted."""
    return sorted(p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir())


def imap_login(server: Server, user: str, password: str = MAIL_PASSWORD):
    """imaplib.IMAP4_SSL logged in on the server's IMAPS port."""
    import imaplib

    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=client_context(server.tls.ca),
                          timeout=READ_TIMEOUT)
    c.login(user, password)
    return c


def hierarchy_separator(c) -> str:
    """The hierarchy separator a logged-in server announces: RFC 9051 §6.3.9 `LIST "" ""` (Dovecot's default on
    Maildir++ is ".", with `separator = /` it is "/")."""
    typ, data = c.list('""', '""')
    assert typ == "OK", data
    m = re.match(rb'\([^)]*\) "(\\?.)" ""$', data[0])
    assert m, data
    return m.group(1).decode()[-1]


def imap_messages(server: Server, user: str, password: str = MAIL_PASSWORD, mailbox: str = "INBOX"
                  ) -> tuple[int, list[tuple[int, bytes]]]:
    """(UIDVALIDITY, [(uid, full message bytes)]) of a mailbox, read with UID FETCH BODY.PEEK[]."""
    c = imap_login(server, user, password)
    try:
        typ, data = c.select(mailbox, readonly=True)
        assert typ == "OK", data
        typ, data = c.response("UIDVALIDITY")
        uidvalidity = int(data[0])
        typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
        assert typ == "OK", data
        out = []
        for item in data:
            if isinstance(item, tuple):
                m = re.search(rb"UID (\d+)", item[0])
                assert m, item[0]
                out.append((int(m.group(1)), item[1]))
        return uidvalidity, sorted(out)
    finally:
        try:
            c.logout()
        except Exception:
            pass


def wait_for_messages(server: Server, user: str, count: int, timeout: float = 10.0) -> list[tuple[int, bytes]]:
    """Polls IMAP until the INBOX holds at least `count` messages; returns them."""
    result: list = []

    def enough():
        nonlocal result
        result = imap_messages(server, user)[1]
        return len(result) >= count

    wait_for(enough, timeout, interval=0.3, what=f"{count} messages in {user}'s INBOX")
    return result


def split_message(data: bytes) -> tuple[bytes, bytes]:
    data = crlf(data)
    head, sep, body = data.partition(b"\r\n\r\n")
    return head + sep, body


def header_values(message: bytes, name: str) -> list[str]:
    head, _ = split_message(message)
    unfolded = re.sub(rb"\r\n[ \t]", b" ", head)
    out = []
    for line in unfolded.split(b"\r\n"):
        k, sep, v = line.partition(b":")
        if sep and k.strip().lower() == name.lower().encode():
            out.append(v.strip().decode(errors="replace"))
    return out


def strip_delivery_headers(message: bytes) -> bytes:
    """The message without the headers a delivery agent prepends (Return-Path, Delivered-To, Received)."""
    head, body = split_message(message)
    unfolded_lines = re.split(rb"\r\n(?![ \t])", head.rstrip(b"\r\n"))
    keep = [l for l in unfolded_lines
            if l.split(b":", 1)[0].strip().lower() not in (b"return-path", b"delivered-to", b"received")]
    return b"\r\n".join(keep) + b"\r\n\r\n" + body


def pop3_uidl(uid: int, uidvalidity: int) -> str:
    """Dovecot's default pop3_uidl_format %08Xu%08Xv (Aerie writes the hex in lowercase)."""
    return f"{uid:08x}{uidvalidity:08x}"


def private_dir(prefix: str, memory: bool = False) -> Path:
    """A fresh directory under /tmp (mode 0755) for a server vmail and postfix must reach. Not under pytest's base
    temp: pytest (>= 7.3) chmods /tmp/pytest-of-root back to 0700 whenever another pytest session starts, which
    cuts a running server off from its own files. Remove it with remove_private_dir().
    memory=True puts it on /dev/shm (tmpfs) when that has 1 GiB free: for tests that write thousands of messages,
    where each fsync on a busy disk would cost milliseconds and the test is about the protocol, not durability."""
    import tempfile

    base = "/tmp"
    if memory and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= 1 << 30:
            base = "/dev/shm"
    d = Path(tempfile.mkdtemp(prefix=f"aerie-it-{prefix}-", dir=base))
    os.chmod(d, 0o755)
    return d


def remove_private_dir(d: Path) -> None:
    """Removes a private_dir unless AERIE_KEEP_TMP=1 (then prints where it is)."""
    import shutil

    if os.environ.get("AERIE_KEEP_TMP") == "1":
        print(f"kept {d}")
        return
    shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------------
# mbsync (isync 1.4): a local Maildir synchronised both ways with an IMAPS server


class MBSync:
    """An mbsync configuration in `directory`: near side DIR/Mail (Verbatim layout, INBOX at DIR/Mail/INBOX), far side
    IMAPS on localhost:port trusting `ca`; one channel syncing everything both ways (create, flags, expunge)."""

    def __init__(self, directory: Path, port: int, ca: Path, user: str, password: str):
        self.directory = directory
        self.local = directory / "Mail"
        self.home = directory / "mbsync-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.local.mkdir(exist_ok=True)
        self.config = directory / "mbsyncrc"
        self.user, self.password = user, password
        self.runs = 0
        self.point_at(port, ca)

    def point_at(self, port: int, ca: Path) -> None:
        """(Re)writes the configuration for a server on `port`; the sync state (UIDs, flags) is kept."""
        # FSync no: the near side is scratch data; the server's durability is what the tests look at.
        self.config.write_text(f"""\
FSync no

IMAPAccount server
Host localhost
Port {port}
User {self.user}
Pass {self.password}
SSLType IMAPS
SSLVersions TLSv1.2 TLSv1.3
SystemCertificates no
CertificateFile {ca}
AuthMechs PLAIN
PipelineDepth 50

IMAPStore far
Account server

MaildirStore near
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns *
Create Both
Remove None
Expunge Both
Sync All
SyncState *
CopyArrivalDate yes
""")
        os.chmod(self.config, 0o600)

    def sync(self, timeout: float = 150) -> str:
        """One `mbsync -a` with its protocol trace (-Dn); fails with the trace's tail on a non-zero exit. Returns
        the output; every run's is also kept in DIR/mbsync-N.log."""
        import shutil

        exe = shutil.which("mbsync")
        assert exe, "mbsync missing (scripts/test.sh installs Debian's isync)"
        self.runs += 1
        log = self.directory / f"mbsync-{self.runs}.log"
        r = run([exe, "-c", str(self.config), "-a", "-V", "-Dn"], env=dict(os.environ, HOME=str(self.home)),
                timeout=timeout)
        log.write_text(r.stdout + r.stderr)
        assert r.returncode == 0, f"mbsync exited {r.returncode} (log {log}):\n{(r.stdout + r.stderr)[-6000:]}"
        return r.stdout + r.stderr


def mbsync_commands(output: str) -> list[str]:
    """The IMAP commands in an mbsync -Dn trace (printed as `[(N in progress) ]>>> TAG COMMAND ...`)."""
    cmds = []
    for line in output.splitlines():
        m = re.match(r"^(?:\(\d+ in progress\) )?>>> \d+ (.*)$", line)
        if m:
            cmds.append(m.group(1))
    return cmds


def mbsync_changes(output: str) -> list[str]:
    """The commands in an mbsync trace that change the server or download a message body."""
    return [c for c in mbsync_commands(output)
            if re.match(r"(UID )?(APPEND|STORE|EXPUNGE|COPY|MOVE|CREATE|DELETE|RENAME)\b", c)
            or re.search(r"BODY(\.PEEK)?\[", c)]


# Clients from a chosen loopback address (127.0.0.2, …): penalties, limits and bans are per address.

class IMAPFrom(imaplib.IMAP4_SSL):
    """imaplib over TLS from a chosen local address."""

    def __init__(self, source: str, server):
        self.source = source
        super().__init__("127.0.0.1", server.imaps_port, ssl_context=client_context(server.tls.ca),
                         timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class POP3From(poplib.POP3_SSL):
    """poplib over TLS from a chosen local address."""

    def __init__(self, source: str, server):
        self.source = source
        super().__init__("127.0.0.1", server.pop3s_port, context=client_context(server.tls.ca), timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.context.wrap_socket(sock, server_hostname=self.host)


def stop_embedded(proc: subprocess.Popen, output) -> None:
    """SIGTERM to an embedded-default `aerie serve` still running: it must exit 0 within 20 s (else it is killed and
    the test fails); `output()` is its console, for the failure message."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("embedded server ignored SIGTERM")
    assert rc == 0, f"embedded server exited {rc} on SIGTERM:\n{output()}"


# The admin socket (`aerie adm …`, issue 14) as the incident tests use it.

def adm(server, *arguments: str) -> subprocess.CompletedProcess:
    """`aerie adm ARGUMENTS -c CONFIG` of `server`."""
    return run([server.binary, "adm", *arguments, "-c", str(server.config)], timeout=30)


def admin_lines(server, before: int) -> list[str]:
    """The admin plane's log lines (`admin(…)`) after the first `before` lines of the server's log."""
    return [line for line in server.log().splitlines()[before:] if "admin(" in line]


def read_until_closed(client) -> list[bytes]:
    """What an imaplib/poplib client reads until the server closes; then closes it too."""
    lines = []
    while line := client.file.readline():
        lines.append(line)
    client.sock.close()
    return lines


def own_uid_user(homes: Path, name: str, uid: int, hashed: str) -> str:
    """A passwd-file line for a user of a uid of its own (need not be in /etc/passwd; gid = uid), whose home is
    made here, owned by that uid, 0700."""
    home = homes / name
    home.mkdir(parents=True)
    os.chown(home, uid, uid)
    os.chmod(home, 0o700)
    return f"{name}:{hashed}:{uid}:{uid}::{home}::"


def serve_module(server, directory: Path, request, lines: list[str]):
    """Writes the users file, starts `server` for a module's tests and stops it after them (keeping its directory
    when a test of the module failed); a generator for a module fixture."""
    failed_before = request.session.testsfailed
    (server.directory / "users").write_text("\n".join(lines) + "\n")
    server.start()
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"
