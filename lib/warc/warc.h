/* WARC/1.1 records and files (README.md). Thread-agnostic: the engine calls the body and file
 * functions on libuv's thread pool, one job at a time per body; a file serialises its writers
 * with its own lock. */
#ifndef LF_WARC_H
#define LF_WARC_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include "loopfetch.h"

#define LF__WARC_ID_LEN 48     /* "<urn:uuid:8-4-4-4-12>" and NUL */
#define LF__WARC_DATE_LEN 32   /* "2026-12-07T01:02:03.123456Z" and NUL */
#define LF__WARC_DIGEST_LEN 40 /* "sha1:" + 32 base32 characters and NUL */

/* ---- warc_fmt.c: pieces of a record ---- */

/* A fresh record id, "<urn:uuid:...>" (random, version 4). */
void lf__warc_new_id(char id[LF__WARC_ID_LEN]);
/* ns since the epoch (CLOCK_REALTIME) as WARC-Date with microseconds. */
void lf__warc_date(uint64_t realtime_ns, char out[LF__WARC_DATE_LEN]);
/* "sha1:" and the 20-byte digest in base32 (RFC 4648, as wget, warcio and pywb write it). */
void lf__warc_sha1_text(const unsigned char sha1[20], char out[LF__WARC_DIGEST_LEN]);

/* The HTTP head as stored, from the lines libcurl received (status line, fields, blank line):
 *  - an HTTP/2 status line ("HTTP/2 200") becomes "HTTP/1.1 200 OK", since WARC readers parse
 *    HTTP/1.1 messages (the record says WARC-Protocol: h2);
 *  - a Transfer-Encoding field is kept as X-Archive-Orig-Transfer-Encoding: the stored body
 *    has no transfer coding, so the head must not claim one;
 *  - lines end in CR LF and the head ends with an empty line.
 * Returns a malloc'd head (*out_len bytes, NUL-terminated) or NULL without memory. The status
 * code goes to *status (0 if the line is not a status line) and the Content-Type value's media
 * type, lowercased and without parameters, to mime (empty if none). */
char *lf__warc_response_head(const char *raw, size_t len, size_t *out_len, int *status, char *mime,
                             size_t mime_len);
/* The request as sent: "GET / HTTP/2" becomes "GET / HTTP/1.1"; else as the response. */
char *lf__warc_request_head(const char *raw, size_t len, size_t *out_len);

/* ---- warc_chunked.c ---- */

/* De-chunks a whole chunked body held in memory (RFC 9112 7.1: sizes, extensions, trailers).
 * Writes the data into out (at most len bytes; it may be `in` itself) and returns its length;
 * *complete is 1 if the last chunk and the trailer section ended. Malformed input ends the
 * data where it became malformed (complete 0). */
size_t lf__warc_dechunk(const char *in, size_t len, char *out, int *complete);

/* ---- warc_surt.c ---- */

/* The SURT key pywb and warcio index a URL under ("com,example)/path?a=1&b=2"), written into
 * out (NUL-terminated, cut at len). */
void lf__warc_surt(const char *url, char *out, size_t len);

/* ---- warc_body.c: a record's block, compressed and digested as it streams ---- */

typedef struct lf__warc_body_s {
  void *block_sha, *payload_sha; /* EVP_MD_CTX *: over head + body, over the body */
  void *z;                       /* the compressor's state while the body streams (warc_body.c) */
  int compress, ended;
  uint32_t crc; /* of the uncompressed body + "\r\n\r\n" */
  uint64_t body_len;
  char *out; /* the output (compressed, or as it is), in memory... */
  size_t out_len, out_cap;
  int spool_fd; /* ...and then in an unnamed file (-1: none) */
  int spool_dirfd;
  uint64_t spool_len;
  char payload_digest[LF__WARC_DIGEST_LEN], block_digest[LF__WARC_DIGEST_LEN];
  char *head; /* the HTTP head, malloc'd: the block's first part */
  size_t head_len;
  int err; /* first error, -errno or LF_ENOMEM */
} lf__warc_body_t;

/* Starts a body whose block begins with head (taken over: freed by lf__warc_body_free). */
int lf__warc_body_init(lf__warc_body_t *b, int compress, int spool_dirfd, char *head,
                       size_t head_len);
int lf__warc_body_add(lf__warc_body_t *b, const char *data, size_t len);
int lf__warc_body_end(lf__warc_body_t *b); /* digests and the compressed stream's end */
void lf__warc_body_free(lf__warc_body_t *b);

/* The digest of data held whole (a head), as text. */
void lf__warc_sha1(const void *data, size_t len, char out[LF__WARC_DIGEST_LEN]);

/* ---- warc_file.c: the files ---- */

typedef struct lf__warc_file_s lf__warc_file_t;

/* One HTTP exchange of a hop: its request and response records, written together. */
typedef struct {
  const char *target_uri;
  const char *ip;       /* WARC-IP-Address, or NULL */
  const char *protocol; /* "h2" or "http/1.1" */
  char request_date[LF__WARC_DATE_LEN], response_date[LF__WARC_DATE_LEN];
  char *request_head; /* malloc'd, taken over */
  size_t request_head_len;
  lf__warc_body_t *response; /* ended; head, body and digests */
  int status;                /* HTTP status of the response */
  char mime[64];             /* its media type, for the index */
  const char *truncated;     /* WARC-Truncated reason, or NULL when the response is whole */
  /* A 304 to a conditional request: a server-not-modified revisit of this earlier capture
   * (refers_date may be NULL when unknown). */
  int not_modified;
  const char *refers_date;
} lf__warc_exchange_t;

/* Opens the first free file of the set (see lf_warc_options_t) and writes its warcinfo.
 * Errors: negative errno or LF_ENOMEM, with one line in err naming the file. */
int lf__warc_file_open(const lf_warc_options_t *o, lf__warc_file_t **out, char *err, size_t errlen);
/* Writes the exchange's two records (the response as a revisit when its payload was written
 * before, unless dedup is off), rolling over first if the file is full; thread-safe. On
 * failure the file is cut back to where the records began, and err says why. */
int lf__warc_file_write(lf__warc_file_t *w, lf__warc_exchange_t *x, char *err, size_t errlen);
/* The folder of the files, for spools (a descriptor the file keeps). */
int lf__warc_file_dirfd(const lf__warc_file_t *w);
int lf__warc_file_compressed(const lf__warc_file_t *w);
void lf__warc_file_close(lf__warc_file_t *w);

#endif
