/* Unit tests for src/store/names.c: URL to file name, and the set that makes names unique. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include "loopfetch.h"
#include "names.h"
#include "test.h"

/* Independent UTF-8 check: decodes each code point and rejects overlongs, surrogates, values
 * above U+10FFFF and truncated sequences. */
static int utf8_valid(const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  while (*s) {
    unsigned long cp;
    int extra;
    if (*s < 0x80)
      extra = 0, cp = *s;
    else if ((*s & 0xE0) == 0xC0)
      extra = 1, cp = *s & 0x1F;
    else if ((*s & 0xF0) == 0xE0)
      extra = 2, cp = *s & 0x0F;
    else if ((*s & 0xF8) == 0xF0)
      extra = 3, cp = *s & 0x07;
    else
      return 0;
    for (int i = 1; i <= extra; i++) {
      if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
      cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const unsigned long min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    s += extra + 1;
  }
  return 1;
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* No '/', no byte < 0x20, no 0x7f, not hidden, valid UTF-8, fits, ends in ".html". */
static int name_is_safe(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7F || *p == '/') return 0;
  return s[0] != '.' && utf8_valid(s) && strlen(s) <= LF_NAME_MAX && ends_with(s, ".html");
}

/* Name for url, or "ERR<code>" so a failed call shows up in CHECK_EQ_STR. */
static const char *name_of(const char *url) {
  static char buf[LF_NAME_MAX + 1];
  int err = lf__name_from_url(url, buf, sizeof buf);
  if (err) snprintf(buf, sizeof buf, "ERR%d", err);
  return buf;
}

static void check_name(const char *url, const char *want) {
  const char *got = name_of(url);
  CHECK_EQ_STR(got, want);
  CHECK(name_is_safe(got));
}

static void test_utf8_checker(void) {
  CHECK(utf8_valid("abc \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK(!utf8_valid("\xC3"));
  CHECK(!utf8_valid("\xC0\xAF"));
  CHECK(!utf8_valid("\xED\xA0\x80"));
  CHECK(!utf8_valid("\xF4\x90\x80\x80"));
  CHECK(!utf8_valid("\xFF"));
  CHECK(!utf8_valid("\x80"));
}

static void test_simple(void) {
  check_name("https://en.wikipedia.org/wiki/Paris", "Paris.html");
  check_name("https://h/wiki/C%C3%B4te_d%27Ivoire", "C\xC3\xB4te_d'Ivoire.html");
  check_name("https://h/wiki/Mercury_(planet)", "Mercury_(planet).html");
  check_name("https://h/wiki/Mercury_%28planet%29", "Mercury_(planet).html");
  check_name("https://h/wiki/\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9.html"); /* raw UTF-8 */
  check_name("https://h/a+b%20c", "a+b c.html"); /* '+' is not a space in a path */
  /* Same URL, same name. */
  char first[LF_NAME_MAX + 1];
  snprintf(first, sizeof first, "%s", name_of("https://h/x/Some%20Page"));
  CHECK_EQ_STR(name_of("https://h/x/Some%20Page"), first);
}

static void test_separators(void) {
  check_name("https://h/wiki/AC%2FDC", "AC_DC.html");
  check_name("https://h/wiki/AC%2fDC", "AC_DC.html");
  CHECK(strchr(name_of("https://h/a%2F..%2F..%2Fetc%2Fpasswd"), '/') == NULL);
  check_name("https://h/a%5Cb", "a_b.html");
  check_name("https://h/a\\b", "a_b.html");
  check_name("https://h/a%3Ab%2Ac%3Fd%22e%3Cf%3Eg%7Ch", "a_b_c_d_e_f_g_h.html");
  check_name("https://h/a:b*c|d", "a_b_c_d.html");
}

/* libcurl 8.13 and later resolve percent-encoded dot segments too (so "a/%2E%2E" is the
 * host); older ones hand them to us, and we neutralise the dots. Either is safe. */
static void check_either(const char *url, const char *old_curl, const char *new_curl) {
  const char *got = name_of(url);
  CHECK(strcmp(got, old_curl) == 0 || strcmp(got, new_curl) == 0);
}

static void test_html_extension(void) {
  check_name("https://h/small/p0.html", "p0.html");
  check_name("https://h/small/P0.Html", "P0.Html.html"); /* only the exact extension counts */
  check_name("https://h/x.htm", "x.htm.html");
  check_name("https://h/.html", "_html.html"); /* the leading dot goes first */
}

static void test_dots(void) {
  check_either("https://h/a/%2E%2E", "__.html", "h.html");
  check_either("https://h/a/%2e", "_.html", "a.html");
  check_name("https://h/.hidden", "_hidden.html");
  check_name("https://h/%2Ehidden", "_hidden.html");
  check_name("https://h/...x.y", "___x.y.html");
  check_name("https://h/a.b", "a.b.html"); /* only leading dots change */
  /* libcurl resolves dot segments before we see the path. */
  check_name("https://h/a/..", "h.html");
  check_name("https://h/a/.", "a.html");
  check_name("https://h/a/b/../c", "c.html");
}

static void test_controls(void) {
  check_name("https://h/a%00b%01c%7Fd%1Fe%0Af%0Dg%09h", "a_b_c_d_e_f_g_h.html");
  check_name("https://h/%00", "_.html");
  check_name("https://h/x%C2%9By%C2%80z", "x_y_z.html"); /* C1 controls (CSI) */
  check_name("https://h/x%C2%A0y", "x\xC2\xA0y.html");   /* U+00A0 is not a control */
}

/* Bidirectional controls and separators make a name read as another (issue 28, "U+202E in
 * file names"): they become '_' like the other controls. */
static void test_bidi(void) {
  check_name("https://h/evil%E2%80%AEgpj.exe", "evil_gpj.exe.html"); /* U+202E */
  check_name("https://h/a%E2%80%AAb%E2%80%ABc%E2%80%ACd%E2%80%ADe", "a_b_c_d_e.html");
  check_name("https://h/a%E2%81%A6b%E2%81%A7c%E2%81%A8d%E2%81%A9e", "a_b_c_d_e.html");
  check_name("https://h/a%E2%80%8Eb%E2%80%8Fc%D8%9Cd", "a_b_c_d.html");
  check_name("https://h/a%E2%80%A8b%E2%80%A9c", "a_b_c.html");
  /* Neighbours stay: U+2027, U+202F, U+2065, U+206A, U+061B, Arabic and Hebrew letters. */
  check_name("https://h/%E2%80%A7%E2%80%AF%E2%81%A5%E2%81%AA%D8%9B%D8%A8%D7%90",
             "\xE2\x80\xA7\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA\xD8\x9B\xD8\xA8\xD7\x90.html");
}

/* The program's own names (issue 28, item 1): a page never takes loopfetch-* in any case. */
static void test_reserved(void) {
  check_name("https://h/loopfetch-manifest.jsonl", "loopfetch_manifest.jsonl.html");
  check_name("https://h/LoopFetch-Manifest.2-of-4.jsonl", "LoopFetch_Manifest.2-of-4.jsonl.html");
  check_name("https://h/.loopfetch-x", "_loopfetch-x.html"); /* no longer the prefix */
  check_name("https://h/my-loopfetch-x", "my-loopfetch-x.html");
  check_name("https://loopfetch-manifest.jsonl/", "loopfetch_manifest.jsonl.html");
  char buf[LF_NAME_MAX + 1];
  CHECK_EQ_INT(lf__name_from_disposition("attachment; filename=\"loopfetch-manifest.jsonl\"", buf,
                                         sizeof(buf)),
               0);
  CHECK_EQ_STR(buf, "loopfetch_manifest.jsonl");
  CHECK_EQ_INT(
      lf__name_from_disposition("attachment; filename*=UTF-8''LOOPFETCH-lock", buf, sizeof(buf)),
      0);
  CHECK_EQ_STR(buf, "LOOPFETCH_lock");
  CHECK_EQ_INT(
      lf__name_from_disposition("attachment; filename=\"x/.lf-1-2.part\"", buf, sizeof(buf)), 0);
  CHECK_EQ_STR(buf, "_lf-1-2.part");
}

static void test_segments(void) {
  check_name("https://h/a/b/", "b.html");
  check_name("https://h/a/b//", "b.html");
  check_name("https://h//a//", "a.html");
  check_name("https://example.org/", "example.org.html");
  check_name("https://example.org", "example.org.html");
  check_name("https://example.org//", "example.org.html");
  check_name("https://example.org:8080/", "example.org.html");
  check_name("https://[::1]/", "[__1].html");
  check_name("https://h/page?id=1&x=/y/z", "page.html");
  check_name("https://h/dir/?q=a/b", "dir.html");
  check_name("https://h/?q=a/b", "h.html");
  check_name("https://h/p#frag/x", "p.html");
}

static void test_invalid_utf8(void) {
  check_name("https://h/a%FFb", "a_b.html");
  check_name("https://h/a%C3", "a_.html");
  check_name("https://h/%C3a", "_a.html");
  check_name("https://h/x%C0%AFy", "x__y.html");                 /* overlong '/' */
  check_name("https://h/x%E0%80%AFy", "x___y.html");             /* overlong, 3 bytes */
  check_name("https://h/x%ED%A0%80y", "x___y.html");             /* surrogate U+D800 */
  check_name("https://h/x%F4%90%80%80y", "x____y.html");         /* above U+10FFFF */
  check_name("https://h/x%F0%8F%BF%BFy", "x____y.html");         /* overlong, 4 bytes */
  check_name("https://h/x%80%BFy", "x__y.html");                 /* stray continuation bytes */
  check_name("https://h/x%E2%82y", "x__y.html");                 /* truncated 3-byte sequence */
  check_name("https://h/%F0%9F%98%80", "\xF0\x9F\x98\x80.html"); /* valid 4-byte kept */
}

/* Builds "https://h/" + prefix + rep repeated n times. */
static char *long_url(const char *prefix, const char *rep, int n) {
  size_t len = strlen("https://h/") + strlen(prefix) + strlen(rep) * (size_t)n + 1;
  char *url = malloc(len), *p;
  if (!url) abort();
  p = url + sprintf(url, "https://h/%s", prefix);
  for (int i = 0; i < n; i++)
    p += sprintf(p, "%s", rep);
  return url;
}

/* The name for url has a stem of exactly stem_len bytes and stays unique-able. */
static void check_long(const char *url, size_t stem_len) {
  const char *name = name_of(url);
  char copy[LF_NAME_MAX + 1], out[LF_NAME_MAX + 1];
  lf__names_t *set = NULL;
  CHECK(name_is_safe(name));
  CHECK_EQ_INT(strlen(name), stem_len + 5);
  snprintf(copy, sizeof copy, "%s", name);
  CHECK_EQ_INT(lf__names_new(&set), 0);
  if (!set) return;
  for (int i = 1; i <= 3; i++) {
    CHECK_EQ_INT(lf__names_unique(set, copy, out, sizeof out), 0);
    CHECK(name_is_safe(out));
    CHECK_EQ_INT(strncmp(out, copy, stem_len), 0); /* the whole stem survives the "~N" */
  }
  CHECK(ends_with(out, "~3.html"));
  lf__names_free(set);
}

static void test_long(void) {
  char *url = long_url("", "a", 300);
  check_long(url, 240);
  free(url);
  url = long_url("a", "%C3%A9", 300); /* 1 + 2k <= 240: 119 x e-acute, 239 bytes */
  check_long(url, 239);
  CHECK(ends_with(name_of(url), "\xC3\xA9.html"));
  free(url);
  url = long_url("ab", "%F0%9F%98%80", 100); /* 2 + 4k <= 240: 59 emoji, 238 bytes */
  check_long(url, 238);
  free(url);
  url = long_url("", "%E2%82%AC", 300); /* 3k <= 240: exactly 80 euro signs */
  check_long(url, 240);
  free(url);
}

/* Names not made by lf__name_from_url may be 255 bytes already: the variant is cut. */
static void test_unique_full_length(void) {
  char name[LF_NAME_MAX + 1], out[LF_NAME_MAX + 1];
  lf__names_t *set = NULL;
  size_t n = 0;
  n += (size_t)sprintf(name, "b");
  while (n + 2 <= LF_NAME_MAX - 5)
    n += (size_t)sprintf(name + n, "\xC3\xA9"); /* "b" + 124 x e-acute = 249 bytes */
  n += (size_t)sprintf(name + n, "x.html");     /* 255 */
  CHECK_EQ_INT(strlen(name), LF_NAME_MAX);
  CHECK_EQ_INT(lf__names_new(&set), 0);
  if (!set) return;
  CHECK_EQ_INT(lf__names_unique(set, name, out, sizeof out), 0);
  CHECK_EQ_STR(out, name);
  CHECK_EQ_INT(lf__names_unique(set, name, out, sizeof out), 0);
  CHECK(name_is_safe(out));
  CHECK(ends_with(out, "~2.html"));
  /* 255 - 7 = 248 bytes of stem would split an e-acute; the cut backs off to 247. */
  CHECK_EQ_INT(strlen(out), LF_NAME_MAX - 1);
  CHECK(ends_with(out, "\xC3\xA9~2.html"));
  lf__names_free(set);
}

/* Feeds names in order and compares each result with the expected one. */
static void check_sequence(const char *const *in, const char *const *want, int n) {
  lf__names_t *set = NULL;
  char out[LF_NAME_MAX + 1];
  CHECK_EQ_INT(lf__names_new(&set), 0);
  if (!set) return;
  for (int i = 0; i < n; i++) {
    CHECK_EQ_INT(lf__names_unique(set, in[i], out, sizeof out), 0);
    CHECK_EQ_STR(out, want[i]);
  }
  lf__names_free(set);
}

static void test_collisions(void) {
  const char *three[] = {"X.html", "X.html", "X.html"};
  const char *three_w[] = {"X.html", "X~2.html", "X~3.html"};
  check_sequence(three, three_w, 3);
  /* A real "X~2.html" after the generated one, and again. */
  const char *late[] = {"X.html", "X.html", "X~2.html", "X~2.html", "X.html"};
  const char *late_w[] = {"X.html", "X~2.html", "X~2~2.html", "X~2~3.html", "X~3.html"};
  check_sequence(late, late_w, 5);
  /* A real "Y~2.html" first: the generated variant skips it. */
  const char *early[] = {"Y~2.html", "Y.html", "Y.html", "Y~3.html"};
  const char *early_w[] = {"Y~2.html", "Y.html", "Y~3.html", "Y~3~2.html"};
  check_sequence(early, early_w, 4);
  /* Other extensions, and none. */
  const char *ext[] = {"README", "README", "a.tar.gz", "a.tar.gz", ".rc", ".rc"};
  const char *ext_w[] = {"README", "README~2", "a.tar.gz", "a.tar~2.gz", ".rc", ".rc~2"};
  check_sequence(ext, ext_w, 6);
  /* Case matters (Linux file names do). */
  const char *cs[] = {"a.html", "A.html"};
  check_sequence(cs, cs, 2);
}

static void test_unique_misc(void) {
  lf__names_t *set = NULL;
  char buf[LF_NAME_MAX + 1], big[LF_NAME_MAX + 2];
  CHECK_EQ_INT(lf__names_new(NULL), LF_EINVAL);
  CHECK_EQ_INT(lf__names_new(&set), 0);
  if (!set) return;
  /* out may be the same buffer as name. */
  snprintf(buf, sizeof buf, "same.html");
  CHECK_EQ_INT(lf__names_unique(set, buf, buf, sizeof buf), 0);
  CHECK_EQ_STR(buf, "same.html");
  CHECK_EQ_INT(lf__names_unique(set, buf, buf, sizeof buf), 0);
  CHECK_EQ_STR(buf, "same~2.html");
  CHECK_EQ_INT(lf__names_unique(set, "", buf, sizeof buf), LF_EINVAL);
  CHECK_EQ_INT(lf__names_unique(set, NULL, buf, sizeof buf), LF_EINVAL);
  CHECK_EQ_INT(lf__names_unique(NULL, "a", buf, sizeof buf), LF_EINVAL);
  CHECK_EQ_INT(lf__names_unique(set, "a", buf, LF_NAME_MAX), LF_EINVAL);
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0'; /* 256 bytes: too long */
  CHECK_EQ_INT(lf__names_unique(set, big, buf, sizeof buf), LF_EINVAL);
  lf__names_free(set);
  lf__names_free(NULL);
}

/* 40,000 distinct names, then each again, then 40,000 copies of one name: the set merges its
 * recent names into the sorted array many times (every 16,384) and every lookup must still
 * find what was recorded before. */
static void test_many(void) {
  enum { N = 40000 };
  lf__names_t *set = NULL;
  char in[64], want[64], out[LF_NAME_MAX + 1];
  int bad_first = 0, bad_again = 0, bad_same = 0;
  CHECK_EQ_INT(lf__names_new(&set), 0);
  if (!set) return;
  for (int i = 0; i < N; i++) {
    snprintf(in, sizeof in, "n%d.html", i);
    if (lf__names_unique(set, in, out, sizeof out) != 0 || strcmp(out, in) != 0) bad_first++;
  }
  for (int i = 0; i < N; i++) {
    snprintf(in, sizeof in, "n%d.html", i);
    snprintf(want, sizeof want, "n%d~2.html", i);
    if (lf__names_unique(set, in, out, sizeof out) != 0 || strcmp(out, want) != 0) bad_again++;
  }
  for (int i = 1; i <= N; i++) {
    if (i == 1)
      snprintf(want, sizeof want, "same.html");
    else
      snprintf(want, sizeof want, "same~%d.html", i);
    if (lf__names_unique(set, "same.html", out, sizeof out) != 0 || strcmp(out, want) != 0)
      bad_same++;
  }
  CHECK_EQ_INT(bad_first, 0);
  CHECK_EQ_INT(bad_again, 0);
  CHECK_EQ_INT(bad_same, 0);
  /* Long names fill the entry blocks unevenly: none may be cut or overlap another. */
  char long_in[LF_NAME_MAX + 1], long_want[LF_NAME_MAX + 1];
  int bad_long = 0;
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 2000; i++) {
      int len = 200 + i % 50;
      memset(long_in, 'a' + i % 26, (size_t)len);
      snprintf(long_in + len - 10, 11, "%05d.html", i);
      if (round == 0)
        snprintf(long_want, sizeof long_want, "%s", long_in);
      else
        snprintf(long_want, sizeof long_want, "%.*s~2.html", len - 5, long_in);
      if (lf__names_unique(set, long_in, out, sizeof out) != 0 || strcmp(out, long_want) != 0)
        bad_long++;
    }
  CHECK_EQ_INT(bad_long, 0);
  lf__names_free(set);
}

static void test_errors(void) {
  char buf[LF_NAME_MAX + 1];
  CHECK_EQ_STR(name_of("not a url"), "ERR-30009");
  CHECK_EQ_INT(lf__name_from_url("not a url", buf, sizeof buf), LF_EURL);
  CHECK_EQ_INT(lf__name_from_url("", buf, sizeof buf), LF_EURL);
  CHECK_EQ_INT(lf__name_from_url("https://h/a b", buf, sizeof buf), LF_EURL);
  CHECK_EQ_INT(lf__name_from_url("http://[::1/x", buf, sizeof buf), LF_EURL);
  CHECK_EQ_INT(lf__name_from_url("/relative/path", buf, sizeof buf), LF_EURL);
  CHECK_EQ_INT(lf__name_from_url("file:///", buf, sizeof buf), LF_ENAME);
  CHECK_EQ_INT(lf__name_from_url(NULL, buf, sizeof buf), LF_EINVAL);
  CHECK_EQ_INT(lf__name_from_url("https://h/a", NULL, sizeof buf), LF_EINVAL);
  CHECK_EQ_INT(lf__name_from_url("https://h/a", buf, LF_NAME_MAX), LF_EINVAL);
  check_name("file:///tmp/x", "x.html"); /* no host needed when there is a segment */
}

int main(void) {
  test_utf8_checker();
  test_simple();
  test_separators();
  test_dots();
  test_html_extension();
  test_controls();
  test_bidi();
  test_reserved();
  test_segments();
  test_invalid_utf8();
  test_long();
  test_unique_full_length();
  test_collisions();
  test_unique_misc();
  test_many();
  test_errors();
  return lf_test_report();
}
