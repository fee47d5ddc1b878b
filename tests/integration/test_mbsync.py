"""mbsync (isync 1.4) against Aerie over IMAPS: a two-way sync of a local Maildir of ~2,000 messages in four folders
(one nested), checked over IMAP with imaplib. The initial push must arrive byte for byte (LF -> CRLF) with its flags,
every UID mbsync learns from APPENDUID (RFC 4315) must name that message on the server, a flag set on either side
must reach the other, an expunge on either side must remove the message on the other, a folder made locally must be
created on the server, and a sync with nothing changed must change nothing on either side."""

from __future__ import annotations

import base64
import imaplib
import os
import random
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

import helpers
from helpers import crlf

USER = "mbs"
PW = helpers.MAIL_PASSWORD
# Local folder (mbsync "Verbatim" layout, "/" separated) -> number of messages generated in it.
FOLDERS = {"INBOX": 900, "Archive": 600, "Work": 300, "Lists/Dev": 200}
TOTAL = sum(FOLDERS.values())


# ---------------------------------------------------------------------------------------------------- a local Maildir

WORDS = ("the quarterly numbers are in and we should meet on Thursday to discuss the budget for next year; please "
         "bring the slides, the draft contract and any open questions about the migration of the mail servers").split()
NAMES = ["Alice Example <alice@example.com>", "Bob Builder <bob@example.net>", "Carol <carol@example.org>",
         "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>", "dev-list <dev@lists.example.org>"]


def realistic_message(rng: random.Random, folder: str, i: int) -> bytes:
    """A small message as a mail client would store it in Maildir: LF line endings, varied headers, sometimes a
    multipart/mixed with a base64 attachment, sometimes a reply with In-Reply-To."""
    date = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=37 * i + 5 * len(folder))
    sender, to = rng.choice(NAMES), rng.choice(NAMES)
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
    msgid = f"<{folder.replace('/', '.')}-{i}-{rng.getrandbits(32):08x}@example.com>"
    head = [f"From: {sender}", f"To: {to}", f"Subject: {'Re: ' if i % 4 == 1 else ''}{subject}",
            f"Date: {format_datetime(date)}", f"Message-ID: {msgid}", "MIME-Version: 1.0"]
    if i % 4 == 1:
        head.append(f"In-Reply-To: <{folder.replace('/', '.')}-{i - 1}@example.com>")
    if folder == "Lists/Dev":
        head += ["List-Id: Developers <dev.lists.example.org>", "Precedence: list"]
    paragraphs = ["\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
                            for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 4))]
    text = "\n\n".join(paragraphs) + "\n"
    if i % 7 == 3:
        text += ".a line that starts with a dot\n"
    if i % 10 == 0:
        b64 = base64.encodebytes(rng.randbytes(rng.randint(200, 1500))).decode()
        head.append(f'Content-Type: multipart/mixed; boundary="b-{i}"')
        body = (f"--b-{i}\nContent-Type: text/plain; charset=us-ascii\n\n{text}\n"
                f"--b-{i}\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
                f'Content-Disposition: attachment; filename="data-{i}.bin"\n\n{b64}--b-{i}--\n')
    else:
        head.append("Content-Type: text/plain; charset=us-ascii")
        body = text
    return ("\n".join(head) + "\n\n" + body).encode()


def initial_flags(i: int) -> str:
    """Maildir info flags of generated message i: most read, some flagged, some answered."""
    flags = ""
    if i % 11 == 0:
        flags += "F"
    if i % 5 == 0:
        flags += "R"
    if i % 3 != 0:
        flags += "S"
    return flags


def maildir_path(root: Path, folder: str) -> Path:
    return root / folder


