/* What a transfer sends and receives, as warc/ archives it (lf_options_t.warc).
 *
 * Where the bytes come from (libcurl 7.88, read in its sources):
 *  - the request as sent: the debug callback's CURLINFO_HEADER_OUT, once per request libcurl
 *    sends, so once per redirect hop. No other interface shows it: CURLOPT_HEADERFUNCTION and
 *    curl_easy_header() see responses only. The debug callback needs CURLOPT_VERBOSE, whose
 *    cost is libcurl formatting its info lines (CURLINFO_TEXT, dropped here);
 *  - each response's head: CURLINFO_HEADER_IN, line by line, 1xx heads included (dropped), and
 *    HTTP/2 heads as libcurl rewrites them ("HTTP/2 200"), so warc_fmt.c stores a 1.1 line;
 *  - the body of the response that ends the transfer: the write callback, which receives it
 *    after transfer decoding (chunks removed) and before content decoding (libcurl's is off,
 *    decode.c), so the WARC stores exactly the bytes decode.c turns into the saved file;
 *  - the body of a redirect libcurl follows: transfer.c's readwrite_data reads it to keep the
 *    connection ("ignorebody") but never hands it to the write callback; only the debug
 *    callback's CURLINFO_DATA_IN sees it, before de-chunking ("pass data to the debug function
 *    before it gets dechunked"), so warc_chunked.c de-chunks it. (A redirect on a connection
 *    the server closes is not read at all: its record says WARC-Truncated.)
 *  - the peer's address: the pre-request callback's conn_primary_ip, called for each request.
 *
 * A hop's records are written when the next request goes out or the transfer ends; the body
 * streams meanwhile, compressed and digested on libuv's thread pool (warc_body.c) one job at a
 * time per hop, and the transfer's result waits until every hop it had is written whole. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "warc.h"

/* A job is started once this much body is waiting: each job is a round trip loop -> pool ->
 * loop, two wake-ups, so fewer and larger ones (workload A: ~250 jobs, not ~900 of 64 KiB). */
#define CAP_FLUSH_AT (256 * 1024)
/* While a job runs, a transfer pauses once this much more waits (HTTP/1.1; HTTP/2 streams are
 * not paused below CAP_HARD, as sink.c does for the same libcurl reason). */
#define CAP_PAUSE_AT (512 * 1024)
#define CAP_HARD (16 * 1024 * 1024)
/* Largest redirect body kept to be archived (they are a few hundred bytes). */
#define CAP_REDIRECT_MAX (1024 * 1024)

typedef struct {
  char *p;
  size_t len, cap;
} cbuf_t;

typedef struct lf__hop_s lf__hop_t;
struct lf__hop_s {
  uv_work_t work;
  lf__capture_t *cap;
  lf__warc_exchange_t x;
  lf__warc_body_t body;
  char *uri, *ip;
  cbuf_t fill, busy; /* the loop fills `fill`; a job owns `busy` */
  int job_running, finishing, job_finishing, got_write;
  int waiting; /* in the fetcher's capture_wait list */
  lf__hop_t *wait_prev, *wait_next;
  int chunked; /* the response came chunked (what DATA_IN shows must be de-chunked) */
  int err;     /* the job's: 0, or a negative code with errbuf */
  char errbuf[256];
};

struct lf__capture_s {
  lf__transfer_t *t;
  int phase; /* 0 nothing yet, 1 request going out, 2 response head, 3 body */
  cbuf_t req, head, redirect_body;
  uint64_t request_ns, response_ns; /* realtime */
  char ip[64], hop_ip[64];
  char *uri;
  lf__hop_t *hop; /* the hop receiving its body */
  int pending;    /* hops whose records are not written yet */
  int paused;     /* the write callback paused the transfer for us */
  int report_waiting;
  int redirect_truncated;
  char last_date[LF__WARC_DATE_LEN]; /* WARC-Date of the last hop's response record */
};

