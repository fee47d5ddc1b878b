"""Logs: Dovecot 2.3-form auth failure lines that Debian's fail2ban `dovecot` filter matches, in a log file and
through syslog; no password, hash or SASL payload in any log, also with auth_debug = yes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP, plain_b64, b64

AUTH_FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."
TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "


def fail2ban_regex(logfile: Path) -> tuple[int, int, str]:
    """Runs Debian's dovecot filter with _daemon=aerie; returns (lines, matched, output)."""
    exe = shutil.which("fail2ban-regex")
    if not exe:
        pytest.fail("fail2ban-regex missing (scripts/test.sh installs fail2ban)")
    r = helpers.run([exe, str(logfile), "dovecot[_daemon=aerie]"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched", r.stdout)
    assert m, r.stdout
    return int(m.group(1)), int(m.group(3)), r.stdout


def fail_logins(port: int, user: str, passwords: list[str], mech: str = "LOGIN", end: str = "logout") -> list[str]:
    """One TLS connection, one failed attempt per password, then LOGOUT (end="logout") or just closing the socket
    (end="close"); after a third failure the server says BYE itself."""
    lines = []
    with RawIMAP(port, tls=True) as c:
        for i, pw in enumerate(passwords):
            if mech == "LOGIN":
                c.cmd(f'f{i} LOGIN {user} "{pw}"')
            else:
                c.cmd(f"f{i} AUTHENTICATE PLAIN {plain_b64(user, pw)}")
            try:
                _, done = c.read_tagged(f"f{i}", timeout=15)
            except ConnectionError:
                break
            lines.append(done)
            assert done == f"f{i} {AUTH_FAILED}", done
        if end == "logout":
            try:
                c.cmd("z LOGOUT")
                c.read_until_closed(timeout=10)
            except (ConnectionError, OSError):
                pass
    return lines


def assert_no_secrets(text: str, users: dict, extra: list[str] = ()) -> None:
    leaked = [s for s in [*helpers.secrets_of(users), *extra] if s and s in text]
    assert not leaked, f"secrets in the log: {leaked}"


# ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failures(server):
    """Produces, on a fresh acceptance server: 3 wrong passwords (the server says BYE), 1 unknown user (the client
    closes the socket), 2 wrong passwords through AUTHENTICATE PLAIN (the client logs out); the three connections
    run in parallel (each waits out its own failure delays)."""
    jobs = [
        ("sha512", ["wrong-1", "wrong-2", "wrong-3"], "LOGIN", "close"),
        ("nosuchuser", ["Whatever-1"], "LOGIN", "close"),
        ("argon", ["wrong-a", "wrong-b"], "PLAIN", "logout"),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda j: fail_logins(server.imaps_port, *j), jobs))
    assert [len(r) for r in results] == [3, 1, 2], results
    expected = {
        "mismatch_sha512": 3, "unknown": 1, "mismatch_argon": 2,
        "disconnects": 3,
    }
    return server, expected


def wait_log(server, pattern: str, count: int = 1, timeout: float = 15) -> list[str]:
    rx = re.compile(pattern)

    def found():
        hits = [l for l in server.log().splitlines() if rx.search(l)]
        return hits if len(hits) >= count else None

    try:
        return helpers.wait_for(found, timeout=timeout, what=pattern)
    except AssertionError:
        raise AssertionError(f"expected {count}× /{pattern}/ in the log:\n{server.log()[-4000:]}")


def test_per_attempt_lines(failures):
    server, exp = failures
    hits = wait_log(server, rf"^{TS}auth: Info: passwd-file\(sha512,127\.0\.0\.1(,<[^>]*>)?\): Password mismatch$",
                    exp["mismatch_sha512"])
    assert len(hits) == exp["mismatch_sha512"], hits
    wait_log(server, rf"^{TS}auth: Info: passwd-file\(argon,127\.0\.0\.1(,<[^>]*>)?\): Password mismatch$",
             exp["mismatch_argon"])
    wait_log(server, rf"^{TS}auth: Info: passwd-file\(nosuchuser,127\.0\.0\.1(,<[^>]*>)?\): unknown user$",
             exp["unknown"])


def test_disconnect_lines(failures):
    server, _ = failures
    common = r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, TLS, session=<[^>]+>$"
    wait_log(server, rf"^{TS}imap-login: Info: Disconnected: .+ \(auth failed, 3 attempts in \d+ secs\): "
                     rf"user=<sha512>, method=PLAIN, {common}")
    wait_log(server, rf"^{TS}imap-login: Info: Disconnected: .+ \(auth failed, 1 attempts in \d+ secs\): "
                     rf"user=<nosuchuser>, method=PLAIN, {common}")
    wait_log(server, rf"^{TS}imap-login: Info: Disconnected: .+ \(auth failed, 2 attempts in \d+ secs\): "
                     rf"user=<argon>, method=PLAIN, {common}")


def test_fail2ban_matches_every_failure_line(failures, tmp_path, capsys):
    server, exp = failures
    wanted = sum(exp.values())
    wait_log(server, r"(Password mismatch|unknown user)$", wanted - exp["disconnects"])
    wait_log(server, r"\(auth failed, \d+ attempts", exp["disconnects"])
    lines, matched, out = fail2ban_regex(server.log_path)
    with capsys.disabled():
        print("\nfail2ban-regex aerie.log 'dovecot[_daemon=aerie]': " + re.search(r"Lines: .*", out).group(0))
    assert matched >= wanted, f"fail2ban matched {matched} of {lines} lines, expected >= {wanted}:\n{out}"
    # Every failure line on its own must match (no line the filter silently misses).
    only = tmp_path / "failures.log"
    failure_lines = [l for l in server.log().splitlines()
                     if re.search(r"Password mismatch$|unknown user$|\(auth failed, ", l)]
    only.write_text("\n".join(failure_lines) + "\n")
    lines, matched, out = fail2ban_regex(only)
    assert lines == matched == len(failure_lines), out


def test_log_timestamp_format(failures):
    server, _ = failures
    lines = [l for l in server.log().splitlines() if l.strip()]
    assert lines
    bad = [l for l in lines if not re.match(TS, l)]
    assert not bad, bad[:5]


def test_no_secrets_in_log(failures):
    server, _ = failures
    # Successes too: every user logs in once on the same server.
    for name in ("sha512", "argon", "blf", "doveadm"):
        u = server.users[name]
        with RawIMAP(server.imaps_port, tls=True) as c:
            _, done = c.run("a", f"AUTHENTICATE PLAIN {plain_b64(u.name, u.password)}")
            assert done.startswith("a OK"), done
    assert_no_secrets(server.log() + server.output(), server.users,
                      extra=[b64("wrong-1"), "wrong-1", "wrong-a", "Whatever-1"])


def test_auth_debug_still_hides_secrets(server_factory):
    srv = server_factory.start(name="authdebug", extra="auth_debug = yes")
    users = srv.users
    wrong = "Debug-Wrong-Pw-93"
    for name in ("sha512", "argon", "blf", "doveadm"):
        u = users[name]
        with RawIMAP(srv.imaps_port, tls=True) as c:
            _, done = c.run("a", f'LOGIN {u.name} "{u.password}"')
            assert done.startswith("a OK"), done
        with RawIMAP(srv.imaps_port, tls=True) as c:
            c.cmd("a AUTHENTICATE LOGIN")
            assert c.readline().startswith("+")
            c.cmd(b64(u.name))
            assert c.readline().startswith("+")
            c.cmd(b64(u.password))
            _, done = c.read_tagged("a")
            assert done.startswith("a OK"), done
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: fail_logins(srv.imaps_port, n, [wrong]),
                      ["sha512", "lowuid", "rootuser", "weak"]))
        list(pool.map(lambda n: fail_logins(srv.imaps_port, n, [users[n].password], mech="PLAIN"),
                      ["lowuid", "rootuser", "weak"]))
    wait_log(srv, r"Password mismatch$")
    text = srv.log() + srv.output()
    assert re.search(r"[Dd]ebug", text), "auth_debug = yes produced no debug lines"
    assert_no_secrets(text, users, extra=[wrong, b64(wrong), plain_b64("sha512", wrong)])


