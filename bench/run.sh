#!/usr/bin/env bash
# Side-by-side benchmark of Aerie and Debian's Dovecot on the same data, users and client, in one run.
#
#   bench/run.sh [memory|logins|mixed|fetch|select|lmtp|pop3|all]...     (default: all; run as root)
#
# Starts Dovecot through ../shared/peers/dovecot-anchor (its default high-security model, and a second instance in
# its high-performance model for memory, logins and mixed), and Aerie from .build/release/aerie, each on its own ports
# and its own copy of the data (bench/setup-data.sh). Each benchmark alternates between the servers (Aerie, Dovecot,
# …) for $ROUNDS rounds, records server CPU (utime+stime of all server processes, exited children included) and
# memory (PSS from /proc/PID/smaps_rollup), prints a table with ratios and writes it to bench/RESULTS.md
# (set WRITE_RESULTS=0 not to). Everything started here is stopped on exit.
#
# Environment: BENCH_DIR (/var/tmp/aerie-bench), ROUNDS (2), IDLE_CONNECTIONS (1000), LOGIN_DURATION (20s),
# LOGIN_PLAIN_DURATION (10s), MIXED_DURATION (30s), LMTP_COUNT (2000), PORT_BASE (36000, moved up by 3000 while any port is taken: Dovecot on +0, Dovecot
# high-performance on +1000, Aerie on +2000), NO_BUILD=1, REUSE_DATA=1 (keep the servers' data from the last run).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
anchor=${ANCHOR:-$(cd "$repo/.." && pwd)/shared/peers/dovecot-anchor}
BENCH_DIR=${BENCH_DIR:-/var/tmp/aerie-bench}
ROUNDS=${ROUNDS:-2}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-1000}
LOGIN_DURATION=${LOGIN_DURATION:-20s}
LOGIN_PLAIN_DURATION=${LOGIN_PLAIN_DURATION:-10s}
MIXED_DURATION=${MIXED_DURATION:-30s}
LMTP_COUNT=${LMTP_COUNT:-2000}
PORT_BASE=${PORT_BASE:-36000}
WRITE_RESULTS=${WRITE_RESULTS:-1}
export BENCH_DIR

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (Dovecot and Aerie start as root and drop to vmail)" >&2; exit 2; }
[ -x "$anchor" ] || { echo "run.sh: dovecot-anchor not found at $anchor (set ANCHOR=)" >&2; exit 2; }

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(all)
wants() { local w; for w in "${what[@]}"; do [ "$w" = all ] || [ "$w" = "$1" ] && return 0; done; return 1; }
for w in "${what[@]}"; do
  case $w in memory|logins|mixed|fetch|select|lmtp|pop3|all) ;; *) echo "usage: $0 [memory|logins|mixed|fetch|select|lmtp|pop3|all]..." >&2; exit 2 ;; esac
done

# Other engineers run servers on this machine: move all three port ranges until every port we need is free.
ports_free() {
  local b=$1 off
  for off in 24 110 143 993 995 1024 1110 1143 1993 1995 2024 2110 2143 2993 2995; do
    (exec 3<>"/dev/tcp/127.0.0.1/$((b + off))") 2>/dev/null && return 1
  done
  return 0
}
for _ in 1 2 3 4 5 6 7 8; do ports_free "$PORT_BASE" && break; echo "ports near $PORT_BASE are in use; trying $((PORT_BASE + 3000))" >&2; PORT_BASE=$((PORT_BASE + 3000)); done
ports_free "$PORT_BASE" || { echo "run.sh: no free port range found (set PORT_BASE)" >&2; exit 1; }

