/* One URL's outcome as a JSON line, and back. The writer escapes everything JSON needs; the
 * reader only has to understand what the writer produces (flat object, string and number
 * values), because it reads lines from our own worker processes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record.h"

static const char *const status_names[] = {"saved", "failed", "skipped", "interrupted"};

const char *lf__rec_status_name(lf__rec_status_t s) {
  return (unsigned)s < 4 ? status_names[s] : "failed";
}

void lf__record_from_result(lf__record_t *rec, const lf_result_t *r, int interrupted,
                            double job_clock_offset) {
  memset(rec, 0, sizeof(*rec));
  rec->url = r->url;
  rec->file = r->file;
  rec->error = r->error;
  rec->status = r->status == 0                              ? LF_REC_SAVED
                : (interrupted && r->status == LF_EABORTED) ? LF_REC_INTERRUPTED
                                                            : LF_REC_FAILED;
  rec->http_code = r->http_code;
  rec->bytes = r->bytes;
  rec->attempts = r->attempts;
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

static void put_str(out_t *o, const char *s) {
  if (!s) {
    put(o, "null", 4);
    return;
  }
  put(o, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      put(o, esc, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof(esc), "\\u%04x", *p);
      put(o, esc, 6);
    } else {
      put(o, (const char *)p, 1);
    }
  }
  put(o, "\"", 1);
}

static void put_fmt(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Only for numbers and fixed keys: each call's output is far below the buffer size. */
static void put_fmt(out_t *o, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

size_t lf__record_to_json(const lf__record_t *r, char *buf, size_t len) {
  out_t o = {buf, len ? len - 1 : 0, 0}; /* keep one byte for the NUL */
  const lf_timings_t *t = &r->timings;
  put(&o, "{\"url\":", 7);
  put_str(&o, r->url);
  put(&o, ",\"file\":", 8);
  put_str(&o, r->file);
  put_fmt(&o, ",\"status\":\"%s\",\"http\":%ld,\"bytes\":%llu,\"attempts\":%d",
          lf__rec_status_name(r->status), r->http_code, (unsigned long long)r->bytes, r->attempts);
  put(&o, ",\"error\":", 9);
  put_str(&o, r->error);
  put_fmt(&o, ",\"pid\":%d,\"start\":%.6f,\"queued\":%.6f", r->pid, r->start, t->queued);
  put_fmt(&o, ",\"dns\":%.6f,\"connect\":%.6f,\"tls\":%.6f", t->namelookup, t->connect,
          t->appconnect);
  put_fmt(&o, ",\"ttfb\":%.6f,\"total\":%.6f,\"written\":%.6f}\n", t->starttransfer, t->total,
          t->written);
  if (len) buf[o.used < len ? o.used : len - 1] = '\0';
  return o.used;
}

/* ---- reading ---- */

static char *skip_ws(char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
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
      char hex[5] = {0};
      memcpy(hex, p + 1, 4);
      if (strlen(hex) != 4) return NULL;
      *w++ = (char)strtol(hex, NULL, 16);
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
  else if (strcmp(key, "status") == 0)
    for (int s = 0; s < 4; s++)
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
