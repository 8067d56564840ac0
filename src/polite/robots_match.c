/* robots.txt paths: both sides normalised alike (RFC 9309 2.2.2), then matched with '*' and '$'
 * (2.2.3). Percent-escapes of unreserved characters mean the character itself (RFC 3986 2.3),
 * so "/%62az" and "/baz" are one path; other escapes are kept, in upper case, so that "%2F" is
 * never "/" nor "%2A" a wildcard; a '%' that starts no escape is "%25". Bytes outside printable
 * ASCII are escaped, so a rule written
 * in UTF-8 ("/ツ") matches the URL as sent ("/%E3%83%84"). */
#include "robots.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/* Writes the normalised form of s[0..n) to out (at least 3 * n + 1 bytes). pattern: '*' is a
 * wildcard and a final '$' the anchor; otherwise both are literal characters. */
static size_t normalise(const char *s, size_t n, int pattern, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
        hexval((unsigned char)s[i + 2]) >= 0) {
      unsigned v =
          (unsigned)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
      i += 2;
      if (unreserved((unsigned char)v)) {
        out[o++] = (char)v;
      } else {
        out[o++] = '%';
        out[o++] = hex[v >> 4];
        out[o++] = hex[v & 15];
      }
      continue;
    }
    if (pattern && c == '*') {
      if (o == 0 || out[o - 1] != '*') /* "a**b" is "a*b": no more to match, less to try */
        out[o++] = '*';
      continue;
    }
    if (pattern && c == '$' && i + 1 == n) {
      out[o++] = '$';
      continue;
    }
    if (c <= 0x20 || c >= 0x7f || c == '*' || c == '$' || c == '%') { /* a lone '%' too */
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
      continue;
    }
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return o;
}

char *lf__robots_norm_pattern(const char *pattern, size_t len) {
  if (len > (SIZE_MAX - 1) / 3) return NULL;
  char *out = malloc(3 * len + 1);
  if (out) normalise(pattern, len, 1, out);
  return out;
}

/* The path of url: after "scheme://authority" up to the fragment, or all of a string that
 * starts with '/' ("//x" too: a path, since the job asks with absolute URLs); "/" when empty,
 * and "/?q" when only a query follows the authority. */
static void url_path(const char *url, const char **start, size_t *len) {
  const char *p = url;
  const char *colon = strstr(url, "://");
  if (url[0] != '/' && colon && colon == url + strcspn(url, ":/?#")) {
    p = colon + 3;
    p += strcspn(p, "/?#");
  }
  *start = p;
  *len = strcspn(p, "#");
}

char *lf__robots_norm_url(const char *url) {
  const char *p;
  size_t n;
  url_path(url, &p, &n);
  if (n > (SIZE_MAX - 2) / 3) return NULL;
  char *out = malloc(3 * n + 2);
  if (!out) return NULL;
  size_t o = 0;
  if (n == 0 || p[0] != '/') out[o++] = '/';
  normalise(p, n, 0, out + o);
  return out;
}

/* '*' matches any run of bytes; the pattern matches a prefix of the path, or all of it when it
 * ends in '$'. Greedy with a return to the last '*' (the one that can still give way): what an
 * earlier '*' matched never needs to change, so this is O(n * m) at worst, never exponential. */
int lf__robots_match(const char *s, size_t n, const char *p, size_t m) {
  int anchored = m > 0 && p[m - 1] == '$';
  if (anchored) m--;
  size_t i = 0, j = 0, star = SIZE_MAX, star_i = 0;
  for (;;) {
    if (j == m) {
      if (!anchored || i == n) return 1;
    } else if (p[j] == '*') {
      star = j++;
      star_i = i;
      continue;
    } else if (i < n && s[i] == p[j]) {
      i++;
      j++;
      continue;
    }
    if (star == SIZE_MAX || star_i >= n) return 0;
    j = star + 1;
    i = ++star_i;
  }
}
