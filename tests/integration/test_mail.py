"""IMAP mailbox access end to end (issue 3): real clients (imaplib, imapclient) against the release binary on
Maildir, several sessions of one user seeing each other's changes, IDLE, the user+IP connection limit, and the
on-disk format Dovecot reads (dovecot-uidlist v3, `:2,` flags, `,S=,W=` sizes)."""

import imaplib
import os
import re

import pytest
from imapclient import IMAPClient

import helpers

MESSAGE = (
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <report-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The numbers are in.\r\n"
    b".A line that starts with a dot\r\n"
)


@pytest.fixture(scope="module")
def mail(server_factory):
    return server_factory.start(name="mail", extra="mail_max_userip_connections = 3\n")


@pytest.fixture(scope="module")
def account(mail) -> helpers.Account:
    return mail.account("sha512")


def test_append_fetch_roundtrip_and_disk_format(account):
    m = account.imap()
    typ, data = m.append("INBOX", r"(\Flagged)", None, MESSAGE)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    uidvalidity, uid = re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups()
    typ, data = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.uid("FETCH", uid, "(FLAGS RFC822.SIZE BODY.PEEK[] ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK", data
    meta, body = data[0]
    assert body == MESSAGE
    meta = b"".join(part if isinstance(part, bytes) else part[0] for part in data)
    assert rb"RFC822.SIZE %d" % len(MESSAGE) in meta
    assert rb"\Flagged" in meta
    assert b'"Quarterly report"' in meta
    assert b'("text" "plain" ("charset" "utf-8")' in meta
    m.logout()
    # On disk exactly as Dovecot keeps it: private directories, the uidlist v3 header and a line for the UID.
    root = account.maildir
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    uidlist = (root / "dovecot-uidlist").read_text().splitlines()
    assert re.match(r"^3 V%s N\d+" % uidvalidity.decode(), uidlist[0]), uidlist[0]
    assert any(line.startswith(uid.decode() + " ") for line in uidlist[1:]), uidlist
    files = [p for p in (root / "cur").iterdir()]
    assert any(re.search(r",S=\d+,W=%d:2,F$" % len(MESSAGE), p.name) for p in files), [p.name for p in files]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in files)


def test_imapclient_flags_search_copy_move_expunge(account):
    with IMAPClient("127.0.0.1", port=account.server.imaps_port, ssl=True, ssl_context=helpers.client_context(),
                    timeout=15) as c:
        c.login(account.user.name, account.user.password)
        if not c.folder_exists("Archive"):
            c.create_folder("Archive")
        c.select_folder("INBOX")
        c.append("INBOX", MESSAGE.replace(b"Quarterly", b"Weekly"))
        c.select_folder("INBOX")
        found = c.search(["SUBJECT", "Weekly"])
        assert len(found) == 1, found
        c.add_flags(found, [b"\\Seen", b"$Important"])
        flags = c.get_flags(found)[found[0]]
        assert b"\\Seen" in flags and b"$Important" in flags, flags
        assert c.search(["KEYWORD", "$Important"]) == found
        assert c.search(["TEXT", "numbers are in"])  # body search, case-insensitive
        c.copy(found, "Archive")
        assert c.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"] == 1
        c.move(found, "Archive")
        assert c.search(["SUBJECT", "Weekly"]) == []
        status = c.folder_status("Archive", ["MESSAGES", "UIDNEXT", "UIDVALIDITY"])
        assert status[b"MESSAGES"] == 2, status
        c.select_folder("Archive")
        c.delete_messages(c.search(["ALL"]))
        c.expunge()
        assert c.search(["ALL"]) == []


