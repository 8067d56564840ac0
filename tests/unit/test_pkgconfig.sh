#!/bin/sh
# Builds a tiny program against an installed loopfetch the way a user would, with pkg-config,
# and runs it: it must find the header, link the shared library, and load that same library.
# Then the examples (EXAMPLES_DIR/*.c) are built the same way, and the static library linked.
#
#   tests/unit/test_pkgconfig.sh PREFIX [EXAMPLES_DIR]
#
# PREFIX is where `meson install` put loopfetch; with `meson install --destdir D` that is
# D/<prefix> (e.g. D/usr/local). The .pc file's paths are relative to the file itself, so they
# must be right there without any override, and also with `pkg-config --define-prefix`.
# Exit status: 0 passed, 1 failed, 77 skipped (no pkg-config or C compiler).
set -u

prefix=${1:?usage: test_pkgconfig.sh PREFIX [EXAMPLES_DIR]}
examples=${2:-}
prefix=$(cd "$prefix" 2>/dev/null && pwd -P) || { echo "FAIL: no such folder: $1"; exit 1; }
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not found"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "SKIP: no C compiler ($cc)"; exit 77; }

# The habit of every other library's guide: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig alone finds
# it too, also where libdir is multiarch (lib/x86_64-linux-gnu), with paths that lead to it.
for define in "" --define-prefix; do
  plain_lib=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config $define --variable=libdir loopfetch) ||
    { echo "FAIL: PKG_CONFIG_PATH=$prefix/lib/pkgconfig finds no loopfetch.pc"; exit 1; }
  plain_inc=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config $define --variable=includedir loopfetch)
  [ -e "$plain_lib/libloopfetch.so" ] || { echo "FAIL: lib/pkgconfig's libdir $plain_lib has no libloopfetch.so"; exit 1; }
  [ -e "$plain_inc/loopfetch.h" ] || { echo "FAIL: lib/pkgconfig's includedir $plain_inc has no loopfetch.h"; exit 1; }
done

PKG_CONFIG_PATH="$prefix/lib/x86_64-linux-gnu/pkgconfig:$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
pc() { pkg-config "$@"; }

fail() { echo "FAIL: $*"; exit 1; }

pc --exists loopfetch || fail "pkg-config finds no loopfetch.pc under $prefix/lib"
version=$(pc --modversion loopfetch) || fail "no version in loopfetch.pc"
flags=$(pc --cflags --libs loopfetch) || fail "pkg-config --cflags --libs loopfetch failed"

# The paths lead to the installed files, with and without --define-prefix (which guesses the
# prefix from the .pc file's place: wrong for a multiarch libdir unless no path uses it).
for define in "" --define-prefix; do
  libdir=$(pc $define --variable=libdir loopfetch)
  incdir=$(pc $define --variable=includedir loopfetch)
  [ -e "$libdir/libloopfetch.so" ] || fail "pkg-config $define: libdir $libdir has no libloopfetch.so"
  [ -e "$incdir/loopfetch.h" ] || fail "pkg-config $define: includedir $incdir has no loopfetch.h"
  case $(cd "$libdir" && pwd -P) in "$prefix"/*) ;; *) fail "libdir $libdir is not under $prefix" ;; esac
  pc $define --cflags loopfetch | grep -q -- "-I$incdir" || fail "pkg-config $define --cflags: no -I$incdir"
done
libdir=$(cd "$(pc --variable=libdir loopfetch)" && pwd -P)

# Requires: only libuv (loopfetch.h includes uv.h); libcurl and gumbo only for static links.
requires=$(pc --print-requires loopfetch | awk '{print $1}' | tr '\n' ' ')
[ "$requires" = "libuv " ] || fail "Requires: is '$requires', want libuv alone"
private=$(pc --print-requires-private loopfetch | awk '{print $1}' | sort | tr '\n' ' ')
[ "$private" = "gumbo libbrotlidec libcurl libidn2 libzstd zlib " ] ||
  fail "Requires.private: is '$private', want libcurl, gumbo, libidn2 (hosts) and the decoders' zlib, libbrotlidec, libzstd"
pc --libs loopfetch | grep -q -- -lcurl && fail "pkg-config --libs (shared) names -lcurl"

work=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

cat >"$work/use.c" <<'EOF'
/* Uses only the public API, as an outside program would. */
#include <loopfetch.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *want = argc > 1 ? argv[1] : LOOPFETCH_VERSION;
  if (strcmp(lf_version(), LOOPFETCH_VERSION) != 0 || strcmp(lf_version(), want) != 0) {
    fprintf(stderr, "lf_version() = %s, header %s, pkg-config %s\n", lf_version(),
            LOOPFETCH_VERSION, want);
    return 1;
  }
  if (lf_version_num() != LOOPFETCH_VERSION_HEX) {
    fprintf(stderr, "lf_version_num() = %#x, header %#x\n", lf_version_num(), LOOPFETCH_VERSION_HEX);
    return 1;
  }
  if (strcmp(lf_strerror(LF_EINVAL), "invalid argument") != 0) {
    fprintf(stderr, "lf_strerror(LF_EINVAL) = %s\n", lf_strerror(LF_EINVAL));
    return 1;
  }
  printf("loopfetch %s: %s\n", lf_version(), lf_strerror(LF_EINVAL));
  return 0;
}
EOF