D=$BENCH_DIR/dovecot        # Dovecot, default (high-security) process model
P=$BENCH_DIR/dovecot-perf   # Dovecot, high-performance process model
A=$BENCH_DIR/aerie
OUT=$BENCH_DIR/out
D_BASE=$PORT_BASE
P_BASE=$((PORT_BASE + 1000))
A_IMAP=$((PORT_BASE + 2143)) A_IMAPS=$((PORT_BASE + 2993)) A_POP3=$((PORT_BASE + 2110)) A_LMTP_SOCKET=$A/run/lmtp
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
NOTES=$OUT/notes.txt
: > "$RAW"; : > "$NOTES"
load_at_start=$(cut -d" " -f1-3 /proc/loadavg)
started_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t_start=$(date +%s)
command_line="bench/run.sh ${what[*]}"
note() { echo "NOTE: $*" >&2; echo "$*" >> "$NOTES"; }
log() { echo "== $*" >&2; }

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # 1,000 connections need more than 1024 descriptors

# ---------------------------------------------------------------- build
AERIE=$repo/.build/release/aerie
BENCH=$repo/.build/release/aerie-bench
if [ "${NO_BUILD:-}" != 1 ]; then
  log "building aerie and aerie-bench (release)"
  for attempt in 1 2 3 4 5; do
    if (cd "$repo" && swift build -c release --product aerie --product aerie-bench > "$OUT/build.log" 2>&1); then break; fi
    [ "$attempt" = 5 ] && { tail -30 "$OUT/build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }
    echo "build failed (the tree may be mid-change); retrying in 30 s" >&2; sleep 30
  done
fi

# ---------------------------------------------------------------- process bookkeeping
AERIE_PID=
CLIENT_PID=
cleanup() {
  set +e
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null && wait "$CLIENT_PID" 2>/dev/null
  stop_aerie
  "$anchor" stop "$D" >/dev/null 2>&1
  "$anchor" stop "$P" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process of a server: its master and all descendants (Aerie's master, key worker, auth supervisor and auth
# process, mail service, and the login worker with its key worker when configured; Dovecot's master and children).
server_pids() {
  local master
  case $1 in
    aerie) master=$AERIE_PID; [ -n "$master" ] || return 0 ;;
    dovecot|dovecot-perf)
      local dir; [ "$1" = dovecot ] && dir=$D || dir=$P
      master=$(cat "$dir/run/master.pid" 2>/dev/null) || return 0 ;;
  esac
  ps -e -o pid=,ppid= | awk -v root="$master" '
    { parent[$1] = $2 } END {
      keep[root] = 1; changed = 1
      while (changed) { changed = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
      for (p in keep) print p }'
}
# "PSS_KB RSS_KB NPROCS"
server_mem() {
  local pss=0 rss=0 n=0 pid v
  for pid in $(server_pids "$1"); do
    v=$(awk '/^Pss:/ {p=$2} /^Rss:/ {r=$2} END {print p+0, r+0}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    pss=$((pss + ${v% *})); rss=$((rss + ${v#* })); n=$((n + 1))
  done
  echo "$pss $rss $n"
}
CLK_TCK=$(getconf CLK_TCK)
# Server CPU seconds so far: utime+stime of every process plus cutime+cstime (children that exited and were reaped).
server_cpu() {
  local pid total=0 t
  for pid in $(server_pids "$1"); do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}') || continue
    total=$((total + ${t:-0}))
  done
  awk -v t="$total" -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", t / hz}'
}

wait_port() { # host port seconds
  local i
  for i in $(seq 1 $(($3 * 10))); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- data and servers
aerie_protocols=imap
aerie_config() { # protocols
  local protos=$1
  cat <<CONF
dovecot_config_version = 2.4.0
protocols = $protos
listen = 127.0.0.1
base_dir = $A/run
log_path = $A/aerie.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
# Same setup as the Dovecot anchor: plaintext auth allowed on loopback, TLS offered (and required by the TLS tests).
ssl = yes
ssl_server_cert_file = $A/tls/cert.pem
ssl_server_key_file = $A/tls/key.pem
ssl_min_protocol = TLSv1.2
auth_allow_cleartext = yes
auth_mechanisms = plain login
mail_driver = maildir
mail_path = ~
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 100
mail_max_userip_connections = 1000

namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
}

passdb passwd-file {
  passwd_file_path = $A/users
}
userdb passwd-file {
  passwd_file_path = $A/users
}

service imap-login {
  client_limit = 5000
  inet_listener imap {
    port = $A_IMAP
  }
  inet_listener imaps {
    port = $A_IMAPS
    ssl = yes
  }
}
CONF
  case " $protos " in *" pop3 "*) cat <<CONF
service pop3-login {
  inet_listener pop3 {
    port = $A_POP3
  }
}
CONF
  esac
  case " $protos " in *" lmtp "*) cat <<CONF
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
CONF
  esac
}

