/* lib/codec/decode.c: a compressed body is whole only if its stream ended; output comes in bounded
 * pieces; a piece not taken pauses the decoder, and the bytes handed again continue it
 * exactly where it stopped (libcurl's contract after CURL_WRITEFUNC_PAUSE). */
#include <stdlib.h>
#include <zlib.h>
#include "internal.h"
#include "test.h"

#define PAGE (300 * 1024)

static unsigned char page[PAGE];
static size_t *budget;   /* the fetcher's brotli + zstd memory count, when one is tested */
static int last_starved; /* the last decoder found the budget spent */

/* The consumer: collects what it takes; refuses every `refuse_every`-th offer. */
static struct {
  unsigned char *got;
  size_t len, cap, offers, largest;
  unsigned refuse_every;
} sink;

static int emit(void *ctx, const char *data, size_t len) {
  (void)ctx;
  sink.offers++;
  if (len > sink.largest) sink.largest = len;
  if (sink.refuse_every && sink.offers % sink.refuse_every == 0) return 1;
  if (sink.len + len > sink.cap) return LF_ETOOBIG;
  memcpy(sink.got + sink.len, data, len);
  sink.len += len;
  return 0;
}

static void sink_reset(unsigned refuse_every) {
  sink.len = sink.offers = sink.largest = 0;
  sink.refuse_every = refuse_every;
}

static size_t compress_with(int wbits, const unsigned char *in, size_t n, unsigned char *out,
                            size_t cap) {
  z_stream z = {0};
  if (deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t len = cap - z.avail_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? len : 0;
}

/* Feeds body in deliveries of `step` bytes as libcurl would: a paused delivery is handed
 * again (here: with `step` more bytes appended, as pausewrite may collect). Returns the last
 * feed result and sets *whole. */
static int feed_all(const char *encoding, const unsigned char *body, size_t n, size_t step,
                    int *whole) {
  lf__decoder_t *d = NULL;
  char err[160] = "";
  int rc = lf__decoder_new(encoding, budget, &d, err, sizeof(err));
  if (rc < 0 || !d) return rc < 0 ? rc : -1;
  size_t at = 0, len = n < step ? n : step;
  while (at < n && rc >= 0) {
    rc = lf__decoder_feed(d, (const char *)body + at, len, emit, NULL, err, sizeof(err));
    size_t next = rc == 0 ? step : len + step < CURL_MAX_WRITE_SIZE ? len + step : len;
    if (rc == 0) at += len;
    len = n - at < next ? n - at : next;
  }
  *whole = lf__decoder_done(d);
  last_starved = lf__decoder_starved(d);
  lf__decoder_free(d);
  return rc;
}

static void check_encoding(const char *name, int wbits, unsigned refuse_every) {
  static unsigned char z[PAGE + 1024];
  size_t zn = compress_with(wbits, page, PAGE, z, sizeof(z));
  CHECK(zn > 0);
  int whole = 0;
  sink_reset(refuse_every);
  CHECK_EQ_INT(feed_all(name, z, zn, 16384, &whole), 0);
  CHECK(whole);
  CHECK_EQ_INT(sink.len, PAGE);
  CHECK(memcmp(sink.got, page, PAGE) == 0);
  CHECK(sink.largest <= CURL_MAX_WRITE_SIZE);
  /* Cut anywhere before its end, the stream is not whole (libcurl 7.88 would say CURLE_OK). */
  size_t cuts[] = {1, 2, zn / 3, zn - 8, zn - 1};
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    sink_reset(refuse_every);
    int rc = feed_all(name, z, cuts[i], 1000, &whole);
    CHECK_EQ_INT(rc, 0);
    CHECK(!whole);
  }
}

/* A bomb: 64 MB of zeros, about 64 KB of gzip. The consumer's cap stops it after at most one
 * piece past the cap, whatever the ratio. */
static void check_bomb(void) {
  size_t n = 64u << 20;
  unsigned char *zeros = calloc(1, n), *z = malloc(n / 256);
  size_t zn = compress_with(16 + MAX_WBITS, zeros, n, z, n / 256);
  CHECK(zn > 0 && zn < n / 900);
  sink_reset(0);
  sink.cap = PAGE; /* the size cap */
  int whole = 1;
  CHECK_EQ_INT(feed_all("gzip", z, zn, 16384, &whole), LF_ETOOBIG);
  CHECK(sink.len <= PAGE && sink.offers <= PAGE / 1024 + 2);
  sink.cap = sizeof(page) + 1024;
  free(zeros);
  free(z);
}

