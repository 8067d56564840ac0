/* The fetcher's public face: options, the queue of waiting requests, the slots that keep
 * max_in_flight transfers running, results, and the close sequence. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

enum { OPEN = 0, CLOSING = 1, TEARING_DOWN = 2, CLOSED = 3 };

static void refill(lf_fetcher_t *f);

uint64_t lf__now_ns(void) {
  return uv_hrtime();
}

/* Zero is every field's default (copy_options() applies them), so `= {0}` and this are one. */
void lf_options_init(lf_options_t *o) {
  memset(o, 0, sizeof(*o));
}

/* Copies the option strings into one block owned by the fetcher and fills in defaults. */
static int copy_options(lf_fetcher_t *f, const lf_options_t *in) {
  lf_options_t o;
  if (in)
    o = *in;
  else
    lf_options_init(&o);
  char ua[128];
  snprintf(ua, sizeof(ua), "loopfetch/%s (+%s)", LOOPFETCH_VERSION, LOOPFETCH_URL);
  const char *strs[3] = {o.out_dir ? o.out_dir : ".", o.user_agent ? o.user_agent : ua, o.cacert};
  size_t total = 0;
  for (int i = 0; i < 3; i++)
    total += strs[i] ? strlen(strs[i]) + 1 : 0;
  char *block = malloc(total ? total : 1), *p = block;
  if (!block) return LF_ENOMEM;
  const char **dst[3] = {&o.out_dir, &o.user_agent, &o.cacert};
  for (int i = 0; i < 3; i++) {
    *dst[i] = NULL;
    if (!strs[i]) continue;
    size_t n = strlen(strs[i]) + 1;
    memcpy(p, strs[i], n);
    *dst[i] = p;
    p += n;
  }
  if (o.max_in_flight == 0) o.max_in_flight = LF_DEFAULT_IN_FLIGHT;
  if (o.max_size == 0) o.max_size = LF_DEFAULT_MAX_SIZE;
  if (o.max_memory_body == 0) o.max_memory_body = LF_DEFAULT_MAX_SIZE;
  if (o.connect_timeout_ms == 0) o.connect_timeout_ms = 30000;
  if (o.stall_timeout_ms == 0) o.stall_timeout_ms = 60000;
  if (o.retries == 0)
    o.retries = 3;
  else if (o.retries < 0) /* LF_NONE */
    o.retries = 0;
  if (o.max_redirs == 0)
    o.max_redirs = 10;
  else if (o.max_redirs < 0) /* LF_NONE */
    o.max_redirs = 0;
  if (o.retry_base_ms <= 0) o.retry_base_ms = 500;
  if (o.retry_max_wait_ms <= 0) o.retry_max_wait_ms = 30000;
  o.headers = NULL; /* copied into header_list */
  o.warc = NULL;    /* the WARC files are opened from it (capture.c) */
  o.http = NULL;    /* copied into f->http */
  f->opts = o;
  f->opt_strings = block;
  return 0;
}

/* A header ("Name: value") or User-Agent that libcurl would send as given: a CR or LF in it
 * would end the line there and start another header (or the body) of the caller's text. */
static int one_line(const char *s) {
  return !s || !s[strcspn(s, "\r\n")];
}

static int headers_valid(const char *const *headers) {
  for (size_t i = 0; headers && headers[i]; i++)
    if (!one_line(headers[i])) return 0;
  return 1;
}

static int copy_headers(lf_fetcher_t *f, const char *const *headers) {
  for (size_t i = 0; headers && headers[i]; i++) {
    struct curl_slist *l = curl_slist_append(f->header_list, headers[i]);
    if (!l) return LF_ENOMEM;
    f->header_list = l;
  }
  return 0;
}

/* Limits that follow max_in_flight. Streams per HTTP/2 connection: past libcurl's cap (and the
 * server's), each further transfer opens a connection of its own, a TLS handshake on both
 * sides, rather than wait for a stream; so by default every page may share one connection.
 * Idle connections kept: libcurl's default is 4 x the easy handles added at the moment, and
 * that number dips whenever finished pages wait for the disk, so it closed hundreds of
 * keep-alive connections that the next requests had to open again (C: 1,271 connections for
 * 10,000 pages at -c 512 instead of 512). */
