/* The progress line: unit formatting, fitting into a width, unknown totals, ETA, the sliding
 * rate window, and the escapes written around the line. */
#include <stdlib.h>
#include "progress.h"
#include "test.h"

static char buf[512];

static const char *render(const lf__progress_t *p, double now, int width) {
  size_t n = lf__progress_render(p, now, buf, sizeof(buf), width);
  CHECK_EQ_INT(n, strlen(buf));
  if (width > 0) CHECK(n <= (size_t)width);
  return buf;
}

static void test_units(void) {
  char b[32];
  CHECK_EQ_STR(lf__format_bytes(0, b, sizeof(b)), "0 B");
  CHECK_EQ_STR(lf__format_bytes(999, b, sizeof(b)), "999 B");
  CHECK_EQ_STR(lf__format_bytes(1000, b, sizeof(b)), "1.0 kB");
  CHECK_EQ_STR(lf__format_bytes(12345678, b, sizeof(b)), "12.3 MB");
  CHECK_EQ_STR(lf__format_bytes(123456789, b, sizeof(b)), "123 MB");
  CHECK_EQ_STR(lf__format_bytes(999960, b, sizeof(b)), "1.0 MB"); /* not "1000.0 kB" */
  CHECK_EQ_STR(lf__format_bytes(2500000000u, b, sizeof(b)), "2.5 GB");
  CHECK_EQ_STR(lf__format_bytes(UINT64_MAX, b, sizeof(b)), "18.4 EB");
  CHECK_EQ_STR(lf__format_bytes(12345678, b, 5), "12.3"); /* truncated, still terminated */

  CHECK_EQ_STR(lf__format_duration(0, b, sizeof(b)), "0s");
  CHECK_EQ_STR(lf__format_duration(-3, b, sizeof(b)), "0s");
  CHECK_EQ_STR(lf__format_duration(41.6, b, sizeof(b)), "42s");
  CHECK_EQ_STR(lf__format_duration(187, b, sizeof(b)), "3m07s");
  CHECK_EQ_STR(lf__format_duration(3900, b, sizeof(b)), "1h05m");
  CHECK_EQ_STR(lf__format_duration(1e300, b, sizeof(b)), "1000000h00m");
}

/* 100 pages in 2 s at a steady pace: 50 pages/s, 1 MB/s; 233 - 100 left: ETA 3s. */
static void steady(lf__progress_t *p) {
  lf__progress_init(p, 10.0);
  p->total = 233;
  for (int i = 1; i <= 20; i++) {
    p->done += 5;
    p->bytes += 100000;
    lf__progress_sample(p, 10.0 + i * 0.1);
  }
  p->in_flight = 64;
}

static void test_full_line(void) {
  lf__progress_t p;
  steady(&p);
  CHECK_EQ_STR(render(&p, 12.0, 0), "100/233 pages 42% | 64 in flight | 2.0 MB | 50.0 pages/s | "
                                    "1.0 MB/s | elapsed 2s | ETA 3s");
  p.failed = 3;
  CHECK_EQ_STR(render(&p, 12.0, 200),
               "100/233 pages 42% | 64 in flight | 3 failed | 2.0 MB | 50.0 pages/s | "
               "1.0 MB/s | elapsed 2s | ETA 3s");
}

static void test_widths(void) {
  lf__progress_t p;
  steady(&p);
  p.failed = 3;
  /* Narrower and narrower: the most important fields keep their place. */
  CHECK_EQ_STR(render(&p, 12.0, 90), "100/233 pages 42% | 64 in flight | 3 failed | 2.0 MB | "
                                     "50.0 pages/s | 1.0 MB/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 76),
               "100/233 pages 42% | 64 in flight | 3 failed | 2.0 MB | 50.0 pages/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 75),
               "100/233 pages 42% | 64 in flight | 3 failed | 50.0 pages/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 65),
               "100/233 pages 42% | 3 failed | 2.0 MB | 50.0 pages/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 52), "100/233 pages 42% | 3 failed | 50.0 pages/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 51), "100/233 pages | 3 failed | 50.0 pages/s | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 40), "100/233 pages 42% | 3 failed | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 35), "100/233 pages | 3 failed | ETA 3s");
  CHECK_EQ_STR(render(&p, 12.0, 30), "100/233 pages 42% | 3 failed");
  CHECK_EQ_STR(render(&p, 12.0, 20), "100/233 pages 42%");
  CHECK_EQ_STR(render(&p, 12.0, 15), "100/233 pages");
  CHECK_EQ_STR(render(&p, 12.0, 8), "100/233 "); /* the count is cut, never overflows */
  CHECK_EQ_STR(render(&p, 12.0, 1), "1");
  char tiny[6];
  CHECK_EQ_INT(lf__progress_render(&p, 12.0, tiny, sizeof(tiny), 80), 5); /* buffer bound */
  CHECK_EQ_STR(tiny, "100/2");
  CHECK_EQ_INT(lf__progress_render(&p, 12.0, tiny, 0, 80), 0);
}

