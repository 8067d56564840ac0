/* The in-flight window of a job without -c: start moderate, widen while the loop is idle
 * (window.h says why). */
#include "window.h"

unsigned lf__window_next(unsigned size, unsigned max, uint64_t idle_ns, uint64_t elapsed_ns,
                         size_t backlog) {
  if (size >= max || elapsed_ns == 0 || idle_ns < elapsed_ns / 2 || backlog > size / 8) return size;
  return size > max / 2 ? max : size * 2;
}

static void on_tick(uv_timer_t *t) {
  lf__window_t *w = t->data;
  uint64_t idle = uv_metrics_idle_time(t->loop), now = uv_hrtime();
  unsigned next =
      lf__window_next(w->size, w->max, idle - w->idle_ns, now - w->tick_ns, w->backlog(w));
  w->idle_ns = idle;
  w->tick_ns = now;
  if (next == w->size) return;
  w->size = next;
  if (next == w->max) lf__window_stop(w); /* nothing left to widen */
  w->on_widen(w, next);
}

int lf__window_start(uv_loop_t *loop, lf__window_t *w, unsigned max, lf__window_cb on_widen,
                     lf__window_backlog_cb backlog) {
  w->max = max;
  w->size = max < LF__WINDOW_START ? max : LF__WINDOW_START;
  w->on_widen = on_widen;
  w->backlog = backlog;
  if (w->size == max) return 0;
  int rc = uv_timer_init(loop, &w->timer);
  if (rc < 0) return rc;
  w->timer.data = w;
  w->idle_ns = uv_metrics_idle_time(loop);
  w->tick_ns = uv_hrtime();
  rc = uv_timer_start(&w->timer, on_tick, LF__WINDOW_TICK_MS, LF__WINDOW_TICK_MS);
  if (rc < 0) {
    uv_close((uv_handle_t *)&w->timer, NULL);
    return rc;
  }
  uv_unref((uv_handle_t *)&w->timer);
  w->running = 1;
  return 0;
}

void lf__window_stop(lf__window_t *w) {
  if (!w->running) return;
  w->running = 0;
  uv_close((uv_handle_t *)&w->timer, NULL);
}
