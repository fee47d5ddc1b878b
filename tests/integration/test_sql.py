"""The `sql` passdb and userdb against Debian's PostgreSQL: a cluster made by the test in a temporary directory
(one per test session), run as the `postgres` user on a free loopback port. Logins over IMAP and POP3 with
SHA512-CRYPT and ARGON2ID hashes, wrong passwords, SQL injection through the user name (values are bound
parameters, never SQL text), LMTP delivery through the sql userdb, and the database stopped mid-run (a quick
temporary failure) then started again (logins recover without restarting Aerie)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers
from test_ldap import AUTH_FAILED, UNAVAILABLE, imap_login, pop3_login

DB_USER = "aerie_auth"
TLS_USER = "aerie_tls"  # pg_hba.conf lets this role in over TLS only
DB_PASSWORD = "Db-Secret-8kQ"
PEOPLE = {
    "alice": "Alice-Sql-1x",  # SHA512-CRYPT
    "bob": "Bob-Sql-2y",  # ARGON2ID
    "carol": "Carol-Sql-3z",  # nologin
}


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL missing: apt-get install postgresql (scripts/test.sh installs it)")
    return found[-1]


@dataclass
class Postgres:
    data: Path
    socket_dir: Path
    port: int
    log: Path

    def _as_postgres(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                              timeout=120, **kw)
        assert done.returncode == 0, (cmd, done.stdout, done.stderr)
        return done

    def start(self) -> None:
        self._as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                           "-o", f"-p {self.port} -k {self.socket_dir} -h localhost", "start"])

    def stop(self) -> None:
        self._as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def psql(self, sql: str) -> str:
        return self._as_postgres([pg_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-d", "mail",
                                  "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).stdout


@pytest.fixture(scope="session")
def postgres(tmp_path_factory, vmail, ca_dir):
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("no postgres user: apt-get install postgresql (scripts/test.sh installs it)")
    directory = tmp_path_factory.mktemp("pgsql")
    helpers.make_readable_by_all(directory)
    data, sockets = directory / "data", directory / "run"
    for made in (data, sockets):
        made.mkdir(mode=0o700)
        os.chown(made, pwd.getpwnam("postgres").pw_uid, -1)
    pwfile = directory / "pw"
    pwfile.write_text("Superuser-Pw-5t\n")
    os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
    server = Postgres(data, sockets, helpers.free_port(), directory / "postgres.log")
    log = directory / "postgres.log"
    log.touch()
    os.chown(log, pwd.getpwnam("postgres").pw_uid, -1)
    server._as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
    # TLS with a certificate for localhost from the session's test CA; TLS_USER may only connect over it.
    tls = helpers.make_tls(directory / "tls", ca_dir=ca_dir)
    os.chown(tls.key, pwd.getpwnam("postgres").pw_uid, -1)
    server.ca = directory / "ca.pem"
    server.ca.write_text(tls.ca.read_text())
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"ssl = on\nssl_cert_file = '{tls.cert}'\nssl_key_file = '{tls.key}'\n")
    hba = data / "pg_hba.conf"
    only_tls = "".join(f"hostssl all {TLS_USER} {net} scram-sha-256\nhost all {TLS_USER} {net} reject\n"
                       for net in ("127.0.0.1/32", "::1/128"))
    hba.write_text(only_tls + hba.read_text())
    server.start()
    server._as_postgres([pg_bin("createdb"), "-h", str(sockets), "-p", str(server.port), "mail"])
    uid, gid = vmail
    home_root = directory / "home"
    home_root.mkdir()
    os.chown(home_root, uid, gid)
    server.home_root = home_root
    rows = []
    for name, password in PEOPLE.items():
        stored = helpers.argon2id(password) if name == "bob" else helpers.sha512_crypt(password)
        (home_root / name).mkdir()
        os.chown(home_root / name, uid, gid)
        nologin = "TRUE" if name == "carol" else "FALSE"
        rows.append(f"('{name}', 'example.com', '{stored}', '{home_root / name}', {uid}, {gid}, {nologin})")
    server.psql(f"""
CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}';
CREATE ROLE {TLS_USER} LOGIN PASSWORD '{DB_PASSWORD}';
CREATE TABLE users (userid TEXT PRIMARY KEY, domain TEXT NOT NULL, password TEXT NOT NULL, home TEXT NOT NULL,
                    uid INTEGER NOT NULL, gid INTEGER NOT NULL, disabled BOOLEAN NOT NULL);
