/* embed_echo: loopfetch as one guest among others on a program's own libuv loop.
 *
 * One loop, one thread, three jobs at once:
 *   - the fetcher downloads pages into a temporary folder;
 *   - a repeating timer counts ticks (it keeps ticking while pages download: nothing blocks);
 *   - a TCP echo server on 127.0.0.1, and a client on the same loop that checks its echo.
 * When every page has its result, the program closes the fetcher, the timer and the server,
 * the loop runs out of handles, and uv_run() returns.
 *
 * Usage: embed_echo URL...                 fetch these pages
 *        embed_echo --list LIST_URL SEL    fetch LIST_URL, then the pages SEL selects in it
 * Exit status 0 only if every page was saved, the echo came back, and the timer ticked while
 * the pages were downloading. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loopfetch.h"

static uv_loop_t loop;
static uv_timer_t ticker;
static uv_tcp_t server, peer, client; /* peer: the server's side of the client's connection */
static uv_connect_t connect_req;
static lf_fetcher_t *fetcher;
static char dir[] = "/tmp/embed-echo-XXXXXX";
static const char *selector;         /* list mode: select links with this */
static size_t pages, results, saved; /* pages added, results seen, pages saved */
static int adding; /* queuing pages: a result may arrive before the last one is added */
static int ticks, fetch_done, echo_done, echo_ok;
static const char message[] = "hello from the same loop";
static char echoed[sizeof(message)];
static size_t echoed_len;

/* ---- the timer: proof that the loop never blocks ---- */

static void on_tick(uv_timer_t *t) {
  (void)t;
  if (!fetch_done) ticks++;
}

/* ---- shutting down: each handle is closed once, and the loop ends when none is left ---- */

static void maybe_finish(void) {
  static int finished;
  if (!fetch_done || !echo_done || finished) return;
  finished = 1;
  /* Frees libcurl's state; the close completes on the loop, and the loop itself stays ours. */
  int rc = lf_fetcher_close(fetcher, NULL);
  if (rc < 0) fprintf(stderr, "embed_echo: closing the fetcher: %s\n", lf_strerror(rc));
  uv_timer_stop(&ticker);
  uv_close((uv_handle_t *)&ticker, NULL);
  uv_close((uv_handle_t *)&server, NULL);
}

/* ---- the echo server: write back whatever arrives ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0; /* a zero-length buffer makes libuv report UV_ENOBUFS */
}

static void on_echo_written(uv_write_t *req, int status) {
  (void)status;
  free(req->data); /* the buffer we echoed */
  free(req);
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  uv_write_t *req = n > 0 ? malloc(sizeof(*req)) : NULL;
  if (req) {
    req->data = buf->base; /* freed once written */
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
    if (uv_write(req, s, &out, 1, on_echo_written) == 0) return;
    free(req);
  }
  free(buf->base);
  if (n < 0) uv_close((uv_handle_t *)s, NULL); /* UV_EOF: the client is done */
}

/* One peer is enough: only our own client is expected. Others stay in the backlog. */
static void on_connection(uv_stream_t *srv, int status) {
  static int accepted;
  if (status < 0 || accepted || uv_tcp_init(&loop, &peer) < 0) return;
  accepted = 1;
  if (uv_accept(srv, (uv_stream_t *)&peer) < 0 ||
      uv_read_start((uv_stream_t *)&peer, alloc_cb, on_peer_read) < 0)
    uv_close((uv_handle_t *)&peer, NULL);
}

/* ---- the echo client: send the message, compare what comes back ---- */

static void client_done(int ok) {
  echo_ok = ok;
  echo_done = 1;
  uv_close((uv_handle_t *)&client, NULL);
  maybe_finish();
}

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)s;
  if (n > 0 && echoed_len + (size_t)n <= sizeof(message) - 1) {
    memcpy(echoed + echoed_len, buf->base, (size_t)n);
    echoed_len += (size_t)n;
  }
  free(buf->base);
  if (n < 0 || echoed_len == sizeof(message) - 1)
    client_done(echoed_len == sizeof(message) - 1 && memcmp(echoed, message, echoed_len) == 0);
}

static void on_sent(uv_write_t *req, int status) {
  free(req);
  if (status < 0) client_done(0);
}

static void on_connected(uv_connect_t *req, int status) {
  uv_write_t *w = malloc(sizeof(*w));
  uv_buf_t buf = uv_buf_init((char *)message, sizeof(message) - 1);
  if (status < 0 || !w || uv_read_start(req->handle, alloc_cb, on_client_read) < 0 ||
      uv_write(w, req->handle, &buf, 1, on_sent) < 0) {
    free(w);
    client_done(0);
  }
}

