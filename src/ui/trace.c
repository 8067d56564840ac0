/* Keeps a copy of each transfer's record and draws the run as a Chrome trace or an SVG
 * waterfall (see trace.h). */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "progress.h"
#include "stats.h"
#include "trace_internal.h"

/* ---- phases ---- */

const char *const lf__trace_phase_name[PH_N] = {"queued", "dns",     "connect", "tls",
                                                "wait",   "receive", "write"};
const char *const lf__trace_phase_color[PH_N] = {"#d4d4d4", "#76b7b2", "#f28e2b", "#b07aa1",
                                                 "#edc948", "#4e79a7", "#59a14f"};

/* Where the network part ends: the last mark libcurl reached. */
static double net_end(const lf_timings_t *tm) {
  const double m[] = {tm->namelookup, tm->connect, tm->appconnect, tm->starttransfer, tm->total};
  double e = 0;
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
    if (m[i] > e) e = m[i];
  return e;
}

double lf__trace_entry_end(const entry_t *e) { /* from the transfer's start */
  double n = net_end(&e->tm);
  return e->tm.written > n ? e->tm.written : n;
}

/* Splits a transfer by its cumulative marks into out[] (room for PH_N). A mark of 0 means
 * either that the phase did not happen (a reused connection has no connect, plain HTTP no
 * TLS: a later mark is set) or that it was not reached: then the first such phase runs to the
 * end, which is where the transfer failed. */
static int phases(const lf_timings_t *tm, int https, seg_t *out) {
  static const int ph[] = {PH_DNS, PH_CONNECT, PH_TLS, PH_WAIT};
  const double mark[] = {tm->namelookup, tm->connect, tm->appconnect, tm->starttransfer};
  double end = net_end(tm), t = 0;
  int last = -1, n = 0; /* last mark reached */
  for (int i = 0; i < 4; i++)
    if (mark[i] > 0) last = i;
  for (int i = 0; i < 4 && t < end; i++) {
    if (ph[i] == PH_TLS && !https) continue;
    if (mark[i] <= 0 && i < last) continue;
    double m = mark[i] > 0 ? fmin(mark[i], end) : end;
    if (m > t) out[n++] = (seg_t){ph[i], t, m};
    t = fmax(t, m);
  }
  if (end > t) out[n++] = (seg_t){PH_RECEIVE, t, end};
  if (tm->written > fmax(t, end)) out[n++] = (seg_t){PH_WRITE, fmax(t, end), tm->written};
  return n;
}

int lf__trace_entry_phases(const entry_t *e, seg_t *out) {
  return phases(&e->tm, strncasecmp(e->url, "https:", 6) == 0, out);
}

/* ---- collecting ---- */

int lf__trace_new(lf__trace_t **out) {
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : LF_ENOMEM;
}

static char *copy_into(char **dst, const char *s) {
  size_t n = strlen(s) + 1;
  memcpy(*dst, s, n);
  char *r = *dst;
  *dst += n;
  return r;
}

int lf__trace_add(lf__trace_t *t, const lf__record_t *rec) {
  t->added++;
  if (rec->attempts <= 0) return 0; /* never reached the network: nothing to draw */
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    entry_t *v = realloc(t->v, cap * sizeof(*v));
    if (!v) return LF_ENOMEM;
    t->v = v;
    t->cap = cap;
  }
  const char *url = rec->url ? rec->url : "";
  size_t len = strlen(url) + 1 + (rec->file ? strlen(rec->file) + 1 : 0) +
               (rec->error ? strlen(rec->error) + 1 : 0);
  char *p = malloc(len);
  if (!p) return LF_ENOMEM;
  entry_t *e = &t->v[t->n++];
  *e = (entry_t){.status = rec->status,
                 .http_code = rec->http_code,
                 .bytes = rec->bytes,
                 .attempts = rec->attempts,
                 .pid = rec->pid,
                 .start = rec->start,
                 .tm = rec->timings};
  e->url = copy_into(&p, url);
  e->file = rec->file ? copy_into(&p, rec->file) : NULL;
  e->error = rec->error ? copy_into(&p, rec->error) : NULL;
  return 0;
}

size_t lf__trace_count(const lf__trace_t *t) {
  return t->added;
}

size_t lf__trace_transfers(const lf__trace_t *t) {
  return t->n;
}

void lf__trace_free(lf__trace_t *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++)
    free(t->v[i].url);
  free(t->v);
  free(t);
}

/* ---- sorting and concurrency ---- */

static int cmp_double(double a, double b) {
  return a < b ? -1 : a > b;
}

int lf__trace_cmp_start(const void *pa, const void *pb) {
  const entry_t *a = pa, *b = pb;
  int c = cmp_double(a->start, b->start);
  if (!c) c = cmp_double(a->start - a->tm.queued, b->start - b->tm.queued);
  return c ? c : strcmp(a->url, b->url);
}