def test_list_status_namespace_and_rename(account):
    """With no namespace separator configured, Maildir++ names use ".", as Dovecot's default does."""
    m = account.imap()
    assert m.create("Projects.2026")[0] == "OK"
    typ, data = m.list()
    names = [d.decode() for d in data]
    assert any(n.endswith('"." INBOX') for n in names), names
    assert '(\\HasChildren \\Noselect) "." Projects' in names and '(\\HasNoChildren) "." Projects.2026' in names, names
    assert m.rename("Projects.2026", "Projects.2027")[0] == "OK"
    typ, data = m.status("Projects.2027", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and data[0].startswith(b"Projects.2027 (MESSAGES 0"), data
    typ, data = m.namespace()
    assert data[0] == b'(("" ".")) NIL NIL', data
    assert m.delete("Projects.2027")[0] == "OK"
    typ, data = m.select("No.Such.Box")
    assert typ == "NO"
    # "/" is no separator here, and Maildir++ could not keep it apart from one.
    typ, data = m.create("Projects/2028")
    assert (typ, data) == ("NO", [b"[CANNOT] Invalid mailbox name: Name must not have '/' characters"]), data
    m.logout()


def test_fs_layout_with_a_dot_separator_leaves_a_dotted_directory_alone(server_factory):
    """LAYOUT=fs with `separator = .`, as Dovecot 2.3.19 answers it: a directory `Old.Lists` made by another program
    reads as "Old" > "Lists", which leads to `Old/Lists`, so it is listed \\Noselect and never opened or deleted."""
    srv = server_factory.start(
        name="fsdot", extra="mailbox_list_layout = fs\nnamespace inbox {\n  inbox = yes\n  separator = .\n}\n")
    account = srv.account("sha512")
    m = account.imap()
    dotted = account.maildir / "Old.Lists"
    uid, gid = helpers.vmail_ids()
    for path in (dotted, dotted / "cur", dotted / "new", dotted / "tmp"):
        path.mkdir(mode=0o700)
        os.chown(path, uid, gid)
    (dotted / "new" / "1000.M1P1.elsewhere,S=6").write_bytes(b"hello\n")
    assert m.create("Projects.2026")[0] == "OK"
    assert (account.maildir / "Projects" / "2026" / "cur").is_dir()
    typ, data = m.list()
    assert sorted(d.decode() for d in data) == sorted([
        '(\\HasNoChildren) "." INBOX', '(\\HasChildren \\Noselect) "." Old',
        '(\\HasNoChildren \\Noselect) "." Old.Lists', '(\\HasChildren \\Noselect) "." Projects',
        '(\\HasNoChildren) "." Projects.2026']), data
    assert m.select("Old.Lists")[0] == "NO"
    assert m.delete("Old.Lists")[0] == "NO"
    assert (dotted / "new" / "1000.M1P1.elsewhere,S=6").read_bytes() == b"hello\n"
    typ, data = m.create("Projects/2027")
    assert (typ, data) == ("NO", [b"[CANNOT] Character not allowed in mailbox name: '/'"]), data
    m.logout()


def test_other_session_sees_new_mail_and_expunges(account):
    a = account.imap()
    b = account.imap()
    a.select("INBOX")
    b.select("INBOX")
    before = int(a.select("INBOX")[1][0])
    b.append("INBOX", None, None, MESSAGE)
    typ, data = a.noop()
    assert typ == "OK"
    exists = [int(x.split()[0]) for x in a.untagged_responses.get("EXISTS", [])]
    assert exists and exists[-1] == before + 1, a.untagged_responses
    # b expunges the new message; a hears EXPUNGE at its next NOOP.
    b.store(str(before + 1), "+FLAGS", r"(\Deleted)")
    b.expunge()
    a.noop()
    assert a.untagged_responses.get("EXPUNGE"), a.untagged_responses
    a.logout()
    b.logout()


def test_idle_hears_a_new_message_promptly(account):
    with account.raw() as idler:
        _, done = idler.run("b", "SELECT INBOX")
        assert done.startswith("b OK"), done
        idler.cmd("c IDLE")
        assert idler.readline().startswith("+"), "no IDLE continuation"
        other = account.imap()
        other.append("INBOX", None, None, MESSAGE)
        other.logout()
        line = idler.readline(timeout=5)
        assert re.match(r"^\* \d+ EXISTS$", line), line
        # An IMAP4rev1 session that learns of a message first has it as \Recent (RFC 3501 §2.3.2).
        line = idler.readline(timeout=5)
        assert re.match(r"^\* [1-9]\d* RECENT$", line), line
        idler.send("DONE\r\n")
        assert idler.readline().startswith("c OK"), "IDLE did not end with OK"


def test_user_ip_connection_limit(account):
    held = [account.imap() for _ in range(3)]
    try:
        with pytest.raises(imaplib.IMAP4.abort) as excinfo:
            account.imap()
        assert "mail_max_userip_connections=3" in str(excinfo.value)
    finally:
        for m in held:
            m.logout()
    account.imap().logout()  # slots are released at logout


def test_bad_input_after_login_gets_tagged_bad(account):
    with account.raw() as c:
        c.run("b", "SELECT INBOX")
        _, done = c.run("c", "FETCH 1:* (FLAGS BOGUS)")
        assert done.startswith("c BAD") and "BOGUS" in done, done
        _, done = c.run("d", "SEARCH " + "(" * 1000 + "ALL" + ")" * 1000)
        assert done.startswith("d BAD"), done
        # A 5,000-range set within the line limit is answered, not choked on.
        _, done = c.run("e", "UID FETCH " + ",".join(str(i) for i in range(1, 10001, 2)) + " FLAGS")
        assert done.startswith("e OK"), done[:200]
        _, done = c.run("f", "NOOP")
        assert done.startswith("f OK"), done


def test_big_append_is_streamed_to_disk_as_it_arrives(account):
    """RFC 9051 §6.3.12 APPEND of a 6 MB message: after the first 2 MB the bytes are already in a tmp/ file (the
    server does not hold the literal in memory); when the rest arrives the message is stored whole and tmp/ is empty."""
    body = b"".join(b"line %07d of a big attachment-like body, padded to a sensible length.....\r\n" % i
                    for i in range(80000))
    message = b"From: big@example.com\r\nSubject: big\r\n\r\n" + body
    tmp = account.maildir / "tmp"
    with account.raw() as c:
        c.send(b"b APPEND INBOX (\\Seen) {%d}\r\n" % len(message))
        assert c.readline().startswith("+"), "no continuation for the literal"
        first = 2_000_000
        c.send(message[:first])

        def spooled() -> bool:
            return any(p.stat().st_size >= first - 65536 for p in tmp.iterdir())

        helpers.wait_for(spooled, timeout=10, what="the first 2 MB in a tmp/ file")
        c.send(message[first:] + b"\r\n")
        _, done = c.read_tagged("b", timeout=30)
        assert done.startswith("b OK [APPENDUID "), done
        uid = done.split()[4].rstrip("]")
    assert list(tmp.iterdir()) == []
    m = account.imap()
    m.select("INBOX", readonly=True)
    typ, data = m.uid("FETCH", uid, "(RFC822.SIZE FLAGS BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == message
    assert rb"\Seen" in data[0][0]
    m.logout()
