/* One URL's outcome as a JSON line, and back. The writer escapes everything JSON needs; the
 * reader only has to understand what the writer produces (flat object, string and number
 * values), because it reads lines from our own worker processes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record.h"
#include "safe_text.h"

static const char *const status_names[] = {"saved",     "failed",    "skipped", "interrupted",
                                           "unchanged", "robots",    "navigated", "capped"};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *lf__rec_status_name(lf__rec_status_t s) {
  return (unsigned)s < N_STATUS ? status_names[s] : "failed";
}

void lf__record_from_result(lf__record_t *rec, const lf_result_t *r, int interrupted,
                            double job_clock_offset) {
  memset(rec, 0, sizeof(*rec));
  rec->url = r->url;
  rec->file = r->file;
  rec->error = r->error;
  rec->status = r->status == 0 && r->http_code == 304       ? LF_REC_UNCHANGED
                : r->status == 0                            ? LF_REC_SAVED
                : (interrupted && r->status == LF_EABORTED) ? LF_REC_INTERRUPTED
                                                            : LF_REC_FAILED;
  rec->http_code = r->http_code;
  rec->bytes = r->bytes + r->resumed_from; /* -C: the page (reruns check the file's size) */
  rec->resumed = r->resumed_from;
  rec->attempts = r->attempts;
  rec->etag = r->etag;
  rec->last_modified = r->last_modified;
  rec->warc_date = r->warc_date;
  rec->start = r->start + job_clock_offset;
  rec->timings = r->timings;
}

/* A growing output cursor that counts what it could not write, like snprintf. */
typedef struct {
  char *buf;
  size_t len, used;
} out_t;

static void put(out_t *o, const char *s, size_t n) {
  if (o->used < o->len) {
    size_t room = o->len - o->used;
    memcpy(o->buf + o->used, s, n < room ? n : room);
  }
  o->used += n;
}

/* n bytes of s inside a JSON string, escaped. */
static void put_escaped(void *arg, const char *s, size_t n) {
  out_t *o = arg;
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    const unsigned char *run = p; /* bytes that need no escape go in one piece */
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f)
      p++;
    if (p > run) put(o, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      put(o, esc, 2);
    } else {
      snprintf(esc, sizeof(esc), "\\u%04x", *p);
      put(o, esc, 6);
    }
    p++;
  }
}

static void put_str(out_t *o, const char *s) {
  if (!s) {
    put(o, "null", 4);
    return;
  }
  put(o, "\"", 1);
  put_escaped(o, s, strlen(s));
  put(o, "\"", 1);
}

/* A URL's password never reaches a record: its userinfo is written as "***@". */
static void put_url(out_t *o, const char *url) {
  if (!url) {
    put(o, "null", 4);
    return;
  }
  put(o, "\"", 1);
  lf__url_redacted(url, put_escaped, o);
  put(o, "\"", 1);
}

static void put_uint(out_t *o, unsigned long long v) {
  char tmp[24];
  size_t i = sizeof(tmp);
  do
    tmp[--i] = (char)('0' + v % 10);
  while (v /= 10);
  put(o, tmp + i, sizeof(tmp) - i);
}

static void put_int(out_t *o, long long v) {
  if (v < 0) put(o, "-", 1);
  put_uint(o, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
}

/* Seconds with 6 decimals, like "%.6f" but without printf's exact decimal expansion, which
 * cost 2 % of the loop thread at 10,000 pages a second. */
static void put_seconds(out_t *o, double v) {
  if (!(v > -1e12 && v < 1e12)) { /* NaN, or absurd: never from our clocks, still valid JSON */
    put(o, "0.000000", 8);
    return;
  }
  long long us = v < 0 ? -(long long)(-v * 1e6 + 0.5) : (long long)(v * 1e6 + 0.5);
  unsigned long long a = us < 0 ? 0ULL - (unsigned long long)us : (unsigned long long)us;
  char frac[7];
  unsigned long long f = a % 1000000;
  for (int i = 5; i >= 0; i--, f /= 10)
    frac[i] = (char)('0' + f % 10);
  frac[6] = '.';
  if (us < 0) put(o, "-", 1);
  put_uint(o, a / 1000000);
  put(o, frac + 6, 1);
  put(o, frac, 6);
}

/* ,"key": then the value. */
static void put_key(out_t *o, const char *key) {
  put(o, ",\"", 2);
  put(o, key, strlen(key));
  put(o, "\":", 2);
}

size_t lf__record_to_json(const lf__record_t *r, char *buf, size_t len) {
  out_t o = {buf, len ? len - 1 : 0, 0}; /* keep one byte for the NUL */
  const lf_timings_t *t = &r->timings;
  put(&o, "{\"url\":", 7);
  put_url(&o, r->url);
  put_key(&o, "file");
  put_str(&o, r->file);
  put_key(&o, "status");
  put_str(&o, lf__rec_status_name(r->status));
  put_key(&o, "http");
  put_int(&o, r->http_code);
  put_key(&o, "bytes");
  put_uint(&o, (unsigned long long)r->bytes);
  if (r->resumed) { /* -C: the page continued a partial file */
    put_key(&o, "resumed");
    put_uint(&o, (unsigned long long)r->resumed);
  }
  put_key(&o, "attempts");
  put_int(&o, r->attempts);
  put_key(&o, "error");
  put_str(&o, r->error);
  put_key(&o, "pid");
  put_int(&o, r->pid);
  const char *keys[] = {"start", "queued", "dns", "connect", "tls", "ttfb", "total", "written"};
  const double vals[] = {r->start,      t->queued,        t->namelookup, t->connect,
                         t->appconnect, t->starttransfer, t->total,      t->written};
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    put_key(&o, keys[i]);
    put_seconds(&o, vals[i]);
  }
  if (r->etag) {
    put_key(&o, "etag");
    put_str(&o, r->etag);
  }
  if (r->last_modified) {
    put_key(&o, "last_modified");
    put_str(&o, r->last_modified);
  }
  if (r->warc_date) {
    put_key(&o, "warc_date");
    put_str(&o, r->warc_date);
  }
  if (r->url_id) {
    put_key(&o, "url_id");
    put_str(&o, r->url_id);
  }
  if (r->robots_rule) {
    put_key(&o, "robots_rule");
    put_str(&o, r->robots_rule);
  }
  if (r->lastmod) {
    put_key(&o, "lastmod");
    put_str(&o, r->lastmod);
  }
  put(&o, "}\n", 2);
  if (len) buf[o.used < len ? o.used : len - 1] = '\0';
  return o.used;
}

