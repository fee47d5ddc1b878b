"""`aerie serve --data DIR` with no configuration: the embedded default (fixed ports 1143/1993, so this module
starts one server at a time and nothing else in the suite uses those ports)."""

from __future__ import annotations

import os
import queue
import re
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP

IMAP, IMAPS = 1143, 1993


@pytest.fixture(scope="module")
def embedded(aerie_bin, vmail, tmp_path_factory):
    if os.path.exists("/etc/aerie/aerie.conf"):
        pytest.skip("/etc/aerie/aerie.conf exists: `aerie serve` would use it instead of the embedded default")
    # Fixed ports: run server and clients in a private network namespace where possible, so that nothing on the
    # host (a developer's own demo server, say) can hold 1143/1993; else use the host's loopback.
    netns = helpers.PrivateNetwork()
    if not netns.enter():
        print("note: no private network namespace; using the host's 127.0.0.1:1143/1993")
    try:
        yield from _run_embedded(aerie_bin, tmp_path_factory)
    finally:
        netns.leave()


def _run_embedded(aerie_bin, tmp_path_factory):
    for port in (IMAP, IMAPS):
        if not helpers.port_is_free(port):
            pytest.fail(f"port {port} is busy; the embedded-default test needs 1143 and 1993")
    base = tmp_path_factory.mktemp("embedded")
    helpers.make_readable_by_all(base)
    data = base / "aerie-data"
    proc = subprocess.Popen([aerie_bin, "serve", "--data", str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=base)
    lines: "queue.Queue[str]" = queue.Queue()
    captured: list[str] = []

    def pump(stream, name):
        for raw in iter(stream.readline, b""):
            text = raw.decode(errors="replace").rstrip("\n")
            captured.append(f"{name}: {text}")
            lines.put(text)

    threads = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    password = None
    deadline = time.monotonic() + 60
    try:
        while password is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            m = re.search(r"password: (\S+)", line)
            if m:
                password = m.group(1)
        if password is None:
            pytest.fail("no `password: …` line on the console within 60 s (is stdout flushed when it is a pipe?):\n"
                        + "\n".join(captured))

        def ready():
            try:
                with RawIMAP(IMAPS, tls=True, timeout=3) as c:
                    return c.greeting.startswith("* OK")
            except OSError:
                return proc.poll() is not None and pytest.fail("aerie serve exited:\n" + "\n".join(captured))

        helpers.wait_for(ready, timeout=30, what="embedded IMAPS listener")
        yield proc, data, password, captured
    finally:
        helpers.stop_embedded(proc, lambda: "\n".join(captured))


def test_demo_login_over_imaps(embedded):
    _, _, password, _ = embedded
    with RawIMAP(IMAPS, tls=True) as c:
        _, done = c.run("a", f'LOGIN demo "{password}"', timeout=15)
        assert done.startswith("a OK"), done
        _, done = c.run("b", "NOOP")
        assert done.startswith("b OK")
        _, done = c.run("c", "LOGOUT")
        assert done.startswith("c OK")


def test_demo_starttls_port(embedded):
    _, _, password, _ = embedded
    with RawIMAP(IMAP) as c:
        assert "LOGINDISABLED" in c.greeting.upper() or "STARTTLS" in c.greeting.upper(), c.greeting
        _, done = c.run("a", f'LOGIN demo "{password}"')
        assert done.startswith("a NO [PRIVACYREQUIRED]"), done
        c.starttls()
        _, done = c.run("b", f'LOGIN demo "{password}"', timeout=15)
        assert done.startswith("b OK"), done


def test_embedded_files(aerie_bin, embedded):
    _, data, password, _ = embedded
    key = data / "tls" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    users = (data / "users").read_text()
    assert users.startswith("demo:{ARGON2ID}$argon2id$"), users
    assert password not in users
    assert stat.S_IMODE((data / "users").stat().st_mode) == 0o600
    r = helpers.run([aerie_bin, "conf", "check", "-c", str(data / "aerie.conf")])
    assert r.returncode == 0, r.stdout + r.stderr


def test_embedded_not_root(embedded, vmail):
    proc, _, _, _ = embedded
    mail = helpers.mail_service_pid(proc.pid)
    status = Path(f"/proc/{mail}/status").read_text()
    uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
    problems = helpers.privilege_problems(mail, vmail[0])
    assert "0" not in uid, f"embedded server runs with uid {uid}; per thread: {problems}"
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), problems
    assert not problems, problems


def test_password_printed_once(embedded):
    """The password appears on the console exactly once (and nowhere in the config or users file)."""
    _, data, password, captured = embedded
    assert sum(password in l for l in captured) == 1, captured
    for f in data.rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f"password stored in clear in {f}"
