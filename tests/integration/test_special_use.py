"""CREATE-SPECIAL-USE (RFC 6154 §3) and APPENDLIMIT (RFC 7889) with real clients (imaplib, imapclient) against the
release binary: the attribute given at CREATE is listed, survives a restart, moves with RENAME and goes with DELETE;
an unknown attribute creates nothing; CAPABILITY after login names both extensions and the configured limit."""

import re

import pytest
from imapclient import IMAPClient
from imapclient.imapclient import ARCHIVE

import helpers
from helpers import RawIMAP

LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(name="specialuse", extra="quota_mail_size = 10M\n")


@pytest.fixture(scope="module")
def account(srv) -> helpers.Account:
    return srv.account("sha512")


def special_use_list(account, pattern: str = "*") -> dict[str, set[str]]:
    """Mailbox → attributes from `LIST "" pattern RETURN (SPECIAL-USE)`."""
    with account.raw() as c:
        lines, done = c.run("a", f'LIST "" {pattern} RETURN (SPECIAL-USE)')
        assert done == "a OK List completed.", done
    listed = {}
    for line in lines:
        m = re.match(r'^\* LIST \(([^)]*)\) "." (.*)$', line)
        assert m, line
        listed[m.group(2).strip('"')] = set(m.group(1).split())
    return listed


def test_created_attribute_is_listed_survives_restart_moves_with_rename_and_goes_with_delete(srv, account):
    m = account.imap()
    typ, data = m._simple_command("CREATE", r"Keep2026 (USE (\Archive))")
    assert typ == "OK", data
    m.create("Plain2026")
    m.logout()
    # Stored in a private file inside the mailbox's own directory, where Dovecot looks for neither mailboxes nor mail.
    stored = account.maildir / ".Keep2026" / ".aerie-special-use"
    assert stored.read_text() == "\\Archive\n"
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    listed = special_use_list(account)
    assert r"\Archive" in listed["Keep2026"], listed
    assert r"\Archive" not in listed["Plain2026"], listed
    # LIST (SPECIAL-USE) selects only mailboxes that have one.
    with account.raw() as c:
        lines, done = c.run("s", 'LIST (SPECIAL-USE) "" *')
        assert done.startswith("s OK"), done
        assert any(line.endswith(" Keep2026") and r"\Archive" in line for line in lines), lines
        assert not any("Plain2026" in line for line in lines), lines

    assert srv.stop() == 0
    srv.start()
    with IMAPClient("127.0.0.1", port=srv.imaps_port, ssl=True, ssl_context=helpers.client_context(),
                    timeout=30) as ic:
        ic.login(account.user.name, account.user.password)
        # The name is none of imapclient's guesses for an archive, so only the attribute can find it.
        assert ic.find_special_folder(ARCHIVE) == "Keep2026"
        ic.rename_folder("Keep2026", "Kept2026")
        assert ic.find_special_folder(ARCHIVE) == "Kept2026"
    listed = special_use_list(account)
    assert r"\Archive" in listed["Kept2026"] and "Keep2026" not in listed, listed

    m = account.imap()
    assert m.delete("Kept2026")[0] == "OK"
    assert m.create("Kept2026")[0] == "OK"
    m.logout()
    assert r"\Archive" not in special_use_list(account)["Kept2026"]
    assert not (account.maildir / ".Kept2026" / ".aerie-special-use").exists()


def test_unknown_or_virtual_attribute_creates_nothing(account):
    m = account.imap()
    for attribute in (r"\Bogus", r"\All", r"\Flagged"):
        typ, data = m._simple_command("CREATE", rf"Nope2026 (USE ({attribute}))")
        assert typ == "NO" and data[0].startswith(b"[USEATTR]"), (attribute, typ, data)
    typ, data = m.list('""', "Nope2026")
    assert typ == "OK" and data == [None], data
    m.logout()


def test_capability_after_login_names_create_special_use_and_the_append_limit(account):
    with RawIMAP(account.server.imaps_port, tls=True) as c:
        lines, done = c.run("c", "CAPABILITY")
        before = helpers.capabilities_from(lines[0])
        assert "CREATE-SPECIAL-USE" not in before
        assert not any(cap.startswith("APPENDLIMIT") for cap in before), before
        at_login = helpers.capabilities_from(c.login(account.user))
        assert {"CREATE-SPECIAL-USE", f"APPENDLIMIT={LIMIT}"} <= at_login, at_login
        lines, done = c.run("d", "CAPABILITY")
        after = helpers.capabilities_from(lines[0])
        assert after == at_login
        lines, done = c.run("s", "STATUS INBOX (APPENDLIMIT)")
        assert lines == [f"* STATUS INBOX (APPENDLIMIT {LIMIT})"], lines
    with IMAPClient("127.0.0.1", port=account.server.imaps_port, ssl=True, ssl_context=helpers.client_context(),
                    timeout=30) as ic:
        ic.login(account.user.name, account.user.password)
        assert b"CREATE-SPECIAL-USE" in ic.capabilities()
        assert f"APPENDLIMIT={LIMIT}".encode() in ic.capabilities()


def test_append_over_the_limit_is_refused_as_too_big(account):
    header = b"From: a@example.com\r\nSubject: big\r\n\r\n"
    line = b"x" * 78 + b"\r\n"
    body = line * (LIMIT // len(line) + 1)
    m = account.imap()
    before = int(m.status("INBOX", "(MESSAGES)")[1][0].split()[-1].rstrip(b")"))
    typ, data = m.append("INBOX", None, None, header + body)
    assert typ == "NO" and data[0].startswith(b"[TOOBIG]"), (typ, data)
    # RFC 7889 §4: a synchronizing literal beyond the limit is refused before it is sent (no "+" continuation).
    with account.raw() as raw:
        raw.send(b"t APPEND INBOX {%d}\r\n" % (LIMIT + 1))
        assert raw.readline().startswith("t NO [TOOBIG]")
        _, done = raw.run("n", "NOOP")
        assert done.startswith("n OK"), done
    # Exactly at the limit is accepted.
    typ, data = m.append("INBOX", None, None, header + body[: LIMIT - len(header)])
    assert typ == "OK", data
    after = int(m.status("INBOX", "(MESSAGES)")[1][0].split()[-1].rstrip(b")"))
    assert after == before + 1
    m.logout()
