/* One-line progress: counters to text that fits the terminal, and the escapes that redraw it. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "progress.h"

/* Samples closer together than this are skipped, so the ring always spans the window. */
#define MIN_SPACING (LF__PROGRESS_WINDOW / 16)

void lf__progress_init(lf__progress_t *p, double now) {
  memset(p, 0, sizeof(*p));
  p->start = now;
  p->samples[0] = (lf__progress_sample_t){.t = now};
  p->count = 1;
}

static const lf__progress_sample_t *newest(const lf__progress_t *p) {
  return &p->samples[(p->first + p->count - 1) % LF__PROGRESS_SAMPLES];
}

void lf__progress_sample(lf__progress_t *p, double now) {
  if (p->count && now - newest(p)->t < MIN_SPACING) return;
  unsigned slot;
  if (p->count < LF__PROGRESS_SAMPLES) {
    slot = (p->first + p->count++) % LF__PROGRESS_SAMPLES;
  } else { /* full: the oldest gives way */
    slot = p->first;
    p->first = (p->first + 1) % LF__PROGRESS_SAMPLES;
  }
  p->samples[slot] = (lf__progress_sample_t){.t = now, .done = p->done, .bytes = p->bytes};
}

void lf__progress_rates(const lf__progress_t *p, double now, double *pages_per_s,
                        double *bytes_per_s) {
  *pages_per_s = *bytes_per_s = 0;
  if (p->count == 0) return;
  /* Measure from the newest sample at least a window old, or else from the oldest one. */
  const lf__progress_sample_t *base = &p->samples[p->first];
  for (unsigned i = 0; i < p->count; i++) {
    const lf__progress_sample_t *s = &p->samples[(p->first + i) % LF__PROGRESS_SAMPLES];
    if (now - s->t >= LF__PROGRESS_WINDOW) base = s;
  }
  double dt = now - base->t;
  if (dt < 1e-3) return;
  if (p->done > base->done) *pages_per_s = (double)(p->done - base->done) / dt;
  if (p->bytes > base->bytes) *bytes_per_s = (double)(p->bytes - base->bytes) / dt;
}

