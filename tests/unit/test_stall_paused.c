/* The stall timeout holds for a transfer that is paused, not only for a silent server: with
 * libuv's one pool thread held by another job, a page's file work cannot run, so its transfer
 * pauses (the sink's buffer is full) and hands on nothing. libcurl's own stall detector skips
 * paused transfers; the fetcher's watchdog must fail it after stall_timeout_ms all the same.
 * A stream that its own callback pauses is the caller's choice: it is not failed, however long
 * the pause (docs/api.md, lf_stream_resume).
 * Self-contained: a server on this loop (127.0.0.1, ephemeral port) sends a 4 MB page. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include "loopfetch.h"
#include "test.h"

#define BODY (4u << 20)
#define HOLD_MS 3000 /* how long the pool thread is held: far past the 500 ms stall timeout */

static uv_loop_t *loop;
static uv_tcp_t server, *client; /* the latest connection */
static uv_write_t wreq;
static uv_work_t hold;
static char *response;
static size_t response_len;
static char buf[4096];
static int results, status, stream_status = 1;
static uint64_t streamed;
static lf_stream_t *paused_stream;
static uv_timer_t resume_timer;
static char error[256];

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  (void)h, (void)size;
  *b = uv_buf_init(buf, sizeof(buf));
}

static void on_written(uv_write_t *w, int st) {
  (void)w, (void)st; /* the client may hang up first: that is the point */
}

/* The first bytes of the request are enough: answer with the whole page, once. */
static void on_client_closed(uv_handle_t *h) {
  if (client == (uv_tcp_t *)h) client = NULL;
  free(h);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_client_closed);
    return;
  }
  if (n == 0 || wreq.type == UV_WRITE) return;
  uv_buf_t out = uv_buf_init(response, (unsigned)response_len);
  CHECK_EQ_INT(uv_write(&wreq, s, &out, 1, on_written), 0);
}

static void on_connection(uv_stream_t *s, int st) {
  CHECK_EQ_INT(st, 0);
  client = malloc(sizeof(*client));
  CHECK_EQ_INT(uv_tcp_init(loop, client), 0);
  CHECK_EQ_INT(uv_accept(s, (uv_stream_t *)client), 0);
  CHECK_EQ_INT(uv_read_start((uv_stream_t *)client, on_alloc, on_read), 0);
}

static void hold_pool(uv_work_t *w) {
  (void)w;
  usleep(HOLD_MS * 1000);
}

static void held(uv_work_t *w, int st) {
  (void)w, (void)st;
}

static void on_closed(lf_fetcher_t *f) {
  (void)f;
  uv_close((uv_handle_t *)&server, NULL);
  if (client && !uv_is_closing((uv_handle_t *)client))
    uv_close((uv_handle_t *)client, on_client_closed);
}

static void on_resume(uv_timer_t *timer) {
  CHECK_EQ_INT(lf_stream_resume(paused_stream), 0);
  uv_close((uv_handle_t *)timer, NULL);
}

/* Pauses once, on the first chunk, for three stall timeouts. */
static int on_body(lf_fetcher_t *f, lf_stream_t *stream, const char *chunk, size_t len) {
  (void)f, (void)chunk;
  streamed += len;
  if (paused_stream) return LF_STREAM_CONTINUE;
  paused_stream = stream;
  CHECK_EQ_INT(uv_timer_init(loop, &resume_timer), 0);
  CHECK_EQ_INT(uv_timer_start(&resume_timer, on_resume, 1500, 0), 0);
  return LF_STREAM_PAUSE;
}

static char url[64];

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  results++;
  if (results == 2) { /* the stream */
    stream_status = r->status;
    if (r->status) fprintf(stderr, "stream: %s\n", r->error);
    lf_fetcher_close(f, on_closed);
    return;
  }
  status = r->status;
  snprintf(error, sizeof(error), "%s", r->error ? r->error : "");
  wreq.type = UV_UNKNOWN_REQ; /* the server answers the next connection again */
  lf_fetcher_set_body_cb(f, on_body);
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url, .output = LF_OUTPUT_CALLBACK}), 0);
}

int main(void) {
  setenv("UV_THREADPOOL_SIZE", "1", 1); /* before libuv starts its pool */
  loop = uv_default_loop();
  char head[128];
  int hl = snprintf(head, sizeof(head),
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                    "Content-Length: %u\r\n\r\n",
                    BODY);
  response_len = (size_t)hl + BODY;
  response = malloc(response_len);
  memcpy(response, head, (size_t)hl);
  memset(response + hl, 'x', BODY);

  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CHECK_EQ_INT(uv_tcp_init(loop, &server), 0);
  CHECK_EQ_INT(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0), 0);
  CHECK_EQ_INT(uv_listen((uv_stream_t *)&server, 8, on_connection), 0);
  struct sockaddr_in bound;
  int len = sizeof(bound);
  CHECK_EQ_INT(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/page", ntohs(bound.sin_port));

  char dir[] = "/tmp/lf-stall-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  CHECK_EQ_INT(uv_queue_work(loop, &hold, hold_pool, held), 0); /* the only pool thread */

  lf_options_t o;
  lf_options_init(&o);
  o.out_dir = dir;
  o.stall_timeout_ms = 500;
  o.retries = 0;
  lf_fetcher_t *f;
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &f), 0);
  CHECK_EQ_INT(
      lf_fetcher_add(f, &(lf_request_t){.url = url, .output = LF_OUTPUT_FILE, .file = "page.html"}),
      0);
  CHECK_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);

  CHECK_EQ_INT(results, 2);
  CHECK_EQ_INT(stream_status, 0); /* paused by its callback for 1.5 s: not a stall */
  CHECK_EQ_INT(streamed, BODY);
  CHECK(status != 0); /* not saved: it made no progress for 500 ms */
  CHECK(strstr(error, "stalled") != NULL);
  if (!strstr(error, "stalled")) fprintf(stderr, "result: status %d, '%s'\n", status, error);
  char path[128];
  snprintf(path, sizeof(path), "%s/page.html", dir);
  CHECK(access(path, F_OK) != 0);
  unlink(path);
  rmdir(dir);
  CHECK_EQ_INT(uv_loop_close(loop), 0);
  free(response);
  return lf_test_report();
}
