"""Fixtures for Aerie's integration tests. Run as root (the server binds, then drops to vmail):

    AERIE_BIN=.build/release/aerie python3 -m pytest -q tests/integration
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import helpers
from helpers import Server


def pytest_configure(config):
    # Registered here too so the suite runs (without enforcement) where pytest-timeout is missing.
    config.addinivalue_line("markers", "timeout(seconds): per-test time limit (pytest-timeout)")
    config.addinivalue_line("markers", "serial: uses fixed ports; never run in parallel with another instance")


@pytest.fixture(scope="session")
def aerie_bin() -> str:
    path = os.environ.get("AERIE_BIN") or str(helpers.REPO / ".build" / "release" / "aerie")
    if not os.access(path, os.X_OK):
        pytest.fail(f"Aerie binary not found at {path} (build with `swift build -c release` or set AERIE_BIN)")
    return path


@pytest.fixture(scope="session")
def as_root():
    if os.geteuid() != 0:
        pytest.skip("integration tests run as root: the server binds then drops to vmail")


@pytest.fixture(scope="session")
def vmail(as_root) -> tuple[int, int]:
    try:
        return helpers.vmail_ids()
    except KeyError:
        pytest.fail("system user vmail missing: scripts/test.sh creates it "
                    "(useradd --system --uid 1500 --user-group ... vmail)")


@pytest.fixture(scope="session")
def users(vmail) -> dict[str, helpers.User]:
    return helpers.make_users()


@pytest.fixture(scope="session")
def ca_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ca")
    helpers.make_ca(d)
    return d


class ServerFactory:
    """Makes a directory (readable by vmail), TLS files, users file and config; starts `aerie serve`.
    Every server started is stopped at teardown, and must exit 0 on SIGTERM."""

    def __init__(self, binary, tmp_path_factory, users, ca_dir):
        self.binary = binary
        self.tmp = tmp_path_factory
        self.users = users
        self.ca_dir = ca_dir
        self.servers: list[Server] = []

    def prepare(self, name: str = "srv", kind: str = "rsa", extra: str = "", replace: dict | None = None,
                service_extra: str = "", config_text: str | None = None) -> Server:
        d = self.tmp.mktemp(name)
        helpers.make_readable_by_all(d)
        tls = helpers.make_tls(d / "tls", kind=kind, ca_dir=self.ca_dir)
        helpers.write_users_file(d / "users", self.users, d / "home")
        imap_port, imaps_port = helpers.free_port(), helpers.free_port()
        text = config_text or helpers.acceptance_config(d, imap_port, imaps_port, extra=extra, replace=replace,
                                                        service_extra=service_extra)
        conf = d / "aerie.conf"
        conf.write_text(text)
        server = Server(self.binary, d, conf, imap_port, imaps_port, self.users, tls, d / "aerie.log")
        self.servers.append(server)
        return server

    def start(self, **kw) -> Server:
        return self.prepare(**kw).start()

    def stop_all(self) -> list[tuple[Server, int]]:
        results = []
        for s in self.servers:
            if s.proc is not None and s.proc.returncode is None:
                results.append((s, s.stop()))
        return results


@pytest.fixture(scope="module")
def server_factory(aerie_bin, tmp_path_factory, users, ca_dir):
    factory = ServerFactory(aerie_bin, tmp_path_factory, users, ca_dir)
    yield factory
    results = factory.stop_all()
    bad = [(s.config, rc, s.log()[-2000:]) for s, rc in results if rc != 0]
    assert not bad, f"aerie serve did not exit 0 on SIGTERM: {bad}"


@pytest.fixture(scope="module")
def server(server_factory) -> Server:
    """The acceptance configuration, RSA certificate; one per test module."""
    return server_factory.start(name="acceptance")


def pytest_terminal_summary(terminalreporter):
    # Printed last so CI logs show where servers kept their logs.
    if shutil.which("fail2ban-regex") is None:
        terminalreporter.write_line("note: fail2ban-regex missing; fail2ban tests were skipped or failed")
