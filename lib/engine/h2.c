/* How many connections https transfers get: about ceil(N / L) for N transfers against a server
 * that allows L streams per HTTP/2 connection, all started at once.
 *
 * Why not leave it to libcurl: libcurl 7.88 puts a transfer on a connection that has a free
 * stream, and otherwise opens a new connection for it, and only for it: connections that are
 * still being set up are not shared. So N transfers against L streams made 1 + (N - L)
 * connections, a TLS handshake each on both sides (bench/RESULTS.md, issue 16). Capping the
 * connections per host (CURLMOPT_MAX_HOST_CONNECTIONS) makes libcurl queue the rest instead, and
 * it hands them to a connection as soon as one can take them (when a connection is up, when its
 * SETTINGS raise the limit, when a stream ends). The cap must be right, though: too low and
 * transfers wait for others to end, a second wave.
 *
 * So the cap starts at 1 and is raised to ceil(N / L) once the first connection's limit is
 * known. libcurl 7.88 does not tell the limit (its SETTINGS log lines exist only in debug
 * builds), but it shows it: it fills a connection up to the server's limit and queues the rest,
 * and the pre-request callback names each transfer's connection (its local port). A connection
 * that is full while transfers wait carries L streams once libcurl knows the server's SETTINGS:
 * surely after a response arrived on it (the server sends SETTINGS first), or when it carries
 * more than the 100 streams libcurl assumes before SETTINGS; else after a grace period of twice
 * the connection's set-up time (SETTINGS follow the handshake by one round trip). Whether libcurl
 * has read them cannot be seen from outside: it reads a connection whenever it runs one of its
 * transfers, not only when the socket is reported readable. A connection that carries one
 * transfer while others wait does not multiplex (HTTP/1.1 over TLS): the cap is lifted.
 *
 * The cap is libcurl's, for every host alike, so it applies only while every transfer on the
 * network is https and the user set no --per-host; plain http is HTTP/1.1 here (one transfer
 * per connection) and must not be capped. */
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "internal.h"

/* Streams libcurl 7.88 allows on a new connection before the server's SETTINGS arrive
 * (DEFAULT_MAX_CONCURRENT_STREAMS in its http2.h). */
#define LF__H2_ASSUMED 100
#define LF__H2_GRACE_MIN_NS 5000000ull /* on top of twice the connection's set-up time */

typedef struct lf__conn_s {
  int port;          /* our end's port: names the connection */
  size_t streams;    /* transfers on it now */
  int known;         /* libcurl knows the server's limit for it */
  uint64_t known_at; /* until then: when to assume it does */
} lf__conn_t;

static lf__conn_t *find(lf__h2_t *h, int port) {
  for (size_t i = 0; i < h->len; i++)
    if (h->conns[i].port == port) return &h->conns[i];
  return NULL;
}

static lf__conn_t *add(lf__h2_t *h, int port) {
  if (h->len == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 8;
    lf__conn_t *grown = realloc(h->conns, cap * sizeof(*grown));
    if (!grown) return NULL; /* the connection goes uncounted: at worst one more opens */
    h->conns = grown;
    h->cap = cap;
  }
  lf__conn_t *c = &h->conns[h->len++];
  *c = (lf__conn_t){.port = port};
  for (size_t i = 0; i < sizeof(h->failed) / sizeof(h->failed[0]); i++)
    if (h->failed[i] == port) h->failed[i] = 0; /* a new connection on an old port */
  return c;
}

/* libcurl 7.88 may end an HTTP/2 stream with CURLE_OK although it never saw its END_STREAM:
 * when nghttp2 fails the session (a sibling stream's oversized header block makes
 * nghttp2_session_mem_recv() return NGHTTP2_ERR_CALLBACK_FAILURE), the transfer that was
 * reading gets the error, while each other stream of the session then finds
 * should_close_session() true in h2_process_pending_input() (lib/http2.c), whose "not an
 * error per se" branch returns CURLE_OK for a stream that nghttp2 never closed
 * (on_stream_close() not called, stream->closed FALSE), after connclose(). Nothing in
 * libcurl's API tells such a stream from one closed by END_STREAM (its debug callback says
 * nothing of it in a release build), and the failing transfer may be reported after its
 * siblings, so two traces of the failure are taken instead:
 *  - the connection is gone: marked for closing, it is closed when its last stream ends,
 *    before that stream's result is read (the socket's close callback runs inside
 *    curl_multi_socket_action(), results are read after it), so the conn entry is missing;
 *  - a transfer on it failed with a connection error (its result, or libcurl retrying it at
 *    once on a new connection, "Connection died": a socket opened for a transfer that has a
 *    connection and no response, lf__h2_opening), as long as the connection lives on.
 * On such a connection transfer.c takes a stream as whole only if its Content-Length or its
 * compressed stream proves it so (nghttp2 checks the DATA against Content-Length at
 * END_STREAM, RFC 9113 8.1.1). The cost: a stream without either that did end on a connection
 * the server closed right after it (GOAWAY after its last response) is fetched again. */
