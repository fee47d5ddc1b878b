#!/usr/bin/env python3
"""Logins/s with LDAP bind authentication: Aerie against Debian's Dovecot 2.3 (both process models), the same
slapd behind both, with the authentication cache off and on (issue 12's performance figure).

    python3 bench/ldap-logins.py [--users 200] [--secs 15] [--rounds 3] [--concurrency 10]   (as root)

One slapd (tests/integration/slapd_peer.py: users test1..testN, {SSHA512} "pass", a service DN for the searches)
on free loopback ports, ldaps:// with a certificate from a fresh CA. Aerie (.build/release/aerie, run from a copy
named bench-imapd) with `passdb ldap { passdb_ldap_bind = yes }` and a static userdb; Dovecot (dovecot-ldap) with
`auth_bind = yes` in its LDAP passdb and a static userdb, as configured by ../shared/peers/dovecot-anchor (default
model on --port-base, high-performance model on --port-base + 500). Each measurement is aerie-bench's login test
over implicit TLS: --concurrency clients, connect + LOGIN + LOGOUT per connection, for --secs seconds, every user in
turn. Servers alternate within each round (after a 2-second warm-up of each); the cache off and on runs use separate
server starts (`auth_cache_size = 10M`, `auth_cache_ttl = 1 hour` in both servers). Prints a table of medians and
the ratios; a figure counts only with 0 failed logins. --results appends the table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import helpers  # noqa: E402
import slapd_peer  # noqa: E402
from slapd_peer import Person  # noqa: E402

PASSWORD = "pass"
FILTER = "(&(objectClass=posixAccount)(uid=%{user}))"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ["aerie", "dovecot", "dovecot-perf"]
LABEL = {"aerie": "Aerie", "dovecot": "Dovecot (default model)", "dovecot-perf": "Dovecot perf"}


def wait_port(port: int, seconds: float) -> bool:
    import socket
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and every process below it (utime+stime+cutime+cstime)."""
    parent, ticks = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parent[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(x) for x in fields[11:15])
    keep, changed = {root}, True
    while changed:
        changed = False
        for pid, pp in parent.items():
            if pid not in keep and pp in keep:
                keep.add(pid)
                changed = True
    return sum(ticks.get(p, 0) for p in keep) / CLK_TCK


# ------------------------------------------------------------------------------------------------ Aerie

def aerie_config(d: Path, port: int, slapd: slapd_peer.Slapd, cache: bool) -> str:
    text = f"""\
dovecot_config_version = 2.4.0
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
log_path = {d}/aerie.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
ssl = yes
ssl_server_cert_file = {d.parent}/tls/cert.pem
ssl_server_key_file = {d.parent}/tls/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
mail_driver = maildir
mail_path = ~/Maildir
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 100
mail_max_userip_connections = 1000

ldap_uris = {slapd.ldaps_uri}
ssl_client_ca_file = {slapd.ca}
ldap_auth_dn = {slapd_peer.SERVICE_DN}
ldap_auth_dn_password = {slapd_peer.SERVICE_PASSWORD}
ldap_base = ou=people,{slapd_peer.SUFFIX}
passdb ldap {{
  passdb_ldap_bind = yes
  passdb_ldap_filter = {FILTER}
}}
userdb static {{
  fields {{
    uid = vmail
    gid = vmail
    home = {d}/home/%{{user}}
  }}
}}

service imap-login {{
  client_limit = 5000
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""
    if cache:
        text += "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\n"
    return text


class Aerie:
    def __init__(self, binary: Path, d: Path, port: int):
        self.binary, self.d, self.port, self.proc = binary, d, port, None

    def start(self, slapd, cache: bool) -> None:
        (self.d / "run").mkdir(parents=True, exist_ok=True)
        conf = self.d / "aerie.conf"
        conf.write_text(aerie_config(self.d, self.port, slapd, cache))
        check = subprocess.run([str(self.binary), "conf", "check", "-c", str(conf)], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"aerie conf check failed:\n{check.stdout}{check.stderr}")
        self.out = open(self.d / "stdout.log", "ab")
        self.proc = subprocess.Popen([str(self.binary), "serve", "-c", str(conf)], stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.port, 30):
            raise SystemExit(f"Aerie not listening on {self.port}: {(self.d / 'aerie.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def root_pid(self) -> int:
        return self.proc.pid


# ------------------------------------------------------------------------------------------------ Dovecot

def dovecot_config(d: Path, base: int, cache: bool, performance: bool) -> str:
    text = f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = ldapbench-{base}
auth_mechanisms = plain login
disable_plaintext_auth = no
passdb {{
  driver = ldap
  args = {d}/dovecot-ldap.conf.ext
}}
userdb {{
  driver = static
  args = uid=vmail gid=vmail home={d}/home/%u
}}
first_valid_uid = 100
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{d.parent}/tls/cert.pem
ssl_key = <{d.parent}/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
service imap-login {{
  inet_listener imap {{
    port = {base + 143}
  }}
  inet_listener imaps {{
    port = {base + 993}
    ssl = yes
  }}
}}
default_process_limit = 2000
default_client_limit = 4000
service imap {{
  process_limit = 2000
}}
service auth {{
  client_limit = 10000
}}
service anvil {{
  client_limit = 10000
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
"""
    if cache:
        text += "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\n"
    if performance:  # as dovecot-anchor's ANCHOR_MODE=performance
        text += """\
service imap-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
  process_limit = 8
}
service imap {
  service_count = 100
  process_min_avail = 4
}
"""
    return text


