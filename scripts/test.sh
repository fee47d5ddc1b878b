#!/usr/bin/env bash
# Aerie's single test command: installs what the tests need, builds, and runs every test.
#
#   bash scripts/test.sh            (as root on Debian 12; CI runs it through .ci/run)
#
# Steps: dependencies (Debian + PyPI, imaptest) -> release build -> unit tests (swift test) -> libFuzzer targets
# (60 s each) -> integration tests (pytest, tests/integration, against .build/release/aerie).
# The last line printed is "N passed, M failed": N and M sum the counts of swift test and pytest; a step that
# fails without producing counts (a build, a fuzzer crash) adds one to M. The exit code is non-zero if M > 0.
#
# Environment knobs (all optional):
#   FUZZ_SECONDS=60        how long each fuzzer runs
#   SKIP_DEPS=1            do not install packages (a developer machine that already has them)
#   SKIP_BUILD=1           use an existing .build/release/aerie (local iteration only; CI never sets it)
#   SKIP_UNIT=1            skip swift test (local iteration only)
#   SKIP_FUZZ=1            skip the fuzz step (local iteration only; CI never sets it)
#   PYTEST_ARGS="-k tls"   extra arguments for pytest
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
LOGDIR=$(mktemp -d /tmp/aerie-test.XXXXXX)
export DEBIAN_FRONTEND=noninteractive

PASSED=0
FAILED=0
FAILED_STEPS=()

section() {
  printf '\n==================== %s ====================\n' "$*"
}

step_failed() {
  FAILED=$((FAILED + 1))
  FAILED_STEPS+=("$1")
  echo "!!! step failed: $1" >&2
}

