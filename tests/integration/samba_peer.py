"""A Samba Active Directory domain controller (Debian's samba-ad-dc) of our own for the AD tests: provisioned
into a temporary directory (samba-tool domain provision, about 3 s here), only its LDAP service running, on
127.0.0.1 ports 389 and 636 (Samba's LDAP ports are fixed: one such DC per machine at a time), with a
certificate for 127.0.0.1 from the tests' CA."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import helpers

REALM = "AD.EXAMPLE.COM"
BASE = "DC=ad,DC=example,DC=com"
ADMIN_PASSWORD = "Admin-Samba-Pw-8!"


@dataclass
class SambaDC:
    directory: Path
    ca: Path
    provision_seconds: float
    proc: subprocess.Popen | None = None

    @property
    def conf(self) -> Path:
        return self.directory / "dc" / "etc" / "smb.conf"

    def tool(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["samba-tool", *args, "-s", str(self.conf)], capture_output=True, text=True,
                              timeout=120, check=True)

    def start(self, timeout: float = 60) -> None:
        log = open(self.directory / "samba.log", "ab")
        self.proc = subprocess.Popen(["samba", "-i", "-s", str(self.conf), "-d", "0"], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"samba exited {self.proc.returncode}: {self.log()[-3000:]}")
            probe = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", "ldaps://127.0.0.1", "-D",
                                    f"Administrator@{REALM.lower()}", "-w", ADMIN_PASSWORD, "-b", BASE, "-s",
                                    "base", "dn"], capture_output=True, text=True, timeout=10,
                                   env={"LDAPTLS_CACERT": str(self.ca)})
            if probe.returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"samba LDAP not answering after {timeout}s: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        path = self.directory / "samba.log"
        return path.read_text(errors="replace") if path.exists() else ""


def make_samba_dc(directory: Path, ca_dir: Path) -> SambaDC:
    """Provisions the domain and starts its LDAP service. Refuses to run where something holds port 389."""
    if not helpers.port_is_free(389) or not helpers.port_is_free(636):
        raise RuntimeError("ports 389/636 are taken: another LDAP server (or Samba DC) runs on this machine")
    directory.mkdir(parents=True, exist_ok=True)
    tls = helpers.make_tls(directory / "tls", ca_dir=ca_dir)
    started = time.monotonic()
    subprocess.run(["samba-tool", "domain", "provision", f"--targetdir={directory / 'dc'}", f"--realm={REALM}",
                    "--domain=AD", "--server-role=dc", "--dns-backend=NONE", "--host-name=dc1",
                    f"--adminpass={ADMIN_PASSWORD}",
                    "--option=interfaces = 127.0.0.1", "--option=bind interfaces only = yes",
                    f"--option=log file = {directory / 'samba-%m.log'}"],
                   capture_output=True, text=True, timeout=600, check=True)
    provision_seconds = time.monotonic() - started
    conf = directory / "dc" / "etc" / "smb.conf"
    text = conf.read_text()
    lines = [l for l in text.splitlines() if not l.strip().startswith("server services")]
    at = lines.index("[global]") + 1
    lines[at:at] = ["\tserver services = ldap", f"\ttls certfile = {tls.cert}", f"\ttls keyfile = {tls.key}",
                    f"\ttls cafile = {tls.ca}"]
    conf.write_text("\n".join(lines) + "\n")
    dc = SambaDC(directory, tls.ca, provision_seconds)
    dc.start()
    return dc