static int cmp_pid_start(const void *pa, const void *pb) {
  const entry_t *a = pa, *b = pb;
  return a->pid != b->pid ? (a->pid < b->pid ? -1 : 1) : lf__trace_cmp_start(pa, pb);
}

static int cmp_step(const void *pa, const void *pb) {
  const step_t *a = pa, *b = pb;
  int c = cmp_double(a->t, b->t);
  return c ? c : a->delta - b->delta; /* ends before starts at the same instant */
}

/* The in-flight count of v[0..n) as a step function: *out holds *len points (time, count
 * from then on), one per distinct instant. Returns 0 or LF_ENOMEM. */
int lf__trace_in_flight_steps(const entry_t *v, size_t n, step_t **out, size_t *len, int *peak) {
  *out = NULL;
  *len = 0;
  *peak = 0;
  if (n == 0) return 0;
  step_t *s = malloc(2 * n * sizeof(*s));
  if (!s) return LF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = (step_t){v[i].start, +1};
    s[2 * i + 1] = (step_t){v[i].start + lf__trace_entry_end(&v[i]), -1};
  }
  qsort(s, 2 * n, sizeof(*s), cmp_step);
  size_t k = 0;
  int level = 0;
  for (size_t i = 0; i < 2 * n; i++) {
    level += s[i].delta;
    if (level > *peak) *peak = level;
    if (k && s[k - 1].t == s[i].t)
      s[k - 1].delta = level; /* same instant: keep the count after all of its changes */
    else
      s[k++] = (step_t){s[i].t, level};
  }
  *out = s;
  *len = k;
  return 0;
}

/* ---- text escaping ---- */

/* Length of the valid UTF-8 sequence at s, or 0 if the byte there does not start one. */
static size_t utf8_len(const unsigned char *s) {
  size_t n;
  unsigned cp;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    n = 2;
    cp = s[0] & 0x1fu;
  } else if ((s[0] & 0xf0) == 0xe0) {
    n = 3;
    cp = s[0] & 0x0fu;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    n = 4;
    cp = s[0] & 0x07u;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) { /* stops at the NUL too */
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0; /* overlong, out of range, or a surrogate */
  return n;
}

/* A JSON string (or null). Bytes that are not UTF-8 are read as Latin-1 and escaped. */
static void json_str(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    size_t n = utf8_len(p);
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p < 0x20 || *p == 0x7f || n == 0)
      fprintf(f, "\\u%04x", *p);
    else {
      fwrite(p, 1, n, f);
      p += n;
      continue;
    }
    p++;
  }
  fputc('"', f);
}

/* XML text or attribute value. XML 1.0 allows no control characters but tab, newline and
 * return, not even escaped, so those and invalid UTF-8 become U+FFFD. At most max_chars
 * characters (0: all), then an ellipsis. */
void lf__trace_xml_str(FILE *f, const char *s, size_t max_chars) {
  size_t chars = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; chars++) {
    if (max_chars && chars == max_chars) {
      fputs("\xe2\x80\xa6", f);
      return;
    }
    size_t n = utf8_len(p);
    if (*p == '&')
      fputs("&amp;", f);
    else if (*p == '<')
      fputs("&lt;", f);
    else if (*p == '>')
      fputs("&gt;", f);
    else if (*p == '"')
      fputs("&quot;", f);
    else if (*p == '\t' || *p == '\n' || *p == '\r')
      fputc(*p, f);
    else if (*p < 0x20 || *p == 0x7f || n == 0)
      fputs("\xef\xbf\xbd", f);
    else {
      fwrite(p, 1, n, f);
      p += n;
      continue;
    }
    p++;
  }
}

/* ---- output files ---- */

FILE *lf__trace_open_out(const char *path, char *errbuf, size_t errlen, int *err) {
  if (strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "w");
  if (!f) {
    *err = -errno;
    snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
  }
  return f;
}

/* Closes f and reports any write that failed on the way. */
int lf__trace_close_out(FILE *f, const char *path, char *errbuf, size_t errlen) {
  int bad = ferror(f);
  int saved = bad ? errno : 0;
  if (f == stdout ? fflush(f) != 0 : fclose(f) != 0) {
    bad = 1;
    saved = errno;
  }
  if (!bad) return 0;
  if (!saved) saved = EIO;
  snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(saved));
  return -saved;
}

/* ---- Chrome trace JSON ---- */

static long long usec(double secs) {
  return llround(secs * 1e6);
}

/* Lanes within each pid: a transfer takes the lowest lane free at its start. v is sorted by
 * pid, then start. */