# Other sessions on this machine stop stray servers by name (every process called "aerie" got a SIGTERM during
# earlier runs), so the benchmark serves from a byte-identical copy of the binary under another name.
start_aerie() {
  mkdir -p "$A/run" "$BENCH_DIR/bin"
  cmp -s "$AERIE" "$BENCH_DIR/bin/bench-imapd" 2>/dev/null || cp "$AERIE" "$BENCH_DIR/bin/bench-imapd"
  : > "$A/stdout.log"
  "$BENCH_DIR/bin/bench-imapd" serve -c "$A/aerie.conf" >> "$A/stdout.log" 2>&1 &
  AERIE_PID=$!
  if ! wait_port 127.0.0.1 "$A_IMAP" 20; then
    note "Aerie did not start listening on $A_IMAP: $(tail -5 "$A/stdout.log" "$A/aerie.log" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
}
stop_aerie() {
  if [ -n "$AERIE_PID" ] && kill -0 "$AERIE_PID" 2>/dev/null; then
    kill -TERM "$AERIE_PID"
    for _ in $(seq 1 100); do kill -0 "$AERIE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$AERIE_PID" 2>/dev/null && { echo "Aerie did not stop on SIGTERM in 10 s; SIGKILL" >&2; kill -KILL "$AERIE_PID"; }
    wait "$AERIE_PID" 2>/dev/null || true
  fi
  AERIE_PID=
}
aerie_alive() {
  [ -n "$AERIE_PID" ] && kill -0 "$AERIE_PID" 2>/dev/null && return 0
  note "Aerie is not running (exited during the previous benchmark; restarted): $(tail -3 "$A/stdout.log" 2>/dev/null | tr '\n' ' ') aerie.log: $(grep -E 'master: |Fatal|Panic' "$A/aerie.log" | tail -2 | tr '\n' '|')"
  start_aerie
}

log "stopping leftovers from an earlier run in $BENCH_DIR"
"$anchor" stop "$D" >/dev/null 2>&1 || true
"$anchor" stop "$P" >/dev/null 2>&1 || true

if [ "${REUSE_DATA:-}" != 1 ] || [ ! -d "$A/mail/test1" ]; then
  log "data: template and fresh copies for each server"
  "$here/setup-data.sh" "$D/mail" "$A/mail"
  BENCH_SKIP_BIG=1 "$here/setup-data.sh" "$P/mail"
  rm -rf "$A/index"
fi

log "starting Dovecot (default model) and Dovecot (high-performance model)"
ANCHOR_PORT_BASE=$D_BASE "$anchor" start "$D" >&2
ANCHOR_MODE=performance ANCHOR_PORT_BASE=$P_BASE "$anchor" start "$P" >&2
D_IMAP=$((D_BASE + 143)) D_IMAPS=$((D_BASE + 993)) D_POP3=$((D_BASE + 110)) D_LMTP_SOCKET=$D/run/lmtp
P_IMAP=$((P_BASE + 143)) P_IMAPS=$((P_BASE + 993))
wait_port 127.0.0.1 "$D_IMAP" 20 && wait_port 127.0.0.1 "$P_IMAP" 20 || { echo "run.sh: Dovecot did not start" >&2; exit 1; }

