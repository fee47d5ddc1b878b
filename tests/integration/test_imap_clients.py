"""IMAP with two more real clients over implicit TLS, checked against what imaplib APPENDed: curl's imaps:// URLs
(RFC 5092: mailbox listing, `;UID=` fetch, SEARCH query, a custom EXAMINE) and fetchmail (IMAP, `keep`, an MDA that
writes files), byte for byte."""

from __future__ import annotations

import os
import re
import shutil
import stat

import pytest

import helpers
from helpers import crlf, make_message, strip_delivery_headers

PW = helpers.MAIL_PASSWORD


@pytest.fixture(scope="module")
def mail(aerie_bin, ca_dir, vmail, request):
    failed_before = request.session.testsfailed
    directory = helpers.private_dir("clients")
    server = helpers.make_mail_server(aerie_bin, directory / "srv", ca_dir,
                                      helpers.make_mail_users(["curly", "fetchy"]))
    yield server
    rc = server.stop_if_running()
    if rc == 0 and request.session.testsfailed == failed_before:
        helpers.remove_private_dir(directory)
    assert rc == 0, f"aerie serve exited {rc} on SIGTERM:\n{server.log()[-3000:]}"


def sample_messages(user: str) -> list[bytes]:
    """A plain message, one with dot lines, an 8-bit one, a ~300 KB one (several FETCH chunks)."""
    return [
        make_message(f"{user}-1@clients.test", subject="plain", to=f"{user}@example.test"),
        make_message(f"{user}-2@clients.test", subject="dots", to=f"{user}@example.test",
                     body=b".starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n"),
        make_message(f"{user}-3@clients.test", subject="8bit", to=f"{user}@example.test",
                     body="Grüße aus Köln – ½ € 😀\r\n".encode()).replace(b"us-ascii", b"utf-8"),
        make_message(f"{user}-4@clients.test", subject="large", to=f"{user}@example.test", size=300_000),
    ]


def append_all(mail, user: str, messages: list[bytes], mailbox: str = "INBOX") -> list[int]:
    c = helpers.imap_login(mail, user, PW)
    uids = []
    try:
        for m in messages:
            typ, data = c.append(mailbox, None, None, m)
            assert typ == "OK", data
            uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
    finally:
        c.logout()
    return uids


def curl(mail, user: str, url_path: str, *args: str) -> helpers.subprocess.CompletedProcess:
    exe = shutil.which("curl")
    if not exe:
        pytest.fail("curl missing (scripts/test.sh installs it)")
    url = f"imaps://localhost:{mail.imaps_port}/{url_path}"
    r = helpers.run([exe, "--silent", "--show-error", "--max-time", "30", "--cacert", str(mail.tls.ca),
                     "--resolve", f"localhost:{mail.imaps_port}:127.0.0.1", "--user", f"{user}:{PW}", *args, url],
                    text=False)
    return r


# ---------------------------------------------------------------------------------------------------- curl


def test_curl_lists_mailboxes(mail):
    c = helpers.imap_login(mail, "curly", PW)
    try:
        sep = helpers.hierarchy_separator(c)  # "." with the default config, as Dovecot's Maildir++
        for box in ("Archive", f"Archive{sep}2024", "Sent"):
            assert c.create(box)[0] == "OK"
    finally:
        c.logout()
    r = curl(mail, "curly", "")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    names = sorted(line.rsplit(" ", 1)[1].strip('"') for line in lines)
    assert names == ["Archive", f"Archive{sep}2024", "INBOX", "Sent"], lines
    assert all(re.match(rf'^\* LIST \([^)]*\) "{re.escape(sep)}" ', line) for line in lines), lines
    # A mailbox in the URL and no message part: curl LISTs with that reference.
    r = curl(mail, "curly", "Archive")
    assert r.returncode == 0, r.stderr
    listed = sorted(line.rsplit(" ", 1)[1].strip('"') for line in r.stdout.decode().splitlines())
    assert listed == ["Archive", f"Archive{sep}2024"], r.stdout


