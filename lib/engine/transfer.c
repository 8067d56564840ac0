/* One request's life on an easy handle: configure, receive the body into the sink, turn
 * libcurl's verdict into a status. Easy handles are created lazily and handed from transfer to
 * transfer as each one's network part ends (release_easy), so the number alive never exceeds
 * the number of slots. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Body of an error response (4xx/5xx) that we read to keep the connection reusable. Past this
 * it is cheaper to drop the connection than to keep reading. */
#define LF__DISCARD_MAX (256 * 1024)

void lf__transfer_set_error(lf__transfer_t *t, int status, const char *fmt, ...) {
  if (t->abort_status) return; /* the first reason is the one worth telling */
  t->abort_status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->error, sizeof(t->error), fmt, ap);
  va_end(ap);
}

/* The largest body this transfer may accept, decoded or as sent. */
static uint64_t size_cap(const lf__transfer_t *t) {
  uint64_t max = t->fetcher->opts.max_size;
  if (t->req->output == LF_OUTPUT_MEMORY && t->fetcher->opts.max_memory_body < max)
    max = t->fetcher->opts.max_memory_body;
  return max;
}

/* Bytes of the page before this attempt's body: those of its partial file that it continues. */
static uint64_t resumed_from(const lf__transfer_t *t) {
  return t->part.on && !t->part.fresh ? t->part.from : 0;
}

static int too_big(lf__transfer_t *t) {
  lf__transfer_set_error(t, LF_ETOOBIG, "body exceeds the size limit of %llu bytes",
                         (unsigned long long)size_cap(t));
  return LF_ETOOBIG;
}

/* The body's Content-Encoding picks its decoder (decode.c); libcurl's is off. */
static int choose_decoder(lf__transfer_t *t) {
  struct curl_header *h = NULL;
  const char *value = NULL;
  if (curl_easy_header(t->easy, "Content-Encoding", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
    if (h->amount > 1) {
      lf__transfer_set_error(t, LF_ECURL, "unsupported Content-Encoding: %zu codings", h->amount);
      return LF_ECURL;
    }
    value = h->value;
  }
  char err[128];
  int rc = lf__decoder_new(value, &t->fetcher->decode_mem, &t->decoder, err, sizeof(err));
  if (rc < 0) lf__transfer_set_error(t, rc, "%s", rc == LF_ENOMEM ? "out of memory" : err);
  return rc;
}

/* Whether the request sent a header of this name (the fetcher's headers or its own). */
static int sent_header(const lf__transfer_t *t, const char *name) {
  size_t n = strlen(name);
  const struct curl_slist *l =
      t->req_headers ? t->req_headers : (const struct curl_slist *)t->fetcher->header_list;
  for (; l; l = l->next)
    if (strncasecmp(l->data, name, n) == 0 && l->data[n] == ':') return 1;
  return 0;
}

/* Content-Length values that differ, in two headers or in one list ("5, 6"). libcurl 7.88
 * takes one of them; RFC 9112 (6.3) calls such a response unrecoverable, since where its body
 * ends is unknowable. Not transient: the same server sends the same headers again. */
static int conflicting_lengths(lf__transfer_t *t) {
  struct curl_header *h = NULL;
  if (curl_easy_header(t->easy, "Content-Length", 0, CURLH_HEADER, -1, &h) != CURLHE_OK) return 0;
  size_t amount = h->amount;
  char first[32] = "";
  for (size_t i = 0; i < amount; i++) {
    if (i && curl_easy_header(t->easy, "Content-Length", i, CURLH_HEADER, -1, &h) != CURLHE_OK)
      return 0;
    for (const char *p = h->value;;) {
      p += strspn(p, " \t,");
      size_t n = strcspn(p, " \t,");
      if (n == 0) break;
      if (!first[0]) {
        snprintf(first, sizeof(first), "%.*s", (int)(n < 31 ? n : 31), p);
      } else if (strlen(first) != n || strncmp(first, p, n) != 0) {
        lf__transfer_set_error(t, LF_ECURL,
                               "two different Content-Length headers (%s and %.*s): where the "
                               "body ends is unknown",
                               first, (int)(n < 31 ? n : 31), p);
        return 1;
      }
      p += n;
    }
  }
  return 0;
}

/* A 206 is the part a request asked for; to one that asked for no range it is part of the
 * page passing for the whole. A range asked through libcurl (CURLOPT_RANGE: t->range, split.c;
 * resume.c's t->part.from) counts, and split.c and resume.c check that the Content-Range is the one
 * asked. */
static int unsolicited_part(lf__transfer_t *t) {
  if (t->http_code != 206 || t->range[0] || sent_header(t, "Range")) return 0;
  lf__transfer_set_error(t, LF_EHTTP, "HTTP 206 Partial Content to a request for the whole page");
  return 1;
}

/* The first body byte tells us the final status: an error page is read and thrown away. */
static int check_code(lf__transfer_t *t) {
  t->checked_code = 1;
  if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_code) != CURLE_OK)
    t->http_code = 0;
  long version = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK)
    t->sink.never_pause = version >= CURL_HTTP_VERSION_2_0;
  curl_off_t cl = -1;
  if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK) cl = -1;
  t->content_length = cl;
  if (t->http_code >= 400) return t->req->flags & LF_REQUEST_ERROR_BODY ? choose_decoder(t) : 0;
  if (conflicting_lengths(t) || unsolicited_part(t)) return -1;
  if (t->split_part ? lf__split_check_part(t) < 0
                    : t->range[0] && t->http_code == 206 && lf__split_first(t) < 0)
    return -1;
  int rc = choose_decoder(t);
  return rc < 0 ? rc : lf__resume_check(t);
}