static int set_limits(lf_fetcher_t *f) {
  long n = f->opts.max_streams ? (long)f->opts.max_streams : (long)f->opts.max_in_flight;
  if (n < 100) n = 100; /* libcurl's own default */
  long keep = f->opts.max_in_flight;
  return curl_multi_setopt(f->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, n) == CURLM_OK &&
                 curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, keep) == CURLM_OK
             ? 0
             : -1;
}

static int setup_curl(lf_fetcher_t *f) {
  f->multi = curl_multi_init();
  f->share = curl_share_init();
  if (!f->multi || !f->share) return LF_ENOMEM;
  if (curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)f->opts.per_host) !=
          CURLM_OK ||
      set_limits(f) != 0)
    return LF_ECURL;
  /* One loop thread: the share needs no lock functions. */
  if (curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
      curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
    return LF_ECURL;
  return 0;
}

static void release(lf_fetcher_t *f) {
  if (f->multi)
    curl_multi_cleanup(f->multi); /* may still report sockets to remove: polls close after */
  f->multi = NULL;
  if (f->share) curl_share_cleanup(f->share);
  f->share = NULL;
  if (f->out_dirfd >= 0) close(f->out_dirfd);
  f->out_dirfd = -1;
  free(f->opt_strings);
  f->opt_strings = NULL;
  curl_slist_free_all(f->header_list);
  f->header_list = NULL;
  lf__pace_free(f);
  lf__capture_close(f); /* every transfer has reported: no archive job is left */
  curl_slist_free_all(f->trusted_headers);
  f->trusted_headers = NULL;
  lf__http_free(f);
}

int lf_fetcher_new(uv_loop_t *loop, const lf_options_t *opts, lf_result_cb on_result,
                   lf_fetcher_t **out) {
  if (out) *out = NULL;
  if (!loop || !out || !on_result || (opts && !lf__reserved_zero(opts->reserved, LF__SLOTS(opts))))
    return LF_EINVAL;
  if (opts && (!headers_valid(opts->headers) || !one_line(opts->user_agent))) return LF_EINVAL;
  lf_fetcher_t *f = calloc(1, sizeof(*f));
  if (!f) return LF_ENOMEM;
  f->loop = loop;
  f->on_result = on_result;
  f->out_dirfd = -1;
  f->clock_base = lf__now_ns();
  f->pid = (long)getpid();
  if (lf__global_init() != 0) {
    free(f);
    return LF_ECURL;
  }
  f->rand_state = f->clock_base | 1;
  int rc = copy_options(f, opts);
  if (rc == 0) rc = copy_headers(f, opts ? opts->headers : NULL);
  if (rc == 0) rc = lf__http_copy(f, opts ? opts->http : NULL);
  if (rc == 0) rc = lf__redirect_init(f);
  if (rc == 0) rc = setup_curl(f);
  if (rc == 0) rc = lf__cookies_init(f);
  if (rc == 0 && opts) rc = lf__capture_open(f, opts->warc);
  if (rc == 0)
    rc = lf__loop_init(f); /* last: after it the timer must be closed, not just dropped */
  if (rc < 0) {
    release(f);
    free(f);
    return rc;
  }
  *out = f;
  return 0;
}

void lf_fetcher_set_data(lf_fetcher_t *f, void *data) {
  f->data = data;
}

void *lf_fetcher_get_data(const lf_fetcher_t *f) {
  return f->data;
}

uv_loop_t *lf_fetcher_get_loop(const lf_fetcher_t *f) {
  return f->loop;
}

/* A producer that only sets a need callback is asked on the loop's next turn (the wake
 * timer's refill), not only once something else frees a slot. */
void lf_fetcher_set_need_cb(lf_fetcher_t *f, lf_need_cb on_need) {
  f->on_need = on_need;
  if (on_need && f->closing == OPEN) lf__fetcher_wake_now(f);
}

void lf_fetcher_set_body_cb(lf_fetcher_t *f, lf_body_cb on_body) {
  f->on_body = on_body;
}

void lf_fetcher_set_name_cb(lf_fetcher_t *f, lf_name_cb on_name) {
  f->on_name = on_name;
}

void lf_fetcher_set_event_cb(lf_fetcher_t *f, lf_event_cb on_event) {
  f->on_event = on_event;
}

void lf_fetcher_set_max_in_flight(lf_fetcher_t *f, unsigned max_in_flight) {
  f->opts.max_in_flight = max_in_flight ? max_in_flight : LF_DEFAULT_IN_FLIGHT;
  /* Fails only for an invalid handle; the old cap would then stay, which costs only speed. */
  if (f->multi) (void)set_limits(f);
  refill(f);
}