# ------------------------------------------------------------------------------------------------------------ syslog


def dev_log_state() -> str:
    if not os.path.exists("/dev/log"):
        return "absent"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect("/dev/log")
        return "live"
    except OSError:
        return "stale"
    finally:
        s.close()


def file_reader(path: Path):
    """Lines appended to `path` after now."""
    offset = path.stat().st_size if path.exists() else 0

    def read() -> list[str]:
        with open(path, errors="replace") as f:
            f.seek(offset)
            return [l.rstrip("\n") for l in f]

    return read


def journal_reader():
    """Lines of the systemd journal after now, in the traditional syslog format (journalctl -o short)."""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 1))

    def read() -> list[str]:
        r = helpers.run(["journalctl", "--no-pager", "-q", "-o", "short", "--since", since], timeout=30)
        return r.stdout.splitlines()

    return read


@pytest.fixture(scope="module")
def syslog_lines(tmp_path_factory):
    """A reader of mail.* syslog lines in the traditional format. Preferably our own rsyslogd on /dev/log (when
    /dev/log is free); else, when a running logger owns /dev/log, the systemd journal or /var/log/mail.log,
    whichever demonstrably receives a test message."""
    d = tmp_path_factory.mktemp("rsyslog")
    state = dev_log_state()
    if state == "live":
        marker = f"aerie-it-marker-{os.getpid()}-{int(time.time())}"
        candidates = []
        if shutil.which("journalctl"):
            candidates.append(("journal", journal_reader()))
        if Path("/var/log/mail.log").exists():
            candidates.append(("/var/log/mail.log", file_reader(Path("/var/log/mail.log"))))
        helpers.run(["logger", "-p", "mail.info", "-t", "aerie-test", marker])
        for name, reader in candidates:
            try:
                helpers.wait_for(lambda: any(marker in l for l in reader()), 5, what=f"marker in {name}")
            except AssertionError:
                continue
            yield reader
            return
        pytest.skip("/dev/log belongs to a running logger whose output is neither in the journal nor in "
                    "/var/log/mail.log; cannot start our own rsyslogd")
    rsyslogd = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if not rsyslogd:
        pytest.skip("rsyslogd not installed")
    if state == "stale":
        os.unlink("/dev/log")
    out = d / "mail.log"
    conf = d / "rsyslog.conf"
    conf.write_text(f"""\
global(workDirectory="{d}")
module(load="imuxsock" SysSock.Name="/dev/log" SysSock.Unlink="on")
$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat
mail.* {out}
""")
    check = helpers.run([rsyslogd, "-N1", "-f", str(conf)], timeout=30)
    if check.returncode != 0:
        pytest.skip(f"rsyslogd rejects its config: {check.stderr.strip()[-500:]}")
    proc = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(d / "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        marker = f"aerie-it-marker-{os.getpid()}"
        ok = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists("/dev/log"):
                helpers.run(["logger", "-p", "mail.info", "-t", "aerie-test", marker])
                if out.exists() and marker in out.read_text(errors="replace"):
                    ok = True
                    break
            time.sleep(0.3)
        if not ok:
            output = proc.stdout.read1(4000).decode(errors="replace") if proc.poll() is not None else ""
            pytest.skip(f"rsyslogd could not start or write {out}: {output}")
        yield file_reader(out)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if os.path.exists("/dev/log") and dev_log_state() != "live":
            os.unlink("/dev/log")


def test_syslog_failures_match_fail2ban(server_factory, syslog_lines, tmp_path, capsys):
    srv = server_factory.start(name="syslog", replace={"log_path = ": "log_path = syslog\n#"},
                               extra="syslog_facility = mail")
    fail_logins(srv.imaps_port, "blf", ["wrong-s1", "wrong-s2"], end="close")
    fail_logins(srv.imaps_port, "nosuchuser2", ["wrong-s3"], end="logout")

    def lines():
        return [l for l in syslog_lines() if re.search(r"\baerie\[\d+\]: ", l)]

    def have_all():
        ls = lines()
        mism = [l for l in ls if re.search(r"aerie\[\d+\]: auth: (Info: )?passwd-file\(blf,127\.0\.0\.1(,<[^>]*>)?\): "
                                           r"Password mismatch$", l)]
        unk = [l for l in ls if re.search(r"passwd-file\(nosuchuser2,127\.0\.0\.1(,<[^>]*>)?\): unknown user$", l)]
        disc = [l for l in ls if re.search(r"aerie\[\d+\]: imap-login: (Info: )?Disconnected: .*\(auth failed, \d+ "
                                           r"attempts in \d+ secs\): user=<(blf|nosuchuser2)>, method=PLAIN, "
                                           r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, TLS, session=<[^>]+>$", l)]
        return (mism, unk, disc) if len(mism) >= 2 and unk and len(disc) >= 2 else None

    try:
        mism, unk, disc = helpers.wait_for(have_all, timeout=15, what="failure lines in syslog")
    except AssertionError:
        raise AssertionError("syslog lack the expected lines:\n" + "\n".join(lines()[-30:]))
    ours = tmp_path / "syslog-aerie.log"
    ours.write_text("\n".join(lines()) + "\n")
    n, matched, out = fail2ban_regex(ours)
    with capsys.disabled():
        print("\nfail2ban-regex (syslog) 'dovecot[_daemon=aerie]': " + re.search(r"Lines: .*", out).group(0))
    assert matched >= len(mism) + len(unk) + len(disc), out
    assert_no_secrets(ours.read_text(), srv.users, extra=["wrong-s1", "wrong-s2", "wrong-s3"])


def test_contrib_jail_loads_in_fail2ban(tmp_path):
    """contrib/fail2ban/jail.d/aerie.conf, with every jail enabled, is accepted by fail2ban-client -d."""
    if not Path("/etc/fail2ban/jail.conf").exists():
        pytest.fail("fail2ban is not installed")
    conf = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", conf)
    jail = (helpers.REPO / "contrib" / "fail2ban" / "jail.d" / "aerie.conf").read_text()
    (conf / "jail.d" / "aerie.conf").write_text(re.sub(r"(?m)^enabled\s*=\s*false", "enabled = true", jail))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "aerie.log").touch()
    (logs / "mail.log").touch()
    text = (conf / "jail.d" / "aerie.conf").read_text()
    text = text.replace("/var/log/aerie/aerie.log", str(logs / "aerie.log"))
    text = text.replace("%(syslog_mail_warn)s", str(logs / "mail.log"))
    (conf / "jail.d" / "aerie.conf").write_text(text)
    r = helpers.run(["fail2ban-client", "-c", str(conf), "-d"], timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for jail_name in ("aerie", "aerie-logfile", "aerie-journal"):
        assert f"['add', '{jail_name}'," in r.stdout, f"jail {jail_name} missing:\n{r.stderr[-2000:]}"
    assert "'dovecot.service'" not in r.stdout.split("['add', 'aerie-journal'")[1].split("['add'")[0], \
        "aerie-journal still matches dovecot.service"
