"""Runs Dovecot's imaptest (built by ../shared/peers/imaptest/build) against an Aerie server: the scripted compliance
groups and the stateful load test. Used by test_imaptest.py and by hand:

    python3 tests/integration/imaptest_harness.py compliance [GROUP ...]   # every group when none is named
    python3 tests/integration/imaptest_harness.py load [SECS] [CLIENTS] [USERS] [lmtp]

AERIE_BIN picks the binary (default .build/release/aerie); IMAPTEST the imaptest binary (default
/opt/imaptest/bin/imaptest, built on demand when ../shared is there)."""

from __future__ import annotations

import os
import re
import smtplib
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import REPO, MAIL_PASSWORD, make_ca, make_mail_server, make_mail_users, private_dir  # noqa: E402

IMAPTEST_PREFIX = Path(os.environ.get("IMAPTEST_PREFIX", "/opt/imaptest"))
BUILD_SCRIPT = REPO.parent / "shared" / "peers" / "imaptest" / "build"
SOURCE_TARBALL = BUILD_SCRIPT.parent / "imaptest-0de0dbf.tar.gz"
LOAD_USERS = 20

# Groups Debian's Dovecot 2.3.19 skips too (they need URLAUTH or a partial SORT extension).
SKIPPED_BY_DOVECOT = {"sort-partial", "urlauth", "urlauth-binary", "urlauth2"}


def imaptest_binary() -> Path | None:
    """The imaptest binary, built once when the team's shared peers are there; None when it cannot be had."""
    explicit = os.environ.get("IMAPTEST")
    if explicit:
        return Path(explicit)
    binary = IMAPTEST_PREFIX / "bin" / "imaptest"
    if binary.exists():
        return binary
    if not BUILD_SCRIPT.exists():
        return None
    subprocess.run(["bash", str(BUILD_SCRIPT), str(IMAPTEST_PREFIX)], check=True, stdout=subprocess.DEVNULL)
    return binary if binary.exists() else None


def tests_dir() -> Path:
    return IMAPTEST_PREFIX / "tests"


def compliance_groups() -> list[str]:
    """Every scripted group: the files in tests/ that are not message sources (.mbox) or directories. Before the
    first build they are read from the source tarball's src/tests, so a test run can list them without building."""
    if tests_dir().is_dir():
        return sorted(p.name for p in tests_dir().iterdir() if p.is_file() and not p.name.endswith(".mbox"))
    if not SOURCE_TARBALL.exists():
        return []
    with tarfile.open(SOURCE_TARBALL) as tar:
        names = [m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()]
    return sorted(n.split("/")[-1] for n in names
                  if n.startswith("src/tests/") and n.count("/") == 2 and not n.endswith(".mbox"))


def imaptest_users(count: int = LOAD_USERS) -> dict:
    """test1..testN (imaptest's default `user=test%d`) plus the mail users of the other tests."""
    return make_mail_users([f"test{i}" for i in range(1, count + 1)])


# Compliance scripts run with no delay between failures, and the load test reconnects often.
IMAPTEST_EXTRA = """\
auth_failure_delay = 0
mail_max_userip_connections = 200
"""


def start_server(binary: str, name: str = "imaptest", extra: str = "", tls_kind: str = "rsa"):
    directory = private_dir(name)
    ca_dir = directory / "ca"
    ca_dir.mkdir(parents=True, exist_ok=True)
    make_ca(ca_dir)
    server = make_mail_server(binary, directory / "srv", ca_dir, imaptest_users(), extra=IMAPTEST_EXTRA + extra,
                              tls_kind=tls_kind)
    return directory, server


