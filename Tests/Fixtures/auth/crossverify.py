#!/usr/bin/env python3
"""Verifies hashes made by Aerie (`aerie pw`) with independent implementations: Python's crypt (libxcrypt),
argon2-cffi and hashlib. Input on stdin, one per line: SCHEME<TAB>password<TAB>hash (or space-separated when the
password has no spaces; a 4th column, as in vectors.txt, is ignored). Exit 0 when every line verifies and a wrong password does not; 1 otherwise."""
import base64, binascii, hashlib, hmac, sys, warnings
warnings.filterwarnings("ignore")
import crypt
try:
    import argon2
except ImportError:
    argon2 = None

DIGESTS = {"SHA": "sha1", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512", "PLAIN-MD5": "md5", "LDAP-MD5": "md5"}
SALTED = {"SSHA": "sha1", "SSHA256": "sha256", "SSHA512": "sha512", "SMD5": "md5"}
DEFAULT_HEX = {"PLAIN-MD5"}


def decode(value, encoding, default):
    enc = encoding or default
    if enc == "HEX":
        return binascii.unhexlify(value)
    if enc in ("B64", "BASE64"):
        return base64.b64decode(value, validate=True)
    return value.encode()


def check(scheme, password, stored):
    if not stored.startswith("{") or "}" not in stored:
        raise ValueError("no {SCHEME} prefix")
    prefix, value = stored[1:].split("}", 1)
    if prefix.upper() != scheme.upper():
        raise ValueError(f"prefix {prefix} != {scheme}")
    name, _, encoding = scheme.upper().partition(".")
    pw = password.encode()
    if name in ("SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "CRYPT", "MD5-CRYPT", "DES-CRYPT"):
        setting = decode(value, encoding, None).decode()
        return crypt.crypt(password, setting) == setting
    if name in ("ARGON2ID", "ARGON2I"):
        if argon2 is None:
            raise RuntimeError("argon2-cffi not installed")
        try:
            return argon2.PasswordHasher().verify(decode(value, encoding, None).decode(), password)
        except argon2.exceptions.VerifyMismatchError:
            return False
    if name == "PBKDF2":
        _, one, salt, rounds, hexhash = decode(value, encoding, None).decode().split("$")
        assert one == "1"
        key = hashlib.pbkdf2_hmac("sha1", pw, salt.encode(), int(rounds), 20)
        return hmac.compare_digest(key.hex(), hexhash.lower())
    if name in SALTED:
        raw = decode(value, encoding, "B64")
        size = hashlib.new(SALTED[name]).digest_size
        return hmac.compare_digest(hashlib.new(SALTED[name], pw + raw[size:]).digest(), raw[:size])
    if name in DIGESTS:
        raw = decode(value, encoding, "HEX" if name in DEFAULT_HEX else "B64")
        return hmac.compare_digest(hashlib.new(DIGESTS[name], pw).digest(), raw)
    if name in ("PLAIN", "CLEAR", "CLEARTEXT"):
        return decode(value, encoding, None) == pw
    if name == "PLAIN-TRUNC":
        length, _, rest = decode(value, encoding, None).partition(b"-")
        return rest == pw[: int(length)] if len(pw) >= int(length) == len(rest) else rest == pw
    raise ValueError(f"unsupported scheme {scheme}")


def main():
    failures = checked = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split(" ")
        if len(parts) == 4:  # vectors.txt carries a source column
            parts = parts[:3]
        if len(parts) != 3:
            print(f"BAD LINE: {line!r}"); failures += 1; continue
        scheme, password, stored = parts
        checked += 1
        try:
            ok = check(scheme, password, stored)
            wrong = check(scheme, "x" + password, stored)  # prefix: DES and PLAIN-TRUNC ignore a suffix
        except Exception as error:  # report, do not stop: one bad scheme must not hide the others
            print(f"FAIL {scheme}: {error}"); failures += 1; continue
        if not ok or wrong:
            print(f"FAIL {scheme}: right={ok} wrong={wrong}"); failures += 1
        else:
            print(f"ok   {scheme}")
    print(f"{checked - failures}/{checked} verified")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
