/* embed_sha256: bodies streamed through a callback, never stored: each page's SHA-256 is
 * computed chunk by chunk as the body arrives (LF_OUTPUT_CALLBACK), with back-pressure.
 *
 * With --slow the program plays a consumer that cannot keep up: after every chunk the body
 * callback returns LF_STREAM_PAUSE, and a timer resumes the paused streams 1 ms later. While
 * paused, libcurl reads nothing more for that transfer, so bodies do not pile up in memory
 * however fast the server is.
 *
 * Usage: embed_sha256 [--slow] [--cacert FILE] URL...               hash these pages
 *        embed_sha256 [--slow] [--cacert FILE] --list LIST_URL SEL  the pages SEL selects
 * --cacert: the CA bundle that verifies the servers' certificates (default: the system's).
 * Prints "SHA256  BYTES  URL" per page (sorted as the results come), then a summary line on
 * stderr. Exit status 0 only if every page was hashed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"

/* ---- SHA-256 (FIPS 180-4), small and portable; a real program would use its crypto library */

typedef struct {
  uint32_t h[8];
  uint64_t len;
  unsigned char buf[64];
  size_t used;
} sha256_t;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_t *c, const unsigned char *p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(v, c->h, sizeof(v));
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
                  ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
    uint32_t t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
                  ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof(v[0]));
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++)
    c->h[i] += v[i];
}

static void sha256_init(sha256_t *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof(h0));
  c->len = 0;
  c->used = 0;
}

static void sha256_update(sha256_t *c, const void *data, size_t len) {
  const unsigned char *p = data;
  c->len += len;
  while (len > 0) {
    size_t n = 64 - c->used < len ? 64 - c->used : len;
    memcpy(c->buf + c->used, p, n);
    c->used += n, p += n, len -= n;
    if (c->used == 64) {
      sha256_block(c, c->buf);
      c->used = 0;
    }
  }
}

static void sha256_hex(sha256_t *c, char out[65]) {
  uint64_t bits = c->len * 8;
  unsigned char pad[72] = {0x80};
  size_t n = (c->used < 56 ? 56 : 120) - c->used;
  for (int i = 0; i < 8; i++)
    pad[n + i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(c, pad, n + 8);
  for (int i = 0; i < 8; i++)
    snprintf(out + 8 * i, 9, "%08x", (unsigned)c->h[i]);
}

/* ---- the fetcher ---- */

typedef struct page_s {
  char *url;
  sha256_t sha;
  lf_stream_t *paused; /* set while this page's stream waits for the timer */
  struct page_s *next;
} page_t;

static uv_loop_t loop;
static uv_timer_t resume_timer;
static lf_fetcher_t *fetcher;
static page_t *pages;
static const char *selector;
static int slow;
static size_t added, results, hashed, pauses, resumes;

/* The consumer caught up: every paused stream may go on. */
static void on_resume_timer(uv_timer_t *t) {
  (void)t;
  for (page_t *p = pages; p; p = p->next)
    if (p->paused) {
      lf_stream_t *s = p->paused;
      p->paused = NULL;
      if (lf_stream_resume(s) == 0) resumes++;
    }
}

/* The body callback: hash the chunk; a slow consumer asks for a pause after each one. */
static int on_body(lf_fetcher_t *f, lf_stream_t *stream, const char *chunk, size_t len) {
  (void)f;
  page_t *p = lf_stream_get_data(stream);
  sha256_update(&p->sha, chunk, len);
  if (!slow) return LF_STREAM_CONTINUE;
  if (!uv_is_active((uv_handle_t *)&resume_timer) &&
      uv_timer_start(&resume_timer, on_resume_timer, 1, 0) < 0)
    return LF_STREAM_CONTINUE; /* nothing would resume it: do not pause */
  p->paused = stream;
  pauses++;
  return LF_STREAM_PAUSE;
}

static void add_page(const char *url) {
  page_t *p = calloc(1, sizeof(*p));
  if (!p || !(p->url = strdup(url))) {
    free(p);
    fprintf(stderr, "embed_sha256: out of memory\n");
    return;
  }
  sha256_init(&p->sha);
  p->next = pages;
  pages = p;
  lf_request_t req = {.url = url, .output = LF_OUTPUT_CALLBACK, .data = p};
  added++; /* counted first: the result may come before lf_fetcher_add() returns */
  int rc = lf_fetcher_add(fetcher, &req);
  if (rc < 0) {
    added--;
    fprintf(stderr, "embed_sha256: %s: %s\n", url, lf_strerror(rc));
  }
}

static void finish_if_done(void) {
  if (results < added) return;
  uv_close((uv_handle_t *)&resume_timer, NULL);
  int rc = lf_fetcher_close(fetcher, NULL);
  if (rc < 0) fprintf(stderr, "embed_sha256: closing: %s\n", lf_strerror(rc));
}

static int list_tag;

static void on_list(const lf_result_t *r) {
  lf_links_t links;
  char err[256];
  if (r->status != 0 ||
      lf_links_extract(r->body, r->body_len, r->url, selector, &links, err, sizeof(err)) < 0) {
    fprintf(stderr, "embed_sha256: list page: %s\n", r->status ? r->error : err);
    return;
  }
  for (size_t i = 0; i < links.count; i++)
    add_page(links.urls[i]);
  lf_links_free(&links);
}

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f;
  if (r->data == &list_tag) {
    on_list(r);
    if (!added) finish_if_done();
    return;
  }
  page_t *p = r->data;
  results++;
  if (p->paused) p->paused = NULL; /* the last chunk paused it: the stream ends here */
  if (r->status == 0) {
    char hex[65];
    sha256_hex(&p->sha, hex);
    printf("%s  %llu  %s\n", hex, (unsigned long long)r->bytes, r->url);
    hashed++;
  } else {
    fprintf(stderr, "embed_sha256: %s: %s\n", r->url, r->error);
  }
  finish_if_done();
}