def test_curl_fetches_by_uid_and_searches(mail):
    sent = sample_messages("curly")
    uids = append_all(mail, "curly", [make_message("curly-gone@clients.test", subject="gone")] + sent)
    # Expunge the first so UIDs and sequence numbers differ: `;UID=` must mean the UID.
    c = helpers.imap_login(mail, "curly", PW)
    try:
        assert c.select("INBOX")[0] == "OK"
        assert c.uid("STORE", str(uids[0]), "+FLAGS", r"(\Deleted)")[0] == "OK"
        assert c.expunge()[0] == "OK"
    finally:
        c.logout()
    for uid, message in zip(uids[1:], sent):
        r = curl(mail, "curly", f"INBOX;UID={uid}")
        assert r.returncode == 0, r.stderr
        assert r.stdout == message, (uid, len(r.stdout), len(message))
    # A section: just the header of the second message.
    r = curl(mail, "curly", f"INBOX;UID={uids[2]}/;SECTION=HEADER")
    assert r.returncode == 0, r.stderr
    assert r.stdout == helpers.split_message(sent[1])[0]
    # A UID that does not exist: curl fails instead of printing something else.
    r = curl(mail, "curly", f"INBOX;UID={uids[-1] + 100}")
    assert r.returncode != 0 and r.stdout == b"", (r.returncode, r.stdout[:200])
    # The URL's query is a SEARCH: curl prints the untagged reply (sequence numbers).
    r = curl(mail, "curly", "INBOX?SUBJECT%20dots")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == "* SEARCH 2", r.stdout
    r = curl(mail, "curly", "INBOX?ALL")
    assert r.stdout.decode().strip() == "* SEARCH 1 2 3 4", r.stdout


def test_curl_custom_examine(mail):
    c = helpers.imap_login(mail, "curly", PW)
    try:
        typ, data = c.status("INBOX", "(MESSAGES UIDVALIDITY UIDNEXT)")
        assert typ == "OK", data
        status = dict(re.findall(r"(\w+) (\d+)", data[0].decode().split("(", 1)[1]))
    finally:
        c.logout()
    r = curl(mail, "curly", "", "--request", "EXAMINE INBOX")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert f"* {status['MESSAGES']} EXISTS" in out, out
    assert f"[UIDVALIDITY {status['UIDVALIDITY']}]" in out, out
    assert f"[UIDNEXT {status['UIDNEXT']}]" in out, out
    assert re.search(r"^\* FLAGS \(", out, re.M), out
    # EXAMINE is read-only: the session's PERMANENTFLAGS is empty (RFC 9051 §6.3.3).
    assert "[PERMANENTFLAGS ()]" in out, out


# ---------------------------------------------------------------------------------------------------- fetchmail


def fetchmail(tmp_path, mail, user: str, out_dir, options: str) -> helpers.subprocess.CompletedProcess:
    exe = shutil.which("fetchmail")
    if not exe:
        pytest.fail("fetchmail missing (scripts/test.sh installs it)")
    home = tmp_path / "fmhome"
    home.mkdir(exist_ok=True)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no bouncemail\nset no syslog\n"
        f"poll localhost via 127.0.0.1 with protocol IMAP port {mail.imaps_port}\n"
        f'  user "{user}" there with password "{PW}" is root here\n'
        f"  ssl sslcertck sslcertfile {mail.tls.ca} sslcommonname localhost sslproto TLS1.2+ {options}\n"
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out_dir}/msg.XXXXXX)'\"\n")
    os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    return helpers.run([exe, "-f", str(rc), "-N", "--nosyslog", "-v"], env=env, timeout=90)


def test_fetchmail_imap_keep_gets_every_byte(mail, tmp_path):
    sent = sample_messages("fetchy")
    append_all(mail, "fetchy", sent)
    out = tmp_path / "fetched"
    out.mkdir()
    r = fetchmail(tmp_path, mail, "fetchy", out, "keep fetchall")
    assert r.returncode == 0, f"fetchmail exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert "4 messages" in r.stderr + r.stdout, r.stderr
    files = sorted(out.iterdir())
    assert len(files) == len(sent), (files, r.stderr)
    # fetchmail prepends its Received header (and the MDA gets LF line endings); with that removed, each file is
    # the APPENDed message.
    got = sorted(strip_delivery_headers(f.read_bytes()) for f in files)
    assert got == sorted(crlf(m) for m in sent)
    for f in files:
        received = helpers.header_values(f.read_bytes(), "Received")
        assert len(received) == 1 and "with IMAP (fetchmail" in received[0], received
    # keep: nothing was deleted on the server, and fetchmail marked what it read \Seen.
    c = helpers.imap_login(mail, "fetchy", PW)
    try:
        typ, data = c.select("INBOX", readonly=True)
        assert int(data[0]) == len(sent)
        typ, data = c.uid("SEARCH", "UNSEEN")
        assert data == [b""], data
        typ, data = c.uid("SEARCH", "DELETED")
        assert data == [b""], data
    finally:
        c.logout()
    # Without fetchall fetchmail takes only unseen messages: a second run fetches none.
    again = tmp_path / "again"
    again.mkdir()
    r = fetchmail(tmp_path, mail, "fetchy", again, "keep")
    assert r.returncode == 1, f"fetchmail (nothing new) exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert list(again.iterdir()) == []
