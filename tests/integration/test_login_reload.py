"""Issue 11 (reload with the login process): the login worker is chrooted to an empty directory and cannot read the
configuration, so SIGHUP to the master starts a new login worker with the new configuration (same listening
sockets) and the old one retires, as Dovecot's reload does: it accepts nothing more, serves the connections it has
(pre-login ones, relayed TLS sessions) and exits when the last one ends. A configuration that does not load keeps
the running worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP
from test_external import greeting, pki  # noqa: F401 (pki: the client-certificate fixture)
from test_login_process import assert_confined

pytestmark = pytest.mark.timeout(300)

EXTRA = "login_process = yes\nssl = yes\nauth_allow_cleartext = yes"


@pytest.fixture
def srv(aerie_bin, ca_dir, request, vmail, pki):  # noqa: F811
    ca_file = pki["ca"].directory.parent / f"reload-ca-{request.node.name[:40]}.pem"
    # The client CA without its CRL: with ssl_server_require_crl (default yes) no client certificate verifies.
    ca_file.write_text(pki["ca"].cert.read_text())
    helpers.make_readable_by_all(ca_file)
    extra = EXTRA + f"\nssl_server_request_client_cert = yes\nssl_server_ca_file = {ca_file}"
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "loginreload",
                                     users=helpers.make_mail_users(["alice", "bob"]), extra=extra) as server:
        server.client_ca_file = ca_file
        yield server


def workers(server) -> list[int]:
    return helpers.child_pids(server.pid, "login-worker")


def keepers(server) -> list[int]:
    """The key workers: the mail service's and one per login worker generation still alive."""
    return (helpers.child_pids(server.pid, "tls-keeper-worker")
            + helpers.child_pids(server.pid, "tls-keeper-worker", serves="login"))


def started(server) -> int:
    return server.log().count("Login process started")


def confined_worker(server, starts: int) -> int:
    """The login worker started as the `starts`-th one, once it serves."""
    helpers.wait_for(lambda: started(server) >= starts, timeout=60, what=f"login worker start #{starts}")
    pid = int(server.log().split("Login process started (pid ")[starts].split(",")[0])
    assert pid in workers(server)
    return pid


def edit_config(server, old: str, new: str) -> None:
    text = server.config.read_text()
    assert old in text, old
    server.config.write_text(text.replace(old, new))


def read_greeting(port: int) -> str:
    with RawIMAP(port, greeting=False) as c:
        return c.readline()


def capabilities(port: int) -> set[str]:
    with RawIMAP(port) as c:
        lines, done = c.run("c", "CAPABILITY")
        assert done.startswith("c OK"), done
        return helpers.capabilities_from(next(line for line in lines if line.startswith("* CAPABILITY")))