/* LF_REQUEST_ERROR_BODY: an error response's body, kept in memory up to max_memory_body (the
 * rest is read and dropped, up to LF__DISCARD_MAX more, to keep the connection). */
static int keep_error_body(lf__transfer_t *t, const char *data, size_t len) {
  size_t cap = t->fetcher->opts.max_memory_body;
  size_t take = t->error_body_len < cap ? cap - t->error_body_len : 0;
  if (take > len) take = len;
  if (take) {
    char *grown = realloc(t->error_body, t->error_body_len + take + 1);
    if (!grown) return LF_ENOMEM;
    t->error_body = grown;
    memcpy(t->error_body + t->error_body_len, data, take);
    t->error_body_len += take;
    t->error_body[t->error_body_len] = '\0';
  }
  t->discarded += len - take;
  t->progress_ms = uv_now(t->fetcher->loop);
  return t->discarded > LF__DISCARD_MAX ? -1 : 0;
}

/* lf_fetcher_set_progress_cb: called inside libcurl, so with the body callback's limits. */
static void tell_progress(lf__transfer_t *t, size_t len) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->on_progress) return;
  lf_progress_t pr = {.url = t->req->url,
                      .data = t->req->data,
                      .attempt = t->req->attempts,
                      .received = t->bytes,
                      .delta = len,
                      .content_length = t->content_length};
  if (t->split) lf__split_progress(t, &pr); /* told as the whole file's */
  f->in_body++;
  f->on_progress(f, &pr);
  f->in_body--;
}

/* Decoded bytes go to the sink here, under the size cap: 0 taken, 1 pause, negative: stop. */
static int deliver(void *ctx, const char *data, size_t len) {
  lf__transfer_t *t = ctx;
  if (t->http_code >= 400) return keep_error_body(t, data, len);
  if (resumed_from(t) + t->bytes + len > size_cap(t)) return too_big(t);
  int rc = lf__sink_write(&t->sink, data, len);
  if (rc != 0) return rc; /* pause, or the sink recorded why it failed */
  t->bytes += len;
  t->progress_ms = uv_now(t->fetcher->loop);
  tell_progress(t, len);
  return 0;
}

/* An encoded body: libcurl's copy is the bytes as sent, capped like the decoded ones (a body
 * that decodes to nothing must not stream forever). */
static size_t decode(lf__transfer_t *t, const char *data, size_t len) {
  char err[160] = ""; /* set for a decoding error; deliver() records its own */
  int rc = lf__decoder_feed(t->decoder, data, len, deliver, t, err, sizeof(err));
  if (rc == 1) return CURL_WRITEFUNC_PAUSE; /* libcurl hands these bytes again */
  t->starved = rc == LF_ENOMEM && lf__decoder_starved(t->decoder);
  if (rc < 0 && err[0]) lf__transfer_set_error(t, t->starved ? LF_ECURL : rc, "%s", err);
  if (rc == LF_ENOMEM) lf__transfer_set_error(t, rc, "out of memory decoding the body");
  if (rc < 0) return 0;
  t->raw_bytes += len;
  return t->raw_bytes > size_cap(t) && too_big(t) ? 0 : len;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp) {
  lf__transfer_t *t = userp;
  size_t len = size * nmemb;
  if (!t->checked_code && check_code(t) < 0) return 0;
  if (t->abort_status) return 0;           /* failed outside this callback (watchdog, socket) */
  if (t->capture && lf__capture_full(t)) { /* the archive is behind: wait for it */
    t->paused_once = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  size_t rc;
  if (t->http_code >= 400 && !(t->req->flags & LF_REQUEST_ERROR_BODY)) {
    t->discarded += len;
    t->progress_ms = uv_now(t->fetcher->loop);
    rc = t->discarded > LF__DISCARD_MAX ? 0 : len;
  } else if (t->decoder) {
    rc = decode(t, data, len);
  } else if (t->range_len && t->bytes + len > t->range_len) {
    /* Past the end of its range (the first request of a split file asked for all of it):
     * the rest is another transfer's, so this one stops here, a success (range_cut). */
    size_t take = (size_t)(t->range_len - t->bytes);
    int r = take ? deliver(t, data, take) : 0;
    if (r == 1) {
      t->paused_once = 1;
      return CURL_WRITEFUNC_PAUSE; /* libcurl hands the whole chunk again */
    }
    if (r == 0) t->range_cut = 1;
    if (r == 0 && take) lf__bandwidth_used(t, take);
    return 0;
  } else {
    int r = deliver(t, data, len);
    rc = r == 1 ? CURL_WRITEFUNC_PAUSE : r < 0 ? 0 : len;
  }
  if (rc == CURL_WRITEFUNC_PAUSE) t->paused_once = 1; /* its handle is not reused */
  if (rc == len) lf__bandwidth_used(t, len);
  /* The archive keeps the bytes the transfer took, as received: before content decoding. */
  if (rc == len && t->capture && lf__capture_body(t, data, len) < 0) return 0;
  return rc; /* 0: CURLE_WRITE_ERROR ends the transfer; why is recorded */
}

/* Called by libcurl whenever it runs the transfer: a reason found outside libcurl's callbacks
 * (a socket we could not watch) stops it here, or at the watchdog's next tick (watchdog.c) if
 * libcurl has no reason to run it. */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  lf__transfer_t *t = userp;
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return t->abort_status != 0;
}