int main(int argc, char **argv) {
  lf_options_t opts;
  lf_options_init(&opts);
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--slow") == 0)
      slow = 1;
    else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc)
      opts.cacert = argv[++i];
    else
      break;
  }
  int list = i < argc && strcmp(argv[i], "--list") == 0;
  if (i >= argc || (list && argc - i != 3)) {
    fprintf(stderr, "usage: embed_sha256 [--slow] [--cacert FILE] URL... | "
                    "[--slow] [--cacert FILE] --list LIST_URL SELECTOR\n");
    return 2;
  }
  int rc = uv_loop_init(&loop);
  if (rc == 0) rc = uv_timer_init(&loop, &resume_timer);
  if (rc == 0) rc = lf_fetcher_new(&loop, &opts, on_result, &fetcher);
  if (rc < 0) {
    fprintf(stderr, "embed_sha256: cannot start: %s\n", lf_strerror(rc));
    return 1;
  }
  lf_fetcher_set_body_cb(fetcher, on_body);
  if (list) {
    selector = argv[i + 2];
    lf_request_t req = {.url = argv[i + 1], .output = LF_OUTPUT_MEMORY, .data = &list_tag};
    rc = lf_fetcher_add(fetcher, &req);
  } else {
    for (; i < argc; i++)
      add_page(argv[i]);
    if (!added) rc = LF_EINVAL;
  }
  if (rc < 0) {
    fprintf(stderr, "embed_sha256: cannot start: %s\n", lf_strerror(rc));
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the fetcher and the timer are closed */
  rc = uv_loop_close(&loop);
  fprintf(stderr, "pages hashed: %zu of %zu; pauses: %zu, resumes: %zu\n", hashed, added, pauses,
          resumes);
  while (pages) {
    page_t *p = pages;
    pages = p->next;
    free(p->url);
    free(p);
  }
  return rc == 0 && added > 0 && hashed == added ? 0 : 1;
}
