/* The partition of a link list into N shards, shared by --procs (one shard per worker) and
 * --shard K/N (one shard per machine). A URL's shard depends on the URL alone, not on its
 * position, so N machines that each fetch the list page agree even if the order differs. */
#ifndef LF_SHARD_H
#define LF_SHARD_H

#include <stdint.h>

/* FNV-1a 64-bit hash of url, mixed by MurmurHash3's finaliser, modulo n: 0 .. n-1. n >= 1. */
unsigned lf__shard_of(const char *url, unsigned n);

#define LF_SHARD_MAX 65536 /* the largest N */

/* Parses "K/N" (1 <= K <= N <= LF_SHARD_MAX). Returns 0, or -1 if malformed. k is 1-based. */
int lf__shard_parse(const char *text, unsigned *k, unsigned *n);

#endif
