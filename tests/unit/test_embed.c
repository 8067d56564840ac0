/* The fetcher embedded in a program whose loop serves other handles too: a repeating timer
 * keeps ticking while pages download, after the fetcher is closed, and the loop closes clean.
 * Usage: test_embed BASE_URL   (BASE_URL of the fixture server, e.g. http://127.0.0.1:PORT) */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>
#include "loopfetch.h"
#include "test.h"

#define PAGES 40

typedef struct {
  uv_timer_t ticker;
  int ticks, ticks_at_close, closed;
  size_t results, saved, aborted, list_ok;
  lf_links_t links;
  char dir[64];
} app_t;

static app_t app;
static lf_fetcher_t *fetcher, *fetcher2;

static void on_tick(uv_timer_t *t) {
  app.ticks++;
  if (app.closed && app.ticks >= app.ticks_at_close + 3)
    uv_close((uv_handle_t *)t, NULL); /* the loop kept serving us after the fetcher left */
}

static void on_closed(lf_fetcher_t *f) {
  app_t *a = lf_fetcher_get_data(f);
  CHECK_EQ_INT(lf_fetcher_add(f, &(lf_request_t){.url = "http://x/"}), LF_ECLOSING);
  a->closed = 1;
  a->ticks_at_close = a->ticks;
}

static void on_page(lf_fetcher_t *f, const lf_result_t *r) {
  app_t *a = lf_fetcher_get_data(f);
  a->results++;
  if (r->status == 0)
    a->saved++;
  else
    fprintf(stderr, "page %s: %s\n", r->url, r->error);
  CHECK(r->file != NULL);
  CHECK(lf_fetcher_waiting_for_disk(f) <= lf_fetcher_in_flight(f));
  if (a->results == PAGES + 1) {
    CHECK_EQ_INT(lf_fetcher_waiting_for_disk(f), 0); /* every page written, none paused */
    CHECK_EQ_INT(lf_fetcher_close(f, on_closed), 0); /* closing from a result callback */
  }
}

static void on_list_result(lf_fetcher_t *f, const lf_result_t *r) {
  app_t *a = lf_fetcher_get_data(f);
  if (a->list_ok) { /* the list came first: the rest are pages */
    on_page(f, r);
    return;
  }
  if (r->status != 0 || r->body == NULL) {
    fprintf(stderr, "list: %s\n", r->error ? r->error : "no body");
    lf_fetcher_close(f, on_closed);
    return;
  }
  a->list_ok = 1;
  a->results++;
  char err[128];
  CHECK_EQ_INT(lf_links_extract(r->body, r->body_len, r->url, "td .flagicon + a", &a->links, err,
                                sizeof(err)),
               0);
  CHECK(a->links.count >= PAGES);
  for (size_t i = 0; i < PAGES && i < a->links.count; i++) {
    char name[32];
    snprintf(name, sizeof(name), "page%zu.html", i);
    lf_request_t req = {.url = a->links.urls[i], .output = LF_OUTPUT_FILE, .file = name};
    CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
  }
  CHECK(lf_fetcher_in_flight(f) + lf_fetcher_queued(f) == PAGES);
}

static size_t count_files(const char *dir, int hidden) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if ((e->d_name[0] == '.') == hidden && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  if (d) closedir(d);
  return n;
}

/* Third scenario: a fetcher that stays open between batches. Its idle kept-alive connections
 * must not keep the caller's loop running, and the next batch must reuse them. */
static lf_fetcher_t *fetcher3;
static size_t batch_saved;
static char stats_body[4096];
static void on_batch_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f;
  if (r->status != 0) fprintf(stderr, "%s: %s\n", r->url, r->error);
  if (r->body && r->status == 0) /* the memory requests: the server's counters */
    snprintf(stats_body, sizeof(stats_body), "%s", r->body);
  else if (r->status == 0)
    batch_saved++;
}
static void on_no_more(lf_fetcher_t *f) {
  (void)f; /* a producer that may add more later: the fetcher keeps its connections */
}

static void run_batch(uv_loop_t *loop, size_t first, size_t n) {
  for (size_t i = first; i < first + n && i < app.links.count; i++) {
    char name[32];
    snprintf(name, sizeof(name), "batch%zu.html", i);
    lf_request_t req = {.url = app.links.urls[i], .output = LF_OUTPUT_FILE, .file = name};
    CHECK_EQ_INT(lf_fetcher_add(fetcher3, &req), 0);
  }
  /* Returns once the batch is done although the fetcher is open: nothing of it is active. */
  CHECK_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);
}

static long stat_value(const char *key) {
  const char *p = strstr(stats_body, key);
  return p ? strtol(p + strlen(key) + 1, NULL, 10) : -1; /* "key": N */
}

