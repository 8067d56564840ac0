/* The set of names a job has handed out (lf__names_unique, rule in names.c).
 *
 * It holds every name of the job, so it is the one part of the program whose memory grows
 * with the URL list. It keeps what collision detection needs, not the names: the 64-bit hash
 * of each name (names.h: lf__hash64), 8 bytes a name at a million names instead of ~40.
 *  - New hashes go into a small open-addressing table (lf__hmap_t); when it holds RECENT_MAX,
 *    they are sorted and merged into one sorted array of all older hashes. The array grows by
 *    realloc (an mremap for large blocks: no copy and no second array at once) and the merge
 *    runs backwards in place, so the peak is 8 bytes per name plus the small table, without
 *    the doubling a growing hash table costs when it moves.
 *  - Lookups in the sorted array interpolate: hashes are uniform, so the first guess lands
 *    within a few hundred slots and a short binary search finishes.
 *  - The next N to try for a name asked for again lives in a second map, only for names that
 *    collided.
 *
 * Two different names with the same 64-bit hash would look like one: for a million names the
 * odds that any pair does are about 3e-8 (n^2 / 2^65). It is accepted, and harmless for
 * correctness: a name is handed out only when its hash is not in the set, so two handed-out
 * names never share a hash and are never equal. The cost of a false match is a "~2" that was
 * not needed, the same in every run, mode and shard (the hash is fixed). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "loopfetch.h"
#include "names.h"

/* 64 x 64 -> 128-bit product for the interpolation (GCC and clang; __extension__: not ISO C). */
__extension__ typedef unsigned __int128 lf__u128_t;

#define RECENT_MAX 16384 /* hashes in the small table before a merge (its table: 384 KiB) */

struct lf__names_s {
  lf__hmap_t recent; /* hashes since the last merge (values unused) */
  uint64_t *sorted;  /* every older hash, ascending */
  size_t count;
  lf__hmap_t next; /* hash of a requested name -> the next N to try for its "~N" variant */
};

/* Never 0: the small table stores 0 as 1, so the sorted array must see the same value. */
static uint64_t name_hash(const char *name, size_t len) {
  uint64_t h = lf__hash64(name, len);
  return h + !h;
}

int lf__names_new(lf__names_t **out) {
  if (!out) return LF_EINVAL;
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : LF_ENOMEM;
}

/* Whether h is in the sorted array: a guess from h's value, then binary search on a window
 * that doubles until it holds h's place. */
static int in_sorted(const lf__names_t *s, uint64_t h) {
  size_t n = s->count;
  if (!n) return 0;
  size_t guess = (size_t)(((lf__u128_t)h * n) >> 64), lo = guess, hi = guess + 1, step = 64;
  while (lo > 0 && s->sorted[lo] > h) {
    lo = lo > step ? lo - step : 0;
    step *= 2;
  }
  step = 64;
  while (hi < n && s->sorted[hi - 1] < h) {
    hi = n - hi > step ? hi + step : n;
    step *= 2;
  }
  while (lo < hi) { /* first index in [lo, hi) whose value >= h */
    size_t mid = lo + (hi - lo) / 2;
    if (s->sorted[mid] < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && s->sorted[lo] == h;
}

static int has(const lf__names_t *s, uint64_t h) {
  return lf__hmap_get(&s->recent, h) != NULL || in_sorted(s, h);
}

static int ascending(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  uint64_t *keys;
  size_t n;
} collect_t;

static void collect(void *arg, uint64_t key, uint32_t *val) {
  collect_t *c = arg;
  (void)val;
  c->keys[c->n++] = key;
}

/* Moves the recent hashes into the sorted array. */
static int merge(lf__names_t *s) {
  size_t m = s->recent.count, n = s->count;
  uint64_t *big = realloc(s->sorted, (n + m) * sizeof(*big));
  collect_t c = {malloc(m * sizeof(uint64_t)), 0};
  if (big) s->sorted = big;
  if (!big || !c.keys) {
    free(c.keys);
    return LF_ENOMEM;
  }
  lf__hmap_each(&s->recent, collect, &c);
  qsort(c.keys, m, sizeof(uint64_t), ascending);
  for (size_t k = n + m; m > 0;) /* backwards, so nothing is overwritten before it moved */
    big[--k] = n > 0 && big[n - 1] > c.keys[m - 1] ? big[--n] : c.keys[--m];
  s->count += c.n;
  free(c.keys);
  lf__hmap_free(&s->recent);
  return 0;
}

/* Records h (known to be absent). */
static int add(lf__names_t *s, uint64_t h) {
  int added;
  if (!lf__hmap_put(&s->recent, h, 0, &added)) return LF_ENOMEM;
  return s->recent.count >= RECENT_MAX ? merge(s) : 0;
}

int lf__names_unique(lf__names_t *names, const char *name, char *out, size_t outlen) {
  char want[LF_NAME_MAX + 1], cand[LF_NAME_MAX + 1];
  if (!names || !name || !out || outlen < LF_NAME_MAX + 1) return LF_EINVAL;
  size_t len = strnlen(name, LF_NAME_MAX + 1);
  if (len == 0 || len > LF_NAME_MAX) return LF_EINVAL;
  memcpy(want, name, len + 1); /* out may alias name */
  uint64_t h = name_hash(want, len);
  int err;
  if (!has(names, h)) {
    if ((err = add(names, h)) != 0) return err;
    memcpy(out, want, len + 1);
    return 0;
  }
  /* Every N below the remembered one was taken before, and names are never removed. */
  int added;
  uint32_t *next = lf__hmap_put(&names->next, h, 2, &added);
  if (!next) return LF_ENOMEM;
  unsigned long n = *next;
  uint64_t hc;
  for (;; n++) {
    lf__name_variant(want, len, n, cand);
    hc = name_hash(cand, strlen(cand));
    if (!has(names, hc)) break;
  }
  if ((err = add(names, hc)) != 0) return err;
  /* Past UINT32_MAX variants of one name the search just starts lower again: slower, never
   * wrong. */
  *lf__hmap_get(&names->next, h) = n + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(n + 1);
  memcpy(out, cand, strlen(cand) + 1);
  return 0;
}

void lf__names_free(lf__names_t *names) {
  if (!names) return;
  lf__hmap_free(&names->recent);
  lf__hmap_free(&names->next);
  free(names->sorted);
  free(names);
}
