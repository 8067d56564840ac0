#!/usr/bin/env bash
# Runs a command on a real terminal (a detached tmux pane) and checks its progress line:
# it must appear while the command runs, fit the pane's width, and be gone at the end (erased,
# not left behind above the summary).
#
#   tests/e2e/test_progress_tty.sh COMMAND [ARG...]
#
# Environment:
#   PROGRESS_RE  extended regex of a progress line (default: "N pages" or "N/M pages" at the
#                start of a line)
#   SUMMARY_RE   regex the final screen must contain (default: "loopfetch: .* saved")
#   EXPECT_EXIT  the command's expected exit status (default 0)
#   TIMEOUT      seconds to wait for the command (default 120)
#   COLUMNS_TTY  pane width (default 100)
# Exit status: 0 passed, 1 failed, 77 skipped (no tmux).
set -u

[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux not found"; exit 77; }

progress_re=${PROGRESS_RE:-'^[0-9]+(/[0-9]+)? pages'}
summary_re=${SUMMARY_RE:-'loopfetch: .* saved'}
expect_exit=${EXPECT_EXIT:-0}
timeout=${TIMEOUT:-120}
width=${COLUMNS_TTY:-100}

# A tmux server of our own (-L), so that no user session is touched, removed at the end.
sock="lf-progress-$$"
work=$(mktemp -d) || exit 1
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  tmux -L "$sock" kill-server >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The command, quoted for the pane's shell; its exit status lands in a file.
printf -v cmd '%q ' "$@"
status_file="$work/status"
tmux -L "$sock" -f /dev/null new-session -d -s t -x "$width" -y 40 \
  "cd $(printf '%q' "$PWD") && $cmd; echo \$? > $(printf '%q' "$status_file"); sleep 600" ||
  { echo "FAIL: cannot start tmux"; exit 1; }

seen=""
deadline=$((SECONDS + timeout))
while [ ! -s "$status_file" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "FAIL: command still running after ${timeout}s"
    tmux -L "$sock" capture-pane -p -t t
    exit 1
  fi
  line=$(tmux -L "$sock" capture-pane -p -t t | grep -E "$progress_re" | tail -n 1)
  [ -n "$line" ] && seen=$line
  sleep 0.05
done
sleep 0.2 # let the last output reach the pane
final=$(tmux -L "$sock" capture-pane -p -t t)
code=$(cat "$status_file")

fail=0
if [ -z "$seen" ]; then
  echo "FAIL: no progress line matching /$progress_re/ while the command ran"
  fail=1
elif [ "${#seen}" -ge "$width" ]; then
  echo "FAIL: progress line is ${#seen} columns wide in a $width-column pane: $seen"
  fail=1
else
  echo "progress line seen: $seen"
fi
if printf '%s\n' "$final" | grep -Eq "$progress_re"; then
  echo "FAIL: a progress line was left on the screen at the end"
  fail=1
fi
if ! printf '%s\n' "$final" | grep -Eq "$summary_re"; then
  echo "FAIL: final screen lacks /$summary_re/"
  fail=1
fi
if [ "$code" != "$expect_exit" ]; then
  echo "FAIL: exit status $code, expected $expect_exit"
  fail=1
fi
if [ "$fail" -ne 0 ]; then
  echo "--- final screen ---"
  printf '%s\n' "$final"
  exit 1
fi
echo "PASS"
exit 0