def dovecot_ldap_config(slapd) -> str:
    return f"""\
uris = {slapd.ldaps_uri}
tls_ca_cert_file = {slapd.ca}
tls_require_cert = hard
dn = {slapd_peer.SERVICE_DN}
dnpass = {slapd_peer.SERVICE_PASSWORD}
auth_bind = yes
base = ou=people,{slapd_peer.SUFFIX}
pass_filter = (&(objectClass=posixAccount)(uid=%u))
pass_attrs = uid=user
"""


class Dovecot:
    def __init__(self, d: Path, base: int, performance: bool):
        self.d, self.base, self.performance = d, base, performance
        self.port = base + 993

    def start(self, slapd, cache: bool) -> None:
        for sub in ("run", "state"):
            (self.d / sub).mkdir(parents=True, exist_ok=True)
        (self.d / "dovecot-ldap.conf.ext").write_text(dovecot_ldap_config(slapd))
        os.chmod(self.d / "dovecot-ldap.conf.ext", 0o600)
        (self.d / "dovecot.conf").write_text(dovecot_config(self.d, self.base, cache, self.performance))
        subprocess.run(["dovecot", "-c", str(self.d / "dovecot.conf")], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, 30):
            raise SystemExit(f"Dovecot not listening on {self.port}: {(self.d / 'dovecot.log').read_text()[-2000:]}")

    def stop(self) -> None:
        pid_file = self.d / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        subprocess.run(["doveadm", "-c", str(self.d / "dovecot.conf"), "stop"], capture_output=True)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def root_pid(self) -> int:
        return int((self.d / "run" / "master.pid").read_text())


# ------------------------------------------------------------------------------------------------ measuring

def measure(bench: Path, server, label: str, users: int, secs: float, concurrency: int) -> dict:
    cpu0 = tree_cpu(server.root_pid())
    r = subprocess.run([str(bench), "logins", "--tls", "--port", str(server.port), "--users", f"test1..test{users}",
                        "--password", PASSWORD, "--concurrency", str(concurrency), "--duration", f"{secs}s",
                        "--label", label], capture_output=True, text=True, timeout=secs + 120)
    cpu1 = tree_cpu(server.root_pid())
    lines = [l[5:] for l in r.stdout.splitlines() if l.startswith("JSON ")]
    if not lines:
        return {"error": f"aerie-bench exit {r.returncode}: {r.stderr[-500:]}", "logins_per_s": 0, "failures": -1}
    result = json.loads(lines[-1])
    result["cpu_s"] = cpu1 - cpu0
    if r.stderr.strip():
        result["stderr"] = r.stderr.strip()[-500:]
    return result


def fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--secs", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--port-base", type=int, default=24000, help="Dovecot default model; +500 its perf model")
    ap.add_argument("--aerie", type=Path, default=REPO / ".build" / "release" / "aerie")
    ap.add_argument("--bench", type=Path, default=REPO / ".build" / "release" / "aerie-bench")
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a fresh one in /var/tmp)")
    ap.add_argument("--results", action="store_true", help="append the table to bench/RESULTS.md")
    ap.add_argument("--modes", default="off,on", help="cache modes to run: off,on")
    args = ap.parse_args()
    if os.getuid() != 0:
        print("ldap-logins.py: run as root (the servers start as root and drop to vmail)", file=sys.stderr)
        return 2
    for tool in ("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so", slapd_peer.SLAPD, str(args.aerie),
                 str(args.bench)):
        if not Path(tool).exists():
            print(f"ldap-logins.py: {tool} missing (apt-get install dovecot-ldap slapd ldap-utils; "
                  f"swift build -c release)", file=sys.stderr)
            return 2

    work = args.dir or Path(tempfile.mkdtemp(prefix="aerie-ldapbench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    helpers.make_readable_by_all(work)
    uid, gid = helpers.vmail_ids()
    load_start = open("/proc/loadavg").read().split()[:3]
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    t0 = time.monotonic()

    helpers.make_ca(work / "ca")
    helpers.make_tls(work / "tls", kind="rsa", ca_dir=work / "ca")
    people = [Person(f"test{i}", PASSWORD, "SSHA512", 3000 + i) for i in range(1, args.users + 1)]
    print(f"slapd: {args.users} users", file=sys.stderr)
    slapd = slapd_peer.make_slapd(work / "ldap", people, work / "ca", work / "unused-home", gid)

    # A copy under another name: other sessions on this machine stop stray processes called "aerie".
    (work / "bin").mkdir(exist_ok=True)
    shutil.copy(args.aerie, work / "bin" / "bench-imapd")
    aerie = Aerie(work / "bin" / "bench-imapd", work / "aerie", helpers.free_port())
    dovecot = Dovecot(work / "dovecot", args.port_base, performance=False)
    perf = Dovecot(work / "dovecot-perf", args.port_base + 500, performance=True)
    servers = {"aerie": aerie, "dovecot": dovecot, "dovecot-perf": perf}
    for name, s in servers.items():
        home = s.d / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, gid)

    results: dict[str, dict[str, list[dict]]] = {}
    try:
        for mode in args.modes.split(","):
            cache = mode == "on"
            for name, s in servers.items():
                s.start(slapd, cache)
            time.sleep(2)
            for name, s in servers.items():  # warm-up: pools, processes, (cache) every user once
                measure(args.bench, s, name, args.users, 2, args.concurrency)
            results[mode] = {n: [] for n in servers}
            for rnd in range(1, args.rounds + 1):
                for name, s in servers.items():
                    r = measure(args.bench, s, name, args.users, args.secs, args.concurrency)
                    results[mode][name].append(r)
                    print(f"cache {mode} round {rnd} {name}: {r.get('logins_per_s', 0):.1f} logins/s, "
                          f"{r.get('failures')} failures, server CPU {r.get('cpu_s', 0):.1f} s"
                          + (f" ERROR {r['error']}" if "error" in r else ""), file=sys.stderr)
            for s in servers.values():
                s.stop()
    finally:
        for s in servers.values():
            s.stop()
        slapd.stop()
    elapsed = time.monotonic() - t0
    load_end = open("/proc/loadavg").read().split()[:3]

    failures = 0
    rows = []
    medians: dict[str, dict[str, float]] = {}
    for mode, per in results.items():
        medians[mode] = {}
        for name, rs in per.items():
            rates = [r.get("logins_per_s", 0) for r in rs]
            fails = sum(max(r.get("failures", 0), 0) + (1 if "error" in r else 0) for r in rs)
            failures += fails
            cpu_ms = statistics.median(1000 * r.get("cpu_s", 0) / max(r.get("logins", 1), 1) for r in rs)
            medians[mode][name] = statistics.median(rates)
            rows.append(f"| {LABEL[name]} | cache {mode} | " + " | ".join(fmt(x) for x in rates)
                        + f" | **{fmt(medians[mode][name])}** | {cpu_ms:.2f} | {fails} |")
    header = ("| server | auth cache | " + " | ".join(f"round {i}" for i in range(1, args.rounds + 1))
              + " | median logins/s | server CPU ms/login | failures |\n|---|---|"
              + "---:|" * args.rounds + "---:|---:|---:|")
    table = header + "\n" + "\n".join(rows)
    verdicts = []
    for mode, target in (("off", 1.0), ("on", 2.0)):
        if mode not in medians:
            continue
        m = medians[mode]
        best = max(m["dovecot"], m["dovecot-perf"])
        ratio = m["aerie"] / best if best else float("inf")
        verdicts.append(f"cache {mode}: Aerie / better Dovecot model = **{ratio:.2f}×** (target ≥ {target:g}×: "
                        f"{'met' if ratio >= target and failures == 0 else '**not met**'}); Aerie / Dovecot default "
                        f"= {m['aerie'] / m['dovecot']:.2f}×, Aerie / Dovecot perf = "
                        f"{m['aerie'] / m['dovecot-perf']:.2f}×")
    commit = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h"], capture_output=True,
                            text=True).stdout.strip()
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(args.aerie.stat().st_mtime))
    default = args.aerie.resolve() == (REPO / ".build" / "release" / "aerie").resolve()
    binary = f"{args.aerie} built {built}" + (f", tree at {commit}" if default else "")
    dovecot_version = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    command = "python3 bench/ldap-logins.py " + " ".join(sys.argv[1:])
    text = f"""
## LDAP bind logins, auth cache off and on ({started}, bench/ldap-logins.py)

`{command}` (as root; took {elapsed:.0f} s). One slapd (OpenLDAP 2.5, Debian) with {args.users} users
({{SSHA512}} userPassword), ldaps:// on loopback, behind all three servers. Aerie (release build: {binary}):
`passdb ldap {{ passdb_ldap_bind = yes }}` + static userdb; Dovecot {dovecot_version} (dovecot-ldap): `auth_bind = yes`
+ static userdb, default and high-performance process models (as dovecot-anchor configures them). Cache on:
`auth_cache_size = 10M`, `auth_cache_ttl = 1 hour` in every server, after a 2-second warm-up. aerie-bench's login
test over implicit TLS: {args.concurrency} clients, connect + LOGIN + LOGOUT, {args.secs:g} s per measurement,
servers alternating in each round; the client and slapd share the machine's 2 cores with the servers.
Load average (1/5/15 min) at the start {' '.join(load_start)}, at the end {' '.join(load_end)} (machine shared with
other engineers' builds and tests).

{table}

{chr(10).join('- ' + v for v in verdicts)}
- Failed logins over all measurements: {failures}
"""
    print(text)
    if args.results:
        with open(REPO / "bench" / "RESULTS.md", "a") as f:
            f.write(text)
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
