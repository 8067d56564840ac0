/* Output names: from a URL to a safe, unique file name inside the output folder.
 *
 * lf__name_from_url() rules, applied to the last non-empty segment of the still-encoded path
 * (so "%2F" inside a segment never splits it), after percent-decoding it:
 *  - bytes < 0x20, 0x7f, C1 controls (U+0080..U+009F, they drive terminals when a name is
 *    printed), the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E,
 *    U+2066..U+2069: they make a name read as another, "x\u202Egpj.exe" as "xexe.jpg"), the
 *    line and paragraph separators U+2028, U+2029, and / \ : * ? " < > | become '_', so
 *    names also work on other file systems;
 *  - each byte that does not start a valid UTF-8 sequence (overlong, surrogate, above U+10FFFF,
 *    truncated, stray continuation) becomes '_', so the result is valid UTF-8;
 *  - every leading '.' becomes '_': no hidden files, never "." or "..", and no clash with the
 *    fetcher's temporaries (".lf-*.part");
 *  - a name starting with "loopfetch-" (any case) becomes "loopfetch_...": that prefix is the
 *    program's own (manifests, and the files it may add: see lf__name_unreserve);
 *  - no non-empty segment ("https://h/"): the host name, with the same rules;
 *  - the stem is cut on a character boundary to LF__STEM_MAX bytes and ".html" is appended
 *    unless it already ends so, which leaves LF__SUFFIX_ROOM bytes for the "~N" of
 *    lf__names_unique().
 * The query and fragment never take part. Dot segments are resolved by libcurl first, so
 * "https://h/a/.." names the host. Same URL, same name.
 *
 * lf__names_unique() rule: every name handed out (requested or generated) is recorded. A
 * requested name that is already recorded gets the smallest N >= 2 such that
 * "<stem>~N<ext>" is not recorded, where ext is the name's final extension (".html", ".gz",
 * or none) and stem the rest. So "X~2.html" requested after a generated "X~2.html" becomes
 * "X~2~2.html", and "X.html" requested after a real "X~2.html" skips to "X~3.html". If a
 * variant would exceed LF_NAME_MAX, the stem is cut on a character boundary.
 *
 * The set (nameset.c) keeps 8 bytes per name, not the names. The next N to try is remembered
 * per requested name, so k requests of the same name cost O(k) in total, not O(k^2). */
#define _POSIX_C_SOURCE 200809L
#include "names.h"

#include <curl/curl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "loopfetch.h"

#define LF__EXT ".html"
#define LF__EXT_LEN (sizeof(LF__EXT) - 1)
#define LF__SUFFIX_ROOM 10 /* "~" and up to 9 digits, added by lf__names_unique() */
#define LF__STEM_MAX (LF_NAME_MAX - LF__EXT_LEN - LF__SUFFIX_ROOM) /* 240 */
#define LF__EXT_MAX 16 /* a longer "extension" is treated as part of the stem */

/* ---------------------------------------------------------------------------------------------
 * From a URL to a name
 * ------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4;
  else
    return 0; /* continuation byte, overlong lead C0/C1, or F5..FF */
  if (c == 0xE0)
    lo = 0xA0; /* overlong 3-byte form */
  else if (c == 0xED)
    hi = 0x9F; /* UTF-16 surrogates */
  else if (c == 0xF0)
    lo = 0x90; /* overlong 4-byte form */
  else if (c == 0xF4)
    hi = 0x8F; /* above U+10FFFF */
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}

/* Invisible characters that reorder or break the text around them when a name is shown:
 * the bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE shows "evil\u202Egpj.exe" as
 * "evilexe.jpg"), U+061C ARABIC LETTER MARK, and the line and paragraph separators. */
static int is_bidi_or_separator(const unsigned char *s, size_t len) {
  if (len == 2) return s[0] == 0xD8 && s[1] == 0x9C; /* U+061C */
  if (len != 3 || s[0] != 0xE2) return 0;
  if (s[1] == 0x80) /* U+200E, U+200F; U+2028..U+202E */
    return s[2] == 0x8E || s[2] == 0x8F || (s[2] >= 0xA8 && s[2] <= 0xAE);
  return s[1] == 0x81 && s[2] >= 0xA6 && s[2] <= 0xA9; /* U+2066..U+2069 isolates */
}

/* A character (len bytes at s) that must not appear in a name. */
static int is_unsafe(const unsigned char *s, size_t len) {
  if (len == 1) return s[0] < 0x20 || s[0] == 0x7F || strchr("/\\:*?\"<>|", s[0]) != NULL;
  if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0) return 1; /* C1 controls */
  return is_bidi_or_separator(s, len);
}

/* Writes the safe form of in[0..n) to out, at most LF__STEM_MAX bytes, cut between characters
 * (a character that does not fit ends the stem). Returns its length. */