log "starting Aerie"
mkdir -p "$A/tls" "$A/run"
cp "$D/ssl/cert.pem" "$A/tls/cert.pem"; install -m 0600 "$D/ssl/key.pem" "$A/tls/key.pem"
sed "s#:$D/mail/#:$A/mail/#" "$D/users" > "$A/users"
chown root:dovecot "$A/users"; chmod 0640 "$A/users"   # read by the auth process (default_internal_user)
# POP3 and LMTP are offered only when this Aerie accepts them in its configuration.
for protos in "imap pop3 lmtp" "imap pop3" "imap lmtp" "imap"; do
  aerie_config "$protos" > "$A/aerie.conf"
  if "$AERIE" conf check -c "$A/aerie.conf" > "$OUT/conf-check.log" 2>&1; then aerie_protocols=$protos; break; fi
done
[ "$aerie_protocols" = "imap pop3 lmtp" ] || note "Aerie's configuration does not accept 'protocols = imap pop3 lmtp' yet (aerie conf check: $(head -3 "$OUT/conf-check.log" | tr '\n' ' ')); running with protocols = $aerie_protocols"
start_aerie || exit 1
aerie_has_pop3=0; aerie_has_lmtp=0
if [[ " $aerie_protocols " == *" pop3 "* ]] && wait_port 127.0.0.1 "$A_POP3" 3; then aerie_has_pop3=1; fi
if [[ " $aerie_protocols " == *" lmtp "* ]] && [ -S "$A_LMTP_SOCKET" ]; then aerie_has_lmtp=1; fi

port_of() { # server kind
  case $1:$2 in
    aerie:imap) echo "$A_IMAP" ;; aerie:imaps) echo "$A_IMAPS" ;; aerie:pop3) echo "$A_POP3" ;;
    dovecot:imap) echo "$D_IMAP" ;; dovecot:imaps) echo "$D_IMAPS" ;; dovecot:pop3) echo "$D_POP3" ;;
    dovecot-perf:imap) echo "$P_IMAP" ;; dovecot-perf:imaps) echo "$P_IMAPS" ;;
  esac
}

# First open of every INBOX (each server builds its index and uidlist); timed but not a benchmark figure.
prime() { # server users
  local out
  out=$("$BENCH" prime --port "$(port_of "$1" imap)" --label "$1" --users "$2") || true
  echo "$out" | grep -v '^JSON ' >&2 || true
  echo "$out" | sed -n 's/^JSON //p' | sed "s/^/{\"bench\":\"prime\",\"server\":\"$1\",\"round\":0,\"result\":/; s/\$/}/" >> "$RAW"
}

# Runs one aerie-bench measurement against a server and records {bench, server, round, cpu_s, result}.
measure() { # name server round aerie-bench-args...
  local name=$1 server=$2 round=$3; shift 3
  [ "$server" = aerie ] && { aerie_alive || return 0; }
  local cpu0 cpu1 out rc=0
  cpu0=$(server_cpu "$server")
  out=$("$BENCH" "$@" --label "$server" 2> "$OUT/client.err") || rc=$?
  cpu1=$(server_cpu "$server")
  echo "$out" | grep -v '^JSON ' >&2 || true
  if [ -s "$OUT/client.err" ]; then head -5 "$OUT/client.err" >&2; fi
  local json; json=$(echo "$out" | sed -n 's/^JSON //p' | tail -1)
  [ -n "$json" ] || json='{"error":"no result (aerie-bench exit '"$rc"')"}'
  echo "{\"bench\":\"$name\",\"server\":\"$server\",\"round\":$round,\"cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.3f", b-a}'),\"result\":$json}" >> "$RAW"
  if [ "$server" = aerie ] && ! kill -0 "$AERIE_PID" 2>/dev/null; then
    note "Aerie exited during $name (round $round): $(tail -5 "$A/stdout.log" 2>/dev/null | tr '\n' ' ') aerie.log: $(grep -E 'master: |Fatal|Panic' "$A/aerie.log" | tail -2 | tr '\n' '|')"
  fi
}