/* libcurl calls this once the request has a connection (new or reused) and is about to be
 * sent: before it, a transfer on the multi handle may only be waiting for a connection
 * (CURLMOPT_MAX_HOST_CONNECTIONS), which lf_fetcher_waiting_for_connection() tells apart. */
static int on_prereq(void *userp, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port) {
  lf__transfer_t *t = userp;
  lf__capture_ip(t, conn_primary_ip);
  if (!t->connected) {
    t->connected = 1;
    t->fetcher->connected++;
  }
  int rc = lf__redirect_prereq(t);
  if (rc != CURL_PREREQFUNC_OK) return rc;
  return lf__h2_prereq(userp, conn_primary_ip, conn_local_ip, conn_primary_port, conn_local_port);
}

/* The easy handle comes at start: transfers that only write their output hold none. */
int lf__transfer_new(lf_fetcher_t *f, lf__transfer_t **out) {
  lf__transfer_t *t = calloc(1, sizeof(*t));
  if (!t) return LF_ENOMEM;
  t->fetcher = f;
  t->sink.fd = -1;
  lf__resume_init(t);
  *out = t;
  return 0;
}

/* Whether no other request can want this transfer's connection afterwards: the producer is
 * done (no need callback, no retry waiting) and every queued request already has a slot, so
 * each has its own connection. Closing the connection as the page ends then spreads the
 * closes over the job instead of leaving hundreds to curl_multi_cleanup() after the last page
 * (bench/RESULTS.md, A: the exit took 5-15 ms). Only for plain http (HTTP/1.1, one transfer
 * per connection), without per-host or rate limits (transfers wait for connections then), and
 * only among others in flight, so that a caller adding one request at a time keeps its
 * connection. */
static int last_use_of_connection(const lf__transfer_t *t) {
  const lf_fetcher_t *f = t->fetcher;
  const lf_options_t *o = &f->opts;
  size_t busy = f->in_flight - f->writing; /* this transfer included */
  size_t free_slots = o->max_in_flight > busy ? o->max_in_flight - busy : 0;
  return t->req->output == LF_OUTPUT_FILE && !lf__is_https(t->req->url) && !f->on_need &&
         !f->delayed && f->queued <= free_slots && !o->per_host && !(o->rate > 0) &&
         !lf__pace_on(f) && f->in_flight > 1;
}

#define SET(opt, val)                                                                              \
  do {                                                                                             \
    if ((rc = curl_easy_setopt(e, opt, val)) != CURLE_OK) {                                        \
      what = #opt;                                                                                 \
      goto fail;                                                                                   \
    }                                                                                              \
  } while (0)

/* Options that point at the transfer: set whenever a handle comes to another transfer. */
static int configure_owner(lf__transfer_t *t) {
  CURL *e = t->easy;
  CURLcode rc;
  const char *what;
  SET(CURLOPT_PRIVATE, t);
  SET(CURLOPT_WRITEDATA, t);
  SET(CURLOPT_XFERINFODATA, t);
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  SET(CURLOPT_OPENSOCKETDATA, t);
  SET(CURLOPT_PREREQDATA, t);
  return 0;
fail:
  lf__transfer_set_error(t, LF_ECURL, "%s: %s", what, curl_easy_strerror(rc));
  return LF_ECURL;
}

/* Options that are the same for every request, set once per easy handle. TLS verification
 * stays at libcurl's default: on. */
