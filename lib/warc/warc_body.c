/* A record's block as it streams: digested (SHA-1 over the block and over the payload) as the
 * bytes come, kept as received, and compressed when it ends (raw deflate, so that warc_file.c
 * can put the record's header in front of it in one gzip member). Runs on libuv's thread pool,
 * one call at a time per body.
 *
 * Which compressor (bench/RESULTS.md, "Issue 23", and README: measured on workload A,
 * 56 MB of records): libdeflate at level 1 took 0.28 s of CPU where zlib at its fastest level
 * took 0.50-0.56 s, and the WARC's CPU is most of what --warc-file costs. But libdeflate only
 * compresses whole buffers. So a body is kept in memory while it is small (LF__WARC_RAW_MAX,
 * and at most LF__WARC_RAW_TOTAL for all bodies of the process) and compressed by libdeflate in
 * one call at its end; a larger one goes, as received, to an unnamed file beside the WARC file
 * and is compressed from there by zlib's streaming deflate at its end. Memory stays bounded
 * whatever the bodies' sizes, and no compressor state lives between the calls of a transfer
 * (zlib's is 256 KiB: one per transfer in flight had made workload A's peak RSS 80 MB). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "warc.h"

#define LF__WARC_RAW_MAX (1024 * 1024)        /* one body in memory */
#define LF__WARC_RAW_TOTAL (32 * 1024 * 1024) /* all bodies in memory, this process */
#define LF__WARC_MEM_MAX (256 * 1024)         /* zlib's output in memory, then spooled */
#define LF__WARC_LEVEL 1 /* the fastest: written once, read rarely; the CPU is the loop's */

static atomic_size_t raw_total; /* bytes of bodies held in memory, all bodies */

/* libdeflate compressors, kept for reuse (each is ~100 KB to set up): one per pool thread that
 * compresses at a time, at most this many kept. */
#define POOL_MAX 16
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct libdeflate_compressor *pool[POOL_MAX];
static int pool_len;

static struct libdeflate_compressor *take_compressor(void) {
  struct libdeflate_compressor *c = NULL;
  pthread_mutex_lock(&pool_lock);
  if (pool_len) c = pool[--pool_len];
  pthread_mutex_unlock(&pool_lock);
  return c ? c : libdeflate_alloc_compressor(LF__WARC_LEVEL);
}

