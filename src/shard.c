/* Shards: a stable hash of the URL picks its shard. */
#include <errno.h>
#include <stdlib.h>
#include "shard.h"

unsigned lf__shard_of(const char *url, unsigned n) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: simple, stable across platforms */
  for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return (unsigned)(h % n);
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