static int assign_lanes(entry_t *v, size_t n) {
  long long *ends = NULL; /* per lane: when its last transfer ends */
  size_t lanes = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && v[i].pid != v[i - 1].pid) lanes = 0;
    long long ts = usec(v[i].start), te = usec(v[i].start + lf__trace_entry_end(&v[i]));
    size_t k = 0;
    while (k < lanes && ends[k] > ts)
      k++;
    if (k == lanes) {
      if (lanes == cap) {
        size_t c = cap ? 2 * cap : 16;
        long long *e = realloc(ends, c * sizeof(*e));
        if (!e) {
          free(ends);
          return LF_ENOMEM;
        }
        ends = e;
        cap = c;
      }
      lanes++;
    }
    ends[k] = te;
    v[i].lane = k + 1;
  }
  free(ends);
  return 0;
}

static void json_process(FILE *f, int pid, int worker, size_t lanes) {
  char name[32];
  if (worker)
    snprintf(name, sizeof(name), "worker %d", worker);
  else
    snprintf(name, sizeof(name), "loopfetch");
  fprintf(f,
          "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":", pid);
  json_str(f, name);
  fprintf(f,
          "}},\n{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"tid\":0,"
          "\"args\":{\"sort_index\":%d}},\n",
          pid, worker);
  for (size_t l = 1; l <= lanes; l++)
    fprintf(f,
            "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%zu,"
            "\"args\":{\"name\":\"lane %zu\"}},\n",
            pid, l, l);
}

static void json_transfer(FILE *f, const entry_t *e) {
  long long ts = usec(e->start), te = usec(e->start + lf__trace_entry_end(e));
  fprintf(f, "{\"ph\":\"X\",\"cat\":\"transfer\",\"name\":");
  json_str(f, e->file ? e->file : e->url);
  fprintf(f, ",\"pid\":%d,\"tid\":%zu,\"ts\":%lld,\"dur\":%lld,\"args\":{\"url\":", e->pid, e->lane,
          ts, te - ts);
  json_str(f, e->url);
  fprintf(f,
          ",\"status\":\"%s\",\"http\":%ld,\"bytes\":%" PRIu64 ",\"attempts\":%d,"
          "\"queued_ms\":%.3f,\"error\":",
          lf__rec_status_name(e->status), e->http_code, e->bytes, e->attempts, e->tm.queued * 1e3);
  json_str(f, e->error);
  fputs("}},\n", f);
  seg_t seg[PH_N];
  int n = lf__trace_entry_phases(e, seg);
  for (int i = 0; i < n; i++) {
    /* Rounded from absolute times, so that the slices tile their transfer exactly. */
    long long s0 = usec(e->start + seg[i].t0), s1 = usec(e->start + seg[i].t1);
    if (s1 > s0)
      fprintf(f,
              "{\"ph\":\"X\",\"cat\":\"phase\",\"name\":\"%s\",\"pid\":%d,\"tid\":%zu,"
              "\"ts\":%lld,\"dur\":%lld},\n",
              lf__trace_phase_name[seg[i].phase], e->pid, e->lane, s0, s1 - s0);
  }
}

static int json_counter(FILE *f, const entry_t *v, size_t n) {
  step_t *s;
  size_t len;
  int peak;
  if (lf__trace_in_flight_steps(v, n, &s, &len, &peak) < 0) return LF_ENOMEM;
  for (size_t i = 0; i < len; i++)
    fprintf(f,
            "{\"ph\":\"C\",\"name\":\"in flight\",\"pid\":%d,\"ts\":%lld,"
            "\"args\":{\"transfers\":%d}},\n",
            v[0].pid, usec(s[i].t), s[i].delta);
  free(s);
  return 0;
}

int lf__trace_write_json(lf__trace_t *t, const char *path, char *errbuf, size_t errlen) {
  if (t->n) qsort(t->v, t->n, sizeof(*t->v), cmp_pid_start); /* v may be NULL */
  if (assign_lanes(t->v, t->n) < 0) {
    snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
    return LF_ENOMEM;
  }
  int err = 0;
  FILE *f = lf__trace_open_out(path, errbuf, errlen, &err);
  if (!f) return err;
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
  int self = (int)getpid(), workers = 0;
  for (size_t i = 0, j; i < t->n && !err; i = j) { /* one process at a time */
    size_t lanes = 0;
    for (j = i; j < t->n && t->v[j].pid == t->v[i].pid; j++)
      if (t->v[j].lane > lanes) lanes = t->v[j].lane;
    json_process(f, t->v[i].pid, t->v[i].pid == self ? 0 : ++workers, lanes);
    for (size_t k = i; k < j; k++)
      json_transfer(f, &t->v[k]);
    err = json_counter(f, &t->v[i], j - i);
  }
  /* A last event without a trailing comma; it also names the process that wrote the trace. */
  fprintf(f,
          "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
          "\"args\":{\"name\":\"loopfetch\"}}\n]}\n",
          self);
  int rc = lf__trace_close_out(f, path, errbuf, errlen);
  if (err) snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
  return err ? err : rc;
}
