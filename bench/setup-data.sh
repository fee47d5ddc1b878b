#!/usr/bin/env bash
# Builds the benchmark mail data once (a template), then gives each server its own identical copy.
#
#   bench/setup-data.sh                      build the template (if missing) under $BENCH_DIR/template
#   bench/setup-data.sh MAILDIR [MAILDIR…]   …and copy it to each MAILDIR (replacing what is there), owned by vmail
#   BENCH_SKIP_BIG=1 bench/setup-data.sh …   copy without test1 and test2 (the big mailboxes)
#
# Users test1..test200 (Maildir++ in MAILDIR/testN, INBOX = cur/new/tmp at the top):
#   test1         10,000 messages of ~4.4 KB (realistic headers, varied subjects, LF line endings) — FETCH, POP3
#   test2        100,000 small messages (~0.6 KB)                                                   — SELECT
#   test3..200        50 messages of ~4.4 KB                                                         — mixed, logins, idle
# Files are written straight into cur/ with Dovecot-style names (…,S=size,W=vsize:2,FLAGS); no index, no uidlist:
# each server builds its own at first open (bench/run.sh does that first open before measuring).
set -euo pipefail
BENCH_DIR=${BENCH_DIR:-/var/tmp/aerie-bench}
USERS=${BENCH_USERS:-200}
template=$BENCH_DIR/template
version=4   # bump when the generator changes

if [ ! -f "$template/.done-v$version" ]; then
  echo "setup-data: generating the template in $template (once; ~1 min)" >&2
  rm -rf "$template"
  mkdir -p "$template/mail"
  python3 - "$template/mail" "$USERS" <<'PY'
import os, random, sys, time
root, users = sys.argv[1], int(sys.argv[2])
rng = random.Random(20251125)
first = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yolanda"]
last = ["Martin", "Dubois", "Schmidt", "Rossi", "Novak", "Kowalski", "Jensen", "Silva", "Murphy", "Tanaka", "Okafor", "Haddad"]
domains = ["example.com", "example.org", "mail.example.net", "lists.example.edu", "corp.example.io"]
topics = ["quarterly report", "release 2.4 planning", "lunch on Friday", "invoice #%d", "build failure on main", "travel booking",
          "contract renewal", "team offsite", "security advisory", "password expiry notice", "design review notes", "budget 2026",
          "customer escalation", "weekly digest", "meeting minutes", "new hire onboarding", "server migration", "conference CFP"]
prefixes = ["", "", "", "Re: ", "Re: ", "Fwd: ", "RE: ", "[dev] ", "[ops] ", "Re: [dev] "]
words = ("the of and to in is that for it as was with be by on not this are or his from at which but have an they you were "
         "her she there been one all we their has would when if so no will more can said what up its about into than them "
         "only other time new some could these two may first then do any like my now over such our man me even most made "
         "after also did many before must through back years where much your way well down should because each just those "
         "storage mailbox server index client message folder release deploy backup restore cluster latency throughput").split()
def person():
    f, l = rng.choice(first), rng.choice(last)
    return f"{f} {l}", f"{f.lower()}.{l.lower()}@{rng.choice(domains)}"
def body(target):
    lines, n = [], 0
    while n < target:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 13)))
        line = line[0].upper() + line[1:] + "."
        lines.append(line); n += len(line) + 1
        if rng.random() < 0.12: lines.append(""); n += 1
    return "\n".join(lines) + "\n"
def message(i, user, size_target, base_time):
    name, addr = person()
    tname, taddr = f"Test User {user}", f"{user}@example.org"
    t = base_time + i * 37 + rng.randint(0, 30)
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
    topic = rng.choice(topics)
    if "%d" in topic: topic = topic % rng.randint(1000, 99999)
    subject = rng.choice(prefixes) + topic[0].upper() + topic[1:]
    mid = f"<{t}.{i}.{rng.getrandbits(40):x}@{addr.split('@')[1]}>"
    h = [f"Return-Path: <{addr}>",
         f"Delivered-To: {taddr}",
         f"Received: from mx{rng.randint(1,9)}.{addr.split('@')[1]} (mx.{addr.split('@')[1]} [192.0.2.{rng.randint(1,254)}])\n\tby mail.example.org (Postfix) with ESMTPS id {rng.getrandbits(40):X}\n\tfor <{taddr}>; {date}",
         f"From: {name} <{addr}>",
         f"To: {tname} <{taddr}>"]
    if rng.random() < 0.3:
        cn, ca = person(); h.append(f"Cc: {cn} <{ca}>")
    h += [f"Subject: {subject}", f"Date: {date}", f"Message-ID: {mid}"]
    if subject.startswith(("Re", "RE")):
        h.append(f"In-Reply-To: <{t-3600}.{i}.ref@{addr.split('@')[1]}>")
    h += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 8bit",
          f"X-Mailer: BenchMail {rng.randint(1,9)}.{rng.randint(0,9)}"]
    head = "\n".join(h) + "\n\n"
    text = head + body(max(64, size_target - len(head)))
    return text.encode(), t
def write_user(user, count, size_target, jitter):
    d = os.path.join(root, user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), mode=0o700, exist_ok=True)
    base_time = 1735689600  # 2025-01-01
    for i in range(count):
        data, t = message(i, user, size_target + rng.randint(-jitter, jitter), base_time)
        size, vsize = len(data), len(data) + data.count(b"\n")
        flags = "S" if rng.random() < 0.7 else ""
        if rng.random() < 0.05: flags = "F" + flags
        fname = f"{t}.M{i}P{os.getpid()}.bench,S={size},W={vsize}:2,{flags}"
        p = os.path.join(d, "cur", fname)
        with open(p, "wb") as f: f.write(data)
        os.utime(p, (t, t))
write_user("test1", 10000, 4400, 600)
write_user("test2", 100000, 600, 150)
for u in range(3, users + 1):
    write_user(f"test{u}", 50, 4400, 600)
PY
  chown -R vmail:vmail "$template/mail"
  find "$template/mail" -type d -exec chmod 0700 {} +
  find "$template/mail" -type f -exec chmod 0600 {} +
  touch "$template/.done-v$version"
fi

for target in "$@"; do
  rm -rf "$target"
  mkdir -p "$target"
  if [ "${BENCH_SKIP_BIG:-}" = 1 ]; then   # only test3..: for servers that need no FETCH/SELECT data
    (cd "$template/mail" && find . -mindepth 1 -maxdepth 1 ! -name test1 ! -name test2 -exec cp -a {} "$target/" \;)
  else
    cp -a "$template/mail/." "$target/"
  fi
  chown vmail:vmail "$target"; chmod 0700 "$target"   # the copies keep the template's owner (vmail) and modes
  echo "setup-data: $target ready ($(find "$target" -type f | wc -l) messages)" >&2
done
