#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) and runs each for SECONDS (default 60)
# from its seed corpus in tests/fuzz/corpus/<target>. Exit non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Iinclude -Ilib/core -Ilib/codec -Ilib/html -Ilib/engine -Isrc/base -Isrc/store -Isrc/polite)
libs=$(pkg-config --cflags --libs libcurl gumbo libuv zlib libbrotlidec libzstd expat libidn2)
src=(lib/core/error.c lib/core/buf.c lib/html/selector_lex.c lib/html/selector_parse.c lib/html/selector_match.c
     lib/html/links.c lib/html/page.c lib/html/pagecost.c lib/html/extract.c lib/html/arena.c lib/html/charesc.c
     lib/html/urlresolve.c lib/html/urlhost.c lib/html/encoding.c lib/html/legacy.c lib/html/quirks.c
     lib/html/transcode.c lib/codec/decode.c src/store/names.c src/store/nameset.c src/base/hmap.c
     src/polite/robots.c src/polite/robots_match.c src/polite/sitemap.c)
status=0
for t in selector links names decode content_encoding robots sitemap; do
  clang "${flags[@]}" "tests/fuzz/fuzz_$t.c" "${src[@]}" $libs -o "$out/fuzz_$t"
  work="$out/corpus-$t"
  rm -rf "$work" && mkdir -p "$work" && cp tests/fuzz/corpus/$t/* "$work/"
  # crash inputs go to build-fuzz/, not to the top of the tree where `git add` would take them
  if "$out/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$out/$t-" "$work" > "$out/fuzz_$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/fuzz_$t.log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz $t: FAILED, see $out/fuzz_$t.log"; tail -30 "$out/fuzz_$t.log"; status=1
  fi
done
exit $status