static int configure_shared(lf__transfer_t *t) {
  const lf_options_t *o = &t->fetcher->opts;
  CURL *e = t->easy;
  CURLcode rc;
  const char *what;
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_NOPROGRESS, 0L);
  SET(CURLOPT_XFERINFOFUNCTION, on_progress);
  SET(CURLOPT_OPENSOCKETFUNCTION, lf__loop_open_socket);   /* so that connections' sockets */
  SET(CURLOPT_CLOSESOCKETFUNCTION, lf__loop_close_socket); /* keep their poll handles between */
  SET(CURLOPT_CLOSESOCKETDATA, t->fetcher);                /* transfers (loop.c) */
  SET(CURLOPT_PREREQFUNCTION, on_prereq); /* counts it connected; h2.c: which connection */
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, o->max_redirs > 0 ? 1L : 0L); /* 0: LF_NONE (copy_options) */
  SET(CURLOPT_MAXREDIRS, o->max_redirs);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_USERAGENT, o->user_agent);
  /* Files are saved decoded, by decode.c rather than libcurl (it says why); libcurl checks
   * Content-Length and chunking on the bytes as sent. Only gzip and deflate are asked for:
   * their decoders hold 44 KiB, where br and zstd hold the window the sender picks (up to 16
   * and 8 MB), so those, decoded when a server sends them anyway, share one 64 MB budget that
   * every page of a br- or zstd-serving site would otherwise compete for. */
  SET(CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
  SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
  SET(CURLOPT_SHARE, (CURLSH *)t->fetcher->share);
  if (t->fetcher->warc && lf__capture_configure(e, 1) < 0) { /* the request as sent (capture.c) */
    rc = CURLE_UNKNOWN_OPTION;
    what = "CURLOPT_DEBUGFUNCTION";
    goto fail;
  }
  /* CURLOPT_BUFFERSIZE stays at libcurl's default: with 8 KiB, libcurl 7.88 left HTTP/2
   * responses of 8-16 KiB on a reused connection waiting for its 1 s internal timer, and
   * refused the option on a reused handle (bench/RESULTS.md). */
  /* Stalls (stall_timeout_ms) are watchdog.c's: libcurl's LOW_SPEED skips paused transfers. */
  if (t->fetcher->header_list)
    SET(CURLOPT_HTTPHEADER, (struct curl_slist *)t->fetcher->header_list);
  if (o->cacert) SET(CURLOPT_CAINFO, o->cacert);
  if ((rc = lf__http_configure(t->fetcher, e, &what)) != CURLE_OK) goto fail;
  return 0;
fail:
  lf__transfer_set_error(t, LF_ECURL, "%s: %s", what, curl_easy_strerror(rc));
  return LF_ECURL;
}

/* The fetcher's headers followed by the request's own (libcurl takes one list per handle). */
static int request_headers(lf__transfer_t *t) {
  const lf__pending_t *p = t->req;
  struct curl_slist *l = NULL;
  for (const struct curl_slist *h = t->fetcher->header_list; h; h = h->next)
    if (!(l = curl_slist_append(t->req_headers, h->data)))
      return LF_ENOMEM;
    else
      t->req_headers = l;
  const char *h = p->headers;
  for (size_t i = 0; i < p->header_count; i++, h += strlen(h) + 1)
    if (!(l = curl_slist_append(t->req_headers, h)))
      return LF_ENOMEM;
    else
      t->req_headers = l;
  return lf__resume_headers(t, &t->req_headers);
}

/* Whether a request may be split (lf_options_t.split): a file, not archived (a WARC record
 * holds one response), that asks for no range of its own and did not learn that the server
 * refuses "bytes=0-" (416: an empty file); and not under a wait between requests to a host
 * (lf_fetcher_set_pace), which N ranges started at once would break. */
static int split_wanted(const lf__transfer_t *t) {
  const lf_fetcher_t *f = t->fetcher;
  return f->opts.split > 1 && t->req->output == LF_OUTPUT_FILE && !f->warc && !t->req->no_range &&
         !(f->pace.wait > 0) && !sent_header(t, "Range");
}

/* Options of this request. Each is set either way, since the handle may carry the last
 * request's. */
static int configure_request(lf__transfer_t *t) {
  CURL *e = t->easy;
  CURLcode rc;
  const char *what;
  int https = lf__is_https(t->req->url);
  if ((t->req->header_count || t->part.if_range) && request_headers(t) < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory for the request headers");
    return LF_ENOMEM;
  }
  SET(CURLOPT_HTTPHEADER,
      t->req_headers ? t->req_headers : (struct curl_slist *)t->fetcher->header_list);
  SET(CURLOPT_URL, (const char *)t->req->url);
  /* --split: the first request asks for the whole file as a range, so that a 206's
   * Content-Range tells its size and that ranges work (split.c says why not a HEAD).
   * -C asks for the rest of a partial file instead (resume.c), as one stream. */
  if (t->part.from)
    snprintf(t->range, sizeof(t->range), "%llu-", (unsigned long long)t->part.from);
  else if (!t->split_part && split_wanted(t))
    snprintf(t->range, sizeof(t->range), "0-");
  SET(CURLOPT_RANGE, t->range[0] ? t->range : (const char *)NULL);
  /* For https, wait for a connection that can multiplex (HTTP/2) rather than open more. Plain
   * http is HTTP/1.1 here: waiting would only delay every transfer behind the first one. */
  SET(CURLOPT_PIPEWAIT, (long)https);
  long timeout = t->req->timeout_ms ? t->req->timeout_ms : t->fetcher->opts.timeout_ms;
  SET(CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 0L); /* LF_NONE: none */
  SET(CURLOPT_FORBID_REUSE, (long)last_use_of_connection(t));
  return 0;
fail:
  lf__transfer_set_error(t, LF_ECURL, "%s: %s", what, curl_easy_strerror(rc));
  return LF_ECURL;
}

