"""SORT and THREAD (RFC 5256) end to end: imapclient against the release binary, on messages APPENDed by the test,
with the exact order and thread structure worked out by hand from the RFC."""

import re
from datetime import datetime, timezone

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

import helpers


def message(mid: str, subject: str, sender: str, date: str, references: str = "", in_reply_to: str = "") -> bytes:
    lines = [f"Message-ID: <{mid}@t>", f"From: {sender}", "To: list@example.com", f"Subject: {subject}", f"Date: {date}"]
    if references:
        lines.append(f"References: {references}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode()


# (name, message, INTERNALDATE day in March 2026)
MESSAGES = [
    ("a1", message("a1", "Plans", "Carol <carol@example.com>", "Thu, 1 Jan 2026 09:00:00 +0000"), 3),
    ("a2", message("a2", "Re: Plans", "bob@example.com", "Thu, 1 Jan 2026 11:00:00 +0100", "<a1@t>"), 1),
    ("a3", message("a3", "Re: Plans", "Alice <alice@example.com>", "Fri, 2 Jan 2026 08:00:00 -0500",
                   "<a1@t> <a2@t>"), 2),
    ("a4", message("a4", "Lunch?", "dave@example.com", "Thu, 1 Jan 2026 08:00:00 +0000"), 5),
    # Its parent was never delivered: the dummy is pruned and the subject puts it under a4.
    ("a5", message("a5", "Re: Lunch?", "erin@example.com", "Sat, 3 Jan 2026 12:00:00 +0000", in_reply_to="<lost@t>"), 4),
    # Replies to a3 but was sent before it.
    ("a6", message("a6", "Re: Plans", "frank@example.com", "Fri, 2 Jan 2026 10:00:00 +0000", "<a1@t> <a3@t>"), 6),
]


@pytest.fixture(scope="module")
def sorted_mailbox(server):
    u = server.users["sha512"]
    c = IMAPClient("127.0.0.1", port=server.imaps_port, ssl=True, ssl_context=helpers.client_context(), timeout=15)
    c.login(u.name, u.password)
    if not c.folder_exists("Threads"):
        c.create_folder("Threads")
    uid = {}
    for name, body, day in MESSAGES:
        response = c.append("Threads", body, msg_time=datetime(2026, 3, day, 12, 0, tzinfo=timezone.utc))
        uid[name] = int(re.search(rb"APPENDUID \d+ (\d+)", response).group(1))
    c.select_folder("Threads")
    yield c, uid
    c.logout()


def test_capabilities_advertise_sort_and_thread(sorted_mailbox):
    c, _ = sorted_mailbox
    caps = c.capabilities()
    for cap in (b"SORT", b"SORT=DISPLAY", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES"):
        assert cap in caps, caps


def test_sort_orders(sorted_mailbox):
    c, uid = sorted_mailbox

    def names(result):
        by_uid = {v: k for k, v in uid.items()}
        return [by_uid[u] for u in result]

    # Sent dates in UTC: a4 08:00, a1 09:00, a2 10:00 (11:00 +0100) on Jan 1; a6 10:00, a3 13:00 (08:00 -0500) on
    # Jan 2; a5 on Jan 3.
    assert names(c.sort(["REVERSE", "DATE"])) == ["a5", "a3", "a6", "a2", "a1", "a4"]
    assert names(c.sort("ARRIVAL")) == ["a2", "a3", "a1", "a5", "a4", "a6"]
    # addr-mailbox of From, case-insensitively.
    assert names(c.sort("FROM")) == ["a3", "a2", "a1", "a4", "a5", "a6"]
    # Base subjects: "Lunch?" before "Plans"; within each, ARRIVAL.
    assert names(c.sort(["SUBJECT", "ARRIVAL"])) == ["a5", "a4", "a2", "a3", "a1", "a6"]
    # The search criteria pick the messages.
    assert names(c.sort("DATE", ["NOT", "FROM", "frank", "SUBJECT", "plans"])) == ["a1", "a2", "a3"]


def test_thread_structures(sorted_mailbox):
    c, uid = sorted_mailbox
    a1, a2, a3, a4, a5, a6 = (uid[n] for n in ("a1", "a2", "a3", "a4", "a5", "a6"))
    # References chain a1 <- a2 <- a3 <- a6; a5's lost parent goes and the subject joins it to a4, sent first.
    assert c.thread("REFERENCES") == ((a4, a5), (a1, a2, a3, a6))
    # By subject, each group's first sent message is the root and the rest its children, in sent order.
    assert c.thread("ORDEREDSUBJECT") == ((a4, a5), (a1, (a2,), (a6,), (a3,)))
    assert c.thread("REFERENCES", ["FROM", "example.com", "NOT", "SUBJECT", "lunch"]) == ((a1, a2, a3, a6),)


def test_bad_charset_is_refused(sorted_mailbox):
    c, _ = sorted_mailbox
    with pytest.raises(IMAPClientError, match="BADCHARSET"):
        c.sort("DATE", "ALL", charset="ISO-8859-1")
