#!/usr/bin/env python3
"""Issue 14's fair-sharing figures: another user's work while one user (or one crowd) abuses the server.

    python3 bench/fair-sharing.py [--rounds 30]     (as root; AERIE_BIN picks the binary, default .build/release/aerie)

One Aerie with alice's ~50 MB INBOX (500 messages of 100 KB). For each scenario it times rounds of "bob logs in over
IMAPS, SELECTs, FETCHes 10 headers, logs out; carol logs in over POP3S and STATs" (the slower of the two per round),
and reads the server's RSS (serving process plus auth process) before, at the peak and after:

  quiet           nothing else runs
  search x8       8 connections of alice loop `SEARCH TEXT` over her whole INBOX
  slow readers x8 8 connections of alice ask for `FETCH 1:* BODY.PEEK[]` and never read
  idle x2000      2,000 connections to the STARTTLS port that never send a byte, from 127.0.0.10-.29

The issue's bound: median under 200 ms and 99th percentile under 1 s in every scenario."""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import helpers  # noqa: E402
import test_fair_sharing as scenario  # noqa: E402


class Request:
    """What pytest's `request` gives private_mail_server."""

    class session:
        testsfailed = 0


def server_rss_kib(server) -> int:
    pids = [server.pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and is_child_of(int(p), server.pid)]
    return sum(scenario.rss_kib(pid) for pid in pids if Path(f"/proc/{pid}").exists())


def is_child_of(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == ancestor:
            return True
    return False


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(name: str, server, rounds: int, start, stop) -> None:
    before = server_rss_kib(server)
    state = start()
    try:
        time.sleep(1)
        took, peak = [], before
        for _ in range(rounds):
            took.append(scenario.other_users_round(server))
            peak = max(peak, server_rss_kib(server))
            time.sleep(0.2)
    finally:
        stop(state)
    time.sleep(2)
    after = server_rss_kib(server)
    print(f"{name:16} median {statistics.median(took) * 1000:6.1f} ms  p99 {percentile(took, 99) * 1000:6.1f} ms  "
          f"max {max(took) * 1000:6.1f} ms  RSS MB before {before / 1024:6.1f} peak {peak / 1024:6.1f} "
          f"after {after / 1024:6.1f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    binary = os.environ.get("AERIE_BIN", str(REPO / ".build" / "release" / "aerie"))
    ca_dir = helpers.private_dir("fair-bench-ca")
    helpers.make_ca(ca_dir)
    fixture = scenario.srv.__wrapped__(binary, ca_dir, Request(), None)
    server = next(fixture)
    try:
        scenario.measure(server, rounds=3)  # warm

        def searches():
            stop = threading.Event()

            def loop():
                imap = helpers_imap(server, "alice")
                imap.select("INBOX", readonly=True)
                while not stop.is_set():
                    imap.search(None, "TEXT", '"not anywhere in the mailbox"')
                imap.logout()

            threads = [threading.Thread(target=loop, daemon=True) for _ in range(8)]
            for thread in threads:
                thread.start()
            return stop, threads

        def stop_searches(state):
            state[0].set()
            for thread in state[1]:
                thread.join(timeout=120)

        def idle_connections():
            import resource
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
            socks = []
            for n in range(2000):
                sock = socket.socket()
                sock.bind((f"127.0.0.{10 + n // 100}", 0))
                sock.connect(("127.0.0.1", server.imap_port))  # the STARTTLS port: idle after the greeting
                socks.append(sock)
            return socks

        run("quiet", server, args.rounds, lambda: None, lambda _: None)
        run("search x8", server, args.rounds, searches, stop_searches)
        run("slow readers x8", server, args.rounds, lambda: [scenario.stalled_fetch(server) for _ in range(8)],
            lambda socks: [s.close() for s in socks])
        run("idle x2000", server, args.rounds, idle_connections, lambda socks: [s.close() for s in socks])
    finally:
        next(fixture, None)
    return 0


def helpers_imap(server, user: str):
    import imaplib

    imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                             timeout=120)
    imap.login(user, helpers.MAIL_PASSWORD)
    return imap


if __name__ == "__main__":
    sys.exit(main())
