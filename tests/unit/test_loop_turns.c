/* The fetcher gives the loop a turn between slow result callbacks: libuv runs the callbacks of
 * every socket one epoll_wait reported before it looks at signals and timers, so when a
 * caller's result callback is slow (the program parses each page there) and many answers are
 * ready at once, SIGTERM and the progress line used to wait for all of them (33 s for 233
 * pages of 0.5 MB, bench/RESULTS.md). loop.c leaves the other sockets to the next turn once a
 * turn has run LF__TURN_BUDGET_MS; libuv's epoll is level-triggered, so they come back.
 * Self-contained: a server on this loop (127.0.0.1, ephemeral port) answers N requests at once,
 * once all N have arrived; each result callback takes 80 ms; a uv_check handle counts turns,
 * and results may not share them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include "loopfetch.h"
#include "test.h"

#define N 6
#define SLOW_MS 80 /* a parse's worth: above loop.c's 50 ms budget */

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_tcp_t *clients[N];
static int nclients, asked;
static uv_write_t wreqs[N];
static uv_check_t check;
static unsigned long turns;
static unsigned long turn_of[N];
static int results, failed;
static char buf[4096];
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 5\r\n\r\nhello";

static void on_check(uv_check_t *h) {
  (void)h;
  turns++;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  (void)h, (void)size;
  *b = uv_buf_init(buf, sizeof(buf));
}

static void on_written(uv_write_t *w, int st) {
  (void)w, (void)st;
}

static void on_client_closed(uv_handle_t *h) {
  free(h);
}

/* Each connection's first bytes count as its request; the N-th answers all N in one go, so
 * the N answers are ready on the client's sockets by the same epoll_wait. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_client_closed);
    return;
  }
  if (n == 0 || s->data) return;
  s->data = s; /* asked */
  if (++asked < N) return;
  for (int i = 0; i < nclients; i++) {
    uv_buf_t out = uv_buf_init((char *)response, sizeof(response) - 1);
    CHECK_EQ_INT(uv_write(&wreqs[i], (uv_stream_t *)clients[i], &out, 1, on_written), 0);
  }
}

static void on_connection(uv_stream_t *s, int st) {
  CHECK_EQ_INT(st, 0);
  uv_tcp_t *c = malloc(sizeof(*c));
  CHECK_EQ_INT(uv_tcp_init(loop, c), 0);
  CHECK_EQ_INT(uv_accept(s, (uv_stream_t *)c), 0);
  c->data = NULL;
  CHECK(nclients < N);
  if (nclients < N) clients[nclients++] = c;
  CHECK_EQ_INT(uv_read_start((uv_stream_t *)c, on_alloc, on_read), 0);
}

static void on_closed(lf_fetcher_t *f) {
  (void)f;
  uv_close((uv_handle_t *)&server, NULL);
  uv_close((uv_handle_t *)&check, NULL);
  for (int i = 0; i < nclients; i++)
    if (!uv_is_closing((uv_handle_t *)clients[i]))
      uv_close((uv_handle_t *)clients[i], on_client_closed);
}

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  if (r->status) {
    fprintf(stderr, "%s: %s\n", r->url, r->error ? r->error : "?");
    failed++;
  }
  turn_of[results++] = turns;
  usleep(SLOW_MS * 1000);
  if (results == N) lf_fetcher_close(f, on_closed);
}

int main(void) {
  loop = uv_default_loop();
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CHECK_EQ_INT(uv_tcp_init(loop, &server), 0);
  CHECK_EQ_INT(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0), 0);
  CHECK_EQ_INT(uv_listen((uv_stream_t *)&server, N, on_connection), 0);
  struct sockaddr_in bound;
  int len = sizeof(bound);
  CHECK_EQ_INT(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len), 0);
  CHECK_EQ_INT(uv_check_init(loop, &check), 0);
  CHECK_EQ_INT(uv_check_start(&check, on_check), 0);

  lf_options_t o;
  lf_options_init(&o);
  o.retries = 0;
  lf_fetcher_t *f;
  CHECK_EQ_INT(lf_fetcher_new(loop, &o, on_result, &f), 0);
  char url[N][64];
  for (int i = 0; i < N; i++) {
    snprintf(url[i], sizeof(url[i]), "http://127.0.0.1:%d/p%d", ntohs(bound.sin_port), i);
    CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = url[i], .output = LF_OUTPUT_MEMORY}), 0);
  }
  CHECK_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);

  CHECK_EQ_INT(results, N);
  CHECK_EQ_INT(failed, 0);
  int shared = 0;
  for (int i = 1; i < results; i++)
    shared += turn_of[i] == turn_of[i - 1];
  if (shared) {
    fprintf(stderr, "results in loop turns:");
    for (int i = 0; i < results; i++)
      fprintf(stderr, " %lu", turn_of[i]);
    fprintf(stderr, "\n");
  }
  CHECK_EQ_INT(shared, 0); /* each slow result in a turn of its own */
  CHECK_EQ_INT(uv_loop_close(loop), 0);
  return lf_test_report();
}
