"""Issue 14, items 1 and 4: per-IP penalties and bans kept by the auth process, and no user enumeration by timing.

Each client connects from its own loopback address (127.0.0.2, .3, …) to the server on 127.0.0.1, so the tests'
penalties do not mix. Delays are small (auth_failure_delay = 200 ms, auth_penalty_max_delay = 1600 ms); the
assertions leave room for a loaded machine (lower bounds are exact: the server waits at least that long)."""

from __future__ import annotations

import imaplib
import poplib
import re
import shutil
import socket
import statistics
import threading
import time

import pytest

import helpers
from helpers import IMAPFrom, POP3From  # noqa: F401
from helpers import MAIL_PASSWORD

pytestmark = pytest.mark.timeout(300)

TRUSTED = "127.0.0.5"
EXTRA = f"""\
auth_failure_delay = 200 ms
auth_penalty_max_delay = 1600 ms
auth_ban_failures = 5
auth_ban_distinct_users = 4
auth_ban_window = 10 mins
auth_ban_time = 1 hour
login_trusted_networks = {TRUSTED}/32
"""


@pytest.fixture(scope="module")
def srv(aerie_bin, ca_dir, request, vmail):
    # ARGON2ID (~0.1 s a check) makes a skipped hash visible in the timing test.
    uid, gid = helpers.vmail_ids()
    names = ["alice", "bob", *[f"u{i:02d}" for i in range(1, 9)]]
    users = {n: helpers.User(n, MAIL_PASSWORD, helpers.argon2id(MAIL_PASSWORD), uid, gid, True) for n in names}
    users["carol"] = helpers.User("carol", MAIL_PASSWORD, helpers.sha512_crypt(MAIL_PASSWORD), uid, gid, True)
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "penalty", users=users, extra=EXTRA) as server:
        yield server


def imap_login(server, source: str, user: str, password: str) -> tuple[bool, float]:
    """(logged in?, seconds the LOGIN command took) over a fresh connection."""
    c = IMAPFrom(source, server)
    try:
        start = time.monotonic()
        try:
            c.login(user, password)
            ok = True
        except imaplib.IMAP4.error:
            ok = False
        return ok, time.monotonic() - start
    finally:
        try:
            c.logout()
        except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
            pass


def pop3_login(server, source: str, user: str, password: str) -> bool:
    p = POP3From(source, server)
    try:
        p.user(user)
        p.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass


def fail2ban_matches(lines: list[str], tmp_path) -> int:
    exe = shutil.which("fail2ban-regex")
    if exe is None:
        pytest.fail("fail2ban-regex missing (scripts/test.sh installs fail2ban)")
    log = tmp_path / "ban.log"
    log.write_text("".join(line + "\n" for line in lines))
    out = helpers.run([exe, str(log), "dovecot[_daemon=aerie]"], timeout=120).stdout
    return int(re.search(r"Failregex: (\d+) total", out).group(1))


def test_delays_grow_per_ip_and_a_success_resets_them(srv):
    source = "127.0.0.2"
    took = [imap_login(srv, source, "alice", f"wrong{i}")[1] for i in range(4)]
    for seconds, expected in zip(took, [0.2, 0.4, 0.8, 1.6]):
        assert seconds >= expected - 0.02, (took, "answered before the IP's delay")
    assert took[3] > took[0] + 1.0, took
    # Another address, trying another user, is not slowed by this one's failures.
    assert imap_login(srv, "127.0.0.6", "u07", "wrong")[1] < 1.0
    ok, _ = imap_login(srv, source, "alice", MAIL_PASSWORD)
    assert ok
    ok, seconds = imap_login(srv, source, "alice", "wrong-again")
    assert not ok and 0.18 <= seconds < 1.0, f"after a success the delay starts again at 200 ms, not 1.6 s: {seconds}"


