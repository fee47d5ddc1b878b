"""Issue 11 item 6, filesystem confinement of mail processes, tried as someone who can write into a Maildir would:
every change to the Maildirs below is made with the mail user's rights (a child process running as vmail, or as the
user of a uid of its own), then real clients (imaplib, poplib) use the mailbox. Every test runs twice: against the
main mail service (users of mail_uid = vmail) and against the per-uid mail processes (`mail-service --run-as`,
users of their own uids, issue 11). Another user's mail stays untouched and unread, a /dev/zero link is
never read (the server's VmRSS stays flat), FIFOs never hang a login, and a file the server cannot read leaves the
mailbox usable (SELECT works; the file is left out of the view and logged once)."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import shutil
from pathlib import Path

import pytest

import helpers
from helpers import LMTPClient, make_message
from test_mail_uid import key_process

D = helpers.MAIL_DOMAIN
PW = helpers.MAIL_PASSWORD
# A login, SELECT or FETCH here takes milliseconds; one blocked behind a FIFO never returns at all.
SHORT = 8.0

# The users of the per-uid variant: u01..u40 with uids of their own.
FIRST_OWN_UID = 1521


def as_owner(mail, user: str, *ops) -> None:
    """Changes made with the mail user's rights, as a user with shell access (or a shared-folder admin) would: a
    forked child drops to the user's uid/gid (vmail, or the user's own; no supplementary groups, no capabilities
    left) and only makes these calls."""
    uid, gid = mail.ids(user)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            for op in ops:
                kind, path = op[0], op[1]
                if kind == "symlink":
                    os.symlink(op[2], path)
                elif kind == "mkfifo":
                    os.mkfifo(path, 0o600)
                elif kind == "unlink":
                    os.unlink(path)
                elif kind == "write":
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, op[3])
                    os.write(fd, op[2].encode())
                    os.close(fd)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"as vmail: {ops}"


@pytest.fixture(scope="module", params=["vmail", "own-uid"])
def mail(aerie_bin, ca_dir, vmail, request):
    """The main mail service's users (vmail), or users of uids of their own, served by `mail-service --run-as`."""
    if request.param == "vmail":
        with helpers.private_mail_server(aerie_bin, ca_dir, request, "fsconf") as server:
            server.kind = "vmail"
            server.ids = lambda user: vmail
            server.serving_pid = lambda user: server.mail_pid
            yield server
        return
    directory = helpers.private_dir("fsconf-uid") / "srv"
    users = helpers.make_mail_users([f"u{i:02d}" for i in range(1, 41)])
    server = helpers.make_mail_server(aerie_bin, directory, ca_dir, users, start=False)
    server.kind = "own-uid"
    uids = {name: FIRST_OWN_UID + i for i, name in enumerate(sorted(users))}
    server.ids = lambda user: (uids[user], uids[user])
    server.serving_pid = lambda user: key_process(server, uids[user])
    stored = helpers.sha512_crypt(PW)
    for name in uids:  # made for vmail by make_mail_server; own_uid_user makes them anew
        shutil.rmtree(server.directory / "home" / name)
    lines = [helpers.own_uid_user(server.directory / "home", name, uid, stored) for name, uid in uids.items()]
    yield from helpers.serve_module(server, directory.parent, request, lines)


def deliver(mail, user: str, n: int, tag: str) -> list[bytes]:
    msgs = [make_message(f"{user}-{i}@{tag}.test", subject=f"{tag} {user} {i}", to=f"{user}@{D}") for i in range(n)]
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.lhlo()[0] == 250
        for m in msgs:
            r = c.deliver("sender@example.org", [f"{user}@{D}"], m, lhlo=False)
            assert r[f"{user}@{D}"][0] == 250, r
        c.quit()
    return msgs


def imap(mail, user: str, timeout: float = SHORT) -> imaplib.IMAP4_SSL:
    c = imaplib.IMAP4_SSL("127.0.0.1", mail.imaps_port, ssl_context=helpers.client_context(mail.tls.ca),
                          timeout=timeout)
    c.login(user, PW)
    return c


def select_count(c: imaplib.IMAP4_SSL, mailbox: str = "INBOX") -> int:
    typ, data = c.select(mailbox)
    assert typ == "OK", (typ, data)
    return int(data[0])


def bodies(c: imaplib.IMAP4_SSL) -> list[bytes]:
    typ, data = c.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK", (typ, data)
    return [part[1] for part in data if isinstance(part, tuple)]


