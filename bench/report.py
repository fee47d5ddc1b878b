#!/usr/bin/env python3
"""Turns bench/run.sh's raw JSON lines into the comparison table (stdout) and bench/RESULTS.md."""
import argparse
import json
import statistics

SERVERS = ["aerie", "dovecot", "dovecot-perf"]
NAMES = {"aerie": "Aerie", "dovecot": "Dovecot", "dovecot-perf": "Dovecot perf"}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    rows.append({"bench": "unparsable", "server": "?", "raw": line})
    return rows


def by(rows, bench, server):
    return [r for r in rows if r.get("bench") == bench and r.get("server") == server]


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def result_value(runs, key):
    return mean([r.get("result", {}).get(key) for r in runs if r.get("result", {}).get("error") in (None, "")])


def cpu_per_op_ms(runs):
    cpu = sum(r.get("cpu_s", 0) for r in runs)
    ops = sum(r.get("result", {}).get("ops", 0) or 0 for r in runs)
    return cpu / ops * 1000 if ops else None


def memory(rows, server, field):
    runs = by(rows, "memory", server)
    if not runs:
        return None
    r = runs[-1]
    n = r.get("result", {}).get("open") or 0
    if not n:
        return None
    if field == "pss":
        return (r["after_pss_kb"] - r["before_pss_kb"]) / n
    if field == "rss":
        return (r["after_rss_kb"] - r["before_rss_kb"]) / n
    if field == "after_mb":
        return r["after_pss_kb"] / 1024
    if field == "before_mb":
        return r["before_pss_kb"] / 1024
    if field == "procs":
        return r["after_procs"]
    if field == "open":
        return n


# (label, unit, getter(rows, server), higher_is_better or None, target ratio vs best Dovecot or None)
def metrics():
    m = []
    m.append(("Idle TLS connection, memory (PSS)", "KB/conn", lambda rows, s: memory(rows, s, "pss"), False, 0.10))
    m.append(("Idle TLS connection, memory (RSS)", "KB/conn", lambda rows, s: memory(rows, s, "rss"), False, None))
    m.append(("Server PSS with 1,000 idle TLS conns", "MB", lambda rows, s: memory(rows, s, "after_mb"), False, None))
    m.append(("Server processes with 1,000 idle conns", "", lambda rows, s: memory(rows, s, "procs"), False, None))
    for bench, label in (("logins_tls", "Logins, TLS, 10 clients"), ("logins_plain", "Logins, plaintext, 10 clients")):
        m.append((label, "logins/s", lambda rows, s, b=bench: result_value(by(rows, b, s), "logins_per_s"), True, 2.0))
        m.append((label + ", server CPU", "ms/login", lambda rows, s, b=bench: cpu_per_op_ms(by(rows, b, s)), False, None))
    m.append(("Mixed workload, 10 clients", "ops/s", lambda rows, s: result_value(by(rows, "mixed", s), "ops_per_s"), True, 1.0))
    m.append(("Mixed workload, server CPU", "ms/op", lambda rows, s: cpu_per_op_ms(by(rows, "mixed", s)), False, None))
    m.append(("Mixed workload, errors (NO/BAD/failures)", "count",
              lambda rows, s: (sum(r.get("result", {}).get("errors_total", 0) for r in by(rows, "mixed", s))
                               if by(rows, "mixed", s) else None), False, None))
    for bench, label in (("fetch_envelope", "UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE), 10k msgs"),
                         ("fetch_body", "UID FETCH 1:* BODY.PEEK[], 10k msgs")):
        m.append((label, "s", lambda rows, s, b=bench: result_value(by(rows, b, s), "seconds"), False, 1.0))
        m.append((label, "MB/s", lambda rows, s, b=bench: result_value(by(rows, b, s), "mb_per_s"), True, 1.0))
    m.append(("SELECT of a 100,000-message INBOX (index present)", "ms",
              lambda rows, s: (lambda v: v * 1000 if v is not None else None)(result_value(by(rows, "select", s), "seconds")),
              False, 1.0))
    m.append(("SELECT of the same INBOX, first after a server restart", "ms",
              lambda rows, s: (lambda v: v * 1000 if v is not None else None)(result_value(by(rows, "select", s), "first_seconds")),
              False, 1.0))
    m.append(("LMTP deliveries, 4 KB, 4 senders", "msgs/s", lambda rows, s: result_value(by(rows, "lmtp", s), "deliveries_per_s"), True, 1.0))
    m.append(("LMTP, server CPU", "ms/msg", lambda rows, s: cpu_per_op_ms(by(rows, "lmtp", s)), False, None))
    m.append(("POP3 RETR of 10k msgs", "MB/s", lambda rows, s: result_value(by(rows, "pop3", s), "mb_per_s"), True, 1.0))
    return m


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, int) or abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(rows):
    lines = ["| metric | unit | Aerie | Dovecot | Dovecot perf | Aerie/Dovecot | Aerie/Dovecot perf | target | met |",
             "|---|---|---:|---:|---:|---:|---:|---|---|"]
    plain = []
    for label, unit, get, higher, target in metrics():
        vals = {s: get(rows, s) for s in SERVERS}
        if all(v is None for v in vals.values()):
            continue
        r1, r2 = ratio(vals["aerie"], vals["dovecot"]), ratio(vals["aerie"], vals["dovecot-perf"])
        tgt, met = "", ""
        if target is not None and higher is not None:
            dv = [v for v in (vals["dovecot"], vals["dovecot-perf"]) if v is not None]
            best = (max(dv) if higher else min(dv)) if dv else None
            r = ratio(vals["aerie"], best)
            if higher:
                tgt = f"≥ {target:g}× best Dovecot"
                met = "–" if r is None else ("yes" if r >= target else "**no**")
            else:
                tgt = f"≤ {target:g}× best Dovecot"
                met = "–" if r is None else ("yes" if r <= target else "**no**")
        lines.append(f"| {label} | {unit} | {fmt(vals['aerie'])} | {fmt(vals['dovecot'])} | {fmt(vals['dovecot-perf'])} | "
                     f"{fmt(r1) if r1 is not None else '–'} | {fmt(r2) if r2 is not None else '–'} | {tgt} | {met} |")
        plain.append(f"{label + (' [' + unit + ']' if unit else ''):<62} {fmt(vals['aerie']):>10} {fmt(vals['dovecot']):>10} "
                     f"{fmt(vals['dovecot-perf']):>12} {fmt(r1) if r1 is not None else '–':>8} {fmt(r2) if r2 is not None else '–':>8} {met}")
    header = f"{'metric':<62} {'Aerie':>10} {'Dovecot':>10} {'Dovecot perf':>12} {'A/D':>8} {'A/Dperf':>8} target met"
    return lines, [header] + plain


