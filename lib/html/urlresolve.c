/* Resolving an href to the absolute URL a browser would request: the WHATWG URL standard's
 * basic URL parser (https://url.spec.whatwg.org/#concept-basic-url-parser), for the two
 * schemes we fetch, state by state as the standard writes it, and the href serialiser.
 *
 * Why not libcurl's URL API, which did this before: it implements RFC 3986 plus its own
 * choices, not the algorithm browsers run, and the differences were everywhere links come
 * from real pages (scheme-relative forms, `%2e` segments, empty queries, backslashes, IDNA and
 * IPv4 forms of hosts, userinfo, the percent-encode sets). Each needed a rewrite before libcurl
 * saw the href and another after; the standard, by contrast, is an exact algorithm with its
 * own conformance data (tests/unit/test_urltestdata.c runs all of it). libcurl stays the one
 * that requests the URL: every href written here is parsed by libcurl as the fetch step does
 * (lf__url_resolve), and one it would refuse is skipped here, not failed there.
 *
 * Differences from the standard, on purpose:
 *  - only http and https: an href with another scheme is skipped (LF__URL_SKIP);
 *  - the fragment is never kept (it never reaches the server);
 *  - a host libcurl refuses (the standard allows ! $ & ' ( ) * + , ; = ` { } in a domain; no
 *    DNS name holds them) is skipped by lf__url_resolve.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "urlresolve.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "buf.h"
#include "loopfetch.h"
#include "urlhost.h"
#include "utf8.h"

/* ---- percent-encode sets (https://url.spec.whatwg.org/#percent-encoded-bytes) ---- */

enum { SET_QUERY_SPECIAL, SET_PATH, SET_USERINFO };

static int in_set(unsigned char c, int set) {
  if (c < 0x21 || c > 0x7e || c == '"' || c == '#' || c == '<' || c == '>') return 1;
  if (set == SET_QUERY_SPECIAL) return c == '\'';
  if (c == '?' || c == '^' || c == '`' || c == '{' || c == '}') return 1; /* path: '^' since 2025 */
  return set == SET_USERINFO && (c == '/' || c == ':' || c == ';' || c == '=' || c == '@' ||
                                 (c >= '[' && c <= ']') || c == '|');
}

static int push_encoded(lf__buf_t *b, const char *s, size_t n, int set) {
  static const char hex[] = "0123456789ABCDEF";
  if (lf__buf_reserve(b, n * 3)) return LF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (in_set(c, set)) {
      b->data[b->len++] = '%';
      b->data[b->len++] = hex[c >> 4];
      b->data[b->len++] = hex[c & 15];
    } else {
      b->data[b->len++] = (char)c;
    }
  }
  b->data[b->len] = '\0';
  return 0;
}

/* ---- the input ---- */

/* The standard's clean-up: leading and trailing C0 controls and spaces trimmed, tabs and
 * newlines removed. Bytes that are not UTF-8 (a library caller's page URL) become U+FFFD, as
 * in a string of scalar values. Returns a new string or NULL. */
static char *prepare(const char *raw, size_t len, size_t *n) {
  while (len && (unsigned char)raw[len - 1] <= 0x20)
    len--;
  while (len && (unsigned char)*raw <= 0x20) {
    raw++;
    len--;
  }
  char *out = len <= (SIZE_MAX - 1) / 3 ? malloc(len * 3 + 1) : NULL; /* a bad byte: 3 */
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0, k; i < len; i += k) {
    unsigned char c = (unsigned char)raw[i];
    k = 1;
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c < 0x80 || lf__utf8_decode((const unsigned char *)raw + i, len - i, &k)) {
      memcpy(out + o, raw + i, k);
      o += k;
    } else {
      memcpy(out + o, "\xef\xbf\xbd", 3);
      o += 3;
      k = 1;
    }
  }
  out[o] = '\0';
  *n = o;
  return out;
}

/* ---- the URL under construction ---- */

typedef struct {
  const char *s; /* the prepared input */
  size_t n, p;   /* its length; the pointer */
  const lf__url_t *base;
  const lf__encoding_t *enc;
  int https;
  lf__buf_t user, pass, path, query;
  int has_query;
  char *host;
  int port;
  const char *why;
} parser_t;

