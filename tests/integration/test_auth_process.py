"""Issue 11 (auth part): passdbs/userdbs are read and passwords verified only in the auth process, which runs as
default_internal_user (dovecot), so a users file `root:dovecot 0640` works and the mail user cannot read it.
`aerie serve` starts it through `aerie auth-supervisor`, which restarts it when it dies."""

from __future__ import annotations

import os
import poplib
import pwd
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import MAIL_PASSWORD, RawIMAP

pytestmark = pytest.mark.timeout(300)

UNAVAILABLE = "NO [UNAVAILABLE] Temporary authentication failure. Try again later."


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "authproc",
                                     users=helpers.make_mail_users(["alice", "bob", "carol"])) as server:
        yield server


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return out


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:  # gone, or exiting while read (ESRCH)
        return []


def auth_pids(server) -> tuple[int, int | None]:
    """(supervisor pid, auth-service pid or None while it is being restarted)."""
    supervisors = [p for p in children(server.pid) if "auth-supervisor" in cmdline(p)]
    assert len(supervisors) == 1, [cmdline(p) for p in children(server.pid)]
    # During a reload the old process finishes its requests beside the new one: the newest is the current one.
    workers = sorted((start_time(p), p) for p in children(supervisors[0]) if "auth-service" in cmdline(p))
    assert len(workers) <= 2, workers
    return supervisors[0], (workers[-1][1] if workers else None)


def start_time(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, IndexError):
        return 0


def status_ids(pid: int) -> dict[str, list[str]]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: re.search(rf"^{key}:\s*(.*)$", text, re.M).group(1).split()
            for key in ("Uid", "Gid", "Groups", "NoNewPrivs")}


def open_as(pid: int, path: Path) -> subprocess.CompletedProcess:
    """Tries to read `path` with the uid, gid and groups process `pid` has."""
    ids = status_ids(pid)
    return subprocess.run(["cat", str(path)], user=int(ids["Uid"][0]), group=int(ids["Gid"][0]),
                          extra_groups=[int(g) for g in ids["Groups"]], capture_output=True, text=True, timeout=30)


def pop3_login(server, user: str) -> None:
    c = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=helpers.client_context(server.tls.ca), timeout=10)
    try:
        c.user(user)
        assert c.pass_(MAIL_PASSWORD).startswith(b"+OK")
        c.stat()
    finally:
        c.quit()


def test_root_dovecot_0640_users_file_serves_imap_pop3_and_lmtp(srv):
    users = srv.directory / "users"
    info = users.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, helpers.internal_gid(), 0o640)
    message = helpers.make_message("<authproc-1@example.test>", subject="through the auth process")
    result = helpers.lmtp_deliver(srv.lmtp_socket, [f"alice@{helpers.MAIL_DOMAIN}"], message)
    assert all(code == 250 for code, _ in result.values()), result
    assert len(helpers.wait_for_messages(srv, "alice", 1)) == 1
    pop3_login(srv, "alice")
    m = helpers.imap_login(srv, "bob")
    m.logout()
    assert "Permission denied" not in srv.log()


def test_auth_process_runs_as_internal_user_and_mail_process_cannot_read_users(srv):
    dovecot = pwd.getpwnam("dovecot")
    supervisor, worker = auth_pids(srv)
    assert worker is not None
    ids = status_ids(worker)
    assert ids["Uid"] == [str(dovecot.pw_uid)] * 4, ids
    assert ids["Gid"] == [str(dovecot.pw_gid)] * 4, ids
    assert ids["Groups"] in ([], [str(dovecot.pw_gid)]), ids
    assert ids["NoNewPrivs"] == ["1"], ids
    assert helpers.privilege_problems(worker, dovecot.pw_uid) == []
    assert open_as(worker, srv.directory / "users").returncode == 0
    # The process that serves IMAP runs as vmail and cannot open the users file.
    assert status_ids(srv.mail_pid)["Uid"] == [str(helpers.vmail_ids()[0])] * 4
    denied = open_as(srv.mail_pid, srv.directory / "users")
    assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied
    # Only the server may talk to the auth process.
    sock = (srv.directory / "run" / "aerie-auth").stat()
    assert (sock.st_uid, stat.S_IMODE(sock.st_mode)) == (helpers.vmail_ids()[0], 0o600)


