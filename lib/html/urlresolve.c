/* Resolving an href to the absolute URL a browser would request (WHATWG URL standard), with
 * libcurl's URL API doing the resolution proper.
 *
 * Clean-up before parsing, as browsers do:
 *  - leading/trailing spaces and controls are trimmed, tabs and newlines inside are dropped;
 *  - the fragment is cut off before anything else (it never reaches the server);
 *  - '\' before the query becomes '/', as browsers do for http(s);
 *  - outside the host part, spaces, controls, non-ASCII bytes and a few unsafe ASCII characters
 *    are percent-encoded with uppercase hex, while '%' is left alone so existing %XX escapes
 *    pass through unchanged (`/wiki/Côte_d'Ivoire` becomes `/wiki/C%C3%B4te_d'Ivoire`).
 *    The path is encoded as UTF-8, the query in the page's encoding (encoding.h), as browsers
 *    do. We encode ourselves instead of passing CURLU_URLENCODE because libcurl 7.88 writes
 *    lowercase hex and turns spaces in the query into '+' (and without that flag it keeps
 *    raw non-ASCII bytes in absolute URLs while encoding them in relative ones);
 *  - an empty or fragment-only href means the base itself: libcurl would resolve "" and "#x"
 *    like a path segment ("dir/"), so those skip libcurl's relative resolution;
 *  - the host is lowercased (ASCII only) and a default port dropped, so equal URLs compare
 *    equal. Non-ASCII host names stay UTF-8 rather than punycode: with libcurl 7.88,
 *    CURLU_PUNYCODE failed for every such name we tried, reporting it as out of memory.
 *
 * Where libcurl 7.88 and the URL standard disagree, the href is rewritten before libcurl sees
 * it (or the result after), so that libcurl only ever gets forms on which both agree:
 *  - `12:30.html`, `-a:b`: not a scheme (a scheme starts with a letter), so a relative path
 *    whose first segment holds a colon; libcurl drops them. Written `./12:30.html`.
 *  - `http:/x`, `http:x`, `http:?q`, `http:` on an http page: the standard reads a special
 *    scheme equal to the base's as a relative reference (`/x` on the page's host); libcurl
 *    takes `/x` for a host or fails. The scheme is cut off.
 *  - `https:host/x`, `https:///host` (scheme other than the base's, or any number of slashes):
 *    the standard skips the slashes and reads a host; libcurl fails. Written `https://host/x`.
 *  - `%2e` and `%2E` in a path segment are dots for the standard (`/a/%2e%2e/b` is `/b`);
 *    libcurl keeps them. Rewritten to '.' in segments made only of dots.
 *  - `/p?`: an empty query is still a query for the standard; libcurl drops the '?'. Added
 *    back to the result.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "urlresolve.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "loopfetch.h"

static int is_http_scheme(const char *s, size_t n) {
  return (n == 4 && lf__ascii_caseeq_n(s, "http", 4)) ||
         (n == 5 && lf__ascii_caseeq_n(s, "https", 5));
}

/* Length of the scheme if s starts with one followed by ':' (a letter, then letters, digits,
 * '+', '-', '.'), else 0. */
static size_t scheme_len(const char *s) {
  unsigned char c = (unsigned char)s[0];
  if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return 0;
  size_t i = 1;
  for (c = (unsigned char)s[i]; c; c = (unsigned char)s[++i]) {
    int alnum = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '+' && c != '-' && c != '.') break;
  }
  return s[i] == ':' ? i : 0;
}

/* Browser clean-up before parsing: trim spaces and controls, drop tab/CR/LF anywhere, cut the
 * fragment, and turn '\' into '/' before the query. Returns a new string or NULL (no memory). */
