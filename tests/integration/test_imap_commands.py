"""Every IMAP command and the extensions clients rely on, driven by real clients (issue 3): Python's imaplib as an
IMAP4rev1 client (modified UTF-7 names, ENABLE, LITERAL+ appends, UID forms) and imapclient (PyPI) for CONDSTORE,
QRESYNC, ESEARCH, IDLE. test_mail.py covers the basic round trip, concurrency and bounds; this file covers the rest of
RFC 9051/3501 and the extensions, each test in folders of its own."""

import imaplib
import re
import time

import pytest
from imapclient import IMAPClient

import helpers

CONFIG = """\
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
  mailbox Junk {
    special_use = \\Junk
  }
}
"""


def message(subject: str, body: str = "Hello.", extra_headers: str = "", date: str = "Tue, 24 Nov 2026 10:00:00 +0000") -> bytes:
    return (
        f"From: Alice Example <alice@example.com>\r\n"
        f"To: Bob <bob@example.com>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.com>\r\n"
        f"{extra_headers}"
        f"\r\n"
        f"{body}\r\n"
    ).encode()


MULTIPART = (
    b"From: Carol <carol@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
    b"Date: Wed, 25 Nov 2026 08:30:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"RGllIFphaGxlbiBzaW5kIGRhOiBmw7xuZnVuZHp3YW56aWcgS8OkbGJlci4=\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream; name=data.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgcICQ==\r\n"
    b"--b1--\r\n"
)


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(name="commands", extra=CONFIG)


def user(srv):
    return srv.users["sha512"]


def imaplib_client(srv) -> imaplib.IMAP4_SSL:
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=helpers.client_context(), timeout=15)
    m.login(user(srv).name, user(srv).password)
    return m


def imapclient_client(srv) -> IMAPClient:
    c = IMAPClient("127.0.0.1", port=srv.imaps_port, ssl=True, ssl_context=helpers.client_context(), timeout=15)
    c.login(user(srv).name, user(srv).password)
    return c


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def joined(data) -> bytes:
    """imaplib's response list flattened: literal tuples become their header + body."""
    out = []
    for part in data:
        if isinstance(part, tuple):
            out.extend(part)
        elif part is not None:
            out.append(part)
    return b" ".join(out)


def list_entries(lines) -> dict[str, set[str]]:
    """LIST responses as {name: {attributes}} (attribute order is the server's choice)."""
    out = {}
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        m = re.fullmatch(r'\(([^)]*)\) "/" (.+)', line)
        assert m, line
        out[m.group(2)] = set(m.group(1).split())
    return out


def test_capabilities_namespace_and_auto_special_use_mailboxes(srv):
    m = imaplib_client(srv)
    caps = set(ok(m.capability())[0].decode().split())
    for cap in ("IMAP4rev2", "IMAP4rev1", "ENABLE", "LITERAL+", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT",
                "CHILDREN", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "CONDSTORE", "QRESYNC", "ESEARCH",
                "SEARCHRES", "STATUS=SIZE", "SAVEDATE", "OBJECTID", "UTF8=ACCEPT", "BINARY", "MULTIAPPEND"):
        assert cap in caps, cap
    assert ok(m.namespace())[0] == b'(("" "/")) NIL NIL'
    # First login: the configured mailboxes exist; "auto = subscribe" ones are subscribed, "create" ones are not.
    listed = {d.decode() for d in ok(m.list())}
    for name in ("INBOX", "Drafts", "Sent", "Trash"):
        assert any(line.endswith(f' "/" {name}') for line in listed), (name, listed)
    assert not any(line.endswith(' "/" Junk') for line in listed), listed  # auto = no
    subscribed = {d.decode().rsplit(" ", 1)[-1] for d in ok(m.lsub())}
    assert {"Drafts", "Sent"} <= subscribed and "Trash" not in subscribed, subscribed
    # RFC 6154 §2: the attributes come with LIST; LIST (SPECIAL-USE) lists only those mailboxes.
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"')
    assert typ == "OK"
    special = list_entries(m._untagged_response(typ, data, "LIST")[1])
    assert special == {"Drafts": {"\\HasNoChildren", "\\Drafts"}, "Sent": {"\\HasNoChildren", "\\Sent"},
                       "Trash": {"\\HasNoChildren", "\\Trash"}}, special
    ok(m.noop())
    m.logout()