char *lf__format_bytes(uint64_t bytes, char *buf, size_t len) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 1000) {
    snprintf(buf, len, "%u B", (unsigned)bytes);
    return buf;
  }
  double v = (double)bytes;
  size_t u = 0;
  /* Switch unit on the rounded value, so 999.96 kB shows as 1.0 MB rather than 1000.0 kB. */
  while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 999.95) {
    v /= 1000;
    u++;
  }
  snprintf(buf, len, v < 99.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

char *lf__format_duration(double secs, char *buf, size_t len) {
  if (!(secs > 0)) secs = 0;      /* also NaN */
  if (secs > 3.6e9) secs = 3.6e9; /* keeps the hours in range */
  unsigned long s = (unsigned long)(secs + 0.5);
  if (s < 60)
    snprintf(buf, len, "%lus", s);
  else if (s < 3600)
    snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
  else
    snprintf(buf, len, "%luh%02lum", s / 3600, s / 60 % 60);
  return buf;
}

/* The fields in display order, and the order in which they claim space (the count first). */
enum {
  F_COUNT,
  F_PERCENT,
  F_FLIGHT,
  F_RETRY,
  F_QUEUED,
  F_FAILED,
  F_BYTES,
  F_RATE,
  F_BRATE,
  F_ELAPSED,
  F_ETA,
  F_N
};
static const int importance[F_N] = {F_COUNT,  F_FAILED, F_RETRY, F_ETA,   F_RATE,   F_PERCENT,
                                    F_FLIGHT, F_QUEUED, F_BYTES, F_BRATE, F_ELAPSED};

#define FIELD_MAX 64
#define SEP " | "

static void make_fields(const lf__progress_t *p, double now, char f[F_N][FIELD_MAX]) {
  char a[32];
  double pps, bps;
  lf__progress_rates(p, now, &pps, &bps);
  for (int i = 0; i < F_N; i++)
    f[i][0] = '\0';
  if (p->total) {
    snprintf(f[F_COUNT], FIELD_MAX, "%zu/%zu pages", p->done, p->total);
    snprintf(f[F_PERCENT], FIELD_MAX, "%d%%",
             p->done >= p->total ? 100 : (int)(100.0 * (double)p->done / (double)p->total));
  } else {
    snprintf(f[F_COUNT], FIELD_MAX, "%zu pages", p->done);
  }
  snprintf(f[F_FLIGHT], FIELD_MAX, "%zu in flight", p->in_flight);
  if (p->retrying) snprintf(f[F_RETRY], FIELD_MAX, "%zu waiting to retry", p->retrying);
  if (p->queued) snprintf(f[F_QUEUED], FIELD_MAX, "%zu queued", p->queued);
  if (p->failed) snprintf(f[F_FAILED], FIELD_MAX, "%zu failed", p->failed);
  snprintf(f[F_BYTES], FIELD_MAX, "%s", lf__format_bytes(p->bytes, a, sizeof(a)));
  snprintf(f[F_RATE], FIELD_MAX, pps < 99.95 ? "%.1f pages/s" : "%.0f pages/s", pps);
  snprintf(f[F_BRATE], FIELD_MAX, "%s/s", lf__format_bytes((uint64_t)bps, a, sizeof(a)));
  snprintf(f[F_ELAPSED], FIELD_MAX, "elapsed %s",
           lf__format_duration(now - p->start, a, sizeof(a)));
  if (p->total > p->done && pps > 0)
    snprintf(f[F_ETA], FIELD_MAX, "ETA %s",
             lf__format_duration(ceil((double)(p->total - p->done) / pps), a, sizeof(a)));
}

/* Columns the present fields take, joined. The percentage follows the count after a space. */
static size_t line_width(char f[F_N][FIELD_MAX]) {
  size_t w = 0;
  for (int i = 0; i < F_N; i++) {
    if (!f[i][0]) continue;
    if (w) w += i == F_PERCENT ? 1 : strlen(SEP);
    w += strlen(f[i]);
  }
  return w;
}

/* Keeps the fields that fit, most important first; a field too wide for what is left gives
 * its place to smaller, less important ones. The count always stays. */
static void fit(char f[F_N][FIELD_MAX], size_t limit) {
  char kept[F_N][FIELD_MAX];
  for (int i = 0; i < F_N; i++)
    kept[i][0] = '\0';
  for (int k = 0; k < F_N; k++) {
    int i = importance[k];
    memcpy(kept[i], f[i], FIELD_MAX);
    if (i != F_COUNT && line_width(kept) > limit) kept[i][0] = '\0';
  }
  memcpy(f, kept, sizeof(kept));
}

size_t lf__progress_render(const lf__progress_t *p, double now, char *buf, size_t len, int width) {
  if (len == 0) return 0;
  char f[F_N][FIELD_MAX];
  make_fields(p, now, f);
  size_t limit = width > 0 ? (size_t)width : (size_t)-1;
  fit(f, limit);
  if (limit > len - 1) limit = len - 1;
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < F_N && n < limit; i++) {
    if (!f[i][0]) continue;
    const char *sep = n == 0 ? "" : i == F_PERCENT ? " " : SEP;
    /* snprintf truncates safely; n then counts what was actually written. */
    int w = snprintf(buf + n, limit + 1 - n, "%s%s", sep, f[i]);
    if (w < 0) break;
    n += (size_t)w < limit - n ? (size_t)w : limit - n;
  }
  return n;
}

int lf__progress_term_width(int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char *env = getenv("COLUMNS");
  long cols = env ? strtol(env, NULL, 10) : 0;
  return cols > 0 && cols < 10000 ? (int)cols : 80;
}

int lf__progress_draw(lf__progress_t *p, FILE *f, double now) {
  char line[512];
  lf__progress_sample(p, now);
  int width = p->width > 0 ? p->width : lf__progress_term_width(fileno(f));
  if (width < 2) width = 2;
  lf__progress_render(p, now, line, sizeof(line), width - 1);
  if (fprintf(f, "\r%s\x1b[K", line) < 0 || fflush(f) != 0) return -1;
  return 0;
}

int lf__progress_clear(FILE *f) {
  if (fputs("\r\x1b[K", f) == EOF || fflush(f) != 0) return -1;
  return 0;
}
