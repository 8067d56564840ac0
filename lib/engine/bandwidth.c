/* lf_http_options_t.limit_rate: one download rate for all the fetcher's transfers together.
 * libcurl's CURLOPT_MAX_RECV_SPEED_LARGE caps one transfer (curl's --limit-rate with -Z caps
 * each, curl #10503), so the fetcher shares the rate out itself and lets libcurl enforce each
 * share: every transfer on the network gets an even share of a budget, set again as transfers
 * start and end and every LF__BW_TICK_MS. libcurl 7.88 reads the cap of a running transfer
 * afresh each time it decides whether to wait (multi.c, Curl_pgrsLimitWaitTime over its 3 s
 * window), so a changed share takes effect at once; the waiting is libcurl's: no pause, nothing
 * buffered. The budget starts at the rate; every LF__BW_JUDGE_MS the job's actual rate is
 * measured and the budget moved towards rate / actual (damped: halfway each time, growing by
 * LF__BW_MAX_STEP at most, between the rate and LF__BW_MAX_SCALE times it, so that a budget
 * grown for slow transfers overshoots only for a moment when they speed up): when some
 * transfers cannot use their share (a slow server, one still waiting for its first byte) the
 * others' shares grow until the job as a whole gets the rate, and shrink again as soon as it
 * goes over. Judging each transfer's own use instead failed: libcurl's limiter reads a buffer
 * and then waits, so a transfer's use over a few seconds is bursts and gaps, and shares shrank
 * to their floor (22 s for a 3 s job). Nor does the budget go under the rate: a version that
 * let it sink to half the rate when libcurl ran over its caps got 0.32 of the rate on eight
 * greedy transfers (bench/bench_limit_rate.py).
 *
 * Shares alone do not hold for many small bodies: libcurl looks at its cap only between reads,
 * and over TLS one pass reads up to 100 buffers (1.6 MB) while the SSL layer has data pending,
 * so a body under that size may arrive at the wire's speed. So every byte received also comes
 * out of one token bucket for the whole fetcher (LF__BW_BURST seconds of credit at most): a
 * new transfer starts only while the bucket is not in debt, and takes the size of an average
 * body from it as it starts (given back when less came), so that over a run the job's average
 * stays at the rate whatever the body sizes. */

#include <stdint.h>
#include <stdlib.h>
#include "internal.h"

#define LF__BW_TICK_MS 250
#define LF__BW_JUDGE_MS 1000
#define LF__BW_MAX_STEP 1.5  /* the most the budget grows in one judgement */
#define LF__BW_MAX_SCALE 4.0 /* the budget goes at most to this many times the rate */
#define LF__BW_BURST 0.25    /* seconds of the rate the bucket holds as credit */

/* The network part of the transfers in flight: what a share is for. */
static size_t on_network(const lf_fetcher_t *f) {
  size_t n = 0;
  for (const lf__transfer_t *t = f->active; t; t = t->next)
    n += t->easy && !t->done_ns;
  return n;
}

static void set_cap(lf__transfer_t *t, curl_off_t cap) {
  if (cap < 1) cap = 1; /* 0 would mean "no limit" to libcurl */
  if (cap == t->bw_cap) return;
  /* Fails only for an unknown option: the transfer then keeps its last share. */
  if (curl_easy_setopt(t->easy, CURLOPT_MAX_RECV_SPEED_LARGE, cap) == CURLE_OK) t->bw_cap = cap;
}

/* Tops the bucket up for the time since the last call. */
static void refill_tokens(lf_fetcher_t *f) {
  uint64_t now = lf__now_ns();
  double rate = (double)f->http.limit_rate, cap = rate * LF__BW_BURST;
  if (!f->bw_tokens_at)
    f->bw_tokens = cap;
  else
    f->bw_tokens += rate * (double)(now - f->bw_tokens_at) / 1e9;
  f->bw_tokens_at = now;
  if (f->bw_tokens > cap) f->bw_tokens = cap;
}

int lf__bandwidth_ready(lf_fetcher_t *f) {
  if (!f->http.limit_rate) return 1;
  refill_tokens(f);
  return f->bw_tokens >= 0;
}

uint64_t lf__bandwidth_next_ns(lf_fetcher_t *f) {
  if (!f->http.limit_rate || f->bw_tokens >= 0) return UINT64_MAX;
  return f->bw_tokens_at + (uint64_t)(-f->bw_tokens / (double)f->http.limit_rate * 1e9) + 1;
}

/* Every transfer on the network gets an even share of the budget. */
static void share_out(lf_fetcher_t *f) {
  size_t n = on_network(f);
  if (n == 0) return;
  double budget = f->bw_budget > 0 ? f->bw_budget : (double)f->http.limit_rate;
  curl_off_t share = (curl_off_t)(budget / (double)n);
  for (lf__transfer_t *t = f->active; t; t = t->next)
    if (t->easy && !t->done_ns) set_cap(t, share);
}

/* Moves the budget towards what gives the job its rate, judged over LF__BW_JUDGE_MS. */
static void judge(lf_fetcher_t *f, uint64_t now) {
  if (now - f->bw_mark_ms < LF__BW_JUDGE_MS) return;
  double rate = (double)f->http.limit_rate;
  double actual = (double)(f->bw_total - f->bw_mark) * 1000 / (double)(now - f->bw_mark_ms);
  f->bw_mark = f->bw_total;
  f->bw_mark_ms = now;
  double budget = f->bw_budget > 0 ? f->bw_budget : rate;
  if (actual < rate / 64) actual = rate / 64; /* nothing to judge by (first bytes, a stall) */
  double step = (1 + rate / actual) / 2;      /* halfway to the ratio: damped */
  budget *= step > LF__BW_MAX_STEP ? LF__BW_MAX_STEP : step;
  f->bw_budget = budget < rate                      ? rate
                 : budget > LF__BW_MAX_SCALE * rate ? LF__BW_MAX_SCALE * rate
                                                    : budget;
}

static void tick(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data;
  if (on_network(f) == 0) {
    (void)uv_timer_stop(timer); /* started again with the next transfer */
    return;
  }
  judge(f, uv_now(f->loop));
  share_out(f);
}

/* A start takes from the bucket what a body is likely to be (the average so far, 16 KiB
 * before any ended; at most the bucket's size), so that a wave of starts cannot together
 * receive more than the bucket holds before their first bytes are counted. */
static double reservation(const lf_fetcher_t *f) {
  double avg = f->bw_done_count ? (double)f->bw_done_bytes / (double)f->bw_done_count : 16384;
  double cap = (double)f->http.limit_rate * LF__BW_BURST;
  return avg < cap ? avg : cap;
}

void lf__bandwidth_ended(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->http.limit_rate || !t->easy) return;
  f->bw_tokens += t->bw_reserved; /* not received: back into the bucket */
  t->bw_reserved = 0;
  f->bw_done_bytes += t->bw_received;
  f->bw_done_count++;
}

void lf__bandwidth_started(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->http.limit_rate) return;
  t->bw_cap = 0;
  t->bw_received = 0;
  t->bw_reserved = reservation(f);
  f->bw_tokens -= t->bw_reserved;
  share_out(f); /* its even share, taken from the others at once */
  if (uv_is_active((uv_handle_t *)&f->bandwidth)) return;
  f->bw_mark = f->bw_total; /* a new run of transfers: judged afresh */
  f->bw_mark_ms = uv_now(f->loop);
  /* Fails only without a callback; each transfer then keeps its first share. */
  (void)uv_timer_start(&f->bandwidth, tick, LF__BW_TICK_MS, LF__BW_TICK_MS);
}
