/* The in-flight window: the rule, and the timer on a real loop that is idle or kept busy. */
#include <stdlib.h>
#include <uv.h>
#include "test.h"
#include "window.h"

#define MS 1000000ull

static unsigned widened[8], n_widened;

static void on_widen(lf__window_t *w, unsigned size) {
  (void)w;
  if (n_widened < 8) widened[n_widened] = size;
  n_widened++;
}

static size_t backlog_now;
static size_t backlog(lf__window_t *w) {
  (void)w;
  return backlog_now;
}

static void on_stop(uv_timer_t *t) {
  uv_stop(t->loop);
}

/* Spins 1 ms per loop turn: the loop never waits in epoll. */
static void on_spin(uv_idle_t *h) {
  (void)h;
  uint64_t until = uv_hrtime() + MS;
  while (uv_hrtime() < until) {
  }
}

/* Runs a loop for ms with (busy) or without a spinning idle handle, while backlog_now pages
 * wait for the disk; returns the window. */
static lf__window_t run(unsigned max, int busy, size_t disk, unsigned ms) {
  uv_loop_t loop;
  uv_timer_t stop;
  uv_idle_t spin;
  lf__window_t w = {0};
  n_widened = 0;
  backlog_now = disk;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(uv_loop_configure(&loop, UV_METRICS_IDLE_TIME), 0);
  CHECK_EQ_INT(lf__window_start(&loop, &w, max, on_widen, backlog), 0);
  CHECK_EQ_INT(uv_timer_init(&loop, &stop), 0);
  CHECK_EQ_INT(uv_timer_start(&stop, on_stop, ms, 0), 0);
  CHECK_EQ_INT(uv_idle_init(&loop, &spin), 0);
  if (busy) CHECK_EQ_INT(uv_idle_start(&spin, on_spin), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  lf__window_stop(&w);
  uv_close((uv_handle_t *)&stop, NULL);
  uv_close((uv_handle_t *)&spin, NULL);
  uv_run(&loop, UV_RUN_DEFAULT); /* close callbacks */
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  return w;
}

int main(void) {
  /* The rule: doubles when idle at least half of the tick, up to max; else unchanged. */
  CHECK_EQ_INT(lf__window_next(256, 512, 10 * MS, 20 * MS, 0), 512);
  CHECK_EQ_INT(lf__window_next(256, 1000, 15 * MS, 20 * MS, 0), 512);
  CHECK_EQ_INT(lf__window_next(512, 1000, 20 * MS, 20 * MS, 0), 1000);
  CHECK_EQ_INT(lf__window_next(256, 300, 20 * MS, 20 * MS, 0), 300);
  CHECK_EQ_INT(lf__window_next(256, 512, 9 * MS, 20 * MS, 0), 256);
  CHECK_EQ_INT(lf__window_next(256, 512, 0, 20 * MS, 0), 256);
  CHECK_EQ_INT(lf__window_next(512, 512, 20 * MS, 20 * MS, 0), 512);
  CHECK_EQ_INT(lf__window_next(256, 512, 0, 0, 0), 256);
  /* Idle because the disk is behind: more connections would not help. */
  CHECK_EQ_INT(lf__window_next(256, 512, 20 * MS, 20 * MS, 32), 512);
  CHECK_EQ_INT(lf__window_next(256, 512, 20 * MS, 20 * MS, 33), 256);

  /* At most LF__WINDOW_START to begin with; a small job needs no timer at all. */
  uv_loop_t loop;
  lf__window_t w = {0};
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(lf__window_start(&loop, &w, 100, on_widen, backlog), 0);
  CHECK_EQ_INT(w.size, 100);
  CHECK_EQ_INT(uv_loop_alive(&loop), 0);
  lf__window_stop(&w);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);

  /* An idle loop: 256 -> 512 -> 1000 within a few ticks, then the timer is gone. */
  w = run(1000, 0, 0, 10 * LF__WINDOW_TICK_MS);
  CHECK_EQ_INT(w.size, 1000);
  CHECK_EQ_INT(n_widened, 2);
  CHECK_EQ_INT(widened[0], 512);
  CHECK_EQ_INT(widened[1], 1000);

  /* A loop that never waits: the window stays where it started. */
  w = run(1000, 1, 0, 10 * LF__WINDOW_TICK_MS);
  CHECK_EQ_INT(w.size, LF__WINDOW_START);
  CHECK_EQ_INT(n_widened, 0);
  /* An idle loop whose pages wait for the disk: the window stays too. */
  w = run(1000, 0, 100, 10 * LF__WINDOW_TICK_MS);
  CHECK_EQ_INT(w.size, LF__WINDOW_START);
  CHECK_EQ_INT(n_widened, 0);
  return lf_test_report();
}
