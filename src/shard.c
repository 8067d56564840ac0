/* Shards: a stable hash of the URL picks its shard. */
#include <errno.h>
#include <stdlib.h>
#include "shard.h"

/* FNV-1a alone is a poor partition for small N: its multiplier is odd, so the hash's low bit
 * is the parity of the low bits of the URL's bytes, and mod 2 (or 4, 8…) splits URLs that differ
 * in a pattern (/d/301/t1, /d/302/t2…) all into one shard. MurmurHash3's 64-bit finaliser mixes
 * every bit of the FNV state into the low bits before the modulo. */
static uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

unsigned lf__shard_of(const char *url, unsigned n) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: simple, stable across platforms */
  for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return (unsigned)(mix64(h) % n);
}

static int parse_part(const char *s, char **end, unsigned long *out) {
  if (*s < '0' || *s > '9') return -1;
  errno = 0;
  *out = strtoul(s, end, 10);
  return errno ? -1 : 0;
}

int lf__shard_parse(const char *text, unsigned *k, unsigned *n) {
  char *end;
  unsigned long kk, nn;
  if (!text || parse_part(text, &end, &kk) < 0 || *end != '/') return -1;
  if (parse_part(end + 1, &end, &nn) < 0 || *end) return -1;
  if (nn < 1 || nn > 65536 || kk < 1 || kk > nn) return -1;
  *k = (unsigned)kk;
  *n = (unsigned)nn;
  return 0;
}