# ---------------------------------------------------------------- memory
memory_one() { # server
  local server=$1 before after out pid ready=0
  sleep 2
  before=$(server_mem "$server")
  "$BENCH" idle --tls --port "$(port_of "$server" imaps)" --label "$server" --users test3..test200 \
    --connections "$IDLE_CONNECTIONS" --ignore-stdin > "$OUT/idle-$server.out" 2> "$OUT/idle-$server.err" &
  CLIENT_PID=$!
  for _ in $(seq 1 3000); do
    grep -q '^READY' "$OUT/idle-$server.out" 2>/dev/null && { ready=1; break; }
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.1
  done
  sleep 3
  after=$(server_mem "$server")
  kill -TERM "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=
  grep -v '^JSON ' "$OUT/idle-$server.out" >&2 || true
  local json; json=$(sed -n 's/^JSON //p' "$OUT/idle-$server.out" | tail -1)
  [ -n "$json" ] || json='{"error":"idle client gave no result (ready='"$ready"')"}'
  sleep 3   # let the server wind the sessions down, then see what is left
  closed=$(server_mem "$server")
  read -r b_pss b_rss b_n <<< "$before"; read -r a_pss a_rss a_n <<< "$after"; read -r c_pss c_rss c_n <<< "$closed"
  echo "{\"bench\":\"memory\",\"server\":\"$server\",\"round\":1,\"before_pss_kb\":$b_pss,\"before_rss_kb\":$b_rss,\"before_procs\":$b_n,\"after_pss_kb\":$a_pss,\"after_rss_kb\":$a_rss,\"after_procs\":$a_n,\"closed_pss_kb\":$c_pss,\"closed_rss_kb\":$c_rss,\"closed_procs\":$c_n,\"result\":$json}" >> "$RAW"
  echo "memory $server: PSS ${b_pss} KB ($b_n procs) -> ${a_pss} KB ($a_n procs) -> ${c_pss} KB after closing; RSS ${b_rss} -> ${a_rss} -> ${c_rss} KB" >&2
}
# Measured first, on freshly started servers, so the baseline is not disturbed by the index builds below.
if wants memory; then
  log "memory: $IDLE_CONNECTIONS idle authenticated TLS connections"
  if aerie_alive; then
    memory_one aerie
    if ! kill -0 "$AERIE_PID" 2>/dev/null; then
      note "Aerie stopped during the idle-connection test (aerie.log: $(grep -E 'shutting down|Fatal|Panic' "$A/aerie.log" | tail -2 | tr '\n' '|')); restarted and measured again"
      start_aerie && memory_one aerie
    fi
  fi
  memory_one dovecot
  memory_one dovecot-perf
fi

# ---------------------------------------------------------------- first open (not measured)
log "first open of every INBOX (index build; not measured)"
prime aerie test1..test200
prime dovecot test1..test200
prime dovecot-perf test3..test200

# ---------------------------------------------------------------- throughput
if wants logins; then
  log "logins: SHA512-CRYPT, 10 clients, TLS ($LOGIN_DURATION) and plaintext ($LOGIN_PLAIN_DURATION)"
  for r in $(seq 1 "$ROUNDS"); do
    for s in aerie dovecot dovecot-perf; do
      measure logins_tls "$s" "$r" logins --tls --port "$(port_of "$s" imaps)" --users test3..test200 --concurrency 10 --duration "$LOGIN_DURATION"
    done
  done
  for r in $(seq 1 "$ROUNDS"); do
    for s in aerie dovecot dovecot-perf; do
      measure logins_plain "$s" "$r" logins --port "$(port_of "$s" imap)" --users test3..test200 --concurrency 10 --duration "$LOGIN_PLAIN_DURATION"
    done
  done
fi

if wants mixed; then
  log "mixed: 10 clients, $MIXED_DURATION"
  for r in $(seq 1 "$ROUNDS"); do
    for s in aerie dovecot dovecot-perf; do
      measure mixed "$s" "$r" mixed --port "$(port_of "$s" imap)" --users test3..test12 --concurrency 10 --duration "$MIXED_DURATION"
    done
  done
