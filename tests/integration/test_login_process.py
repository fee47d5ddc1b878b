"""Issue 11 (login process and hand-off): with `login_process = yes`, TLS and pre-login IMAP/POP3 run in
`aerie login-worker` as default_login_user (dovenull), chrooted to an empty root-owned directory, without
capabilities, under no_new_privs; it holds neither the TLS key nor a password database nor a mailbox. After a
login it hands the connection (relayed over a socketpair) and the login state to the mail service (serve)."""

from __future__ import annotations

import imaplib
import os
import poplib
import pwd
import re
import signal
import time
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP
from test_auth_process import open_as

pytestmark = pytest.mark.timeout(300)


# Plaintext logins too (the socket itself is handed over then, not relayed).
EXTRA = "login_process = yes\nssl = yes\nauth_allow_cleartext = yes"


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "loginproc",
                                     users=helpers.make_mail_users(["alice", "bob"]),
                                     extra=EXTRA) as server:
        yield server


def login_worker(server, timeout: float = 20) -> int:
    """The current `aerie login-worker` (a child of the master, `aerie serve`), once it serves (confined)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = helpers.child_pids(server.pid, "login-worker")
        assert len(workers) <= 1, workers
        if workers and status(workers[0])["Uid"][0] != "0" and "Login process started" in server.log():
            return workers[0]
        assert time.monotonic() < deadline, "no confined login-worker"
        time.sleep(0.1)


def status(pid: int) -> dict[str, list[str]]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: re.search(rf"^{key}:\s*(.*)$", text, re.M).group(1).split()
            for key in ("Uid", "Gid", "Groups", "NoNewPrivs", "CapEff", "CapPrm", "Seccomp")}


def imaps(server, user) -> imaplib.IMAP4_SSL:
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                          timeout=15)
    c.login(user.name, user.password)
    return c


def test_login_worker_is_confined(srv):
    assert_confined(srv, login_worker(srv))


def assert_confined(srv, pid: int) -> None:
    """dovenull without capabilities, no_new_privs, seccomp on every thread, chrooted to the empty directory."""
    ids = status(pid)
    dovenull = pwd.getpwnam("dovenull")
    assert ids["Uid"] == [str(dovenull.pw_uid)] * 4
    assert ids["Gid"] == [str(dovenull.pw_gid)] * 4
    assert ids["CapEff"] == ["0000000000000000"] and ids["CapPrm"] == ["0000000000000000"]
    assert ids["NoNewPrivs"] == ["1"]
    # A seccomp filter (mode 2) on every thread, the NIO threads made before it too (TSYNC).
    assert ids["Seccomp"] == ["2"]
    for tid in os.listdir(f"/proc/{pid}/task"):
        assert re.search(r"^Seccomp:\s*2$", Path(f"/proc/{pid}/task/{tid}/status").read_text(), re.M), tid
    root = os.readlink(f"/proc/{pid}/root")
    assert root == str(srv.directory / "run" / "empty")
    st = os.stat(root)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o755) and os.listdir(root) == []
    # As its uid and groups it can read neither the users file nor the TLS key.
    for secret in (srv.directory / "users", srv.tls.key):
        assert open_as(pid, secret).returncode != 0, secret


def test_imaps_and_pop3s_login_through_the_login_process(srv):
    alice = srv.users["alice"]
    c = imaps(srv, alice)
    typ, data = c.select("INBOX")
    assert typ == "OK", data
    # The worker holds no descriptor to any mailbox, even while a session it relays is open.
    pid = login_worker(srv)
    targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
               if os.path.exists(f"/proc/{pid}/fd/{fd}")]
    held = [t for t in targets if t.startswith(str(srv.directory / "home")) or "Maildir" in t
            or t in (str(srv.directory / "users"), str(srv.tls.key))]
    assert not held, targets
    assert any(t.startswith("socket:") for t in targets), targets
    c.logout()
    p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, context=helpers.client_context(srv.tls.ca), timeout=15)
    p.user(alice.name)
    assert p.pass_(alice.password).startswith(b"+OK Logged in.")
    p.stat()
    p.quit()
    log = srv.log()
    # fail2ban's lines stay as they were, written by the login process.
    mpid = f"mpid={srv.mail_pid}, TLS"  # the mail service, as Dovecot's mpid names the imap process
    assert f"imap-login: Info: Login: user=<{alice.name}>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, {mpid}" in log
    assert f"pop3-login: Info: Login: user=<{alice.name}>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, {mpid}" in log


def test_commands_pipelined_behind_login_arrive(srv):
    bob = srv.users["bob"]
    with RawIMAP(srv.imaps_port, tls=True) as c:
        c.send(f'a LOGIN "{bob.name}" "{bob.password}"\r\nb SELECT INBOX\r\nc NOOP\r\nd LOGOUT\r\n')
        _, done = c.read_tagged("a")
        assert done.startswith("a OK [CAPABILITY"), done
        _, done = c.read_tagged("b")
        assert done.startswith("b OK [READ-WRITE]"), done
        _, done = c.read_tagged("c")
        assert done.startswith("c OK"), done
        _, done = c.read_tagged("d")
        assert done.startswith("d OK"), done


def test_killing_the_login_worker_spares_serve_and_restarts(srv):
    """SIGKILL of the login worker: the TLS sessions it relays close, an APPEND acknowledged through it before the
    kill is kept, the master starts it again and logs it."""
    alice = srv.users["alice"]
    old = login_worker(srv)
    established = imaps(srv, alice)
    typ, _ = established.append("INBOX", None, None, helpers.make_message("before-login-kill@test"))
    assert typ == "OK"
    os.kill(old, signal.SIGKILL)
    # TLS sessions the worker relayed end with it (it holds their TLS state): the client sees the connection close.
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        for _ in range(50):
            established.noop()
            time.sleep(0.1)
    deadline = time.monotonic() + 20
    while True:
        try:
            c = imaps(srv, alice)
            break
        except (OSError, imaplib.IMAP4.error):
            assert time.monotonic() < deadline, "no login after the worker restarted"
            time.sleep(0.2)
    assert c.select("INBOX")[0] == "OK"
    typ, data = c.search(None, "HEADER", "Message-ID", "before-login-kill@test")
    assert typ == "OK" and len(data[0].split()) == 1, data
    c.logout()
    assert login_worker(srv) != old
    assert srv.proc.poll() is None
    assert f"service(login): child {old} killed with signal 9 (restarting in" in srv.log()


def test_killing_the_login_key_worker_keeps_sessions_and_restarts(srv):
    """SIGKILL of the login worker's own key worker (root, holds the key): a TLS session already relayed goes on,
    the master starts a new key worker, and new TLS logins work with it."""
    alice = srv.users["alice"]
    keepers = helpers.child_pids(srv.pid, "tls-keeper-worker", serves="login")
    assert len(keepers) == 1, keepers
    worker = login_worker(srv)
    with RawIMAP(srv.imaps_port, tls=True) as kept:
        assert kept.run("a", f'LOGIN "{alice.name}" "{alice.password}"')[1].startswith("a OK")
        os.kill(keepers[0], signal.SIGKILL)
        helpers.wait_for(lambda: helpers.child_pids(srv.pid, "tls-keeper-worker", serves="login") not in
                         ([], keepers), timeout=20, what="a new login key worker")

        def tls_login_works() -> bool:
            try:
                imaps(srv, alice).logout()
                return True
            except (OSError, imaplib.IMAP4.error):
                return False

        helpers.wait_for(tls_login_works, timeout=20, what="a TLS login after the key worker's restart")
        assert kept.run("b", "NOOP")[1].startswith("b OK")
    assert login_worker(srv) == worker
    assert f"service(login-tls-keeper): child {keepers[0]} killed with signal 9 (restarting in" in srv.log()


def test_plaintext_session_owns_its_socket_and_outlives_the_login_worker(srv):
    """Without TLS the connection itself goes to the mail service: killing the login worker leaves it alone."""
    alice = srv.users["alice"]
    with RawIMAP(srv.imap_port) as c:
        c.send(f'a LOGIN "{alice.name}" "{alice.password}"\r\nb SELECT INBOX\r\n')
        assert c.read_tagged("a")[1].startswith("a OK [CAPABILITY"), "login"
        assert c.read_tagged("b")[1].startswith("b OK [READ-WRITE]"), "select"
        old = login_worker(srv)
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while helpers.child_pids(srv.pid, "login-worker") == [old]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _, done = c.run("c", "NOOP")
        assert done.startswith("c OK"), done
        _, done = c.run("d", "STATUS INBOX (MESSAGES)")
        assert done.startswith("d OK"), done
        _, done = c.run("e", "LOGOUT")
        assert done.startswith("e OK"), done
    assert login_worker(srv) != old


def test_many_logins_keep_the_same_login_worker(srv):
    """The chroot has no /proc: work must not go to libdispatch's global pool, whose monitor then traps (the worker
    died with SIGILL after a few dozen TLS logins before its tasks ran on the event loops; bench/login-relay.py, 200
    logins, showed it every time; this shorter run does not always)."""
    from concurrent.futures import ThreadPoolExecutor
    worker = login_worker(srv)
    deaths = srv.log().count("service(login): child")
    bob = srv.users["bob"]

    def one(_):
        c = imaps(srv, bob)
        ok = c.noop()[0] == "OK"
        c.logout()
        return ok

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(120)))
    assert helpers.child_pids(srv.pid, "login-worker") == [worker]
    assert srv.log().count("service(login): child") == deaths


def test_compress_idle_who_and_kick_after_starttls_through_the_login_process(srv):
    """What the mail service does after the hand-off keeps working: COMPRESS=DEFLATE and IDLE on a STARTTLS session
    (relayed), `aerie adm who` lists it and `aerie adm kick` ends it."""
    from test_compress import DeflateSocket
    alice = srv.users["alice"]
    with RawIMAP(srv.imap_port) as imap:
        imap.starttls()
        assert imap.run("l", f'LOGIN "{alice.name}" "{alice.password}"')[1].startswith("l OK")
        assert imap.run("z", "COMPRESS DEFLATE")[1].startswith("z OK")
        imap.sock, imap.buf = DeflateSocket(imap.sock, imap.buf), b""
        assert imap.run("b", "SELECT INBOX")[1].startswith("b OK")
        imap.cmd("c IDLE")
        assert imap.readline().startswith("+"), "no IDLE continuation"
        other = imaps(srv, srv.users["bob"])
        other.logout()
        who = helpers.run([srv.binary, "adm", "who", "-c", str(srv.config)], timeout=30)
        assert who.returncode == 0, who.stderr
        assert any(line.split("\t")[:3] == [alice.name, "imap", "127.0.0.1"] for line in who.stdout.splitlines()), \
            who.stdout
        message = helpers.make_message("idle@login", subject="idle")
        c = imaps(srv, alice)
        assert c.append("INBOX", None, None, message)[0] == "OK"
        c.logout()
        line = imap.readline(timeout=10)
        assert re.match(r"^\* \d+ EXISTS$", line), line
        imap.send("DONE\r\n")
        assert imap.read_tagged("c")[1].startswith("c OK")
        kick = helpers.run([srv.binary, "adm", "kick", alice.name, "-c", str(srv.config)], timeout=30)
        assert kick.returncode == 0, kick.stderr
        lines = imap.read_until_closed(timeout=10)
        assert any("BYE" in l for l in lines), lines


def test_a_missing_default_login_user_is_refused_by_conf_check_and_serve(aerie_bin, tmp_path):
    """Nothing is created: `conf check` and `serve` both refuse a default_login_user that does not exist."""
    directory = tmp_path / "nologin"
    server = helpers.make_mail_server(aerie_bin, directory, tmp_path / "ca", helpers.make_mail_users(["alice"]),
                                      extra=EXTRA + "\ndefault_login_user = aerie-no-such-user", start=False)
    check = helpers.run([aerie_bin, "conf", "check", "-c", str(server.config)], timeout=60)
    assert check.returncode != 0
    assert "default_login_user: system user aerie-no-such-user does not exist" in check.stdout + check.stderr
    serve = helpers.run([aerie_bin, "serve", "-c", str(server.config)], timeout=60)
    assert serve.returncode != 0
    assert "default_login_user: system user aerie-no-such-user does not exist" in serve.stdout + serve.stderr


def test_sighup_gives_new_connections_the_new_certificate_and_keeps_relayed_sessions(srv, ca_dir):
    """SIGHUP to the master starts a new login worker and key worker, which read the new certificate and key; new
    connections get them, and a session the old worker relays goes on until it ends; then the old worker exits
    (test_login_reload.py: the rest of the configuration)."""
    alice = srv.users["alice"]
    worker = login_worker(srv)
    with RawIMAP(srv.imaps_port, tls=True) as kept:
        assert kept.run("a", f'LOGIN "{alice.name}" "{alice.password}"')[1].startswith("a OK")
        helpers.make_tls(srv.tls.directory, kind="ecdsa", ca_dir=ca_dir, cn="localhost-reloaded")
        new = helpers.file_leaf_fingerprint(srv.tls.cert)
        assert helpers.server_fingerprint(srv.imaps_port) != new
        os.kill(srv.pid, signal.SIGHUP)
        helpers.wait_for(lambda: helpers.server_fingerprint(srv.imaps_port) == new, timeout=15,
                         what="the new certificate from the login worker")
        assert kept.run("b", "NOOP")[1].startswith("b OK")
        assert worker in helpers.child_pids(srv.pid, "login-worker")
    helpers.wait_for(lambda: worker not in helpers.child_pids(srv.pid, "login-worker"), timeout=30,
                     what="the retired login worker's exit")
    assert login_worker(srv) != worker


def test_incident_switch_holds_with_the_login_process(srv):
    """`aerie adm logins disable` is kept by the mail service: a login the login process did is not resumed while
    logins are off (IMAP NO [UNAVAILABLE] with the reason, POP3 -ERR [SYS/TEMP]); after enable it is."""
    alice = srv.users["alice"]
    adm = [srv.binary, "adm", "logins"]
    r = helpers.run(adm + ["disable", "--reason", "Restoring from backup", "-c", str(srv.config)], timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        c = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=helpers.client_context(srv.tls.ca),
                              timeout=15)
        with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE.*Restoring from backup"):
            c.login(alice.name, alice.password)
        p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, context=helpers.client_context(srv.tls.ca), timeout=15)
        p.user(alice.name)
        with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
            p.pass_(alice.password)
    finally:
        r = helpers.run(adm + ["enable", "-c", str(srv.config)], timeout=30)
        assert r.returncode == 0, r.stderr
    imaps(srv, alice).logout()
