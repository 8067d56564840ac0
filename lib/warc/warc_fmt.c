/* The pieces of a WARC record: ids, dates, digests, and the HTTP heads as they are stored. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "ascii.h"
#include "warc.h"

void lf__warc_new_id(char id[LF__WARC_ID_LEN]) {
  unsigned char r[16];
  size_t got = 0;
  while (got < sizeof(r)) { /* urandom-backed; blocks only before the pool is seeded at boot */
    ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
    if (n > 0) got += (size_t)n;
  }
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(id, LF__WARC_ID_LEN,
           "<urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x>", r[0],
           r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
           r[15]);
}

void lf__warc_date(uint64_t realtime_ns, char out[LF__WARC_DATE_LEN]) {
  time_t secs = (time_t)(realtime_ns / 1000000000u);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(out, LF__WARC_DATE_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, LF__WARC_DATE_LEN - n, ".%06uZ",
           (unsigned)(realtime_ns % 1000000000u / 1000u) % 1000000u);
}

void lf__warc_sha1_text(const unsigned char sha1[20], char out[LF__WARC_DIGEST_LEN]) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  memcpy(out, "sha1:", 5);
  char *p = out + 5;
  /* 20 bytes = 160 bits = 32 characters of 5 bits, no padding */
  for (int i = 0; i < 20; i += 5) {
    uint64_t v = 0;
    for (int j = 0; j < 5; j++)
      v = v << 8 | sha1[i + j];
    for (int k = 7; k >= 0; k--)
      *p++ = alphabet[(v >> (5 * k)) & 31];
  }
  *p = '\0';
}

/* Reason phrases for the status lines HTTP/2 does not send. */
static const char *reason(int code) {
  switch (code) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 203:
    return "Non-Authoritative Information";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 410:
    return "Gone";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "";
  }
}

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} out_t;

static void put(out_t *o, const char *s, size_t n) {
  if (o->oom) return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n + 1)
      cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
      o->oom = 1;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void puts_(out_t *o, const char *s) {
  put(o, s, strlen(s));
}

/* The next line of raw (without its CR LF or LF); NULL at the end. */
static const char *next_line(const char **at, const char *end, size_t *n) {
  const char *s = *at;
  if (s >= end) return NULL;
  const char *nl = memchr(s, '\n', (size_t)(end - s));
  const char *e = nl ? nl : end;
  *at = nl ? nl + 1 : end;
  *n = (size_t)(e - s);
  if (*n && s[*n - 1] == '\r') (*n)--;
  return s;
}

static int name_is(const char *line, size_t n, const char *name) {
  size_t k = strlen(name);
  return n > k && line[k] == ':' && lf__ascii_caseeq_n(line, name, k);
}

/* "HTTP/x[.y] CODE[ reason]": the code, or 0. *h2 is set for a version other than 1.x. */
static int status_code(const char *line, size_t n, int *h2) {
  if (n < 10 || memcmp(line, "HTTP/", 5) != 0) return 0; /* "HTTP/2 200" is the shortest */
  const char *sp = memchr(line, ' ', n);
  if (!sp || (size_t)(line + n - sp) < 4) return 0;
  *h2 = !(sp - line >= 8 && memcmp(line + 5, "1.", 2) == 0);
  int code = 0;
  for (int i = 1; i <= 3; i++) {
    if (sp[i] < '0' || sp[i] > '9') return 0;
    code = code * 10 + (sp[i] - '0');
  }
  return code;
}

static void media_type(const char *line, size_t n, char *mime, size_t mime_len) {
  const char *v = memchr(line, ':', n) + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  size_t k = 0;
  while (v < end && *v != ';' && *v != ' ' && *v != '\t' && k + 1 < mime_len)
    mime[k++] = (char)lf__ascii_lower((unsigned char)*v++);
  mime[k] = '\0';
}

static void fields(out_t *o, const char *at, const char *end, char *mime, size_t mime_len) {
  size_t n;
  const char *line;
  while ((line = next_line(&at, end, &n)) && n > 0) {
    if (name_is(line, n, "Transfer-Encoding")) puts_(o, "X-Archive-Orig-");
    if (mime && name_is(line, n, "Content-Type")) media_type(line, n, mime, mime_len);
    put(o, line, n);
    put(o, "\r\n", 2);
  }
  put(o, "\r\n", 2);
}

char *lf__warc_response_head(const char *raw, size_t len, size_t *out_len, int *status, char *mime,
                             size_t mime_len) {
  out_t o = {0};
  const char *at = raw, *end = raw + len;
  size_t n = 0;
  const char *line = next_line(&at, end, &n);
  int h2 = 0;
  *status = line ? status_code(line, n, &h2) : 0;
  if (mime_len) mime[0] = '\0';
  if (line && *status && h2) {
    char buf[64];
    snprintf(buf, sizeof(buf), "HTTP/1.1 %03d %s\r\n", *status, reason(*status));
    puts_(&o, buf);
  } else if (line) {
    put(&o, line, n);
    put(&o, "\r\n", 2);
  }
  fields(&o, at, end, mime, mime_len);
  if (o.oom) {
    free(o.p);
    return NULL;
  }
  *out_len = o.len;
  return o.p;
}

char *lf__warc_request_head(const char *raw, size_t len, size_t *out_len) {
  out_t o = {0};
  const char *at = raw, *end = raw + len;
  size_t n = 0;
  const char *line = next_line(&at, end, &n);
  if (line) {
    const char *sp = n > 7 ? line + n - 7 : NULL; /* " HTTP/2" at the end */
    if (sp && memcmp(sp, " HTTP/2", 7) == 0) {
      put(&o, line, n - 6);
      puts_(&o, "HTTP/1.1");
    } else {
      put(&o, line, n);
    }
    put(&o, "\r\n", 2);
  }
  fields(&o, at, end, NULL, 0);
  if (o.oom) {
    free(o.p);
    return NULL;
  }
  *out_len = o.len;
  return o.p;
}