static char *prepare(const char *raw) {
  size_t len = strlen(raw);
  while (len && (unsigned char)raw[len - 1] <= 0x20)
    len--;
  while (len && (unsigned char)*raw <= 0x20) {
    raw++;
    len--;
  }
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t n = 0;
  int in_query = 0;
  for (size_t i = 0; i < len && raw[i] != '#'; i++) {
    char c = raw[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    in_query |= c == '?';
    out[n++] = (c == '\\' && !in_query) ? '/' : c;
  }
  out[n] = '\0';
  return out;
}

/* "scheme:" + rest: relative when the base has the same scheme and rest does not start with
 * "//", else "scheme://" + rest without its leading slashes (see the top of the file). */
static char *special_scheme(CURLU *base, const char *p, size_t n) {
  const char *rest = p + n + 1;
  char *bs = NULL;
  int same = base && !curl_url_get(base, CURLUPART_SCHEME, &bs, 0) && strlen(bs) == n &&
             lf__ascii_caseeq_n(bs, p, n);
  curl_free(bs);
  if (same && strncmp(rest, "//", 2) != 0) return strdup(rest);
  while (*rest == '/')
    rest++;
  char *out = malloc(n + 3 + strlen(rest) + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++)
    out[i] = (char)lf__ascii_lower((unsigned char)p[i]);
  strcpy(out + n, "://");
  strcpy(out + n + 3, rest);
  return out;
}

/* A reference without scheme: "///h" is "//h" (extra slashes are skipped before a host), and a
 * first segment holding ':' gets "./" so that it cannot be taken for a scheme or a port. */
static char *no_scheme(const char *p) {
  if (p[0] == '/' && p[1] == '/') {
    while (p[2] == '/')
      p++;
    return strdup(p);
  }
  size_t seg = strcspn(p, "/?");
  if (!memchr(p, ':', seg)) return strdup(p);
  char *out = malloc(strlen(p) + 3);
  if (out) {
    memcpy(out, "./", 2);
    strcpy(out + 2, p);
  }
  return out;
}

/* Where the host part of s ends: "scheme://host" or "//host"; 0 when there is none. */
static size_t authority_end(const char *s) {
  size_t i = scheme_len(s);
  if (i) i++;
  if (s[i] != '/' || s[i + 1] != '/') return 0;
  for (i += 2; s[i] && s[i] != '/' && s[i] != '?'; i++)
    ;
  return i;
}

/* 1 for a segment that is ".", 2 for "..", with %2e (any case) standing for a dot; else 0. */
static int dot_segment(const char *s, size_t n) {
  int dots = 0;
  for (size_t i = 0; i < n; dots++) {
    if (s[i] == '.')
      i++;
    else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e')
      i += 3;
    else
      return 0;
  }
  return dots <= 2 ? dots : 0;
}

/* Rewrites "%2e" segments of the path of s to plain dots, in place, so libcurl removes them. */
static void plain_dots(char *s) {
  size_t i = authority_end(s), n = i, end = i + strcspn(s + i, "?");
  while (i < end) {
    size_t seg = strcspn(s + i, "/?");
    if (i + seg > end) seg = end - i;
    int dots = dot_segment(s + i, seg);
    if (dots) {
      memcpy(s + n, "..", (size_t)dots);
      n += (size_t)dots;
    } else {
      memmove(s + n, s + i, seg);
      n += seg;
    }
    i += seg;
    if (i < end && s[i] == '/') s[n++] = s[i++];
  }
  memmove(s + n, s + end, strlen(s + end) + 1);
}

/* Bytes a browser percent-encodes in the path and in the query of an http(s) URL. */
static int needs_escape(unsigned char c, int in_query) {
  if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>') return 1;
  return in_query ? c == '\'' : (c == '`' || c == '{' || c == '}');
}

static size_t escape(char *out, const char *s, size_t len, int in_query) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (needs_escape(c, in_query)) {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    } else {
      out[n++] = (char)c;
    }
  }
  return n;
}

static int has_non_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return 1;
  return 0;
}

/* Percent-encodes s after its host part: the path as UTF-8, the query in enc. The host is left
 * to libcurl (which rejects what it cannot use). Returns a new string or NULL. */
static char *encode(const char *s, const lf__encoding_t *enc) {
  const char *q = strchr(s, '?');
  char *query = NULL;
  size_t qlen = 0, len = strlen(s);
  if (q && enc && has_non_ascii(q) && lf__encode_query(enc, q, strlen(q), &query, &qlen))
    return NULL;
  size_t head = q ? (size_t)(q - s) : len;
  if (!query) {
    query = (char *)(q ? q : "");
    qlen = len - head;
  }
  char *out = NULL;
  if (head <= (SIZE_MAX - 1) / 3 - qlen) out = malloc((head + qlen) * 3 + 1);
  if (out) {
    size_t start = authority_end(s), n = start;
    memcpy(out, s, start);
    n += escape(out + n, s + start, head - start, 0);
    n += escape(out + n, query, qlen, 1);
    out[n] = '\0';
  }
  if (q && query != q) free(query);
  return out;
}