# Shared library: built with pkg-config's flags, run with the installed library found first.
# shellcheck disable=SC2086 # $flags must split into words
"$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "$work/use.c" $flags \
  -o "$work/use" || fail "cannot build against the installed loopfetch ($flags)"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/use" "$version" ||
  fail "the program built against loopfetch failed"
if command -v ldd >/dev/null 2>&1; then
  LD_LIBRARY_PATH="$libdir" ldd "$work/use" | grep -q "libloopfetch.*=> $libdir/" ||
    fail "the program did not load libloopfetch from $libdir"
fi

# Static library, if installed: its dependencies come from their own .pc files.
if [ -f "$libdir/libloopfetch.a" ]; then
  cflags=$(pc --cflags loopfetch) || fail "pkg-config --cflags loopfetch"
  # Its dependencies are those Requires and Requires.private name, linked shared: Debian ships
  # no static libraries for all of libcurl's own dependencies, so --static cannot link here.
  # shellcheck disable=SC2086 # $private: one word per package
  deps=$(pc --libs libuv $private) || fail "pkg-config --libs libuv $private"
  # shellcheck disable=SC2086
  "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "$work/use.c" \
    $cflags "$libdir/libloopfetch.a" $deps -o "$work/use_static" ||
    fail "cannot link the static library with $deps"
  "$work/use_static" "$version" || fail "the statically linked program failed"
fi

# The reference: docs/api.md and a section-3 man page per function, which man(1) can format.
[ -f "$prefix/share/doc/loopfetch/api.md" ] || fail "docs/api.md not installed"
for name in $(grep -v '^#' "$(dirname "$0")/abi/exported.txt") libloopfetch; do
  page="$prefix/share/man/man3/$name.3"
  [ -f "$page" ] || fail "no man page $page"
  if command -v groff >/dev/null 2>&1; then
    warn=$(groff -ww -z -man "$page" 2>&1) || fail "groff cannot format $page"
    [ -z "$warn" ] || fail "groff warns on $page: $warn"
  fi
done

# The examples, as an embedder would build them from the installed files alone.
built=0
if [ -n "$examples" ]; then
  for src in "$examples"/*.c; do
    [ -f "$src" ] || continue
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Wextra -Werror "$src" $flags -o "$work/$(basename "$src" .c)" ||
      fail "cannot build $src against the installed loopfetch"
    built=$((built + 1))
  done
  [ "$built" -gt 0 ] || fail "no example found in $examples"
fi

echo "PASS: pkg-config loopfetch $version from $prefix ($built examples built)"
exit 0
