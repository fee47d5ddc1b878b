"""imaptest's stateful random load (SELECT/FETCH/STORE/EXPUNGE/APPEND by several clients per mailbox, each checking
every reply against its own model of the session) must report no error: every session keeps an exact view of its
mailbox (RFC 9051 §7.5.1, RFC 3501 §7.4.1), however the others change it. Skips when imaptest is not available."""

from __future__ import annotations

import re

import pytest

import imaptest_harness
from imaptest_harness import imaptest_binary, run_load, start_server

pytestmark = pytest.mark.usefixtures("as_root")

LOAD_SECS = 30


@pytest.fixture(scope="module")
def imaptest():
    binary = imaptest_binary()
    if binary is None:
        pytest.skip("imaptest is not available: build it with ../shared/peers/imaptest/build (absent here)")
    return binary


@pytest.fixture(scope="module")
def server(aerie_bin):
    _, srv = start_server(aerie_bin, name="imaptest-load")
    yield srv
    srv.stop_if_running()


def summary(out: str) -> str:
    """imaptest's last lines (the totals) and its error lines, for the assertion message."""
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    return "\n".join(errors[:20] + out.splitlines()[-12:])


@pytest.mark.timeout(LOAD_SECS + 150)
@pytest.mark.parametrize("users,clients", [(imaptest_harness.LOAD_USERS, 10), (2, 10)], ids=["20-users", "shared"])
def test_stateful_load_reports_no_error(imaptest, server, users, clients):
    """users=2 puts five clients on each mailbox at once: the expunges, flag changes and appends of one are seen by
    the others in the middle of their own commands."""
    errors, out = run_load(imaptest, server.imaps_port, LOAD_SECS, clients, users=users)
    assert errors == 0, summary(out)
    assert "Logi" in out and "Fetc" in out, summary(out)  # the load really ran


@pytest.mark.timeout(LOAD_SECS + 150)
def test_stateful_load_with_deliveries_reports_no_error(imaptest, server):
    """Deliveries over LMTP land in the same two mailboxes while ten clients work on them."""
    errors, out = run_load(imaptest, server.imaps_port, LOAD_SECS, 10, lmtp_port=server.lmtp_port, users=2)
    assert re.search(r"LMTP deliveries: [1-9]", out), "no LMTP delivery happened during the load"
    assert errors == 0, summary(out)