/* Second scenario: close while everything is in flight; every request still gets a result. */
static size_t abort_results, abort_failed;
static int abort_closed;
static void on_abort_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f;
  abort_results++;
  if (r->status != 0) {
    abort_failed++;
    CHECK(r->status == LF_EABORTED);
  }
}
static void on_abort_closed(lf_fetcher_t *f) {
  (void)f;
  abort_closed = 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_embed BASE_URL\n");
    return 2;
  }
  char list_url[512];
  snprintf(list_url, sizeof(list_url), "%s/wiki/List_of_countries_by_population_(United_Nations)",
           argv[1]);
  strcpy(app.dir, "/tmp/lf-embed-XXXXXX");
  if (!mkdtemp(app.dir)) return 2;

  uv_loop_t loop;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(uv_timer_init(&loop, &app.ticker), 0);
  CHECK_EQ_INT(uv_timer_start(&app.ticker, on_tick, 5, 5), 0);

  lf_options_t opts;
  lf_options_init(&opts);
  opts.out_dir = app.dir;
  opts.max_in_flight = 8;
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_list_result, &fetcher), 0);
  lf_fetcher_set_data(fetcher, &app);
  lf_request_t list = {.url = list_url, .output = LF_OUTPUT_MEMORY};
  CHECK_EQ_INT(lf_fetcher_add(fetcher, &list), 0);
  CHECK_EQ_INT(lf_fetcher_add(fetcher, &(lf_request_t){.url = NULL}), LF_EINVAL);
  CHECK_EQ_INT(
      lf_fetcher_add(fetcher,
                     &(lf_request_t){.url = list_url, .output = LF_OUTPUT_FILE, .file = "../x"}),
      LF_ENAME);
  /* Subfolders are fine, but no path leaves the folder or names one ambiguously. */
  const char *bad_paths[] = {"/x", "a//x", "a/./x", "a/../x", "a/", "..", "."};
  for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
    CHECK_EQ_INT(lf_fetcher_add(fetcher, &(lf_request_t){.url = list_url,
                                                         .output = LF_OUTPUT_FILE,
                                                         .file = bad_paths[i]}),
                 LF_ENAME);

  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK(app.list_ok);
  CHECK_EQ_INT(app.saved, PAGES);
  CHECK(app.closed);
  CHECK(app.ticks > app.ticks_at_close); /* the timer outlived the fetcher */
  CHECK_EQ_INT(count_files(app.dir, 0), PAGES);
  CHECK_EQ_INT(count_files(app.dir, 1), 0); /* no temporaries left */

  /* Scenario 2: add pages, run a few loop turns, close mid-flight. */
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_abort_result, &fetcher2), 0);
  for (size_t i = 0; i < PAGES && i < app.links.count; i++) {
    char name[32];
    snprintf(name, sizeof(name), "again%zu.html", i);
    lf_request_t req = {.url = app.links.urls[i], .output = LF_OUTPUT_FILE, .file = name};
    CHECK_EQ_INT(lf_fetcher_add(fetcher2, &req), 0);
  }
  for (int i = 0; i < 3; i++)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK_EQ_INT(lf_fetcher_close(fetcher2, on_abort_closed), 0);
  CHECK_EQ_INT(lf_fetcher_close(fetcher2, on_abort_closed), LF_ECLOSING);
  CHECK_EQ_INT(lf_fetcher_add(fetcher2, &(lf_request_t){.url = list_url}), LF_ECLOSING);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK(abort_closed);
  CHECK_EQ_INT(abort_results, PAGES);
  CHECK(abort_failed > 0); /* pages have latency: some were surely still running */
  CHECK_EQ_INT(count_files(app.dir, 1), 0);
  CHECK_EQ_INT(count_files(app.dir, 0), PAGES + (PAGES - abort_failed));

  /* Scenario 3: two batches on one open fetcher, 2 slots, counted by the server. */
  char url[600];
  opts.max_in_flight = 2;
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_batch_result, &fetcher3), 0);
  lf_fetcher_set_need_cb(fetcher3, on_no_more);
  snprintf(url, sizeof(url), "%s/__stats/reset", argv[1]);
  CHECK_EQ_INT(lf_fetcher_add(fetcher3, &(lf_request_t){.url = url}), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  run_batch(&loop, 0, 6);
  run_batch(&loop, 6, 6);
  CHECK_EQ_INT(batch_saved, 12);
  snprintf(url, sizeof(url), "%s/__stats", argv[1]);
  CHECK_EQ_INT(lf_fetcher_add(fetcher3, &(lf_request_t){.url = url}), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(stat_value("\"requests\""), 12);
  CHECK(stat_value("\"connections_total\"") >= 1);
  CHECK(stat_value("\"connections_total\"") <= 2); /* the second batch reused the first's */
  CHECK_EQ_INT(lf_fetcher_close(fetcher3, NULL), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);

  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  lf_links_free(&app.links);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", app.dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", app.dir);
  return lf_test_report();
}
