"""The `ldap` passdb and userdb against Debian's OpenLDAP slapd (one per test session, see slapd_peer.py): lookup
and bind authentication over IMAP and POP3, StartTLS and ldaps:// with certificate checks, URI failover, LDAP
injection through the user name (RFC 4515 escaping), AD-style logins and disabled accounts, and slapd stopped
mid-run (a quick temporary failure, then recovery on the same pooled server once slapd is back)."""

from __future__ import annotations

import imaplib
import os
import poplib
import time
from pathlib import Path

import pytest

import helpers
import slapd_peer
from slapd_peer import Person

AUTH_FAILED = "[AUTHENTICATIONFAILED]"
UNAVAILABLE = "[UNAVAILABLE]"

PEOPLE = {
    "alice": Person("alice", "Alice-Ldap-1x", "SSHA512", 2001),
    "bob": Person("bob", "Bob-Ldap-2y", "CRYPT", 2002),
    "carol": Person("carol", "Carol-Ldap-3z", "SSHA512", 2003, ad_state=514),  # AD: ACCOUNTDISABLE
    "dave": Person("dave", "Dave-Ldap-4w", "SSHA512", 2004, ad_state=512, upn="dave@ad.example.com",
                   sam_account="dave.ad"),
    "sam": Person("sam", "Sam-Ldap-5v", "SSHA", 2005),  # SHA-1: weak for Aerie, slapd's business when binding
}


@pytest.fixture(scope="session")
def slapd(tmp_path_factory, ca_dir, vmail):
    if not Path(slapd_peer.SLAPD).exists():
        pytest.fail("slapd missing: apt-get install slapd ldap-utils (scripts/test.sh installs them)")
    directory = tmp_path_factory.mktemp("slapd")
    home_root = directory / "home"
    home_root.mkdir()
    uid, gid = vmail
    os.chown(home_root, uid, gid)
    for p in PEOPLE.values():
        (home_root / p.uid).mkdir()
        os.chown(home_root / p.uid, uid, gid)
    helpers.make_readable_by_all(directory)
    server = slapd_peer.make_slapd(directory / "ldap", list(PEOPLE.values()), ca_dir, home_root, gid)
    yield server
    server.stop()


def ldap_sections(slapd, passdb: str, userdb: str | None = None, uris: str | None = None, starttls: bool = True,
                  ca: str | None = None) -> str:
    userdb = userdb or """
userdb ldap {
  # LMTP recipients are user@domain.
  userdb_ldap_filter = (&(objectClass=posixAccount)(uid=%{user | username}))
  fields {
    home = %{ldap:homeDirectory}
  }
  # aerie adm user -A (Dovecot 2.4's userdb iteration).
  userdb_ldap_iterate_filter = (objectClass=posixAccount)
  iterate_fields {
    user = %{ldap:uid}@example.com
  }
}"""
    return f"""
ldap_uris = {uris or slapd.ldap_uri}
ldap_starttls = {"yes" if starttls else "no"}
ssl_client_ca_file = {ca or slapd.ca}
ldap_auth_dn = {slapd_peer.SERVICE_DN}
ldap_auth_dn_password = {slapd_peer.SERVICE_PASSWORD}
ldap_base = ou=people,{slapd_peer.SUFFIX}
{passdb}
{userdb}
"""


LOOKUP_PASSDB = """
passdb ldap {
  passdb_ldap_filter = (&(objectClass=posixAccount)(uid=%{user}))
  fields {
    password = %{ldap:userPassword}
  }
}"""

# Active Directory's logins: sAMAccountName (a bare name) or userPrincipalName (name@domain).
AD_FILTER = "(&(objectClass=posixAccount)(|(uid=%{user})(sAMAccountName=%{user})(userPrincipalName=%{user})))"

BIND_PASSDB = f"""
passdb ldap {{
  passdb_ldap_bind = yes
  passdb_ldap_filter = {AD_FILTER}
}}"""

BIND_USERDN_PASSDB = """
passdb ldap {
  passdb_ldap_bind = yes
  passdb_ldap_bind_userdn = uid=%{user},ou=people,dc=example,dc=com
}"""

AD_USERDB = f"""
userdb ldap {{
  userdb_ldap_filter = {AD_FILTER}
  fields {{
    home = %{{ldap:homeDirectory}}
  }}
}}"""


def start_aerie(binary: str, ca_dir: Path, name: str, sections: str, tmp: Path) -> helpers.MailServer:
    directory = tmp / name
    server = helpers.make_mail_server(binary, directory, ca_dir, {}, start=False)
    text = server.config.read_text()
    start = text.index("passdb passwd-file {")
    end = text.index("}", text.index("userdb passwd-file {")) + 1
    text = text[:start] + sections + text[end:]
    text = text.replace("auth_username_format = %{user | username | lower}\n", "")
    server.config.write_text(text)
    return server.start()


