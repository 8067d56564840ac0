#!/usr/bin/env bash
# Builds loopfetch twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# the whole suite in each. Ends with one line "N passed, N failed"; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
# detect_stack_use_after_return: a pointer to a returned function's buffer (issue 12, item 10)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0 failed=0 status=0

run_suite() { # name, meson options...
  local dir="build-test-$1"; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi || { echo "meson setup $dir failed"; return 1; }
  meson compile -C "$dir" || { echo "build in $dir failed"; return 1; }
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  local counts
  counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r != "SKIP": bad += 1
print(ok, bad)
PY
  ) || counts="0 1"
  passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
}

run_suite plain || { status=1; failed=$((failed + 1)); }
run_suite sanitize -Db_sanitize=address,undefined -Db_lundef=false || { status=1; failed=$((failed + 1)); }
# ThreadSanitizer, for the one test that runs fetchers in several threads at once: the rest of
# the suite is single-threaded on the loop, and the whole suite under TSan would cost minutes.
# No suppressions: libcurl and libuv are not instrumented, and their locks are seen through the
# pthread interceptors.
tsan_threads() {
  local dir=build-test-tsan
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" -Db_sanitize=thread -Db_lundef=false >/dev/null
  else meson setup "$dir" -Db_sanitize=thread -Db_lundef=false >/dev/null; fi || return 1
  meson compile -C "$dir" tests/test_threads >/dev/null || return 1
  TSAN_OPTIONS="halt_on_error=1:exitcode=66" python3 tests/e2e/e2e_lib.py --loopfetch "$dir/loopfetch" threads
}
if tsan_threads; then echo "tsan threads: ok"; passed=$((passed + 1))
else echo "tsan threads: FAILED"; failed=$((failed + 1)); status=1; fi

# libFuzzer targets (selector parser, link extraction, names, charset decoding, content
# decoding), each for FUZZ_SECONDS (default 30: five targets keep CI within its 20 minutes).
while read -r line; do
  echo "$line"
  case "$line" in
    "fuzz "*": ok"*) passed=$((passed + 1)) ;;
    "fuzz "*) failed=$((failed + 1)) ;;
  esac
done < <(bash tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" 2>&1 || echo "fuzz build: FAILED")

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
