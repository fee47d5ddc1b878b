"""Migration both ways with Debian's real Dovecot (2.3), end to end over IMAP. Dovecot runs as a foreground child
(`dovecot -F`) with a private configuration on a loopback port and serves a Maildir it is handed with messages it has
never seen: it assigns UIDs, and we set flags and keywords, expunge, and create folders through its IMAP. Then Aerie
serves the same tree as the same user: every message must keep its UID, UIDVALIDITY, flags, keywords, size, internal
date and bytes, every folder its name and subscription. Then Aerie changes things (APPEND, flags, a new keyword, an
expunge, a new folder) and Dovecot, started again on the tree, must see exactly Aerie's state and must not reuse
the expunged UID.

Each test runs twice: with both servers on Dovecot's default hierarchy separator (no `separator` setting: "." on
Maildir++, so `Projects.2024`), and with `separator = /` configured on both."""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers

USER = "mig"
PW = helpers.MAIL_PASSWORD
ENTWUERFE = "Entw&APw-rfe"  # "Entwürfe" in modified UTF-7 (RFC 3501 §5.1.3)


# ---------------------------------------------------------------------------------------------------- Dovecot


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


class Dovecot:
    """Debian's dovecot master in the foreground (-F) with a private config, base_dir and log; IMAP only, on
    127.0.0.1: plaintext (loopback counts as secured for Dovecot) and implicit TLS with Aerie's certificate."""

    def __init__(self, directory: Path, home: Path, tls: helpers.TLSFiles, namespace: str):
        self.directory = directory
        self.port, self.imaps_port = helpers.free_port(), helpers.free_port()
        self.log_path = directory / "dovecot.log"
        self.proc: subprocess.Popen | None = None
        directory.mkdir(parents=True)
        uid, gid = helpers.vmail_ids()
        users = directory / "users"
        users.write_text(f"{USER}:{helpers.doveadm_sha512(PW)}:{uid}:{gid}::{home}::\n")
        os.chmod(users, 0o644)
        self.config = directory / "dovecot.conf"
        self.config.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {self.log_path}