INSERT INTO users VALUES {", ".join(rows)};
GRANT SELECT ON users TO {DB_USER}, {TLS_USER};
""")
    yield server
    try:
        server.stop()
    except AssertionError:
        pass


PASSDB_QUERY = ("SELECT userid AS user, password, CASE WHEN disabled THEN '' END AS nologin "
                "FROM users WHERE userid = '%{user}'")


def sql_sections(postgres, host: str = "127.0.0.1", user: str = DB_USER, tls: str = "sslmode = disable") -> str:
    return f"""
sql_driver = pgsql
pgsql {host} {{
  parameters {{
    port = {postgres.port}
    dbname = mail
    user = {user}
    password = {DB_PASSWORD}
    {tls}
    connect_timeout = 2
  }}
}}
# Any character may reach the query: injection attempts must meet bound parameters.
auth_username_chars =
passdb sql {{
  query = {PASSDB_QUERY}
}}
userdb sql {{
  # LMTP recipients are user@domain.
  query = SELECT home, uid, gid FROM users WHERE userid = '%{{user | username}}' AND domain = 'example.com'
  iterate_query = SELECT userid AS user FROM users
}}
"""


@pytest.fixture(scope="module")
def servers(aerie_bin, ca_dir, postgres, tmp_path_factory):
    from test_ldap import start_aerie
    tmp = tmp_path_factory.mktemp("sql-aerie")
    helpers.make_readable_by_all(tmp)
    other_ca = tmp / "other-ca"
    helpers.make_ca(other_ca)
    helpers.make_readable_by_all(other_ca)
    plans = {
        "plain": sql_sections(postgres),
        "tls": sql_sections(postgres, "localhost", TLS_USER, f"sslmode = verify-full\n    sslrootcert = {postgres.ca}"),
        "wrong_ca": sql_sections(postgres, "localhost", TLS_USER,
                                 f"sslmode = verify-full\n    sslrootcert = {other_ca / 'ca.pem'}"),
        "no_tls": sql_sections(postgres, "localhost", TLS_USER),
    }
    made = {}
    try:
        for name, sections in plans.items():
            made[name] = start_aerie(aerie_bin, ca_dir, name, sections, tmp)
        yield made
    finally:
        bad = [(name, rc, s.log()[-2000:]) for name, s in made.items() if (rc := s.stop_if_running()) != 0]
        assert not bad, bad


@pytest.fixture(scope="module")
def server(servers):
    return servers["plain"]


def test_tls_to_the_database(servers):
    """sslmode = verify-full with the CA that issued PostgreSQL's certificate logs in (the role may connect over
    TLS only); another CA, or no TLS at all, is a temporary failure: the password was never checked."""
    assert imap_login(servers["tls"], "alice", PEOPLE["alice"]) == ("OK", ""), servers["tls"].log()[-3000:]
    assert pop3_login(servers["tls"], "bob", PEOPLE["bob"]) == ("OK", "")
    for kind in ("wrong_ca", "no_tls"):
        typ, text = imap_login(servers[kind], "alice", PEOPLE["alice"])
        assert typ == "NO" and UNAVAILABLE in text, (kind, text)
        assert "sql(alice" in servers[kind].log()
    # The log says why: the certificate's issuer is unknown; pg_hba.conf refuses the role without TLS.
    assert "last connection error" in servers["wrong_ca"].log()
    assert "no encryption" in servers["no_tls"].log(), servers["no_tls"].log()[-2000:]


def test_imap_and_pop3_logins(server, postgres):
    for name in ("alice", "bob"):
        assert imap_login(server, name, PEOPLE[name]) == ("OK", ""), server.log()[-3000:]
        assert pop3_login(server, name, PEOPLE[name]) == ("OK", ""), server.log()[-3000:]
    # The home directory came from the sql userdb.
    assert (postgres.home_root / "alice" / "Maildir").is_dir()


def test_wrong_password_unknown_user_and_nologin(server):
    for user, password in [("alice", "wrong"), ("bob", PEOPLE["alice"]), ("nobody", "whatever"),
                           ("carol", PEOPLE["carol"])]:
        typ, text = imap_login(server, user, password)
        assert typ == "NO" and UNAVAILABLE not in text, (user, text)
    assert pop3_login(server, "alice", "wrong")[0] == "NO"


INJECTIONS = ["x' OR '1'='1", "alice' --", "alice'; DROP TABLE users; --", "' OR userid LIKE '%", "%{user}",
              "alice\\", "$1", "' UNION SELECT 'alice', password, NULL FROM users --"]


def test_sql_injection_matches_nobody(server, postgres):
    """Each name, pasted into the SQL, would match alice (or everyone) or break the query; bound, it is the name
    of nobody: a plain authentication failure, never a temporary one (no SQL error)."""
    for name in INJECTIONS:
        typ, text = imap_login(server, name, PEOPLE["alice"])
        assert typ == "NO" and AUTH_FAILED in text, (name, text, server.log()[-2000:])
    assert "query failed" not in server.log()
    assert postgres.psql("SELECT count(*) FROM users").strip() == str(len(PEOPLE))


def lmtp_rcpt(server, recipient: str) -> tuple[int, str]:
    message = helpers.make_message(f"{time.monotonic_ns()}@sql.test", to=recipient)
    with helpers.LMTPClient(server.lmtp_socket) as c:
        return c.deliver("sender@example.org", [recipient], message)[recipient]


def test_lmtp_delivery_through_the_sql_userdb(server, postgres):
    code, text = lmtp_rcpt(server, "bob@example.com")
    assert code == 250, text
    assert any((postgres.home_root / "bob" / "Maildir" / "new").iterdir())
    code, text = lmtp_rcpt(server, "nobody@example.com")
    assert code == 550, text


def test_no_secret_in_logs(server):
    log = server.log() + server.output()
    for secret in [DB_PASSWORD, *PEOPLE.values()]:
        assert secret not in log, secret


def adm(srv, *arguments: str):
    return helpers.run([srv.binary, "adm", *arguments, "-c", str(srv.config)], timeout=30)


def test_user_listing_through_iterate_query(server, postgres):
    """`aerie adm user -A` streams the iterate_query's `user` column; a mask matches in Aerie (never in SQL), so
    quotes and SQL in it match nothing and touch no table."""
    r = adm(server, "user", "-A")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(r.stdout.split()) == sorted(PEOPLE), r.stdout
    r = adm(server, "user", "a*")
    assert (r.returncode, r.stdout.split()) == (0, ["alice"]), r.stdout + r.stderr
    r = adm(server, "user", "?O?")
    assert (r.returncode, r.stdout.split()) == (0, ["bob"]), r.stdout + r.stderr
    for mask in ["*' OR '1'='1", "x' OR userid LIKE '%*", "*'; DROP TABLE users; --", "%{user}*", "*\\"]:
        r = adm(server, "user", mask)
        assert (r.returncode, r.stdout) == (0, ""), (mask, r.stdout, r.stderr)
    assert postgres.psql("SELECT count(*) FROM users").strip() == str(len(PEOPLE))
    assert "iterate_query failed" not in server.log()


REHASH_PEOPLE = {"dora": "Dora-Rh-4a", "emil": "Emil-Rh-5b", "fay": "Fay-Rh-6c"}


def rehash_sections(postgres, update: str) -> str:
    sections = sql_sections(postgres).replace("FROM users", "FROM rehash_users")
    sections = sections.replace("  query = " + PASSDB_QUERY.replace("FROM users", "FROM rehash_users"),
                                "  query = " + PASSDB_QUERY.replace("FROM users", "FROM rehash_users")
                                + f"\n  update_query = {update}", 1)
    sections = sections.replace("iterate_query = SELECT userid AS user FROM rehash_users",
                                "iterate_query = SELECT userid AS username, domain FROM rehash_users")
    return sections + "auth_rehash_scheme = ARGON2ID\nauth_cache_size = 1M\nauth_cache_ttl = 1 hour\nauth_debug = yes\n"


def stored(postgres, user: str) -> str:
    return postgres.psql(f"SELECT password FROM rehash_users WHERE userid = '{user}'").strip()


def doveadm_verifies(hashed: str, password: str) -> bool:
    r = subprocess.run(["doveadm", "pw", "-t", hashed, "-p", password], capture_output=True, text=True)
    return r.returncode == 0 and "(verified)" in r.stdout


def make_rehash_table(postgres) -> None:
    """rehash_users: REHASH_PEOPLE with fresh SHA512-CRYPT hashes, which the test role may update."""
    uid, gid = os.stat(postgres.home_root).st_uid, os.stat(postgres.home_root).st_gid
    rows = ", ".join(f"('{name}', 'example.com', '{helpers.sha512_crypt(pw)}', '{postgres.home_root / 'alice'}', "
                     f"{uid}, {gid}, FALSE)" for name, pw in REHASH_PEOPLE.items())
    postgres.psql(f"""
