/* Open addressing, linear probing, at most 3/4 full; keys and values in two arrays so a probe
 * touches only keys. */
#include "hmap.h"

#include <stdlib.h>

#define LF__HMAP_MIN 64

uint64_t lf__fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* FNV-1a's low bits follow the last bytes closely; the MurmurHash3 finaliser spreads them. */
uint64_t lf__mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t lf__hash64(const void *data, size_t n) {
  return lf__mix64(lf__fnv1a(LF__FNV1A_INIT, data, n));
}

static size_t find(const uint64_t *keys, size_t cap, uint64_t key) {
  size_t i = (size_t)key & (cap - 1);
  while (keys[i] && keys[i] != key)
    i = (i + 1) & (cap - 1);
  return i;
}

uint32_t *lf__hmap_get(const lf__hmap_t *m, uint64_t key) {
  if (!m->cap) return NULL;
  key += !key;
  size_t i = find(m->keys, m->cap, key);
  return m->keys[i] ? &m->vals[i] : NULL;
}

static int grow(lf__hmap_t *m) {
  size_t cap = m->cap ? m->cap * 2 : LF__HMAP_MIN;
  if (cap > SIZE_MAX / sizeof(uint64_t)) return -1;
  uint64_t *keys = calloc(cap, sizeof(*keys));
  uint32_t *vals = malloc(cap * sizeof(*vals));
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = find(keys, cap, m->keys[i]);
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return 0;
}

uint32_t *lf__hmap_put(lf__hmap_t *m, uint64_t key, uint32_t val, int *added) {
  key += !key;
  *added = 0;
  if (m->cap) {
    size_t i = find(m->keys, m->cap, key);
    if (m->keys[i]) return &m->vals[i];
  }
  if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0) return NULL;
  size_t i = find(m->keys, m->cap, key);
  m->keys[i] = key;
  m->vals[i] = val;
  m->count++;
  *added = 1;
  return &m->vals[i];
}

void lf__hmap_each(const lf__hmap_t *m, void (*fn)(void *arg, uint64_t key, uint32_t *val),
                   void *arg) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) fn(arg, m->keys[i], &m->vals[i]);
}

void lf__hmap_free(lf__hmap_t *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->count = 0;
}