size_t lf_fetcher_in_flight(const lf_fetcher_t *f) {
  return f->in_flight;
}

size_t lf_fetcher_waiting_for_disk(const lf_fetcher_t *f) {
  return f->writing + f->paused_sinks;
}

size_t lf_fetcher_queued(const lf_fetcher_t *f) {
  return f->queued + f->pace.parked;
}

size_t lf_fetcher_waiting_for_connection(const lf_fetcher_t *f) {
  size_t net = f->in_flight - f->writing;
  return net > f->connected ? net - f->connected : 0;
}

size_t lf_fetcher_waiting_to_retry(const lf_fetcher_t *f) {
  return f->delayed_count;
}

size_t lf_fetcher_pending(const lf_fetcher_t *f) {
  return f->unreported;
}

void lf_fetcher_set_progress_cb(lf_fetcher_t *f, lf_progress_cb on_progress) {
  f->on_progress = on_progress;
}

void lf_fetcher_set_easy_cb(lf_fetcher_t *f, lf_easy_cb on_easy) {
  f->on_easy = on_easy;
}

double lf_fetcher_now(const lf_fetcher_t *f) {
  return (double)(lf__now_ns() - f->clock_base) / 1e9;
}

/* ---- results ---- */

static double secs(uint64_t from, uint64_t to) {
  return to > from ? (double)(to - from) / 1e9 : 0.0;
}

static void fill_timings(lf__transfer_t *t, lf_result_t *r) {
  r->start = secs(t->fetcher->clock_base, t->start_ns);
  if (t->started) {
    r->timings = t->timings; /* read from libcurl when the network part ended */
    r->timings.written = secs(t->start_ns, t->written_ns ? t->written_ns : t->done_ns);
  }
  r->timings.queued = secs(t->req->added_ns, t->start_ns);
}

/* ---- spare easy handles ---- */

CURL *lf__fetcher_take_easy(lf_fetcher_t *f) {
  return f->spare_len ? f->spare[--f->spare_len] : NULL;
}

/* Whether a spare easy handle may still be wanted: requests wait (queued or for a retry), the
 * producer may add more (a need callback is set), or it would be the only spare. The
 * fetcher's connections live in the multi handle, so freeing an easy handle loses none. */
static int worth_keeping(const lf_fetcher_t *f) {
  return f->closing == OPEN &&
         (f->queue_head || f->delayed || f->pace.parked || f->on_need || f->spare_len == 0);
}

void lf__fetcher_give_easy(lf_fetcher_t *f, CURL *easy) {
  if (!worth_keeping(f)) {
    curl_easy_cleanup(easy);
    return;
  }
  if (f->spare_len == f->spare_cap) {
    size_t cap = f->spare_cap ? 2 * f->spare_cap : 16;
    void **grown = realloc(f->spare, cap * sizeof(*grown));
    if (!grown) {
      curl_easy_cleanup(easy); /* a spare is an optimisation: without memory, none */
      return;
    }
    f->spare = grown;
    f->spare_cap = cap;
  }
  f->spare[f->spare_len++] = easy;
}

static void free_spares(lf_fetcher_t *f) {
  while (f->spare_len)
    curl_easy_cleanup(f->spare[--f->spare_len]);
  free(f->spare);
  f->spare = NULL;
  f->spare_cap = 0;
}

static void unlink_active(lf_fetcher_t *f, lf__transfer_t *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    f->active = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
}

static void delay(lf_fetcher_t *f, lf__pending_t *p, long ms);
static int slot_free(const lf_fetcher_t *f);

void lf__fetcher_refill(lf_fetcher_t *f) {
  refill(f);
}

/* A transfer of split.c's, besides the requests' own: counted in flight (it holds a
 * connection, and close waits for it) but never reported. */
lf__transfer_t *lf__fetcher_adopt(lf_fetcher_t *f) {
  lf__transfer_t *t = f->idle;
  if (t) {
    f->idle = t->next;
    t->next = NULL;
  } else if (lf__transfer_new(f, &t) < 0) {
    return NULL;
  }
  t->next = f->active;
  if (f->active) f->active->prev = t;
  f->active = t;
  f->in_flight++;
  return t;
}

void lf__fetcher_drop(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  if (t->done_ns) f->writing--; /* counted by lf__transfer_done() */
  unlink_active(f, t);
  f->in_flight--;
  lf__transfer_recycle(t);
  t->next = f->idle;
  f->idle = t;
  refill(f);
}