void lf__h2_failed(lf__transfer_t *t) {
  lf__h2_t *h = &t->fetcher->h2;
  if (!t->conn_port || !find(h, t->conn_port) || lf__h2_conn_failed(t)) return;
  h->failed[h->failed_next++ % (sizeof(h->failed) / sizeof(h->failed[0]))] = t->conn_port;
}

/* The connection failed under t: its other streams are dead too, but libcurl 7.88 may never
 * run them again (seen with two streams cut by a FIN: the second waited for the stall
 * timeout), so each is failed here, transiently, and ended by the watchdog on the next loop
 * turn (from a timer, outside libcurl, as a stall is). */
void lf__h2_fail_siblings(lf__transfer_t *t) {
  if (!t->conn_port) return;
  int any = 0;
  for (lf__transfer_t *u = t->fetcher->active; u; u = u->next)
    if (u != t && u->easy && !u->done_ns && !u->abort_status && u->conn_port == t->conn_port) {
      lf__transfer_set_error(u, LF_ECURL, "its HTTP/2 connection failed (%s)",
                             t->errbuf[0] ? t->errbuf : "a sibling stream's error");
      u->conn_lost = any = 1;
    }
  if (any) lf__watchdog_soon(t->fetcher);
}

int lf__h2_conn_failed(const lf__transfer_t *t) {
  lf__h2_t *h = &t->fetcher->h2;
  if (!t->conn_port || !find(h, t->conn_port)) return 1; /* closed as the stream ended */
  for (size_t i = 0; i < sizeof(h->failed) / sizeof(h->failed[0]); i++)
    if (h->failed[i] == t->conn_port) return 1;
  return 0;
}

static void set_cap(lf_fetcher_t *f) {
  lf__h2_t *h = &f->h2;
  long cap = f->opts.per_host ? (long)f->opts.per_host : f->plain_active || h->off ? 0 : h->k;
  if (cap == h->cap_now) return;
  /* Fails only for an invalid handle; the old cap then stays, which costs only speed. */
  if (curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, cap) == CURLM_OK) h->cap_now = cap;
}

/* libcurl looks at its queue of waiting transfers when a transfer or connection changes, not
 * when the cap does: adding and removing an idle handle is the public way to make it look. */
static void kick(lf_fetcher_t *f) {
  lf__h2_t *h = &f->h2;
  if (!h->kick && !(h->kick = curl_easy_init())) return;
  if (curl_multi_add_handle(f->multi, h->kick) == CURLM_OK)
    (void)curl_multi_remove_handle(f->multi, h->kick); /* cannot fail for a handle just added */
}

int lf__h2_init(lf_fetcher_t *f) {
  f->h2.k = 1;
  f->h2.cap_now = (long)f->opts.per_host; /* what setup_curl set */
  int rc = uv_timer_init(f->loop, &f->h2.grace);
  if (rc < 0) return rc;
  f->h2.grace.data = f;
  f->open_handles++;
  set_cap(f);
  return 0;
}

void lf__h2_close(lf_fetcher_t *f) {
  free(f->h2.conns);
  f->h2.conns = NULL;
  f->h2.len = f->h2.cap = 0;
  if (f->h2.kick) curl_easy_cleanup(f->h2.kick);
  f->h2.kick = NULL; /* the grace timer is closed with the fetcher's other timers */
}

void lf__h2_started(lf__transfer_t *t) {
  lf_fetcher_t *f = t->fetcher;
  t->https = lf__is_https(t->req->url);
  if (t->https)
    f->h2.admitted++;
  else
    f->plain_active++;
  set_cap(f);
}

static void leave_conn(lf__transfer_t *t, int response) {
  lf__conn_t *c = t->conn_port ? find(&t->fetcher->h2, t->conn_port) : NULL;
  if (c) {
    if (c->streams) c->streams--;
    if (response) c->known = 1; /* the server's SETTINGS come before any response */
  }
}

