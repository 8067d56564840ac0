/* LF_OUTPUT_CALLBACK against the fixture server: the streamed bytes are the page's bytes
 * however often the stream pauses (compared with the same page fetched into memory), the
 * callback's rules (add from inside it works, a negative
 * return ends the transfer with that status), no body for an error response, and no retry once
 * part of a body was handed out.
 * Usage: test_stream BASE_URL */
#include <stdlib.h>
#include "loopfetch.h"
#include "test.h"

enum { BIG, BIG_MEMORY, STOP, ADDER, ADDED, NOTFOUND, CUT, CUT_MEMORY, NREQ };

typedef struct {
  char url[256];
  char *got; /* streamed bytes (BIG), or the memory body (BIG_MEMORY) */
  size_t got_len, chunks;
  int status, attempts, results;
  uint64_t bytes;
} req_t;

static req_t reqs[NREQ];
static lf_fetcher_t *fetcher;
static uv_idle_t resumer;   /* resumes the paused stream on the next loop turn */
static lf_stream_t *paused; /* the BIG stream while paused */
static size_t pauses, resumes, done;
static int add_rc = 1, type_ok;

static void on_idle(uv_idle_t *h) {
  CHECK_EQ_INT(uv_idle_stop(h), 0); /* an idle handle runs every turn: only while paused */
  if (!paused) return;
  lf_stream_t *s = paused;
  paused = NULL;
  CHECK_EQ_INT(lf_stream_resume(s), 0);
  CHECK_EQ_INT(lf_stream_resume(s), 0); /* not paused any more: nothing to do */
  resumes++;
}

static int on_body(lf_fetcher_t *f, lf_stream_t *stream, const char *chunk, size_t len) {
  req_t *r = lf_stream_get_data(stream);
  CHECK(len > 0);
  CHECK_EQ_STR(lf_stream_get_url(stream), r->url);
  r->chunks++;
  if (r == &reqs[BIG]) {
    const char *type = lf_stream_get_content_type(stream);
    type_ok += type && strncmp(type, "text/html", 9) == 0;
    char *grown = realloc(r->got, r->got_len + len);
    if (!grown) return LF_ENOMEM;
    memcpy(grown + r->got_len, chunk, len);
    r->got = grown;
    r->got_len += len;
    CHECK(paused == NULL); /* no chunk while paused */
    paused = stream;
    pauses++;
    CHECK_EQ_INT(uv_idle_start(&resumer, on_idle), 0);
    return LF_STREAM_PAUSE;
  }
  if (r == &reqs[STOP]) return LF_EIO;
  if (r == &reqs[ADDER] && r->chunks == 1) {
    lf_request_t req = {.url = reqs[ADDED].url, .output = LF_OUTPUT_MEMORY, .data = &reqs[ADDED]};
    add_rc = lf_fetcher_add(f, &req); /* queued; starts on the next loop turn */
  }
  return LF_STREAM_CONTINUE;
}

static void on_result(lf_fetcher_t *f, const lf_result_t *res) {
  req_t *r = res->data;
  r->results++;
  r->status = res->status;
  r->attempts = res->attempts;
  r->bytes = res->bytes;
  if (res->status) fprintf(stderr, "%s: %s\n", res->url, res->error);
  if (r == &reqs[BIG]) paused = NULL; /* the handle ends with its result */
  if (res->body && (r == &reqs[BIG_MEMORY])) {
    r->got = malloc(res->body_len);
    if (r->got) memcpy(r->got, res->body, res->body_len);
    r->got_len = res->body_len;
  }
  if (++done == NREQ) {
    CHECK_EQ_INT(lf_fetcher_close(f, NULL), 0);
    uv_close((uv_handle_t *)&resumer, NULL);
  }
}

