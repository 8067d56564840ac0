/* The fetcher's API as an embedder meets it (issue 25, items 11 to 14), against the fixture
 * server (tests/fixtures/server.py): zero options are the defaults; lf_fetcher_add() refuses
 * what it can tell at once; results carry the error class, libcurl's code, every header when
 * asked and an error's body when asked; progress as bytes arrive; the easy-handle hook; cancel
 * one request; a per-request timeout; max_redirs; close from a result callback runs none of
 * the caller's callbacks inside the call; a need callback alone starts the fetcher;
 * lf_fetcher_pending() counts requests waiting to retry; LF_REQUEST_NO_REPLACE never replaces a
 * file (NAME~2.EXT, reported).
 * Usage: test_fetcher_api BASE_URL */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loopfetch.h"
#include "test.h"

static const char *base;
static uv_loop_t loop;

typedef struct {
  char url[256];
  int results, status, error_class, curl_code, attempts;
  long http_code;
  char error[256];
  char body[256];
  size_t body_len;
  int has_body;
  int64_t content_length;
  size_t header_count;
  int saw_content_type, saw_content_length;
  uint64_t bytes, progress_sum;
  size_t pending_at_result;
  double at;      /* lf_fetcher_now() at the result */
  char file[256]; /* lf_result_t.file */
} req_t;

static void url(req_t *r, const char *path) {
  snprintf(r->url, sizeof(r->url), "%s%s", base, path);
}

static int in_call; /* set around calls that must not run our callbacks inside them */
static int reentered;

static void on_result(lf_fetcher_t *f, const lf_result_t *res) {
  req_t *r = res->data;
  if (in_call) reentered++;
  r->results++;
  r->status = res->status;
  r->error_class = res->error_class;
  r->curl_code = res->curl_code;
  r->attempts = res->attempts;
  r->http_code = res->http_code;
  r->bytes = res->bytes;
  r->content_length = res->content_length;
  r->header_count = res->header_count;
  r->pending_at_result = lf_fetcher_pending(f);
  r->at = lf_fetcher_now(f);
  snprintf(r->error, sizeof(r->error), "%s", res->error ? res->error : "");
  snprintf(r->file, sizeof(r->file), "%s", res->file ? res->file : "");
  r->has_body = res->body != NULL;
  if (res->body) {
    r->body_len = res->body_len;
    snprintf(r->body, sizeof(r->body), "%.*s", (int)(res->body_len < 255 ? res->body_len : 255),
             res->body);
  }
  for (size_t i = 0; res->headers && res->headers[i]; i++) {
    r->saw_content_type |= strncmp(res->headers[i], "Content-Type: ", 14) == 0;
    r->saw_content_length |= strncmp(res->headers[i], "Content-Length: ", 16) == 0;
  }
  if (res->headers) CHECK(res->headers[res->header_count] == NULL);
}

static void add(lf_fetcher_t *f, req_t *r, long timeout_ms, unsigned flags) {
  lf_request_t req = {.url = r->url,
                      .output = LF_OUTPUT_MEMORY,
                      .data = r,
                      .timeout_ms = timeout_ms,
                      .flags = flags};
  CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
}

static lf_fetcher_t *make(const lf_options_t *o, lf_result_cb cb) {
  lf_fetcher_t *f = NULL;
  CHECK_EQ_INT(lf_fetcher_new(&loop, o, cb ? cb : on_result, &f), 0);
  return f;
}