void lf__h2_ended(lf__transfer_t *t, long http_code) {
  lf_fetcher_t *f = t->fetcher;
  lf__h2_t *h = &f->h2;
  if (!t->https) {
    f->plain_active--;
    set_cap(f);
    return;
  }
  h->admitted--;
  if (t->conn_port) h->attached--;
  if (t->opening) h->opening--;
  leave_conn(t, http_code > 0);
  t->conn_port = 0;
  t->opening = 0;
}

void lf__h2_opening(lf__transfer_t *t) {
  long code = 0;
  if (t->conn_port &&
      (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code == 0))
    lf__h2_failed(t); /* a retry, not a redirect: its connection died under it (see above) */
  if (!t->https || t->opening) return;
  t->opening = 1;
  t->fetcher->h2.opening++;
}

/* CURLOPT_PREREQFUNCTION: the transfer has a connection and is about to send its request. */
int lf__h2_prereq(void *clientp, char *remote_ip, char *local_ip, int remote_port, int local_port) {
  lf__transfer_t *t = clientp;
  lf__h2_t *h = &t->fetcher->h2;
  (void)remote_ip, (void)local_ip, (void)remote_port;
  if (!t->https || t->conn_port == local_port) return CURL_PREREQFUNC_OK;
  if (t->opening) {
    t->opening = 0;
    h->opening--;
  }
  if (t->conn_port) /* a redirect or a retry moved it */
    leave_conn(t, 0);
  else
    h->attached++;
  t->conn_port = local_port;
  lf__conn_t *c = find(h, local_port);
  if (!c && (c = add(h, local_port))) {
    /* Up now; its SETTINGS follow within about one round trip, less than one more set-up time
     * (TCP and TLS: two round trips or more). Twice that and 5 ms leave room for a busy server:
     * assuming too soon costs connections, assuming late only these milliseconds. */
    curl_off_t start = 0, tls = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &start) != CURLE_OK) start = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &tls) != CURLE_OK || tls < start)
      tls = start;
    c->known_at = lf__now_ns() + LF__H2_GRACE_MIN_NS + 2 * (uint64_t)(tls - start) * 1000;
  }
  if (c) c->streams++;
  return CURL_PREREQFUNC_OK;
}

/* The socket of a connection closed: forget the connection (its port may be used again). */
void lf__h2_closed(lf_fetcher_t *f, curl_socket_t fd) {
  lf__h2_t *h = &f->h2;
  if (!h->len) return;
  struct sockaddr_storage a;
  socklen_t alen = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &alen) != 0) return;
  int port = a.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&a)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&a)->sin_port);
  lf__conn_t *c = find(h, port);
  if (c) *c = h->conns[--h->len];
}

static void on_grace(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data;
  lf__fetcher_enter(f);
  lf__h2_tune(f);
  lf__fetcher_leave(f);
}

/* The server's limit as libcurl applies it: the fullest connection whose limit libcurl knows,
 * 0 if none is known yet (then the grace timer is set for the first that will be). */
static size_t known_limit(lf_fetcher_t *f) {
  lf__h2_t *h = &f->h2;
  uint64_t now = lf__now_ns(), next = UINT64_MAX;
  size_t limit = 0;
  for (size_t i = 0; i < h->len; i++) {
    lf__conn_t *c = &h->conns[i];
    if (!c->known && (c->streams > LF__H2_ASSUMED || c->known_at <= now)) c->known = 1;
    if (c->known && c->streams > limit) limit = c->streams;
    if (!c->known && c->known_at < next) next = c->known_at;
  }
  if (!limit && next != UINT64_MAX)
    (void)uv_timer_start(&h->grace, on_grace, (next - now + 999999) / 1000000, 0);
  return limit;
}

/* After libcurl has placed what it could: if transfers wait for a connection while every
 * connection is full, allow as many connections as the transfers need. */
void lf__h2_tune(lf_fetcher_t *f) {
  lf__h2_t *h = &f->h2;
  if (h->admitted <= h->attached + h->opening || h->off || f->opts.per_host || f->plain_active ||
      f->closing)
    return;                         /* none waits, or the cap is not ours */
  if (h->curl_timeout == 0) return; /* libcurl is still working through its queue */
  size_t limit = known_limit(f);
  if (limit == 0) return;
  if (limit == 1) {
    h->off = 1; /* one transfer per connection: HTTP/1.1, no cap */
  } else {
    long k = (long)((h->admitted + limit - 1) / limit);
    if (k <= h->k) return;
    h->k = k;
  }
  set_cap(f);
  kick(f);
}