# ---------------------------------------------------------------------------------------------------------------
section "Dependencies"
install_debian_packages() {
  local wanted=(libsodium-dev libcrypt-dev libldap-dev slapd ldap-utils samba-ad-dc samba-ad-provision pkg-config
    openssl curl ca-certificates fail2ban testssl.sh dovecot-core dovecot-imapd rsyslog python3 procps postfix
    fetchmail isync libsasl2-modules oathtool haproxy dovecot-ldap postgresql libqrencode-dev zbar-tools libseccomp-dev)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ! python3 -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi
  if [ ${#missing[@]} -eq 0 ]; then
    echo "Debian packages: all present"
    return
  fi
  echo "Debian packages to install: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "not root: cannot install ${missing[*]}" >&2
    return 1
  fi
  apt-get update -qq >/dev/null
  # The packages must not start system services we did not ask for (dovecot, fail2ban, rsyslog): the tests
  # start their own instances. Where no policy-rc.d exists (a VM rather than a container), add one for the
  # duration of the install.
  local policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  local rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOGDIR/apt.log" 2>&1 || rc=$?
  [ $policy_added = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ $rc != 0 ]; then
    tail -n 30 "$LOGDIR/apt.log" >&2
    return $rc
  fi
}

install_python_packages() {
  if python3 - <<'EOF' 2>/dev/null
import pytest, imapclient, argon2, pytest_timeout, OpenSSL, joserfc, oidc_provider_mock
EOF
  then
    echo "Python packages: all present"
    return
  fi
  local pkgs=(pytest imapclient argon2-cffi pytest-timeout pyOpenSSL joserfc oidc-provider-mock==0.3.4)
  echo "Python packages to install: ${pkgs[*]}"
  if ! python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${pkgs[@]}" 2>"$LOGDIR/pip.log"; then
    if grep -q externally-managed "$LOGDIR/pip.log"; then
      python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages "${pkgs[@]}"
    else
      cat "$LOGDIR/pip.log" >&2
      return 1
    fi
  fi
}

ensure_vmail() {
  if ! id vmail >/dev/null 2>&1; then
    useradd --system --uid 1500 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin vmail
    echo "created system user vmail (uid 1500)"
  fi
  if [ "$(id -u vmail)" != 1500 ]; then
    echo "warning: vmail exists with uid $(id -u vmail), not 1500; tests use its real uid" >&2
  fi
}

# imaptest (Dovecot's IMAP compliance and stress tester, MIT) is built from the team's ../shared/peers/imaptest
# against Debian's libdovecot (its build script apt-installs dovecot-dev and the autotools) into /opt/imaptest, where
# tests/integration/test_imaptest.py finds it. Without ../shared (a clone outside the workspace) those tests skip.
build_imaptest() {
  local script="$ROOT/../shared/peers/imaptest/build"
  if [ ! -f "$script" ]; then
    echo "imaptest: $script absent; test_imaptest.py will skip"
    return
  fi
  if ! bash "$script" /opt/imaptest >"$LOGDIR/imaptest-build.log" 2>&1; then
    tail -n 30 "$LOGDIR/imaptest-build.log" >&2
    return 1
  fi
  echo "imaptest: $(tail -n 1 "$LOGDIR/imaptest-build.log")"
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  install_debian_packages || step_failed "install Debian packages"
  install_python_packages || step_failed "install Python packages"
  ensure_vmail || step_failed "create user vmail"
  build_imaptest || step_failed "build imaptest"
else
  echo "SKIP_DEPS=1: not installing anything"
fi
echo "swift: $(swift --version 2>&1 | head -n 1)"
echo "python: $(python3 --version 2>&1)"

# ---------------------------------------------------------------------------------------------------------------
section "Release build (swift build -c release)"
BUILD_OK=1
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x .build/release/aerie ]; then
  echo "SKIP_BUILD=1: using the existing .build/release/aerie ($(date -r .build/release/aerie '+%F %T'))"
else
  set +e
  swift build -c release >"$LOGDIR/build-release.log" 2>&1
  BUILD_RC=$?
  set -e
  grep -E 'Build complete|Compiling aerie|Linking aerie' "$LOGDIR/build-release.log" | tail -n 3 || true
  if [ "$BUILD_RC" != 0 ] || [ ! -x .build/release/aerie ]; then
    grep -E '^/.*error:|^error:' "$LOGDIR/build-release.log" | awk '!seen[$0]++' | head -n 40 >&2 || true
    BUILD_OK=0
    step_failed "swift build -c release (exit $BUILD_RC)"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
section "Unit tests (swift test)"
if [ "${SKIP_UNIT:-0}" = 1 ]; then
  echo "SKIP_UNIT=1: not running swift test"
  : >"$LOGDIR/swift-test.log"
  SWIFT_TEST_RC=0
else
set +e
swift test 2>&1 | tee "$LOGDIR/swift-test.log" | grep -E '(^|\s)(✘|✔ Test run|Test Suite .All tests|Executed [0-9]+ tests?)|error:|failed' | tail -n 60
SWIFT_TEST_RC=${PIPESTATUS[0]}
set -e
fi
# XCTest: the last "Executed N tests, with M failures" line covers every suite.
xc_line=$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?' "$LOGDIR/swift-test.log" | tail -n 1 || true)
xc_total=0; xc_failed=0
if [ -n "$xc_line" ]; then
  xc_total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$xc_line")
  xc_failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$xc_line")
fi
# Swift Testing: "✔ Test run with N tests ... passed" or "✘ Test run with N tests ... failed"; per-test
# failures are "✘ Test name() failed ...".
st_line=$(grep -E 'Test run with [0-9]+ tests?' "$LOGDIR/swift-test.log" | tail -n 1 || true)
st_total=0; st_failed=0
if [ -n "$st_line" ]; then
  st_total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$st_line")
  # One "✘ Test NAME failed after N seconds ..." line per failed test (issue lines say "recorded an issue").
  st_failed=$(grep -E '^✘ Test .* failed after [0-9.]+ seconds' "$LOGDIR/swift-test.log" \
    | grep -vcE '^✘ Test (run with|case passing)' || true)
fi
# A failing XCTest case can make the process stop before the Swift Testing summary; failed >= total protects
# against counting nonsense.
[ "$xc_failed" -gt "$xc_total" ] && xc_failed=$xc_total
[ "$st_failed" -gt "$st_total" ] && st_failed=$st_total
unit_passed=$(( (xc_total - xc_failed) + (st_total - st_failed) ))
unit_failed=$(( xc_failed + st_failed ))
echo "swift test: XCTest $xc_total run / $xc_failed failed; Swift Testing $st_total run / $st_failed failed; exit $SWIFT_TEST_RC"
PASSED=$((PASSED + unit_passed))
FAILED=$((FAILED + unit_failed))
if [ "$SWIFT_TEST_RC" != 0 ]; then
  if [ "$unit_failed" = 0 ]; then
    # Non-zero exit but no failing test counted: a build error or a crash.
    tail -n 40 "$LOGDIR/swift-test.log" >&2
    step_failed "swift test (exit $SWIFT_TEST_RC)"
  else
    FAILED_STEPS+=("swift test ($unit_failed failed)")
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
run_fuzzer() {
  local product=$1
  section "Fuzz $product (${FUZZ_SECONDS} s)"
  if ! swift build --product "$product" --sanitize=fuzzer --scratch-path .build-fuzz >"$LOGDIR/build-$product.log" 2>&1; then
    tail -n 40 "$LOGDIR/build-$product.log" >&2
    step_failed "build $product"
    return
  fi
  local bindir
  bindir=$(swift build --product "$product" --sanitize=fuzzer --scratch-path .build-fuzz --show-bin-path)
  local work
  work=$(mktemp -d /tmp/aerie-fuzz-"$product".XXXXXX)
  mkdir -p "$work/corpus"
  local rc=0
  # Run inside the temp dir: crash-*/leak-*/timeout-* artefacts land there, not in the repo.
  (cd "$work" && SWIFT_BACKTRACE=enable=no timeout --signal=KILL $((FUZZ_SECONDS + 120)) \
    "$bindir/$product" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" corpus >"$work/fuzz.log" 2>&1) || rc=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|crash-|Test unit written' "$work/fuzz.log" || true
  if [ $rc != 0 ]; then
    tail -n 40 "$work/fuzz.log" >&2
    ls "$work" >&2
    step_failed "fuzz $product (exit $rc; artefacts in $work)"
  else
    echo "$product: no crash in ${FUZZ_SECONDS} s"
    rm -rf "$work"
  fi
}
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  # Every Fuzz* executable target in Package.swift; the IMAP and config parsers' must be among them.
  mapfile -t FUZZERS < <(grep -oE 'executableTarget\(name: "Fuzz[A-Za-z0-9]+"' Package.swift | grep -oE 'Fuzz[A-Za-z0-9]+' | awk '!seen[$0]++')
  for required in FuzzIMAPParser FuzzConfigParser; do
    printf '%s\n' "${FUZZERS[@]}" | grep -qx "$required" || step_failed "fuzz target $required missing from Package.swift"
  done
  for f in "${FUZZERS[@]}"; do run_fuzzer "$f"; done
else
  section "Fuzz (skipped: SKIP_FUZZ=1)"
fi

# ---------------------------------------------------------------------------------------------------------------
section "Integration tests (pytest tests/integration)"
if [ $BUILD_OK = 1 ]; then
  export AERIE_BIN="$ROOT/.build/release/aerie"
  set +e
  # shellcheck disable=SC2086
  python3 -m pytest -q -rfEs -p no:cacheprovider tests/integration ${PYTEST_ARGS:-} 2>&1 | tee "$LOGDIR/pytest.log"
  PYTEST_RC=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E '[0-9]+ (passed|failed|error)' "$LOGDIR/pytest.log" | tail -n 1 || true)
  py_passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  py_failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  py_errors=$(grep -oE '[0-9]+ errors?' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
  PASSED=$((PASSED + py_passed))
  FAILED=$((FAILED + py_failed + py_errors))
  if [ "$PYTEST_RC" != 0 ]; then
    if [ $((py_failed + py_errors)) = 0 ]; then
      step_failed "pytest (exit $PYTEST_RC)"
    else
      FAILED_STEPS+=("pytest ($((py_failed + py_errors)) failed)")
    fi
  fi
else
  echo "skipped: no release binary"
  step_failed "integration tests (no binary)"
fi

# ---------------------------------------------------------------------------------------------------------------
section "Summary"
echo "logs: $LOGDIR"
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  for s in "${FAILED_STEPS[@]}"; do echo "failed: $s"; done
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