def test_subscribe_unsubscribe_lsub_and_list_extended(srv):
    m = imaplib_client(srv)
    ok(m.create("Lists/Alpha"))
    ok(m.create("Lists/Beta"))
    ok(m.subscribe("Lists/Alpha"))
    assert any(d.endswith(b"Lists/Alpha") for d in ok(m.lsub('""', "Lists/*")))
    ok(m.unsubscribe("Lists/Alpha"))
    assert ok(m.lsub('""', "Lists/*")) == [None]
    ok(m.subscribe("Lists/Beta"))
    ok(m.append("Lists/Beta", None, None, message("one")))
    # RFC 5258 selection (SUBSCRIBED) + RFC 5819 RETURN (STATUS …) + CHILDREN.
    typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', '"Lists/*"', "RETURN", "(CHILDREN STATUS (MESSAGES UIDNEXT))")
    assert typ == "OK"
    lines = list_entries(m._untagged_response(typ, data, "LIST")[1])
    assert lines == {"Lists/Beta": {"\\Subscribed", "\\HasNoChildren"}}, lines
    status = [d.decode() for d in m.untagged_responses.pop("STATUS", [])]
    assert status and re.fullmatch(r"Lists/Beta \(MESSAGES 1 UIDNEXT 2\)", status[0]), status
    # The parent exists as a \HasChildren mailbox (fs-style separator "/", Maildir++ on disk).
    listed = list_entries(ok(m.list('""', "Lists")))
    assert listed in ({"Lists": {"\\HasChildren"}}, {"Lists": {"\\HasChildren", "\\Noselect"}}), listed
    m.logout()


def test_lsub_lists_unsubscribed_parent_and_recursivematch_childinfo(srv):
    """RFC 3501 §6.3.9: a subscribed child under an unsubscribed parent shows the parent \\Noselect where `%` stops;
    RFC 5258 §3.5: LIST (SUBSCRIBED RECURSIVEMATCH) shows that parent with CHILDINFO."""
    m = imaplib_client(srv)
    ok(m.create("Nested/Child"))
    ok(m.subscribe("Nested/Child"))
    assert ok(m.lsub('""', "Nested%")) == [b'(\\Noselect) "/" Nested']
    typ, data = m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', "Nested%")
    assert typ == "OK"
    # Nested exists only as the parent of Nested/Child (Maildir++), hence \\Noselect.
    assert [d.decode() for d in m._untagged_response(typ, data, "LIST")[1]] == [
        '(\\HasChildren \\Noselect) "/" Nested ("CHILDINFO" ("SUBSCRIBED"))'], data
    m.logout()


def test_big_literal_outside_append_is_refused(srv):
    """Only APPEND streams big literals to disk; a SEARCH literal of 300000 octets was searched as an empty string
    (matching every message). It is refused before it is sent, and the session goes on."""
    raw = helpers.RawIMAP(srv.imaps_port, tls=True)
    raw.run("l", f'LOGIN {user(srv).name} "{user(srv).password}"')
    raw.run("s", "SELECT INBOX")
    raw.cmd("a SEARCH TEXT {300000}")
    line = raw.readline()
    assert line.startswith("a BAD [TOOBIG]"), line
    _, done = raw.run("b", "SEARCH TEXT {5+}\r\nHello")
    assert done.startswith("b OK"), done
    raw.run("z", "LOGOUT")
    raw.close()


