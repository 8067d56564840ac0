/* libFuzzer: any body under any Content-Encoding decodes without a crash, in pieces of at most
 * CURL_MAX_WRITE_SIZE, and pausing changes nothing: decoded with every third piece refused
 * (the bytes handed again, as libcurl does after CURL_WRITEFUNC_PAUSE) it gives the same bytes
 * and the same verdict as decoded straight through.
 * Input: byte 0 picks the encoding, byte 1 the size of each delivery, the rest is the body. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define CAP (1u << 20) /* the consumer's size cap: bombs stop here */

typedef struct {
  unsigned char *got;
  size_t len, offers;
  unsigned refuse_every;
} out_t;

static int emit(void *ctx, const char *data, size_t len) {
  out_t *o = ctx;
  if (len == 0 || len > CURL_MAX_WRITE_SIZE) abort();
  if (o->refuse_every && ++o->offers % o->refuse_every == 0) return 1;
  if (o->len + len > CAP) return LF_ETOOBIG;
  memcpy(o->got + o->len, data, len);
  o->len += len;
  return 0;
}

/* Returns the last feed result; *whole: the stream ended. */
static int decode(const char *enc, const uint8_t *body, size_t n, size_t step, out_t *o,
                  int *whole) {
  lf__decoder_t *d = NULL;
  char err[160];
  int rc = lf__decoder_new(enc, NULL, &d, err, sizeof(err));
  if (rc < 0 || !d) return -1;
  size_t at = 0, len = n < step ? n : step;
  while (at < n && rc >= 0) {
    rc = lf__decoder_feed(d, (const char *)body + at, len, emit, o, err, sizeof(err));
    if (rc == 0) at += len;
    if (rc == 0) len = n - at < step ? n - at : step;
  }
  *whole = lf__decoder_done(d);
  lf__decoder_free(d);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *encodings[] = {"gzip", "deflate", "br", "zstd"};
  if (size < 2) return 0;
  const char *enc = encodings[data[0] % 4];
  size_t step = (size_t)data[1] * 64 + 1;
  static unsigned char a[CAP], b[CAP];
  out_t straight = {a, 0, 0, 0}, paused = {b, 0, 0, 3};
  int whole1 = 0, whole2 = 0;
  int rc1 = decode(enc, data + 2, size - 2, step, &straight, &whole1);
  int rc2 = decode(enc, data + 2, size - 2, step, &paused, &whole2);
  if (rc1 != rc2 || whole1 != whole2 || straight.len != paused.len ||
      memcmp(straight.got, paused.got, straight.len) != 0)
    abort();
  return 0;
}