/* ---- reading ---- */

static char *skip_ws(char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes a JSON string in place; returns the position after the closing quote. */
static char *read_str(char *p, char **out) {
  if (*p != '"') return NULL;
  char *w = ++p;
  *out = w;
  while (*p && *p != '"') {
    if (*p != '\\') {
      *w++ = *p++;
      continue;
    }
    p++;
    if (*p == 'u') { /* the writer only escapes bytes below 0x80 this way */
      /* Four hex digits, read one at a time: the line may end (NUL) anywhere, and nothing
       * past its end is read. */
      unsigned v = 0;
      for (int i = 1; i <= 4; i++) {
        int d = hex_digit(p[i]);
        if (d < 0) return NULL;
        v = v << 4 | (unsigned)d;
      }
      if (v == 0) return NULL; /* never written: a NUL would cut the string */
      *w++ = (char)v;
      p += 5;
    } else if (*p) {
      *w++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
      p++;
    }
  }
  if (*p != '"') return NULL;
  *w = '\0';
  return p + 1;
}

static void assign_num(lf__record_t *r, const char *key, double v) {
  static const struct {
    const char *key;
    size_t off;
  } dbl[] = {{"start", offsetof(lf__record_t, start)},
             {"queued", offsetof(lf__record_t, timings.queued)},
             {"dns", offsetof(lf__record_t, timings.namelookup)},
             {"connect", offsetof(lf__record_t, timings.connect)},
             {"tls", offsetof(lf__record_t, timings.appconnect)},
             {"ttfb", offsetof(lf__record_t, timings.starttransfer)},
             {"total", offsetof(lf__record_t, timings.total)},
             {"written", offsetof(lf__record_t, timings.written)}};
  for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++)
    if (strcmp(key, dbl[i].key) == 0) *(double *)((char *)r + dbl[i].off) = v;
  if (strcmp(key, "http") == 0)
    r->http_code = (long)v;
  else if (strcmp(key, "bytes") == 0)
    r->bytes = (uint64_t)v;
  else if (strcmp(key, "resumed") == 0)
    r->resumed = (uint64_t)v;
  else if (strcmp(key, "attempts") == 0)
    r->attempts = (int)v;
  else if (strcmp(key, "pid") == 0)
    r->pid = (int)v;
}

static void assign_str(lf__record_t *r, const char *key, char *v) {
  if (strcmp(key, "url") == 0)
    r->url = v;
  else if (strcmp(key, "file") == 0)
    r->file = v;
  else if (strcmp(key, "error") == 0)
    r->error = v;
  else if (strcmp(key, "etag") == 0)
    r->etag = v;
  else if (strcmp(key, "last_modified") == 0)
    r->last_modified = v;
  else if (strcmp(key, "url_id") == 0)
    r->url_id = v;
  else if (strcmp(key, "warc_date") == 0)
    r->warc_date = v;
  else if (strcmp(key, "robots_rule") == 0)
    r->robots_rule = v;
  else if (strcmp(key, "lastmod") == 0)
    r->lastmod = v;
  else if (strcmp(key, "status") == 0 && (r->status_text = v) != NULL)
    for (size_t s = 0; s < N_STATUS; s++)
      if (strcmp(v, status_names[s]) == 0) r->status = (lf__rec_status_t)s;
}

int lf__record_parse_json(char *line, lf__record_t *r) {
  memset(r, 0, sizeof(*r));
  r->status = LF_REC_FAILED;
  char *p = skip_ws(line);
  if (*p++ != '{') return LF_EINVAL;
  for (;;) {
    p = skip_ws(p);
    char *key;
    if (!(p = read_str(p, &key))) return LF_EINVAL;
    p = skip_ws(p);
    if (*p++ != ':') return LF_EINVAL;
    p = skip_ws(p);
    if (*p == '"') {
      char *v;
      if (!(p = read_str(p, &v))) return LF_EINVAL;
      assign_str(r, key, v);
    } else if (strncmp(p, "null", 4) == 0) {
      p += 4;
    } else {
      char *end;
      double v = strtod(p, &end);
      if (end == p) return LF_EINVAL;
      assign_num(r, key, v);
      p = end;
    }
    p = skip_ws(p);
    if (*p == '}') break;
    if (*p++ != ',') return LF_EINVAL;
  }
  return r->url ? 0 : LF_EINVAL;
}
