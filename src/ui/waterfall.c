/* The SVG waterfall of a trace (--waterfall): one bar per transfer, sorted by start, its
 * phases in their colors, a time axis, a legend and the in-flight chart below (src/ui/trace.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "progress.h"
#include "stats.h"
#include "trace_internal.h"

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
  lf__trace_xml_str(f, title ? title : "loopfetch", 0);
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
    const char *name = p < PH_N ? lf__trace_phase_name[p] : "failed";
    fprintf(f,
            "<rect x=\"%.0f\" y=\"62\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%.0f\" y=\"72\" font-size=\"12\">%s</text>\n",
            x, p < PH_N ? lf__trace_phase_color[p] : FAILED_COLOR, x + 16, name);
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
    lf__trace_xml_str(f, e->file, 0);
    fputc('\n', f);
  }
  lf__trace_xml_str(f, e->url, 0);
  fprintf(f, "\n%s, HTTP %ld, %s, %d attempt%s", lf__rec_status_name(e->status), e->http_code,
          lf__format_bytes(e->bytes, b, sizeof(b)), e->attempts, e->attempts == 1 ? "" : "s");
  if (e->error) {
    fputs(": ", f);
    lf__trace_xml_str(f, e->error, 0);
  }
  fprintf(f, "\nstart %.3f s, queued %.3f s", e->start, e->tm.queued);
  for (int i = 0; i < n; i++)
    fprintf(f, ", %s %.3f s", lf__trace_phase_name[seg[i].phase], seg[i].t1 - seg[i].t0);
  fputs("</title>", f);
}

static void svg_bar(FILE *f, const layout_t *l, const entry_t *e, double y) {
  double h = l->row_h >= 4 ? l->row_h * 0.8 : l->row_h, x_start = xpos(l, e->start);
  seg_t seg[PH_N];
  int n = lf__trace_entry_phases(e, seg);
  fputs("<g class=\"bar\">", f);
  svg_tooltip(f, e, seg, n);
  if (l->labels) {
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.0f\" text-anchor=\"end\">", l->x0 - 6,
            y + h - 1, fmin(11, l->row_h - 2));
    lf__trace_xml_str(f, e->file ? e->file : e->url, 32);
    fputs("</text>", f);
  }
  if (e->tm.queued > 0) svg_rect(f, xpos(l, e->start - e->tm.queued), x_start, y, h, "#d4d4d4");
  double x_end = xpos(l, e->start + lf__trace_entry_end(e));
  if (e->status != LF_REC_SAVED || x_end - x_start < 1) {
    /* Failures in red; transfers too short to split still get a visible pixel. */
    const char *color =
        e->status != LF_REC_SAVED ? FAILED_COLOR : lf__trace_phase_color[PH_RECEIVE];
    svg_rect(f, x_start, fmax(x_end, x_start + 1), y, h, color);
  } else {
    for (int i = 0; i < n; i++)
      svg_rect(f, xpos(l, e->start + seg[i].t0), xpos(l, e->start + seg[i].t1), y, h,
               lf__trace_phase_color[seg[i].phase]);
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
    l.t1 = fmax(l.t1, e->start + lf__trace_entry_end(e));
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
  if (t->n) qsort(t->v, t->n, sizeof(*t->v), lf__trace_cmp_start);
  step_t *steps;
  size_t nsteps;
  int peak;
  if (lf__trace_in_flight_steps(t->v, t->n, &steps, &nsteps, &peak) < 0) {
    snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
    return LF_ENOMEM;
  }
  int err = 0;
  FILE *f = lf__trace_open_out(path, errbuf, errlen, &err);
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
  int rc = lf__trace_close_out(f, path, errbuf, errlen);
  if (err) snprintf(errbuf, errlen, "cannot write %s: out of memory", path);
  return err ? err : rc;
}