/* zstd frames written by hand (RFC 8878): raw blocks, an RLE bomb, and a 128 MB window. */
static size_t zstd_frame(unsigned char *out, int window_log, int type, const unsigned char *data,
                         size_t size, int blocks) {
  size_t n = 0;
  const unsigned char magic[] = {0x28, 0xb5, 0x2f, 0xfd};
  memcpy(out, magic, 4);
  n = 4;
  out[n++] = 0x00; /* no content size, no checksum, not single segment */
  out[n++] = (unsigned char)((window_log - 10) << 3);
  for (int b = 0; b < blocks; b++) {
    uint32_t h = (uint32_t)(size << 3) | (uint32_t)(type << 1) | (b == blocks - 1);
    out[n++] = h & 0xff;
    out[n++] = (h >> 8) & 0xff;
    out[n++] = (h >> 16) & 0xff;
    size_t payload = type == 1 ? 1 : size;
    memcpy(out + n, data, payload);
    n += payload;
  }
  return n;
}

static void check_zstd(void) {
  static unsigned char f[8192];
  int whole = 0;
  size_t n = zstd_frame(f, 20, 0, page, 4096, 1);
  sink_reset(0);
  CHECK_EQ_INT(feed_all("zstd", f, n, 100, &whole), 0);
  CHECK(whole && sink.len == 4096 && memcmp(sink.got, page, 4096) == 0);
  sink_reset(0);
  CHECK_EQ_INT(feed_all("zstd", f, n - 10, 100, &whole), 0);
  CHECK(!whole);
  /* 1000 RLE blocks of 128 KiB: 4 bytes each, 125 MB decoded; stopped by the cap. */
  static unsigned char bomb[8 + 4 * 1000];
  n = zstd_frame(bomb, 23, 1, (const unsigned char *)"0", 128 * 1024, 1000);
  sink_reset(0);
  sink.cap = PAGE;
  CHECK_EQ_INT(feed_all("zstd", bomb, n, 16384, &whole), LF_ETOOBIG);
  sink.cap = sizeof(page) + 1024;
  /* With the fetcher's budget for br and zstd spent, a zstd decoder cannot start: the feed
   * fails as starved (retried by the transfer), not as bad data. */
  size_t spent = LF__DECODE_BUDGET - 1024;
  budget = &spent;
  sink_reset(0);
  CHECK_EQ_INT(feed_all("zstd", f, n, 100, &whole), LF_ENOMEM);
  CHECK(last_starved);
  CHECK_EQ_INT(spent, LF__DECODE_BUDGET - 1024); /* what was taken was given back */
  size_t none = 0;
  budget = &none;
  sink_reset(0);
  CHECK_EQ_INT(feed_all("zstd", f, 16, 100, &whole), 0);
  CHECK_EQ_INT(none, 0); /* the decoder counted its memory and gave it all back when freed */
  budget = NULL;
  /* A frame that asks for a 128 MB window is refused before anything is allocated. */
  n = zstd_frame(bomb, 27, 1, (const unsigned char *)"0", 128 * 1024, 4);
  sink_reset(0);
  CHECK_EQ_INT(feed_all("zstd", bomb, n, 16384, &whole), LF_ECURL);
  CHECK_EQ_INT(sink.len, 0);
}

static void check_names(void) {
  lf__decoder_t *d = NULL;
  char err[160];
  CHECK_EQ_INT(lf__decoder_new(NULL, NULL, &d, err, sizeof(err)), 0);
  CHECK(d == NULL);
  CHECK_EQ_INT(lf__decoder_new("identity", NULL, &d, err, sizeof(err)), 0);
  CHECK(d == NULL);
  CHECK_EQ_INT(lf__decoder_new("X-GZIP", NULL, &d, err, sizeof(err)), 0);
  CHECK(d != NULL);
  lf__decoder_free(d);
  CHECK_EQ_INT(lf__decoder_new("compress", NULL, &d, err, sizeof(err)), LF_ECURL);
  CHECK(strstr(err, "compress") != NULL);
  CHECK_EQ_INT(lf__decoder_new("gzip, br", NULL, &d, err, sizeof(err)), LF_ECURL);
  /* Trailing bytes after a finished deflate stream are not part of the page. */
  static unsigned char z[PAGE + 1024];
  size_t zn = compress_with(MAX_WBITS, page, 1000, z, sizeof(z));
  memcpy(z + zn, "junk", 4);
  int whole = 0;
  sink_reset(0);
  CHECK_EQ_INT(feed_all("deflate", z, zn + 4, 16384, &whole), LF_ECURL);
}

int main(void) {
  uint32_t x = 12345;
  for (size_t i = 0; i < PAGE; i++) { /* compressible but not trivial */
    x = x * 1103515245u + 12345u;
    page[i] = (unsigned char)("abcdefgh <>/=\"\n"[(x >> 16) % 15]);
  }
  sink.cap = sizeof(page) + 1024;
  sink.got = malloc(sink.cap);
  check_encoding("gzip", 16 + MAX_WBITS, 0);
  check_encoding("deflate", MAX_WBITS, 0);
  check_encoding("deflate", -MAX_WBITS, 0);
  check_encoding("gzip", 16 + MAX_WBITS, 3); /* every third piece refused: pause and resume */
  check_encoding("deflate", -MAX_WBITS, 2);
  check_bomb();
  check_zstd();
  check_names();
  free(sink.got);
  return lf_test_report();
}