void lf__fetcher_report(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  /* A range of a split file: split.c reports the whole file later. */
  if (t->split && lf__split_written(t)) return;
  if (t->capture && lf__capture_busy(t)) return; /* its records first: capture.c calls again */
  if (t->done_ns) f->writing--;                 /* counted by lf__transfer_done() */
  if (t->retry_ms >= 0 && f->closing == OPEN) { /* not over yet: back to the queue, later */
    lf__pending_t *p = t->req;
    long wait_ms = t->retry_ms;
    t->req = NULL;
    unlink_active(f, t);
    f->in_flight--;
    lf__transfer_recycle(t);
    t->next = f->idle;
    f->idle = t;
    delay(f, p, wait_ms);
    refill(f);
    return;
  }
  lf_result_t r = {0};
  r.url = t->req->url;
  r.file = lf__transfer_file(t);
  r.data = t->req->data;
  r.status = t->status ? t->status : t->abort_status;
  r.error = r.status ? (t->error[0] ? t->error : lf_strerror(r.status)) : NULL;
  r.http_code = t->http_code;
  r.bytes = t->bytes;
  r.resumed_from = t->part.on && !t->part.fresh ? t->part.from : 0;
  r.attempts = t->req->attempts;
  r.effective_url = t->effective_url;
  r.content_type = t->content_type;
  lf__transfer_fill_headers(t, &r);
  r.warc_date = lf__capture_date(t);
  lf__transfer_fill_class(t, &r);
  if (t->req->output == LF_OUTPUT_MEMORY && r.status == 0) {
    r.body = t->sink.fill ? t->sink.fill : "";
    r.body_len = t->sink.fill_len;
  } else if (r.status == LF_EHTTP && t->error_body) { /* LF_REQUEST_ERROR_BODY */
    r.body = t->error_body;
    r.body_len = t->error_body_len;
  }
  fill_timings(t, &r);
  unlink_active(f, t);
  f->in_flight--;
  f->unreported--;
  if (t->started) lf__transfer_event_done(t, r.status, r.error);
  f->on_result(f, &r);
  lf__transfer_recycle(t);
  t->next = f->idle;
  f->idle = t;
  refill(f);
}

/* ---- retries and the rate limit share one timer ---- */

static void on_wake(uv_timer_t *timer);

static uint64_t ms_until(uint64_t now, uint64_t when) {
  return when > now ? (when - now + 999999) / 1000000 : 0;
}

/* Arms the wake timer for the earliest of: the next retry due, the next start the rate limit
 * allows (only if something waits for it), the next start a paced host allows. */
static void arm_wake(lf_fetcher_t *f) {
  if (f->closing != OPEN) return;
  uint64_t now = lf__now_ns(), next = UINT64_MAX;
  if (f->delayed) next = f->delayed->due_ns;
  if (f->opts.rate > 0 && f->queue_head && f->tokens < 1.0) {
    uint64_t token_at = now + (uint64_t)((1.0 - f->tokens) / f->opts.rate * 1e9);
    if (token_at < next) next = token_at;
  }
  /* A paced host's turn matters only with a slot to start it in (a transfer that ends calls
   * refill anyway). Never a 0 ms timer for it: libuv would run a timer re-armed at 0 ms from its
   * own callback again in the same pass, without polling, for as long as no slot frees. */
  if (f->pace.parked && slot_free(f)) {
    uint64_t turn = lf__pace_next_ns(f);
    if (turn < now + 1000000) turn = now + 1000000;
    if (turn < next) next = turn;
  }
  /* The same for --limit-rate's bucket (bandwidth.c): only with a slot, never at 0 ms. */
  if (f->queue_head && slot_free(f) && lf__bandwidth_next_ns(f) != UINT64_MAX) {
    uint64_t turn = lf__bandwidth_next_ns(f);
    if (turn < now + 1000000) turn = now + 1000000;
    if (turn < next) next = turn;
  }
  /* Finished transfers left for the next turn (loop.c): 1 ms, so that libuv polls first (a
   * timer re-armed at 0 ms from its own callback runs again in the same pass). */
  if (f->done_due && now + 1000000 < next) next = now + 1000000;
  if (f->wake_now) next = now;
  int rc = next == UINT64_MAX ? uv_timer_stop(&f->wake)
                              : uv_timer_start(&f->wake, on_wake, ms_until(now, next), 0);
  (void)rc; /* cannot fail for an initialised timer with a callback */
}