def per_round(rows):
    out = ["| benchmark | server | round | figure | server CPU s | client CPU s | errors |", "|---|---|---:|---|---:|---:|---|"]
    keys = {"logins_tls": ("logins_per_s", "logins/s"), "logins_plain": ("logins_per_s", "logins/s"),
            "mixed": ("ops_per_s", "ops/s"), "fetch_envelope": ("seconds", "s"), "fetch_body": ("seconds", "s"),
            "select": ("seconds", "s"), "lmtp": ("deliveries_per_s", "msgs/s"), "pop3": ("mb_per_s", "MB/s")}
    for r in rows:
        b = r.get("bench")
        if b not in keys:
            continue
        res = r.get("result", {})
        key, unit = keys[b]
        v = res.get(key)
        err = res.get("error") or ""
        n_err = res.get("errors_total", res.get("failures", 0)) or 0
        errs = (f"{n_err}" if n_err else "") + (f" {err}" if err else "")
        out.append(f"| {b} | {NAMES.get(r.get('server'), r.get('server'))} | {r.get('round')} | "
                   f"{fmt(v) if v is not None else '–'} {unit} | {r.get('cpu_s', '')} | {res.get('client_cpu_s', '')} | {errs.strip()} |")
    return out


def error_notes(rows):
    notes = []
    for r in rows:
        res = r.get("result", {})
        errs = res.get("errors") or []
        if res.get("error"):
            notes.append(f"{r.get('bench')} {r.get('server')} round {r.get('round')}: {res['error']}")
        for e in errs:
            notes.append(f"{r.get('bench')} {r.get('server')} round {r.get('round')}: {e.get('count')}× {e.get('error')}")
    return notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("notes")
    ap.add_argument("--date", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--machine", default="")
    ap.add_argument("--dovecot", default="")
    ap.add_argument("--aerie", default="")
    ap.add_argument("--elapsed", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--markdown", required=True)
    a = ap.parse_args()
    rows = load(a.raw)
    md_table, plain = table(rows)
    print("\n".join(plain))
    with open(a.notes) as f:
        run_notes = [l.strip() for l in f if l.strip()]
    errs = error_notes(rows)
    for n in run_notes + errs:
        print("NOTE:", n)
    md = ["# Benchmark results: Aerie vs Dovecot", "",
          f"- Date: {a.date}", f"- Machine: {a.machine}",
          f"- Load average (1/5/15 min) at the start: {a.load} — the machine is shared with other engineers' builds, tests and fuzzers, so some noise is expected", f"- Dovecot: {a.dovecot} (Debian, via `../shared/peers/dovecot-anchor`)",
          f"- Aerie: {a.aerie}", f"- Command (as root, in the repository): `{a.command}`" + (f" — took {a.elapsed} s" if a.elapsed else ""),
          "", "Both servers ran at the same time on the same machine, on identical copies of the same Maildir data",
          "(bench/setup-data.sh), with the same users (SHA512-CRYPT), driven by the same client (aerie-bench), "
          "alternating Aerie, Dovecot, Dovecot perf round by round. \"Dovecot\" is Dovecot's default (high-security) process model, "
          "\"Dovecot perf\" its high-performance model. Ratios are Aerie/Dovecot: above 1 means Aerie is higher — better "
          "for rates, worse for times, memory and CPU. The target column compares with the better of the two Dovecot models. "
          "Figures are means over the rounds; see bench/README.md for what each one measures.", "",
          "## Summary", ""] + md_table + ["", "## Each round", ""] + per_round(rows)
    md += ["", "## Problems seen in this run", ""]
    if run_notes or errs:
        md += [f"- {n}" for n in run_notes + errs]
    else:
        md += ["None: no NO/BAD answers, no failed connections, no errors in Aerie's log."]
    md += ["", "## Raw results (one JSON line per measurement)", "", "```"]
    with open(a.raw) as f:
        md += [l.rstrip("\n") for l in f if l.strip()]
    md += ["```", ""]
    with open(a.markdown, "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