def auth_queue_bytes(worker: int) -> int:
    """Bytes waiting unread in the auth process's unix sockets (Recv-Q of `ss -x` for its pid)."""
    out = helpers.run(["ss", "-xnp"]).stdout
    return sum(int(line.split()[2]) for line in out.splitlines() if f"pid={worker}," in line)


def test_killed_auth_process_is_restarted_and_sessions_continue(srv):
    m = helpers.imap_login(srv, "carol")
    assert m.select("INBOX")[0] == "OK"
    _, worker = auth_pids(srv)
    # Stop it, send a login, and once the request waits in its socket, kill it: that login gets a temporary failure.
    os.kill(worker, signal.SIGSTOP)
    try:
        with RawIMAP(srv.imaps_port, tls=True) as c:
            c.cmd(f"a LOGIN alice {MAIL_PASSWORD}")
            helpers.wait_for(lambda: auth_queue_bytes(worker) > 0, timeout=20, what="a request queued for auth")
            os.kill(worker, signal.SIGKILL)
            _, done = c.read_tagged("a", timeout=20)
            assert done == f"a {UNAVAILABLE}", done
    finally:
        try:
            os.kill(worker, signal.SIGKILL)
        except ProcessLookupError:
            pass
    helpers.wait_for(lambda: auth_pids(srv)[1] not in (None, worker), timeout=30, what="a new auth process")
    assert re.search(rf"auth process {worker} was killed by signal 9; restarting it", srv.log()), srv.log()[-2000:]
    # New logins work again (the new process may still be starting: the first try may wait, never fail for good).
    helpers.wait_for(lambda: try_login(srv, "alice"), timeout=30, what="a login after the restart")
    pop3_login(srv, "bob")
    # The session that was logged in before the crash goes on.
    assert m.noop()[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_recipient_lookup_when_auth_process_dies_is_deferred_not_bounced(srv):
    """A delivery whose userdb lookup was in flight when the auth process died gets 451 (the MTA retries), not 550."""
    _, worker = auth_pids(srv)
    with helpers.LMTPClient(srv.lmtp_socket, timeout=30) as c:
        c.lhlo()
        # The mail service's own connection to this auth process (with the login process, logins do not make one):
        # a request on a connection not yet accepted would wait in the listener's queue, not in the process.
        assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
        assert c.cmd(f"RCPT TO:<carol@{helpers.MAIL_DOMAIN}>")[0] == 250
        os.kill(worker, signal.SIGSTOP)
    try:
        with helpers.LMTPClient(srv.lmtp_socket, timeout=30) as c:
            c.lhlo()
            assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
            c.send(f"RCPT TO:<bob@{helpers.MAIL_DOMAIN}>\r\n")
            helpers.wait_for(lambda: auth_queue_bytes(worker) > 0, timeout=20, what="a lookup queued for auth")
            os.kill(worker, signal.SIGKILL)
            code, text = c.reply(30)
            assert (code, text) == (451, [f"4.3.0 <bob@{helpers.MAIL_DOMAIN}> Temporary user lookup failure"])
            # The next recipient reaches the restarted process.
            helpers.wait_for(lambda: auth_pids(srv)[1] not in (None, worker), timeout=30, what="a new auth process")
            assert c.cmd(f"RCPT TO:<carol@{helpers.MAIL_DOMAIN}>")[0] == 250
    finally:
        try:
            os.kill(worker, signal.SIGKILL)
        except ProcessLookupError:
            pass


def try_login(server, user: str) -> bool:
    try:
        helpers.imap_login(server, user).logout()
        return True
    except Exception:
        return False


def test_reload_replaces_the_auth_process_without_failing_logins(srv):
    """SIGHUP: a new auth process reads the configuration; logins meanwhile are answered, none fails."""
    results: list[str] = []
    stop = threading.Event()

    def log_in_repeatedly():
        while not stop.is_set():
            with RawIMAP(srv.imaps_port, tls=True) as c:
                _, done = c.run("a", f"LOGIN alice {MAIL_PASSWORD}", timeout=30)
                results.append(done)
                c.run("z", "LOGOUT")

    log_start = len(srv.log())
    threads = [threading.Thread(target=log_in_repeatedly) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            _, before = auth_pids(srv)
            count = len(results)
            os.kill(srv.pid, signal.SIGHUP)
            helpers.wait_for(lambda: auth_pids(srv)[1] not in (None, before), timeout=30, what="a new auth process")
            helpers.wait_for(lambda: len(results) > count + 3, timeout=30, what="logins after the reload")
            # The old one leaves once the server moved to the new one (SIGTERM reached it: nothing blocks it).
            helpers.wait_for(lambda: not Path(f"/proc/{before}").exists(), timeout=30, what="the old auth process gone")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    failed = [r for r in results if not r.startswith("a OK")]
    assert not failed and results, (failed, len(results))
    assert "auth process connection lost" not in srv.log()[log_start:]


def test_conf_check_reads_passwd_file_as_the_internal_user(srv, aerie_bin):
    ok = helpers.run([aerie_bin, "conf", "check", "-c", str(srv.config)], timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # Readable by the mail user (vmail), not by dovecot: conf check refuses it as serve would.
    vmail_only = srv.directory / "users-vmail"
    vmail_only.write_text((srv.directory / "users").read_text())
    os.chown(vmail_only, helpers.vmail_ids()[0], helpers.vmail_ids()[1])
    os.chmod(vmail_only, 0o600)
    config = srv.directory / "vmail-only.conf"
    config.write_text(srv.config.read_text().replace(f"{srv.directory}/users\n", f"{vmail_only}\n"))
    assert str(vmail_only) in config.read_text()
    bad = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    assert bad.returncode != 0
    assert f"passwd_file_path {vmail_only} is not readable by dovecot" in bad.stdout + bad.stderr, bad


def test_conf_check_refuses_a_missing_internal_user(srv, aerie_bin):
    config = srv.directory / "nointernal.conf"
    config.write_text(srv.config.read_text() + "\ndefault_internal_user = aerie-no-such-user\n")
    bad = helpers.run([aerie_bin, "conf", "check", "-c", str(config)], timeout=60)
    assert bad.returncode != 0
    assert "default_internal_user: system user aerie-no-such-user does not exist" in bad.stdout + bad.stderr, bad


class UserServer(helpers.Server):
    """`aerie serve` started by an ordinary user (vmail here) instead of root."""

    def start(self, wait: bool = True) -> "UserServer":
        uid, gid = helpers.vmail_ids()
        self.stdout = open(self.directory / "stdout.txt", self.output_mode)
        self.stderr = open(self.directory / "stderr.txt", self.output_mode)
        self.proc = subprocess.Popen([self.binary, "serve", "-c", str(self.config)], stdout=self.stdout,
                                     stderr=self.stderr, stdin=subprocess.DEVNULL, cwd=self.directory,
                                     user=uid, group=gid, extra_groups=[])
        if wait:
            self.wait_ready()
        return self


def test_started_by_a_normal_user_the_auth_process_runs_as_that_user(aerie_bin, ca_dir, vmail):
    uid, gid = vmail
    d = helpers.private_dir("authuser")
    server = None
    try:
        tls = helpers.make_tls(d / "tls", ca_dir=ca_dir)
        users = helpers.make_mail_users(["alice"])
        helpers.write_users_file(d / "users", users, d / "home")
        for p in (d, d / "tls", tls.key, d / "users"):
            os.chown(p, uid, gid)
        os.chmod(d / "users", 0o600)
        ports = (helpers.free_port(), helpers.free_port())
        config = d / "aerie.conf"
        config.write_text(helpers.acceptance_config(d, *ports))
        server = UserServer(aerie_bin, d, config, ports[0], ports[1], users, tls, d / "aerie.log").start()
        helpers.imap_login(server, "alice").logout()
        _, worker = auth_pids(server)
        assert status_ids(worker)["Uid"] == [str(uid)] * 4
        assert status_ids(worker)["NoNewPrivs"] == ["1"]
    finally:
        rc = server.stop() if server else 0
        if rc == 0:
            helpers.remove_private_dir(d)
    assert rc == 0
