#!/bin/sh
# Shell completion: loads completions/loopfetch.bash in bash (and completions/_loopfetch in zsh,
# if zsh is installed), asks each for the completions of an option, checks that both know every
# option `loopfetch --help` lists, and that meson installs them where the shells look.
#   sh tests/unit/test_completion.sh SRCDIR BUILDDIR LOOPFETCH
set -u
src=$1 build=$2 lf=$3
fail=0
say() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# 1. bash: "--ref<TAB>" completes to --refresh; "-o d<TAB>" offers folders only.
mkdir "$tmp/dir-a" && : >"$tmp/doc-file"
got=$(cd "$tmp" && bash -c '. "$1"
  COMP_WORDS=(loopfetch --ref); COMP_CWORD=1; _loopfetch; echo "${COMPREPLY[*]}"
  COMP_WORDS=(loopfetch -o d); COMP_CWORD=2; _loopfetch; echo "${COMPREPLY[*]}"
  complete -p loopfetch' bash "$src/completions/loopfetch.bash")
[ "$(echo "$got" | sed -n 1p)" = "--refresh" ] || say "bash: --ref completes to '$(echo "$got" | sed -n 1p)'"
[ "$(echo "$got" | sed -n 2p)" = "dir-a" ] || say "bash: -o d completes to '$(echo "$got" | sed -n 2p)'"
echo "$got" | sed -n 3p | grep -q "_loopfetch loopfetch" || say "bash: no 'complete' for loopfetch"

# 1b. bash knows the status subcommand and its own options (not the job's).
got=$(cd "$tmp" && bash -c '. "$1"
  COMP_WORDS=(loopfetch sta); COMP_CWORD=1; _loopfetch; echo "${COMPREPLY[*]}"
  COMP_WORDS=(loopfetch status --js); COMP_CWORD=2; _loopfetch; echo "${COMPREPLY[*]}"
  COMP_WORDS=(loopfetch status --sh); COMP_CWORD=2; _loopfetch; echo "${COMPREPLY[*]}"
  COMP_WORDS=(loopfetch status --json d); COMP_CWORD=3; _loopfetch; echo "${COMPREPLY[*]}"
  COMP_WORDS=(loopfetch status --ref); COMP_CWORD=2; _loopfetch; echo "${COMPREPLY[*]}"' \
  bash "$src/completions/loopfetch.bash")
[ "$(echo "$got" | sed -n 1p)" = "status" ] || say "bash: sta completes to '$(echo "$got" | sed -n 1p)'"
[ "$(echo "$got" | sed -n 2p)" = "--json" ] || say "bash: status --js completes to '$(echo "$got" | sed -n 2p)'"
[ "$(echo "$got" | sed -n 3p)" = "--shards" ] || say "bash: status --sh completes to '$(echo "$got" | sed -n 3p)'"
[ "$(echo "$got" | sed -n 4p)" = "dir-a" ] || say "bash: status --json d completes to '$(echo "$got" | sed -n 4p)'"
[ -z "$(echo "$got" | sed -n 5p)" ] || say "bash: status offers the job's --refresh: '$(echo "$got" | sed -n 5p)'"
for opt in $("$lf" status --help | grep -oE -- '--[a-z-]+' | sort -u); do
  grep -qe "$opt\\b" "$src/completions/loopfetch.bash" || say "bash completion lacks status $opt"
  grep -qe "$opt\\[" -e "$opt}" "$src/completions/_loopfetch" || say "zsh completion lacks status $opt"
done

# 2. Every long option of --help is known to both files.
for opt in $("$lf" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
  grep -qe "$opt\\b" "$src/completions/loopfetch.bash" || say "bash completion lacks $opt"
  grep -qe "$opt\\[" -e "$opt}" -e ",$opt" "$src/completions/_loopfetch" || say "zsh completion lacks $opt"
done

# 3. zsh: "--ref<TAB>" in an interactive zsh (zpty) completes to --refresh.
if command -v zsh >/dev/null 2>&1; then
  out=$(ZDOTDIR=$tmp zsh -f -c '
    zmodload zsh/zpty || exit 3
    zpty z "zsh -f -i"
    zpty -w z "PS1=\"> \"; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
    zpty -w z "loopfetch --ref"$'"'"'\t'"'"'
    sleep 2
    zpty -r z out "*refresh*" && print -r -- "$out"
    zpty -d z' zsh "$src/completions" 2>&1)
  echo "$out" | grep -q -- "--refresh" || say "zsh: --ref did not complete to --refresh: $out"
  out=$(ZDOTDIR=$tmp zsh -f -c '
    zmodload zsh/zpty || exit 3
    zpty z "zsh -f -i"
    zpty -w z "PS1=\"> \"; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
    zpty -w z "loopfetch status --sha"$'"'"'\t'"'"'
    all=""
    for i in {1..40}; do  # non-blocking reads: a completion that never comes fails, not hangs
      zpty -rt z out && all+=$out
      [[ $all == *shards* ]] && break
      sleep 0.1
    done
    print -r -- "$all"
    zpty -d z' zsh "$src/completions" 2>&1)
  echo "$out" | grep -q -- "--shards" || say "zsh: status --sha did not complete to --shards: $out"
else
  echo "zsh not installed: its completion is only checked for the option list"
fi

# 4. meson installs them where bash-completion and zsh look.
inst=$(meson introspect --installed "$build")
echo "$inst" | grep -q 'bash-completion/completions/loopfetch"' || say "bash completion not installed: $inst"
echo "$inst" | grep -q 'zsh/site-functions/_loopfetch"' || say "zsh completion not installed: $inst"
[ $fail = 0 ] && echo "completion: PASS"
exit $fail
