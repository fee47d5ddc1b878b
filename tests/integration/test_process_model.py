"""Issue 11, the process model: `aerie serve` is a small root master that binds the listeners and runs one child per
kind — the TLS key worker (root), the auth supervisor (root) and its auth process (default_internal_user), the mail
service (the mail user) — and starts again any child that dies. Checked from /proc as root, as CI runs it."""

from __future__ import annotations

import imaplib
import os
import pwd
import re
import signal
import socket
import time
from pathlib import Path

import pytest

import helpers
from helpers import MAIL_DOMAIN, RawIMAP
from test_auth_process import auth_pids, open_as, status_ids

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "procmodel",
                                     users=helpers.make_mail_users(["alice", "bob", "carol", "dave"])) as server:
        yield server


def proc_status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^(\w+):\s*(.*)$", text, re.M)}


def keeper_pid(server) -> int:
    pids = helpers.child_pids(server.pid, "tls-keeper-worker")
    assert len(pids) == 1, pids
    return pids[0]


def _one(pids: list[int]) -> int:
    assert len(pids) == 1, pids
    return pids[0]


def wait_new_child(server, subcommand: str, old: int, timeout: float = 20) -> int:
    found: list[int] = []

    def fresh() -> bool:
        found[:] = [p for p in helpers.child_pids(server.pid, subcommand) if p != old]
        return len(found) == 1

    helpers.wait_for(fresh, timeout=timeout, what=f"a new {subcommand}")
    return found[0]


def imap_works(server, user: str) -> bool:
    try:
        c = helpers.imap_login(server, user)
        c.logout()
        return True
    except (OSError, imaplib.IMAP4.error, AssertionError):
        return False


def test_every_child_kind_runs_as_its_user_with_no_capabilities(srv, vmail):
    """uid, gid, groups, CapEff, NoNewPrivs and root directory of each process. Root with capabilities, by design:
    the master (binds, spawns, restarts) and the key worker (reads the root-only key); both keep no_new_privs."""
    dovecot = pwd.getpwnam("dovecot")
    # serve is ready before its auth process has started (the supervisor spawns it), read the configuration and
    # dropped root (it drops before it serves anyone): wait for that, not for a moment.
    helpers.wait_for(lambda: auth_pids(srv)[1] is not None, timeout=20, what="the auth process")
    supervisor, auth = auth_pids(srv)
    helpers.wait_for(lambda: proc_status(auth)["Uid"].split()[0] != "0", timeout=20, what="the auth process's drop")
    expected = {
        "master": (srv.pid, 0, 0, True),
        "tls-keeper-worker": (keeper_pid(srv), 0, 0, True),
        "login's tls-keeper-worker": (_one(helpers.child_pids(srv.pid, "tls-keeper-worker", serves="login")), 0, 0,
                                      True),
        "auth-supervisor": (supervisor, 0, 0, True),
        "auth-service": (auth, dovecot.pw_uid, dovecot.pw_gid, False),
        "mail-service": (srv.mail_pid, vmail[0], vmail[1], False),
    }
    for name, (pid, uid, gid, root) in expected.items():
        status = proc_status(pid)
        assert status["Uid"].split() == [str(uid)] * 4, (name, status["Uid"])
        assert status["Gid"].split() == [str(gid)] * 4, (name, status["Gid"])
        assert status["NoNewPrivs"] == "1", (name, status["NoNewPrivs"])
        assert os.readlink(f"/proc/{pid}/root") == "/", name
        if root:
            continue
        assert status["Groups"].split() in ([], [str(gid)]), (name, status["Groups"])
        assert int(status["CapEff"], 16) == 0, (name, status["CapEff"])
        assert int(status["CapPrm"], 16) == 0, (name, status["CapPrm"])
        assert helpers.privilege_problems(pid, uid) == [], name
    # Neither the auth process nor the mail service can open the TLS key; the mail service not the users file
    # (root:dovecot 0640), which the auth process reads.
    for pid in (auth, srv.mail_pid):
        assert open_as(pid, srv.tls.key).returncode != 0, pid
    users = srv.directory / "users"
    assert (users.stat().st_uid, users.stat().st_gid, users.stat().st_mode & 0o777) == (0, dovecot.pw_gid, 0o640)
    assert open_as(srv.mail_pid, users).returncode != 0
    assert open_as(auth, users).returncode == 0