static void test_unknown_total(void) {
  lf__progress_t p;
  steady(&p);
  p.total = 0; /* input still being read: no total, no percentage, no ETA */
  CHECK_EQ_STR(render(&p, 12.0, 0),
               "100 pages | 64 in flight | 2.0 MB | 50.0 pages/s | 1.0 MB/s | elapsed 2s");
  lf__progress_init(&p, 0);
  CHECK_EQ_STR(render(&p, 0, 0), "0 pages | 0 in flight | 0 B | 0.0 pages/s | 0 B/s | elapsed 0s");
}

static void test_eta(void) {
  lf__progress_t p;
  steady(&p);
  /* Stalled: nothing finished in the last window, so no rate and no ETA. */
  CHECK_EQ_STR(render(&p, 20.0, 0),
               "100/233 pages 42% | 64 in flight | 2.0 MB | 0.0 pages/s | 0 B/s | elapsed 10s");
  steady(&p);
  p.done = 233; /* finished: 100%, no ETA */
  CHECK(strstr(render(&p, 12.0, 0), "233/233 pages 100%") == buf);
  CHECK(strstr(buf, "ETA") == NULL);
  lf__progress_init(&p, 0);
  p.total = 150 + 50 * 3600; /* after 3 s at 50 pages/s, an hour is left */
  for (int i = 1; i <= 30; i++) {
    p.done += 5;
    lf__progress_sample(&p, i * 0.1);
  }
  CHECK(strstr(render(&p, 3.0, 0), "ETA 1h00m") != NULL);
}

/* The rate follows the last ~2 s, not the average since the start. */
static void test_window(void) {
  lf__progress_t p;
  lf__progress_init(&p, 0);
  double now = 0;
  for (int i = 0; i < 100; i++) { /* 10 s at 100 pages/s */
    now += 0.1;
    p.done += 10;
    lf__progress_sample(&p, now);
  }
  for (int i = 0; i < 30; i++) { /* then 3 s at 10 pages/s */
    now += 0.1;
    p.done += 1;
    lf__progress_sample(&p, now);
  }
  double pps, bps;
  lf__progress_rates(&p, now, &pps, &bps);
  CHECK(pps > 9.9 && pps < 10.1); /* the run's average would be 77 */
  CHECK(bps == 0);
  /* Frequent samples do not shrink the window: they are thinned out. */
  for (int i = 0; i < 1000; i++) {
    now += 0.001;
    p.done += 1;
    lf__progress_sample(&p, now);
  }
  lf__progress_rates(&p, now, &pps, &bps);
  CHECK(pps > 400 && pps < 600); /* ~1000 pages over ~2 s */
  /* Early on, the rate is measured from the start. */
  lf__progress_init(&p, 5.0);
  p.done = 10;
  lf__progress_rates(&p, 5.5, &pps, &bps);
  CHECK(pps > 19.9 && pps < 20.1);
  lf__progress_rates(&p, 5.0, &pps, &bps); /* no time passed: no rate */
  CHECK(pps == 0);
}

static void test_draw(void) {
  char *out = NULL;
  size_t out_len = 0;
  FILE *f = open_memstream(&out, &out_len);
  CHECK(f != NULL);
  if (!f) return;
  lf__progress_t p;
  steady(&p);
  p.width = 31; /* drawn one column short: 30 */
  CHECK_EQ_INT(lf__progress_draw(&p, f, 12.0), 0);
  CHECK_EQ_INT(lf__progress_clear(f), 0);
  CHECK_EQ_INT(fclose(f), 0);
  CHECK_EQ_STR(out, "\r100/233 pages 42% | ETA 3s\x1b[K\r\x1b[K");
  free(out);
  CHECK(lf__progress_term_width(-1) > 0);
}

int main(void) {
  test_units();
  test_full_line();
  test_widths();
  test_unknown_total();
  test_eta();
  test_window();
  test_draw();
  return lf_test_report();
}
