#!/usr/bin/env python3
"""Deterministic cost figures for imaptest's mixed load against Aerie, for before/after comparisons on a busy machine
(wall-clock throughput is not trustworthy when other work shares the cores):

    python3 bench/imaptest-syscalls.py [--secs 20] [--clients 4] [--users 20] [--strace] [--seed 1]

Starts Aerie (AERIE_BIN, default .build/debug/aerie) as the imaptest harness does, runs imaptest with a fixed seed and
reports per command (imaptest's "Totals" summed over the command columns) and per login: the serving processes'
(the master and its children) voluntary context switches (every thread: each hop between the event loop and the mail pool costs some) and CPU
seconds; with --strace, the serving process's system calls by name (strace -f -c, which slows the server,
so run it apart from the CPU figures)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import imaptest_harness as harness  # noqa: E402
from helpers import MAIL_PASSWORD, remove_private_dir  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def totals(output: str) -> tuple[int, int]:
    """(commands, logins) from imaptest's last `Totals:` row; LOGI is the first column."""
    tail = output.split("Totals:", 1)[-1]
    rows = [line for line in tail.splitlines() if re.fullmatch(r"[\s\d]+", line) and line.strip()]
    if not rows:
        return 0, 0
    numbers = [int(n) for n in rows[-1].split()]
    return sum(numbers), numbers[0]


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants: since issue 11 `aerie serve` is a master whose children (the mail service, the
    auth process, the TLS key worker, the login process) do the work."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                todo += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return pids


def tree_counters(pid: int) -> dict[int, tuple[int, float]]:
    counters = {}
    for member in process_tree(pid):
        try:
            counters[member] = process_counters(member)
        except OSError:
            continue
    return counters


def tree_delta(before: dict[int, tuple[int, float]], after: dict[int, tuple[int, float]]) -> tuple[int, float]:
    """What the processes alive at the end did meanwhile (one started meanwhile counts from zero)."""
    switches = sum(s - before.get(p, (0, 0.0))[0] for p, (s, _) in after.items())
    cpu = sum(c - before.get(p, (0, 0.0))[1] for p, (_, c) in after.items())
    return switches, cpu


def process_counters(pid: int) -> tuple[int, float]:
    """(context switches of every live thread, CPU seconds of the process)."""
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{task}/status").read_text()
        except OSError:
            continue
        # Voluntary only: involuntary switches depend on what else the machine runs.
        switches += sum(int(n) for n in re.findall(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return switches, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def parse_strace(text: str) -> dict[str, int]:
    calls: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(parts) >= 5 and re.fullmatch(r"[\d.]+", parts[0]) and parts[-1] != "total":
            calls[parts[-1]] = int(parts[3])
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strace", action="store_true")
    args = parser.parse_args()
    imaptest = harness.imaptest_binary()
    if imaptest is None:
        print("needs imaptest", file=sys.stderr)
        return 2
    os.environ.setdefault("AERIE_BIN", str(REPO / ".build" / "debug" / "aerie"))
    harness.LOAD_USERS = max(args.users, harness.LOAD_USERS)
    directory, server = harness.start_server(os.environ["AERIE_BIN"], name="imaptest-syscalls")
    strace = None
    trace_file = directory / "strace.txt"
    try:
        cmd = [str(imaptest), "host=127.0.0.1", f"port={server.imaps_port}", "user=test%d", f"users={args.users}",
               f"pass={MAIL_PASSWORD}", "ssl=any-cert", f"clients={args.clients}", f"secs={args.secs}",
               f"seed={args.seed}", f"mbox={harness.tests_dir() / 'default.mbox'}"]
        if args.strace:
            pids = [arg for pid in process_tree(server.pid) for arg in ("-p", str(pid))]
            strace = subprocess.Popen(["strace", "-f", "-c", "-o", str(trace_file), *pids],
                                      stderr=subprocess.DEVNULL)
            time.sleep(1)
        before = tree_counters(server.pid)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.secs + 120, errors="replace")
        switches, cpu = tree_delta(before, tree_counters(server.pid))
        if strace is not None:
            strace.send_signal(signal.SIGINT)
            strace.wait(timeout=60)
        out = proc.stdout + proc.stderr
        errors = len(re.findall(r"^(Error|Panic):", out, re.M))
        commands, logins = totals(out)
        per = max(commands, 1)
        print(f"commands {commands}  logins {logins}  commands/login {commands / max(logins, 1):.1f}  errors {errors}")
        print(f"voluntary context switches/command {switches / per:.2f}  "
              f"CPU ms/command {cpu * 1000 / per:.3f}" + ("  (under strace)" if strace else ""))
        if errors:
            print("\n".join(line for line in out.splitlines() if line.startswith(("Error", "Panic")))[:2000])
        if strace is not None:
            calls = parse_strace(trace_file.read_text())
            total = sum(calls.values())
            print(f"syscalls/command {total / per:.2f}  per login {total / max(logins, 1):.1f}")
            for name, count in sorted(calls.items(), key=lambda item: -item[1])[:25]:
                print(f"  {name:20} {count / per:8.3f}/cmd {count / max(logins, 1):9.2f}/login")
        return 1 if errors else 0
    finally:
        if strace is not None and strace.poll() is None:
            strace.kill()
        server.stop_if_running()
        remove_private_dir(directory)


if __name__ == "__main__":
    sys.exit(main())