@pytest.fixture(scope="module")
def servers(aerie_bin, ca_dir, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ldap-aerie")
    helpers.make_readable_by_all(tmp)
    other_ca = tmp / "other-ca"
    helpers.make_ca(other_ca)
    helpers.make_readable_by_all(other_ca)
    made = {}
    plans = {
        "lookup": ldap_sections(slapd, LOOKUP_PASSDB),
        "bind": ldap_sections(slapd, BIND_PASSDB, AD_USERDB, uris=slapd.ldaps_uri, starttls=False),
        "userdn": ldap_sections(slapd, BIND_USERDN_PASSDB),
        # The first URI refuses connections: libldap goes on to the next.
        "failover": ldap_sections(slapd, LOOKUP_PASSDB,
                                  uris=f"ldap://127.0.0.1:{helpers.free_port()} {slapd.ldap_uri}"),
        "wrong_ca": ldap_sections(slapd, LOOKUP_PASSDB, uris=slapd.ldaps_uri, starttls=False,
                                  ca=str(other_ca / "ca.pem")),
        "wrong_name": ldap_sections(slapd, LOOKUP_PASSDB, uris=slapd.ldaps_wrong_name_uri, starttls=False),
    }
    try:
        for name, sections in plans.items():
            made[name] = start_aerie(aerie_bin, ca_dir, name, sections, tmp)
        yield made
    finally:
        bad = []
        for name, server in made.items():
            rc = server.stop_if_running()
            if rc != 0:
                bad.append((name, rc, server.log()[-2000:]))
        assert not bad, bad


def imap_login(server, user: str, password: str, timeout: float = helpers.READ_TIMEOUT) -> tuple[str, str]:
    """('OK'|'NO', text) of AUTHENTICATE PLAIN over implicit TLS (any user name, no quoting questions)."""
    c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(server.tls.ca),
                          timeout=timeout)
    try:
        try:
            c.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
        except imaplib.IMAP4.error as e:
            return "NO", str(e)
        typ, _ = c.select("INBOX")
        assert typ == "OK"
        return "OK", ""
    finally:
        try:
            c.logout()
        except (imaplib.IMAP4.abort, OSError):
            pass


def pop3_login(server, user: str, password: str) -> tuple[str, str]:
    p = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=helpers.client_context(server.tls.ca),
                        timeout=helpers.READ_TIMEOUT)
    try:
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            return "NO", str(e)
        p.stat()
        return "OK", ""
    finally:
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass


@pytest.mark.parametrize("kind", ["lookup", "bind", "userdn"])
def test_imap_and_pop3_logins(servers, slapd, kind):
    server = servers[kind]
    for person in ("alice", "bob"):  # {SSHA512} and {CRYPT} userPassword
        assert imap_login(server, person, PEOPLE[person].password) == ("OK", ""), server.log()[-3000:]
        assert pop3_login(server, person, PEOPLE[person].password) == ("OK", ""), server.log()[-3000:]
    # The home directory came from the LDAP userdb (homeDirectory).
    assert (slapd.home_root / "alice" / "Maildir").is_dir()


def test_weak_scheme_refused_in_lookup_but_not_when_slapd_binds(servers):
    typ, text = imap_login(servers["lookup"], "sam", PEOPLE["sam"].password)
    assert typ == "NO", text
    assert "Weak password scheme 'SSHA' used and refused" in servers["lookup"].log()
    assert imap_login(servers["bind"], "sam", PEOPLE["sam"].password) == ("OK", "")


@pytest.mark.parametrize("kind", ["lookup", "bind", "userdn"])
def test_wrong_and_empty_passwords_fail(servers, kind):
    server = servers[kind]
    typ, text = imap_login(server, "alice", "wrong")
    assert typ == "NO" and AUTH_FAILED in text, text
    assert pop3_login(server, "bob", "wrong")[0] == "NO"
    # An empty password would be an unauthenticated bind, which slapd accepts (RFC 4513 §5.1.2).
    typ, text = imap_login(server, "alice", "")
    assert typ == "NO" and AUTH_FAILED in text, text
    typ, text = imap_login(server, "nobody", "whatever")
    assert typ == "NO" and AUTH_FAILED in text, text


INJECTIONS = ["*)(uid=*", "*", "a*", "alice)(|(uid=*", "*)(|(objectClass=*", "alice\\", "al*ce"]