static void add(int i, lf_output_t output) {
  lf_request_t req = {.url = reqs[i].url, .output = output, .data = &reqs[i]};
  CHECK_EQ_INT(lf_fetcher_add(fetcher, &req), 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_stream BASE_URL\n");
    return 2;
  }
  const char *paths[NREQ] = {"/wiki/India",
                             "/wiki/India",
                             "/wiki/Peru",
                             "/wiki/Chile",
                             "/wiki/Japan",
                             "/status/404",
                             "/fault/truncate/wiki/China",
                             "/fault/truncate/wiki/China"};
  for (int i = 0; i < NREQ; i++)
    snprintf(reqs[i].url, sizeof(reqs[i].url), "%s%s", argv[1], paths[i]);

  uv_loop_t loop;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(uv_idle_init(&loop, &resumer), 0);
  lf_options_t opts;
  lf_options_init(&opts);
  opts.retry_base_ms = 10;
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_result, &fetcher), 0);
  lf_request_t early = {.url = reqs[BIG].url, .output = LF_OUTPUT_CALLBACK};
  CHECK_EQ_INT(lf_fetcher_add(fetcher, &early), LF_EINVAL); /* no body callback yet */
  CHECK_EQ_INT(lf_stream_resume(NULL), LF_EINVAL);
  lf_fetcher_set_body_cb(fetcher, on_body);
  add(BIG, LF_OUTPUT_CALLBACK);
  add(BIG_MEMORY, LF_OUTPUT_MEMORY);
  add(STOP, LF_OUTPUT_CALLBACK);
  add(ADDER, LF_OUTPUT_CALLBACK);
  add(NOTFOUND, LF_OUTPUT_CALLBACK);
  add(CUT, LF_OUTPUT_CALLBACK);
  add(CUT_MEMORY, LF_OUTPUT_MEMORY);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);

  for (int i = 0; i < NREQ; i++)
    CHECK_EQ_INT(reqs[i].results, 1);
  /* Streamed with a pause after every chunk, yet the same bytes as the page in memory. */
  CHECK_EQ_INT(reqs[BIG].status, 0);
  CHECK_EQ_INT(reqs[BIG_MEMORY].status, 0);
  CHECK(reqs[BIG].got_len > 900000); /* India is near the fixture's largest size */
  CHECK_EQ_INT(reqs[BIG].got_len, reqs[BIG_MEMORY].got_len);
  CHECK_EQ_INT(reqs[BIG].bytes, reqs[BIG].got_len);
  CHECK(reqs[BIG].got && reqs[BIG_MEMORY].got &&
        memcmp(reqs[BIG].got, reqs[BIG_MEMORY].got, reqs[BIG].got_len) == 0);
  CHECK(pauses > 10);
  CHECK(resumes + 1 >= pauses); /* every pause but perhaps the last one was resumed */
  CHECK_EQ_INT(type_ok, (long long)reqs[BIG].chunks);
  /* A negative return stops the transfer with that status, after one chunk. */
  CHECK_EQ_INT(reqs[STOP].status, LF_EIO);
  CHECK_EQ_INT(reqs[STOP].chunks, 1);
  /* From inside the callback: close refused, add accepted and served. */
  CHECK_EQ_INT(add_rc, 0);
  CHECK_EQ_INT(reqs[ADDER].status, 0);
  CHECK_EQ_INT(reqs[ADDED].status, 0);
  /* An error response hands out no body. */
  CHECK_EQ_INT(reqs[NOTFOUND].status, LF_EHTTP);
  CHECK_EQ_INT(reqs[NOTFOUND].chunks, 0);
  /* Cut mid-body: a memory request is retried (opts.retries 3), a stream that handed out
   * part of its body is not: the caller has consumed it already. */
  CHECK(reqs[CUT].status != 0);
  CHECK(reqs[CUT].chunks > 0);
  CHECK_EQ_INT(reqs[CUT].attempts, 1);
  CHECK(reqs[CUT_MEMORY].status != 0);
  CHECK_EQ_INT(reqs[CUT_MEMORY].attempts, 4);
  for (int i = 0; i < NREQ; i++)
    free(reqs[i].got);
  return lf_test_report();
}
