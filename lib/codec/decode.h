/* Content decoding (codec/decode.c): gzip, deflate, br and zstd bodies, in bounded pieces, with
 * their end checked. Knows nothing of transfers: the engine feeds it bytes and takes pieces. */
#ifndef LF_DECODE_H
#define LF_DECODE_H

#include <stddef.h>

typedef struct lf__decoder_s lf__decoder_t;

/* emit takes a piece: 0 taken, 1 not taken (pause; it is offered again), negative: stop. */
typedef int (*lf__emit_cb)(void *ctx, const char *data, size_t len);
/* The decoder for a Content-Encoding value; *out stays NULL for identity or none. brotli and
 * zstd memory is counted in *budget_used (NULL: not counted), at most LF__DECODE_BUDGET. */
int lf__decoder_new(const char *encoding, size_t *budget_used, lf__decoder_t **out, char *err,
                    size_t errlen);
#define LF__DECODE_BUDGET (64u << 20)
/* A feed failed because the budget was spent (LF_ENOMEM): worth another try later. */
int lf__decoder_starved(const lf__decoder_t *d);
/* Decodes data: 0 all of it, 1 paused (return CURL_WRITEFUNC_PAUSE; feed the bytes libcurl
 * hands again later), negative: emit's error, or a decoding error described in err. */
int lf__decoder_feed(lf__decoder_t *d, const char *data, size_t len, lf__emit_cb emit, void *ctx,
                     char *err, size_t errlen);
int lf__decoder_done(const lf__decoder_t *d); /* the compressed stream ended: the body is whole */
const char *lf__decoder_name(const lf__decoder_t *d);
void lf__decoder_free(lf__decoder_t *d);

#endif