/* Sorted insert: the list holds only requests waiting to retry, so it stays short. */
static void delay(lf_fetcher_t *f, lf__pending_t *p, long ms) {
  p->due_ns = lf__now_ns() + (uint64_t)ms * 1000000;
  p->next = NULL;
  lf__pending_t **at = &f->delayed;
  while (*at && (*at)->due_ns <= p->due_ns)
    at = &(*at)->next;
  p->next = *at;
  *at = p;
  f->delayed_count++;
  arm_wake(f);
}

/* Due retries go to the front of the queue: they have waited already. */
static void promote_due(lf_fetcher_t *f) {
  uint64_t now = lf__now_ns() + 1000000; /* timer granularity is 1 ms */
  lf__pending_t *head = NULL, **tail = &head;
  while (f->delayed && f->delayed->due_ns <= now) {
    lf__pending_t *p = f->delayed;
    f->delayed = p->next;
    f->delayed_count--;
    *tail = p;
    tail = &p->next;
    f->queued++;
  }
  if (!head) return;
  *tail = f->queue_head;
  if (!f->queue_head)
    f->queue_tail = (lf__pending_t *)((char *)tail - offsetof(lf__pending_t, next));
  f->queue_head = head;
}

void lf__fetcher_wake_now(lf_fetcher_t *f) {
  f->wake_now = 1;
  arm_wake(f);
}

void lf__fetcher_arm_wake(lf_fetcher_t *f) {
  arm_wake(f);
}

static void sweep_cancelled(lf_fetcher_t *f);

static void on_wake(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data;
  lf__fetcher_enter(f);
  f->wake_now = 0;
  if (f->done_due) lf__loop_check_done(f);
  if (f->cancel_due) sweep_cancelled(f);
  lf__stream_resume_due(f);
  promote_due(f);
  refill(f);
  arm_wake(f);
  lf__fetcher_leave(f);
}

/* Token bucket holding at most one token: starts are spread evenly, never bursted. */
static int token_ready(lf_fetcher_t *f) {
  if (!lf__bandwidth_ready(f)) return 0; /* the job received ahead of --limit-rate */
  if (f->opts.rate <= 0) return 1;
  uint64_t now = lf__now_ns();
  f->tokens += (double)(now - f->tokens_at) / 1e9 * f->opts.rate;
  f->tokens_at = now;
  if (f->tokens > 1.0) f->tokens = 1.0;
  return f->tokens >= 1.0;
}

static void spend_token(lf_fetcher_t *f) {
  if (f->opts.rate > 0) f->tokens -= 1.0;
}

/* A request that never got a transfer (no memory for one, or the fetcher is closing). */
static void report_unstarted(lf_fetcher_t *f, lf__pending_t *p, int status, const char *why) {
  lf_result_t r = {0};
  r.url = p->url;
  r.file = p->file;
  r.data = p->data;
  r.status = status;
  r.error = why;
  r.attempts = p->attempts;
  r.file_time = -1;
  r.content_length = -1;
  r.error_class = status ? LF_ERR_OTHER : LF_ERR_NONE;
  r.timings.queued = secs(p->added_ns, lf__now_ns());
  r.start = secs(f->clock_base, lf__now_ns());
  f->unreported--;
  f->on_result(f, &r);
  free(p);
}

/* ---- queue and slots ---- */

static lf__pending_t *pop(lf_fetcher_t *f) {
  lf__pending_t *p = f->queue_head;
  if (!p) return NULL;
  f->queue_head = p->next;
  if (!f->queue_head) f->queue_tail = NULL;
  f->queued--;
  return p;
}

/* The next request that may start now: a parked one whose host's turn has come, else the first
 * of the queue whose host need not wait (those before it that must are parked on their host). */
static lf__pending_t *next_request(lf_fetcher_t *f) {
  if (!lf__pace_on(f)) return pop(f);
  uint64_t now = lf__now_ns();
  lf__pending_t *p = lf__pace_ready(f, now);
  if (p) return p;
  while ((p = pop(f)))
    if (lf__pace_admit(f, p, now)) return p;
  return NULL;
}

/* Requests parked on paced hosts are not asked for beyond this: memory stays O(in flight), and
 * a job whose every URL is on one slow host waits for it rather than reading all its input. */
