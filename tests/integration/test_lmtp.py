"""LMTP delivery (RFC 2033) end to end: Python's smtplib.LMTP and a raw client over the unix socket and TCP; every
message is read back over IMAP (imaplib, BODY.PEEK[]) and compared byte for byte (CRLF-normalized)."""

from __future__ import annotations

import email.utils
import re
import smtplib
import time

import pytest

import helpers
from helpers import (LMTPClient, RawIMAP, crlf, dot_stuff, header_values, lmtp_send, make_message,
                     strip_delivery_headers)

D = helpers.MAIL_DOMAIN


@pytest.fixture(scope="module")
def mail(aerie_bin, ca_dir, vmail, request):
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "lmtp") as server:
        yield server


def smtplib_lmtp(mail, transport: str) -> smtplib.LMTP:
    if transport == "unix":
        c = smtplib.LMTP(str(mail.lmtp_socket), timeout=helpers.READ_TIMEOUT)
    else:
        c = smtplib.LMTP("127.0.0.1", mail.lmtp_port, timeout=helpers.READ_TIMEOUT)
    return c


def assert_delivered(mail, user: str, sent: bytes, sender: str, rcpt: str, count: int = 1) -> bytes:
    msgs = helpers.wait_for_messages(mail, user, count)
    assert len(msgs) == count, [m[:200] for _, m in msgs]
    got = msgs[-1][1]
    assert header_values(got, "Return-Path") == [f"<{sender}>"], got[:300]
    assert header_values(got, "Delivered-To") == [rcpt], got[:300]
    assert strip_delivery_headers(got) == crlf(sent), (got, sent)
    return got


# ---------------------------------------------------------------------------------------------------- smtplib


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_smtplib_one_recipient(mail, transport):
    user = mail.fresh_user()
    msg = make_message(f"one-{transport}@test", to=f"{user}@{D}")
    c = smtplib_lmtp(mail, transport)
    try:
        code, text = c.ehlo("client.example.org")  # smtplib.LMTP sends LHLO for ehlo()
        assert code == 250, text
        features = text.decode().upper().split("\n")
        for f in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"):
            assert f in features, features
        assert any(f.startswith("SIZE ") for f in features), features
        refused = c.sendmail("sender@example.org", [f"{user}@{D}"], msg)
        assert refused == {}
        code, _ = c.quit()
        assert code == 221
    finally:
        c.close()
    assert_delivered(mail, user, msg, "sender@example.org", f"{user}@{D}")


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_smtplib_several_recipients_and_unknown_refused(mail, transport):
    users = [mail.fresh_user() for _ in range(3)]
    rcpts = [f"{users[0]}@{D}", f"nosuchuser@{D}", f"{users[1]}@{D}", f"{users[2]}@{D}"]
    msg = make_message(f"multi-{transport}@test", subject="several")
    c = smtplib_lmtp(mail, transport)
    try:
        replies = lmtp_send(c, "list@example.org", rcpts, msg)
        c.quit()
    finally:
        c.close()
    code, text = replies[f"nosuchuser@{D}"]
    assert code == 550 and text.startswith(b"5.1.1"), replies
    for u in users:
        code, text = replies[f"{u}@{D}"]
        assert code == 250 and text.startswith(b"2.0.0"), replies
    for u in users:
        assert_delivered(mail, u, msg, "list@example.org", f"{u}@{D}")


def test_recipient_delimiter_detail_goes_to_the_user(mail):
    user = mail.fresh_user()
    msg = make_message("detail@test")
    replies = helpers.lmtp_deliver(mail.lmtp_socket, [f"{user}+lists@{D}"], msg)
    assert replies[f"{user}+lists@{D}"][0] == 250, replies
    # lmtp_hdr_delivery_address = final (the default): the address as given in RCPT TO.
    assert_delivered(mail, user, msg, "sender@example.org", f"{user}+lists@{D}")