def write_local_maildir(root: Path) -> dict[str, list[tuple[bytes, str]]]:
    """Writes every folder's messages into cur/ (names without ,U= so mbsync treats them as new); returns
    {folder: [(bytes, flags)]}."""
    rng = random.Random(20240101)
    out: dict[str, list[tuple[bytes, str]]] = {}
    for folder, count in FOLDERS.items():
        d = maildir_path(root, folder)
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        out[folder] = []
        for i in range(count):
            data, flags = realistic_message(rng, folder, i), initial_flags(i)
            (d / "cur" / f"1704067200.M{i}P{os.getpid()}.client:2,{flags}").write_bytes(data)
            out[folder].append((data, flags))
    return out


def local_messages(root: Path, folder: str) -> dict[int, tuple[str, Path]]:
    """{UID mbsync recorded in the file name (,U=N): (maildir flags, path)} of a local folder."""
    out = {}
    d = maildir_path(root, folder)
    for sub in ("cur", "new"):
        for f in (d / sub).iterdir():
            m = re.search(r",U=(\d+)", f.name)
            assert m, f"local file without a UID after sync: {f}"
            flags = f.name.rsplit(":2,", 1)[1] if ":2," in f.name else ""
            out[int(m.group(1))] = (flags, f)
    return out


# ---------------------------------------------------------------------------------------------------- the server side


def server_folder(c, local_folder: str) -> str:
    """The server's name of a local folder: mbsync's Verbatim layout separates levels with '/', the server with the
    separator it announces ('.' by default on Maildir++, as Dovecot's)."""
    return local_folder.replace("/", helpers.hierarchy_separator(c))


def imap(server) -> imaplib.IMAP4_SSL:
    return helpers.imap_login(server, USER, PW)


def server_state(server, folder: str) -> tuple[int, int, dict[int, tuple[set[str], bytes]]]:
    """(UIDVALIDITY, UIDNEXT, {uid: (flags, message bytes)}) of the server mailbox of a local folder, read-only."""
    c = imap(server)
    try:
        typ, data = c.select(f'"{server_folder(c, folder)}"', readonly=True)
        assert typ == "OK", (folder, data)
        uidvalidity = int(c.response("UIDVALIDITY")[1][0])
        uidnext = int(c.response("UIDNEXT")[1][0])
        out: dict[int, tuple[set[str], bytes]] = {}
        if int(data[0]) > 0:
            typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            assert typ == "OK", data
            for item in data:
                if isinstance(item, tuple):
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                    flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())
                    out[uid] = (flags, item[1])
        return uidvalidity, uidnext, out
    finally:
        c.logout()