static void event(lf__transfer_t *t, lf_event_kind_t kind, const char *detail, long wait_ms) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->on_event) return;
  lf_event_t ev = {.kind = kind,
                   .url = t->req->url,
                   .data = t->req->data,
                   .attempt = t->req->attempts,
                   .detail = detail,
                   .http_code = t->http_code,
                   .redirects = t->redirects,
                   .wait_ms = wait_ms};
  f->on_event(f, &ev);
}

void lf__transfer_event_done(lf__transfer_t *t, int status, const char *error) {
  event(t, LF_EVENT_DONE, status ? error : NULL, 0);
}

void lf__transfer_event_start(lf__transfer_t *t) {
  event(t, LF_EVENT_START, NULL, 0);
}

/* lf_fetcher_set_easy_cb: the caller's own options. The handle keeps them, so it serves no
 * other request (release_easy). */
static int call_easy_hook(lf__transfer_t *t) {
  t->hooked = 1;
  int rc = t->fetcher->on_easy(t->fetcher, t->easy, t->req->url, t->req->data);
  if (rc >= 0) return 0;
  lf__transfer_set_error(t, rc, "the easy-handle callback refused the request: %s",
                         lf_strerror(rc));
  return rc;
}

int lf__transfer_start(lf__transfer_t *t, lf__pending_t *req) {
  t->req = req;
  t->retry_ms = -1;
  t->file_time = -1;
  t->content_length = -1;
  req->attempts++;
  t->start_ns = lf__now_ns();
  t->progress_ms = uv_now(t->fetcher->loop);
  lf__watchdog_arm(t->fetcher);
  lf__sink_init(&t->sink, t, req->output);
  int rc = lf__resume_prepare(t);
  if (rc < 0) {
    lf__transfer_set_error(t, rc, "cannot look for the partial file: %s", lf_strerror(rc));
    return rc;
  }
  if ((t->easy = lf__fetcher_take_easy(t->fetcher))) { /* a spare: only its owner changes */
    rc = configure_owner(t);
  } else if ((t->easy = curl_easy_init())) {
    rc = configure_shared(t);
    if (rc == 0) rc = configure_owner(t);
  } else {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory starting the transfer");
    return LF_ENOMEM;
  }
  if (rc == 0) rc = configure_request(t);
  if (rc == 0 && (rc = lf__capture_start(t)) < 0)
    lf__transfer_set_error(t, rc, "cannot archive the transfer: %s", lf_strerror(rc));
  if (rc == 0 && t->fetcher->on_easy) rc = call_easy_hook(t);
  if (rc == 0) {
    CURLMcode mrc = curl_multi_add_handle(t->fetcher->multi, t->easy);
    if (mrc != CURLM_OK) {
      lf__transfer_set_error(t, LF_ECURL, "curl_multi_add_handle: %s", curl_multi_strerror(mrc));
      rc = LF_ECURL;
    } else {
      lf__h2_started(t);
      lf__bandwidth_started(t);
    }
  }
  return rc;
}

/* Maps libcurl's result, the HTTP code and our own abort reasons to one status and line. */
static void judge(lf__transfer_t *t, CURLcode result) {
  if (t->abort_status) {
    t->status = t->abort_status;
  } else if (t->sink.err) {
    t->status = LF_EIO;
  } else if (result == CURLE_FILESIZE_EXCEEDED) {
    lf__transfer_set_error(t, LF_ETOOBIG, "body exceeds the size limit of %llu bytes",
                           (unsigned long long)t->fetcher->opts.max_size);
    t->status = LF_ETOOBIG;
  } else if (result == CURLE_OK && t->http_code == 304) {
    t->status = 0; /* not modified: a success that leaves the file as it is */
  } else if (t->http_code >= 400 || (result == CURLE_OK && t->http_code < 200)) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP %ld", t->http_code);
    t->status = LF_EHTTP;
  } else if (result != CURLE_OK) {
    lf__transfer_set_error(t, LF_ECURL, "%s",
                           t->errbuf[0] ? t->errbuf : curl_easy_strerror(result));
    t->status = LF_ECURL;
  } else if (t->http_code >= 300) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP %ld: %s", t->http_code,
                           t->fetcher->opts.max_redirs == 0 ? "redirect not followed (max_redirs)"
                                                            : "redirect without a usable Location");
    t->status = LF_EHTTP;
  }
}

/* What kind of failure, from libcurl's code: lets a caller act without parsing text. */
static int curl_class(int code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return LF_ERR_DNS;
  case CURLE_COULDNT_CONNECT:
    return LF_ERR_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return LF_ERR_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    return LF_ERR_TLS;
  default:
    return LF_ERR_PROTOCOL;
  }
}

void lf__transfer_fill_class(const lf__transfer_t *t, lf_result_t *r) {
  r->curl_code = t->curl_code;
  r->content_length = t->content_length;
  r->headers = (const char *const *)t->all_headers;
  r->header_count = t->header_count;
  if (r->status == 0)
    r->error_class = LF_ERR_NONE;
  else if (r->status == LF_EHTTP)
    r->error_class = LF_ERR_HTTP;
  else if (r->status == LF_ECURL)
    r->error_class = curl_class(t->curl_code);
  else
    r->error_class = LF_ERR_OTHER;
}

