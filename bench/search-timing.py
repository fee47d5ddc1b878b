#!/usr/bin/env python3
"""Times `UID SEARCH UNSEEN` (flags only: no message file is read) over an INBOX of N messages, through imaplib over
TLS, against a fresh Aerie started by the test harness (users test1..test20):

    python3 bench/search-timing.py BINARY [N]        (as root; N defaults to 20000)

Run it with two binaries to compare them; the INBOX comes from bench/make-maildir.py (empty files named with S=/W=)."""
import os
import ssl
import subprocess
import sys
import time
import imaplib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import helpers  # noqa: E402
import imaptest_harness  # noqa: E402

binary = str(Path(sys.argv[1]).resolve())
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
directory, server = imaptest_harness.start_server(binary, name="search-timing")
try:
    maildir = server.maildir("test1")
    subprocess.run([sys.executable, str(REPO / "bench" / "make-maildir.py"), str(maildir), str(count)], check=True)
    uid, gid = helpers.vmail_ids()
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(maildir.parent)], check=True)
    client = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ssl._create_unverified_context())
    client.login("test1", helpers.MAIL_PASSWORD)
    client.select("INBOX")
    for _ in range(3):
        start = time.monotonic()
        _, data = client.uid("SEARCH", "UNSEEN")
        print(f"UID SEARCH UNSEEN over {count} messages: {len(data[0].split())} hits in "
              f"{(time.monotonic() - start) * 1000:.1f} ms")
    client.logout()
finally:
    server.stop_if_running()
    helpers.remove_private_dir(directory)