static int cput(cbuf_t *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) return LF_ENOMEM;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static void cfree(cbuf_t *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* A hop's body buffers come from the fetcher's stash and go back to it (CAP_STASH_MAX each at
 * most: a larger one is freed), so that a run's pages reuse the same few buffers. */
#define CAP_STASH_MAX (1024 * 1024)

static void stash_take(lf_fetcher_t *f, cbuf_t *b) {
  if (b->p || !f->capture_stash_len) return;
  int i = --f->capture_stash_len;
  b->p = f->capture_stash[i].p;
  b->cap = f->capture_stash[i].cap;
  b->len = 0;
}

static void stash_give(lf_fetcher_t *f, cbuf_t *b) {
  int n = f->capture_stash_len;
  if (b->p && f->warc && b->cap <= CAP_STASH_MAX &&
      n < (int)(sizeof(f->capture_stash) / sizeof(f->capture_stash[0]))) {
    f->capture_stash[n].p = b->p;
    f->capture_stash[n].cap = b->cap;
    f->capture_stash_len = n + 1;
    memset(b, 0, sizeof(*b));
  }
  cfree(b);
}

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- pool side: one hop's body ---- */

static void job_run(uv_work_t *work) {
  lf__hop_t *h = LF__CONTAINER_OF(work, lf__hop_t, work);
  lf__warc_file_t *w = h->cap->t->fetcher->warc;
  int rc = lf__warc_body_add(&h->body, h->busy.p, h->busy.len);
  h->busy.len = 0;
  if (rc < 0)
    snprintf(h->errbuf, sizeof(h->errbuf), "cannot archive the body: %s", lf_strerror(rc));
  if (rc == 0 && h->job_finishing) {
    rc = lf__warc_body_end(&h->body);
    if (rc < 0)
      snprintf(h->errbuf, sizeof(h->errbuf), "cannot archive the body: %s", lf_strerror(rc));
    else
      rc = lf__warc_file_write(w, &h->x, h->errbuf, sizeof(h->errbuf));
  }
  h->err = rc;
}

static void wait_remove(lf_fetcher_t *f, lf__hop_t *h) {
  if (!h->waiting) return;
  if (h->wait_prev)
    h->wait_prev->wait_next = h->wait_next;
  else
    f->capture_wait = h->wait_next;
  if (h->wait_next)
    h->wait_next->wait_prev = h->wait_prev;
  else
    f->capture_wait_tail = h->wait_prev;
  h->wait_prev = h->wait_next = NULL;
  h->waiting = 0;
}

static void hop_free(lf__hop_t *h) {
  lf_fetcher_t *f = h->cap->t->fetcher;
  wait_remove(f, h);
  lf__warc_body_free(&h->body);
  free(h->x.request_head);
  free(h->uri);
  free(h->ip);
  stash_give(f, &h->fill);
  stash_give(f, &h->busy);
  free(h);
}

static void kick(lf__hop_t *h);
static void job_start(lf__hop_t *h);
static void job_done(uv_work_t *work, int status);

static void resume(lf__capture_t *c) {
  lf__transfer_t *t = c->t;
  if (!c->paused) return;
  lf_fetcher_t *f = t->fetcher;
  if (c->hop && c->hop->fill.len >= CAP_PAUSE_AT && f->capture_buffered > CAP_FLUSH_AT) return;
  c->paused = 0;
  /* The sink paused it too: its own job's end resumes it (and we are asked again then). */
  if (!t->easy || t->done_ns || t->sink.paused || t->sink.cb_paused) return;
  CURLcode rc = curl_easy_pause(t->easy, CURLPAUSE_CONT); /* may call the write callback */
  if (rc != CURLE_OK) {
    lf__transfer_set_error(t, LF_ECURL, "curl_easy_pause: %s", curl_easy_strerror(rc));
    lf__transfer_done(t, rc);
  }
}

static void job_done(uv_work_t *work, int status) {
  lf__hop_t *h = LF__CONTAINER_OF(work, lf__hop_t, work);
  lf__capture_t *c = h->cap;
  lf__transfer_t *t = c->t;
  lf_fetcher_t *f = t->fetcher;
  lf__fetcher_enter(f);
  h->job_running = 0;
  f->capture_jobs--;
  if (status < 0 && !h->err) {
    h->err = status;
    snprintf(h->errbuf, sizeof(h->errbuf), "the archive job did not run: %s", uv_strerror(status));
  }
  if (h->err) {
    /* The page's records are not whole: the page is not saved, whatever its file became. */
    lf__transfer_set_error(t, LF_EIO, "%s", h->errbuf);
    if (t->done_ns && t->status == 0) t->status = LF_EIO;
    t->retry_ms = -1;
  }
  if (h->job_finishing) {
    c->pending--;
    hop_free(h);
    if (c->pending == 0 && c->report_waiting) {
      c->report_waiting = 0;
      lf__fetcher_report(t);
    }
  } else {
    kick(h);
    if (c->hop == h) resume(c);
  }
  /* Hops that waited for a turn, in order (each may have been freed meanwhile: then it left
   * the list). */
  while (f->capture_wait && f->capture_jobs < f->capture_jobs_max) {
    lf__hop_t *w = f->capture_wait;
    wait_remove(f, w);
    job_start(w); /* it was due when it began to wait, and still is */
    if (w->cap->hop == w) resume(w->cap);
  }
  lf__fetcher_leave(f);
}

/* At most this many archive jobs at once, so that the pool's other work (the pages' own file
 * jobs, sink.c) never queues behind every body in flight: compression is the bulk of the pool's
 * CPU, and a page's file job that waits pauses its transfer. One thread of the pool is left to
 * the rest, and no more jobs than cores (more would only share them). */
static int jobs_max(void) {
  const char *env = getenv("UV_THREADPOOL_SIZE");
  long threads = env && atol(env) > 0 ? atol(env) : 4; /* libuv's default */
  long cores = (long)uv_available_parallelism();
  long n = threads - 1 < cores ? threads - 1 : cores;
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Hands what waits to a job; kick() does if one is due and none runs, or puts the hop in line
 * when the fetcher's archive jobs are at their most (job_done hands turns on in order). */
static void job_start(lf__hop_t *h) {
  lf_fetcher_t *f = h->cap->t->fetcher;
  f->capture_jobs++;
  cbuf_t b = h->busy;
  h->busy = h->fill;
  h->fill = b;
  h->fill.len = 0;
  f->capture_buffered -= h->busy.len; /* counted until handed over: what the loop holds */
  h->job_finishing = h->finishing;
  h->job_running = 1;
  if (uv_queue_work(f->loop, &h->work, job_run, job_done) != 0) abort(); /* as disk.c */
}

static void kick(lf__hop_t *h) {
  if (h->job_running || h->waiting) return;
  int flush = h->fill.len >= CAP_FLUSH_AT || (h->finishing && h->fill.len > 0);
  if (!flush && !h->finishing) return;
  lf_fetcher_t *f = h->cap->t->fetcher;
  /* Behind the hops already waiting, too: a long body whose jobs end one after another would
   * otherwise keep its turn, and the others' transfers stay paused until it ends. */
  if (f->capture_jobs >= f->capture_jobs_max || f->capture_wait) {
    h->waiting = 1;
    h->wait_prev = f->capture_wait_tail;
    if (f->capture_wait_tail)
      f->capture_wait_tail->wait_next = h;
    else
      f->capture_wait = h;
    f->capture_wait_tail = h;
    return;
  }
  job_start(h);
}

/* ---- loop side: what libcurl shows ---- */

static int head_complete(const cbuf_t *b) {
  return (b->len >= 4 && memcmp(b->p + b->len - 4, "\r\n\r\n", 4) == 0) ||
         (b->len >= 2 && memcmp(b->p + b->len - 2, "\n\n", 2) == 0) ||
         (b->len == 2 && memcmp(b->p, "\r\n", 2) == 0);
}

static int head_chunked(const char *head) {
  for (const char *p = head; (p = strcasestr(p, "\ntransfer-encoding:")); p++) {
    const char *e = strchr(p + 1, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char line[256];
    snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
    if (strcasestr(line, "chunked")) return 1;
  }
  return 0;
}

/* The response head is complete: its hop starts receiving the body. */
static int hop_start(lf__capture_t *c) {
  lf__transfer_t *t = c->t;
  lf_fetcher_t *f = t->fetcher;
  lf__hop_t *h = calloc(1, sizeof(*h));
  if (!h) return LF_ENOMEM;
  h->cap = c;
  stash_take(f, &h->fill);
  stash_take(f, &h->busy);
  size_t head_len = 0;
  int status = 0;
  char *head = lf__warc_response_head(c->head.p, c->head.len, &head_len, &status, h->x.mime,
                                      sizeof(h->x.mime));
  h->x.status = status;
  h->chunked = head_chunked(c->head.p);
  h->x.protocol = c->head.len > 6 && memcmp(c->head.p, "HTTP/2", 6) == 0 ? "h2" : "http/1.1";
  h->x.request_head =
      lf__warc_request_head(c->req.p ? c->req.p : "", c->req.len, &h->x.request_head_len);
  h->uri = strdup(c->uri ? c->uri : t->req->url);
  h->ip = c->hop_ip[0] ? strdup(c->hop_ip) : NULL;
  lf__warc_date(c->request_ns, h->x.request_date);
  lf__warc_date(c->response_ns, h->x.response_date);
  h->x.target_uri = h->uri;
  h->x.ip = h->ip;
  h->x.response = &h->body;
  int rc = head && h->x.request_head && h->uri && (h->ip || !c->hop_ip[0]) ? 0 : LF_ENOMEM;
  if (rc == 0) {
    rc = lf__warc_body_init(&h->body, lf__warc_file_compressed(f->warc),
                            lf__warc_file_dirfd(f->warc), head, head_len);
    head = NULL; /* the body owns it now */
  }
  free(head);
  if (rc < 0) {
    hop_free(h);
    return rc;
  }
  if (status == 304) { /* to a conditional request: the earlier capture is unchanged */
    h->x.not_modified = 1;
    h->x.refers_date = t->req->warc_date;
  }
  memcpy(c->last_date, h->x.response_date, sizeof(c->last_date));
  c->hop = h;
  c->pending++;
  c->redirect_body.len = 0;
  c->redirect_truncated = 0;
  return 0;
}

/* The hop's records go to the file; truncated: why its body is not whole, or NULL. */
static void hop_end(lf__capture_t *c, const char *truncated) {
  lf__hop_t *h = c->hop;
  if (!h) return;
  c->hop = NULL;
  if (!h->got_write && c->redirect_body.len) { /* a redirect libcurl read but did not hand on */
    int complete = 1;
    size_t n = c->redirect_body.len;
    if (h->chunked) n = lf__warc_dechunk(c->redirect_body.p, n, c->redirect_body.p, &complete);
    if (cput(&h->fill, c->redirect_body.p, n) < 0) h->err = LF_ENOMEM;
    c->t->fetcher->capture_buffered += n;
    if (!complete || c->redirect_truncated) truncated = "length";
  }
  c->redirect_body.len = 0;
  h->x.truncated = truncated;
  h->finishing = 1;
  kick(h);
}

static void on_header_out(lf__capture_t *c, const char *data, size_t len) {
  lf__transfer_t *t = c->t;
  if (c->phase >= 2) {
    hop_end(c, c->phase == 3 ? NULL : "length");
    c->phase = 0;
  }
  if (c->phase != 1) {
    c->req.len = 0;
    c->head.len = 0;
    c->request_ns = realtime_ns();
    free(c->uri);
    char *u = NULL;
    c->uri =
        curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &u) == CURLE_OK && u ? strdup(u) : NULL;
    memcpy(c->hop_ip, c->ip, sizeof(c->hop_ip));
    c->phase = 1;
  }
  if (cput(&c->req, data, len) < 0) c->phase = 0; /* without memory, no record of this hop */
}

static void on_header_in(lf__capture_t *c, const char *data, size_t len) {
  if (c->phase == 1) {
    c->phase = 2;
    c->head.len = 0;
    c->response_ns = realtime_ns();
  }
  if (c->phase != 2) return; /* trailers, or a head without a request we saw */
  if (cput(&c->head, data, len) < 0) {
    c->phase = 0;
    return;
  }
  if (!head_complete(&c->head)) return;
  if (c->head.len > 9 && c->head.p[9] == '1' && memcmp(c->head.p, "HTTP/", 5) == 0) {
    c->head.len = 0; /* 1xx: informational, the real head follows */
    return;
  }
  c->phase = hop_start(c) == 0 ? 3 : 0;
}

static void on_data_in(lf__capture_t *c, const char *data, size_t len) {
  if (c->phase != 3 || !c->hop || c->hop->got_write) return;
  int status = c->hop->x.status;
  if (status < 300 || status >= 400) return; /* only redirects can be read and not handed on */
  if (c->redirect_body.len + len > CAP_REDIRECT_MAX) {
    c->redirect_truncated = 1;
    return;
  }
  if (cput(&c->redirect_body, data, len) < 0) c->redirect_truncated = 1;
}

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userp) {
  lf__transfer_t *t = userp;
  (void)easy;
  lf__capture_t *c = t->capture;
  if (!c) return 0;
  switch (type) {
  case CURLINFO_HEADER_OUT:
    on_header_out(c, data, size);
    break;
  case CURLINFO_HEADER_IN:
    on_header_in(c, data, size);
    break;
  case CURLINFO_DATA_IN:
    on_data_in(c, data, size);
    break;
  default:
    break;
  }
  return 0;
}

/* ---- what transfer.c and fetcher.c call ---- */

int lf__capture_configure(CURL *easy, int on) {
  if (curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, on ? on_debug : NULL) != CURLE_OK ||
      curl_easy_setopt(easy, CURLOPT_VERBOSE, (long)on) != CURLE_OK)
    return LF_ECURL;
  return 0;
}