@pytest.mark.parametrize("kind", ["lookup", "bind"])
def test_ldap_injection_matches_nobody(servers, kind):
    """Each name would match alice (or everyone) unescaped; with alice's password a match would log in."""
    server = servers[kind]
    for name in INJECTIONS:
        typ, text = imap_login(server, name, PEOPLE["alice"].password)
        assert typ == "NO" and AUTH_FAILED in text, (name, text, server.log()[-2000:])
    assert "Multiple replies" not in server.log()


def test_bind_dn_template_escapes_the_user(servers):
    """Unescaped, these names make DNs slapd rejects as malformed (a temporary failure); escaped (RFC 4514) they
    are DNs of nobody: a plain authentication failure."""
    server = servers["userdn"]
    for name in ["alice,", "alice,ou=people", "=alice", "alice\\", "#alice", "alice+"]:
        typ, text = imap_login(server, name, PEOPLE["alice"].password)
        assert typ == "NO" and AUTH_FAILED in text, (name, text)


def test_active_directory_logins_and_disabled_account(servers):
    server = servers["bind"]
    # userPrincipalName and sAMAccountName logins, as AD users write them.
    assert imap_login(server, "dave@ad.example.com", PEOPLE["dave"].password) == ("OK", ""), server.log()[-3000:]
    assert imap_login(server, "dave.ad", PEOPLE["dave"].password) == ("OK", ""), server.log()[-3000:]
    assert pop3_login(server, "DAVE.AD", PEOPLE["dave"].password) == ("OK", "")  # AD names are case-insensitive
    # The right password for a disabled account (userAccountControl 514) is refused.
    typ, text = imap_login(server, "carol", PEOPLE["carol"].password)
    assert typ == "NO" and UNAVAILABLE not in text, text
    assert "Login disabled by nologin (userAccountControl=ACCOUNTDISABLE)" in server.log()
    # Also with lookup authentication.
    typ, text = imap_login(servers["lookup"], "carol", PEOPLE["carol"].password)
    assert typ == "NO" and UNAVAILABLE not in text, text


@pytest.mark.parametrize("kind", ["lookup", "bind"])
def test_concurrent_logins_share_the_pool(servers, kind):
    """More logins at once than pooled connections (4) and hashing threads: each gets its own handle."""
    from concurrent.futures import ThreadPoolExecutor
    server = servers[kind]
    names = ["alice", "bob", "dave"] * 4
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(lambda n: imap_login(server, n, PEOPLE[n].password, timeout=60), names))
    assert results == [("OK", "")] * len(names), server.log()[-3000:]


def test_uri_failover(servers):
    assert imap_login(servers["failover"], "alice", PEOPLE["alice"].password) == ("OK", "")


@pytest.mark.parametrize("kind", ["wrong_ca", "wrong_name"])
def test_certificate_is_verified(servers, kind):
    """A CA that did not issue slapd's certificate, or an address the certificate does not name: no login, a
    temporary failure (the directory is unusable, the password was never checked)."""
    server = servers[kind]
    typ, text = imap_login(server, "alice", PEOPLE["alice"].password)
    assert typ == "NO" and UNAVAILABLE in text, text
    assert "ldap(alice" in server.log()


def lmtp_rcpt(server, recipient: str) -> tuple[int, str]:
    message = helpers.make_message(f"{time.monotonic_ns()}@ldap.test", to=recipient)
    with helpers.LMTPClient(server.lmtp_socket) as c:
        return c.deliver("sender@example.org", [recipient], message)[recipient]


def test_lmtp_delivery_through_the_ldap_userdb(servers, slapd):
    server = servers["lookup"]
    code, text = lmtp_rcpt(server, "bob@example.com")
    assert code == 250, text
    assert any((slapd.home_root / "bob" / "Maildir" / "new").iterdir())
    code, text = lmtp_rcpt(server, "nobody@example.com")
    assert code == 550, text


def test_adm_user_lists_the_directory(servers, slapd):
    """userdb_ldap_iterate_filter with iterate_fields { user = … }: `aerie adm user -A` lists every entry's name;
    a mask is matched in Aerie, so filter syntax in it matches nothing. A userdb without iterate settings
    (the AD one) cannot list."""
    server = servers["lookup"]
    def adm(srv, *arguments):
        return helpers.run([srv.binary, "adm", *arguments, "-c", str(srv.config)], timeout=30)
    r = adm(server, "user", "-A")
    assert r.returncode == 0, r.stdout + r.stderr + server.log()[-2000:]
    assert sorted(r.stdout.split()) == sorted(f"{name}@example.com" for name in PEOPLE), r.stdout
    r = adm(server, "user", "?a*@example.com")
    assert sorted(r.stdout.split()) == ["carol@example.com", "dave@example.com", "sam@example.com"], r.stdout
    for mask in ["*)(uid=*", "*)(|(objectClass=*", "alice*)"]:
        r = adm(server, "user", mask)
        assert (r.returncode, r.stdout) == (0, ""), (mask, r.stdout, r.stderr)
    r = adm(servers["bind"], "user", "-A")
    assert r.returncode == 1 and "no userdb can list its users" in r.stderr, r.stdout + r.stderr


