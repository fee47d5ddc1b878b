"""An OpenLDAP slapd (Debian's) of our own for the LDAP tests: a generated slapd.conf and mdb database in a
temporary directory, run as the current user on free loopback ports (ldap:// with StartTLS, and ldaps://), with a
certificate for localhost from the tests' CA. Never touches /etc/ldap or a system slapd."""

from __future__ import annotations

import base64
import crypt
import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import helpers

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=com"
SERVICE_DN = f"cn=dovecot,{SUFFIX}"
SERVICE_PASSWORD = "dovecot-service-pw"

# AD's login and state attributes, so the AD filters and userAccountControl check run against slapd too.
AD_SCHEMA = """\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'userAccountControl' EQUALITY integerMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'aerieTestADUser' SUP top AUXILIARY
    MAY ( sAMAccountName $ userPrincipalName $ userAccountControl ) )
"""

CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
include DIR/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload pw-sha2
pidfile DIR/slapd.pid
argsfile DIR/slapd.args
TLSCACertificateFile DIR/tls/ca.pem
TLSCertificateFile DIR/tls/cert.pem
TLSCertificateKeyFile DIR/tls/key.pem
database mdb
maxsize 16777216
suffix "SUFFIX"
rootdn "cn=admin,SUFFIX"
directory DIR/db
access to attrs=userPassword
    by dn.exact="SERVICE_DN" read
    by anonymous auth
    by * none
access to * by * read
"""


def ssha(password: str, algorithm: str = "sha1") -> str:
    salt = os.urandom(8)
    digest = hashlib.new(algorithm, password.encode() + salt).digest()
    name = {"sha1": "SSHA", "sha512": "SSHA512"}[algorithm]
    return "{" + name + "}" + base64.b64encode(digest + salt).decode()


@dataclass
class Person:
    uid: str
    password: str
    scheme: str = "SSHA512"  # or SSHA, CRYPT
    uid_number: int = 2001
    ad_state: int | None = None  # userAccountControl
    upn: str = ""
    sam_account: str = ""  # sAMAccountName; the uid when empty
    extra: list[str] = field(default_factory=list)

    def stored(self) -> str:
        if self.scheme in ("SSHA", "SSHA512"):
            return ssha(self.password, "sha1" if self.scheme == "SSHA" else "sha512")
        return "{CRYPT}" + crypt.crypt(self.password, crypt.mksalt(crypt.METHOD_SHA512))


@dataclass
class Slapd:
    directory: Path
    ldap_port: int
    ldaps_port: int
    ca: Path
    home_root: Path
    proc: subprocess.Popen | None = None

    @property
    def ldap_uri(self) -> str:
        # An IP, not "localhost": libldap checks a certificate for "localhost" against the machine's hostname.
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_uri(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ldaps_wrong_name_uri(self) -> str:
        """The same server under an address its certificate does not name."""
        return f"ldaps://127.0.0.2:{self.ldaps_port}"

    def start(self, timeout: float = 30) -> None:
        assert self.proc is None or self.proc.poll() is not None
        log = open(self.directory / "slapd.log", "ab")
        urls = (f"ldap://127.0.0.1:{self.ldap_port}/ ldaps://127.0.0.1:{self.ldaps_port}/ "
                f"ldaps://127.0.0.2:{self.ldaps_port}/")
        # -d keeps slapd in the foreground (no daemon to lose track of); level 0 logs nothing more.
        self.proc = subprocess.Popen([SLAPD, "-f", str(self.directory / "slapd.conf"), "-h", urls, "-d", "0"],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited {self.proc.returncode}: {self.log()[-2000:]}")
            if self.search("(uid=alice)", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"slapd not answering after {timeout}s: {self.log()[-2000:]}")

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but never answered (a hung server)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return (self.directory / "slapd.log").read_text(errors="replace")

    def search(self, filt: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["ldapsearch", "-x", "-LLL", "-H", f"ldap://127.0.0.1:{self.ldap_port}",
                               "-D", SERVICE_DN, "-w", SERVICE_PASSWORD, "-b", SUFFIX, filt],
                              capture_output=True, text=True, timeout=10, check=check)


def entries(people: list[Person], home_root: Path, gid: int) -> str:
    out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
           f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
           f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
           f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: dovecot\n"
           f"userPassword: {ssha(SERVICE_PASSWORD)}\n"]
    for p in people:
        lines = [f"dn: uid={p.uid},ou=people,{SUFFIX}", "objectClass: inetOrgPerson", "objectClass: posixAccount",
                 f"uid: {p.uid}", f"cn: {p.uid}", f"sn: {p.uid}", f"uidNumber: {p.uid_number}",
                 f"gidNumber: {gid}", f"homeDirectory: {home_root / p.uid}", f"mail: {p.uid}@example.com",
                 f"userPassword: {p.stored()}"]
        if p.ad_state is not None:
            lines += ["objectClass: aerieTestADUser", f"sAMAccountName: {p.sam_account or p.uid}",
                      f"userPrincipalName: {p.upn or p.uid + '@ad.example.com'}", f"userAccountControl: {p.ad_state}"]
        out.append("\n".join(lines + p.extra) + "\n")
    members = "\n".join(f"memberUid: {p.uid}" for p in people)
    out.append(f"dn: cn=mail,ou=groups,{SUFFIX}\nobjectClass: posixGroup\ncn: mail\ngidNumber: {gid}\n{members}\n")
    return "\n".join(out)


def make_slapd(directory: Path, people: list[Person], ca_dir: Path, home_root: Path, gid: int) -> Slapd:
    """Writes config, TLS files and the database (slapadd, before the server runs), then starts slapd."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "db").mkdir()
    tls = helpers.make_tls(directory / "tls", kind="ecdsa", ca_dir=ca_dir)
    shutil.copy(tls.ca, directory / "tls" / "ca.pem")
    (directory / "ad.schema").write_text(AD_SCHEMA)
    conf = (CONF.replace("DIR", str(directory)).replace("SERVICE_DN", SERVICE_DN).replace("SUFFIX", SUFFIX))
    (directory / "slapd.conf").write_text(conf)
    (directory / "people.ldif").write_text(entries(people, home_root, gid))
    subprocess.run(["/usr/sbin/slapadd", "-f", str(directory / "slapd.conf"), "-l", str(directory / "people.ldif")],
                   check=True, capture_output=True, timeout=60)
    slapd = Slapd(directory, helpers.free_port(), helpers.free_port(), directory / "tls" / "ca.pem", home_root)
    slapd.start()
    return slapd