def test_status_items_examine_is_read_only_check_close_unselect(srv):
    m = imaplib_client(srv)
    ok(m.create("States"))
    for i in range(3):
        ok(m.append("States", r"(\Seen)" if i == 0 else None, None, message(f"state {i}", "x" * (100 * i))))
    data = ok(m.status("States", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE DELETED APPENDLIMIT RECENT)"))
    items = dict(re.findall(rb"(\w+) (\d+)", data[0].split(b"(", 1)[1]))
    assert items[b"MESSAGES"] == b"3" and items[b"UIDNEXT"] == b"4" and items[b"UNSEEN"] == b"2", data
    assert items[b"DELETED"] == b"0" and int(items[b"APPENDLIMIT"]) > 0, data
    sizes = [len(message(f"state {i}", "x" * (100 * i))) for i in range(3)]
    assert int(items[b"SIZE"]) == sum(sizes), (data, sizes)
    # EXAMINE: read-only, STORE is refused, \Seen is not set by a FETCH of the body.
    typ, data = m.select("States", readonly=True)
    assert typ == "OK" and data == [b"3"]
    assert "READ-ONLY" in m.untagged_responses
    typ, data = m.store("1", "+FLAGS", r"(\Deleted)")
    assert typ == "NO", data
    ok(m.fetch("2", "(BODY[TEXT])"))
    flags = ok(m.fetch("2", "(FLAGS)"))[0]
    assert b"\\Seen" not in flags, flags
    ok(m.check())
    # UNSELECT leaves \Deleted messages; CLOSE expunges them silently.
    m.select("States")
    ok(m.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(m.unselect())
    assert m.status("States", "(MESSAGES DELETED)")[1][0].endswith(b"(MESSAGES 3 DELETED 1)")
    m.select("States")
    ok(m.close())
    assert m.status("States", "(MESSAGES DELETED)")[1][0].endswith(b"(MESSAGES 2 DELETED 0)")
    # A command that needs a selected mailbox, after CLOSE: tagged BAD naming the state, the session goes on.
    m.state = "SELECTED"  # imaplib itself would refuse to send it
    with pytest.raises(imaplib.IMAP4.error, match="BAD.*No mailbox selected"):
        m._simple_command("FETCH", "1", "FLAGS")
    m.state = "AUTH"
    ok(m.noop())
    m.logout()


def test_multiappend_literal_plus_internaldate_and_uidplus(srv):
    m = imaplib_client(srv)
    ok(m.create("Appends"))
    date = imaplib.Time2Internaldate(time.mktime((2025, 3, 4, 5, 6, 7, 0, 1, -1)))
    data = ok(m.append("Appends", r"(\Answered $Label1)", date, message("dated")))
    uidvalidity, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups())
    assert uid == 1
    # RFC 3502 MULTIAPPEND with RFC 7888 LITERAL+ (non-synchronizing literals): one command, two messages, no
    # continuation requests; APPENDUID names both UIDs.
    a, b = message("multi a"), message("multi b")
    raw = helpers.RawIMAP(srv.imaps_port, tls=True)
    raw.run("l", f'LOGIN {user(srv).name} "{user(srv).password}"')
    raw.send(b"m APPEND Appends (\\Seen) {%d+}\r\n%s (\\Flagged) {%d+}\r\n%s\r\n" % (len(a), a, len(b), b))
    _, done = raw.read_tagged("m")
    assert re.match(r"m OK \[APPENDUID %d 2:3\]" % uidvalidity, done), done
    raw.run("z", "LOGOUT")
    raw.close()
    m.select("Appends")
    data = joined(ok(m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE)")))
    assert b'INTERNALDATE "04-Mar-2025' in data, data
    assert re.search(rb"UID 1 FLAGS \((\\Answered \$Label1|\$Label1 \\Answered)\)", data) or (
        b"\\Answered" in data and b"$Label1" in data), data
    # The selecting IMAP4rev1 session is the first to see them: \Recent too (RFC 3501 §2.3.2).
    assert re.search(rb"UID 2 FLAGS \(\\Seen \\Recent\)", data), data
    assert re.search(rb"UID 3 FLAGS \(\\Flagged \\Recent\)", data), data
    assert b"RFC822.SIZE %d" % len(a) in data
    m.logout()


def test_fetch_sections_partial_binary_and_missing_section(srv):
    m = imaplib_client(srv)
    ok(m.create("Sections"))
    ok(m.append("Sections", None, None, MULTIPART))
    m.select("Sections")
    data = ok(m.fetch("1", "(BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[]<0.20>)"))
    literal = {}
    for part in data:
        if isinstance(part, tuple):
            key = re.search(rb"(BODY\[[^\]]*\](?:<\d+>)?) \{\d+\}$", part[0]).group(1)
            literal[key] = part[1]
    assert literal[b"BODY[1.MIME]"] == b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    assert literal[b"BODY[2]"] == b"AAECAwQFBgcICQ=="
    assert literal[b"BODY[HEADER.FIELDS (SUBJECT FROM)]"] == (
        b"From: Carol <carol@example.com>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n\r\n")
    assert literal[b"BODY[]<0>"] == MULTIPART[:20]
    # RFC 3516 BINARY: the decoded content, its size, and BINARY of the text part decoded from base64.
    data = ok(m.fetch("1", "(BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])"))
    flat = joined(data)
    assert bytes(range(10)) in flat and b"BINARY.SIZE[2] 10" in flat, flat
    assert "Die Zahlen sind da: fünfundzwanzig Kälber.".encode() in flat, flat
    # A body section the message does not have: empty (RFC 9051 §6.4.5 leaves it to the server; not an error).
    data = joined(ok(m.fetch("1", "(BODY.PEEK[7])")))
    assert b'BODY[7] ""' in data or b"BODY[7] NIL" in data or b"BODY[7] {0}" in data, data
    # BODYSTRUCTURE of the multipart.
    bs = joined(ok(m.fetch("1", "(BODYSTRUCTURE)")))
    assert b'"mixed" ("boundary" "b1")' in bs and b'"application" "octet-stream" ("name" "data.bin")' in bs, bs
    m.logout()


def test_search_mime_decoded_utf8_esearch_and_searchres(srv):
    m = imaplib_client(srv)
    ok(m.create("Searches"))
    ok(m.append("Searches", None, None, message("plain one", "nothing special")))
    ok(m.append("Searches", None, None, MULTIPART))
    ok(m.append("Searches", r"(\Flagged)", None, message("plain two", "Kälber everywhere")))
    m.select("Searches")
    # Header text decoded from RFC 2047, body text decoded from base64, both with CHARSET UTF-8 literals.
    m.literal = "Köln".encode()
    assert ok(m.search("UTF-8", "SUBJECT"))[0] == b"2"
    m.literal = "Kälber".encode()
    assert ok(m.search("UTF-8", "BODY"))[0] == b"2 3"
    assert ok(m.search(None, "OR", "FLAGGED", 'SUBJECT "plain one"'))[0] == b"1 3"
    assert ok(m.search(None, "NOT", "FLAGGED", "LARGER", "400"))[0] == b"2"
    # RFC 4731 ESEARCH return options.
    typ, data = m._simple_command("UID", "SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "ALL")
    assert typ == "OK"
    esearch = m.untagged_responses.pop("ESEARCH")[0].decode()
    assert re.search(r"UID MIN 1 MAX 3 COUNT 3 ALL 1:3$", esearch), esearch
    # RFC 5182 SEARCHRES: SAVE, then "$" in a later command.
    typ, data = m._simple_command("SEARCH", "RETURN", "(SAVE)", "FLAGGED")
    assert typ == "OK"
    data = joined(ok(m.fetch("$", "(UID FLAGS)")))
    assert re.search(rb"3 \(UID 3 FLAGS \(\\Flagged \\Recent\)\)", data) and b"1 (" not in data, data
    m.logout()


def test_store_silent_unchangedsince_copy_move_uid_expunge(srv):
    c = imapclient_client(srv)
    c.create_folder("Stores")
    c.create_folder("Stores/Archive")
    for i in range(4):
        c.append("Stores", message(f"store {i}"))
    c.enable("CONDSTORE")
    info = c.select_folder("Stores")
    highest = info[b"HIGHESTMODSEQ"]
    # STORE .SILENT: no untagged FETCH for the session that stored.
    c.add_flags([1], [b"\\Seen"], silent=True)
    assert b"\\Seen" in c.get_flags([1])[1]
    # RFC 7162 §3.1.3 UNCHANGEDSINCE: message 2 changes after the modseq was read, so its store fails (MODIFIED).
    read_at = max(item[b"MODSEQ"][0] for item in c.fetch([1, 2, 3], ["MODSEQ"]).values())
    c.add_flags([2], [b"$Touched"])
    typ, data = c._imap._simple_command("UID", "STORE", "1:3", "(UNCHANGEDSINCE %d)" % read_at,
                                        "+FLAGS", r"(\Flagged)")
    assert typ == "OK" and b"[MODIFIED 2]" in data[-1], data
    flags = c.get_flags([1, 2, 3])
    assert b"\\Flagged" in flags[1] and b"\\Flagged" not in flags[2] and b"\\Flagged" in flags[3], flags
    assert c.select_folder("Stores")[b"HIGHESTMODSEQ"] > highest
    # COPY and MOVE answer COPYUID (RFC 4315); MOVE expunges from the source.
    typ, data = c._imap._simple_command("UID", "COPY", "1", "Stores/Archive")
    assert typ == "OK" and re.search(rb"\[COPYUID \d+ 1 1\]", data[-1]), data
    typ, data = c._imap._simple_command("UID", "MOVE", "2", "Stores/Archive")
    assert typ == "OK", data
    assert c.search(["ALL"]) == [1, 3, 4]
    assert c.folder_status("Stores/Archive", ["MESSAGES"])[b"MESSAGES"] == 2
    # UID EXPUNGE removes only the named \Deleted message (UID 4 is \Deleted too and stays).
    c.add_flags([3, 4], [b"\\Deleted"])
    c.uid_expunge([3])
    assert c.search(["ALL"]) == [1, 4]
    c.logout()


def test_qresync_vanished_after_another_session_expunges(srv):
    c = imapclient_client(srv)
    c.create_folder("Resync")
    for i in range(5):
        c.append("Resync", message(f"resync {i}"))
    c.enable("QRESYNC")
    info = c.select_folder("Resync")
    uidvalidity, modseq = info[b"UIDVALIDITY"], info[b"HIGHESTMODSEQ"]
    c.logout()
    # Another session expunges UIDs 2 and 4 and flags UID 5.
    other = imapclient_client(srv)
    other.select_folder("Resync")
    other.add_flags([2, 4], [b"\\Deleted"])
    other.add_flags([5], [b"\\Answered"])
    other.expunge()
    other.logout()
    # RFC 7162 §3.2.5: SELECT (QRESYNC (uidvalidity modseq)) reports VANISHED (EARLIER) and the changed flags.
    raw = helpers.RawIMAP(srv.imaps_port, tls=True)
    raw.run("l", f'LOGIN {user(srv).name} "{user(srv).password}"')
    raw.run("e", "ENABLE QRESYNC")
    lines, done = raw.run("s", f"SELECT Resync (QRESYNC ({uidvalidity} {modseq}))")
    assert done.startswith("s OK"), done
    assert "* VANISHED (EARLIER) 2,4" in lines, lines
    assert any(re.match(r"\* 3 FETCH \(.*UID 5.*\\Answered", l) for l in lines), lines
    lines, done = raw.run("f", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert "* VANISHED (EARLIER) 2,4" in lines and done.startswith("f OK"), lines
    raw.run("z", "LOGOUT")
    raw.close()


def test_mailbox_names_modified_utf7_and_utf8_accept(srv):
    m = imaplib_client(srv)
    # RFC 3501 §5.1.3: a rev1 client names "Entwürfe" in modified UTF-7.
    ok(m.create("Entw&APw-rfe"))
    assert any(d.endswith(b'"/" Entw&APw-rfe') for d in ok(m.list('""', "Entw*")))
    m.logout()
    # After ENABLE UTF8=ACCEPT (RFC 6855) the same mailbox is listed in UTF-8, and UTF-8 names are accepted.
    m = imaplib_client(srv)
    typ, data = m.enable("UTF8=ACCEPT")
    assert typ == "OK", data
    listed = [d for d in ok(m._simple_command("LIST", '""', '"Entw*"')) if d]
    listed = m.untagged_responses.pop("LIST", listed)
    assert any("Entwürfe".encode() in d for d in listed), listed
    typ, data = m._simple_command("CREATE", '"Ärger"')
    assert typ == "OK", data
    m.logout()
    m = imaplib_client(srv)
    assert any(d.endswith(b'"/" &AMQ-rger') for d in ok(m.list('""', "*rger")))
    m.logout()


def test_rename_inbox_moves_its_messages_and_delete(srv):
    c = imapclient_client(srv)
    c.select_folder("INBOX")
    before = c.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"]
    c.append("INBOX", message("to be moved by RENAME INBOX"))
    # RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name; INBOX stays, empty.
    c.rename_folder("INBOX", "Old-Inbox")
    assert c.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 0
    assert c.folder_status("Old-Inbox", ["MESSAGES"])[b"MESSAGES"] == before + 1
    c.select_folder("Old-Inbox")
    assert c.search(["SUBJECT", "RENAME INBOX"])
    c.close_folder()
    c.delete_folder("Old-Inbox")
    assert not c.folder_exists("Old-Inbox")
    c.logout()


def test_idle_with_imapclient_hears_flags_and_expunge(srv):
    c = imapclient_client(srv)
    c.create_folder("Idle")
    c.append("Idle", message("idle a"))
    c.append("Idle", message("idle b"))
    c.select_folder("Idle")
    c.idle()
    other = imapclient_client(srv)
    other.select_folder("Idle")
    other.add_flags([1], [b"\\Flagged"])
    other.add_flags([2], [b"\\Deleted"])
    other.expunge()
    other.logout()
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(r[1] == b"EXPUNGE" for r in seen if len(r) > 1):
        seen += c.idle_check(timeout=1)
    c.idle_done()
    assert any(len(r) > 2 and r[1] == b"FETCH" and b"\\Flagged" in r[2][r[2].index(b"FLAGS") + 1] for r in seen), seen
    assert (2, b"EXPUNGE") in seen, seen
    c.logout()
