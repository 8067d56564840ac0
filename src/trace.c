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
#include "trace.h"

typedef struct {
  char *url, *file, *error; /* one allocation, at url; file and error may be NULL */
  lf__rec_status_t status;
  long http_code;
  uint64_t bytes;
  int attempts, pid;
  double start;
  lf_timings_t tm;
  size_t lane; /* JSON: row within the process, from 1 */
} entry_t;

struct lf__trace_s {
  entry_t *v; /* transfers only */
  size_t n, cap;
  size_t added; /* every record, transfers or not */
};

/* ---- phases ---- */

enum { PH_QUEUED, PH_DNS, PH_CONNECT, PH_TLS, PH_WAIT, PH_RECEIVE, PH_WRITE, PH_N };
static const char *const phase_name[PH_N] = {"queued", "dns",     "connect", "tls",
                                             "wait",   "receive", "write"};
static const char *const phase_color[PH_N] = {"#d4d4d4", "#76b7b2", "#f28e2b", "#b07aa1",
                                              "#edc948", "#4e79a7", "#59a14f"};
#define FAILED_COLOR "#e15759"

typedef struct {
  int phase;
  double t0, t1; /* seconds from the transfer's start */
} seg_t;

/* Where the network part ends: the last mark libcurl reached. */
static double net_end(const lf_timings_t *tm) {
  const double m[] = {tm->namelookup, tm->connect, tm->appconnect, tm->starttransfer, tm->total};
  double e = 0;
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
    if (m[i] > e) e = m[i];
  return e;
}

