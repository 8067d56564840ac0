/* The in-flight window of a command-line job whose concurrency was not given (-c).
 *
 * Many transfers at once help only while the loop waits for servers. When pages come back as
 * fast as the loop can take them (small pages, no latency), more connections only add work:
 * 10,000 small pages from a local nginx run ~15 % slower, with 10 MB more memory, at 512 in
 * flight than at 256 (bench/RESULTS.md, "Fourth session"). So a job starts at most
 * LF__WINDOW_START transfers and a uv_timer doubles the window, up to the job's maximum,
 * after each LF__WINDOW_TICK_MS in which the loop was idle at least half of the time (waiting
 * in epoll) while few pages waited for the disk: then the servers are the bottleneck. A loop
 * idle because the disk is behind (10,000s of files on ext4) gains nothing from more
 * connections, only memory. Idle time is libuv's own (uv_metrics_idle_time; the loop must be
 * configured with UV_METRICS_IDLE_TIME). The window never shrinks. */
#ifndef LF_WINDOW_H
#define LF_WINDOW_H

#include <stdint.h>
#include <uv.h>

#define LF__WINDOW_START 256
#define LF__WINDOW_TICK_MS 20

typedef struct lf__window_s lf__window_t;
typedef void (*lf__window_cb)(lf__window_t *w, unsigned size);
typedef size_t (*lf__window_backlog_cb)(lf__window_t *w); /* pages waiting for the disk */

struct lf__window_s {
  void *data;    /* the owner's */
  unsigned size; /* transfers allowed in flight now */
  unsigned max;  /* never more than this */
  /* Private. */
  uv_timer_t timer;
  uint64_t idle_ns, tick_ns; /* uv_metrics_idle_time() and uv_hrtime() at the last tick */
  lf__window_cb on_widen;
  lf__window_backlog_cb backlog;
  int running;
};

/* The window after a tick of elapsed_ns in which the loop was idle idle_ns, with backlog pages
 * waiting for the disk: doubled (at most max) when idle at least half of the tick and the
 * backlog is at most size / 8, else unchanged. */
unsigned lf__window_next(unsigned size, unsigned max, uint64_t idle_ns, uint64_t elapsed_ns,
                         size_t backlog);

/* size = min(LF__WINDOW_START, max). When that is below max, starts the timer, which asks
 * backlog(w) at each tick and calls on_widen(w, new size) each time the window grows. Returns 0
 * or a negative libuv error (the window then stays at its start size). The timer never keeps
 * the loop alive by itself. */
int lf__window_start(uv_loop_t *loop, lf__window_t *w, unsigned max, lf__window_cb on_widen,
                     lf__window_backlog_cb backlog);

/* Stops widening and closes the timer (the struct may be freed once the loop has run the close
 * callback: after uv_run returns). Safe to call more than once, and without a start. */
void lf__window_stop(lf__window_t *w);

#endif
