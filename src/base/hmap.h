/* A map from 64-bit keys (hashes) to 32-bit values, for sets as large as a job's URL list: 12
 * bytes a slot, no allocation per entry, no removal. Used by the name set's counters and by
 * `loopfetch status`. */
#ifndef LF_HMAP_H
#define LF_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t *keys; /* 0: empty slot; a key of 0 is stored as 1, so 0 and 1 are one key */
  uint32_t *vals;
  size_t cap; /* a power of two, or 0 before the first put */
  size_t count;
} lf__hmap_t;

/* A well-mixed 64-bit hash of n bytes (FNV-1a, then a finaliser so low bits are good too). */
uint64_t lf__hash64(const void *data, size_t n);

/* lf__hash64 in steps, for text that arrives in pieces: h = LF__FNV1A_INIT, then
 * h = lf__fnv1a(h, piece, len) for each piece, then lf__mix64(h). */
#define LF__FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t lf__fnv1a(uint64_t h, const void *data, size_t n);
uint64_t lf__mix64(uint64_t h);

/* The value slot of key, or NULL if absent. */
uint32_t *lf__hmap_get(const lf__hmap_t *m, uint64_t key);
/* The value slot of key, added with value val if absent (*added = 1). NULL: out of memory. */
uint32_t *lf__hmap_put(lf__hmap_t *m, uint64_t key, uint32_t val, int *added);
/* Calls fn for every entry, in no particular order. */
void lf__hmap_each(const lf__hmap_t *m, void (*fn)(void *arg, uint64_t key, uint32_t *val),
                   void *arg);
void lf__hmap_free(lf__hmap_t *m); /* leaves it empty and usable */

#endif