instance_name = aerie-migration-{self.port}
auth_mechanisms = plain
disable_plaintext_auth = no
ssl = yes
ssl_cert = <{tls.cert}
ssl_key = <{tls.key}
ssl_min_protocol = TLSv1.2
first_valid_uid = 500
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
{namespace}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
""")

    def start(self) -> "Dovecot":
        self.out = open(self.directory / "stdout.txt", "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.config)], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"dovecot exited {self.proc.returncode} at start:\n{self.output()}")
            try:
                c = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
                c.logout()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"dovecot did not listen on {self.port}:\n{self.output()}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            children = self.children()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("dovecot did not exit within 20 s of SIGTERM")
            self.out.close()
            # The master has gone; its imap processes must be gone too before another server opens the Maildir.
            helpers.wait_for(lambda: not [p for p in children if alive(p)], 10,
                             what="dovecot's child processes to exit")

    def children(self) -> list[int]:
        """The master's child processes (imap, imap-login, auth, ...)."""
        out = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    out.append(int(p.name))
        return out

    def output(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.directory / "stdout.txt", self.log_path) if p.exists()]
        return "\n".join(parts)

    def login(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=helpers.READ_TIMEOUT)
        c.login(USER, PW)
        return c

    def problems(self) -> list[str]:
        """Dovecot's complaints about the tree: errors, panics, warnings, anything about a corrupted or broken file."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [l for l in text.splitlines() if re.search(r"Error|Panic|Fatal|corrupt|broken|Warning", l)
                and "Killed with signal 15" not in l]  # our own SIGTERM at stop()


# ---------------------------------------------------------------------------------------------------- IMAP state


def mailbox_names(c) -> set[tuple[str, str | None]]:
    """Each name with the hierarchy delimiter its LIST line gives: ("Projects.2024", ".")."""
    typ, data = c.list('""', "*")
    assert typ == "OK", data
    out = set()
    for line in data:
        delimiter, name = re.match(rb'\(.*?\) (?:"(.)"|NIL) "?(.*?)"?$', line).groups()
        out.add((name.decode(), delimiter.decode() if delimiter else None))
    return out


def subscribed(c) -> set[str]:
    typ, data = c.lsub('""', "*")
    assert typ == "OK", data
    return {re.match(rb'\(.*?\) (?:"."|NIL) "?(.*?)"?$', line).group(1).decode() for line in data if line}


def mailbox_state(c, mailbox: str) -> dict:
    """What a client caches about a mailbox: UIDVALIDITY, UIDNEXT and per UID: flags (without \\Recent),
    RFC822.SIZE, INTERNALDATE and the message bytes."""
    typ, data = c.select(f'"{mailbox}"', readonly=True)
    assert typ == "OK", (mailbox, data)
    state = {"uidvalidity": int(c.response("UIDVALIDITY")[1][0]), "uidnext": int(c.response("UIDNEXT")[1][0]),
             "messages": {}}
    if int(data[0]):
        typ, data = c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            flags = frozenset(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()) - {r"\Recent"}
            size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
            date = re.search(r'INTERNALDATE "([^"]*)"', meta).group(1)
            state["messages"][uid] = (flags, size, date, item[1])
    c.close()
    return state


def tree_state(c) -> dict:
    """What a client sees and caches: the namespace, every name with its delimiter, subscriptions, mailboxes."""
    names = mailbox_names(c)
    typ, namespace = c.namespace()
    assert typ == "OK", namespace
    return {"namespace": namespace[0].decode(), "names": names, "subscribed": subscribed(c),
            "boxes": {n: mailbox_state(c, n) for n, _ in sorted(names)}}


def describe_difference(a: dict, b: dict) -> str:
    lines = []
    for key in ("namespace", "names", "subscribed"):
        if a[key] != b[key]:
            lines.append(f"{key}: {a[key] if isinstance(a[key], str) else sorted(a[key])} != "
                         f"{b[key] if isinstance(b[key], str) else sorted(b[key])}")
    for name in sorted(set(a["boxes"]) & set(b["boxes"])):
        x, y = a["boxes"][name], b["boxes"][name]
        for k in ("uidvalidity", "uidnext"):
            if x[k] != y[k]:
                lines.append(f"{name} {k}: {x[k]} != {y[k]}")
        if set(x["messages"]) != set(y["messages"]):
            lines.append(f"{name} UIDs: {sorted(x['messages'])} != {sorted(y['messages'])}")
        for uid in sorted(set(x["messages"]) & set(y["messages"])):
            (f1, s1, d1, b1), (f2, s2, d2, b2) = x["messages"][uid], y["messages"][uid]
            if (f1, s1, d1) != (f2, s2, d2):
                lines.append(f"{name} UID {uid}: {sorted(f1), s1, d1} != {sorted(f2), s2, d2}")
            if b1 != b2:
                lines.append(f"{name} UID {uid}: bytes differ")
    return "\n".join(lines)


def message(n: int, subject: str, extra: str = "") -> bytes:
    return (f"From: Alice <alice@example.com>\r\nTo: mig@example.test\r\nSubject: {subject}\r\n"
            f"Date: Mon, 0{1 + n % 8} Jan 2024 10:00:00 +0100\r\nMessage-ID: <mig-{n}@example.com>\r\n{extra}"
            f"\r\nBody of message {n}.\r\n" + "More text.\r\n" * (n * 7 % 23)).encode()


def seed_maildir(maildir: Path) -> None:
    """A Maildir as another delivery agent left it: no dovecot-uidlist yet; three new, three read (:2,S / :2,RS),
    each with its own mtime (the internal date Dovecot reports)."""
    uid, gid = helpers.vmail_ids()
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    files = [("new", f"1700000{i}00.M{i}P100.mx", message(i, f"delivered {i}")) for i in range(1, 4)]
    files += [("cur", f"1700000{i}00.M{i}P100.mx:2,{'S' if i % 2 else 'RS'}", message(i, f"read {i}").replace(
        b"\r\n", b"\n")) for i in range(4, 7)]
    for i, (sub, name, data) in enumerate(files):
        p = maildir / sub / name
        p.write_bytes(data)
        t = 1_700_000_000 + i * 86_400
        os.utime(p, (t, t))
    for p in [maildir, *maildir.rglob("*")]:
        os.chown(p, uid, gid)


# ---------------------------------------------------------------------------------------------------- the test


@pytest.fixture(params=[".", "/"], ids=["default-separator", "separator-slash"])
def trees(aerie_bin, ca_dir, vmail, request):
    """Aerie and Dovecot on one tree, both with Dovecot's default separator ("." on Maildir++: no setting at all) or
    both with `separator = /`. Yields (aerie, dovecot, Maildir, the separator clients see)."""
    if shutil.which("dovecot") is None or not os.access("/usr/lib/dovecot/imap", os.X_OK):
        pytest.skip("Dovecot (Debian dovecot-core + dovecot-imapd) is not installed; scripts/test.sh installs it")
    failed_before = request.session.testsfailed
    sep = request.param
    namespace = "" if sep == "." else f"namespace inbox {{\n  inbox = yes\n  separator = {sep}\n}}\n"
    directory = helpers.private_dir("migration")
    aerie = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users([USER]),
                                     extra=namespace, start=False)
    home = aerie.directory / "home" / USER
    dovecot = Dovecot(directory / "dovecot", home, aerie.tls, namespace)
    yield aerie, dovecot, home / "Maildir", sep
    dovecot.stop()
    rc = aerie.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{aerie.log()[-3000:]}"


def test_dovecot_to_aerie_and_back(trees):
    aerie, dovecot, maildir, sep = trees
    seed_maildir(maildir)

    # 1. Dovecot: assigns UIDs to the seeded files; APPEND, flags, keywords, an expunge, two folders.
    dovecot.start()
    c = dovecot.login()
    assert c.select("INBOX")[0] == "OK"
    for i, flags in ((7, r"(\Seen $Work)"), (8, r"(\Answered \Seen)"), (9, "()")):
        typ, data = c.append("INBOX", flags, imaplib.Time2Internaldate(1_710_000_000 + i * 3600), message(i, f"m{i}"))
        assert typ == "OK", data
    assert c.uid("STORE", "2", "+FLAGS", r"(\Flagged $Important)")[0] == "OK"
    assert c.uid("STORE", "5", "+FLAGS", r"(Project-Alpha \Draft)")[0] == "OK"
    assert c.uid("STORE", "4", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert c.expunge()[0] == "OK"
    assert helpers.hierarchy_separator(c) == sep
    for box in (ENTWUERFE, "Projects", f"Projects{sep}2024"):
        assert c.create(f'"{box}"')[0] == "OK", box
    for box in (ENTWUERFE, f"Projects{sep}2024"):
        assert c.subscribe(f'"{box}"')[0] == "OK", box
    assert c.append(f'"{ENTWUERFE}"', r"(\Draft \Seen)", None, message(20, "Entwurf"))[0] == "OK"
    for i in (21, 22, 23):
        assert c.append(f'"Projects{sep}2024"', r"(\Seen)", None, message(i, f"p{i}"))[0] == "OK"
    assert c.select(f'"Projects{sep}2024"')[0] == "OK"
    assert c.uid("STORE", "3", "+FLAGS", r"(\Deleted)")[0] == "OK"  # expunge the last: UIDNEXT stays 4
    assert c.expunge()[0] == "OK"
    c.close()
    by_dovecot = tree_state(c)
    c.logout()
    dovecot.stop()

    inbox = by_dovecot["boxes"]["INBOX"]
    # Sanity: Dovecot numbered the seeded files 1..6 and the APPENDs 7..9; 4 is gone.
    assert sorted(inbox["messages"]) == [1, 2, 3, 5, 6, 7, 8, 9], inbox["messages"].keys()
    assert inbox["uidnext"] == 10
    assert by_dovecot["boxes"][f"Projects{sep}2024"]["uidnext"] == 4
    assert (f"Projects{sep}2024", sep) in by_dovecot["names"]
    assert (maildir / ".Projects.2024" / "cur").is_dir()  # Maildir++ on disk, whatever the separator
    assert "$Work" in inbox["messages"][7][0] and "Project-Alpha" in inbox["messages"][5][0]

    # 2. Aerie on the same tree sees exactly what Dovecot showed: UIDs, UIDVALIDITY, UIDNEXT, flags, keywords,
    # sizes, internal dates, bytes, folder names and subscriptions.
    aerie.start()
    c = helpers.imap_login(aerie, USER, PW)
    by_aerie = tree_state(c)
    assert by_aerie == by_dovecot, describe_difference(by_dovecot, by_aerie)
    assert (ENTWUERFE, sep) in by_aerie["names"] and (f"Projects{sep}2024", sep) in by_aerie["names"]

    # 3. Aerie changes things: two APPENDs (one with a keyword Dovecot has never seen), flag and keyword changes,
    # an expunge of the newest message, a new folder.
    assert c.select("INBOX")[0] == "OK"
    appended = []
    for i, flags in ((30, r"(\Flagged $Work NewFromAerie)"), (31, r"(\Seen)")):
        typ, data = c.append("INBOX", flags, imaplib.Time2Internaldate(1_720_000_000 + i), message(i, f"a{i}"))
        assert typ == "OK", data
        validity, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups())
        assert validity == inbox["uidvalidity"]
        appended.append(uid)
    assert appended == [10, 11]
    assert c.uid("STORE", "1", "+FLAGS", r"(\Seen \Answered)")[0] == "OK"
    assert c.uid("STORE", "2", "-FLAGS", r"($Important)")[0] == "OK"
    assert c.uid("STORE", "7", "-FLAGS", r"(\Seen)")[0] == "OK"
    assert c.uid("STORE", "8", "+FLAGS", r"(Project-Alpha)")[0] == "OK"
    assert c.uid("STORE", "11", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert c.uid("EXPUNGE", "11")[0] == "OK"
    # RFC 6154 §3 CREATE … USE: the attribute file inside the folder must not disturb Dovecot in step 4.
    assert c._simple_command("CREATE", r'"Made-by-Aerie" (USE (\Archive))')[0] == "OK"
    assert (maildir / ".Made-by-Aerie" / ".aerie-special-use").is_file()
    assert c.create(f'"Projects{sep}2025"')[0] == "OK"
    assert (maildir / ".Projects.2025" / "cur").is_dir()
    assert c.subscribe('"Made-by-Aerie"')[0] == "OK"
    assert c.append('"Made-by-Aerie"', r"(\Flagged)", None, message(40, "from aerie"))[0] == "OK"
    c.close()
    changed = tree_state(c)
    c.logout()
    assert aerie.stop() == 0
    assert sorted(changed["boxes"]["INBOX"]["messages"]) == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert changed["boxes"]["INBOX"]["uidnext"] == 12

    # 4. Dovecot again, on the tree Aerie left: the same state, and the next APPEND gets 12, not the expunged 11.
    dovecot.start()
    c = dovecot.login()
    seen_by_dovecot = tree_state(c)
    assert seen_by_dovecot == changed, describe_difference(changed, seen_by_dovecot)
    typ, data = c.append("INBOX", None, None, message(50, "after the round trip"))
    assert typ == "OK", data
    validity, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups())
    assert (validity, uid) == (inbox["uidvalidity"], 12)
    c.logout()
    dovecot.stop()
    assert dovecot.problems() == [], "\n".join(dovecot.problems())


def test_mbsync_keeps_its_cache_across_the_switch(trees):
    """What "clients keep their caches" means to a real client: mbsync, synced with Dovecot, is pointed at Aerie
    on the same tree and finds nothing to download or change; a change made in Aerie reaches it as a flag update;
    pointed back at Dovecot it again finds nothing to do."""
    aerie, dovecot, maildir, sep = trees
    seed_maildir(maildir)
    dovecot.start()
    c = dovecot.login()
    for box in ("Archive", f"Archive{sep}2023"):
        assert c.create(f'"{box}"')[0] == "OK"
    for i in range(30):
        box = ("INBOX", "Archive", f"Archive{sep}2023")[i % 3]
        assert c.append(f'"{box}"', r"(\Seen)" if i % 2 else "()", None, message(100 + i, f"mb{i}"))[0] == "OK"
    assert c.select("INBOX")[0] == "OK"
    assert c.uid("STORE", "1:3", "+FLAGS", r"(\Flagged)")[0] == "OK"
    c.logout()
    sync = helpers.MBSync(aerie.directory.parent / "mbsync", dovecot.imaps_port, aerie.tls.ca, USER, PW)
    first = sync.sync()
    assert len([c for c in helpers.mbsync_commands(first) if "BODY.PEEK[]" in c]) >= 3, "nothing was downloaded"
    local = {p.name for p in sync.local.rglob("*") if p.parent.name in ("cur", "new")}
    assert len(local) == 6 + 30, sorted(local)
    dovecot.stop()

    aerie.start()
    sync.point_at(aerie.imaps_port, aerie.tls.ca)
    changes = helpers.mbsync_changes(sync.sync())
    assert changes == [], changes
    assert {p.name for p in sync.local.rglob("*") if p.parent.name in ("cur", "new")} == local
    c = helpers.imap_login(aerie, USER, PW)
    assert helpers.hierarchy_separator(c) == sep
    assert c.select(f'"Archive{sep}2023"')[0] == "OK"
    assert c.uid("STORE", "1", "+FLAGS", r"(\Answered)")[0] == "OK"
    c.logout()
    changes = helpers.mbsync_changes(sync.sync())
    assert changes == [], changes  # a flag change is read with FLAGS, not a body download, and not pushed back
    answered = [p for p in (sync.local / "Archive" / "2023").rglob("*,U=1:2,*")]
    assert len(answered) == 1 and "R" in answered[0].name.split(":2,")[1], answered
    local = {p.name for p in sync.local.rglob("*") if p.parent.name in ("cur", "new")}
    assert aerie.stop() == 0

    dovecot.start()
    sync.point_at(dovecot.imaps_port, aerie.tls.ca)
    changes = helpers.mbsync_changes(sync.sync())
    assert changes == [], changes
    assert {p.name for p in sync.local.rglob("*") if p.parent.name in ("cur", "new")} == local
    dovecot.stop()
    assert dovecot.problems() == [], "\n".join(dovecot.problems())
