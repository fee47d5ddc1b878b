"""UNAUTHENTICATE (RFC 8437) and ESORT (RFC 5267 §3) end to end: imaplib against the release binary.

UNAUTHENTICATE: a second user on the same connection sees their own INBOX, TLS stays and the login rules stay the
first ones, the user+IP slot is given back, the first user's session is logged out. ESORT: MIN, MAX, COUNT and ALL
over messages with known dates and subjects, worked out by hand from RFC 5256 and RFC 5267."""

import imaplib
import re
import time
import zlib

import pytest

import helpers
from helpers import RawIMAP, capabilities_from

# imaplib does not know the command; it is valid in the authenticated and selected states (RFC 8437 §6).
imaplib.Commands.setdefault("UNAUTHENTICATE", ("AUTH", "SELECTED"))

USER_LIMIT = 2
# UNAUTHENTICATE needs the pre-login commands in the mail process: only without the login process.
UNAUTH = "login_process = no\nimap_unauthenticate = yes\n"


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(name="unauth", extra=UNAUTH + f"mail_max_userip_connections = {USER_LIMIT}\n")


def connect(srv) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, ssl_context=helpers.client_context(), timeout=15)


def login(srv, name: str) -> imaplib.IMAP4_SSL:
    return srv.account(name).imap()


def unauthenticate(m: imaplib.IMAP4) -> None:
    typ, data = m._simple_command("UNAUTHENTICATE")
    assert typ == "OK", data
    # imaplib keeps its own state machine: the server is back before login, so is the client.
    m.state = "NONAUTH"


def message(subject: str, date: str, sender: str = "sender@example.com") -> bytes:
    return (f"From: {sender}\r\nTo: rcpt@example.com\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{time.monotonic_ns()}@t>\r\n\r\nHello.\r\n").encode()


def subjects(m: imaplib.IMAP4) -> list[str]:
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    return sorted(re.search(rb"Subject: (.*?)\r\n", part[1]).group(1).decode()
                  for part in data if isinstance(part, tuple))


# ---------------------------------------------------------------------------------------------------- UNAUTHENTICATE


def test_another_user_after_unauthenticate_sees_their_own_inbox(srv):
    for name in ("sha512", "blf"):
        m = login(srv, name)
        m.append("INBOX", None, None, message(f"for {name}", "Mon, 2 Mar 2026 10:00:00 +0000"))
        m.logout()

    m = connect(srv)
    assert "UNAUTHENTICATE" not in m.capabilities
    m.login(srv.users["sha512"].name, srv.users["sha512"].password)
    typ, data = m.capability()
    assert "UNAUTHENTICATE" in data[0].decode().split(), data
    m.select("INBOX")
    assert subjects(m) == ["for sha512"]
    # RFC 8437 §3: the selected mailbox is left without expunge.
    typ, data = m.store("1", "+FLAGS", r"(\Deleted)")
    assert typ == "OK", data
    log_before = len(srv.log())
    unauthenticate(m)
    typ, data = m.capability()
    caps = data[0].decode().split()
    assert "UNAUTHENTICATE" not in caps and "AUTH=PLAIN" in caps, caps

    m.login(srv.users["blf"].name, srv.users["blf"].password)
    m.select("INBOX")
    assert subjects(m) == ["for blf"]
    m.logout()

    first = login(srv, "sha512")
    first.select("INBOX")
    assert subjects(first) == ["for sha512"]
    typ, data = first.fetch("1", "(FLAGS)")
    assert rb"\Deleted" in data[0], data
    first.logout()

    # The first user's session ended like a logout, on the connection the second user then logged in on.
    logged_out = helpers.wait_for(
        lambda: re.search(r"imap\(sha512\)<([^>]+)>: Info: Logged out in=\d+ out=\d+", srv.log()[log_before:]),
        timeout=5, what="the first user's logout line")
    session = re.escape(logged_out.group(1))
    assert re.search(rf"Login: user=<blf>, .*session=<{session}>", srv.log()[log_before:]), srv.log()[log_before:]
    assert srv.users["sha512"].password not in srv.log()