/* Failures worth another try: the network or the server may do better in a moment. */
static int transient(CURLcode result, long http_code) {
  switch (http_code) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return 1;
  }
  if (http_code >= 400) return 0;
  switch (result) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return 1;
  default:
    return 0;
  }
}

/* xorshift64: jitter needs spread, not cryptographic quality. */
static uint64_t next_random(lf_fetcher_t *f) {
  uint64_t x = f->rand_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return f->rand_state = x;
}

/* Retry-After (seconds or HTTP date, parsed by libcurl) wins; otherwise exponential backoff
 * with jitter, so that many failed transfers do not come back in lockstep. */
static long retry_delay(lf__transfer_t *t) {
  const lf_options_t *o = &t->fetcher->opts;
  curl_off_t after = -1;
  if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK) after = -1;
  long ms;
  if (after > 0) {
    ms = after > o->retry_max_wait_ms / 1000 ? o->retry_max_wait_ms : (long)after * 1000;
  } else {
    int shift = t->req->attempts - 1 < 20 ? t->req->attempts - 1 : 20;
    long full = o->retry_base_ms << shift;
    if (full <= 0 || full > o->retry_max_wait_ms) full = o->retry_max_wait_ms;
    ms = full / 2 + (long)(next_random(t->fetcher) % (uint64_t)(full / 2 + 1));
  }
  return ms;
}

/* How long a 429 or 503 holds its host (pace.c): Retry-After, else 1 s, capped as retries are. */
static long hold_ms(lf__transfer_t *t) {
  curl_off_t after = -1;
  if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK) after = -1;
  long cap = t->fetcher->opts.retry_max_wait_ms;
  long ms = after > 0 ? (after > cap / 1000 ? cap : (long)after * 1000) : 1000;
  return ms < cap ? ms : cap;
}

static double info_secs(CURL *easy, CURLINFO what) {
  curl_off_t us = 0;
  return curl_easy_getinfo(easy, what, &us) == CURLE_OK ? (double)us / 1e6 : 0.0;
}

static char *info_copy(CURL *easy, CURLINFO what) {
  char *s = NULL;
  return curl_easy_getinfo(easy, what, &s) == CURLE_OK && s ? strdup(s) : NULL;
}

/* A header of the last response (after redirects), copied, or NULL. */
static char *header_copy(CURL *easy, const char *name) {
  struct curl_header *h = NULL;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return NULL;
  return strdup(h->value);
}

/* What the result will tell, read now: the handle goes back before the output is written. */
/* LF_REQUEST_HEADERS: every header line of the last response, in one block (pointers, then
 * the "Name: value" strings). */
static void keep_all_headers(lf__transfer_t *t) {
  size_t n = 0, bytes = 0;
  struct curl_header *h = NULL;
  while ((h = curl_easy_nextheader(t->easy, CURLH_HEADER, -1, h))) {
    n++;
    bytes += strlen(h->name) + strlen(h->value) + 3;
  }
  char **list = malloc((n + 1) * sizeof(*list) + bytes);
  if (!list) return; /* the result then lists none: headers are extra, not the page */
  char *at = (char *)(list + n + 1);
  size_t i = 0;
  h = NULL;
  while (i < n && (h = curl_easy_nextheader(t->easy, CURLH_HEADER, -1, h))) {
    list[i++] = at;
    at += sprintf(at, "%s: %s", h->name, h->value) + 1;
  }
  list[i] = NULL;
  t->all_headers = list;
  t->header_count = i;
}

static void keep_info(lf__transfer_t *t) {
  CURL *e = t->easy;
  if (t->req->flags & LF_REQUEST_HEADERS) keep_all_headers(t);
  t->etag = header_copy(e, "ETag");
  t->last_modified = header_copy(e, "Last-Modified");
  t->content_disposition = header_copy(e, "Content-Disposition");
  time_t when = t->last_modified ? curl_getdate(t->last_modified, NULL) : -1;
  t->file_time = when < 0 ? -1 : (int64_t)when;
  if (curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &t->redirects) != CURLE_OK) t->redirects = 0;
  t->timings.namelookup = info_secs(e, CURLINFO_NAMELOOKUP_TIME_T);
  t->timings.connect = info_secs(e, CURLINFO_CONNECT_TIME_T);
  t->timings.appconnect = info_secs(e, CURLINFO_APPCONNECT_TIME_T);
  t->timings.starttransfer = info_secs(e, CURLINFO_STARTTRANSFER_TIME_T);
  t->timings.total = info_secs(e, CURLINFO_TOTAL_TIME_T);
  t->effective_url = info_copy(e, CURLINFO_EFFECTIVE_URL);
  t->content_type = info_copy(e, CURLINFO_CONTENT_TYPE);
  /* The caller asked for the page and gets all of it: that it came as the range "0-" (or as
   * several, split.c) is ours to know, so the result says 200, as to a plain GET. */
  if (t->whole_range && t->http_code == 206) t->http_code = 200;
}

