/* The one-line progress display on a terminal:
 *
 *   120/233 pages 51% | 64 in flight | 12.3 MB | 45.2 pages/s | 3.1 MB/s | elapsed 2s | ETA 2s
 *
 * ("N waiting to retry", "N queued" and "N failed" follow "in flight" when not 0). The job updates
 * the counters; a uv_timer calls lf__progress_draw() every 100 ms or so (drawing more often only
 * costs terminal output). Rates are measured over the last LF__PROGRESS_WINDOW seconds, so they
 * follow the current pace rather than the run's average. All times are seconds on one clock of the
 * caller's choice (e.g. lf_fetcher_now()). */
#ifndef LF_PROGRESS_H
#define LF_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LF__PROGRESS_WINDOW 2.0 /* seconds of history behind the rates */
#define LF__PROGRESS_SAMPLES 32 /* taken at least WINDOW / 16 apart: always > WINDOW of history */

typedef struct {
  double t;
  size_t done;
  uint64_t bytes;
} lf__progress_sample_t;

typedef struct lf__progress_s {
  /* Counters: the job sets or increments these. */
  size_t total;     /* pages expected; 0: unknown (input still being read) */
  size_t done;      /* pages finished, whatever the outcome (saved, failed, skipped) */
  size_t failed;    /* of done */
  size_t in_flight; /* transfers running now (with a connection) */
  size_t queued;    /* waiting for a slot or a connection; shown when not 0 */
  size_t retrying;  /* waiting to retry after a failed attempt; shown when not 0 */
  uint64_t bytes;   /* body bytes received */
  int width;        /* columns to fit the line in; 0: ask the terminal at each draw */
  /* Private: rate history. */
  double start;
  lf__progress_sample_t samples[LF__PROGRESS_SAMPLES];
  unsigned first, count; /* ring buffer of samples, oldest at first */
} lf__progress_t;

/* Zeroes the counters; `now` is the start of the run (elapsed time counts from it). */
void lf__progress_init(lf__progress_t *p, double now);

/* Remembers the counters at `now` for the rates. lf__progress_draw() calls it; call it yourself
 * only if you render without drawing. */
void lf__progress_sample(lf__progress_t *p, double now);

/* Pages and bytes per second over the last LF__PROGRESS_WINDOW seconds (0 until there is a
 * sample to measure from). */
void lf__progress_rates(const lf__progress_t *p, double now, double *pages_per_s,
                        double *bytes_per_s);

/* Writes the line (no newline, no escapes) into buf, at most `width` columns (width <= 0: no
 * limit) and len - 1 bytes. Fields claim the space most important first: the page count (cut
 * if it must be), failed, ETA, pages/s, percentage, in flight, bytes, MB/s, elapsed; one that
 * does not fit in what is left is skipped. "failed" shows only when some failed, ETA only when
 * the total is known and pages are finishing (rate > 0). Returns the length written. */
size_t lf__progress_render(const lf__progress_t *p, double now, char *buf, size_t len, int width);

/* Samples, then writes "\r" + line + "\x1b[K" to f and flushes it. The line is kept one column
 * short of the width so the cursor never wraps. Returns 0, or -1 if the write failed. */
int lf__progress_draw(lf__progress_t *p, FILE *f, double now);

/* Erases the line: call it before printing anything else on f, and at the end. */
int lf__progress_clear(FILE *f);

/* Columns of the terminal on fd (TIOCGWINSZ, then $COLUMNS), or 80. */
int lf__progress_term_width(int fd);

/* Formatting helpers, exposed for the summary and the tests. Each writes at most len - 1
 * bytes, NUL-terminated, and returns buf. */
char *lf__format_bytes(uint64_t bytes, char *buf, size_t len); /* "999 B", "12.3 MB" */
char *lf__format_duration(double secs, char *buf, size_t len); /* "42s", "3m07s", "1h05m" */

#endif