def run_group(imaptest: Path, port: int, group: str, timeout: float = 60) -> tuple[bool, str]:
    """One compliance group over IMAPS; (passed, output). imaptest prints `N test groups: M failed, K skipped due to
    missing capabilities` and exits non-zero when a test failed."""
    cmd = [str(imaptest), "host=127.0.0.1", f"port={port}", "user=test1", f"pass={MAIL_PASSWORD}", "ssl=any-cert",
           f"test={tests_dir() / group}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
    out = proc.stdout + proc.stderr
    match = re.search(r"(\d+) test groups: (\d+) failed, (\d+) skipped", out)
    passed = proc.returncode == 0 and match is not None and match.group(2) == "0"
    return passed, out


def group_skipped(output: str) -> bool:
    """Skipped for a missing capability: imaptest says so in its summary, or (as for URLAUTH and SORT partial)
    leaves out every command of the group, so it reports `0/0 individual commands failed`."""
    match = re.search(r"(\d+) test groups: (\d+) failed, (\d+) skipped", output)
    if match is None or match.group(2) != "0":
        return False
    if match.group(3) != "0":
        return True
    counts = re.findall(r"(\d+)/(\d+) individual commands failed", output)
    return bool(counts) and all(total == "0" for _, total in counts)


def deliver_while(stop: threading.Event, lmtp_port: int, users: int, delivered: list[int]) -> None:
    """LMTP deliveries to test1..testN, a few per second, until `stop` is set (imaptest itself only delivers when
    configured through a profile)."""
    n = 0
    while not stop.is_set():
        with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
            for _ in range(20):
                if stop.is_set():
                    break
                body = f"From: a@example.org\r\nSubject: delivery {n}\r\n\r\nhello\r\n"
                lmtp.sendmail("a@example.org", [f"test{1 + n % users}"], body)
                delivered.append(n)
                n += 1
                time.sleep(0.05)


def run_load(imaptest: Path, port: int, secs: int, clients: int, lmtp_port: int | None = None,
             extra: list[str] | None = None, users: int = LOAD_USERS) -> tuple[int, str]:
    """imaptest's stateful random load over IMAPS; (errors, output). Every reply imaptest judges wrong is an error
    line (`Error: ...`); an assertion in imaptest itself aborts it, which counts as an error too. Fewer `users`
    than clients puts several clients on one mailbox; `lmtp_port` adds LMTP deliveries to the same mailboxes while
    the load runs (the output then ends with `LMTP deliveries: N`)."""
    mbox = tests_dir() / "default.mbox"
    cmd = [str(imaptest), "host=127.0.0.1", f"port={port}", "user=test%d", f"users={users}",
           f"pass={MAIL_PASSWORD}", "ssl=any-cert", f"clients={clients}", f"secs={secs}", f"mbox={mbox}",
           *(extra or [])]
    stop = threading.Event()
    delivered: list[int] = []
    thread = None
    if lmtp_port is not None:
        thread = threading.Thread(target=deliver_while, args=(stop, lmtp_port, users, delivered), daemon=True)
        thread.start()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 120, errors="replace")
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
    out = proc.stdout + proc.stderr
    errors = len(re.findall(r"^Error:", out, re.M))
    if proc.returncode != 0 and errors == 0:
        errors = 1
    if lmtp_port is not None:
        out += f"\nLMTP deliveries: {len(delivered)}\n"
    return errors, out


def main(argv: list[str]) -> int:
    binary = os.environ.get("AERIE_BIN", str(REPO / ".build" / "release" / "aerie"))
    imaptest = imaptest_binary()
    if imaptest is None:
        print("imaptest is not available (no ../shared/peers/imaptest/build)", file=sys.stderr)
        return 2
    mode = argv[0] if argv else "compliance"
    directory, server = start_server(binary)
    try:
        if mode == "compliance":
            groups = argv[1:] or compliance_groups()
            passed, failed, skipped = [], [], []
            for group in groups:
                ok, out = run_group(imaptest, server.imaps_port, group)
                if group_skipped(out):
                    skipped.append(group)
                elif ok:
                    passed.append(group)
                else:
                    failed.append(group)
                    if len(groups) <= 3:
                        print(out)
            print(f"passed {len(passed)}, failed {len(failed)}, skipped {len(skipped)}")
            print("failed:", " ".join(failed))
            print("skipped:", " ".join(skipped))
            return 1 if failed else 0
        if mode == "load":
            secs = int(argv[1]) if len(argv) > 1 else 30
            clients = int(argv[2]) if len(argv) > 2 else 10
            users = int(argv[3]) if len(argv) > 3 else LOAD_USERS
            lmtp = server.lmtp_port if "lmtp" in argv[4:] else None
            errors, out = run_load(imaptest, server.imaps_port, secs, clients, users=users, lmtp_port=lmtp)
            print(out[-6000:])
            print(f"errors: {errors}")
            return 1 if errors else 0
        print(__doc__)
        return 2
    finally:
        server.stop_if_running()
        print(f"server directory: {directory}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