def test_the_same_user_and_password_do_not_count_again(srv):
    took = [imap_login(srv, "127.0.0.7", "bob", "stale-password")[1] for _ in range(4)]
    assert all(t >= 0.18 for t in took), took
    assert took[-1] < 0.6, f"a retried user+password counted again (0.8 s and more): {took}"


def test_too_many_failures_ban_the_ip_before_any_hashing(srv, tmp_path):
    source = "127.0.0.3"
    before = len(srv.log().splitlines())
    threads = [threading.Thread(target=imap_login, args=(srv, source, "alice", f"guess{i}")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    new = srv.log().splitlines()[before:]
    bans = [line for line in new if "banning" in line]
    assert len(bans) == 1, new
    assert re.search(r"penalty\(alice,127\.0\.0\.3(,<[^>]+>)?\): Invalid credentials: banning 127\.0\.0\.3 for "
                     r"3600 secs \(6 failures in 600 secs\)$", bans[0]), bans[0]
    assert fail2ban_matches(bans, tmp_path) == 1

    # The right password is refused now, without a verification (no passdb line) and without a second ban line.
    mark = len(srv.log().splitlines())
    ok, seconds = imap_login(srv, source, "alice", MAIL_PASSWORD)
    assert not ok and seconds >= 0.18
    after = srv.log().splitlines()[mark:]
    assert not [line for line in after if "passwd-file(alice,127.0.0.3" in line or "banning" in line], after
    assert imap_login(srv, "127.0.0.8", "alice", MAIL_PASSWORD)[0], "another address is not banned"


def test_one_password_over_many_users_bans_the_ip(srv):
    source = "127.0.0.4"
    before = len(srv.log().splitlines())
    for user in ["u01", "u02", "u03", "u04", "u05"]:
        assert not pop3_login(srv, source, user, "Spring2026!")
    bans = [line for line in srv.log().splitlines()[before:] if "banning" in line]
    assert len(bans) == 1 and bans[0].endswith("(failures for 5 users in 600 secs)"), bans
    assert not pop3_login(srv, source, "u06", MAIL_PASSWORD), "a banned IP cannot log in even with a right password"


def test_trusted_network_is_exempt(srv):
    took = [imap_login(srv, TRUSTED, f"u0{1 + i % 6}", f"guess{i}")[1] for i in range(8)]
    assert all(0.18 <= t < 0.6 for t in took), f"a trusted address is never slowed beyond 200 ms: {took}"
    assert imap_login(srv, TRUSTED, "alice", MAIL_PASSWORD)[0], "a trusted address is never banned"


def test_unknown_user_and_wrong_password_take_the_same_time(srv):
    """The failure answer comes auth_failure_delay after the request, whatever was verified: with ARGON2ID a
    skipped hash or a delay added after it shows as ~0.1 s. From a trusted address, so no penalty grows."""
    unknown, wrong = [], []
    for i in range(10):
        unknown.append(imap_login(srv, TRUSTED, f"nobody{i}", "guess")[1])
        wrong.append(imap_login(srv, TRUSTED, "alice", f"guess{i}")[1])
    difference = abs(statistics.median(unknown) - statistics.median(wrong))
    assert difference < 0.05, f"unknown {sorted(unknown)} vs wrong password {sorted(wrong)}"
    assert min(unknown + wrong) >= 0.18


@pytest.mark.parametrize("user", ["alice", "carol"], ids=["argon2id", "sha512-crypt"])
def test_timing_cannot_tell_an_unknown_user_from_a_wrong_password(srv, user):
    """Issue 14's test: 50 tries each, interleaved, of an unknown user and of a wrong password for a user whose hash
    is ARGON2ID (alice) or SHA512-CRYPT (carol); the LOGIN → NO times cannot be told apart: medians within 1 ms and
    the ranges overlap. From a trusted address, so no penalty grows and every answer is auth_failure_delay after the
    request. A leak (a skipped hash, a delay counted from the hash's end) is tens of ms in every round; a loaded CI
    machine can shift one round's median by a millisecond, so up to three rounds are measured and one must pass."""
    rounds = []
    for _ in range(3):
        unknown, wrong = [], []
        for i in range(50):
            unknown.append(imap_login(srv, TRUSTED, f"nobody{i}", f"guess{i}")[1])
            wrong.append(imap_login(srv, TRUSTED, user, f"guess{i}")[1])
        difference = abs(statistics.median(unknown) - statistics.median(wrong))
        overlap = max(min(unknown), min(wrong)) <= min(max(unknown), max(wrong))
        rounds.append(f"medians {statistics.median(unknown) * 1000:.2f} vs {statistics.median(wrong) * 1000:.2f} ms, "
                      f"ranges {min(unknown) * 1000:.1f}-{max(unknown) * 1000:.1f} vs {min(wrong) * 1000:.1f}-"
                      f"{max(wrong) * 1000:.1f} ms")
        if difference < 0.001 and overlap:
            break
    else:
        pytest.fail("unknown user vs wrong password told apart in every round: " + "; ".join(rounds))
    print(rounds)


def test_a_user_guessed_from_many_ips_is_slowed_except_where_they_logged_in(srv):
    assert imap_login(srv, "127.0.0.20", "u08", MAIL_PASSWORD)[0]  # u08's own network
    for i, source in enumerate(["127.0.0.21", "127.0.0.22", "127.0.0.23"]):
        assert not imap_login(srv, source, "u08", f"guess{i}")[0]
    ok, seconds = imap_login(srv, "127.0.0.24", "u08", "guess-more")
    assert not ok and seconds >= 1.58, f"a fresh address guessing u08 waits u08's penalty (1.6 s): {seconds}"
    ok, seconds = imap_login(srv, "127.0.0.20", "u08", "typo")
    assert not ok and seconds < 1.0, f"u08's own network is not slowed by the guessing elsewhere: {seconds}"
    assert imap_login(srv, "127.0.0.20", "u08", MAIL_PASSWORD)[0]


def adm(srv, *arguments: str):
    return helpers.run([srv.binary, "adm", *arguments, "-c", str(srv.config)], timeout=30)


def test_adm_ban_list_and_lift(srv, tmp_path):
    source = "127.0.0.30"
    before = len(srv.log().splitlines())
    r = adm(srv, "ban", source, "10 mins")
    assert r.returncode == 0 and r.stdout.strip() == f"banned: {source} for 600 secs", (r.stdout, r.stderr)
    bans = [line for line in srv.log().splitlines()[before:] if "banning" in line]
    assert len(bans) == 1 and bans[0].endswith(f"banning {source} for 600 secs (by aerie adm ban)"), bans
    assert fail2ban_matches(bans, tmp_path) == 1
    assert not imap_login(srv, source, "alice", MAIL_PASSWORD)[0]
    r = adm(srv, "penalty", "stats")
    bans_total = re.search(r"^aerie_auth_bans_total (\d+)$", r.stdout, re.M)
    assert r.returncode == 0 and bans_total and int(bans_total.group(1)) >= 1, r.stdout

    r = adm(srv, "penalty", "list")
    assert r.returncode == 0 and re.search(rf"^ip {re.escape(source)} penalty=0 failures=0 users=0 banned=\d+s$",
                                           r.stdout, re.M), r.stdout
    r = adm(srv, "penalty", "lift", source)
    assert r.returncode == 0 and r.stdout.strip() == f"lifted: {source}", (r.stdout, r.stderr)
    assert imap_login(srv, source, "alice", MAIL_PASSWORD)[0]
    r = adm(srv, "penalty", "lift", source)
    assert r.returncode == 1 and f"no penalty for {source}" in r.stderr, (r.stdout, r.stderr)
    r = adm(srv, "ban", TRUSTED)
    assert r.returncode == 1 and "login_trusted_networks" in r.stderr, (r.stdout, r.stderr)
