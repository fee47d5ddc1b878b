#!/usr/bin/env python3
"""imaptest's default stateful mixed load against Aerie and Debian's Dovecot (both process models), alternating, in
one run on this machine; every server over implicit TLS with the same imaptest parameters.

    python3 bench/imaptest-load.py [--secs 30] [--rounds 2] [--clients 10] [--users 20]     (as root)

For each round and server it prints commands per second (imaptest's "Totals" summed over the command columns,
divided by the run's length) and the number of errors imaptest reported (state checks: a reply that contradicts what
the client was told counts; a figure with errors is not a valid result). The summary gives the median per server and
Aerie's ratio to Dovecot's better model. Dovecot comes from ../shared/peers/dovecot-anchor; Aerie from AERIE_BIN
(default .build/release/aerie)."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import imaptest_harness as harness  # noqa: E402
from helpers import MAIL_PASSWORD, remove_private_dir  # noqa: E402

ANCHOR = REPO.parent / "shared" / "peers" / "dovecot-anchor"


def parse_totals(output: str) -> int:
    """The sum of the last row of numbers after imaptest's `Totals:` header."""
    tail = output.split("Totals:", 1)[-1]
    rows = [line for line in tail.splitlines() if re.fullmatch(r"[\s\d]+", line) and line.strip()]
    return sum(int(n) for n in rows[-1].split()) if rows else 0


def run_imaptest(imaptest: Path, port: int, password: str, args) -> tuple[float, int, str]:
    cmd = [str(imaptest), "host=127.0.0.1", f"port={port}", "user=test%d", f"users={args.users}", f"pass={password}",
           "ssl=any-cert", f"clients={args.clients}", f"secs={args.secs}",
           f"mbox={harness.tests_dir() / 'default.mbox'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.secs + 120, errors="replace")
    out = proc.stdout + proc.stderr
    errors = len(re.findall(r"^(Error|Panic):", out, re.M))
    return parse_totals(out) / args.secs, errors, out


def anchor(action: str, directory: Path, base: int, mode: str) -> None:
    env = dict(os.environ, ANCHOR_PORT_BASE=str(base), ANCHOR_MODE=mode, ANCHOR_USERS="200")
    subprocess.run(["bash", str(ANCHOR), action, str(directory)], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--port-base", type=int, default=41000)
    args = parser.parse_args()
    imaptest = harness.imaptest_binary()
    if imaptest is None or not ANCHOR.exists():
        print("needs ../shared/peers (imaptest and dovecot-anchor)", file=sys.stderr)
        return 2
    binary = os.environ.get("AERIE_BIN", str(REPO / ".build" / "release" / "aerie"))
    harness.LOAD_USERS = max(args.users, harness.LOAD_USERS)
    directory, aerie = harness.start_server(binary, name="bench-imaptest")
    dovecot_dir = Path("/var/tmp/aerie-bench-imaptest/dovecot")
    perf_dir = Path("/var/tmp/aerie-bench-imaptest/dovecot-perf")
    anchor("start", dovecot_dir, args.port_base, "default")
    anchor("start", perf_dir, args.port_base + 1000, "performance")
    servers = {
        "aerie": (aerie.imaps_port, MAIL_PASSWORD),
        "dovecot": (args.port_base + 993, "pass"),
        "dovecot-perf": (args.port_base + 1993, "pass"),
    }
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in servers}
    try:
        for round_number in range(1, args.rounds + 1):
            for name, (port, password) in servers.items():
                rate, errors, out = run_imaptest(imaptest, port, password, args)
                results[name].append((rate, errors))
                print(f"round {round_number} {name:13} {rate:8.0f} cmds/s  errors {errors}", flush=True)
                if errors:
                    print("\n".join(line for line in out.splitlines() if line.startswith(("Error", "Panic")))[:3000])
    finally:
        aerie.stop_if_running()
        anchor("stop", dovecot_dir, args.port_base, "default")
        anchor("stop", perf_dir, args.port_base + 1000, "performance")
        remove_private_dir(directory)
    medians = {name: statistics.median(rate for rate, _ in runs) for name, runs in results.items()}
    errors = {name: sum(e for _, e in runs) for name, runs in results.items()}
    best = max(medians["dovecot"], medians["dovecot-perf"])
    print(f"\nimaptest clients={args.clients} users={args.users} secs={args.secs} rounds={args.rounds} (TLS)")
    for name in servers:
        print(f"{name:13} median {medians[name]:8.0f} cmds/s  errors {errors[name]}")
    print(f"aerie / better Dovecot model: {medians['aerie'] / best:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