def test_killed_mail_service_restarts_and_keeps_what_it_acknowledged(srv):
    """SIGKILL of the mail service: its connections close, the master starts it again and logs it; an LMTP delivery
    and an APPEND acknowledged before the kill are there afterwards; a connection made while it was down waits in
    the listener's backlog and is served by the new one."""
    user = "bob"
    acked = helpers.lmtp_deliver(srv.lmtp_socket, [f"{user}@{MAIL_DOMAIN}"],
                                 helpers.make_message("before-kill-lmtp@test"))
    assert all(code == 250 for code, _ in acked.values()), acked
    c = helpers.imap_login(srv, user)
    typ, _ = c.append("INBOX", None, None, helpers.make_message("before-kill-append@test"))
    assert typ == "OK"
    old = srv.mail_pid
    os.kill(old, signal.SIGKILL)
    with pytest.raises((OSError, imaplib.IMAP4.abort)):
        c.noop()
        c.noop()
    # A connection while the service is down: accepted by the kernel, greeted once the new one runs.
    with socket.create_connection(("127.0.0.1", srv.imap_port), timeout=30) as waiting:
        waiting.settimeout(30)
        assert waiting.recv(100).startswith(b"* OK")
    new = wait_new_child(srv, "mail-service", old)
    assert new != old
    helpers.wait_for(lambda: imap_works(srv, user), timeout=20, what="logins after the restart")
    _, msgs = helpers.imap_messages(srv, user)
    ids = {m for _, data in msgs for m in re.findall(rb"Message-ID: <([^>]+)>", data)}
    assert {b"before-kill-lmtp@test", b"before-kill-append@test"} <= ids, ids
    assert f"service(mail): child {old} killed with signal 9 (restarting in" in srv.log()


@pytest.mark.parametrize("which", ["auth-service", "auth-supervisor"])
def test_imap_session_survives_killed_auth(srv, which):
    """SIGKILL of the auth process (restarted by its supervisor) or of the auth supervisor (restarted by the master):
    a logged-in IMAP session goes on, and new logins work again."""
    with RawIMAP(srv.imaps_port, tls=True) as kept:
        kept.login(srv.users["carol"])
        _, done = kept.run("s", "SELECT INBOX")
        assert done.startswith("s OK"), done
        supervisor, auth = auth_pids(srv)
        victim = auth if which == "auth-service" else supervisor
        os.kill(victim, signal.SIGKILL)
        helpers.wait_for(lambda: victim not in _auth_pid_set(srv), timeout=20, what=f"{which} {victim} gone")
        helpers.wait_for(lambda: imap_works(srv, "dave"), timeout=40, what="a login after the auth restart")
        _, done = kept.run("n", "NOOP")
        assert done.startswith("n OK"), done
    if which == "auth-supervisor":
        assert f"service(auth): child {victim} killed with signal 9 (restarting in" in srv.log()


def test_reload_while_the_auth_supervisor_is_down(srv):
    """SIGHUP right after the auth supervisor died: the master's reload request meets a closed socket (EPIPE, not
    a SIGPIPE that would end the master); the reload reaches the mail service, and the auth process comes back."""
    supervisor, _ = auth_pids(srv)
    reloads = srv.log().count("Configuration and certificates reloaded")
    os.kill(supervisor, signal.SIGKILL)
    helpers.wait_for(lambda: not Path(f"/proc/{supervisor}").exists(), timeout=20, what="the supervisor reaped")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: srv.log().count("Configuration and certificates reloaded") > reloads, timeout=30,
                     what="the mail service's reload")
    assert srv.proc.poll() is None, srv.log()[-2000:]
    helpers.wait_for(lambda: imap_works(srv, "dave"), timeout=60, what="a login after the auth supervisor's restart")