static double entry_end(const entry_t *e) { /* from the transfer's start */
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

static int entry_phases(const entry_t *e, seg_t *out) {
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

static int cmp_start(const void *pa, const void *pb) {
  const entry_t *a = pa, *b = pb;
  int c = cmp_double(a->start, b->start);
  if (!c) c = cmp_double(a->start - a->tm.queued, b->start - b->tm.queued);
  return c ? c : strcmp(a->url, b->url);
}

static int cmp_pid_start(const void *pa, const void *pb) {
  const entry_t *a = pa, *b = pb;
  return a->pid != b->pid ? (a->pid < b->pid ? -1 : 1) : cmp_start(pa, pb);
}

typedef struct {
  double t;
  int delta; /* +1 start, -1 end; after sorting: the count in flight from t on */
} step_t;

static int cmp_step(const void *pa, const void *pb) {
  const step_t *a = pa, *b = pb;
  int c = cmp_double(a->t, b->t);
  return c ? c : a->delta - b->delta; /* ends before starts at the same instant */
}

/* The in-flight count of v[0..n) as a step function: *out holds *len points (time, count
 * from then on), one per distinct instant. Returns 0 or LF_ENOMEM. */
static int in_flight_steps(const entry_t *v, size_t n, step_t **out, size_t *len, int *peak) {
  *out = NULL;
  *len = 0;
  *peak = 0;
  if (n == 0) return 0;
  step_t *s = malloc(2 * n * sizeof(*s));
  if (!s) return LF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = (step_t){v[i].start, +1};
    s[2 * i + 1] = (step_t){v[i].start + entry_end(&v[i]), -1};
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
static void xml_str(FILE *f, const char *s, size_t max_chars) {
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

static FILE *open_out(const char *path, char *errbuf, size_t errlen, int *err) {
  if (strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "w");
  if (!f) {
    *err = -errno;
    snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
  }
  return f;
}

/* Closes f and reports any write that failed on the way. */
static int close_out(FILE *f, const char *path, char *errbuf, size_t errlen) {
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
    long long ts = usec(v[i].start), te = usec(v[i].start + entry_end(&v[i]));
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
  long long ts = usec(e->start), te = usec(e->start + entry_end(e));
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
  int n = entry_phases(e, seg);
  for (int i = 0; i < n; i++) {
    /* Rounded from absolute times, so that the slices tile their transfer exactly. */
    long long s0 = usec(e->start + seg[i].t0), s1 = usec(e->start + seg[i].t1);
    if (s1 > s0)
      fprintf(f,
              "{\"ph\":\"X\",\"cat\":\"phase\",\"name\":\"%s\",\"pid\":%d,\"tid\":%zu,"
              "\"ts\":%lld,\"dur\":%lld},\n",
              phase_name[seg[i].phase], e->pid, e->lane, s0, s1 - s0);
  }
}

static int json_counter(FILE *f, const entry_t *v, size_t n) {
  step_t *s;
  size_t len;
  int peak;
  if (in_flight_steps(v, n, &s, &len, &peak) < 0) return LF_ENOMEM;
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
  FILE *f = open_out(path, errbuf, errlen, &err);
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
  int rc = close_out(f, path, errbuf, errlen);
  if (err) snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
  return err ? err : rc;
}

/* ---- SVG waterfall ---- */

#define SVG_W 1200.0
#define PAD 16.0
#define PLOT_TOP 92.0
#define MAX_PLOT_H 1000.0
#define MAX_ROW_H 14.0
#define LABEL_MIN_ROW_H 10.0 /* rows at least this tall get a file name at the left */
#define LABEL_W 220.0
#define CHART_H 56.0 /* the in-flight chart under the bars */

typedef struct {
  double x0, x1, t0, t1; /* plot area and the times at its edges */
  double row_h;
  int labels;
} layout_t;

static double xpos(const layout_t *l, double t) {
  return l->x0 + (t - l->t0) / (l->t1 - l->t0) * (l->x1 - l->x0);
}

static double nice_step(double span, int ticks) {
  double raw = span / ticks, mag = pow(10, floor(log10(raw))), norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

static void fmt_secs(double s, char *buf, size_t len) {
  if (s < 1)
    snprintf(buf, len, "%.3g ms", s * 1e3);
  else
    snprintf(buf, len, s < 100 ? "%.3g s" : "%.0f s", s);
}

static void svg_heading(FILE *f, const lf__trace_t *t, const char *title, int peak) {
  static lf__stats_t st; /* ~9 kB: not on the stack */
  lf__stats_init(&st);
  size_t failed = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < t->n; i++) {
    lf__stats_add(&st, t->v[i].tm.total);
    failed += t->v[i].status != LF_REC_SAVED;
    bytes += t->v[i].bytes;
  }
  fprintf(f, "<text x=\"%.0f\" y=\"30\" font-size=\"18\" font-weight=\"bold\">", PAD);
  xml_str(f, title ? title : "loopfetch", 0);
  fprintf(f, "</text>\n<text x=\"%.0f\" y=\"50\" font-size=\"12\" fill=\"#555\">", PAD);
  char b[32], p50[32], p90[32], p99[32], mx[32];
  fmt_secs(lf__stats_percentile(&st, 50), p50, sizeof(p50));
  fmt_secs(lf__stats_percentile(&st, 90), p90, sizeof(p90));
  fmt_secs(lf__stats_percentile(&st, 99), p99, sizeof(p99));
  fmt_secs(lf__stats_max(&st), mx, sizeof(mx));
  fprintf(f, "%zu transfers, %zu failed, %s; last byte after p50 %s, p90 %s, p99 %s, max %s; ",
          t->n, failed, lf__format_bytes(bytes, b, sizeof(b)), p50, p90, p99, mx);
  fprintf(f, "peak %d in flight", peak);
  if (t->added > t->n) fprintf(f, "; %zu not transferred", t->added - t->n);
  fputs("</text>\n", f);
  double x = PAD;
  for (int p = 0; p <= PH_N; p++) { /* legend; the extra entry is "failed" */
    const char *name = p < PH_N ? phase_name[p] : "failed";
    fprintf(f,
            "<rect x=\"%.0f\" y=\"62\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%.0f\" y=\"72\" font-size=\"12\">%s</text>\n",
            x, p < PH_N ? phase_color[p] : FAILED_COLOR, x + 16, name);
    x += 24 + 7.5 * (double)strlen(name);
  }
}

/* Vertical grid lines and labels in seconds under the chart, from top to bottom. */
static void svg_axis(FILE *f, const layout_t *l, double top, double bottom) {
  double step = nice_step(l->t1 - l->t0, 10);
  fputs("<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n", f);
  for (double v = ceil(l->t0 / step) * step; v <= l->t1 + step * 1e-9; v += step)
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", xpos(l, v), top,
            xpos(l, v), bottom);
  fputs("</g>\n<g font-size=\"11\" fill=\"#333\" text-anchor=\"middle\">\n", f);
  for (double v = ceil(l->t0 / step) * step; v <= l->t1 + step * 1e-9; v += step)
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">%g s</text>\n", xpos(l, v), bottom + 14,
            fabs(v) < step * 1e-9 ? 0.0 : v);
  fprintf(f,
          "</g>\n<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" fill=\"#555\" "
          "text-anchor=\"end\">time since start</text>\n",
          l->x1, bottom + 30);
}

static void svg_rect(FILE *f, double x0, double x1, double y, double h, const char *color) {
  fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", x0, y,
          x1 - x0, h, color);
}

/* Hover text: what the bar is, its outcome and its phase durations. */
static void svg_tooltip(FILE *f, const entry_t *e, const seg_t *seg, int n) {
  char b[32];
  fputs("<title>", f);
  if (e->file) {
    xml_str(f, e->file, 0);
    fputc('\n', f);
  }
  xml_str(f, e->url, 0);
  fprintf(f, "\n%s, HTTP %ld, %s, %d attempt%s", lf__rec_status_name(e->status), e->http_code,
          lf__format_bytes(e->bytes, b, sizeof(b)), e->attempts, e->attempts == 1 ? "" : "s");
  if (e->error) {
    fputs(": ", f);
    xml_str(f, e->error, 0);
  }
  fprintf(f, "\nstart %.3f s, queued %.3f s", e->start, e->tm.queued);
  for (int i = 0; i < n; i++)
    fprintf(f, ", %s %.3f s", phase_name[seg[i].phase], seg[i].t1 - seg[i].t0);
  fputs("</title>", f);
}

static void svg_bar(FILE *f, const layout_t *l, const entry_t *e, double y) {
  double h = l->row_h >= 4 ? l->row_h * 0.8 : l->row_h, x_start = xpos(l, e->start);
  seg_t seg[PH_N];
  int n = entry_phases(e, seg);
  fputs("<g class=\"bar\">", f);
  svg_tooltip(f, e, seg, n);
  if (l->labels) {
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.0f\" text-anchor=\"end\">", l->x0 - 6,
            y + h - 1, fmin(11, l->row_h - 2));
    xml_str(f, e->file ? e->file : e->url, 32);
    fputs("</text>", f);
  }
  if (e->tm.queued > 0) svg_rect(f, xpos(l, e->start - e->tm.queued), x_start, y, h, "#d4d4d4");
  double x_end = xpos(l, e->start + entry_end(e));
  if (e->status != LF_REC_SAVED || x_end - x_start < 1) {
    /* Failures in red; transfers too short to split still get a visible pixel. */
    const char *color = e->status != LF_REC_SAVED ? FAILED_COLOR : phase_color[PH_RECEIVE];
    svg_rect(f, x_start, fmax(x_end, x_start + 1), y, h, color);
  } else {
    for (int i = 0; i < n; i++)
      svg_rect(f, xpos(l, e->start + seg[i].t0), xpos(l, e->start + seg[i].t1), y, h,
               phase_color[seg[i].phase]);
  }
  fputs("</g>\n", f);
}

