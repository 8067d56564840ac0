/* Replies that must not pass for a whole page, and calls that must fail cleanly (issue 28):
 * a 304 to a request without validators (and with them: a success), an unsolicited 206, a
 * gzip body that is empty, two different Content-Length headers (the same one twice is
 * fine), a header holding CR LF (refused before any request), a URL over LF_URL_MAX,
 * lf_fetcher_close() from the event callback on LF_EVENT_START, lf_strerror() of an unknown
 * code. Self-contained: a server on this loop (127.0.0.1, ephemeral port) answers each path
 * with canned bytes and closes the connection. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include "loopfetch.h"
#include "test.h"

static uv_loop_t *loop;
static uv_tcp_t server;
static char base[64];
static int requests[16];

typedef struct {
  const char *path;
  const char *reply;
} route_t;

static const route_t routes[] = {
    {"/ok", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
    {"/304", "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"},
    {"/206", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/100\r\n"
             "Content-Length: 5\r\n\r\nhello"},
    {"/206-empty", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/100\r\n"
                   "Content-Length: 0\r\n\r\n"},
    {"/gzip-empty", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"},
    {"/two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello"},
    {"/length-list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 7\r\n\r\nhello"},
    {"/same-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
    {"/two-lengths-empty", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 3\r\n\r\n"},
};
#define ROUTES (sizeof(routes) / sizeof(routes[0]))

typedef struct {
  uv_tcp_t tcp;
  uv_write_t w;
  char in[LF_URL_MAX + 4096];
  size_t len;
  int answered;
} conn_t;

static void on_conn_closed(uv_handle_t *h) {
  free(h);
}

static void on_written(uv_write_t *w, int st) {
  (void)st;
  uv_close((uv_handle_t *)w->handle, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  conn_t *c = (conn_t *)h;
  (void)size;
  *b = uv_buf_init(c->in + c->len, (unsigned)(sizeof(c->in) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn_t *c = (conn_t *)s;
  (void)b;
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_conn_closed);
    return;
  }
  c->len += (size_t)n;
  c->in[c->len] = '\0';
  if (c->answered || !strstr(c->in, "\r\n\r\n")) return;
  c->answered = 1;
  const char *reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  for (size_t i = 0; i < ROUTES; i++) {
    size_t n2 = strlen(routes[i].path);
    if (strncmp(c->in + 4, routes[i].path, n2) == 0 &&
        (c->in[4 + n2] == ' ' || c->in[4 + n2] == '?')) {
      reply = routes[i].reply;
      requests[i]++;
    }
  }
  uv_buf_t out = uv_buf_init((char *)reply, (unsigned)strlen(reply));
  CHECK_EQ_INT(uv_write(&c->w, s, &out, 1, on_written), 0);
}

static void on_connection(uv_stream_t *s, int st) {
  CHECK_EQ_INT(st, 0);
  conn_t *c = calloc(1, sizeof(*c));
  CHECK_EQ_INT(uv_tcp_init(loop, &c->tcp), 0);
  CHECK_EQ_INT(uv_accept(s, (uv_stream_t *)&c->tcp), 0);
  CHECK_EQ_INT(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), 0);
}

/* ---- one request at a time: its result ---- */

static lf_result_t last;
static char last_error[512];
static int results, closed;

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f;
  results++;
  last = *r;
  snprintf(last_error, sizeof(last_error), "%s", r->error ? r->error : "");
  last.error = last_error;
}

static void on_closed(lf_fetcher_t *f) {
  (void)f;
  closed++;
}

static const lf_result_t *get(lf_fetcher_t *f, const char *path, const char *const *headers) {
  char url[128];
  snprintf(url, sizeof(url), "%s%s", base, path);
  int before = results;
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url, .headers = headers}), 0);
  while (results == before)
    uv_run(loop, UV_RUN_ONCE);
  fprintf(stderr, "%s: status %d, http %ld, attempts %d: %s\n", path, last.status, last.http_code,
          last.attempts, last.error);
  return &last;
}

static int route_requests(const char *path) {
  for (size_t i = 0; i < ROUTES; i++)
    if (strcmp(routes[i].path, path) == 0) return requests[i];
  return -1;
}

