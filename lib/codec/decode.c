/* Content decoding (gzip, deflate, br, zstd), done here instead of by libcurl.
 *
 * Why not libcurl's decoder (lib/content_encoding.c in 7.88, which Debian 12 ships):
 *  - It never says whether the compressed stream ended: its close_writer calls exit_zlib() with
 *    CURLE_OK whatever zlib's state, and its brotli and zstd writers just free their state. A
 *    gzip body cut short on a connection that closes (no Content-Length, or a Content-Length
 *    equal to the cut length) ends with CURLE_OK, and a partial page would be saved.
 *  - It decodes a whole network read at once and pushes all of it to the write callback: once
 *    the callback pauses, libcurl copies the rest into its pause buffer (sendf.c pausewrite, up
 *    to 64 MB), so one 16 KiB read of a 1000:1 bomb is 16 MB buffered, copied again on every
 *    resume (the CPU spin and mmap/munmap of issue 12), and "Out of memory" past 64 MB. A size
 *    cap in the write callback cannot stop that: the bytes are decoded before it sees them.
 *  - Its zstd stream keeps libzstd's default window limit (128 MB), so one zstd body may make
 *    libcurl allocate 128 MB; RFC 9659 limits HTTP zstd windows to 8 MB.
 * So libcurl hands us the body as received (CURLOPT_HTTP_CONTENT_DECODING 0; it still checks
 * Content-Length and the chunked terminator on those bytes) and this file decodes it in
 * CURL_MAX_WRITE_SIZE pieces, each handed on only when the previous one was taken, and tells
 * whether the compressed stream reached its end. Memory per transfer: one output piece plus the
 * decoder's window (32 KiB zlib, at most 8 MB zstd, at most 16 MB brotli per RFC 7932).
 * brotli and zstd windows are the sender's choice, so their allocations are counted against
 * one budget per fetcher (LF__DECODE_BUDGET): 40 brotli bombs at once held 670 MB without it.
 * An allocation past the budget fails the transfer as a transient failure ("starved"), retried
 * once the bombs that hold the memory have hit the size cap and gone.
 *
 * Pausing: when the consumer does not take a piece, the piece stays here and feed() returns 1;
 * the caller returns CURL_WRITEFUNC_PAUSE, and libcurl, when resumed, hands the same bytes
 * again (pausewrite keeps them from the paused callback's first byte on). `skip` remembers how
 * many of them were already decoded. */
#include <brotli/decode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced: exported by Debian's libzstd */
#include <zstd.h>
#include <curl/curl.h>
#include "decode.h"
#include "loopfetch.h"

#define LF__DECODE_PIECE CURL_MAX_WRITE_SIZE /* what libcurl's own decoder hands on at once */
#define LF__ZSTD_WINDOW_LOG 23               /* 8 MB: RFC 9659's limit for HTTP */

enum { GZIP = 1, DEFLATE, BROTLI, ZSTD };

struct lf__decoder_s {
  int kind;
  int started; /* the decoder state is initialised */
  int done;    /* the compressed stream reached its end: the body is whole */
  int more;    /* the last step filled the piece: the decoder may hold more output */
  z_stream z;
  BrotliDecoderState *br;
  ZSTD_DCtx *zs;
  unsigned char head[2]; /* deflate: the first two bytes tell zlib-wrapped from raw */
  size_t head_len;
  size_t skip;         /* bytes of the next delivery already decoded (see above) */
  size_t out_len;      /* bytes in out not yet taken */
  const char *name;    /* for messages */
  size_t *budget_used; /* the fetcher's count of brotli and zstd memory, or NULL */
  size_t mem;          /* of which this decoder's */
  int starved;         /* an allocation was refused: the budget is spent */
  char out[LF__DECODE_PIECE];
};

/* Returns the kind for one coding name, 0 for identity, -1 if unknown. */
static int kind_of(const char *s, size_t n) {
  static const struct {
    const char *name;
    int kind;
  } known[] = {{"gzip", GZIP}, {"x-gzip", GZIP}, {"deflate", DEFLATE},
               {"br", BROTLI}, {"zstd", ZSTD},   {"identity", 0}};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if (strlen(known[i].name) == n && strncasecmp(s, known[i].name, n) == 0) return known[i].kind;
  return -1;
}

/* brotli and zstd allocate through these, so their memory is counted. A header keeps each
 * block's size, since their free functions are not told it. */
typedef union {
  size_t size;
  max_align_t align;
} lf__block_t;

static void *budget_alloc(void *opaque, size_t size) {
  lf__decoder_t *d = opaque;
  size_t total = size + sizeof(lf__block_t);
  if (d->budget_used && *d->budget_used + total > LF__DECODE_BUDGET) {
    d->starved = 1;
    return NULL;
  }
  lf__block_t *b = malloc(total);
  if (!b) return NULL;
  b->size = total;
  d->mem += total;
  if (d->budget_used) *d->budget_used += total;
  return b + 1;
}

