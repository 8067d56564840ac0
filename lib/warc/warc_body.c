/* A record's block as it streams: digested (SHA-1 over the block and over the payload) and
 * compressed as the bytes come (raw deflate, so that warc_file.c can put the record's header in
 * front of it in one gzip member). Runs on libuv's thread pool, one call at a time per body, so
 * a page's compression overlaps the other pages still arriving instead of waiting for its end.
 *
 * Which compressor (bench/RESULTS.md, "Issue 23": 56 MB of records of workload A, CPU):
 * ISA-L's igzip at level 1 0.14 s, libdeflate at level 1 0.24 s, zlib at level 1 0.50-0.56 s;
 * the output 4 % larger than libdeflate's. libdeflate only compresses whole buffers, so with it
 * every body had to be held (or spooled) until its end and compressed then, in one burst per
 * page; igzip streams, with a state of ~170 KB (isal_zstream and a level-1 buffer of
 * ISAL_DEF_LVL1_SMALL: the larger ones are no faster here), taken only while a body streams
 * and kept for the next one (no mmap and page faults per body). zlib's streaming state is
 * 256 KiB and 2-4 x slower. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "warc.h"

#define LF__WARC_MEM_MAX (256 * 1024) /* output in memory, then spooled */
#define LF__WARC_LEVEL 1 /* the fastest but one: level 0 is as fast here and 9 % larger */
#define LF__WARC_LEVEL_BUF ISAL_DEF_LVL1_SMALL
#define LF__WARC_PIECE (1u << 30) /* avail_in is 32 bits */

/* A compressor: igzip's stream and its level buffer, one allocation. */
typedef struct {
  struct isal_zstream z;
  uint8_t level_buf[LF__WARC_LEVEL_BUF];
} zstate_t;

/* Compressors kept for reuse: one per body streaming at a time, at most this many kept. */
#define POOL_MAX 16
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static zstate_t *pool[POOL_MAX];
static int pool_len;

static zstate_t *take_compressor(void) {
  zstate_t *c = NULL;
  pthread_mutex_lock(&pool_lock);
  if (pool_len) c = pool[--pool_len];
  pthread_mutex_unlock(&pool_lock);
  if (!c && !(c = malloc(sizeof(*c)))) return NULL;
  isal_deflate_init(&c->z); /* raw deflate (gzip_flag 0), no flush until the end */
  c->z.level = LF__WARC_LEVEL;
  c->z.level_buf = c->level_buf;
  c->z.level_buf_size = sizeof(c->level_buf);
  c->z.flush = NO_FLUSH;
  return c;
}