def test_tls_stays_and_plaintext_rules_stay_the_first_ones(srv):
    u, other = srv.users["sha512"], srv.users["blf"]
    with RawIMAP(srv.imap_port) as c:
        _, done = c.run("a", "UNAUTHENTICATE")
        assert done.startswith("a BAD"), done
        # Before STARTTLS a login is refused, as on any plaintext connection.
        _, done = c.run("b", f'LOGIN {u.name} "{u.password}"')
        assert done.startswith("b NO [PRIVACYREQUIRED]"), done
        c.starttls()
        c.login(u, tag="c")
        _, done = c.run("d", "UNAUTHENTICATE")
        assert done == "d OK Unauthenticate completed.", done
        _, done = c.run("d2", "SELECT INBOX")
        assert done == "d2 BAD SELECT is not valid before login.", done
        untagged, done = c.run("e", "CAPABILITY")
        caps = capabilities_from([l for l in untagged if l.startswith("* CAPABILITY")][0])
        assert "AUTH=PLAIN" in caps and "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        _, done = c.run("f", "STARTTLS")
        assert done == "f BAD TLS is already active.", done
        c.login(other, tag="g")
        _, done = c.run("h", "LOGOUT")
        assert done.startswith("h OK"), done


def test_unauthenticate_pipelined_with_the_next_login(srv):
    # RFC 8437 §3: without a SASL security layer the client may pipeline UNAUTHENTICATE with the next login.
    other = srv.users["blf"]
    with srv.account("sha512").raw() as c:
        c.send(f'b UNAUTHENTICATE\r\nc LOGIN {other.name} "{other.password}"\r\nd SELECT INBOX\r\n')
        _, done = c.read_tagged("b")
        assert done == "b OK Unauthenticate completed.", done
        _, done = c.read_tagged("c")
        assert done.startswith("c OK"), done
        _, done = c.read_tagged("d")
        assert done.startswith("d OK"), done


def test_unauthenticate_gives_back_the_user_ip_slot(srv):
    held = [login(srv, "sha512") for _ in range(USER_LIMIT)]
    try:
        with pytest.raises(imaplib.IMAP4.abort, match=f"mail_max_userip_connections={USER_LIMIT}"):
            login(srv, "sha512")
        unauthenticate(held[0])
        extra = login(srv, "sha512")
        extra.select("INBOX")
        extra.logout()
        # The connection that gave up its slot is still usable for another user.
        held[0].login(srv.users["blf"].name, srv.users["blf"].password)
        typ, _ = held[0].select("INBOX")
        assert typ == "OK"
    finally:
        for m in held:
            m.logout()


def test_unauthenticate_without_a_free_pre_login_slot_takes_the_oldest_idle_ones(server_factory):
    """Back before login, the connection needs one of the imap-login client_limit slots again; with the only one
    taken meanwhile by a new connection, that idle pre-login connection makes room (issue 14: the oldest idle
    pre-login connection is dropped, not the one arriving) and the first goes on."""
    busy = server_factory.start(name="unauth-busy", extra=UNAUTH, service_extra="  client_limit = 1\n")
    account = busy.account("sha512")

    def logged_in() -> RawIMAP | None:
        # The readiness probes of server_factory.start may still hold the slot for a moment.
        try:
            c = RawIMAP(busy.imaps_port, tls=True)
        except OSError:
            return None
        if not c.greeting.startswith("* OK"):
            c.close()
            return None
        c.login(account.user)
        return c

    with helpers.wait_for(logged_in, timeout=10, what="a pre-login slot for the first connection") as first:
        # Logged in, the first connection has given its slot back; this one takes it and stays before login.
        with RawIMAP(busy.imap_port) as waiting:
            assert waiting.greeting.startswith("* OK"), waiting.greeting
            _, done = first.run("u", "UNAUTHENTICATE")
            assert done == "u OK Unauthenticate completed.", done
            assert waiting.read_until_closed(timeout=10) == ["* BYE Connection queue full"]
        first.login(account.user)
        _, done = first.run("n", "NOOP")
        assert done == "n OK NOOP completed.", done
    helpers.wait_for(lambda: "Connection queue full" in busy.log(), timeout=5,
                     what="the disconnect reason in the log")


