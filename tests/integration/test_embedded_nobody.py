"""Issue 11: `aerie serve --data DIR` started as root with no configuration, on a system without the dedicated users
(no vmail, no dovenull): the embedded default runs mail and auth as `nobody` and the login process as `nobody`,
chrooted, and says so on the console. The users are taken away for the server only: it runs in a private mount
namespace where /etc/passwd and /etc/group are bind-mounted copies without them (and in a private network, as
test_embedded.py, for its fixed ports 1143/1993)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import helpers
from helpers import RawIMAP

pytestmark = pytest.mark.timeout(120)

IMAPS = 1993
NOBODY = 65534


def without_dedicated_users(source: Path, target: Path) -> None:
    target.write_text("".join(line for line in source.read_text().splitlines(keepends=True)
                              if line.split(":", 1)[0] not in ("vmail", "dovenull")))
    target.chmod(0o644)


def status(pid: int) -> dict[str, list[str]]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {m.group(1): m.group(2).split() for m in re.finditer(r"^(\w+):\s*(.*)$", text, re.M)}


def test_without_vmail_and_dovenull_the_embedded_default_runs_as_nobody_and_says_so(aerie_bin, tmp_path_factory):
    if os.path.exists("/etc/aerie/aerie.conf"):
        pytest.skip("/etc/aerie/aerie.conf exists: `aerie serve` would use it instead of the embedded default")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    base = tmp_path_factory.mktemp("embedded-nobody")
    helpers.make_readable_by_all(base)
    without_dedicated_users(Path("/etc/passwd"), base / "passwd")
    without_dedicated_users(Path("/etc/group"), base / "group")
    data = base / "aerie-data"
    script = (f'mount --bind "{base}/passwd" /etc/passwd && mount --bind "{base}/group" /etc/group '
              f'&& exec "{aerie_bin}" serve --data "{data}"')
    netns = helpers.PrivateNetwork()
    if not netns.enter():
        if not helpers.port_is_free(IMAPS) or not helpers.port_is_free(1143):
            pytest.skip("no private network namespace, and 1143/1993 are busy on the host")
    try:
        out = open(base / "console.txt", "w+")
        # unshare and sh exec: the process is `aerie serve` itself, the master.
        proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=base)
        try:
            console = lambda: (base / "console.txt").read_text()  # noqa: E731

            def password() -> str | None:
                if proc.poll() is not None:
                    if "mount" in console() and "permission denied" in console().lower():
                        pytest.skip(f"bind mounts refused here: {console()}")
                    pytest.fail(f"aerie serve exited {proc.returncode}:\n{console()}")
                m = re.search(r"password: (\S+)", console())
                return m.group(1) if m else None

            secret = helpers.wait_for(password, timeout=60, what="the demo password on the console")
            text = console()
            assert "note: no vmail user: mail and auth run as nobody (create vmail)" in text, text
            assert "note: no dovenull user: the login process runs as nobody, chrooted (create dovenull)" in text, text
            config = (data / "aerie.conf").read_text()
            assert "mail_uid = nobody" in config and "default_login_user = nobody" in config, config

            def logs_in() -> bool:
                try:
                    with RawIMAP(IMAPS, tls=True, timeout=5) as c:
                        return c.run("a", f'LOGIN demo "{secret}"', timeout=15)[1].startswith("a OK")
                except OSError:
                    assert proc.poll() is None, console()
                    return False

            helpers.wait_for(logs_in, timeout=30, what="the demo login over IMAPS")
            mail = helpers.mail_service_pid(proc.pid)
            supervisors = helpers.child_pids(proc.pid, "auth-supervisor")
            assert len(supervisors) == 1, supervisors
            auths = helpers.child_pids(supervisors[0], "auth-service")
            logins = helpers.child_pids(proc.pid, "login-worker")
            assert len(auths) == 1 and len(logins) == 1, (auths, logins)
            for pid in (mail, auths[0], logins[0]):
                helpers.wait_for(lambda: status(pid)["Uid"] == [str(NOBODY)] * 4, timeout=20,
                                 what=f"process {pid} as nobody")
                assert status(pid)["CapEff"] == ["0000000000000000"], pid
                assert helpers.privilege_problems(pid, NOBODY) == [], pid
            login = status(logins[0])
            assert login["Seccomp"] == ["2"], login
            assert os.readlink(f"/proc/{logins[0]}/root") != "/"
        finally:
            helpers.stop_embedded(proc, console)
    finally:
        netns.leave()