static void run_and_close(lf_fetcher_t *f) {
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(lf_fetcher_close(f, NULL), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

/* Item 11: `= {0}` and lf_options_init() are the same options, and zero means the defaults:
 * 3 retries (a URL failing twice with 503 is saved on the third attempt). */
static void zero_is_default(void) {
  lf_options_t zero = {0}, init;
  memset(&init, 0x5a, sizeof(init));
  lf_options_init(&init);
  CHECK(memcmp(&zero, &init, sizeof(zero)) == 0);
  zero.retry_base_ms = 20; /* only to keep the test short */
  static req_t flaky, none;
  url(&flaky, "/fault/fail-then/503/2/small/zero-a");
  url(&none, "/fault/fail-then/503/1/small/zero-b");
  lf_fetcher_t *f = make(&zero, NULL);
  add(f, &flaky, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(flaky.status, 0);
  CHECK_EQ_INT(flaky.attempts, 3);
  zero.retries = LF_NONE; /* the explicit "none" */
  f = make(&zero, NULL);
  add(f, &none, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(none.status, LF_EHTTP);
  CHECK_EQ_INT(none.attempts, 1);
}

/* Item 12: refused at once, never a result later. */
static void add_refuses(void) {
  static req_t r;
  lf_fetcher_t *f = make(NULL, NULL);
  struct {
    const char *url;
    int rc;
  } bad[] = {{"ftp://127.0.0.1/x", LF_ESCHEME},
             {"file:///etc/passwd", LF_ESCHEME},
             {"FILE:///etc/passwd", LF_ESCHEME},
             {"mailto:a@b", LF_ESCHEME},
             {"example.org/x", LF_EURL},
             {"//example.org/x", LF_EURL},
             {"http:///x", LF_EURL},
             {"http:example.org", LF_EURL},
             {"", LF_EURL},
             {"http://a b/", LF_EURL}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    lf_request_t req = {.url = bad[i].url, .output = LF_OUTPUT_MEMORY, .data = &r};
    CHECK_EQ_INT(lf_fetcher_add(f, &req), bad[i].rc);
  }
  lf_request_t req = {.url = "http://127.0.0.1:1/", .output = LF_OUTPUT_FILE, .file = "../x"};
  CHECK_EQ_INT(lf_fetcher_add(f, &req), LF_ENAME);
  req.output = LF_OUTPUT_MEMORY;
  req.flags = 1u << 30; /* unknown flag */
  CHECK_EQ_INT(lf_fetcher_add(f, &req), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_pending(f), 0);
  run_and_close(f);
  CHECK_EQ_INT(r.results, 0);
}

/* Items 12 and 14: error classes and libcurl's code; a per-request timeout; every header; an
 * error's body when asked (and not otherwise); Content-Length and progress as bytes come. */
static size_t progress_calls;
static void on_progress(lf_fetcher_t *f, const lf_progress_t *p) {
  (void)f;
  req_t *r = p->data;
  r->progress_sum += p->delta;
  CHECK(p->received == r->progress_sum);
  progress_calls++;
}

static void classes_and_results(void) {
  static req_t refused, slow, notfound, notfound_plain, cut, big, headers;
  url(&slow, "/fault/slow/3000/x");
  snprintf(refused.url, sizeof(refused.url), "http://127.0.0.1:1/");
  url(&notfound, "/status/404");
  url(&notfound_plain, "/status/410");
  url(&cut, "/fault/truncate/small/cut");
  url(&big, "/fault/big/300000");
  url(&headers, "/small/headers");
  lf_options_t o = {0};
  o.retries = LF_NONE;
  lf_fetcher_t *f = make(&o, NULL);
  lf_fetcher_set_progress_cb(f, on_progress);
  add(f, &refused, 0, 0);
  add(f, &slow, 300, 0); /* this request only: 0.3 s */
  add(f, &notfound, 0, LF_REQUEST_ERROR_BODY);
  add(f, &notfound_plain, 0, 0);
  add(f, &cut, 0, 0);
  add(f, &big, 0, 0);
  add(f, &headers, 0, LF_REQUEST_HEADERS);
  run_and_close(f);
  CHECK_EQ_INT(refused.status, LF_ECURL);
  CHECK_EQ_INT(refused.error_class, LF_ERR_CONNECT);
  CHECK_EQ_INT(refused.curl_code, CURLE_COULDNT_CONNECT);
  CHECK_EQ_INT(slow.error_class, LF_ERR_TIMEOUT);
  CHECK_EQ_INT(slow.curl_code, CURLE_OPERATION_TIMEDOUT);
  CHECK(slow.at < 2.5); /* not the server's 3 s */
  CHECK_EQ_INT(notfound.status, LF_EHTTP);
  CHECK_EQ_INT(notfound.error_class, LF_ERR_HTTP);
  CHECK(notfound.has_body);
  CHECK_EQ_STR(notfound.body, "status 404\n");
  CHECK_EQ_INT(notfound_plain.http_code, 410);
  CHECK(!notfound_plain.has_body);
  CHECK_EQ_INT(cut.status, LF_ECURL);
  CHECK_EQ_INT(cut.error_class, LF_ERR_PROTOCOL);
  CHECK(cut.curl_code != 0);
  CHECK_EQ_INT(big.status, 0);
  CHECK_EQ_INT(big.error_class, LF_ERR_NONE);
  CHECK_EQ_INT(big.curl_code, 0);
  CHECK_EQ_INT(big.content_length, 300000);
  CHECK_EQ_INT(big.progress_sum, 300000);
  CHECK(progress_calls > 1);         /* as the bytes came, not once at the end */
  CHECK_EQ_INT(big.header_count, 0); /* not asked for */
  CHECK_EQ_INT(headers.status, 0);
  CHECK(headers.header_count >= 2);
  CHECK(headers.saw_content_type && headers.saw_content_length);
}

/* Item 14: the easy-handle hook's options take effect (a size cap of libcurl's own), a
 * negative return fails the request, and a hooked handle serves no other request. */
static int hook_calls;
static int on_easy(lf_fetcher_t *f, void *easy, const char *u, void *data) {
  (void)f, (void)u;
  hook_calls++;
  req_t *r = data;
  if (strstr(r->url, "refuse")) return LF_EINVAL;
  if (strstr(r->url, "big"))
    CHECK_EQ_INT(curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1000), CURLE_OK);
  return 0;
}

static void easy_hook(void) {
  static req_t capped, refused, after;
  url(&capped, "/fault/big/5000");
  url(&refused, "/small/refuse");
  url(&after, "/fault/big/6000");
  lf_options_t o = {0};
  o.max_in_flight = 1; /* one handle, passed on: the cap must not follow it */
  lf_fetcher_t *f = make(&o, NULL);
  lf_fetcher_set_easy_cb(f, on_easy);
  add(f, &capped, 0, 0);
  add(f, &refused, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(capped.status, LF_ETOOBIG);
  CHECK_EQ_INT(refused.status, LF_EINVAL);
  CHECK_EQ_INT(refused.attempts, 1);
  f = make(&o, NULL);
  add(f, &after, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(after.status, 0);
  CHECK_EQ_INT(after.bytes, 6000);
  CHECK_EQ_INT(hook_calls, 2);
}

/* Item 14: cancel by data; the results come on a later turn, not inside the call. */
static char tag_a, tag_b;
static int cancelled_results, b_results;
static int cancel_rc = -99;
static void on_cancel_result(lf_fetcher_t *f, const lf_result_t *res) {
  (void)f;
  if (in_call) reentered++;
  if (res->data == &tag_a) {
    cancelled_results++;
    CHECK_EQ_INT(res->status, LF_EABORTED);
    CHECK_EQ_STR(res->error, "cancelled");
    CHECK(lf_fetcher_now(f) < 1.5);
  } else {
    b_results++;
    CHECK_EQ_INT(res->status, 0);
  }
}

static void on_cancel_timer(uv_timer_t *t) {
  lf_fetcher_t *f = t->data;
  in_call = 1;
  cancel_rc = lf_fetcher_cancel(f, &tag_a);
  in_call = 0;
  uv_close((uv_handle_t *)t, NULL);
}

static void cancel_one(void) {
  char u[4][256];
  lf_options_t o = {0};
  o.max_in_flight = 2; /* one of tag_a's runs, two wait in the queue */
  lf_fetcher_t *f = make(&o, on_cancel_result);
  for (int i = 0; i < 3; i++) {
    snprintf(u[i], sizeof(u[i]), "%s/fault/slow/2000/cancel%d", base, i);
    lf_request_t req = {.url = u[i], .output = LF_OUTPUT_MEMORY, .data = &tag_a};
    CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
  }
  snprintf(u[3], sizeof(u[3]), "%s/small/keep", base);
  lf_request_t keep = {.url = u[3], .output = LF_OUTPUT_MEMORY, .data = &tag_b};
  CHECK_EQ_INT(lf_fetcher_add(f, &keep), 0);
  uv_timer_t timer;
  CHECK_EQ_INT(uv_timer_init(&loop, &timer), 0);
  timer.data = f;
  CHECK_EQ_INT(uv_timer_start(&timer, on_cancel_timer, 100, 0), 0);
  run_and_close(f);
  CHECK_EQ_INT(cancel_rc, 3);
  CHECK_EQ_INT(cancelled_results, 3);
  CHECK_EQ_INT(b_results, 1);
}

/* Item 13: close from a result callback runs none of the caller's callbacks inside the call;
 * the requests still queued get their results afterwards. And from a body callback. */
static int closed, close_results;
static void on_close(lf_fetcher_t *f) {
  (void)f;
  if (in_call) reentered++;
  closed++;
}
static void on_close_result(lf_fetcher_t *f, const lf_result_t *res) {
  if (in_call) reentered++;
  close_results++;
  if (close_results == 1) {
    CHECK_EQ_INT(res->status, 0);
    in_call = 1;
    CHECK_EQ_INT(lf_fetcher_close(f, on_close), 0);
    in_call = 0;
    lf_request_t req = {.url = res->url, .output = LF_OUTPUT_MEMORY};
    CHECK_EQ_INT(lf_fetcher_add(f, &req), LF_ECLOSING);
  } else {
    CHECK_EQ_INT(res->status, LF_EABORTED);
  }
}

static int on_body_close(lf_fetcher_t *f, lf_stream_t *s, const char *chunk, size_t len) {
  (void)s, (void)chunk, (void)len;
  static int asked;
  if (!asked++) {
    in_call = 1;
    CHECK_EQ_INT(lf_fetcher_close(f, on_close), 0); /* allowed: it acts on the next turn */
    in_call = 0;
  }
  return LF_STREAM_CONTINUE;
}

static void close_from_callbacks(void) {
  char first[256], rest[5][256];
  lf_options_t o = {0};
  o.max_in_flight = 1;
  lf_fetcher_t *f = make(&o, on_close_result);
  snprintf(first, sizeof(first), "%s/small/close-first", base);
  lf_request_t req = {.url = first, .output = LF_OUTPUT_MEMORY};
  CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
  for (int i = 0; i < 5; i++) {
    snprintf(rest[i], sizeof(rest[i]), "%s/small/close-%d", base, i);
    req.url = rest[i];
    CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
  }
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(close_results, 6);
  CHECK_EQ_INT(closed, 1);
  /* From a body callback: accepted, the transfer aborted on the next turn. */
  closed = 0;
  static req_t streamed;
  url(&streamed, "/fault/drip/50/small/streamed");
  f = make(NULL, NULL);
  lf_fetcher_set_body_cb(f, on_body_close);
  lf_request_t sreq = {.url = streamed.url, .output = LF_OUTPUT_CALLBACK, .data = &streamed};
  CHECK_EQ_INT(lf_fetcher_add(f, &sreq), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(streamed.results, 1);
  CHECK_EQ_INT(closed, 1);
}

/* Item 13: a need callback alone starts the fetcher once the loop runs. */
static int needs;
static req_t needed;
static void on_need(lf_fetcher_t *f) {
  if (needs++ == 0) add(f, &needed, 0, 0);
}
static void need_alone(void) {
  url(&needed, "/small/needed");
  lf_fetcher_t *f = make(NULL, NULL);
  lf_fetcher_set_need_cb(f, on_need);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK(needs >= 1);
  CHECK_EQ_INT(needed.results, 1);
  CHECK_EQ_INT(needed.status, 0);
  lf_fetcher_set_need_cb(f, NULL);
  run_and_close(f);
}

/* Items 10 and 12: lf_fetcher_pending() counts a request waiting to retry, so closing when it
 * is 0 never aborts a retry; max_redirs, with its "none". */
static void pending_and_redirects(void) {
  static req_t quick, retried, far, none, deflt;
  url(&quick, "/small/pending-quick");
  url(&retried, "/fault/fail-then/503/1/small/pending-retried");
  url(&far, "/redirect/3/small/far");
  url(&none, "/redirect/1/small/none");
  url(&deflt, "/redirect/3/small/default");
  lf_options_t o = {0};
  o.retry_base_ms = 300;
  lf_fetcher_t *f = make(&o, NULL);
  add(f, &retried, 0, 0);
  add(f, &quick, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(quick.status, 0);
  CHECK(quick.pending_at_result >= 1); /* the retried one was waiting */
  CHECK_EQ_INT(retried.status, 0);
  CHECK_EQ_INT(retried.pending_at_result, 0);
  o.max_redirs = 2;
  f = make(&o, NULL);
  add(f, &far, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(far.error_class, LF_ERR_PROTOCOL);
  CHECK_EQ_INT(far.curl_code, CURLE_TOO_MANY_REDIRECTS);
  o.max_redirs = LF_NONE;
  f = make(&o, NULL);
  add(f, &none, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(none.status, LF_EHTTP);
  CHECK_EQ_INT(none.http_code, 302);
  f = make(NULL, NULL);
  add(f, &deflt, 0, 0);
  run_and_close(f);
  CHECK_EQ_INT(deflt.status, 0);
}

static char dir[] = "/tmp/lf-noreplace-XXXXXX";

static void write_at(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *fp = fopen(path, "w");
  CHECK(fp != NULL);
  if (!fp) return;
  fputs(text, fp);
  fclose(fp);
}

static const char *read_at(const char *name) {
  static char buf[256];
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  buf[0] = '\0';
  FILE *fp = fopen(path, "r");
  if (!fp) return "(missing)";
  size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static void add_file(lf_fetcher_t *f, req_t *r, const char *file, unsigned flags) {
  url(r, "/small/no-replace");
  lf_request_t req = {
      .url = r->url, .output = LF_OUTPUT_FILE, .file = file, .data = r, .flags = flags};
  CHECK_EQ_INT(lf_fetcher_add(f, &req), 0);
}

static void name_to_c(lf_fetcher_t *f, const lf_result_t *reply, char *name) {
  (void)f;
  if (strcmp(reply->file, "by-callback") == 0) strcpy(name, "c.txt");
}

/* LF_REQUEST_NO_REPLACE: a name that is taken (by a file that was there, or by a page of the
 * same fetcher) is never replaced: the page gets the first free NAME~N.EXT and the result says
 * which; in a subfolder, and for a name the name callback gives, too. Without it, replaced. */
static void no_replace(void) {
  CHECK(mkdtemp(dir) != NULL);
  char sub[600];
  snprintf(sub, sizeof(sub), "%s/sub", dir);
  CHECK_EQ_INT(mkdir(sub, 0755), 0);
  write_at("a.txt", "mine");
  write_at("sub/a.txt", "mine");
  write_at("c.txt", "mine");
  write_at("a~2.txt", "mine");
  lf_options_t o = {0};
  o.out_dir = dir;
  static req_t r1, r2, r3, r4, r5;
  lf_fetcher_t *f = make(&o, NULL);
  lf_fetcher_set_name_cb(f, name_to_c);
  add_file(f, &r1, "a.txt", LF_REQUEST_NO_REPLACE);
  add_file(f, &r2, "a.txt", LF_REQUEST_NO_REPLACE);
  add_file(f, &r3, "sub/a.txt", LF_REQUEST_NO_REPLACE);
  add_file(f, &r4, "by-callback", LF_REQUEST_NO_REPLACE);
  run_and_close(f);
  CHECK(r1.status == 0 && r2.status == 0 && r3.status == 0 && r4.status == 0);
  CHECK((strcmp(r1.file, "a~3.txt") == 0 && strcmp(r2.file, "a~4.txt") == 0) ||
        (strcmp(r1.file, "a~4.txt") == 0 && strcmp(r2.file, "a~3.txt") == 0));
  CHECK_EQ_STR(r3.file, "sub/a~2.txt");
  CHECK_EQ_STR(r4.file, "c~2.txt");
  const char *kept[] = {"a.txt", "a~2.txt", "sub/a.txt", "c.txt"};
  for (size_t i = 0; i < 4; i++)
    CHECK_EQ_STR(read_at(kept[i]), "mine");
  const char *pages[] = {"a~3.txt", "a~4.txt", "sub/a~2.txt", "c~2.txt"};
  for (size_t i = 0; i < 4; i++)
    CHECK(strncmp(read_at(pages[i]), "mine", 4) != 0 && strcmp(read_at(pages[i]), "(missing)"));
  f = make(&o, NULL); /* without the flag: replaced */
  add_file(f, &r5, "a.txt", 0);
  run_and_close(f);
  CHECK_EQ_STR(r5.file, "a.txt");
  CHECK(strcmp(read_at("a.txt"), "mine") != 0);
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  CHECK_EQ_INT(system(cmd), 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_fetcher_api BASE_URL\n");
    return 2;
  }
  base = argv[1];
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  zero_is_default();
  add_refuses();
  classes_and_results();
  easy_hook();
  cancel_one();
  close_from_callbacks();
  need_alone();
  pending_and_redirects();
  no_replace();
  CHECK_EQ_INT(reentered, 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  return lf_test_report();
}
