# Phase runner shared by scripts/test.sh and its self-test (scripts/test-phase.sh); sourced.
#
# `phase NAME CMD [ARGS...]` prints `== NAME ==`, runs CMD in a subshell with `set -euo
# pipefail`, records `NAME: Ns` (or `... (FAILED, exit N)`) in PHASES and returns CMD's status.
#
# Why a subshell, and why not `"$@" || rc=$?`: bash ignores `set -e` in everything run on the
# left of `||`/`&&` or in an `if` condition, functions and subshells included, so a phase body
# called that way ran on past its first failing command and could only fail on its last one.
# Here the subshell runs as a plain command (errexit switched off around it in the caller only,
# so its status can be recorded, then restored as the caller had it): inside it `set -e` holds, and the first failing command ends
# the phase with that command's status. That needs `phase` itself called as a plain command:
# called on the left of `||`/`&&` or in an `if`, bash would ignore `set -e` in the subshell too,
# so `phase` checks for that context and refuses (exit 2) instead of running a body that cannot
# fail early.
PHASES=()

phase() {
  local name="$1"
  shift
  echo "== $name =="
  local t0 rc probe errexit=
  case $- in *e*) errexit=1 ;; esac
  set +e
  probe=$(set -e; false; echo ignored)
  if [ "$probe" = ignored ]; then
    echo "phase '$name': called where bash ignores set -e (left of || or &&, or in an if);" \
      "call phase as a plain command" >&2
    PHASES+=("$name: not run (phase called where set -e is ignored)")
    [ -z "$errexit" ] || set -e
    return 2
  fi
  t0=$(date +%s)
  (
    set -euo pipefail
    "$@"
  )
  rc=$?
  [ -z "$errexit" ] || set -e
  if [ "$rc" = 0 ]; then
    PHASES+=("$name: $(( $(date +%s) - t0 ))s")
  else
    PHASES+=("$name: $(( $(date +%s) - t0 ))s (FAILED, exit $rc)")
  fi
  return "$rc"
}