static size_t make_stem(const char *in, size_t n, char *out) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i = 0, o = 0;
  while (i < n) {
    size_t len = utf8_seq_len(s + i, n - i);
    const char *unit = in + i;
    size_t ulen = len;
    if (len == 0 || is_unsafe(s + i, len)) {
      unit = "_";
      ulen = 1;
    }
    if (o + ulen > LF__STEM_MAX) break;
    memcpy(out + o, unit, ulen);
    o += ulen;
    i += len ? len : 1; /* an invalid byte is replaced alone; resync on the next one */
  }
  for (size_t k = 0; k < o && out[k] == '.'; k++)
    out[k] = '_';
  lf__name_unreserve(out, o);
  return o;
}

void lf__name_unreserve(char *name, size_t len) {
  size_t n = sizeof(LF_RESERVED_PREFIX) - 1;
  if (len >= n && strncasecmp(name, LF_RESERVED_PREFIX, n) == 0) name[n - 1] = '_';
}

static int map_urlcode(CURLUcode rc) {
  if (rc == CURLUE_OK) return 0;
  return rc == CURLUE_OUT_OF_MEMORY ? LF_ENOMEM : LF_EURL;
}

/* Percent-decodes the last non-empty segment of the raw path into *out (curl_free it), or
 * leaves *out NULL if every segment is empty. */
static int decode_last_segment(const char *path, char **out, size_t *outlen) {
  size_t end = strlen(path), start;
  int len;
  while (end > 0 && path[end - 1] == '/')
    end--;
  start = end;
  while (start > 0 && path[start - 1] != '/')
    start--;
  if (start == end) return 0;
  if (end - start > INT_MAX) return LF_EURL;
  /* libcurl 7.88 accepts a NULL handle here; it returns NULL only when out of memory. */
  *out = curl_easy_unescape(NULL, path + start, (int)(end - start), &len);
  if (!*out) return LF_ENOMEM;
  *outlen = (size_t)len;
  return 0;
}

/* The host name into *out (curl_free it), or NULL for URLs without one (file:///x). */
static int get_host(CURLU *u, char **out) {
  CURLUcode rc = curl_url_get(u, CURLUPART_HOST, out, 0);
  if (rc == CURLUE_NO_HOST) {
    *out = NULL;
    return 0;
  }
  return map_urlcode(rc);
}

/* A segment that already ends in ".html" keeps it: "p0.html", not "p0.html.html". */
static int has_ext(const char *stem, size_t len) {
  return len > LF__EXT_LEN && memcmp(stem + len - LF__EXT_LEN, LF__EXT, LF__EXT_LEN) == 0;
}

enum { KIND_OTHER = 0, KIND_HTML = 1, KIND_HTM = 2 }; /* what the stem ends in */

static int finish_name(const char *src, size_t n, char *buf, int *kind) {
  size_t len = src ? make_stem(src, n, buf) : 0;
  if (len == 0) return LF_ENAME;
  *kind = has_ext(buf, len)                                  ? KIND_HTML
          : len > 4 && memcmp(buf + len - 4, ".htm", 4) == 0 ? KIND_HTM
                                                             : KIND_OTHER;
  if (*kind == KIND_HTML)
    buf[len] = '\0';
  else
    memcpy(buf + len, LF__EXT, LF__EXT_LEN + 1);
  return 0;
}

static int derive(CURLU *u, char *buf, int *kind) {
  char *path = NULL, *seg = NULL, *host = NULL;
  size_t seglen = 0;
  int err = map_urlcode(curl_url_get(u, CURLUPART_PATH, &path, 0));
  if (!err) err = decode_last_segment(path, &seg, &seglen);
  if (!err && !seg) err = get_host(u, &host);
  if (!err)
    err = seg ? finish_name(seg, seglen, buf, kind)
              : finish_name(host, host ? strlen(host) : 0, buf, kind);
  curl_free(seg);
  curl_free(host);
  curl_free(path);
  return err;
}

int lf__name_from_curlu(CURLU *u, char *buf, size_t buflen) {
  int kind;
  if (!u || !buf || buflen < LF_NAME_MAX + 1) return LF_EINVAL;
  return derive(u, buf, &kind);
}

int lf__name_for_reply(const char *url, const char *reserved, int is_html, char *out,
                       size_t outlen) {
  char buf[LF_NAME_MAX + 1];
  int kind = KIND_OTHER;
  size_t len = reserved ? strlen(reserved) : 0;
  /* reserved may be a --layout path ("ab/cd/X.html"): only its end matters here. */
  if (!url || !out || len == 0 || outlen < len + 1) return LF_EINVAL;
  /* The common case, an HTML reply to a name without ".htm" in it, keeps the name as it is:
   * no need to parse the URL again (a few microseconds a page at 10,000 pages a second). */
  if (is_html && !strstr(reserved, ".htm")) {
    memmove(out, reserved, len + 1);
    return 0;
  }
  CURLU *u = curl_url();
  if (!u) return LF_ENOMEM;
  int err = map_urlcode(curl_url_set(u, CURLUPART_URL, url, 0));
  if (!err) err = derive(u, buf, &kind);
  curl_url_cleanup(u);
  if (err) return err;
  memmove(out, reserved, len + 1);
  /* The ".html" the reservation added comes off for a reply that is not HTML, and for a URL
   * name ending in ".htm"; a URL name ending in ".html" keeps it whatever the reply. */
  if (kind != KIND_HTML && (kind == KIND_HTM || !is_html) && has_ext(out, len))
    out[len - LF__EXT_LEN] = '\0';
  return 0;
}

