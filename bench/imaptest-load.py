#!/usr/bin/env python3
"""imaptest's default stateful mixed load against Aerie and Debian's Dovecot (both process models), alternating, in
one run on this machine; every server over implicit TLS with the same imaptest parameters.

    python3 bench/imaptest-load.py [--secs 30] [--rounds 2] [--clients 10] [--users 20] [--key rsa|ecdsa]   (as root)

For each round and server it prints commands per second (imaptest's "Totals" summed over the command columns,
divided by the run's length) and the number of errors imaptest reported (state checks: a reply that contradicts what
the client was told counts; a figure with errors is not a valid result), and the CPU time spent per 1,000 commands by
the server (all its processes, exited children included) and by imaptest itself: on a 2-core machine client and
server share the CPU, so the CPU figures say what each side costs whatever the machine was doing. Every server
uses the same certificate and key (`--key`: RSA 2048, as Debian's Dovecot generates, or ECDSA P-256, as Aerie's
embedded default). The summary gives the median per server and Aerie's ratio to Dovecot's better model. Dovecot comes from ../shared/peers/dovecot-anchor; Aerie from AERIE_BIN
(default .build/release/aerie)."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import resource
import shutil
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and every live descendant, with their reaped children (cutime/cstime)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_imaptest(imaptest: Path, port: int, password: str, args) -> tuple[float, int, str]:
    cmd = [str(imaptest), "host=127.0.0.1", f"port={port}", "user=test%d", f"users={args.users}", f"pass={password}",
           "ssl=any-cert", f"clients={args.clients}", f"secs={args.secs}",
           f"mbox={harness.tests_dir() / 'default.mbox'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.secs + 120, errors="replace")
    out = proc.stdout + proc.stderr
    errors = len(re.findall(r"^(Error|Panic):", out, re.M))
    return parse_totals(out) / args.secs, errors, out


def anchor(action: str, directory: Path, base: int, mode: str, tls_dir: Path | None = None) -> None:
    if tls_dir is not None:  # the anchor generates a key only where none is: give it Aerie's
        (directory / "ssl").mkdir(parents=True, exist_ok=True)
        for name in ("cert.pem", "key.pem"):
            shutil.copy(tls_dir / name, directory / "ssl" / name)
    env = dict(os.environ, ANCHOR_PORT_BASE=str(base), ANCHOR_MODE=mode, ANCHOR_USERS="200")
    subprocess.run(["bash", str(ANCHOR), action, str(directory)], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--port-base", type=int, default=41000)
    parser.add_argument("--key", choices=["rsa", "ecdsa"], default="rsa")
    args = parser.parse_args()
    imaptest = harness.imaptest_binary()
    if imaptest is None or not ANCHOR.exists():
        print("needs ../shared/peers (imaptest and dovecot-anchor)", file=sys.stderr)
        return 2
    binary = os.environ.get("AERIE_BIN", str(REPO / ".build" / "release" / "aerie"))
    harness.LOAD_USERS = max(args.users, harness.LOAD_USERS)
    directory, aerie = harness.start_server(binary, name="bench-imaptest", tls_kind=args.key)
    dovecot_dir = Path("/var/tmp/aerie-bench-imaptest/dovecot")
    perf_dir = Path("/var/tmp/aerie-bench-imaptest/dovecot-perf")
    anchor("start", dovecot_dir, args.port_base, "default", aerie.tls.directory)
    anchor("start", perf_dir, args.port_base + 1000, "performance", aerie.tls.directory)
    master = lambda d: int((d / "run" / "master.pid").read_text())  # noqa: E731
    servers = {
        "aerie": (aerie.imaps_port, MAIL_PASSWORD, aerie.pid),
        "dovecot": (args.port_base + 993, "pass", master(dovecot_dir)),
        "dovecot-perf": (args.port_base + 1993, "pass", master(perf_dir)),
    }
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in servers}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    try:
        for round_number in range(1, args.rounds + 1):
            for name, (port, password, pid) in servers.items():
                server_before, client_before = tree_cpu_seconds(pid), children_cpu_seconds()
                rate, errors, out = run_imaptest(imaptest, port, password, args)
                server_cpu = tree_cpu_seconds(pid) - server_before
                client_cpu = children_cpu_seconds() - client_before
                commands = max(rate * args.secs, 1) / 1000
                results[name].append((rate, errors))
                cpu[name].append((server_cpu / commands, client_cpu / commands))
                print(f"round {round_number} {name:13} {rate:8.0f} cmds/s  errors {errors}  CPU s/1000 cmds: "
                      f"server {server_cpu / commands:.3f} imaptest {client_cpu / commands:.3f}", flush=True)
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
    print(f"\nimaptest clients={args.clients} users={args.users} secs={args.secs} rounds={args.rounds} "
          f"(TLS, {args.key} key)")
    for name in servers:
        server_cpu = statistics.median(s for s, _ in cpu[name])
        client_cpu = statistics.median(c for _, c in cpu[name])
        print(f"{name:13} median {medians[name]:8.0f} cmds/s  errors {errors[name]}  CPU s/1000 cmds: "
              f"server {server_cpu:.3f} imaptest {client_cpu:.3f}")
    print(f"aerie / better Dovecot model: {medians['aerie'] / best:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