def test_hung_directory_times_out(servers, slapd):
    """SIGSTOP: slapd's kernel still accepts connections but nothing answers. The search gives up after the
    operation timeout (5 s): a temporary failure, not a hang; afterwards logins work again."""
    server = servers["lookup"]
    assert imap_login(server, "alice", PEOPLE["alice"].password)[0] == "OK"  # a pooled connection exists
    slapd.pause()
    try:
        started = time.monotonic()
        # The client waits longer than the timeout: the answer must come from Aerie, not from the client giving up.
        typ, text = imap_login(server, "alice", PEOPLE["alice"].password, timeout=60)
        assert typ == "NO" and UNAVAILABLE in text, text
        assert time.monotonic() - started < 60
    finally:
        slapd.resume()
    assert imap_login(server, "alice", PEOPLE["alice"].password) == ("OK", ""), server.log()[-3000:]


def test_no_secret_in_logs(servers):
    secrets = [slapd_peer.SERVICE_PASSWORD] + [p.password for p in PEOPLE.values()]
    for name, server in servers.items():
        log = server.log() + server.output()
        for secret in secrets:
            assert secret not in log, (name, secret)


def directory_secrets(slapd) -> list[str]:
    """Every password the directory stores (users' and the service DN's userPassword, as slapadd got them): the
    whole value, and the part after the {SCHEME} (base64 digest+salt, or the crypt string) alone."""
    out = []
    for line in (slapd.directory / "people.ldif").read_text().splitlines():
        if line.startswith("userPassword: "):
            value = line.split(": ", 1)[1]
            out += [value, value.split("}", 1)[1]]
    assert len(out) == 2 * (len(PEOPLE) + 1), out
    return out


@pytest.fixture(scope="module")
def debug_servers(aerie_bin, ca_dir, slapd, tmp_path_factory):
    """auth_debug and auth_verbose on (the acceptance config has auth_verbose), and the auth cache, whose hits
    and stored verifiers are logged at debug level too."""
    tmp = tmp_path_factory.mktemp("ldap-debug")
    helpers.make_readable_by_all(tmp)
    debug = "auth_debug = yes\nauth_verbose = yes\nauth_cache_size = 1M\nauth_cache_negative_ttl = 1 hour\n"
    made = {}
    try:
        made["lookup"] = start_aerie(aerie_bin, ca_dir, "lookup", debug + ldap_sections(slapd, LOOKUP_PASSDB), tmp)
        made["bind"] = start_aerie(aerie_bin, ca_dir, "bind", debug + ldap_sections(slapd, BIND_PASSDB), tmp)
        yield made
    finally:
        codes = {name: server.stop_if_running() for name, server in made.items()}
        assert set(codes.values()) <= {0}, codes


@pytest.mark.parametrize("kind", ["lookup", "bind"])
def test_no_secret_in_debug_logs(debug_servers, slapd, kind):
    """Issue 12: with auth_debug = yes, lookup and bind logins (right and wrong passwords, twice each so the
    second answer comes from the auth cache) log neither a password, nor ldap_auth_dn_password, nor a stored
    userPassword hash: not in aerie.log, not on stdout/stderr."""
    server = debug_servers[kind]
    wrong = "Wrong-Ldap-9q"
    for _ in range(2):
        assert imap_login(server, "alice", PEOPLE["alice"].password) == ("OK", ""), server.log()[-3000:]
        assert pop3_login(server, "bob", PEOPLE["bob"].password) == ("OK", ""), server.log()[-3000:]
        assert imap_login(server, "alice", wrong)[0] == "NO"
        assert imap_login(server, "nobody", PEOPLE["alice"].password)[0] == "NO"
    log = server.log() + server.output()
    # auth_debug is in effect: the verifications and the cache hits are logged (the test sees what debug logs).
    assert "ldap(alice," in log and "Password verified" in log, log[-3000:]
    assert "cache hit" in log, log[-3000:]
    secrets = [slapd_peer.SERVICE_PASSWORD, wrong] + [p.password for p in PEOPLE.values()]
    secrets += directory_secrets(slapd)
    for secret in secrets:
        assert secret not in log, (kind, secret)
    # Nor the SASL PLAIN payloads imap_login sent (base64 of the user and password).
    import base64
    for user, password in (("alice", PEOPLE["alice"].password), ("alice", wrong)):
        assert base64.b64encode(f"\0{user}\0{password}".encode()).decode() not in log