static int park_full(const lf_fetcher_t *f) {
  size_t cap = 4 * (size_t)f->opts.max_in_flight;
  return f->pace.parked >= (cap > 1024 ? cap : 1024);
}

static void start_next(lf_fetcher_t *f, lf__pending_t *p) {
  if (p->cancelled) { /* parked by pacing when it was cancelled */
    report_unstarted(f, p, LF_EABORTED, "cancelled");
    return;
  }
  lf__transfer_t *t = f->idle;
  if (t) {
    f->idle = t->next;
    t->next = NULL;
  } else if (lf__transfer_new(f, &t) < 0) {
    report_unstarted(f, p, LF_ENOMEM, "out of memory starting the transfer");
    return;
  }
  t->next = f->active;
  if (f->active) f->active->prev = t;
  f->active = t;
  f->in_flight++;
  if (lf__transfer_start(t, p) == 0) {
    t->started = 1;
    /* Told only now that the transfer is whole: the callback may close the fetcher, which
     * aborts it like any other (and may recycle t before this returns). */
    lf__transfer_event_start(t);
    return;
  }
  t->status = t->abort_status;
  lf__fetcher_report(t);
}

/* A slot is a transfer on the network; those only writing their output do not count, but no
 * more than max_in_flight of them may wait for the disk, so memory stays bounded. */
static int slot_free(const lf_fetcher_t *f) {
  return f->in_flight - f->writing < f->opts.max_in_flight && f->writing < f->opts.max_in_flight;
}

/* Keeps max_in_flight transfers running: called whenever a slot frees or a request arrives.
 * The guard makes calls from inside results or the need callback fold into the outer loop. */
static void refill(lf_fetcher_t *f) {
  if (f->in_refill || f->closing != OPEN) return;
  if (f->in_body) { /* inside libcurl, which cannot take a new handle now: next loop turn */
    lf__fetcher_wake_now(f);
    return;
  }
  f->in_refill = 1;
  lf__fetcher_enter(f); /* a callback below may close the fetcher: tear down after the loop */
  for (;;) {
    while (slot_free(f) && (f->queue_head || f->pace.parked) && f->closing == OPEN) {
      if (!token_ready(f)) {
        arm_wake(f);
        break;
      }
      lf__pending_t *p = next_request(f);
      if (!p) break;
      spend_token(f);
      start_next(f, p);
    }
    if (f->pace.parked) arm_wake(f); /* for the next host whose turn comes */
    if (f->closing != OPEN || !slot_free(f) || f->queue_head || !f->on_need || park_full(f)) break;
    size_t before = f->queued;
    f->on_need(f);
    if (f->queued == before) break;
  }
  f->in_refill = 0;
  lf__fetcher_leave(f);
}

/* A name inside out_dir, or a relative path of names ("ab/cd/x.html": subfolders, created on
 * demand by subdir.c): no empty, "." or ".." component, none over 255 bytes. */