int lf__capture_start(lf__transfer_t *t) {
  if (!t->fetcher->warc) return 0;
  lf__capture_t *c = calloc(1, sizeof(*c));
  if (!c) return LF_ENOMEM;
  c->t = t;
  t->capture = c;
  return curl_easy_setopt(t->easy, CURLOPT_DEBUGDATA, t) == CURLE_OK ? 0 : LF_ECURL;
}

void lf__capture_ip(lf__transfer_t *t, const char *ip) {
  if (t->capture && ip) snprintf(t->capture->ip, sizeof(t->capture->ip), "%s", ip);
}

int lf__capture_full(lf__transfer_t *t) {
  lf__capture_t *c = t->capture;
  lf__hop_t *h = c ? c->hop : NULL;
  if (!h || !(h->job_running || h->waiting)) return 0;
  size_t total = t->fetcher->capture_buffered;
  if ((h->fill.len >= CAP_PAUSE_AT && !t->sink.never_pause) || total >= CAP_HARD) {
    c->paused = 1;
    return 1;
  }
  return 0;
}

int lf__capture_body(lf__transfer_t *t, const char *data, size_t len) {
  lf__capture_t *c = t->capture;
  lf__hop_t *h = c ? c->hop : NULL;
  if (!h || !len) return 0;
  h->got_write = 1;
  if (cput(&h->fill, data, len) < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory archiving the body");
    return LF_ENOMEM;
  }
  t->fetcher->capture_buffered += len;
  kick(h);
  return 0;
}