def test_sighup_starts_a_new_login_worker_and_the_old_one_retires(srv):
    alice, bob = srv.users["alice"], srv.users["bob"]
    old = confined_worker(srv, 1)
    first_keepers = keepers(srv)
    assert len(first_keepers) == 2, first_keepers
    assert "Aerie ready." in read_greeting(srv.imap_port)
    assert "AUTH=LOGIN" in capabilities(srv.imap_port)
    relayed = RawIMAP(srv.imaps_port, tls=True)
    prelogin = RawIMAP(srv.imap_port)
    try:
        assert relayed.run("a", f'LOGIN "{alice.name}" "{alice.password}"')[1].startswith("a OK")
        assert relayed.run("b", "SELECT INBOX")[1].startswith("b OK")
        edit_config(srv, "auth_mechanisms = plain login", "auth_mechanisms = plain")
        with srv.config.open("a") as f:
            f.write('\nlogin_greeting = "Reloaded mail"\n')
        os.kill(srv.pid, signal.SIGHUP)
        new = confined_worker(srv, 2)
        assert new != old
        # New connections reach the new worker only, with the new configuration.
        for _ in range(5):
            assert "Reloaded mail" in read_greeting(srv.imap_port)
        with RawIMAP(srv.imaps_port, tls=True) as c:
            assert "Reloaded mail" in c.greeting
        caps = capabilities(srv.imap_port)
        assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" not in caps, caps
        # The old worker still serves what it had: the relayed TLS session, and the pre-login connection, which
        # logs in through its own auth connection and key worker (STARTTLS) after the reload.
        assert relayed.run("c", "NOOP")[1].startswith("c OK")
        assert relayed.run("d", "STATUS INBOX (MESSAGES)")[1].startswith("d OK")
        prelogin.starttls()
        assert prelogin.run("e", f'LOGIN "{bob.name}" "{bob.password}"')[1].startswith("e OK")
        assert prelogin.run("f", "SELECT INBOX")[1].startswith("f OK")
        assert old in workers(srv)
        assert len(keepers(srv)) == 3, "the old worker keeps its own key worker"
        assert_confined(srv, new)
        assert prelogin.run("g", "LOGOUT")[1].startswith("g OK")
        prelogin.close()
        time.sleep(0.5)
        assert old in workers(srv), "the old worker left while it still relayed a session"
        assert relayed.run("h", "NOOP")[1].startswith("h OK")
        assert relayed.run("i", "LOGOUT")[1].startswith("i OK")
    finally:
        relayed.close()
        prelogin.close()
    # Its last connection gone, the old worker exits, and the master reaps it without starting another.
    helpers.wait_for(lambda: not Path(f"/proc/{old}").exists(), timeout=30, what="the retired worker's exit")
    assert f"service(login): retired child {old} exited with status 0" in srv.log()
    assert workers(srv) == [new]
    assert "restarting in" not in srv.log()
    assert "Login process retiring" in srv.log()
    # Its key worker reads the end of file once the worker is gone, and leaves too.
    helpers.wait_for(lambda: len(keepers(srv)) == 2, timeout=30, what="the retired key worker's exit")
    gone = (set(first_keepers) - set(keepers(srv))).pop()
    assert f"service(login-tls-keeper): retired child {gone} exited with status 0" in srv.log()
    # A crash of the new worker restarts it in the new generation (its auth and key worker sockets).
    os.kill(new, signal.SIGKILL)
    third = confined_worker(srv, 3)
    assert workers(srv) == [third]
    with RawIMAP(srv.imaps_port, tls=True) as c:
        assert "Reloaded mail" in c.greeting
        assert c.run("a", f'LOGIN "{alice.name}" "{alice.password}"')[1].startswith("a OK")
    with RawIMAP(srv.imap_port) as c:
        c.starttls()
        assert c.run("a", f'LOGIN "{bob.name}" "{bob.password}"')[1].startswith("a OK")


def test_a_bad_configuration_on_sighup_keeps_the_running_login_worker(srv):
    worker = confined_worker(srv, 1)
    good = srv.config.read_text()
    srv.config.write_text(good + "\nlogin_greeting_typo = nope\n")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: "Reload failed" in srv.log(), timeout=30, what="the failed reload in the log")
    assert workers(srv) == [worker] and started(srv) == 1
    assert "Aerie ready." in read_greeting(srv.imap_port)
    with RawIMAP(srv.imaps_port, tls=True) as c:
        assert c.login(srv.users["alice"]).startswith("l OK")
    srv.config.write_text(good)


def test_a_login_worker_that_cannot_start_keeps_the_running_one(srv):
    """A configuration the master loads but the new worker refuses (a certificate file that is not there): the
    running worker and its key worker go on; the new ones are gone."""
    worker = confined_worker(srv, 1)
    before = keepers(srv)
    good = srv.config.read_text()
    edit_config(srv, f"ssl_server_cert_file = {srv.tls.cert}", "ssl_server_cert_file = /nonexistent/cert.pem")
    os.kill(srv.pid, signal.SIGHUP)
    helpers.wait_for(lambda: "Reload of the login process failed, keeping the running one" in srv.log(), timeout=90,
                     what="the failed reload of the login process")
    assert workers(srv) == [worker] and keepers(srv) == before
    assert "Aerie ready." in read_greeting(srv.imap_port)
    with RawIMAP(srv.imaps_port, tls=True) as c:
        assert c.login(srv.users["alice"]).startswith("l OK")
    srv.config.write_text(good)


def test_a_new_client_ca_file_takes_effect_for_new_connections(srv, pki):  # noqa: F811
    """ssl_server_ca_file is read by the login worker before its chroot: a reload's new worker reads the new one."""
    certificate = pki["certs"]["alice"]
    confined_worker(srv, 1)
    assert greeting(srv, certificate) == b""  # no CRL for its issuer yet
    srv.client_ca_file.write_text(pki["bundle"].read_text())
    os.kill(srv.pid, signal.SIGHUP)
    confined_worker(srv, 2)
    assert greeting(srv, certificate).startswith(b"* OK")
    assert greeting(srv, pki["certs"]["revoked"]) == b""
    assert greeting(srv, None).startswith(b"* OK")


def adm(srv, *arguments: str):
    return helpers.run([srv.binary, "adm", *arguments, "-c", str(srv.config)], timeout=30)


