#!/usr/bin/env python3
"""First SELECT after a server start (cold: the index is read from disk) and later SELECTs (warm: the mailbox is
shared in memory), over IMAPS with the integration-test helpers. Run as root:

    python3 bench/cold-select.py BINARY=MAILDIR [BINARY=MAILDIR ...]

Each MAILDIR (an INBOX, moved into a scratch home for the run and moved back afterwards) belongs to its binary, so
builds with different index formats can be compared side by side. Every binary first opens its mailbox once untimed
(index built or upgraded), then rounds alternate between the binaries: start, one cold SELECT, WARM warm SELECTs on
new connections, stop. Figures are medians in ms, client-side, from sending SELECT to its tagged OK. Environment:
ROUNDS (5), WARM (10)."""
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import helpers  # noqa: E402


def select_ms(port: int, user: helpers.User) -> tuple[float, int]:
    with helpers.RawIMAP(port, tls=True, timeout=120) as imap:
        _, ok = imap.run("a", f"LOGIN {user.name} {user.password}")
        assert " OK" in ok, ok
        start = time.monotonic()
        lines, ok = imap.run("b", "SELECT INBOX", timeout=120)
        elapsed = (time.monotonic() - start) * 1000
        assert " OK" in ok, ok
        exists = next(int(line.split()[1]) for line in lines if line.endswith(" EXISTS"))
        imap.run("c", "LOGOUT")
        return elapsed, exists


def main() -> None:
    pairs = [arg.split("=", 1) for arg in sys.argv[1:]]
    rounds, warm_count = int(os.environ.get("ROUNDS", "5")), int(os.environ.get("WARM", "10"))
    scratch = Path("/var/tmp/aerie-cold-select")
    shutil.rmtree(scratch, ignore_errors=True)
    names = [f"bench{n}" for n in range(len(pairs))]
    users = helpers.make_mail_users(names)
    ca = helpers.make_ca(scratch / "ca")[0].parent
    server = helpers.make_mail_server(pairs[0][0], scratch / "srv", ca, users, start=False)
    uid, gid = helpers.vmail_ids()
    moved = []
    try:
        for name, (_, maildir) in zip(names, pairs):
            home = server.maildir(name)
            shutil.rmtree(home, ignore_errors=True)
            os.rename(maildir, home)
            moved.append((home, maildir))
            for path in [home, *home.rglob("*")]:
                os.lchown(path, uid, gid)
        results = {name: ([], [], 0) for name in names}
        for name, (binary, _) in zip(names, pairs):
            server.binary = binary
            server.start()
            print(f"{binary}: first open (index built or upgraded) {select_ms(server.imaps_port, users[name])[0]:.1f} ms")
            assert server.stop() == 0
        for _ in range(rounds):
            for name, (binary, _) in zip(names, pairs):
                server.binary = binary
                server.start()
                cold, exists = select_ms(server.imaps_port, users[name])
                colds, warms, _ = results[name]
                colds.append(cold)
                warms.extend(select_ms(server.imaps_port, users[name])[0] for _ in range(warm_count))
                results[name] = (colds, warms, exists)
                assert server.stop() == 0
        for name, (binary, _) in zip(names, pairs):
            colds, warms, exists = results[name]
            print(f"{binary}: {exists} messages, cold SELECT median {statistics.median(colds):.1f} ms "
                  f"(all {', '.join(f'{c:.1f}' for c in colds)}), warm SELECT median {statistics.median(warms):.2f} ms")
    finally:
        for home, maildir in moved:
            os.rename(home, maildir)


if __name__ == "__main__":
    main()