static void replies(void) {
  lf_options_t o;
  lf_options_init(&o);
  o.retries = 1; /* a transient failure shows as 2 attempts */
  o.retry_base_ms = 10;
  lf_fetcher_t *f;
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &f), 0);
  const lf_result_t *r = get(f, "/ok", NULL);
  CHECK_EQ_INT(r->status, 0);
  CHECK_EQ_INT(r->body_len, 5);

  /* 304: a success only to a conditional request */
  r = get(f, "/304", NULL);
  CHECK_EQ_INT(r->status, LF_EHTTP);
  CHECK_EQ_INT(r->http_code, 304);
  CHECK_EQ_INT(r->attempts, 1);
  CHECK(strstr(r->error, "without validators") != NULL);
  const char *inm[] = {"If-None-Match: \"v1\"", NULL};
  r = get(f, "/304", inm);
  CHECK_EQ_INT(r->status, 0);
  const char *ims[] = {"if-modified-since: Tue, 01 Dec 2026 00:00:00 GMT", NULL};
  r = get(f, "/304", ims);
  CHECK_EQ_INT(r->status, 0);

  /* 206: only to a request that asked for a range */
  r = get(f, "/206", NULL);
  CHECK_EQ_INT(r->status, LF_EHTTP);
  CHECK_EQ_INT(r->attempts, 1);
  CHECK(strstr(r->error, "206") != NULL);
  r = get(f, "/206-empty", NULL);
  CHECK_EQ_INT(r->status, LF_EHTTP);
  const char *range[] = {"Range: bytes=0-4", NULL};
  r = get(f, "/206", range);
  CHECK_EQ_INT(r->status, 0);
  CHECK_EQ_INT(r->body_len, 5);

  /* an empty gzip body is no gzip stream: transient, retried */
  r = get(f, "/gzip-empty", NULL);
  CHECK_EQ_INT(r->status, LF_ECURL);
  CHECK_EQ_INT(r->attempts, 2);
  CHECK_EQ_INT(route_requests("/gzip-empty"), 2);
  CHECK(strstr(r->error, "gzip stream is empty") != NULL);

  /* two different Content-Length values: refused, not retried; the same one twice is fine */
  const char *two[] = {"/two-lengths", "/length-list", "/two-lengths-empty"};
  for (size_t i = 0; i < 3; i++) {
    r = get(f, two[i], NULL);
    CHECK_EQ_INT(r->status, LF_ECURL);
    CHECK_EQ_INT(r->attempts, 1);
    CHECK(strstr(r->error, "two different Content-Length") != NULL);
  }
  r = get(f, "/same-lengths", NULL);
  CHECK_EQ_INT(r->status, 0);
  CHECK_EQ_INT(r->body_len, 5);

  /* a header holding CR LF: refused before any request, as is an over-long URL */
  int before = route_requests("/ok");
  char url[128];
  snprintf(url, sizeof(url), "%s/ok", base);
  const char *crlf[] = {"X-Api-Key: k\r\nX-Injected: 1", NULL};
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url, .headers = crlf}), LF_EINVAL);
  const char *lf_only[] = {"X-A: 1\nX-B: 2", NULL};
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url, .headers = lf_only}), LF_EINVAL);
  char *huge = malloc(LF_URL_MAX + 2);
  size_t n = (size_t)snprintf(huge, LF_URL_MAX + 2, "%s/ok?", base);
  memset(huge + n, 'a', LF_URL_MAX + 1 - n);
  huge[LF_URL_MAX + 1] = '\0';
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = huge}), LF_EURL);
  huge[LF_URL_MAX] = '\0'; /* at the cap: taken */
  int was = results;
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = huge}), 0);
  while (results == was)
    uv_run(loop, UV_RUN_ONCE);
  free(huge);
  CHECK_EQ_INT(route_requests("/ok"), before + 1); /* only the last reached the server */

  CHECK_EQ_INT(lf_fetcher_close(f, on_closed), 0);
  while (!closed)
    uv_run(loop, UV_RUN_ONCE);

  lf_fetcher_t *g;
  lf_options_init(&o);
  const char *bad[] = {"X-A: 1\r\nX-B: 2", NULL};
  o.headers = bad;
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &g), LF_EINVAL);
  CHECK(g == NULL);
  o.headers = NULL;
  o.user_agent = "agent\r\nX-Injected: 1";
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &g), LF_EINVAL);
}

/* ---- lf_fetcher_close() from the event callback ---- */

static int close_at_start, starts; /* close on this LF_EVENT_START (1: the first) */

static void close_in_event(lf_fetcher_t *f, const lf_event_t *ev) {
  if (ev->kind == LF_EVENT_START && ++starts == close_at_start)
    CHECK_EQ_INT(lf_fetcher_close(f, on_closed), 0);
}

/* top_level: the request starts inside lf_fetcher_add(); otherwise two requests with one slot,
 * and the second one's start comes from the first one's report, inside the fetcher. */
static void close_from_start_event(int top_level) {
  lf_options_t o;
  lf_options_init(&o);
  lf_fetcher_t *f;
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &f), 0);
  lf_fetcher_set_event_cb(f, close_in_event);
  closed = starts = 0;
  close_at_start = top_level ? 1 : 2;
  int before = results;
  char url[128];
  snprintf(url, sizeof(url), "%s/ok", base);
  if (!top_level) lf_fetcher_set_max_in_flight(f, 1);
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url}), 0);
  if (!top_level) CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url}), 0);
  while (!closed)
    uv_run(loop, UV_RUN_ONCE);
  CHECK_EQ_INT(results - before, top_level ? 1 : 2);
  CHECK_EQ_INT(last.status, LF_EABORTED);
}

int main(void) {
  loop = uv_default_loop();
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CHECK_EQ_INT(uv_tcp_init(loop, &server), 0);
  CHECK_EQ_INT(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0), 0);
  CHECK_EQ_INT(uv_listen((uv_stream_t *)&server, 64, on_connection), 0);
  struct sockaddr_in bound;
  int len = sizeof(bound);
  CHECK_EQ_INT(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len), 0);
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(bound.sin_port));

  replies();
  close_from_start_event(1);
  close_from_start_event(0);

  /* lf_strerror: static text for every code, known or not */
  CHECK_EQ_STR(lf_strerror(LF_EURL), "malformed URL");
  CHECK_EQ_STR(lf_strerror(UV_ENOENT), uv_strerror(UV_ENOENT));
  const char *a = lf_strerror(-12345678), *b = lf_strerror(-12345678);
  CHECK(a == b); /* the same static string, not a fresh allocation per call */
  CHECK_EQ_STR(a, "unknown error");
  CHECK(lf_strerror(424242) == a);

  uv_close((uv_handle_t *)&server, NULL);
  CHECK_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(loop), 0);
  return lf_test_report();
}