def prelogin_ips(srv) -> set[str]:
    r = adm(srv, "who", "--all")
    assert r.returncode == 0, r.stderr
    return {row[2] for row in (line.split("\t") for line in r.stdout.splitlines()[1:]) if row[0] == "-"}


def test_who_and_kick_reach_both_generations_while_one_retires(srv):
    """Each generation has its own admin socket and the master asks every live one: while the old worker retires,
    `who --all` lists the pre-login connections of both, and `kick` reaches the old one's."""
    old = confined_worker(srv, 1)
    before = helpers.IMAPFrom("127.0.0.21", srv)  # pre-login, on the first generation
    after = None
    try:
        os.kill(srv.pid, signal.SIGHUP)
        new = confined_worker(srv, 2)
        after = helpers.IMAPFrom("127.0.0.22", srv)  # pre-login, on the second
        assert old in workers(srv) and new in workers(srv)
        # Asked several times: with one socket for both, each answer came from one worker only.
        for _ in range(4):
            assert {"127.0.0.21", "127.0.0.22"} <= prelogin_ips(srv)
        r = adm(srv, "kick", "--ip", "127.0.0.21")
        assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", r.stdout
        assert before.file.readline() == b"* BYE Disconnected by the administrator.\r\n"
        # Its last connection kicked, the old worker exits; the relay forgets its socket, the new one still answers.
        helpers.wait_for(lambda: not Path(f"/proc/{old}").exists(), timeout=30, what="the retired worker's exit")
        assert prelogin_ips(srv) >= {"127.0.0.22"} and "127.0.0.21" not in prelogin_ips(srv)
        r = adm(srv, "who", "--all")
        assert "did not answer" not in r.stdout and "cannot be asked" not in r.stdout, r.stdout
        r = adm(srv, "kick", "--all")
        assert r.returncode == 0 and r.stdout.strip() == "kicked 1 connection", r.stdout
        assert after.file.readline() == b"* BYE Disconnected by the administrator.\r\n"
    finally:
        for client in (before, after):
            if client is not None:
                client.sock.close()


def auth_worker(server) -> int | None:
    """The running auth-service, None while there is not exactly one (being restarted)."""
    supervisors = helpers.child_pids(server.pid, "auth-supervisor")
    workers = helpers.child_pids(supervisors[0], "auth-service") if len(supervisors) == 1 else []
    return workers[0] if len(workers) == 1 else None


def child_of_kind(server, kind: str) -> int | None:
    """The running child `aerie KIND` (the auth-service: the supervisor's), None while not exactly one runs."""
    if kind == "auth-service":
        return auth_worker(server)
    pids = helpers.child_pids(server.pid, kind)
    return pids[0] if len(pids) == 1 else None


@pytest.mark.parametrize("victim", ["auth-service", "auth-supervisor", "mail-service", "login-worker"])
def test_a_child_restarted_after_a_rejected_reload_runs_the_masters_configuration(srv, victim):
    """A reload the master rejects changes nothing: a child started later (a crash), while the file on disk is
    still bad, runs the configuration the master runs (its snapshot), not the file."""
    alice = srv.users["alice"]
    confined_worker(srv, 1)
    old = helpers.wait_for(lambda: child_of_kind(srv, victim), timeout=60, what=victim)
    auth = helpers.wait_for(lambda: auth_worker(srv), timeout=60, what="the auth process")
    good = srv.config.read_text()
    srv.config.write_text(good + "\nlogin_greeting_typo = nope\n")
    try:
        os.kill(srv.pid, signal.SIGHUP)
        helpers.wait_for(lambda: "Reload failed" in srv.log(), timeout=30, what="the failed reload in the log")
        assert auth_worker(srv) == auth, "a rejected reload replaced the auth process"
        assert child_of_kind(srv, victim) == old
        os.kill(old, signal.SIGKILL)
        new = helpers.wait_for(lambda: child_of_kind(srv, victim) not in (None, old) and child_of_kind(srv, victim),
                               timeout=60, what=f"a new {victim}")
        for _ in range(3):
            with RawIMAP(srv.imaps_port, tls=True) as c:
                assert c.login(alice).startswith("l OK")
        assert child_of_kind(srv, victim) == new, f"the new {victim} did not stay up"
        # Only the master's rejection names the bad line: no process read the file since.
        log = srv.log()
        assert [line for line in log.splitlines()
                if "login_greeting_typo" in line and "Reload failed" not in line] == []
        assert "Reload failed, keeping the running configuration" in log
    finally:
        srv.config.write_text(good)