fi

if wants fetch; then
  log "fetch: UID FETCH 1:* over test1's 10,000 messages"
  for r in $(seq 1 "$ROUNDS"); do
    for s in aerie dovecot; do
      measure fetch_envelope "$s" "$r" fetch --port "$(port_of "$s" imap)" --user test1 --items "(FLAGS RFC822.SIZE ENVELOPE)" --repeats 3
      measure fetch_body "$s" "$r" fetch --port "$(port_of "$s" imap)" --user test1 --items "BODY.PEEK[]" --repeats 3
    done
  done
fi

if wants select; then
  log "select: test2's 100,000-message INBOX, index present (Aerie restarted before each round: the first SELECT is cold)"
  for r in $(seq 1 "$ROUNDS"); do
    for s in aerie dovecot; do
      # Dovecot's default model starts a new imap process per connection, so each of its SELECTs opens the index
      # from disk; Aerie keeps mailboxes open in its one process, so it is restarted to time a first open too.
      if [ "$s" = aerie ]; then stop_aerie; start_aerie || continue; fi
      measure select "$s" "$r" select --port "$(port_of "$s" imap)" --user test2 --repeats 3
    done
  done
fi

if wants lmtp; then
  if [ "$aerie_has_lmtp" = 1 ]; then
    log "lmtp: $LMTP_COUNT deliveries of 4 KB, 4 senders"
    for r in $(seq 1 "$ROUNDS"); do
      measure lmtp aerie "$r" lmtp --socket "$A_LMTP_SOCKET" --concurrency 4 --count "$LMTP_COUNT" --size 4096 --rcpt test150..test199
      measure lmtp dovecot "$r" lmtp --socket "$D_LMTP_SOCKET" --concurrency 4 --count "$LMTP_COUNT" --size 4096 --rcpt test150..test199
    done
  else
    note "lmtp skipped: this Aerie does not offer LMTP yet (its configuration accepts protocols = $aerie_protocols, but no LMTP socket appeared at $A_LMTP_SOCKET)"
  fi
fi

if wants pop3; then
  if [ "$aerie_has_pop3" = 1 ]; then
    log "pop3: RETR of test1's 10,000 messages"
    for r in $(seq 1 "$ROUNDS"); do
      for s in aerie dovecot; do
        measure pop3 "$s" "$r" pop3 --port "$(port_of "$s" pop3)" --user test1
      done
    done
  else
    note "pop3 skipped: this Aerie does not offer POP3 yet (its configuration accepts protocols = $aerie_protocols, but nothing listens on the POP3 port $A_POP3)"
  fi
fi

# ---------------------------------------------------------------- Aerie's own log
if [ -s "$A/aerie.log" ]; then
  errs=$(grep -cE ': (Error|Fatal|Panic):' "$A/aerie.log" || true)
  if [ "${errs:-0}" -gt 0 ]; then
    note "aerie.log has $errs Error/Fatal/Panic lines; first ones: $(grep -E ': (Error|Fatal|Panic):' "$A/aerie.log" | head -5 | tr '\n' '|')"
  fi
fi

aerie_version=$(cd "$repo" && git log -1 --format='%h %s' 2>/dev/null | cut -c1-100; cd "$repo" && git status --porcelain 2>/dev/null | grep -q . && echo "(with uncommitted changes)" || true)
t_end=$(date +%s)
python3 "$here/report.py" "$RAW" "$NOTES" \
  --date "$started_at" --command "$command_line" --elapsed $((t_end - t_start)) --load "$load_at_start / at the end $(cut -d" " -f1-3 /proc/loadavg)" \
  --machine "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")" \
  --dovecot "$(dovecot --version 2>/dev/null)" --aerie "$(echo $aerie_version)" \
  --markdown "$OUT/RESULTS.md"
if [ "$WRITE_RESULTS" = 1 ]; then cp "$OUT/RESULTS.md" "$here/RESULTS.md"; echo "wrote bench/RESULTS.md" >&2; fi
