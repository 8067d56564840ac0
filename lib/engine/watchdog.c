/* The stall watchdog: a transfer that hands on no body byte for stall_timeout_ms fails (and is
 * retried), whatever holds it up: a silent server, a decoder that turns input into nothing, or
 * a pause that never ends. libcurl's own detector (CURLOPT_LOW_SPEED_*) cannot be the rule:
 * 7.88's Curl_speedcheck() skips paused transfers ("A paused transfer is not qualified for
 * speed checks"), it counts encoded bytes, and it runs only when libcurl runs the handle. So
 * one timer per fetcher ticks while transfers are on the network and looks at each one's
 * progress stamp (t->progress_ms, set by transfer.c). */
#include "internal.h"

static uint64_t tick_ms(const lf_fetcher_t *f) {
  uint64_t ms = (uint64_t)f->opts.stall_timeout_ms / 4; /* fires within 1.25 x the timeout */
  return ms < 50 ? 50 : ms > 1000 ? 1000 : ms;
}

void lf__watchdog_arm(lf_fetcher_t *f) {
  if (f->opts.stall_timeout_ms <= 0 || uv_is_active((uv_handle_t *)&f->watchdog)) return;
  f->watchdog_at = uv_now(f->loop);
  uint64_t ms = tick_ms(f);
  /* Fails only without a callback; the transfers then keep libcurl's connect timeout only. */
  (void)uv_timer_start(&f->watchdog, lf__watchdog_tick, ms, ms);
}

void lf__watchdog_soon(lf_fetcher_t *f) {
  f->watchdog_at = uv_now(f->loop);
  uint64_t ms = f->opts.stall_timeout_ms > 0 ? tick_ms(f) : 0; /* no stall rule: once */
  (void)uv_timer_start(&f->watchdog, lf__watchdog_tick, 0, ms);
}

/* Until the request is sent the connect timeout is the rule, not this one. */
static int connecting(const lf__transfer_t *t) {
  curl_off_t us = 0;
  return t->bytes == 0 &&
         curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &us) == CURLE_OK && us == 0;
}

void lf__watchdog_tick(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data;
  uint64_t now = uv_now(f->loop);
  /* A late tick means the loop itself was busy (a huge list page being parsed, say): the
   * transfers could not have been served, so their clocks start again. */
  int late = now - f->watchdog_at > 2 * tick_ms(f) + 100;
  f->watchdog_at = now;
  uint64_t limit = (uint64_t)f->opts.stall_timeout_ms;
  size_t watched = 0;
  lf__fetcher_enter(f);
  for (lf__transfer_t *t = f->active, *next; t && f->closing == 0; t = next) {
    next = t->next; /* ending t may report and recycle it */
    if (!t->easy || t->done_ns) continue;
    watched++;
    /* A stream its caller paused waits for the caller, who asked for it (docs/api.md): its
     * clock starts again when it resumes. */
    if (late || t->sink.cb_paused) t->progress_ms = now;
    if (t->abort_status) { /* failed outside libcurl's callbacks (a socket we cannot watch) */
      lf__transfer_done(t, t->conn_lost ? CURLE_RECV_ERROR : CURLE_ABORTED_BY_CALLBACK);
      continue;
    }
    if (f->opts.stall_timeout_ms <= 0 || now - t->progress_ms < limit || connecting(t)) continue;
    lf__transfer_set_error(t, LF_ECURL, "stalled: no data for %.1f s",
                           (double)(now - t->progress_ms) / 1000.0);
    lf__transfer_done(t, CURLE_OPERATION_TIMEDOUT); /* transient: retried like a timeout */
  }
  if (watched == 0) (void)uv_timer_stop(timer); /* armed again by the next start */
  lf__fetcher_leave(f);
}
