"""`aerie pw`: hashes Aerie makes verify in Python and doveadm; hashes they make verify in Aerie."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import helpers
from helpers import crypt

SECRET = "secret"


def pw(aerie_bin, *args, input: str | None = None) -> subprocess.CompletedProcess:
    return helpers.run([aerie_bin, "pw", *args], timeout=60, input=input)


def make(aerie_bin, scheme: str, *extra) -> str:
    r = pw(aerie_bin, "-s", scheme, "-p", SECRET, *extra)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert out.startswith("{" + scheme + "}"), out
    assert SECRET not in out
    return out


def doveadm_schemes() -> set[str]:
    if not shutil.which("doveadm"):
        return set()
    r = helpers.run(["doveadm", "pw", "-l"])
    return set(r.stdout.split())


def test_sha512_crypt_verifies_in_python(aerie_bin):
    h = make(aerie_bin, "SHA512-CRYPT")
    body = h.removeprefix("{SHA512-CRYPT}")
    assert body.startswith("$6$"), h
    assert crypt.crypt(SECRET, body) == body
    assert crypt.crypt("wrong", body) != body


def test_sha512_crypt_rounds(aerie_bin):
    h = make(aerie_bin, "SHA512-CRYPT", "-r", "10000")
    body = h.removeprefix("{SHA512-CRYPT}")
    assert body.startswith("$6$rounds=10000$"), h
    assert crypt.crypt(SECRET, body) == body


def test_argon2id_verifies_in_argon2_cffi(aerie_bin):
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError

    h = make(aerie_bin, "ARGON2ID")
    body = h.removeprefix("{ARGON2ID}")
    assert body.startswith("$argon2id$v=19$"), h
    assert PasswordHasher().verify(body, SECRET)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(body, "wrong")


def test_blf_crypt_verifies_in_python(aerie_bin):
    h = make(aerie_bin, "BLF-CRYPT")
    body = h.removeprefix("{BLF-CRYPT}")
    assert re.match(r"^\$2[aby]\$\d\d\$", body), h
    assert crypt.crypt(SECRET, body) == body


@pytest.mark.parametrize("scheme", ["SHA512-CRYPT", "ARGON2ID", "BLF-CRYPT", "SHA256-CRYPT", "SSHA512", "PBKDF2"])
def test_doveadm_verifies_aerie_hash(aerie_bin, scheme):
    if scheme not in doveadm_schemes():
        pytest.skip(f"doveadm here does not support {scheme}")
    h = make(aerie_bin, scheme)
    r = helpers.run(["doveadm", "pw", "-t", h, "-p", SECRET])
    assert r.returncode == 0 and "(verified)" in r.stdout, r.stdout + r.stderr
    r = helpers.run(["doveadm", "pw", "-t", h, "-p", "wrong"])
    assert r.returncode != 0


def python_hashes() -> dict[str, str]:
    from argon2 import PasswordHasher

    return {
        "python-sha512": "{SHA512-CRYPT}" + crypt.crypt(SECRET, crypt.mksalt(crypt.METHOD_SHA512)),
        "python-sha256": "{SHA256-CRYPT}" + crypt.crypt(SECRET, crypt.mksalt(crypt.METHOD_SHA256)),
        "python-blf": "{BLF-CRYPT}" + crypt.crypt(SECRET, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=256)),
        "python-argon2id-p1": "{ARGON2ID}" + PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1).hash(SECRET),
        "python-argon2id-p4": "{ARGON2ID}" + PasswordHasher().hash(SECRET),
    }


def doveadm_hashes() -> dict[str, str]:
    out = {}
    for scheme in ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "ARGON2ID", "ARGON2I", "SSHA512", "SSHA256", "PBKDF2"):
        if scheme in doveadm_schemes():
            r = helpers.run(["doveadm", "pw", "-s", scheme, "-p", SECRET])
            if r.returncode == 0:
                out["doveadm-" + scheme] = r.stdout.strip()
    return out


@pytest.fixture(scope="module")
def foreign_hashes() -> dict[str, str]:
    return {**python_hashes(), **doveadm_hashes()}


def test_aerie_verifies_foreign_hashes(aerie_bin, foreign_hashes):
    assert len(foreign_hashes) >= 5
    failures = {}
    for name, h in foreign_hashes.items():
        r = pw(aerie_bin, "-t", h, "-p", SECRET)
        if r.returncode != 0 or "(verified)" not in r.stdout:
            failures[name] = (h, r.returncode, r.stdout.strip(), r.stderr.strip())
        r = pw(aerie_bin, "-t", h, "-p", "wrong")
        if r.returncode != 1:
            failures[name + " (wrong password)"] = (h, r.returncode, r.stdout.strip(), r.stderr.strip())
        elif SECRET in r.stdout + r.stderr or "wrong" in r.stdout + r.stderr:
            failures[name + " (echoes password)"] = (r.stdout, r.stderr)
    assert not failures, failures


def test_pw_reads_password_from_stdin(aerie_bin):
    r = pw(aerie_bin, "-s", "SHA512-CRYPT", input=f"{SECRET}\n{SECRET}\n")
    assert r.returncode == 0, r.stderr
    body = r.stdout.strip().splitlines()[-1].removeprefix("{SHA512-CRYPT}")
    assert crypt.crypt(SECRET, body) == body
    r = pw(aerie_bin, "-t", "{SHA512-CRYPT}" + body, input=f"{SECRET}\n")
    assert r.returncode == 0 and "(verified)" in r.stdout


def test_weak_scheme_refused_by_default(aerie_bin):
    r = pw(aerie_bin, "-s", "PLAIN-MD5", "-p", SECRET)
    assert r.returncode != 0
    r = pw(aerie_bin, "-t", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", "-p", SECRET)
    assert r.returncode == 1