/* Percent-decodes s[0..n) (RFC 5987 ext-value) into a curl_free()d string. */
static char *unescape(const char *s, size_t n, size_t *outlen) {
  int len = 0;
  char *r = n <= INT_MAX ? curl_easy_unescape(NULL, s, (int)n, &len) : NULL;
  *outlen = r ? (size_t)len : 0;
  return r;
}

/* The value of parameter `name` (filename or filename*) in a Content-Disposition header, as a
 * pointer into h and a length, quotes removed. 0 if absent. */
static int disposition_param(const char *h, const char *name, const char **val, size_t *n) {
  size_t nl = strlen(name);
  for (const char *p = strchr(h, ';'); p; p = strchr(p + 1, ';')) {
    const char *q = p + 1;
    while (*q == ' ' || *q == '\t')
      q++;
    if (strncasecmp(q, name, nl) != 0) continue;
    q += nl;
    while (*q == ' ' || *q == '\t')
      q++;
    if (*q++ != '=') continue;
    while (*q == ' ' || *q == '\t')
      q++;
    if (*q == '"') {
      const char *end = strchr(++q, '"');
      *val = q;
      *n = end ? (size_t)(end - q) : strlen(q);
    } else {
      *val = q;
      *n = strcspn(q, "; \t");
    }
    return 1;
  }
  return 0;
}

int lf__name_from_disposition(const char *header, char *buf, size_t buflen) {
  const char *v, *src = NULL;
  size_t n = 0, len = 0;
  char *decoded = NULL;
  if (!header || !buf || buflen < LF_NAME_MAX + 1) return LF_EINVAL;
  /* filename*=UTF-8''percent-encoded wins over filename="..." (RFC 6266). */
  if (disposition_param(header, "filename*", &v, &n) && n > 6 && strncasecmp(v, "utf-8'", 6) == 0) {
    const char *tick = memchr(v + 6, '\'', n - 6); /* after the language */
    if (tick) decoded = unescape(tick + 1, n - (size_t)(tick + 1 - v), &len);
    src = decoded;
  }
  if (!src && disposition_param(header, "filename", &v, &n)) {
    src = v;
    len = n;
  }
  if (!src) return LF_ENAME;
  /* Never a path: only what follows the last slash or backslash. */
  for (size_t i = len; i > 0; i--)
    if (src[i - 1] == '/' || src[i - 1] == '\\') {
      src += i;
      len -= i;
      break;
    }
  size_t out = make_stem(src, len, buf);
  buf[out] = '\0';
  curl_free(decoded);
  return out ? 0 : LF_ENAME;
}

int lf__name_from_url(const char *url, char *buf, size_t buflen) {
  if (!url || !buf || buflen < LF_NAME_MAX + 1) return LF_EINVAL;
  CURLU *u = curl_url();
  if (!u) return LF_ENOMEM;
  int err = map_urlcode(curl_url_set(u, CURLUPART_URL, url, 0));
  if (!err) err = lf__name_from_curlu(u, buf, buflen);
  curl_url_cleanup(u);
  return err;
}

/* ---------------------------------------------------------------------------------------------
 * Variants of a name (the set that hands them out is in nameset.c)
 * ------------------------------------------------------------------------------------------- */

/* Length of name's final extension including its '.', or 0 (none, a leading dot, too long). */
static size_t ext_len(const char *name, size_t len) {
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name || (size_t)(name + len - dot) > LF__EXT_MAX) return 0;
  return (size_t)(name + len - dot);
}

/* Writes "<stem>~n<ext>" for name to out, cutting the stem so the result fits LF_NAME_MAX. */
void lf__name_variant(const char *name, size_t len, unsigned long n, char *out) {
  char suffix[24];
  size_t ext = ext_len(name, len), stem = len - ext, slen, room;
  slen = (size_t)snprintf(suffix, sizeof suffix, "~%lu", n);
  room = LF_NAME_MAX - ext - slen; /* > 0: ext <= 16 and slen <= 21 */
  if (stem > room) {
    /* Back off over continuation bytes so no character is split (at most 3 in UTF-8). */
    stem = room;
    while (stem > 0 && room - stem < 3 && ((unsigned char)name[stem] & 0xC0) == 0x80)
      stem--;
  }
  memcpy(out, name, stem);
  memcpy(out + stem, suffix, slen);
  memcpy(out + stem + slen, name + len - ext, ext + 1);
}