def delivered(got: list[bytes]) -> list[bytes]:
    """Fetched messages as they were sent (without the headers LMTP delivery added)."""
    return [helpers.strip_delivery_headers(b) for b in got]


def message_files(maildir: Path) -> list[Path]:
    """The real message files (no links, FIFOs or other planted entries)."""
    return sorted(p for sub in ("cur", "new") for p in (maildir / sub).iterdir() if p.is_file() and not p.is_symlink())


def tree(maildir: Path) -> dict[str, bytes]:
    """Every file of a Maildir (messages, uidlist, keywords, index) with its contents."""
    return {str(p.relative_to(maildir)): p.read_bytes() for p in maildir.rglob("*") if p.is_file()}


def mail_user(mail, n: int, tag: str) -> tuple[str, Path, list[bytes]]:
    """A fresh user with n delivered messages that a client has seen once (so its index exists)."""
    user = mail.fresh_user()
    msgs = deliver(mail, user, n, tag)
    c = imap(mail, user)
    assert select_count(c) == n
    c.logout()
    return user, mail.maildir(user), msgs


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def left_out_lines(mail, name: str) -> int:
    return sum(1 for line in mail.log().splitlines() if "left out" in line and name in line)


@pytest.mark.timeout(120)
def test_delete_of_a_symlinked_mailbox_removes_the_link_never_the_other_users_mail(mail):
    victim, victim_dir, victim_msgs = mail_user(mail, 2, "victim")
    attacker, attacker_dir, _ = mail_user(mail, 1, "attacker")
    before = tree(victim_dir)
    as_owner(mail, attacker, ["symlink", str(attacker_dir / ".Shared"), str(victim_dir)])

    c = imap(mail, attacker)
    typ, listing = c.list()
    listed = any(b'"Shared"' in line or line.endswith(b" Shared") for line in listing)
    if mail.kind == "vmail":
        # vmail may search every vmail user's home: the link is a mailbox, and DELETE removes the link alone.
        assert typ == "OK" and listed, listing
        typ, data = c.delete("Shared")
        assert typ == "OK", data
        assert not os.path.lexists(attacker_dir / ".Shared")
    else:
        # The attacker's own process cannot search the victim's 0700 home: the link is no mailbox at all.
        assert typ == "OK" and not listed, listing
        assert c.select("Shared")[0] == "NO"
        typ, data = c.delete("Shared")
        assert typ == "NO" and b"NONEXISTENT" in data[0], data
        assert os.path.islink(attacker_dir / ".Shared")
    c.logout()

    assert tree(victim_dir) == before
    v = imap(mail, victim)
    assert select_count(v) == 2
    assert delivered(bodies(v)) == victim_msgs
    v.logout()


@pytest.mark.timeout(120)
def test_message_files_linked_to_other_files_are_never_served(mail):
    victim, victim_dir, _ = mail_user(mail, 1, "secret")
    victim_file = message_files(victim_dir)[0]
    before = tree(victim_dir)
    attacker, attacker_dir, own = mail_user(mail, 1, "own")
    links = {
        "1700000001.M1P1.evil,S=900,W=920:2,S": "/etc/passwd",
        "1700000002.M2P1.evil": "/etc/passwd",
        "1700000003.M3P1.evil:2,S": str(victim_file),
    }
    as_owner(mail, attacker, *[["symlink", str(attacker_dir / "cur" / name), target] for name, target in links.items()])

    for _ in range(2):
        c = imap(mail, attacker)
        assert select_count(c) == 1
        got = bodies(c)
        assert delivered(got) == own
        c.logout()
    p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca), timeout=SHORT)
    p.user(attacker)
    p.pass_(PW)
    assert p.stat()[0] == 1
    assert b"root:" not in b"\n".join(p.retr(1)[1])
    p.quit()
    # Logged once per file, not once per sync.
    for name in links:
        assert left_out_lines(mail, name) == 1, (name, mail.log()[-3000:])

    # A message file the index knows, swapped for a link afterwards: FETCH and RETR fail for it, the session goes on.
    own_file = message_files(attacker_dir)[0]
    as_owner(mail, attacker, ["unlink", str(own_file)], ["symlink", str(own_file), str(victim_file)])
    c = imap(mail, attacker)
    assert select_count(c) == 1
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert typ == "NO", data
    assert c.noop()[0] == "OK"
    c.logout()
    p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca), timeout=SHORT)
    p.user(attacker)
    p.pass_(PW)
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.noop().startswith(b"+OK")
    p.quit()
    assert tree(victim_dir) == before