#define EOF_C (-1)
static int cur(const parser_t *ps) {
  return ps->p < ps->n ? (unsigned char)ps->s[ps->p] : EOF_C;
}
static int remaining_is(const parser_t *ps, char c) {
  return ps->p + 1 < ps->n && ps->s[ps->p + 1] == c;
}
static int is_slash(int c) {
  return c == '/' || c == '\\';
} /* special URLs: '\' is '/' */
static int ends_authority(int c) {
  return c == EOF_C || is_slash(c) || c == '?' || c == '#';
}
static int alpha(int c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int set_str(lf__buf_t *b, const char *s) {
  b->len = 0;
  return lf__buf_push(b, s ? s : "", s ? strlen(s) : 0);
}

/* Takes user, password, host and port (and with_path: path and query) from the base. */
static int copy_base(parser_t *ps, int with_path) {
  const lf__url_t *b = ps->base;
  free(ps->host);
  ps->host = strdup(b->host);
  ps->port = b->port;
  int rc = ps->host ? 0 : LF_ENOMEM;
  if (!rc) rc = set_str(&ps->user, b->user);
  if (!rc) rc = set_str(&ps->pass, b->pass);
  if (!rc && with_path) rc = set_str(&ps->path, b->path);
  if (!rc && with_path) {
    ps->has_query = b->query != NULL;
    rc = set_str(&ps->query, b->query);
  }
  return rc;
}

static void shorten_path(parser_t *ps) {
  char *slash = ps->path.len ? strrchr(ps->path.data, '/') : NULL;
  if (slash) {
    ps->path.len = (size_t)(slash - ps->path.data);
    *slash = '\0';
  }
}

enum {
  S_SCHEME_START,
  S_SCHEME,
  S_NO_SCHEME,
  S_SPECIAL_RELATIVE_OR_AUTHORITY,
  S_RELATIVE,
  S_RELATIVE_SLASH,
  S_SPECIAL_AUTHORITY_SLASHES,
  S_SPECIAL_AUTHORITY_IGNORE_SLASHES,
  S_AUTHORITY,
  S_HOST,
  S_PORT,
  S_PATH_START,
  S_PATH,
  S_QUERY,
  S_DONE
};

static int failure(parser_t *ps, const char *why) {
  ps->why = why;
  return LF__URL_SKIP;
}

/* The scheme state, from its start: the scheme is ASCII alphanumerics, '+', '-', '.' after a
 * letter, ended by ':'. Anything else: no scheme (start over as a relative reference). */
static int scheme(parser_t *ps, int *state) {
  size_t i = 0;
  if (!alpha(cur(ps))) {
    *state = S_NO_SCHEME;
    return 0;
  }
  while (i < ps->n) {
    int c = (unsigned char)ps->s[i];
    if (!(alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) break;
    i++;
  }
  if (i == ps->n || ps->s[i] != ':') {
    *state = S_NO_SCHEME;
    return 0;
  }
  int http = i == 4 && lf__ascii_caseeq_n(ps->s, "http", 4);
  int https = i == 5 && lf__ascii_caseeq_n(ps->s, "https", 5);
  if (!http && !https) return failure(ps, "scheme is not http or https");
  ps->https = https;
  ps->p = i + 1;
  *state = ps->base && ps->base->https == https ? S_SPECIAL_RELATIVE_OR_AUTHORITY
                                                : S_SPECIAL_AUTHORITY_SLASHES;
  return 0;
}

/* The authority state: userinfo up to the last '@' (each '@' before it becomes part of it,
 * percent-encoded), then back to where the host starts. */
static int authority(parser_t *ps, int *state) {
  size_t start = ps->p, at = SIZE_MAX;
  int c;
  while (!ends_authority(c = cur(ps))) {
    if (c == '@') at = ps->p;
    ps->p++;
  }
  if (at != SIZE_MAX) {
    int pass_seen = 0;
    for (size_t i = start; i < at; i++) {
      char ch = ps->s[i];
      if (ch == ':' && !pass_seen) {
        pass_seen = 1;
        continue;
      }
      int rc = ch == '@' ? lf__buf_push(pass_seen ? &ps->pass : &ps->user, "%40", 3)
                         : push_encoded(pass_seen ? &ps->pass : &ps->user, &ch, 1, SET_USERINFO);
      if (rc) return rc;
    }
    if (at + 1 == ps->p) return failure(ps, "credentials but no host");
    start = at + 1;
  }
  ps->p = start;
  *state = S_HOST;
  return 0;
}

/* The host state: up to ':' (outside brackets) or the end of the authority. */
static int host(parser_t *ps, int *state) {
  size_t start = ps->p;
  int brackets = 0, c;
  while (!ends_authority(c = cur(ps)) && (c != ':' || brackets)) {
    if (c == '[') brackets = 1;
    if (c == ']') brackets = 0;
    ps->p++;
  }
  if (ps->p == start) return failure(ps, "no host");
  free(ps->host);
  ps->host = NULL;
  int rc = lf__host_parse(ps->s + start, ps->p - start, &ps->host, &ps->why);
  if (rc) return rc == LF__HOST_FAIL ? LF__URL_SKIP : rc;
  if (c == ':') {
    ps->p++;
    *state = S_PORT;
  } else {
    *state = S_PATH_START;
  }
  return 0;
}

static int port(parser_t *ps, int *state) {
  unsigned long v = 0;
  int digits = 0, c;
  while ((c = cur(ps)) >= '0' && c <= '9') {
    v = v * 10 + (unsigned long)(c - '0');
    if (v > 65535) return failure(ps, "port out of range");
    digits = 1;
    ps->p++;
  }
  if (!ends_authority(c)) return failure(ps, "invalid port");
  ps->port = !digits || (long)v == (ps->https ? 443 : 80) ? -1 : (int)v;
  *state = S_PATH_START;
  return 0;
}

/* A path segment of the buffer: "." or ".." (with %2e for a dot, any case), or 0. */
static int dots(const char *s, size_t n) {
  int d = 0;
  for (size_t i = 0; i < n; d++) {
    if (s[i] == '.')
      i++;
    else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e')
      i += 3;
    else
      return 0;
  }
  return d <= 2 ? d : 0;
}

/* The path state: segment by segment up to '?', '#' or the end. */
static int path(parser_t *ps, int *state) {
  lf__buf_t seg = {0};
  int rc = 0;
  for (;;) {
    size_t start = ps->p;
    int c;
    while ((c = cur(ps)) != EOF_C && !is_slash(c) && c != '?' && c != '#')
      ps->p++;
    seg.len = 0;
    if ((rc = push_encoded(&seg, ps->s + start, ps->p - start, SET_PATH))) break;
    int d = dots(seg.data, seg.len);
    if (d == 2) shorten_path(ps);
    if (d && !is_slash(c))
      rc = lf__buf_push(&ps->path, "/", 1);
    else if (!d)
      rc = lf__buf_reserve(&ps->path, seg.len + 1) ? LF_ENOMEM
           : lf__buf_push(&ps->path, "/", 1) || lf__buf_push(&ps->path, seg.data, seg.len)
               ? LF_ENOMEM
               : 0;
    if (rc || !is_slash(c)) break;
    ps->p++;
  }
  free(seg.data);
  *state = S_QUERY;
  return rc;
}

/* The query, up to '#', in the page's encoding, then percent-encoded. */
static int query(parser_t *ps) {
  int c = cur(ps);
  if (c != '?') return 0;
  size_t start = ++ps->p;
  while (ps->p < ps->n && ps->s[ps->p] != '#')
    ps->p++;
  const char *q = ps->s + start;
  size_t qn = ps->p - start;
  char *enc = NULL;
  size_t enc_n = 0;
  int non_ascii = 0;
  for (size_t i = 0; i < qn; i++)
    non_ascii |= (unsigned char)q[i] >= 0x80;
  if (non_ascii && ps->enc && ps->enc->kind != LF__ENC_UTF8) {
    if (lf__encode_query(ps->enc, q, qn, &enc, &enc_n)) return LF_ENOMEM;
    q = enc;
    qn = enc_n;
  }
  ps->has_query = 1;
  ps->query.len = 0;
  int rc = push_encoded(&ps->query, q, qn, SET_QUERY_SPECIAL);
  free(enc);
  return rc;
}

/* The relative state: what of the base the reference keeps. */
static int relative(parser_t *ps, int *state) {
  int c = cur(ps);
  ps->https = ps->base->https;
  if (is_slash(c)) {
    ps->p++;
    c = cur(ps);
    if (is_slash(c)) { /* "//host" */
      *state = S_SPECIAL_AUTHORITY_IGNORE_SLASHES;
      return 0;
    }
    *state = S_PATH; /* "/path" */
    return copy_base(ps, 0);
  }
  int rc = copy_base(ps, 1);
  if (rc || c == EOF_C || c == '#') {
    *state = S_DONE;
    return rc;
  }
  if (c == '?') {
    *state = S_QUERY;
    return 0;
  }
  ps->has_query = 0;
  shorten_path(ps);
  *state = S_PATH;
  return 0;
}

static int step(parser_t *ps, int *state) {
  switch (*state) {
  case S_SCHEME_START:
  case S_SCHEME:
    return scheme(ps, state);
  case S_NO_SCHEME:
    if (!ps->base) return failure(ps, "not an absolute URL");
    ps->p = 0;
    *state = S_RELATIVE;
    return 0;
  case S_SPECIAL_RELATIVE_OR_AUTHORITY:
    if (cur(ps) == '/' && remaining_is(ps, '/')) {
      ps->p += 2;
      *state = S_SPECIAL_AUTHORITY_IGNORE_SLASHES;
    } else {
      *state = S_RELATIVE;
    }
    return 0;
  case S_RELATIVE:
    return relative(ps, state);
  case S_SPECIAL_AUTHORITY_SLASHES:
  case S_SPECIAL_AUTHORITY_IGNORE_SLASHES:
    while (is_slash(cur(ps)))
      ps->p++;
    *state = S_AUTHORITY;
    return 0;
  case S_AUTHORITY:
    return authority(ps, state);
  case S_HOST:
    return host(ps, state);
  case S_PORT:
    return port(ps, state);
  case S_PATH_START:
    if (is_slash(cur(ps))) ps->p++;
    *state = S_PATH;
    return 0;
  case S_PATH:
    return path(ps, state);
  case S_QUERY:
    *state = S_DONE;
    return query(ps);
  }
  return 0;
}

static void parser_free(parser_t *ps) {
  free(ps->user.data);
  free(ps->pass.data);
  free(ps->path.data);
  free(ps->query.data);
  free(ps->host);
}

static char *take(lf__buf_t *b) {
  char *s = b->data ? b->data : strdup("");
  b->data = NULL;
  return s;
}

int lf__url_parse(const char *raw, size_t len, const lf__url_t *base, const lf__encoding_t *enc,
                  lf__url_t **out, const char **why) {
  parser_t ps = {.base = base, .enc = enc, .port = -1};
  int state = S_SCHEME_START, rc = 0;
  *out = NULL;
  ps.s = prepare(raw, len, &ps.n);
  if (!ps.s) return LF_ENOMEM;
  while (!rc && state != S_DONE)
    rc = step(&ps, &state);
  lf__url_t *u = rc ? NULL : calloc(1, sizeof(*u));
  if (u) {
    *u = (lf__url_t){ps.https,
                     take(&ps.user),
                     take(&ps.pass),
                     ps.host,
                     ps.port,
                     take(&ps.path),
                     ps.has_query ? take(&ps.query) : NULL};
    ps.host = NULL;
    if (!u->user || !u->pass || !u->path || (ps.has_query && !u->query)) {
      lf__url_free(u);
      u = NULL;
    }
  }
  if (!rc && !u) rc = LF_ENOMEM;
  *why = ps.why;
  free((char *)ps.s);
  parser_free(&ps);
  *out = u;
  return rc;
}

char *lf__url_href(const lf__url_t *u) {
  char port[16] = "";
  if (u->port >= 0) snprintf(port, sizeof port, ":%d", u->port);
  size_t user = strlen(u->user), pass = strlen(u->pass), host = strlen(u->host),
         portn = strlen(port), path = strlen(u->path), query = u->query ? strlen(u->query) : 0;
  char *out = malloc(8 + user + 1 + pass + 1 + host + portn + path + 1 + query + 1), *o = out;
  if (!out) return NULL;
#define PUT(str, n) (memcpy(o, str, n), o += (n))
  PUT(u->https ? "https://" : "http://", u->https ? 8u : 7u);
  if (user || pass) {
    PUT(u->user, user);
    if (pass) {
      *o++ = ':';
      PUT(u->pass, pass);
    }
    *o++ = '@';
  }
  PUT(u->host, host);
  PUT(port, portn);
  PUT(u->path, path);
  if (u->query) {
    *o++ = '?';
    PUT(u->query, query);
  }
#undef PUT
  *o = '\0';
  return out;
}

void lf__url_free(lf__url_t *u) {
  if (!u) return;
  free(u->user);
  free(u->pass);
  free(u->host);
  free(u->path);
  free(u->query);
  free(u);
}

/* Whether libcurl, which requests the URL, parses href as the fetch step does. */
static int curl_takes(const char *href, const char **why) {
  CURLU *h = curl_url();
  if (!h) return LF_ENOMEM;
  CURLUcode uc = curl_url_set(h, CURLUPART_URL, href, 0);
  curl_url_cleanup(h);
  if (uc == CURLUE_OUT_OF_MEMORY) return LF_ENOMEM;
  if (uc) *why = "libcurl cannot request this URL (a host no DNS name can be)";
  return uc ? LF__URL_SKIP : 0;
}

int lf__url_resolve(const lf__url_t *base, const lf__encoding_t *enc, const char *raw, char **out,
                    lf__url_t **base_out, const char **why) {
  lf__url_t *u = NULL;
  char *href = NULL;
  int rc = lf__url_parse(raw, strlen(raw), base, enc, &u, why);
  if (!rc) rc = (href = lf__url_href(u)) ? 0 : LF_ENOMEM;
  if (!rc) rc = curl_takes(href, why);
  if (!rc && out) {
    *out = href;
    href = NULL;
  }
  if (!rc && base_out) {
    *base_out = u;
    u = NULL;
  }
  free(href);
  lf__url_free(u);
  return rc;
}
