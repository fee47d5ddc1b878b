"""Backpressure on output: a client that pipelines commands but does not read their answers must not make the
server buffer them without bound (issue 11: the connection stops reading while its channel is not writable)."""

from __future__ import annotations

import time
from pathlib import Path

import helpers

MESSAGE_SIZE = 60_000  # each answer stays under the 64 KiB chunk the mail pool waits on
COMMANDS = 900  # under the 1000 pipelined commands allowed after login: ~54 MB of answers


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_a_client_that_does_not_read_does_not_grow_the_server(server):
    c = server.account("sha512").raw()
    try:
        body = b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * ((MESSAGE_SIZE - 16) // 80)
        c.send(b"a APPEND INBOX {%d}\r\n" % len(body))
        assert c.readline().startswith("+"), "no continuation"
        c.send(body + b"\r\n")
        _, done = c.read_tagged("a")
        assert done.startswith("a OK"), done
        _, done = c.run("s", "SELECT INBOX")
        assert done.startswith("s OK"), done
        # Warm: the message is read once and the pool threads exist before the baseline.
        _, done = c.run("w", "UID FETCH 1:* BODY.PEEK[]")
        assert done.startswith("w OK"), done
        pids = {server.mail_pid, server.login_pid}
        baseline = {pid: rss_kib(pid) for pid in pids}

        c.send(b"".join(b"f%d UID FETCH 1:* BODY.PEEK[]\r\n" % i for i in range(COMMANDS)))
        # Without backpressure the answers pile up in the server as fast as it can make them; with it the growth
        # stops once the socket buffers are full. Wait until the size has been still for 3 s (or has grown too much).
        limit_kib = 24 * 1024
        still_since, last = time.monotonic(), dict(baseline)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = {pid: rss_kib(pid) for pid in pids}
            growth = {pid: now[pid] - baseline[pid] for pid in pids}
            assert max(growth.values()) < limit_kib, f"RSS grew by {growth} KiB while the client did not read"
            if any(abs(now[pid] - last[pid]) > 1024 for pid in pids):
                still_since, last = time.monotonic(), now
            elif time.monotonic() - still_since >= 3:
                break

        # Reading again, every answer comes, complete and in order.
        for i in range(COMMANDS):
            _, done = c.read_tagged(f"f{i}", timeout=60)
            assert done.startswith(f"f{i} OK"), done
        _, done = c.run("z", "NOOP")
        assert done.startswith("z OK"), done
    finally:
        c.close()
