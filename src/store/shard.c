/* Shards: a stable hash of the URL picks its shard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "shard.h"

/* FNV-1a alone is a poor partition for small N: its multiplier is odd, so the hash's low bit
 * is the parity of the low bits of the URL's bytes, and mod 2 (or 4, 8…) splits URLs that differ
 * in a pattern (/d/301/t1, /d/302/t2…) all into one shard. lf__hash64 (hmap.c) mixes every bit
 * of the FNV state into the low bits with MurmurHash3's 64-bit finaliser before the modulo. */
unsigned lf__shard_of(const char *url, unsigned n) {
  return (unsigned)(lf__hash64(url, strlen(url)) % n);
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
  if (nn < 1 || nn > LF_SHARD_MAX || kk < 1 || kk > nn) return -1;
  *k = (unsigned)kk;
  *n = (unsigned)nn;
  return 0;
}