@pytest.mark.timeout(120)
def test_a_dev_zero_link_is_never_read(mail):
    user, maildir, own = mail_user(mail, 2, "zero")
    server = mail.serving_pid(user)
    baseline = vm_rss_kib(server)
    as_owner(mail, user, ["symlink", str(maildir / "cur" / "1700000001.M1P1.zero"), "/dev/zero"],
               ["symlink", str(maildir / "new" / "1700000002.M2P1.zero,S=100,W=102"), "/dev/zero"])
    c = imap(mail, user)
    assert select_count(c) == 2
    assert len(bodies(c)) == 2
    c.logout()
    # And one the index already knows.
    known = message_files(maildir)[0]
    as_owner(mail, user, ["unlink", str(known)], ["symlink", str(known), "/dev/zero"])
    c = imap(mail, user)
    assert select_count(c) == 2
    assert c.fetch("1:*", "(BODY.PEEK[])")[0] == "NO"
    assert c.noop()[0] == "OK"
    c.logout()
    p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca), timeout=SHORT)
    p.user(user)
    p.pass_(PW)
    for n in (1, 2):
        try:
            p.retr(n)
        except poplib.error_proto:
            pass
    p.quit()
    # Reading /dev/zero grew the server by gigabytes; 64 MiB leaves room for ordinary allocation noise. The same
    # process served it all (a restarted one would hide the growth).
    assert mail.serving_pid(user) == server
    assert vm_rss_kib(server) - baseline < 64 * 1024, (baseline, vm_rss_kib(server))


@pytest.mark.timeout(120)
def test_fifos_in_a_maildir_never_hang_logins(mail):
    user, maildir, own = mail_user(mail, 1, "fifo")
    fifos = [maildir / "cur" / f"17000000{i:02d}.M{i}P1.fifo" for i in range(4)]
    fifos.append(maildir / "new" / "1700000099.M99P1.fifo,S=10,W=11")
    as_owner(mail, user, *[["mkfifo", str(f)] for f in fifos])
    try:
        # More logins than the mail pool has threads (one per core): each would block one of them for good.
        for _ in range(4):
            c = imap(mail, user)
            assert select_count(c) == 1
            assert delivered(bodies(c)) == own
            c.logout()
        p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca),
                            timeout=SHORT)
        p.user(user)
        p.pass_(PW)
        assert p.stat()[0] == 1
        p.retr(1)
        p.quit()
        # A message the index knows, swapped for a FIFO: its FETCH fails at once, and everyone else logs in.
        known = message_files(maildir)[0]
        as_owner(mail, user, ["unlink", str(known)], ["mkfifo", str(known)])
        fifos.append(known)
        for _ in range(3):
            c = imap(mail, user)
            assert select_count(c) == 1
            assert c.fetch("1", "(BODY.PEEK[])")[0] == "NO"
            c.logout()
        other, _, _ = mail_user(mail, 1, "bystander")
        c = imap(mail, other)
        assert select_count(c) == 1 and len(bodies(c)) == 1
        c.logout()
    finally:
        # Wake any thread still blocked in open() of a FIFO, so the server can stop.
        for f in fifos:
            try:
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass


@pytest.mark.timeout(120)
def test_an_unreadable_file_leaves_the_mailbox_usable(mail):
    user, maildir, own = mail_user(mail, 2, "unreadable")
    names = ["1700000001.M1P1.locked", "1700000002.M2P1.locked,S=20,W=21:2,S"]
    as_owner(mail, user, *[["write", str(maildir / "cur" / n), "Subject: locked\n\nx\n", 0o000] for n in names])
    for _ in range(2):
        c = imap(mail, user)
        assert select_count(c) == 2
        assert delivered(bodies(c)) == own
        typ, data = c.status("INBOX", "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES 2" in data[0], data
        c.logout()
    p = poplib.POP3_SSL("127.0.0.1", mail.pop3s_port, context=helpers.client_context(mail.tls.ca), timeout=SHORT)
    p.user(user)
    p.pass_(PW)
    assert p.stat()[0] == 2
    p.quit()
    for n in names:
        assert left_out_lines(mail, n) == 1, (n, mail.log()[-3000:])
        assert re.search(re.escape(n) + r".*Permission denied", mail.log()), n