void lf__capture_end(lf__transfer_t *t, CURLcode result) {
  lf__capture_t *c = t->capture;
  if (!c) return;
  const char *truncated = NULL;
  if (result == CURLE_OPERATION_TIMEDOUT)
    truncated = "time";
  else if (result == CURLE_WRITE_ERROR || result == CURLE_FILESIZE_EXCEEDED ||
           result == CURLE_ABORTED_BY_CALLBACK)
    truncated = t->abort_status == LF_ETOOBIG || t->discarded ? "length" : "unspecified";
  else if (result != CURLE_OK)
    truncated = "disconnect";
  if (c->phase == 3) hop_end(c, truncated);
  c->phase = 0;
}

int lf__capture_busy(lf__transfer_t *t) {
  lf__capture_t *c = t->capture;
  if (!c || c->pending == 0) return 0;
  c->report_waiting = 1;
  return 1;
}

const char *lf__capture_date(const lf__transfer_t *t) {
  return t->capture && t->capture->last_date[0] ? t->capture->last_date : NULL;
}

void lf__capture_free(lf__transfer_t *t) {
  lf__capture_t *c = t->capture;
  if (!c) return;
  /* Only when nothing is pending (lf__capture_busy): a hop without a job is freed here. */
  if (c->hop) {
    t->fetcher->capture_buffered -= c->hop->fill.len;
    hop_free(c->hop);
  }
  cfree(&c->req);
  cfree(&c->head);
  cfree(&c->redirect_body);
  free(c->uri);
  free(c);
  t->capture = NULL;
}