static void give_compressor(struct libdeflate_compressor *c) {
  pthread_mutex_lock(&pool_lock);
  if (pool_len < POOL_MAX) {
    pool[pool_len++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pool_lock);
  if (c) libdeflate_free_compressor(c);
}

/* An unnamed file beside the WARC file (same file system: copy_file_range can move it). */
static int spool_open(int dirfd) {
#ifdef O_TMPFILE
  int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  /* No O_TMPFILE here: a named file, unlinked at once (a crash in between leaves it). */
  char name[64];
  for (int i = 0; i < 100; i++) {
    unsigned r = 0;
    for (size_t k = 0; k < sizeof(r); k++)
      r = r << 8 | (unsigned)(rand() & 0xff);
    snprintf(name, sizeof(name), ".lf-warc-%ld-%08x.spool", (long)getpid(), r);
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      unlinkat(dirfd, name, 0);
      return fd;
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

static int grow(char **p, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 16384;
  while (c < need)
    c *= 2;
  char *q = realloc(*p, c);
  if (!q) return LF_ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

/* zlib's output goes to memory, or to the spool once memory would pass the limit. */
static int emit(lf__warc_body_t *b, const char *p, size_t n) {
  if (n == 0) return 0; /* nothing to copy (and b->out may not exist yet: memcpy to NULL) */
  if (b->spool_fd < 0 && b->out_len + n > LF__WARC_MEM_MAX) {
    int fd = spool_open(b->spool_dirfd);
    if (fd < 0) return fd;
    b->spool_fd = fd;
    int rc = write_all(fd, b->out, b->out_len);
    if (rc < 0) return rc;
    b->spool_len = b->out_len;
    b->out_len = 0;
  }
  if (b->spool_fd >= 0) {
    int rc = write_all(b->spool_fd, p, n);
    if (rc == 0) b->spool_len += n;
    return rc;
  }
  int rc = grow(&b->out, &b->out_cap, b->out_len + n);
  if (rc < 0) return rc;
  memcpy(b->out + b->out_len, p, n);
  b->out_len += n;
  return 0;
}

static void raw_release(lf__warc_body_t *b) {
  atomic_fetch_sub(&raw_total, b->raw_cap);
  free(b->raw);
  b->raw = NULL;
  b->raw_len = b->raw_cap = 0;
}

/* Keeps the bytes as received: in memory while small, then in the raw spool. */
static int keep(lf__warc_body_t *b, const char *data, size_t len) {
  if (b->raw_fd < 0) {
    size_t need = b->raw_len + len;
    if (need <= LF__WARC_RAW_MAX) {
      size_t old = b->raw_cap;
      size_t want = need <= old ? old : old ? old * 2 : 16384;
      while (want < need)
        want *= 2;
      if (want > LF__WARC_RAW_MAX) want = LF__WARC_RAW_MAX;
      /* within the process-wide budget, or not in memory at all */
      if (want == old ||
          atomic_fetch_add(&raw_total, want - old) + (want - old) <= LF__WARC_RAW_TOTAL) {
        if (want != old) {
          char *q = realloc(b->raw, want);
          if (!q) {
            atomic_fetch_sub(&raw_total, want - old);
            return LF_ENOMEM;
          }
          b->raw = q;
          b->raw_cap = want;
        }
        memcpy(b->raw + b->raw_len, data, len);
        b->raw_len += len;
        return 0;
      }
      atomic_fetch_sub(&raw_total, want - old);
    }
    int fd = spool_open(b->spool_dirfd); /* too large (or too many): to the file */
    if (fd < 0) return fd;
    b->raw_fd = fd;
    int rc = write_all(fd, b->raw, b->raw_len);
    if (rc < 0) return rc;
    raw_release(b);
  }
  return write_all(b->raw_fd, data, len);
}

int lf__warc_body_init(lf__warc_body_t *b, int compress, int spool_dirfd, char *head,
                       size_t head_len) {
  memset(b, 0, sizeof(*b));
  b->spool_fd = b->raw_fd = -1;
  b->spool_dirfd = spool_dirfd;
  b->compress = compress;
  b->head = head;
  b->head_len = head_len;
  b->crc = 0; /* libdeflate_crc32 starts at 0 (56 MB: 8 ms, zlib 1.2.13 22 ms, same values) */
  b->block_sha = EVP_MD_CTX_new();
  b->payload_sha = EVP_MD_CTX_new();
  if (!b->block_sha || !b->payload_sha || !EVP_DigestInit_ex(b->block_sha, EVP_sha1(), NULL) ||
      !EVP_DigestInit_ex(b->payload_sha, EVP_sha1(), NULL) ||
      !EVP_DigestUpdate(b->block_sha, head, head_len))
    return b->err = LF_ENOMEM;
  return 0;
}

int lf__warc_body_add(lf__warc_body_t *b, const char *data, size_t len) {
  if (b->err) return b->err;
  if (!len) return 0;
  if (b->ended) return b->err = LF_EINVAL;
  if (!EVP_DigestUpdate(b->block_sha, data, len) || !EVP_DigestUpdate(b->payload_sha, data, len))
    return b->err = LF_ENOMEM;
  b->body_len += len;
  b->crc = libdeflate_crc32(b->crc, data, len);
  int rc = keep(b, data, len);
  return rc < 0 ? (b->err = rc) : 0;
}

void lf__warc_sha1(const void *data, size_t len, char out[LF__WARC_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) || n != 20) memset(md, 0, 20);
  lf__warc_sha1_text(md, out);
}

static int digest_text(void *ctx, char out[LF__WARC_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 20) return LF_ENOMEM;
  lf__warc_sha1_text(md, out);
  return 0;
}

/* A body held in memory: libdeflate, in one call. */
static int compress_memory(lf__warc_body_t *b) {
  struct libdeflate_compressor *c = take_compressor();
  if (!c) return LF_ENOMEM;
  size_t bound = libdeflate_deflate_compress_bound(c, b->raw_len);
  int rc = grow(&b->out, &b->out_cap, bound);
  if (rc == 0) {
    b->out_len = libdeflate_deflate_compress(c, b->raw, b->raw_len, b->out, bound);
    if (b->out_len == 0) rc = LF_ENOMEM; /* cannot happen within the bound */
  }
  give_compressor(c);
  return rc;
}

/* A body in the raw spool: zlib's streaming deflate from the file, its state only for now. */
static int compress_spool(lf__warc_body_t *b) {
  z_stream z = {0};
  if (deflateInit2(&z, LF__WARC_LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return LF_ENOMEM;
  static const size_t chunk = 256 * 1024;
  char *in = malloc(chunk), *out = malloc(chunk);
  int rc = in && out ? 0 : LF_ENOMEM;
  off_t at = 0;
  int flush = Z_NO_FLUSH;
  while (rc == 0 && flush != Z_FINISH) {
    ssize_t n = pread(b->raw_fd, in, chunk, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    at += n;
    if (n == 0) flush = Z_FINISH;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    do {
      z.next_out = (Bytef *)out;
      z.avail_out = (uInt)chunk;
      if (deflate(&z, flush) == Z_STREAM_ERROR) rc = LF_ENOMEM;
      if (rc == 0) rc = emit(b, out, chunk - z.avail_out);
    } while (rc == 0 && (z.avail_in > 0 || z.avail_out == 0));
  }
  deflateEnd(&z);
  free(in);
  free(out);
  return rc;
}

int lf__warc_body_end(lf__warc_body_t *b) {
  if (b->err) return b->err;
  if (b->ended) return 0;
  b->ended = 1;
  int rc = digest_text(b->block_sha, b->block_digest);
  if (rc == 0) rc = digest_text(b->payload_sha, b->payload_digest);
  b->crc = libdeflate_crc32(b->crc, "\r\n\r\n", 4);
  if (rc == 0) rc = keep(b, "\r\n\r\n", 4); /* the record's end: in the compressed stream too */
  if (rc == 0 && !b->compress) {            /* stored as it is: the kept bytes are the output */
    if (b->raw_fd >= 0) {
      b->spool_fd = b->raw_fd;
      b->spool_len = b->body_len + 4;
      b->raw_fd = -1;
    } else {
      rc = emit(b, b->raw, b->raw_len);
    }
  } else if (rc == 0) {
    rc = b->raw_fd >= 0 ? compress_spool(b) : compress_memory(b);
  }
  raw_release(b);
  return rc < 0 ? (b->err = rc) : 0;
}

void lf__warc_body_free(lf__warc_body_t *b) {
  raw_release(b);
  EVP_MD_CTX_free(b->block_sha);
  EVP_MD_CTX_free(b->payload_sha);
  if (b->spool_fd >= 0) close(b->spool_fd);
  if (b->raw_fd >= 0) close(b->raw_fd);
  free(b->out);
  free(b->head);
  memset(b, 0, sizeof(*b));
  b->spool_fd = b->raw_fd = -1;
}
