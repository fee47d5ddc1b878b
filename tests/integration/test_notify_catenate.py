"""NOTIFY (RFC 5465), CONTEXT=SEARCH (RFC 5267 §4) and CATENATE (RFC 4469) over real connections.

The unit tests drive the mail session directly; here the connection itself must deliver NOTIFY events while the
client sends nothing (the server polls while NOTIFY is set), and APPEND CATENATE goes through the framer."""

import pytest

from helpers import RawIMAP

# The poll interval is half a second; a generous bound keeps the test independent of machine speed.
WAIT = 15.0


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(name="notify")


def login(srv) -> RawIMAP:
    return srv.account("sha512").raw()


def literal(text: str) -> str:
    return "{%d+}\r\n%s" % (len(text.encode()), text)


def test_capabilities_after_login(srv):
    c = login(srv)
    untagged, done = c.run("c", "CAPABILITY")
    caps = untagged[0].split()
    for name in ("NOTIFY", "CATENATE", "CONTEXT=SEARCH"):
        assert name in caps
    c.run("z", "LOGOUT")


def test_notify_events_arrive_without_a_command(srv):
    a, b = login(srv), login(srv)
    b.run("1", "CREATE NotifyBox")
    _, done = a.run("2", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))")
    assert done == "2 OK NOTIFY completed."
    _, done = b.run("3", "APPEND NotifyBox " + literal("Subject: n\r\n\r\nx"))
    assert done.startswith("3 OK")
    line = a.readline(timeout=WAIT)
    assert line.startswith("* STATUS NotifyBox (MESSAGES 1 UIDNEXT 2"), line
    b.run("4", "CREATE NotifyNew")
    assert a.readline(timeout=WAIT) == '* LIST () "." NotifyNew'
    _, done = a.run("5", "NOTIFY NONE")
    assert done == "5 OK NOTIFY completed."
    a.run("z", "LOGOUT")
    b.run("z", "LOGOUT")


def test_search_update_and_catenate(srv):
    a, b = login(srv), login(srv)
    b.run("1", "CREATE CatBox")
    _, done = b.run("2", "APPEND CatBox " + literal("From: a@example.com\r\n\r\nHello\r\n"))
    assert done.startswith("2 OK [APPENDUID ")
    a.run("3", "SELECT CatBox")
    untagged, done = a.run("4", "SEARCH RETURN (UPDATE ALL) UNSEEN")
    assert untagged == ['* ESEARCH (TAG "4") ALL 1'] and done.startswith("4 OK")
    _, done = b.run("5", 'APPEND CatBox CATENATE (URL "/CatBox/;UID=1/;SECTION=HEADER" TEXT '
                    + literal("Joined\r\n") + ")")
    assert done.startswith("5 OK [APPENDUID ")
    untagged, done = a.run("6", "NOOP")
    # An IMAP4rev1 session: the new message is \Recent to it (RFC 3501 §2.3.2), and RECENT follows EXISTS.
    assert untagged == ["* 2 EXISTS", "* 2 RECENT", '* ESEARCH (TAG "4") ADDTO (0 2)'] and done.startswith("6 OK")
    a.cmd("7 FETCH 2 BODY.PEEK[]")
    assert a.readline() == "* 2 FETCH (BODY[] {31}"
    assert a.readline() == "From: a@example.com"
    assert a.readline() == ""
    assert a.readline() == "Joined"
    _, done = a.read_tagged("7")
    assert done.startswith("7 OK")
    a.run("z", "LOGOUT")
    b.run("z", "LOGOUT")
