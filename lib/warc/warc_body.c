/* A record's block as it streams: digested (SHA-1 over the block and over the payload) and
 * compressed (raw deflate, so that warc_file.c can put the record's header in front of it in
 * one gzip member) or kept as it is. The output stays in memory up to LF__WARC_MEM_MAX and
 * then moves to an unnamed file beside the WARC file, so a large body never sits in memory.
 * Runs on libuv's thread pool, one call at a time per body. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "warc.h"

#define LF__WARC_MEM_MAX (256 * 1024)
/* zlib's fastest level: WARC output is written once and read rarely; the CPU it would take to
 * squeeze a few percent more out of pages that are mostly HTML is spent on the thread pool of a
 * loop that has other work (bench/RESULTS.md, issue 23). */
#define LF__WARC_LEVEL 1

static int spool_open(lf__warc_body_t *b) {
#ifdef O_TMPFILE
  b->spool_fd = openat(b->spool_dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (b->spool_fd >= 0) return 0;
#endif
  /* No O_TMPFILE here: a named file, unlinked at once (a crash in between leaves it). */
  char name[64];
  for (int i = 0; i < 100; i++) {
    unsigned r = 0;
    for (size_t k = 0; k < sizeof(r); k++)
      r = r << 8 | (unsigned)(rand() & 0xff);
    snprintf(name, sizeof(name), ".lf-warc-%ld-%08x.spool", (long)getpid(), r);
    b->spool_fd =
        openat(b->spool_dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (b->spool_fd >= 0) {
      unlinkat(b->spool_dirfd, name, 0);
      return 0;
    }
    if (errno != EEXIST) break;
  }
  return -errno;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -errno;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Output bytes go to memory, or to the spool once memory would pass the limit. */
static int emit(lf__warc_body_t *b, const char *p, size_t n) {
  if (b->spool_fd < 0 && b->out_len + n > LF__WARC_MEM_MAX) {
    int rc = spool_open(b);
    if (rc == 0) rc = write_all(b->spool_fd, b->out, b->out_len);
    if (rc < 0) return rc;
    b->spool_len = b->out_len;
    b->out_len = 0;
  }
  if (b->spool_fd >= 0) {
    int rc = write_all(b->spool_fd, p, n);
    if (rc == 0) b->spool_len += n;
    return rc;
  }
  if (b->out_len + n > b->out_cap) {
    size_t cap = b->out_cap ? b->out_cap : 16384;
    while (cap < b->out_len + n)
      cap *= 2;
    char *q = realloc(b->out, cap);
    if (!q) return LF_ENOMEM;
    b->out = q;
    b->out_cap = cap;
  }
  memcpy(b->out + b->out_len, p, n);
  b->out_len += n;
  return 0;
}

static int deflate_some(lf__warc_body_t *b, const char *data, size_t len, int flush) {
  char buf[65536];
  b->z.next_in = (Bytef *)(uintptr_t)data;
  b->z.avail_in = (uInt)len;
  do {
    b->z.next_out = (Bytef *)buf;
    b->z.avail_out = sizeof(buf);
    int zr = deflate(&b->z, flush);
    if (zr == Z_STREAM_ERROR) return LF_ENOMEM;
    size_t have = sizeof(buf) - b->z.avail_out;
    if (have) {
      int rc = emit(b, buf, have);
      if (rc < 0) return rc;
    }
  } while (b->z.avail_in > 0 || b->z.avail_out == 0);
  return 0;
}

int lf__warc_body_init(lf__warc_body_t *b, int compress, int spool_dirfd, char *head,
                       size_t head_len) {
  memset(b, 0, sizeof(*b));
  b->spool_fd = -1;
  b->spool_dirfd = spool_dirfd;
  b->compress = compress;
  b->head = head;
  b->head_len = head_len;
  b->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  b->block_sha = EVP_MD_CTX_new();
  b->payload_sha = EVP_MD_CTX_new();
  if (!b->block_sha || !b->payload_sha || !EVP_DigestInit_ex(b->block_sha, EVP_sha1(), NULL) ||
      !EVP_DigestInit_ex(b->payload_sha, EVP_sha1(), NULL) ||
      !EVP_DigestUpdate(b->block_sha, head, head_len))
    return b->err = LF_ENOMEM;
  if (compress) {
    if (deflateInit2(&b->z, LF__WARC_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return b->err = LF_ENOMEM;
    b->z_open = 1;
  }
  return 0;
}

int lf__warc_body_add(lf__warc_body_t *b, const char *data, size_t len) {
  if (b->err) return b->err;
  if (!len) return 0;
  if (!EVP_DigestUpdate(b->block_sha, data, len) || !EVP_DigestUpdate(b->payload_sha, data, len))
    return b->err = LF_ENOMEM;
  b->body_len += len;
  b->crc = (uint32_t)crc32(b->crc, (const Bytef *)data, (uInt)len);
  int rc = b->compress ? deflate_some(b, data, len, Z_NO_FLUSH) : emit(b, data, len);
  return rc < 0 ? (b->err = rc) : 0;
}

static int digest_text(void *ctx, char out[LF__WARC_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 20) return LF_ENOMEM;
  lf__warc_sha1_text(md, out);
  return 0;
}

void lf__warc_sha1(const void *data, size_t len, char out[LF__WARC_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) || n != 20) memset(md, 0, 20);
  lf__warc_sha1_text(md, out);
}

int lf__warc_body_end(lf__warc_body_t *b) {
  if (b->err) return b->err;
  if (b->ended) return 0;
  b->ended = 1;
  int rc = digest_text(b->block_sha, b->block_digest);
  if (rc == 0) rc = digest_text(b->payload_sha, b->payload_digest);
  b->crc = (uint32_t)crc32(b->crc, (const Bytef *)"\r\n\r\n", 4);
  if (rc == 0) rc = b->compress ? deflate_some(b, "\r\n\r\n", 4, Z_FINISH) : emit(b, "\r\n\r\n", 4);
  return rc < 0 ? (b->err = rc) : 0;
}

void lf__warc_body_free(lf__warc_body_t *b) {
  if (b->z_open) deflateEnd(&b->z);
  EVP_MD_CTX_free(b->block_sha);
  EVP_MD_CTX_free(b->payload_sha);
  if (b->spool_fd >= 0) close(b->spool_fd);
  free(b->out);
  free(b->head);
  memset(b, 0, sizeof(*b));
  b->spool_fd = -1;
}
