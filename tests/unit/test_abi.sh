#!/bin/sh
# The ABI of libloopfetch.so as built: the names it exports are exactly tests/unit/abi/exported.txt,
# every LF_EXTERN declaration of the header is among them, and the soname carries the header's
# LOOPFETCH_VERSION_MAJOR. An accidental export (say a new lf__ helper without hidden
# visibility) or a removed function fails here.
#
#   tests/unit/test_abi.sh LIBLOOPFETCH_SO EXPORTED_TXT LOOPFETCH_H [API_MD]
# With API_MD (docs/api.md), every exported function must have its section there
# ("### name — summary"), from which its man page is made.
# Exit status: 0 passed, 1 failed, 77 skipped (no nm or readelf).
set -u
so=${1:?usage: test_abi.sh LIB.so EXPORTED_TXT HEADER [API_MD]} list=${2:?} header=${3:?}
doc=${4:-}
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
command -v readelf >/dev/null 2>&1 || { echo "SKIP: no readelf"; exit 77; }
fail=0
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT

# Defined dynamic symbols of any kind (code, data), without a version suffix.
nm -D --defined-only "$so" | awk 'NF == 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' |
  LC_ALL=C sort -u >"$work/built"
grep -v '^#' "$list" | grep . | LC_ALL=C sort -u >"$work/listed"
if ! cmp -s "$work/built" "$work/listed"; then
  echo "FAIL: exported names differ from $list (< built only, > listed only):"
  diff "$work/built" "$work/listed" | grep '^[<>]'
  fail=1
fi

# Declarations marked LF_EXTERN in the header: lines that start with it; the name is the word
# before the first parenthesis.
grep -o '^LF_EXTERN [^(;]*(' "$header" | sed 's/($//; s/.*[ *]//' |
  LC_ALL=C sort -u >"$work/declared"
if ! cmp -s "$work/declared" "$work/listed"; then
  echo "FAIL: LF_EXTERN declarations in $header differ from $list (< declared only):"
  diff "$work/declared" "$work/listed" | grep '^[<>]'
  fail=1
fi
[ -s "$work/declared" ] || { echo "FAIL: no LF_EXTERN declaration found in $header"; fail=1; }

if [ -n "$doc" ]; then
  grep '^### ' "$doc" | sed 's/^### //; s/ .*//' | LC_ALL=C sort -u >"$work/documented"
  missing=$(LC_ALL=C comm -23 "$work/listed" "$work/documented" | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "FAIL: exported but without a section (### name — summary) in $doc: $missing"
    fail=1
  fi
fi

major=$(sed -n 's/^#define LOOPFETCH_VERSION_MAJOR \([0-9]*\).*/\1/p' "$header")
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ "$soname" != "libloopfetch.so.$major" ]; then
  echo "FAIL: soname '$soname', expected libloopfetch.so.$major (LOOPFETCH_VERSION_MAJOR)"
  fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS: $(wc -l <"$work/built") exported names, soname $soname"
exit "$fail"