static void budget_free(void *opaque, void *p) {
  lf__decoder_t *d = opaque;
  if (!p) return;
  lf__block_t *b = (lf__block_t *)p - 1;
  d->mem -= b->size;
  if (d->budget_used) *d->budget_used -= b->size;
  free(b);
}

int lf__decoder_starved(const lf__decoder_t *d) {
  return d->starved;
}

int lf__decoder_new(const char *encoding, size_t *budget_used, lf__decoder_t **out, char *err,
                    size_t errlen) {
  *out = NULL;
  int kind = 0, codings = 0;
  for (const char *p = encoding ? encoding : ""; *p;) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, " \t,");
    if (n == 0) break;
    int k = kind_of(p, n);
    if (k < 0 || (k > 0 && codings++ > 0)) {
      /* Stacked codings ("gzip, br") are legal but nobody sends them; we asked for one. */
      snprintf(err, errlen, "unsupported Content-Encoding: %.64s", encoding);
      return LF_ECURL;
    }
    if (k > 0) kind = k;
    p += n;
  }
  if (kind == 0) return 0; /* identity: no decoder */
  lf__decoder_t *d = calloc(1, sizeof(*d));
  if (!d) return LF_ENOMEM;
  d->kind = kind;
  d->budget_used = budget_used;
  d->name = kind == GZIP ? "gzip" : kind == DEFLATE ? "deflate" : kind == BROTLI ? "br" : "zstd";
  *out = d;
  return 0;
}

void lf__decoder_free(lf__decoder_t *d) {
  if (!d) return;
  if (d->started && (d->kind == GZIP || d->kind == DEFLATE)) inflateEnd(&d->z);
  if (d->br) BrotliDecoderDestroyInstance(d->br);
  if (d->zs) ZSTD_freeDCtx(d->zs);
  free(d);
}

int lf__decoder_done(const lf__decoder_t *d) {
  return d->done && d->out_len == 0;
}

const char *lf__decoder_name(const lf__decoder_t *d) {
  return d->name;
}

static int fail(const lf__decoder_t *d, char *err, size_t errlen, const char *why) {
  if (d->starved) { /* the decoder's own error only says that an allocation failed */
    snprintf(err, errlen,
             "decoding %s needs more memory than the %u MB that all br and zstd "
             "bodies may use together leave now",
             d->name, LF__DECODE_BUDGET >> 20);
    return LF_ENOMEM;
  }
  snprintf(err, errlen, "bad %s body: %s", d->name, why);
  return LF_ECURL;
}

/* deflate is meant to be zlib-wrapped (RFC 9110) but is often sent raw; like libcurl, accept
 * both. The zlib header is recognised by its check bits. */
static int start(lf__decoder_t *d, char *err, size_t errlen) {
  int bits = 0;
  switch (d->kind) {
  case GZIP:
    bits = 16 + MAX_WBITS; /* gzip wrapper only */
    break;
  case DEFLATE:
    bits = (d->head[0] & 0x0f) == 8 && ((d->head[0] << 8) | d->head[1]) % 31 == 0 ? MAX_WBITS
                                                                                  : -MAX_WBITS;
    break;
  case BROTLI:
    d->br = BrotliDecoderCreateInstance(budget_alloc, budget_free, d);
    if (!d->br) return d->starved ? fail(d, err, errlen, "") : LF_ENOMEM;
    d->started = 1;
    return 0;
  default:
    d->zs = ZSTD_createDCtx_advanced((ZSTD_customMem){budget_alloc, budget_free, d});
    if (!d->zs) return d->starved ? fail(d, err, errlen, "") : LF_ENOMEM;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, LF__ZSTD_WINDOW_LOG)))
      return fail(d, err, errlen, "cannot limit the zstd window");
    d->started = 1;
    return 0;
  }
  int rc = inflateInit2(&d->z, bits);
  if (rc == Z_MEM_ERROR) return LF_ENOMEM;
  if (rc != Z_OK) return fail(d, err, errlen, "inflateInit2 failed");
  d->started = 1;
  return 0;
}

/* One zlib step from *in (n bytes) into out. */
static int step_zlib(lf__decoder_t *d, const unsigned char **in, size_t *n, char *err,
                     size_t errlen) {
  if (d->done && *n > 0) {
    /* gzip allows several members one after the other (RFC 1952); raw bytes after a deflate
     * stream are not part of any page. */
    if (d->kind != GZIP) return fail(d, err, errlen, "data after the end of the stream");
    if (inflateReset(&d->z) != Z_OK) return fail(d, err, errlen, "inflateReset failed");
    d->done = 0;
  }
  d->z.next_in = (unsigned char *)*in;
  d->z.avail_in = *n > UINT32_MAX ? UINT32_MAX : (uInt)*n;
  d->z.next_out = (unsigned char *)d->out;
  d->z.avail_out = sizeof(d->out);
  uInt before = d->z.avail_in;
  int rc = inflate(&d->z, Z_NO_FLUSH);
  *in += before - d->z.avail_in;
  *n -= before - d->z.avail_in;
  d->out_len = sizeof(d->out) - d->z.avail_out;
  if (rc == Z_STREAM_END) d->done = 1;
  if (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) return 0; /* BUF: needs input */
  if (rc == Z_MEM_ERROR) return LF_ENOMEM;
  return fail(d, err, errlen, d->z.msg ? d->z.msg : "inflate failed");
}

