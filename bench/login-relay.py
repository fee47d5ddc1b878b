#!/usr/bin/env python3
"""The cost of the login process (issue 11, `login_process = yes`) against serving TLS in the mail service: memory
per idle authenticated IMAPS connection (PSS of every process of the server, before and after) and `UID FETCH 1:*
BODY.PEEK[]` throughput over IMAPS (through the login process's plaintext relay), alternating the two set-ups.

    sudo python3 bench/login-relay.py AERIE_BIN [CONNECTIONS] [MESSAGES] [ROUNDS]"""
import imaplib
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import helpers  # noqa: E402

binary = sys.argv[1]
connections = int(sys.argv[2]) if len(sys.argv) > 2 else 200
messages = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3


def tree(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                kids = [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                kids = []
            pids += kids
            frontier += kids
    return pids


def pss_kb(root: int) -> int:
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def fill(server, user, count: int) -> None:
    """`count` messages of about 4.4 KB, written into the user's Maildir as the mail user."""
    cur = server.directory / "home" / user.name / "Maildir" / "cur"
    cur.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = helpers.make_message(f"m{n}@bench", size=4400)
        path = cur / f"{1600000000 + n}.M{n}P1.bench,S={len(body)}:2,S"
        path.write_bytes(body)
    uid, gid = helpers.vmail_ids()
    for dirpath, dirnames, filenames in os.walk(server.directory / "home" / user.name):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid)
        os.chown(dirpath, uid, gid)


def measure(login: bool, base: Path, ca: Path) -> dict:
    directory = base / ("login" if login else "direct")
    users = helpers.make_mail_users()
    server = helpers.make_mail_server(binary, directory, ca, users, extra="login_process = yes" if login else "")
    try:
        alice = users["alice"]
        fill(server, alice, messages)
        context = helpers.client_context(server.tls.ca)
        fetch = []
        # A raw TLS socket reads the whole FETCH response: imaplib's literal parsing would be the bottleneck.
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", server.imaps_port)),
                                   server_hostname="localhost")
        sock.settimeout(120)

        def run(tag: str, command: str) -> int:
            sock.sendall(f"{tag} {command}\r\n".encode())
            data, end = bytearray(b"\r\n"), f"\r\n{tag} OK".encode()
            while end not in data[-4096:]:
                chunk = sock.recv(1 << 16)
                assert chunk, "connection closed"
                data += chunk
            return len(data)

        sock.recv(4096)
        run("l", f'LOGIN "{alice.name}" "{alice.password}"')
        run("s", "EXAMINE INBOX")
        run("w", "UID FETCH 1:* BODY.PEEK[]")  # warm the cache and the index
        for n in range(rounds):
            started = time.monotonic()
            size = run(f"f{n}", "UID FETCH 1:* BODY.PEEK[]")
            fetch.append((time.monotonic() - started, size))
        run("o", "LOGOUT")
        sock.close()
        time.sleep(1)
        before = pss_kb(server.pid)
        idle = []
        names = [n for n in users if n.startswith("u")]
        for i in range(connections):
            user = users[names[i % len(names)]]
            s = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context, timeout=60)
            s.login(user.name, user.password)
            s.select("INBOX")
            idle.append(s)
        time.sleep(2)
        after = pss_kb(server.pid)
        for s in idle:
            s.logout()
        best = min(fetch)
        return {"setup": "login process (relay)" if login else "mail service (TLS in it)",
                "pss_per_idle_tls_kb": round((after - before) / connections, 1),
                "fetch_s": round(best[0], 3), "fetch_mb_s": round(best[1] / best[0] / 1e6, 1),
                "fetch_all_s": [round(e, 3) for e, _ in fetch]}
    finally:
        server.stop_if_running()


base = Path(tempfile.mkdtemp(prefix="aerie-login-bench-"))
os.chmod(base, 0o755)
ca = base / "ca"
results = []
order = [True] if os.environ.get("ONLY_LOGIN") else [False, True, False, True]
for login in order:
    try:
        results.append(measure(login, base / str(len(results)), ca))
    except Exception as error:  # keep the logs
        print(f"FAILED ({'login' if login else 'direct'}): {error!r}; logs in {base}", flush=True)
        sys.exit(1)
    print(results[-1], flush=True)
shutil.rmtree(base, ignore_errors=True)