/* Transfers in flight over time, averaged over each pixel column so that the path stays
 * small and gaps of a microsecond between back-to-back transfers do not draw as lines. */
static int svg_chart(FILE *f, const layout_t *l, const step_t *s, size_t len, int peak,
                     double top) {
  size_t cols = (size_t)(l->x1 - l->x0);
  double *avg = calloc(cols, sizeof(*avg)), dt = (l->t1 - l->t0) / (double)cols;
  if (!avg) return LF_ENOMEM;
  for (size_t i = 0; i + 1 < len; i++) { /* level s[i].delta holds over [t_i, t_i+1) */
    double a = (s[i].t - l->t0) / dt, b = (s[i + 1].t - l->t0) / dt;
    for (size_t c = (size_t)fmax(0, floor(a)); c < cols && (double)c < b; c++)
      avg[c] += s[i].delta * (fmin(b, (double)c + 1) - fmax(a, (double)c));
  }
  double bottom = top + CHART_H, scale = peak ? (CHART_H - 4) / peak : 0;
  fprintf(f,
          "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">"
          "in flight</text>\n<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" fill=\"#555\" "
          "text-anchor=\"end\">peak %d</text>\n",
          l->x0 - 6, top + CHART_H / 2, l->x0 - 6, top + CHART_H / 2 + 13, peak);
  fprintf(f, "<path fill=\"#4e79a7\" fill-opacity=\"0.45\" d=\"M%.0f %.2f", l->x0, bottom);
  double prev = bottom;
  for (size_t c = 0; c < cols; c++) { /* a step only where the level changes */
    double y = bottom - avg[c] * scale;
    if (fabs(y - prev) >= 0.01) fprintf(f, " H%.0f V%.2f", l->x0 + (double)c, y);
    prev = y;
  }
  fprintf(f, " H%.0f V%.2f Z\"/>\n", l->x0 + (double)cols, bottom);
  fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\"/>\n", l->x0,
          bottom, l->x1, bottom);
  free(avg);
  return 0;
}