def without_tuid(data: bytes) -> bytes:
    """A message as mbsync uploaded it, minus the one `X-TUID:` header isync 1.4 adds to every message it
    propagates (to find it again after an interrupted sync; it does so with Dovecot too)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    tuids = [l for l in lines if l.startswith(b"X-TUID: ")]
    assert len(tuids) == 1, head
    return b"\r\n".join(l for l in lines if not l.startswith(b"X-TUID: ")) + sep + body


MAILDIR_TO_IMAP = {"S": r"\Seen", "F": r"\Flagged", "R": r"\Answered", "T": r"\Deleted", "D": r"\Draft"}


def imap_flags(maildir_flags: str) -> set[str]:
    return {MAILDIR_TO_IMAP[c] for c in maildir_flags}


@pytest.fixture(scope="module")
def mbsync_env(aerie_bin, ca_dir, vmail, request):
    if shutil.which("mbsync") is None:
        pytest.fail("mbsync missing (scripts/test.sh installs Debian's isync)")
    failed_before = request.session.testsfailed
    directory = helpers.private_dir("mbsync", memory=True)
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir, helpers.make_mail_users([USER]))
    try:
        sync = helpers.MBSync(directory, server.imaps_port, server.tls.ca, USER, PW)
        generated = write_local_maildir(sync.local)
        started = time.monotonic()
        first = sync.sync()
        print(f"initial mbsync push of {TOTAL} messages: {time.monotonic() - started:.1f} s")
    except BaseException:
        server.stop_if_running()
        raise
    yield server, sync, generated, first
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


# ---------------------------------------------------------------------------------------------------- tests


def test_initial_push_arrives_whole(mbsync_env):
    server, sync, generated, first = mbsync_env
    # mbsync found UIDPLUS and used APPENDUID, so it never had to add an X-TUID header and search for it.
    commands = helpers.mbsync_commands(first)
    appends = [c for c in commands if c.startswith("APPEND ")]
    assert len(appends) == TOTAL, (len(appends), commands[:20])
    assert not [c for c in commands if "X-TUID" in c], "mbsync fell back to searching for X-TUID"
    c = imap(server)
    try:
        typ, listing = c.list()
        assert typ == "OK", listing
        names = {re.search(rb'"([^"]*)"$|(\S+)$', line).group(0).strip(b'"').decode() for line in listing}
        server_names = {folder: server_folder(c, folder) for folder in generated}
    finally:
        c.logout()
    assert server_names["Lists/Dev"] == "Lists.Dev"  # the default config: Dovecot's Maildir++ separator
    for folder, messages in generated.items():
        assert server_names[folder] in names, (folder, names)
        _, uidnext, on_server = server_state(server, folder)
        assert len(on_server) == len(messages), folder
        # Byte for byte (mbsync converts LF to CRLF on upload), with the flags the local file names carried.
        want = sorted((crlf(data), imap_flags(flags)) for data, flags in messages)
        got = sorted((without_tuid(data), flags - {r"\Recent"}) for flags, data in on_server.values())
        assert [d for d, _ in got] == [d for d, _ in want], folder
        assert sorted(sorted(f) for _, f in got) == sorted(sorted(f) for _, f in want), folder
        # Every local file now carries the server UID mbsync learnt from APPENDUID; it names the same message.
        local = local_messages(sync.local, folder)
        assert set(local) == set(on_server), folder
        for uid, (_, path) in local.items():
            assert crlf(path.read_bytes()) == without_tuid(on_server[uid][1]), (folder, uid, path)
        assert uidnext == max(on_server) + 1, folder


def snapshot(server, sync) -> dict:
    state = {}
    for folder in FOLDERS:
        uidvalidity, uidnext, msgs = server_state(server, folder)
        local = {uid: (flags, p.name) for uid, (flags, p) in local_messages(sync.local, folder).items()}
        state[folder] = (uidvalidity, uidnext, {u: sorted(f - {r"\Recent"}) for u, (f, _) in msgs.items()}, local)
    return state


def test_second_sync_changes_nothing(mbsync_env):
    server, sync, _, _ = mbsync_env
    before = snapshot(server, sync)
    changes = helpers.mbsync_changes(sync.sync())
    assert changes == [], changes
    assert snapshot(server, sync) == before


def test_flag_set_locally_reaches_server(mbsync_env):
    server, sync, _, _ = mbsync_env
    local = local_messages(sync.local, "Work")
    targets = sorted(uid for uid, (flags, _) in local.items() if "F" not in flags)[:25]
    for uid in targets:
        flags, path = local[uid]
        new = "".join(sorted(set(flags) | {"F"}))
        path.rename(path.with_name(path.name.rsplit(":2,", 1)[0] + ":2," + new))
    sync.sync()
    _, _, on_server = server_state(server, "Work")
    for uid in targets:
        assert r"\Flagged" in on_server[uid][0], (uid, on_server[uid][0])
    # And nothing else on the server gained the flag.
    flagged = {uid for uid, (f, _) in on_server.items() if r"\Flagged" in f}
    assert flagged == {uid for uid, (f, _) in local_messages(sync.local, "Work").items() if "F" in f}


def test_flag_set_on_server_reaches_local_file_names(mbsync_env):
    server, sync, _, _ = mbsync_env
    _, _, before = server_state(server, "INBOX")
    unseen = sorted(uid for uid, (f, _) in before.items() if r"\Seen" not in f)
    targets, cleared = unseen[:30], sorted(uid for uid, (f, _) in before.items() if r"\Flagged" in f)[:10]
    c = imap(server)
    try:
        assert c.select("INBOX")[0] == "OK"
        assert c.uid("STORE", ",".join(map(str, targets)), "+FLAGS.SILENT", r"(\Seen)")[0] == "OK"
        assert c.uid("STORE", ",".join(map(str, cleared)), "-FLAGS.SILENT", r"(\Flagged)")[0] == "OK"
    finally:
        c.logout()
    sync.sync()
    local = local_messages(sync.local, "INBOX")
    for uid in targets:
        assert "S" in local[uid][0], (uid, local[uid][1].name)
    for uid in cleared:
        assert "F" not in local[uid][0], (uid, local[uid][1].name)
    untouched = sorted(set(unseen) - set(targets))
    assert untouched and all("S" not in local[uid][0] for uid in untouched)


def test_expunge_locally_removes_on_server(mbsync_env):
    server, sync, _, _ = mbsync_env
    local = local_messages(sync.local, "Archive")
    victims = sorted(local)[100:140]
    for uid in victims:
        local[uid][1].unlink()
    sync.sync()
    _, _, on_server = server_state(server, "Archive")
    assert not set(victims) & set(on_server), sorted(set(victims) & set(on_server))
    assert set(on_server) == set(local_messages(sync.local, "Archive"))
    assert len(on_server) == FOLDERS["Archive"] - len(victims)


def test_expunge_on_server_removes_local_files(mbsync_env):
    server, sync, _, _ = mbsync_env
    _, _, before = server_state(server, "Lists/Dev")
    victims = sorted(before)[::10]
    c = imap(server)
    try:
        assert c.select(f'"{server_folder(c, "Lists/Dev")}"')[0] == "OK"
        assert c.uid("STORE", ",".join(map(str, victims)), "+FLAGS.SILENT", r"(\Deleted)")[0] == "OK"
        assert c.expunge()[0] == "OK"
    finally:
        c.logout()
    sync.sync()
    local = local_messages(sync.local, "Lists/Dev")
    assert not set(victims) & set(local)
    assert set(local) == set(before) - set(victims)


def test_folder_created_locally_appears_on_server(mbsync_env):
    server, sync, _, _ = mbsync_env
    rng = random.Random(7)
    d = maildir_path(sync.local, "Projects/Aerie")
    for sub in ("cur", "new", "tmp"):
        (d / sub).mkdir(parents=True)
    sent = [realistic_message(rng, "Projects/Aerie", i) for i in range(12)]
    for i, data in enumerate(sent):
        (d / "new" / f"1704067300.M{i}P1.client").write_bytes(data)
    sync.sync()
    c = imap(server)
    try:
        typ, listing = c.list('""', "Projects*")
        assert typ == "OK"
        name = server_folder(c, "Projects/Aerie").encode()
        assert any(line.endswith(b'"' + name + b'"') or line.endswith(b" " + name) for line in listing), listing
    finally:
        c.logout()
    _, _, on_server = server_state(server, "Projects/Aerie")
    assert sorted(without_tuid(d) for _, d in on_server.values()) == sorted(crlf(m) for m in sent)
    # Messages from new/ are unseen: no \Seen on the server either.
    assert all(r"\Seen" not in f for f, _ in on_server.values())


def test_message_appended_on_server_is_pulled(mbsync_env):
    server, sync, _, _ = mbsync_env
    message = helpers.make_message("pulled-1@example.com", subject="made on the server", to="mbs@example.test")
    c = imap(server)
    try:
        typ, data = c.append("Work", r"(\Answered)", None, message)
        assert typ == "OK", data
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    finally:
        c.logout()
    sync.sync()
    local = local_messages(sync.local, "Work")
    assert uid in local
    flags, path = local[uid]
    assert flags == "R"
    # mbsync stores it with LF line endings (and its X-TUID header, as on upload).
    assert without_tuid(crlf(path.read_bytes())) == message


def test_final_sync_is_idempotent(mbsync_env):
    server, sync, _, _ = mbsync_env
    before = snapshot(server, sync)
    changes = helpers.mbsync_changes(sync.sync())
    assert changes == [], changes
    assert snapshot(server, sync) == before