def test_unauthenticate_ends_compression(srv):
    u = srv.users["sha512"]
    with srv.account("sha512").raw() as c:
        _, done = c.run("b", "COMPRESS DEFLATE")
        assert done.startswith("b OK"), done
        deflate = zlib.compressobj(wbits=-15)
        inflate = zlib.decompressobj(wbits=-15)
        c.send(deflate.compress(b"c UNAUTHENTICATE\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
        reply = b""
        deadline = time.monotonic() + 10
        while b"\r\n" not in reply and time.monotonic() < deadline:
            reply += inflate.decompress(c.sock.recv(65536))
        assert reply == b"c OK Unauthenticate completed.\r\n", reply
        # RFC 8437 §4.1: both directions are plain text again.
        _, done = c.run("d", "NOOP")
        assert done == "d OK NOOP completed.", done
        c.login(u, tag="e")


# ---------------------------------------------------------------------------------------------------- ESORT

# Sequence number -> (subject, sent date); base subjects sort alpha, Beta, delta, Epsilon, Gamma.
ESORT_MESSAGES = [
    ("Gamma", "Tue, 3 Mar 2026 10:00:00 +0000"),
    ("alpha", "Sun, 1 Mar 2026 10:00:00 +0000"),
    ("Re: Beta", "Thu, 5 Mar 2026 10:00:00 +0000"),
    ("delta", "Mon, 2 Mar 2026 10:00:00 +0000"),
    ("Epsilon", "Wed, 4 Mar 2026 10:00:00 +0000"),
]


@pytest.fixture(scope="module")
def esort_mailbox(srv):
    m = login(srv, "doveadm")
    m.create("Esort")
    uids = []
    for subject, date in ESORT_MESSAGES:
        typ, data = m.append("Esort", None, None, message(subject, date))
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
    m.select("Esort")
    yield m, uids
    m.logout()


def esort(m: imaplib.IMAP4, *args: str, uid: bool = False) -> tuple[str, str]:
    """Runs [UID] SORT with the given arguments; returns (our tag, the ESEARCH data after `* ESEARCH `)."""
    name = "UID" if uid else "SORT"
    tag = m._command(name, *(("SORT",) if uid else ()), *args)
    typ, data = m._command_complete(name, tag)
    assert typ == "OK", data
    esearch = m.untagged_responses.pop("ESEARCH", [])
    assert len(esearch) == 1, esearch
    return tag.decode(), esearch[0].decode()


def test_esort_is_advertised(esort_mailbox):
    m, _ = esort_mailbox
    typ, data = m.capability()
    assert "ESORT" in data[0].decode().split(), data


def test_esort_min_max_count_all_follow_the_sort_order(esort_mailbox):
    m, uids = esort_mailbox
    # Sent dates: 2 (1 Mar), 4, 1, 5, 3 (5 Mar); reversed 3 5 1 4 2. MIN and MAX are the first and last of that
    # order (RFC 5267 §3.1), not the lowest and highest number.
    tag, data = esort(m, "RETURN", "(MIN MAX COUNT ALL)", "(REVERSE DATE)", "UTF-8", "ALL")
    assert data == f'(TAG "{tag}") MIN 3 MAX 2 COUNT 5 ALL 3,5,1,4,2'
    # Ranges only where the order ascends (RFC 5267 §3.2): 2 3 4 5 1.
    tag, data = esort(m, "RETURN", "(ALL)", "(SUBJECT)", "UTF-8", "ALL")
    assert data == f'(TAG "{tag}") ALL 2:5,1'
    # RETURN () means ALL; the search criteria still choose the messages.
    tag, data = esort(m, "RETURN", "()", "(DATE)", "UTF-8", "NOT", "SUBJECT", "gamma")
    assert data == f'(TAG "{tag}") ALL 2,4:5,3'
    tag, data = esort(m, "RETURN", "(COUNT MAX MIN)", "(REVERSE DATE)", "UTF-8", "ALL", uid=True)
    assert data == f'(TAG "{tag}") UID MIN {uids[2]} MAX {uids[1]} COUNT 5'
    tag, data = esort(m, "RETURN", "(MIN MAX COUNT ALL)", "(DATE)", "UTF-8", "SUBJECT", "nothing")
    assert data == f'(TAG "{tag}") COUNT 0'


def test_esort_save_keeps_the_min_message(esort_mailbox):
    m, _ = esort_mailbox
    tag, data = esort(m, "RETURN", "(SAVE MIN)", "(REVERSE DATE)", "UTF-8", "ALL")
    assert data == f'(TAG "{tag}") MIN 3'
    typ, data = m.search(None, "$")
    assert typ == "OK" and data == [b"3"], data
    # The plain SORT answer is unchanged without RETURN.
    typ, data = m.sort("(REVERSE DATE)", "UTF-8", "ALL")
    assert typ == "OK" and data == [b"3 5 1 4 2"], data