def _auth_pid_set(server) -> set[int]:
    try:
        supervisor, auth = auth_pids(server)
    except AssertionError:
        return set()
    return {supervisor, auth}


def test_sigterm_stops_every_child(aerie_bin, ca_dir, vmail):
    directory = helpers.private_dir("procmodel-term")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users(["alice"]))
    try:
        kids = [srv_pid for name in ("tls-keeper-worker", "auth-supervisor", "mail-service")
                for srv_pid in helpers.child_pids(server.pid, name)]
        assert len(kids) == 3, kids
    finally:
        rc = server.stop()
    assert rc == 0
    for pid in kids:
        assert not Path(f"/proc/{pid}").exists(), pid
    helpers.remove_private_dir(directory)


def test_sigterm_says_bye_to_every_session_before_the_mail_service_stops(aerie_bin, ca_dir, vmail):
    """Issue 11: the mail service runs its sessions as a swift-service-lifecycle ServiceGroup; the master's SIGTERM
    is its graceful shutdown: `* BYE` to a session in a command's middle (IDLE) and to one before login, then the
    service stops and the master exits 0."""
    directory = helpers.private_dir("procmodel-bye")
    users = helpers.make_mail_users(["alice"])
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, users)
    try:
        with RawIMAP(server.imaps_port, tls=True) as idling, RawIMAP(server.imaps_port, tls=True) as anonymous:
            idling.login(users["alice"])
            idling.run("s", "SELECT INBOX")
            idling.cmd("i IDLE")
            assert idling.readline().startswith("+ "), "no IDLE continuation"
            os.kill(server.pid, signal.SIGTERM)
            for client in (idling, anonymous):
                lines = client.read_until_closed(timeout=20)
                assert "* BYE Server shutting down." in lines, lines
        assert server.proc.wait(timeout=30) == 0
        log = server.log()
        assert "mail service shutting down" in log and "mail service stopped" in log, log[-2000:]
    finally:
        server.stop()
    helpers.remove_private_dir(directory)


def test_tiny_vsz_limit_restarts_the_mail_service(aerie_bin, ca_dir, vmail):
    """vsz_limit is enforced as resident memory: a mail service over it is restarted and it is logged."""
    directory = helpers.private_dir("procmodel-vsz")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users(["alice"]),
                                      extra="service imap {\n  vsz_limit = 1M\n}\n", start=False)
    server.start(wait=False)
    try:
        helpers.wait_for(lambda: "service(mail): vsz_limit 1 MiB, as resident memory" in server.log(), timeout=30,
                         what="the limit at start")
        helpers.wait_for(lambda: "over its vsz_limit of 1 MiB: restarting it" in server.log(), timeout=30,
                         what="the memory limit's restart")
        helpers.wait_for(lambda: re.search(r"service\(mail\): child \d+ (exited with status \d+|killed with signal "
                                           r"\d+) \(restarting in 0 s\)", server.log()) is not None,
                         timeout=30, what="the restart")
        first = server.mail_pid
        assert wait_new_child(server, "mail-service", first) != first
    finally:
        server.kill()
    helpers.remove_private_dir(directory)


