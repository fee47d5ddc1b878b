"""The `ldap` passdb and userdb against a real Active Directory: a Samba AD DC (samba_peer.py, one per test
session). Bind authentication over ldaps:// with a verified certificate, logins by sAMAccountName and by
userPrincipalName, a disabled account, wrong passwords and an injection attempt, over IMAP and POP3."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import helpers
import samba_peer
from test_ldap import AUTH_FAILED, imap_login, pop3_login, start_aerie

USERS = {"erin": "Erin-Ad-Pw-6!", "fred": "Fred-Ad-Pw-7!"}


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory, ca_dir):
    if shutil.which("samba-tool") is None or shutil.which("samba") is None:
        pytest.fail("samba missing: apt-get install samba-ad-dc samba-ad-provision (scripts/test.sh installs them)")
    directory = tmp_path_factory.mktemp("samba")
    helpers.make_readable_by_all(directory)
    dc = samba_peer.make_samba_dc(directory, ca_dir)
    try:
        for name, password in USERS.items():
            dc.tool("user", "create", name, password)
        dc.tool("user", "disable", "fred")
        yield dc
    finally:
        dc.stop()


AD_FILTER = "(&(objectClass=user)(|(sAMAccountName=%{user | username})(userPrincipalName=%{user})))"


@pytest.fixture(scope="module")
def ad_server(aerie_bin, ca_dir, samba_dc, tmp_path_factory, vmail):
    tmp = tmp_path_factory.mktemp("ldap-ad-aerie")
    helpers.make_readable_by_all(tmp)
    home_root = tmp / "home"
    home_root.mkdir()
    uid, gid = vmail
    os.chown(home_root, uid, gid)
    ca = tmp / "ad-ca.pem"
    shutil.copy(samba_dc.ca, ca)
    os.chmod(ca, 0o644)
    sections = f"""
ldap_uris = ldaps://127.0.0.1
ssl_client_ca_file = {ca}
ldap_auth_dn = Administrator@ad.example.com
ldap_auth_dn_password = {samba_peer.ADMIN_PASSWORD}
ldap_base = CN=Users,{samba_peer.BASE}
passdb ldap {{
  passdb_ldap_bind = yes
  passdb_ldap_filter = {AD_FILTER}
}}
userdb ldap {{
  userdb_ldap_filter = {AD_FILTER}
  fields {{
    home = {home_root}/%{{ldap:sAMAccountName}}
  }}
}}
"""
    server = start_aerie(aerie_bin, ca_dir, "ad", sections, tmp)
    yield server
    rc = server.stop_if_running()
    assert rc == 0, server.log()[-3000:]


def test_samba_provisioning_time_is_reported(samba_dc):
    print(f"samba-tool domain provision took {samba_dc.provision_seconds:.1f} s")
    assert samba_dc.provision_seconds < 600


@pytest.mark.parametrize("login", ["erin", "erin@ad.example.com", "ERIN"])
def test_sam_account_name_and_upn_logins(ad_server, login):
    assert imap_login(ad_server, login, USERS["erin"]) == ("OK", ""), ad_server.log()[-3000:]


def test_pop3_login(ad_server):
    assert pop3_login(ad_server, "erin@ad.example.com", USERS["erin"]) == ("OK", "")


def test_wrong_password_disabled_account_and_injection(ad_server):
    for user, password in [("erin", "wrong"), ("erin", ""), ("fred", USERS["fred"]), ("*", USERS["erin"]),
                           ("e*", USERS["erin"]), ("nobody", "x")]:
        typ, text = imap_login(ad_server, user, password)
        assert typ == "NO" and AUTH_FAILED in text, (user, text, ad_server.log()[-2000:])
    log = ad_server.log()
    for secret in [samba_peer.ADMIN_PASSWORD, *USERS.values()]:
        assert secret not in log