/* The network part is over, so the easy handle serves the next request at once rather than
 * wait with this one for the disk: handles alive stay at the number of slots, not twice that
 * (each holds libcurl's 16 KiB receive buffer and ~5 KiB of state). A clean transfer leaves
 * nothing in its handle that the next request does not set anew, so the handle keeps its
 * options (resetting and setting 25 of them again cost 3 % of the loop thread on small pages).
 * After a failure or a pause it is freed instead. */
static void release_easy(lf__transfer_t *t) {
  CURL *e = t->easy;
  t->easy = NULL;
  if (t->status == 0 && !t->paused_once && !t->hooked)
    lf__fetcher_give_easy(t->fetcher, e);
  else
    curl_easy_cleanup(e);
}

/* Whether the HTTP/2 connection the transfer used failed under it (h2.c says why it matters). */
static int connection_failed(CURLcode result) {
  switch (result) {
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_HTTP2:
  case CURLE_PARTIAL_FILE: /* "not closed cleanly before end of the underlying stream" */
    return 1;
  default:
    return 0;
  }
}

static CURLcode partial(lf__transfer_t *t, const char *why) {
  lf__transfer_set_error(t, LF_ECURL, "partial body: %s (%llu bytes received)", why,
                         (unsigned long long)(t->decoder ? t->raw_bytes : t->bytes));
  return CURLE_PARTIAL_FILE; /* a transient failure, retried */
}

/* A 2xx body is whole only if it is provably so. libcurl vouches for Content-Length and the
 * chunked terminator over HTTP/1.1, but not for everything:
 *  - a compressed body is whole only if its stream ended, which libcurl 7.88 does not check
 *    (decode.c); an empty one never did (no gzip stream is empty);
 *  - the bytes received must match a Content-Length: checked again here, whatever the
 *    protocol, as the one signal that needs no trust in how the transfer ended;
 *  - an HTTP/2 stream that libcurl ended "OK" when its connection failed is cut short unless
 *    one of the two above proves it whole (h2.c tells how libcurl 7.88 gets there).
 * Also: a 304 is a success only to a request that sent validators, and two different
 * Content-Length headers are refused (conflicting_lengths). */
static CURLcode check_whole(lf__transfer_t *t, CURLcode result) {
  long version = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version) != CURLE_OK) version = 0;
  int h2 = version >= CURL_HTTP_VERSION_2_0;
  if (h2 && connection_failed(result)) {
    lf__h2_failed(t);
    lf__h2_fail_siblings(t);
  }
  if (t->range_cut && !t->abort_status) return CURLE_OK; /* stopped at its range's end */
  if (t->abort_status || t->http_code >= 400) return result;
  if (conflicting_lengths(t)) return CURLE_WRITE_ERROR; /* whatever libcurl made of them */
  if (result != CURLE_OK) return result;
  if (t->http_code == 304 && !sent_header(t, "If-None-Match") &&
      !sent_header(t, "If-Modified-Since")) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP 304 Not Modified to a request without validators");
    return result;
  }
  if (t->http_code < 200 || t->http_code >= 300 || t->http_code == 204) return result;
  if (!t->checked_code && check_code(t) < 0) return result; /* no body came: look now */
  if (t->decoder && !lf__decoder_done(t->decoder)) {
    char why[64];
    snprintf(why, sizeof(why), "the %s stream %s", lf__decoder_name(t->decoder),
             t->raw_bytes ? "ended early" : "is empty");
    return partial(t, why);
  }
  curl_off_t length = -1;
  if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) != CURLE_OK)
    length = -1;
  uint64_t raw = t->decoder ? t->raw_bytes : t->bytes;
  if (length >= 0 && raw != (uint64_t)length) {
    char why[80];
    snprintf(why, sizeof(why), "Content-Length is %lld", (long long)length);
    return partial(t, why);
  }
  if (h2 && length < 0 && !t->decoder && lf__h2_conn_failed(t))
    return partial(t, "the HTTP/2 connection failed before the stream's end (END_STREAM)");
  return result;
}

void lf__transfer_fill_headers(const lf__transfer_t *t, lf_result_t *r) {
  r->etag = t->etag;
  r->last_modified = t->last_modified;
  r->content_disposition = t->content_disposition;
  r->file_time = t->started ? t->file_time : -1;
}

/* The caller's name callback sees the reply and may pick another name for the file. */
static int choose_name(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->on_name) return 0;
  lf_result_t reply = {.url = t->req->url,
                       .effective_url = t->effective_url,
                       .file = t->req->file,
                       .data = t->req->data,
                       .http_code = t->http_code,
                       .content_type = t->content_type,
                       .bytes = t->bytes,
                       .attempts = t->req->attempts};
  lf__transfer_fill_headers(t, &reply);
  char name[LF_FILE_NAME_MAX + 1];
  snprintf(name, sizeof(name), "%s", t->req->file);
  f->on_name(f, &reply, name);
  name[LF_FILE_NAME_MAX] = '\0';
  if (strcmp(name, t->req->file) == 0) return 0;
  if (!lf__valid_file_name(name)) {
    lf__transfer_set_error(t, LF_ENAME, "the name callback gave an unusable file name");
    t->status = LF_ENAME;
    return -1;
  }
  if (!(t->final_name = strdup(name))) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory naming the file");
    t->status = LF_ENOMEM;
    return -1;
  }
  return 0;
}