def test_a_vsz_limit_restart_loses_nothing_acknowledged(aerie_bin, ca_dir, vmail):
    """Item 3: a mail service over its vsz_limit is stopped as SIGTERM stops it (its sessions get BYE) and started
    again; what it acknowledged before (LMTP, APPEND) and while it kept being restarted (LMTP, retried by the
    sender) is there exactly once, and its users log in again. The limit comes and goes by SIGHUP."""
    from test_crash import Outcome, try_deliver

    directory = helpers.private_dir("procmodel-vsz-kept")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users(["alice"]))
    plain = server.config.read_text()
    try:
        acked = helpers.lmtp_deliver(server.lmtp_socket, [f"alice@{MAIL_DOMAIN}"], helpers.make_message("v-lmtp@t"))
        assert acked[f"alice@{MAIL_DOMAIN}"][0] == 250, acked
        c = helpers.imap_login(server, "alice")
        assert c.append("INBOX", None, None, helpers.make_message("v-append@t"))[0] == "OK"
        c.logout()
        first = server.mail_pid
        with RawIMAP(server.imaps_port, tls=True) as kept:
            kept.login(server.users["alice"])
            server.config.write_text(plain + "service imap {\n  vsz_limit = 1M\n}\n")
            os.kill(server.pid, signal.SIGHUP)
            helpers.wait_for(lambda: f"service(mail): child {first} uses" in server.log(), timeout=30,
                             what="the restart over vsz_limit")
            assert "* BYE Server shutting down." in kept.read_until_closed(timeout=30)
        # While the limit holds, each new mail service is restarted within a second: deliveries retried meanwhile.
        out = Outcome()
        ids = [f"v-during-{i}@t" for i in range(5)]
        for msgid in ids:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if try_deliver(server, msgid, helpers.make_message(msgid, to=f"alice@{MAIL_DOMAIN}"), out):
                    out.acked.add(msgid)
                    break
                time.sleep(0.05)
        server.config.write_text(plain)
        os.kill(server.pid, signal.SIGHUP)
        helpers.wait_for(lambda: imap_works(server, "alice"), timeout=30, what="logins once the limit is gone")
        _, msgs = helpers.imap_messages(server, "alice")
        found = [m.decode() for _, data in msgs for m in re.findall(rb"Message-ID: <([^>]+)>", data)]
        assert found.count("v-lmtp@t") == 1 and found.count("v-append@t") == 1, found
        for msgid in out.acked:
            assert 1 <= found.count(msgid) <= 1 + out.ambiguous.get(msgid, 0), (msgid, found)
        assert server.proc.poll() is None
    finally:
        server.kill()
    helpers.remove_private_dir(directory)


def test_client_limit_times_process_limit_caps_sessions(aerie_bin, ca_dir, vmail):
    """`service pop3|lmtp { client_limit process_limit }`: at most their product of sessions in the mail service,
    as Dovecot's capacity for the service; a session over it is refused and logged, and one ending frees a place."""
    import poplib

    directory = helpers.private_dir("procmodel-limits")
    extra = ("service pop3 {\n  client_limit = 1\n  process_limit = 1\n}\n"
             "service lmtp {\n  client_limit = 1\n  process_limit = 1\n}\n")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir,
                                      helpers.make_mail_users(["alice", "bob"]), extra=extra)

    def pop3(user: str) -> poplib.POP3_SSL:
        p = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=helpers.client_context(server.tls.ca),
                            timeout=helpers.READ_TIMEOUT)
        p.user(user)
        p.pass_(helpers.MAIL_PASSWORD)
        return p

    try:
        first = pop3("alice")
        with pytest.raises((poplib.error_proto, OSError)) as refused:
            pop3("bob").stat()
        assert "Maximum number of sessions" in str(refused.value), refused.value
        first.quit()
        helpers.wait_for(lambda: _pop3_works(pop3, "bob"), timeout=10, what="a POP3 login after the first ended")
        with helpers.LMTPClient(server.lmtp_socket) as held:
            held.lhlo()
            with helpers.LMTPClient(server.lmtp_socket, greeting=False) as second:
                code, text = second.reply()
                assert code == 421, (code, text)
        assert "service(pop3): client_limit × process_limit (1) reached: refusing a session" in server.log()
    finally:
        rc = server.stop()
    assert rc == 0
    helpers.remove_private_dir(directory)


def _pop3_works(connect, user: str) -> bool:
    try:
        p = connect(user)
        p.quit()
        return True
    except Exception:
        return False