int lf__valid_file_name(const char *name) {
  size_t total = name ? strlen(name) : 0;
  if (total == 0 || total > 4095) return 0;
  for (const char *p = name;; p++) {
    size_t n = strcspn(p, "/");
    if (n == 0 || n > 255 || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.')))) return 0;
    p += n;
    if (!*p) return 1;
  }
}

/* What can be told of a URL at once, without parsing it all (libcurl does that when the
 * transfer starts, and fails it with a result): a scheme, http or https, and a host. */
static int check_url(const char *url) {
  const char *p = url;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return LF_EURL;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  if (*p != ':') return LF_EURL; /* "example.org/x": no scheme */
  size_t n = (size_t)(p - url);
  if (!((n == 4 && strncasecmp(url, "http", 4) == 0) ||
        (n == 5 && strncasecmp(url, "https", 5) == 0)))
    return LF_ESCHEME; /* ftp:, file:, mailto: */
  if (p[1] != '/' || p[2] != '/' || !p[3] || strchr("/?#", p[3])) return LF_EURL; /* no host */
  for (p += 3; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) return LF_EURL; /* never sent as it stands */
  return 0;
}

int lf_fetcher_add(lf_fetcher_t *f, const lf_request_t *req) {
  if (!f || !req || !req->url || !lf__reserved_zero(req->reserved, LF__SLOTS(req)) ||
      (req->flags &
       ~(LF_REQUEST_HEADERS | LF_REQUEST_ERROR_BODY | LF_REQUEST_NO_REPLACE | LF_REQUEST_CONTINUE)))
    return LF_EINVAL;
  if (!headers_valid(req->headers)) return LF_EINVAL;
  if (strlen(req->url) > LF_URL_MAX) return LF_EURL;
  if (req->output != LF_OUTPUT_FILE && req->output != LF_OUTPUT_MEMORY &&
      (req->output != LF_OUTPUT_CALLBACK || !f->on_body))
    return LF_EINVAL;
  int bad = check_url(req->url);
  if (bad) return bad;
  if (req->output == LF_OUTPUT_FILE &&
      (!lf__valid_file_name(req->file) || lf__partial_reserved(req->file)))
    return LF_ENAME;
  if (f->closing != OPEN) return LF_ECLOSING;
  if (req->output == LF_OUTPUT_FILE && f->out_dirfd < 0) {
    /* Opened once, on first use, so a fetcher that only reads into memory needs no folder. */
    f->out_dirfd = open(f->opts.out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->out_dirfd < 0) return -errno; /* libuv's codes are negated errno values on Unix */
    f->link_mode = lf__sink_link_mode(f->out_dirfd, f->pid); /* before any pool job reads it */
  }
  size_t ulen = strlen(req->url) + 1;
  size_t flen = req->output == LF_OUTPUT_FILE ? strlen(req->file) + 1 : 0;
  size_t hlen = 0, hcount = 0;
  for (; req->headers && req->headers[hcount]; hcount++)
    hlen += strlen(req->headers[hcount]) + 1;
  size_t dlen = req->warc_refers_to_date ? strlen(req->warc_refers_to_date) + 1 : 0;
  lf__pending_t *p = malloc(sizeof(*p) + ulen + flen + hlen + dlen);
  if (!p) return LF_ENOMEM;
  p->next = NULL;
  p->data = req->data;
  p->output = req->output;
  p->added_ns = lf__now_ns();
  p->due_ns = 0;
  p->attempts = 0;
  p->cancelled = 0;
  p->no_range = 0;
  p->restarts = 0;
  p->timeout_ms = req->timeout_ms;
  p->flags = req->flags;
  memcpy(p->url, req->url, ulen);
  p->file = NULL;
  if (flen) {
    memcpy(p->url + ulen, req->file, flen);
    p->file = p->url + ulen;
  }
  p->headers = p->url + ulen + flen;
  p->header_count = hcount;
  for (size_t i = 0, at = 0; i < hcount; i++) {
    size_t n = strlen(req->headers[i]) + 1;
    memcpy(p->url + ulen + flen + at, req->headers[i], n);
    at += n;
  }
  p->warc_date = NULL;
  if (dlen) {
    memcpy(p->url + ulen + flen + hlen, req->warc_refers_to_date, dlen);
    p->warc_date = p->url + ulen + flen + hlen;
  }
  if (f->queue_tail)
    f->queue_tail->next = p;
  else
    f->queue_head = p;
  f->queue_tail = p;
  f->queued++;
  f->unreported++;
  refill(f);
  return 0;
}

/* ---- cancelling one request ---- */

/* Takes the cancelled requests out of a list and reports them. */
static void report_cancelled(lf_fetcher_t *f, lf__pending_t **list, size_t *count, int queue) {
  lf__pending_t *out = NULL;
  for (lf__pending_t **at = list; *at;) {
    lf__pending_t *p = *at;
    if (!p->cancelled) {
      at = &p->next;
      continue;
    }
    *at = p->next;
    (*count)--;
    p->next = out;
    out = p;
  }
  if (queue) { /* the tail may have gone */
    f->queue_tail = NULL;
    for (lf__pending_t *p = f->queue_head; p; p = p->next)
      f->queue_tail = p;
  }
  while (out) {
    lf__pending_t *p = out;
    out = p->next;
    report_unstarted(f, p, LF_EABORTED, "cancelled");
  }
}

/* The wake timer's part of lf_fetcher_cancel(): the results come here, on a turn of their own,
 * never inside the caller's call. */
static void sweep_cancelled(lf_fetcher_t *f) {
  f->cancel_due = 0;
  report_cancelled(f, &f->queue_head, &f->queued, 1);
  report_cancelled(f, &f->delayed, &f->delayed_count, 0);
  for (lf__transfer_t *t = f->active, *next; t; t = next) {
    next = t->next; /* ending t may report (and unlink) it right away */
    if (t->req && t->req->cancelled && t->easy && !t->done_ns) {
      lf__transfer_set_error(t, LF_EABORTED, "cancelled");
      lf__transfer_done(t, CURLE_ABORTED_BY_CALLBACK);
    }
  }
}

static int mark(lf__pending_t *p, void *data) {
  if (p->data != data || p->cancelled) return 0;
  p->cancelled = 1;
  return 1;
}

int lf_fetcher_cancel(lf_fetcher_t *f, void *data) {
  if (!f) return LF_EINVAL;
  if (f->closing != OPEN) return LF_ECLOSING;
  int n = 0;
  for (lf__pending_t *p = f->queue_head; p; p = p->next)
    n += mark(p, data);
  for (lf__pending_t *p = f->delayed; p; p = p->next)
    n += mark(p, data);
  for (lf__transfer_t *t = f->active; t; t = t->next)
    if (t->req && !t->done_ns) n += mark(t->req, data);
  n += lf__pace_mark_cancelled(f, data);
  if (n) {
    f->cancel_due = 1;
    lf__fetcher_wake_now(f);
  }
  return n;
}

/* ---- closing ---- */

static void on_timer_closed(uv_handle_t *handle) {
  lf_fetcher_t *f = handle->data;
  f->open_handles--;
  lf__fetcher_enter(f);
  lf__fetcher_leave(f);
}

static void teardown(lf_fetcher_t *f) {
  f->closing = TEARING_DOWN;
  while (f->idle) {
    lf__transfer_t *t = f->idle;
    f->idle = t->next;
    lf__transfer_free(t);
  }
  free_spares(f);
  lf__cookies_save(f); /* every transfer is over: the jar holds what they set */
  release(f);
  lf__h2_close(f);
  lf__loop_close_polls(f);
  uv_close((uv_handle_t *)&f->timer, on_timer_closed);
  uv_close((uv_handle_t *)&f->wake, on_timer_closed);
  uv_close((uv_handle_t *)&f->h2.grace, on_timer_closed);
  uv_close((uv_handle_t *)&f->watchdog, on_timer_closed);
  uv_close((uv_handle_t *)&f->bandwidth, on_timer_closed);
}

void lf__fetcher_enter(lf_fetcher_t *f) {
  f->depth++;
}

/* Every callback of ours ends here: the one place where a requested close progresses, so that
 * libcurl is never torn down underneath a frame that is still using it. */
void lf__fetcher_leave(lf_fetcher_t *f) {
  if (--f->depth > 0) return;
  if (f->closing == CLOSING && !f->close_due && f->in_flight == 0) teardown(f);
  if (f->closing == TEARING_DOWN && f->open_handles == 0) {
    f->closing = CLOSED;
    if (f->on_close) f->on_close(f);
    free(f);
  }
}

/* The second half of lf_fetcher_close(), on the loop's next turn. */
static void on_close_due(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data;
  lf__fetcher_enter(f);
  f->close_due = 0;
  lf__pending_t *p;
  while ((p = pop(f)))
    report_unstarted(f, p, LF_EABORTED, "aborted before it started");
  while ((p = f->delayed)) {
    f->delayed = p->next;
    f->delayed_count--;
    report_unstarted(f, p, LF_EABORTED, "aborted while waiting to retry");
  }
  while ((p = lf__pace_take_parked(f)))
    report_unstarted(f, p, LF_EABORTED, "aborted while waiting for its host's turn");
  for (lf__transfer_t *t = f->active; t; t = t->next)
    if (t->split && !t->split_part) lf__split_close(t); /* no more ranges start */
  for (lf__transfer_t *t = f->active, *next; t; t = next) {
    next = t->next; /* aborting may report t (and unlink it) right away */
    lf__transfer_abort(t);
  }
  lf__fetcher_leave(f);
}

/* As uv_close(): only starts. Aborting here would call the caller's result callback inside
 * this call, perhaps from their own result callback, and remove easy handles libcurl may be
 * inside of (a body callback): the aborts run on the wake timer, at the loop's next turn. */
int lf_fetcher_close(lf_fetcher_t *f, lf_close_cb on_close) {
  if (!f) return LF_EINVAL;
  if (f->closing != OPEN) return LF_ECLOSING;
  f->closing = CLOSING;
  f->close_due = 1;
  f->on_close = on_close;
  f->wake_now = 0;
  int rc = uv_timer_start(&f->wake, on_close_due, 0, 0);
  (void)rc; /* cannot fail for an initialised timer with a callback */
  return 0;
}
