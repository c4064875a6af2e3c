#!/usr/bin/env bash
# Self-test of scripts/lib/phase.sh, run by scripts/test.sh as its first phase: a phase must
# fail on its first failing command (not only on its last), report that command's status, and
# record the failure in PHASES. Exit 0 when every check holds, 1 with the broken check otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/phase.sh
source "$ROOT/scripts/lib/phase.sh"

fail() {
  echo "phase self-test: $*" >&2
  exit 1
}

# A body whose first command fails and whose last succeeds: the old `"$@" || rc=$?` runner ran
# it to the end and called it a success.
first_fails() {
  false
  echo "reached the command after a failure"
}
pipe_fails() {
  false | cat
  echo "reached the command after a failing pipeline"
}
exits_3() {
  ( exit 3 )
  echo "reached the command after exit 3"
}
passes() {
  true
}

# `phase` must run as a plain command (see lib/phase.sh): errexit off around it, status read after.
expect_failure() {
  local body="$1" want_rc="$2" out rc
  set +e
  out=$(phase "$body" "$body" 2>&1)
  rc=$?
  set -e
  [ "$rc" = "$want_rc" ] || fail "phase $body returned $rc, expected $want_rc (output: $out)"
  case "$out" in *reached*) fail "phase $body ran on after its failing command: $out" ;; esac
}

expect_failure first_fails 1
expect_failure pipe_fails 1
expect_failure exits_3 3
# PHASES records the failure; the caller's set -e holds again after a failing phase, so a
# script made of phases stops at the first failing one.
set +e
phase "records" first_fails >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "phase records returned $rc"
case "${PHASES[-1]}" in "records: "*"(FAILED, exit 1)") ;; *) fail "PHASES says: ${PHASES[-1]}" ;; esac
set +e
out=$(
  set -e
  phase "stops" first_fails >/dev/null 2>&1
  echo "the script ran on after a failing phase"
)
set -e
[ -z "$out" ] || fail "$out"
phase "passes" passes >/dev/null
case "${PHASES[-1]}" in "passes: "*s) ;; *) fail "PHASES says: ${PHASES[-1]}" ;; esac
# Called on the left of `||`, where set -e cannot hold, phase refuses to run the body.
out=$(phase "guarded" first_fails 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "phase on the left of || returned $rc, expected 2 (output: $out)"
case "$out" in *reached*) fail "phase on the left of || ran its body: $out" ;; esac
echo "phase self-test: a failing command ends its phase with its status"