DROP TABLE IF EXISTS rehash_users;
CREATE TABLE rehash_users (LIKE users INCLUDING ALL);
INSERT INTO rehash_users VALUES {rows};
GRANT SELECT, UPDATE ON rehash_users TO {DB_USER};
""")


def test_rehash_through_update_query(aerie_bin, ca_dir, postgres, tmp_path_factory):
    """auth_rehash_scheme with update_query: a SHA512-CRYPT row becomes an ARGON2ID hash that `doveadm pw -t`
    verifies, logged once; the next login works; the other rows stay byte for byte. A row that changed since the
    hash was verified (here: read from the auth cache) is left alone. The listing joins username and domain."""
    from test_ldap import start_aerie
    if shutil.which("doveadm") is None:
        pytest.fail("doveadm needed (scripts/test.sh installs dovecot-core)")
    make_rehash_table(postgres)
    before = {name: stored(postgres, name) for name in REHASH_PEOPLE}
    tmp = tmp_path_factory.mktemp("sql-rehash")
    helpers.make_readable_by_all(tmp)
    update = "UPDATE rehash_users SET password = '%{password}' WHERE userid = '%{user}'"
    srv = start_aerie(aerie_bin, ca_dir, "rehash", rehash_sections(postgres, update), tmp)
    try:
        assert imap_login(srv, "dora", REHASH_PEOPLE["dora"]) == ("OK", ""), srv.log()[-3000:]
        new = stored(postgres, "dora")
        assert new.startswith("{ARGON2ID}$argon2id$"), new
        assert doveadm_verifies(new, REHASH_PEOPLE["dora"]) and not doveadm_verifies(new, "wrong")
        assert imap_login(srv, "dora", REHASH_PEOPLE["dora"]) == ("OK", "")
        assert pop3_login(srv, "dora", REHASH_PEOPLE["dora"]) == ("OK", "")
        assert stored(postgres, "dora") == new  # already strong: not rewritten again
        assert srv.log().count("password rehashed from SHA512-CRYPT to ARGON2ID") == 1, srv.log()[-3000:]
        # A wrong password rehashes nothing (and leaves emil's hash in the auth cache).
        assert imap_login(srv, "emil", "wrong")[0] == "NO"
        assert stored(postgres, "emil") == before["emil"]
        # The admin sets a new hash meanwhile; emil's login verifies against the cached old one, and the
        # rehash must not overwrite the admin's row with a hash of the old password.
        changed = helpers.sha512_crypt(REHASH_PEOPLE["emil"])
        postgres.psql(f"UPDATE rehash_users SET password = '{changed}' WHERE userid = 'emil'")
        assert imap_login(srv, "emil", REHASH_PEOPLE["emil"]) == ("OK", ""), srv.log()[-3000:]
        assert stored(postgres, "emil") == changed
        assert "rehash skipped: the entry changed meanwhile" in srv.log()
        assert stored(postgres, "fay") == before["fay"]
        # The rehashed row holds no secret in the log; the listing joins username and domain.
        assert REHASH_PEOPLE["dora"] not in srv.log() and new not in srv.log()
        r = adm(srv, "user", "*@example.com")
        assert r.returncode == 0 and sorted(r.stdout.split()) == sorted(f"{n}@example.com" for n in REHASH_PEOPLE)
    finally:
        assert srv.stop_if_running() == 0, srv.log()[-2000:]


def test_update_query_changing_other_rows_is_rolled_back(aerie_bin, ca_dir, postgres, tmp_path_factory):
    """An update_query whose WHERE misses the user would overwrite every password: Aerie rolls it back, logs the
    failure once, and the login itself still succeeds."""
    from test_ldap import start_aerie
    make_rehash_table(postgres)
    before = {name: stored(postgres, name) for name in REHASH_PEOPLE}
    tmp = tmp_path_factory.mktemp("sql-rehash-bad")
    helpers.make_readable_by_all(tmp)
    update = "UPDATE rehash_users SET password = '%{password}' WHERE domain = 'example.com'"
    srv = start_aerie(aerie_bin, ca_dir, "rehash-bad", rehash_sections(postgres, update), tmp)
    try:
        for _ in range(2):
            assert imap_login(srv, "fay", REHASH_PEOPLE["fay"]) == ("OK", ""), srv.log()[-3000:]
        assert {name: stored(postgres, name) for name in REHASH_PEOPLE} == before
        assert srv.log().count("password rehash failed: update_query changed 3 rows") == 1, srv.log()[-3000:]
    finally:
        assert srv.stop_if_running() == 0, srv.log()[-2000:]


def test_a_locked_row_does_not_hold_up_the_login(aerie_bin, ca_dir, postgres, tmp_path_factory):
    """Another transaction holds fay's row locked (FOR UPDATE): her login that earns a rehash answers within
    the connect timeout's bounds instead of waiting for the lock (held until the test commits); the row is left to
    the lock holder. Once the lock is gone, the next login rehashes."""
    from test_ldap import start_aerie
    make_rehash_table(postgres)
    tmp = tmp_path_factory.mktemp("sql-rehash-locked")
    helpers.make_readable_by_all(tmp)
    update = "UPDATE rehash_users SET password = '%{password}' WHERE userid = '%{user}'"
    srv = start_aerie(aerie_bin, ca_dir, "rehash-locked", rehash_sections(postgres, update), tmp)
    # psql reads the script from stdin: the transaction stays open (the row locked) until COMMIT is sent.
    locker = subprocess.Popen(
        ["runuser", "-u", "postgres", "--", pg_bin("psql"), "-h", str(postgres.socket_dir), "-p", str(postgres.port),
         "-d", "mail", "-qAt"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        locker.stdin.write("BEGIN;\nSELECT 1 FROM rehash_users WHERE userid = 'fay' FOR UPDATE;\n")
        locker.stdin.flush()
        deadline = time.monotonic() + 30
        while postgres.psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                            "AND query LIKE '%FOR UPDATE%'").strip() != "1":
            assert time.monotonic() < deadline, "the locking transaction did not start"
            time.sleep(0.1)
        started = time.monotonic()
        assert imap_login(srv, "fay", REHASH_PEOPLE["fay"], timeout=90) == ("OK", ""), srv.log()[-3000:]
        assert time.monotonic() - started < 30, "the login waited for the row lock"
        assert stored(postgres, "fay").startswith("{SHA512-CRYPT}")
        locker.stdin.write("COMMIT;\n")
        locker.stdin.close()
        locker.wait(timeout=30)
        assert imap_login(srv, "fay", REHASH_PEOPLE["fay"]) == ("OK", ""), srv.log()[-3000:]
        assert stored(postgres, "fay").startswith("{ARGON2ID}")
    finally:
        locker.kill()
        assert srv.stop_if_running() == 0, srv.log()[-2000:]


def test_readme_sql_example_works(aerie_bin, ca_dir, postgres, tmp_path_factory):
    """The README's SQL example as written (connection parameters pointed at the test cluster) passes `aerie conf
    check`, logs user@domain in, and lists the users as username@domain through its iterate_query."""
    from test_ldap import start_aerie
    block = (helpers.REPO / "README.md").read_text().split("### Users in PostgreSQL", 1)[1].split("```", 2)[1]
    replace = {"pgsql db.example.com {": "pgsql 127.0.0.1 {", "user = dovecot": f"user = {DB_USER}",
               "password = secret": f"password = {DB_PASSWORD}", "sslmode = verify-full": "sslmode = disable",
               "sslrootcert = /etc/ssl/db-ca.pem": f"port = {postgres.port}"}
    for old, new in replace.items():
        assert old in block, old
        block = block.replace(old, new)
    assert "update_query = " in block and "iterate_query = " in block
    tmp = tmp_path_factory.mktemp("sql-readme")
    helpers.make_readable_by_all(tmp)
    srv = start_aerie(aerie_bin, ca_dir, "readme", block, tmp)
    try:
        r = helpers.run([aerie_bin, "conf", "check", "-c", str(srv.config)], timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert imap_login(srv, "alice@example.com", PEOPLE["alice"]) == ("OK", ""), srv.log()[-3000:]
        assert imap_login(srv, "alice@example.com", "wrong")[0] == "NO"
        r = adm(srv, "user", "-A")
        assert r.returncode == 0 and sorted(r.stdout.split()) == sorted(f"{n}@example.com" for n in PEOPLE), r.stdout
    finally:
        assert srv.stop_if_running() == 0, srv.log()[-2000:]


def test_database_stopped_mid_run_then_back(server, postgres):
    """Runs last: stops the session's PostgreSQL. Logins fail quickly as temporary failures (never a wrong
    password), deliveries are deferred; once the database is back the same server logs in again."""
    assert imap_login(server, "alice", PEOPLE["alice"])[0] == "OK"
    postgres.stop()
    try:
        started = time.monotonic()
        typ, text = imap_login(server, "alice", PEOPLE["alice"], timeout=60)
        assert time.monotonic() - started < 20
        assert typ == "NO" and UNAVAILABLE in text, text
        typ, text = pop3_login(server, "bob", PEOPLE["bob"])
        assert typ == "NO" and "[SYS/TEMP]" in text, text
        code, text = lmtp_rcpt(server, "bob@example.com")
        assert code == 451, text
    finally:
        postgres.start()
    assert imap_login(server, "alice", PEOPLE["alice"]) == ("OK", ""), server.log()[-3000:]
    assert pop3_login(server, "bob", PEOPLE["bob"]) == ("OK", "")