/* ---- the fetcher: results arrive one by one, on the loop thread ---- */

static void check_done(void) {
  if (adding || results < pages) return;
  fetch_done = 1;
  maybe_finish();
}

static void add_page(const char *url) {
  char name[32];
  snprintf(name, sizeof(name), "page%zu.html", pages);
  lf_request_t req = {.url = url, .output = LF_OUTPUT_FILE, .file = name};
  pages++; /* counted first: its result may come before lf_fetcher_add() returns */
  int rc = lf_fetcher_add(fetcher, &req);
  if (rc < 0) {
    pages--;
    fprintf(stderr, "embed_echo: %s: %s\n", url, lf_strerror(rc));
  }
}

/* The list page came back in memory: pick its links and queue them as pages. */
static void on_list_page(const lf_result_t *r) {
  lf_links_t links;
  char err[256];
  if (r->status != 0) {
    fprintf(stderr, "embed_echo: list page: %s\n", r->error);
    return;
  }
  if (lf_links_extract(r->body, r->body_len, r->url, selector, &links, err, sizeof(err)) < 0) {
    fprintf(stderr, "embed_echo: list page: %s\n", err);
    return;
  }
  adding = 1;
  for (size_t i = 0; i < links.count; i++)
    add_page(links.urls[i]); /* the fetcher copies the URL: links can go right away */
  adding = 0;
  lf_links_free(&links);
}

static int list_tag; /* lf_request_t.data of the list page, to tell its result apart */

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f;
  if (r->data == &list_tag) {
    on_list_page(r);
  } else {
    results++;
    if (r->status == 0)
      saved++;
    else
      fprintf(stderr, "embed_echo: %s: %s\n", r->url, r->error);
  }
  check_done();
}

/* ---- setting it all up on one loop ---- */

static int start_echo(void) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound), rc;
  if ((rc = uv_ip4_addr("127.0.0.1", 0, &addr)) < 0 || (rc = uv_tcp_init(&loop, &server)) < 0)
    return rc;
  /* Port 0: the kernel picks a free one, and getsockname tells which. */
  if ((rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0)) < 0 ||
      (rc = uv_listen((uv_stream_t *)&server, 8, on_connection)) < 0 ||
      (rc = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len)) < 0 ||
      (rc = uv_tcp_init(&loop, &client)) < 0)
    return rc;
  /* Connecting returns at once; on_connected runs later, from the loop. */
  return uv_tcp_connect(&connect_req, &client, (const struct sockaddr *)&bound, on_connected);
}

static int start_fetch(int argc, char **argv) {
  lf_options_t opts;
  lf_options_init(&opts);
  opts.out_dir = dir;
  int rc = lf_fetcher_new(&loop, &opts, on_result, &fetcher);
  if (rc < 0) return rc;
  if (strcmp(argv[1], "--list") == 0) {
    if (argc != 4) return UV_EINVAL;
    selector = argv[3];
    lf_request_t req = {.url = argv[2], .output = LF_OUTPUT_MEMORY, .data = &list_tag};
    return lf_fetcher_add(fetcher, &req);
  }
  adding = 1;
  for (int i = 1; i < argc; i++)
    add_page(argv[i]);
  adding = 0;
  check_done(); /* in case every result came back already */
  return pages ? 0 : UV_EINVAL;
}

static void remove_dir(const char *path) { /* the saved pages, then the folder */
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && unlinkat(dirfd(d), e->d_name, 0))
      perror(e->d_name);
  if (d) closedir(d);
  if (rmdir(path) < 0) perror(path);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: embed_echo URL... | embed_echo --list LIST_URL SELECTOR\n");
    return 2;
  }
  if (!mkdtemp(dir) || uv_loop_init(&loop) < 0) return 1;
  int rc = uv_timer_init(&loop, &ticker);
  if (rc == 0) rc = uv_timer_start(&ticker, on_tick, 2, 2);
  if (rc == 0) rc = start_echo();
  if (rc == 0) rc = start_fetch(argc, argv);
  if (rc < 0) {
    fprintf(stderr, "embed_echo: cannot start: %s\n", lf_strerror(rc));
    remove_dir(dir);
    return 1; /* a real program would close what it opened; exiting does it here */
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once every handle is closed */
  rc = uv_loop_close(&loop);
  remove_dir(dir);
  printf("pages saved: %zu of %zu; echo: %s; timer ticks during downloads: %d\n", saved, pages,
         echo_ok ? "ok" : "FAILED", ticks);
  return rc == 0 && pages > 0 && saved == pages && echo_ok && ticks > 0 ? 0 : 1;
}