void lf__transfer_done(lf__transfer_t *t, CURLcode result) {
  if (t->connected) {
    t->connected = 0;
    t->fetcher->connected--;
  }
  CURLMcode mrc = curl_multi_remove_handle(t->fetcher->multi, t->easy);
  t->done_ns = lf__now_ns();
  if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_code) != CURLE_OK)
    t->http_code = 0;
  lf__capture_end(t, result); /* what the network gave, whole or not, before the verdict */
  result = check_whole(t, result);
  t->curl_code = (int)result;
  lf__decoder_free(t->decoder); /* ~56 KiB of zlib state that the disk wait does not need */
  t->decoder = NULL;
  judge(t, result);
  lf__h2_ended(t, t->http_code);
  lf__bandwidth_ended(t);
  /* A stream whose body was partly handed out cannot start again: the caller has it. */
  int handed_out = t->req->output == LF_OUTPUT_CALLBACK && t->bytes > 0;
  int unranged = 0; /* asked again without "Range: bytes=0-": no retry to tell of */
  if (!t->split_part && !t->split && strcmp(t->range, "0-") == 0 && t->http_code == 416 &&
      t->status == LF_EHTTP && !t->req->cancelled) {
    /* "bytes=0-" is unsatisfiable only for an empty file: asked again without a range, at
     * once, and not counted as an attempt (--split must not fail what a plain GET gets). */
    t->req->no_range = 1;
    t->req->attempts--;
    t->retry_ms = 0;
    unranged = 1;
  } else if (t->status != 0 && t->status != LF_EABORTED && !t->sink.err && !handed_out &&
             !t->req->cancelled && t->req->attempts <= t->fetcher->opts.retries &&
             (transient(result, t->http_code) || t->starved || t->conn_lost))
    t->retry_ms = retry_delay(t); /* conn_lost: failed with its connection (h2.c), whatever
                                     libcurl said of the stream when it got to report it */
  if (t->status != 0 && t->status != LF_EABORTED && lf__resume_restart(t))
    t->retry_ms = 0; /* the partial did not fit the page: again, at once, from byte 0 */
  if (mrc != CURLM_OK && t->status == 0) {
    lf__transfer_set_error(t, LF_ECURL, "curl_multi_remove_handle: %s", curl_multi_strerror(mrc));
    t->status = LF_ECURL;
  }
  if (t->fetcher->pace.flags & LF_PACE_BACKOFF)
    lf__pace_reply(t->fetcher, t->req->url, t->http_code, hold_ms(t), t->start_ns);
  keep_info(t);
  release_easy(t);
  if (t->redirects > 0) event(t, LF_EVENT_REDIRECT, t->effective_url, 0);
  if (t->retry_ms >= 0 && !unranged) event(t, LF_EVENT_RETRY, t->error, t->retry_ms);
  int keep = t->status == 0 && t->http_code != 304; /* a 304 leaves the file untouched */
  if (keep && t->req->output == LF_OUTPUT_FILE && !t->split_part) keep = choose_name(t) == 0;
  if (t->split) keep = lf__split_keep(t, keep); /* a range: written or dropped (split.c) */
  /* The network part is over: its slot can serve the next request while the disk finishes
   * this one (the fetcher bounds how many may be writing at once). */
  lf_fetcher_t *f = t->fetcher;
  f->writing++;
  lf__sink_finish(&t->sink, keep); /* may report, and recycle t, right here */
  lf__fetcher_refill(f);
}

void lf__transfer_abort(lf__transfer_t *t) {
  if (t->done_ns) return; /* already finishing its output */
  lf__transfer_set_error(t, LF_EABORTED, "aborted");
  lf__transfer_done(t, CURLE_ABORTED_BY_CALLBACK);
}

/* Ready for the next request. */
void lf__transfer_recycle(lf__transfer_t *t) {
  free(t->req);
  free(t->effective_url);
  free(t->content_type);
  lf__decoder_free(t->decoder);
  free(t->final_name);
  free(t->etag);
  free(t->last_modified);
  free(t->content_disposition);
  free(t->all_headers);
  free(t->error_body);
  curl_slist_free_all(t->req_headers);
  lf__capture_free(t);
  curl_slist_free_all(t->foreign_headers);
  lf__resume_free(t);
  lf__sink_reset(&t->sink);
  curl_easy_cleanup(t->easy); /* only a transfer that failed to start still has one */
  lf_fetcher_t *f = t->fetcher;
  memset(t, 0, sizeof(*t));
  t->fetcher = f;
  t->sink.fd = -1;
  lf__resume_init(t);
}

void lf__transfer_free(lf__transfer_t *t) {
  if (!t) return;
  lf__transfer_recycle(t);
  free(t);
}