/* ---- the fetcher's files ---- */

int lf__capture_open(lf_fetcher_t *f, const lf_warc_options_t *o) {
  if (!o) return 0;
  if (!o->name || !lf__reserved_zero(o->reserved, LF__SLOTS(o))) return LF_EINVAL;
  /* libcurl's version goes into the warcinfo with the caller's fields. */
  size_t n = 0;
  while (o->info && o->info[n])
    n++;
  const char **info = calloc(n + 2, sizeof(*info));
  char *curl_line = NULL;
  if (!info) return LF_ENOMEM;
  const char *v = curl_version();
  if (asprintf(&curl_line, "http-library: %s", v) < 0) curl_line = NULL;
  size_t k = 0;
  if (curl_line) info[k++] = curl_line;
  for (size_t i = 0; i < n; i++)
    info[k++] = o->info[i];
  lf_warc_options_t copy = *o;
  copy.info = info;
  char err[512];
  f->capture_jobs_max = jobs_max();
  int rc = lf__warc_file_open(&copy, &f->warc, err, sizeof(err));
  free(curl_line);
  free(info);
  return rc;
}

void lf__capture_close(lf_fetcher_t *f) {
  lf__warc_file_close(f->warc);
  f->warc = NULL; /* hops freed from now on free their buffers */
  while (f->capture_stash_len > 0)
    free(f->capture_stash[--f->capture_stash_len].p);
}