/* The href as libcurl should see it (see the top of the file). *empty_query: it ends in '?'. */
static int clean_href(CURLU *base, const char *raw, const lf__encoding_t *enc, char **out,
                      int *empty_query) {
  char *p = prepare(raw);
  if (!p) return LF_ENOMEM;
  size_t n = scheme_len(p);
  if (n && !is_http_scheme(p, n)) {
    free(p);
    return LF__URL_SKIP;
  }
  char *href = n ? special_scheme(base, p, n) : no_scheme(p);
  free(p);
  if (!href) return LF_ENOMEM;
  plain_dots(href);
  const char *qm = strchr(href, '?');
  *empty_query = qm && !qm[1];
  *out = encode(href, enc);
  free(href);
  return *out ? 0 : LF_ENOMEM;
}

/* Lowercases the host (ASCII only), as browsers do, so that duplicates are recognised. */
static CURLUcode lower_host(CURLU *h) {
  char *host = NULL;
  CURLUcode uc = curl_url_get(h, CURLUPART_HOST, &host, 0);
  if (uc) return uc;
  int changed = 0;
  for (char *q = host; *q; q++) {
    char low = (char)lf__ascii_lower((unsigned char)*q);
    changed |= low != *q;
    *q = low;
  }
  if (changed) uc = curl_url_set(h, CURLUPART_HOST, host, 0);
  curl_free(host);
  return uc;
}

static CURLUcode check_http(CURLU *h) {
  char *scheme = NULL;
  CURLUcode uc = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
  if (uc) return uc;
  int ok = is_http_scheme(scheme, strlen(scheme));
  curl_free(scheme);
  return ok ? CURLUE_OK : CURLUE_UNSUPPORTED_SCHEME;
}

/* Applies a cleaned href to h (a copy of the base, or an empty handle) and normalises it. */
static CURLUcode apply(CURLU *h, const char *href) {
  CURLUcode uc = CURLUE_OK;
  if (*href) /* empty: the base itself (see the top of the file) */
    uc = curl_url_set(h, CURLUPART_URL, href, 0);
  if (!uc) uc = curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0);
  if (!uc) uc = check_http(h);
  if (!uc) uc = lower_host(h);
  return uc;
}

/* The URL of h as a malloc'd string (lf_links_free() uses free(), not curl_free()), with the
 * '?' of an empty query that libcurl dropped put back. */
static int url_string(CURLU *h, int empty_query, char **out) {
  char *u = NULL;
  CURLUcode uc = curl_url_get(h, CURLUPART_URL, &u, CURLU_NO_DEFAULT_PORT);
  if (uc) return uc == CURLUE_OUT_OF_MEMORY ? LF_ENOMEM : LF__URL_SKIP;
  size_t len = strlen(u);
  int add = empty_query && !strchr(u, '?');
  *out = malloc(len + (size_t)add + 1);
  if (*out) {
    memcpy(*out, u, len);
    if (add) (*out)[len++] = '?';
    (*out)[len] = '\0';
  }
  curl_free(u);
  return *out ? 0 : LF_ENOMEM;
}

int lf__url_resolve(CURLU *base, const lf__encoding_t *enc, const char *raw, char **out,
                    CURLU **base_out, const char **why) {
  char *href = NULL;
  int empty_query = 0;
  int rc = clean_href(base, raw, enc, &href, &empty_query);
  *why = "scheme is not http or https";
  if (rc) return rc;
  CURLU *h = base ? curl_url_dup(base) : curl_url();
  if (!h) {
    free(href);
    return LF_ENOMEM;
  }
  CURLUcode uc = apply(h, href);
  free(href);
  if (uc) {
    curl_url_cleanup(h);
    *why = uc == CURLUE_UNSUPPORTED_SCHEME ? *why : curl_url_strerror(uc);
    return uc == CURLUE_OUT_OF_MEMORY ? LF_ENOMEM : LF__URL_SKIP;
  }
  rc = out ? url_string(h, empty_query, out) : 0;
  if (rc == LF__URL_SKIP) *why = "URL cannot be written out";
  if (!rc && base_out)
    *base_out = h;
  else
    curl_url_cleanup(h);
  return rc;
}