static int step_brotli(lf__decoder_t *d, const unsigned char **in, size_t *n, char *err,
                       size_t errlen) {
  if (d->done && *n > 0) return fail(d, err, errlen, "data after the end of the stream");
  size_t avail_out = sizeof(d->out);
  uint8_t *next_out = (uint8_t *)d->out;
  BrotliDecoderResult r = BrotliDecoderDecompressStream(d->br, n, in, &avail_out, &next_out, NULL);
  d->out_len = sizeof(d->out) - avail_out;
  if (r == BROTLI_DECODER_RESULT_SUCCESS) d->done = 1;
  if (r != BROTLI_DECODER_RESULT_ERROR) return 0;
  return fail(d, err, errlen, BrotliDecoderErrorString(BrotliDecoderGetErrorCode(d->br)));
}

/* A zstd body may hold several frames; it is whole when the last one has ended. */
static int step_zstd(lf__decoder_t *d, const unsigned char **in, size_t *n, char *err,
                     size_t errlen) {
  ZSTD_inBuffer ib = {*in, *n, 0};
  ZSTD_outBuffer ob = {d->out, sizeof(d->out), 0};
  size_t rc = ZSTD_decompressStream(d->zs, &ob, &ib);
  *in += ib.pos;
  *n -= ib.pos;
  d->out_len = ob.pos;
  if (ZSTD_isError(rc)) return fail(d, err, errlen, ZSTD_getErrorName(rc));
  if (ib.pos > 0 || ob.pos > 0) d->done = rc == 0;
  return 0;
}

static int step(lf__decoder_t *d, const unsigned char **in, size_t *n, char *err, size_t errlen) {
  size_t before = *n;
  int rc = d->kind == BROTLI ? step_brotli(d, in, n, err, errlen)
           : d->kind == ZSTD ? step_zstd(d, in, n, err, errlen)
                             : step_zlib(d, in, n, err, errlen);
  d->more = rc == 0 && d->out_len == sizeof(d->out);
  if (rc == 0 && d->out_len == 0 && *n == before && *n > 0 && !d->more)
    return fail(d, err, errlen, "the decoder takes no more input"); /* cannot happen */
  return rc;
}

/* Decodes *in into pieces handed to emit until the input is used up, emit pauses or fails. */
static int run(lf__decoder_t *d, const unsigned char **in, size_t *n, lf__emit_cb emit, void *ctx,
               char *err, size_t errlen) {
  while (*n > 0 || d->more) {
    int rc = step(d, in, n, err, errlen);
    if (rc < 0) return rc;
    if (d->out_len == 0) {
      if (*n == 0) break; /* needs more input */
      continue;
    }
    rc = emit(ctx, d->out, d->out_len);
    if (rc != 0) return rc; /* 1: the piece stays in out; negative: the consumer stopped */
    d->out_len = 0;
  }
  return 0;
}

/* deflate: the first two bytes choose the wrapper; they are decoded from head once known. */
static int take_head(lf__decoder_t *d, const unsigned char **in, size_t *n, char *err,
                     size_t errlen) {
  while (d->head_len < 2 && *n > 0) {
    d->head[d->head_len++] = **in;
    (*in)++;
    (*n)--;
  }
  if (d->head_len < 2) return 0;
  int rc = start(d, err, errlen);
  if (rc < 0) return rc;
  const unsigned char *h = d->head;
  size_t hn = 2;
  /* Two bytes make at most a few literals: no piece fills, nothing can pause here. */
  rc = step(d, &h, &hn, err, errlen);
  return rc < 0 ? rc : hn == 0 ? 0 : fail(d, err, errlen, "stream header not taken");
}

int lf__decoder_feed(lf__decoder_t *d, const char *data, size_t len, lf__emit_cb emit, void *ctx,
                     char *err, size_t errlen) {
  if (d->out_len > 0) { /* the piece the consumer did not take last time */
    int rc = emit(ctx, d->out, d->out_len);
    if (rc != 0) return rc;
    d->out_len = 0;
  }
  if (d->skip > len) return fail(d, err, errlen, "libcurl handed back fewer bytes after a pause");
  const unsigned char *in = (const unsigned char *)data + d->skip;
  size_t n = len - d->skip;
  d->skip = 0;
  int rc = 0;
  if (!d->started) {
    rc = d->kind == DEFLATE ? take_head(d, &in, &n, err, errlen) : start(d, err, errlen);
    if (rc < 0) return rc;
    if (d->out_len > 0 && (rc = emit(ctx, d->out, d->out_len)) != 0) {
      if (rc == 1) d->skip = len - n;
      return rc;
    }
    d->out_len = 0;
    if (!d->started) return 0; /* deflate: still waiting for its second byte */
  }
  rc = run(d, &in, &n, emit, ctx, err, errlen);
  if (rc == 1) d->skip = len - n;
  return rc;
}