static layout_t svg_layout(const lf__trace_t *t) {
  layout_t l = {.t0 = 0, .t1 = 0};
  for (size_t i = 0; i < t->n; i++) {
    const entry_t *e = &t->v[i];
    l.t0 = fmin(l.t0, e->start - e->tm.queued);
    l.t1 = fmax(l.t1, e->start + entry_end(e));
  }
  if (l.t1 - l.t0 < 1e-3) l.t1 = l.t0 + 1e-3;
  l.row_h = t->n ? fmin(MAX_ROW_H, MAX_PLOT_H / (double)t->n) : MAX_ROW_H;
  l.labels = l.row_h >= LABEL_MIN_ROW_H;
  /* Without labels the margin still holds the chart's caption. */
  l.x0 = PAD + (l.labels ? LABEL_W : 70);
  l.x1 = SVG_W - PAD - 12;
  return l;
}

int lf__trace_write_svg(lf__trace_t *t, const char *path, const char *title, char *errbuf,
                        size_t errlen) {
  if (t->n) qsort(t->v, t->n, sizeof(*t->v), cmp_start);
  step_t *steps;
  size_t nsteps;
  int peak;
  if (in_flight_steps(t->v, t->n, &steps, &nsteps, &peak) < 0) {
    snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
    return LF_ENOMEM;
  }
  int err = 0;
  FILE *f = open_out(path, errbuf, errlen, &err);
  if (!f) {
    free(steps);
    return err;
  }
  layout_t l = svg_layout(t);
  double plot_h = fmax((double)t->n * l.row_h, MAX_ROW_H);
  double chart_top = PLOT_TOP + plot_h + 10, height = chart_top + CHART_H + 44;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
          SVG_W, height, SVG_W, height);
  svg_heading(f, t, title, peak);
  svg_axis(f, &l, PLOT_TOP - 4, chart_top + CHART_H);
  for (size_t i = 0; i < t->n; i++)
    svg_bar(f, &l, &t->v[i], PLOT_TOP + (double)i * l.row_h);
  err = svg_chart(f, &l, steps, nsteps, peak, chart_top);
  fputs("</svg>\n", f);
  free(steps);
  int rc = close_out(f, path, errbuf, errlen);
  if (err) snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
  return err ? err : rc;
}