static void give_compressor(zstate_t *c) {
  if (!c) return;
  pthread_mutex_lock(&pool_lock);
  if (pool_len < POOL_MAX) {
    pool[pool_len++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pool_lock);
  free(c);
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

/* Output buffers of LF__WARC_MEM_MAX kept for reuse (under pool_lock): a body's output grows
 * into one of them from its first LF__WARC_OUT_SMALL, instead of into fresh memory each time
 * (its page faults, and the TLB shootdowns of its release, cost more than the copying). */
#define LF__WARC_OUT_SMALL (64 * 1024)
static char *outs[POOL_MAX];
static int outs_len;

static int out_grow(lf__warc_body_t *b, size_t need) {
  if (need <= b->out_cap) return 0;
  if (need <= LF__WARC_OUT_SMALL) return grow(&b->out, &b->out_cap, need);
  char *q = NULL;
  pthread_mutex_lock(&pool_lock);
  if (outs_len) q = outs[--outs_len];
  pthread_mutex_unlock(&pool_lock);
  if (!q && !(q = malloc(LF__WARC_MEM_MAX))) return LF_ENOMEM;
  if (b->out_len) memcpy(q, b->out, b->out_len);
  free(b->out);
  b->out = q;
  b->out_cap = LF__WARC_MEM_MAX;
  return 0;
}

static void out_release(lf__warc_body_t *b) {
  if (b->out && b->out_cap == LF__WARC_MEM_MAX) {
    pthread_mutex_lock(&pool_lock);
    if (outs_len < POOL_MAX) {
      outs[outs_len++] = b->out;
      b->out = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
  }
  free(b->out);
  b->out = NULL;
  b->out_len = b->out_cap = 0;
}

/* The output goes to memory, or to the spool once memory would pass the limit. */
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
  int rc = out_grow(b, b->out_len + n);
  if (rc < 0) return rc;
  memcpy(b->out + b->out_len, p, n);
  b->out_len += n;
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
  b->crc = 0; /* crc32_gzip_refl starts at 0 (56 MB: 5 ms, zlib 1.2.13's crc32 22 ms) */
  b->block_sha = EVP_MD_CTX_new();
  b->payload_sha = EVP_MD_CTX_new();
  if (!b->block_sha || !b->payload_sha || !EVP_DigestInit_ex(b->block_sha, EVP_sha1(), NULL) ||
      !EVP_DigestInit_ex(b->payload_sha, EVP_sha1(), NULL) ||
      !EVP_DigestUpdate(b->block_sha, head, head_len))
    return b->err = LF_ENOMEM;
  return 0;
}

/* Compresses data into the output; end: the stream's last piece (its final block). */
static int deflate_some(lf__warc_body_t *b, const char *data, size_t len, int end) {
  zstate_t *c = b->z;
  if (!c && !(c = b->z = take_compressor())) return LF_ENOMEM;
  struct isal_zstream *z = &c->z;
  unsigned char buf[32768];
  do {
    size_t n = len < LF__WARC_PIECE ? len : LF__WARC_PIECE;
    z->next_in = (uint8_t *)(uintptr_t)data;
    z->avail_in = (uint32_t)n;
    z->end_of_stream = end && n == len;
    data += n;
    len -= n;
    do {
      z->next_out = buf;
      z->avail_out = sizeof(buf);
      if (isal_deflate(z) != COMP_OK) return LF_ENOMEM; /* only for a misused stream */
      int rc = emit(b, (const char *)buf, sizeof(buf) - z->avail_out);
      if (rc < 0) return rc;
    } while (z->avail_in > 0 || z->avail_out == 0 ||
             (z->end_of_stream && z->internal_state.state != ZSTATE_END));
  } while (len > 0);
  return 0;
}

int lf__warc_body_add(lf__warc_body_t *b, const char *data, size_t len) {
  if (b->err) return b->err;
  if (!len) return 0;
  if (b->ended) return b->err = LF_EINVAL;
  if (!EVP_DigestUpdate(b->block_sha, data, len) || !EVP_DigestUpdate(b->payload_sha, data, len))
    return b->err = LF_ENOMEM;
  b->body_len += len;
  b->crc = crc32_gzip_refl(b->crc, (const unsigned char *)data, len);
  int rc = b->compress ? deflate_some(b, data, len, 0) : emit(b, data, len);
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

int lf__warc_body_end(lf__warc_body_t *b) {
  if (b->err) return b->err;
  if (b->ended) return 0;
  b->ended = 1;
  int rc = digest_text(b->block_sha, b->block_digest);
  if (rc == 0) rc = digest_text(b->payload_sha, b->payload_digest);
  b->crc = crc32_gzip_refl(b->crc, (const unsigned char *)"\r\n\r\n", 4);
  /* the record's end: in the compressed stream too, which ends with it */
  if (rc == 0) rc = b->compress ? deflate_some(b, "\r\n\r\n", 4, 1) : emit(b, "\r\n\r\n", 4);
  give_compressor(b->z); /* for the next body: this one's stream is over */
  b->z = NULL;
  return rc < 0 ? (b->err = rc) : 0;
}

void lf__warc_body_free(lf__warc_body_t *b) {
  free(b->z); /* a stream cut short: its state is not reused */
  EVP_MD_CTX_free(b->block_sha);
  EVP_MD_CTX_free(b->payload_sha);
  if (b->spool_fd >= 0) close(b->spool_fd);
  out_release(b);
  free(b->head);
  memset(b, 0, sizeof(*b));
  b->spool_fd = -1;
}