def test_null_sender_gets_empty_return_path(mail):
    user = mail.fresh_user()
    msg = make_message("bounce@test", subject="Undelivered Mail Returned to Sender")
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.lhlo()[0] == 250
        assert c.cmd("MAIL FROM:<>")[0] == 250
        assert c.cmd(f"RCPT TO:<{user}@{D}>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(dot_stuff(msg))
        assert c.reply()[0] == 250
        c.quit()
    got = helpers.wait_for_messages(mail, user, 1)[0][1]
    assert header_values(got, "Return-Path") == ["<>"], got[:200]


def test_commands_vrfy_noop_rset_quit(mail):
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.greeting[0] == 220, c.greeting
        assert c.lhlo()[0] == 250
        code, text = c.cmd("VRFY alice")
        assert code == 252, (code, text)
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd(f"RCPT TO:<alice@{D}>")[0] == 250
        assert c.cmd("RSET")[0] == 250
        # After RSET there is no transaction: DATA and RCPT need MAIL first.
        code, text = c.cmd("DATA")
        assert 500 <= code < 600, (code, text)
        code, text = c.cmd(f"RCPT TO:<alice@{D}>")
        assert 500 <= code < 600, (code, text)
        code, text = c.cmd("QUIT")
        assert code == 221, (code, text)
        assert c.sock.recv(1) == b""  # the server closes after 221


# ---------------------------------------------------------------------------------------------------- raw protocol


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_pipelined_transaction_in_one_write(mail, transport):
    u1, u2 = mail.fresh_user(), mail.fresh_user()
    msg = make_message(f"pipelined-{transport}@test")
    where = mail.lmtp_socket if transport == "unix" else mail.lmtp_port
    with LMTPClient(where) as c:
        c.send(f"LHLO client.example.org\r\nMAIL FROM:<p@example.org>\r\nRCPT TO:<{u1}@{D}>\r\n"
               f"RCPT TO:<ghost@{D}>\r\nRCPT TO:<{u2}@{D}>\r\nNOOP\r\nDATA\r\n")
        replies = [c.reply() for _ in range(7)]
        codes = [r[0] for r in replies]
        assert codes == [250, 250, 250, 550, 250, 250, 354], replies
        assert replies[3][1][0].startswith("5.1.1"), replies
        # The message, then RSET, a second transaction and QUIT, again in one write.
        c.send(dot_stuff(msg) + f"RSET\r\nMAIL FROM:<p2@example.org>\r\nRCPT TO:<{u1}@{D}>\r\nQUIT\r\n".encode())
        replies = [c.reply() for _ in range(6)]
        codes = [r[0] for r in replies]
        assert codes == [250, 250, 250, 250, 250, 221], replies
        assert f"<{u1}@{D}>" in replies[0][1][0] and f"<{u2}@{D}>" in replies[1][1][0], replies
    assert_delivered(mail, u1, msg, "p@example.org", f"{u1}@{D}")
    assert_delivered(mail, u2, msg, "p@example.org", f"{u2}@{D}")


def test_dot_lines_arrive_intact(mail):
    user = mail.fresh_user()
    body = (b".\r\n..\r\n...\r\n.leading dot\r\n..two leading dots\r\n. space\r\nline\r\n.\r\n"
            b"trailing dot.\r\n.\r\n")
    msg = make_message("dots@test", body=body)
    wire = dot_stuff(msg)
    assert b"\r\n..\r\n" in wire and wire.endswith(b"\r\n.\r\n")
    replies = helpers.lmtp_deliver(mail.lmtp_socket, [f"{user}@{D}"], msg)
    assert replies[f"{user}@{D}"][0] == 250, replies
    got = assert_delivered(mail, user, msg, "sender@example.org", f"{user}@{D}")
    assert got.endswith(body), got[-120:]


def test_bare_lf_and_8bit_body(mail):
    """8BITMIME: bytes above 127 arrive unchanged; a client sending bare LF gets CRLF in the store."""
    user = mail.fresh_user()
    body = "Grüße aus Köln — ünïcödé\r\n".encode() + bytes(range(0x80, 0x100)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
    msg = make_message("8bit@test", body=body)
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.lhlo()[0] == 250
        assert c.cmd("MAIL FROM:<s@example.org> BODY=8BITMIME")[0] == 250
        assert c.cmd(f"RCPT TO:<{user}@{D}>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(dot_stuff(msg).replace(b"\r\n", b"\n").replace(b"\n.\n", b"\r\n.\r\n"))
        code, text = c.reply()
        assert code == 250, (code, text)
        c.quit()
    got = helpers.wait_for_messages(mail, user, 1)[0][1]
    assert strip_delivery_headers(got) == crlf(msg), got


def test_bdat_chunking(mail):
    u1, u2 = mail.fresh_user(), mail.fresh_user()
    msg = make_message("bdat@test", body=b".not stuffed in BDAT\r\n..\r\nend\r\n")
    first, second = msg[:100], msg[100:]
    with LMTPClient(mail.lmtp_socket) as c:
        assert c.lhlo()[0] == 250
        c.send(f"MAIL FROM:<b@example.org>\r\nRCPT TO:<{u1}@{D}>\r\nRCPT TO:<nobody@{D}>\r\nRCPT TO:<{u2}@{D}>\r\n")
        assert [c.reply()[0] for _ in range(4)] == [250, 250, 550, 250]
        c.send(f"BDAT {len(first)}\r\n".encode() + first)
        code, text = c.reply()
        assert code == 250, (code, text)
        # The last chunk and BDAT 0 LAST style: a non-empty LAST chunk, then one reply per accepted recipient.
        c.send(f"BDAT {len(second)} LAST\r\n".encode() + second)
        r1, r2 = c.reply(), c.reply()
        assert r1[0] == 250 and f"<{u1}@{D}>" in r1[1][0], (r1, r2)
        assert r2[0] == 250 and f"<{u2}@{D}>" in r2[1][0], (r1, r2)
        # A second transaction ending with BDAT 0 LAST.
        c.send(f"MAIL FROM:<b@example.org>\r\nRCPT TO:<{u1}@{D}>\r\nBDAT {len(msg)}\r\n".encode() + msg + b"BDAT 0 LAST\r\n")
        assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 250]
        c.quit()
    for u in (u1, u2):
        got = helpers.wait_for_messages(mail, u, 1)[0][1]
        assert strip_delivery_headers(got) == msg, got
    msgs = helpers.wait_for_messages(mail, u1, 2)
    assert strip_delivery_headers(msgs[1][1]) == msg


def test_declared_size_over_limit_is_refused(mail):
    with LMTPClient(mail.lmtp_socket) as c:
        code, lines = c.lhlo()
        sizes = [int(l.split()[1]) for l in lines if l.upper().startswith("SIZE ")]
        assert sizes and sizes[0] > 0, lines
        code, text = c.cmd(f"MAIL FROM:<big@example.org> SIZE={sizes[0] + 1}")
        assert code == 552 and text[0].startswith("5.3.4"), (code, text)
        # Within the limit: accepted.
        assert c.cmd(f"MAIL FROM:<big@example.org> SIZE={sizes[0]}")[0] == 250
        c.quit()


@pytest.mark.timeout(120)
def test_oversize_message_streamed_is_refused(mail):
    """A message larger than the advertised SIZE is read to its end and refused with 552 for every recipient;
    nothing is stored. (Streams limit + 64 KiB: about 50 MB over the unix socket.)"""
    user = mail.fresh_user()
    with LMTPClient(mail.lmtp_socket, timeout=60) as c:
        _, lines = c.lhlo()
        limit = [int(l.split()[1]) for l in lines if l.upper().startswith("SIZE ")][0]
        if limit > 256 * 1024 * 1024:
            pytest.skip(f"advertised SIZE {limit} too large to stream in a test")
        assert c.cmd("MAIL FROM:<big@example.org>")[0] == 250
        assert c.cmd(f"RCPT TO:<{user}@{D}>")[0] == 250
        assert c.cmd(f"RCPT TO:<alice@{D}>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        line = b"x" * 998 + b"\r\n"
        c.send(b"Subject: big\r\n\r\n")
        chunk = line * 1024
        sent = 0
        while sent < limit + 65536:
            c.send(chunk)
            sent += len(chunk)
        c.send(b".\r\n")
        r1, r2 = c.reply(timeout=60), c.reply(timeout=60)
        assert r1[0] == 552 and r2[0] == 552, (r1, r2)
        assert r1[1][0].startswith("5.3.4"), r1
        # The session goes on.
        assert c.cmd("NOOP")[0] == 250
        c.quit()
    assert helpers.imap_messages(mail, user)[1] == []


LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def limited(aerie_bin, ca_dir, vmail, request):
    """A server with quota_mail_size = 64k, lmtp_user_concurrency_limit = 2 and no Received header."""
    extra = "quota_mail_size = 64k\nlmtp_user_concurrency_limit = 2\nlmtp_add_received_header = no\n"
    with helpers.private_mail_server(aerie_bin, ca_dir, request, "lmtp-limited", extra=extra) as server:
        yield server


def test_configured_small_size_limit(limited):
    """quota_mail_size: advertised in LHLO, MAIL FROM SIZE= checked, DATA and BDAT cut off at the limit."""
    u1, u2 = limited.fresh_user(), limited.fresh_user()
    fits = make_message("fits@test", size=LIMIT - 100)
    too_big = make_message("big@test", size=LIMIT + 1)
    assert len(fits) <= LIMIT < len(too_big)
    with LMTPClient(limited.lmtp_socket) as c:
        code, lines = c.lhlo()
        assert "SIZE 65536" in [l.upper() for l in lines], lines
        code, text = c.cmd(f"MAIL FROM:<big@example.org> SIZE={LIMIT + 1}")
        assert code == 552 and text[0].startswith("5.3.4"), (code, text)
        # DATA past the limit: read to its end, one 552 per recipient, and the session goes on.
        assert c.cmd(f"MAIL FROM:<big@example.org> SIZE={LIMIT}")[0] == 250
        assert c.cmd(f"RCPT TO:<{u1}@{D}>")[0] == 250
        assert c.cmd(f"RCPT TO:<{u2}@{D}>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(dot_stuff(too_big))
        r1, r2 = c.reply(), c.reply()
        assert r1[0] == 552 and r2[0] == 552 and r1[1][0].startswith("5.3.4"), (r1, r2)
        # BDAT past the limit: the transaction fails at the chunk that crosses it.
        assert c.cmd("MAIL FROM:<big@example.org>")[0] == 250
        assert c.cmd(f"RCPT TO:<{u1}@{D}>")[0] == 250
        c.send(f"BDAT {len(too_big)} LAST\r\n".encode() + too_big)
        code, text = c.reply()
        assert code == 552 and text[0].startswith("5.3.4"), (code, text)
        # Within the limit: delivered, without a Received header (lmtp_add_received_header = no).
        replies = c.deliver("small@example.org", [f"{u1}@{D}"], fits)
        assert replies[f"{u1}@{D}"][0] == 250, replies
        c.quit()
    got = helpers.wait_for_messages(limited, u1, 1)
    assert len(got) == 1, [m[:100] for _, m in got]
    assert header_values(got[0][1], "Received") == [], got[0][1][:400]
    assert strip_delivery_headers(got[0][1]) == fits
    assert helpers.imap_messages(limited, u2)[1] == []


def open_delivery(where, user: str) -> tuple[LMTPClient, tuple[int, list[str]]]:
    """LHLO, MAIL, RCPT for `user`; returns the client and the RCPT reply (the transaction stays open)."""
    c = LMTPClient(where)
    assert c.lhlo()[0] == 250
    assert c.cmd("MAIL FROM:<flood@example.org>")[0] == 250
    return c, c.cmd(f"RCPT TO:<{user}@{D}>")


def test_user_concurrency_limit_over_all_connections(limited):
    """lmtp_user_concurrency_limit = 2: two transactions holding DATA open for one user (one on the unix socket, one
    over TCP) make a third RCPT for that user a temporary 451 4.3.0; other users are not affected; a finished
    delivery and a dropped connection both give their slot back."""
    user, other = limited.fresh_user(), limited.fresh_user()
    msg = make_message("concurrent@test")
    a, ra = open_delivery(limited.lmtp_socket, user)
    b, rb = open_delivery(limited.lmtp_port, user)
    try:
        assert ra[0] == 250 and rb[0] == 250, (ra, rb)
        assert a.cmd("DATA")[0] == 354 and b.cmd("DATA")[0] == 354
        a.send(dot_stuff(msg)[:40])  # A is in the middle of its message
        c, rc = open_delivery(limited.lmtp_socket, user)
        with c:
            assert rc[0] == 451 and rc[1][0] == f"4.3.0 <{user}@{D}> Too many concurrent deliveries for user", rc
            assert c.cmd(f"RCPT TO:<{other}@{D}>")[0] == 250
            # A finishes: its slot is free, so C may now add the user.
            a.send(dot_stuff(msg)[40:])
            assert a.reply()[0] == 250
            code, text = c.cmd(f"RCPT TO:<{user}@{D}>")
            assert code == 250, (code, text)
            # B and C now hold the two slots; B drops its connection mid-DATA, which frees one.
            b.send(b"Subject: never finished\r\n")
            b.close()

            def slot_free():
                d, rd = open_delivery(limited.lmtp_port, user)
                with d:
                    if rd[0] == 451:
                        return False
                    assert rd[0] == 250, rd
                    assert d.cmd("DATA")[0] == 354
                    d.send(dot_stuff(msg))
                    assert d.reply()[0] == 250
                    return True

            helpers.wait_for(slot_free, 10, interval=0.2, what="the dropped connection's slot")
            assert c.cmd("DATA")[0] == 354
            c.send(dot_stuff(msg))
            assert [c.reply()[0], c.reply()[0]] == [250, 250]
            c.quit()
    finally:
        a.close()
        b.close()
    assert len(helpers.wait_for_messages(limited, user, 3)) == 3
    assert len(helpers.wait_for_messages(limited, other, 1)) == 1


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_received_header(mail, transport):
    """lmtp_add_received_header (default yes): Dovecot's trace field after Return-Path and Delivered-To."""
    user = mail.fresh_user()
    msg = make_message(f"received-{transport}@test")
    where = mail.lmtp_socket if transport == "unix" else mail.lmtp_port
    before = time.time()
    with LMTPClient(where) as c:
        replies = c.deliver("trace@example.org", [f"{user}@{D}"], msg)
        assert replies[f"{user}@{D}"][0] == 250, replies
        c.quit()
    got = helpers.wait_for_messages(mail, user, 1)[0][1]
    head = got.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if line and line[0] not in " \t"]
    assert names[:3] == ["Return-Path", "Delivered-To", "Received"], head
    received = header_values(got, "Received")
    assert len(received) == 1, received
    m = re.fullmatch(r"from (\S+)( \(\[([0-9a-f.:]+)\]\))? by (\S+) with LMTP id (\S+) "
                     r"\(envelope-from <trace@example\.org>\) for <([^>]+)>; (.+)", received[0])
    assert m, received[0]
    assert m.group(1) == "client.example.org" and m.group(6) == f"{user}@{D}", received[0]
    assert m.group(3) == ("127.0.0.1" if transport == "tcp" else None), received[0]
    stamp = email.utils.parsedate_to_datetime(m.group(7)).timestamp()
    assert before - 2 <= stamp <= time.time() + 2, received[0]
    # Folded the way Dovecot folds it: one part per line, tab-indented.
    assert "\r\n\tby " in head and "\r\n\tid " in head and "\r\n\t(envelope-from <" in head, head


# ---------------------------------------------------------------------------------------------------- IMAP IDLE


def test_delivery_wakes_imap_idle(mail):
    user = mail.fresh_user()
    with RawIMAP(mail.imaps_port, tls=True) as imap:
        _, done = imap.run("a", f"LOGIN {user} {helpers.MAIL_PASSWORD}")
        assert done.startswith("a OK"), done
        untagged, done = imap.run("b", "SELECT INBOX")
        assert done.startswith("b OK"), done
        assert "* 0 EXISTS" in untagged, untagged
        imap.cmd("c IDLE")
        assert imap.readline().startswith("+"), "no IDLE continuation"
        msg = make_message("idle@test")
        t0 = time.monotonic()
        replies = helpers.lmtp_deliver(mail.lmtp_socket, [f"{user}@{D}"], msg)
        assert replies[f"{user}@{D}"][0] == 250, replies
        lines = []
        while True:
            remaining = 2.5 - (time.monotonic() - t0)
            assert remaining > 0, f"IDLE client not told of the delivery within 2.5 s; got {lines}"
            line = imap.readline(timeout=remaining)
            lines.append(line)
            if line == "* 1 EXISTS":
                break
        elapsed = time.monotonic() - t0
        print(f"IDLE saw the LMTP delivery after {elapsed:.3f} s")
        imap.cmd("DONE")
        _, done = imap.read_tagged("c")
        assert done.startswith("c OK"), done
        imap.run("d", "LOGOUT")