def readme_ldap_example(slapd) -> str:
    """The README's LDAP configuration as written, pointed at the test slapd: its URIs, CA and service password
    replaced, nothing else (comments after values included)."""
    text = (helpers.REPO / "README.md").read_text()
    block = text.split("### Users in LDAP", 1)[1].split("```", 2)[1]
    replace = {"ldaps://ldap1.example.com ldaps://ldap2.example.com": slapd.ldaps_uri,
               "/etc/ssl/ldap-ca.pem": str(slapd.ca),
               "ldap_auth_dn_password = secret": f"ldap_auth_dn_password = {slapd_peer.SERVICE_PASSWORD}"}
    for old, new in replace.items():
        assert old in block, old
        block = block.replace(old, new)
    # The example's DNs are the test directory's.
    assert f"ldap_auth_dn = {slapd_peer.SERVICE_DN}\n" in block
    assert f"ldap_base = ou=people,{slapd_peer.SUFFIX}\n" in block
    return block


def test_readme_ldap_example_works(aerie_bin, ca_dir, slapd, tmp_path):
    """Issue 12: the README's LDAP example passes `aerie conf check` and logs users in from slapd (lookup
    authentication with the {SSHA512} and {CRYPT} userPassword, home from homeDirectory)."""
    helpers.make_readable_by_all(tmp_path)
    server = start_aerie(aerie_bin, ca_dir, "readme", readme_ldap_example(slapd), tmp_path)
    try:
        r = helpers.run([aerie_bin, "conf", "check", "-c", str(server.config)], timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert imap_login(server, "alice", PEOPLE["alice"].password) == ("OK", ""), server.log()[-3000:]
        assert pop3_login(server, "bob", PEOPLE["bob"].password) == ("OK", ""), server.log()[-3000:]
        assert imap_login(server, "alice", "wrong")[0] == "NO"
        r = helpers.run([aerie_bin, "adm", "user", "-A", "-c", str(server.config)], timeout=30)
        assert r.returncode == 0 and sorted(r.stdout.split()) == sorted(PEOPLE), r.stdout + r.stderr
    finally:
        assert server.stop_if_running() == 0, server.log()[-3000:]


def test_restart_between_logins_reconnects(servers, slapd):
    """The pooled connections (several, from concurrent logins) die with the old slapd; the next login notices
    (LDAP_SERVER_DOWN), drops them all and retries on a fresh connection instead of failing."""
    from concurrent.futures import ThreadPoolExecutor
    for kind in ("lookup", "bind"):
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda _: imap_login(servers[kind], "alice", PEOPLE["alice"].password,
                                                         timeout=60), range(6)))
        assert results == [("OK", "")] * 6
    slapd.stop()
    slapd.start()
    for kind in ("lookup", "bind"):
        assert imap_login(servers[kind], "alice", PEOPLE["alice"].password) == ("OK", ""), servers[kind].log()[-2000:]


def test_slapd_stopped_mid_run_then_back(servers, slapd):
    """Runs last: stops the session's slapd. Pooled connections go stale; logins fail quickly as temporary
    failures; once slapd is back the same servers log in again (reconnect, no restart of Aerie)."""
    lookup, bind = servers["lookup"], servers["bind"]
    assert imap_login(lookup, "alice", PEOPLE["alice"].password)[0] == "OK"
    assert imap_login(bind, "alice", PEOPLE["alice"].password)[0] == "OK"
    slapd.stop()
    try:
        for server in (lookup, bind):
            started = time.monotonic()
            typ, text = imap_login(server, "alice", PEOPLE["alice"].password)
            # Refused connections answer at once; the bound is far above that and far below a hang.
            assert time.monotonic() - started < 20
            assert typ == "NO" and UNAVAILABLE in text, text
            typ, text = pop3_login(server, "bob", PEOPLE["bob"].password)
            assert typ == "NO" and "[SYS/TEMP]" in text, text
        # A delivery is deferred (451), never bounced as an unknown user.
        code, text = lmtp_rcpt(lookup, "bob@example.com")
        assert code == 451, text
    finally:
        slapd.start()
    for server in (lookup, bind):
        assert imap_login(server, "alice", PEOPLE["alice"].password) == ("OK", ""), server.log()[-3000:]
        assert pop3_login(server, "bob", PEOPLE["bob"].password) == ("OK", "")
