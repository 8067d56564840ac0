/* The set of names a job has handed out (lf__names_unique, rule in names.c).
 *
 * It holds every name of the job, so it is the one part of the program whose memory grows
 * with the URL list. It keeps what collision detection needs, not the names: the 64-bit hash
 * of each name (lf__hash64), in 6 bytes a name instead of ~40.
 *  - New hashes go into a small open-addressing table (lf__hmap_t); when it holds RECENT_MAX,
 *    they are sorted and merged into one sorted array of all older hashes. The array grows by
 *    realloc (an mremap for large blocks: no copy and no second array at once) and the merge
 *    runs backwards in place, so the peak is the array plus the small table, without the
 *    doubling a growing hash table costs when it moves.
 *  - The array is cut into 65,536 buckets by the hash's top 16 bits; a bucket's start index
 *    says them, so each entry keeps only the low 48 bits: 6 bytes, the whole 64-bit hash still
 *    compared. A lookup searches one bucket (about 15 entries at a million names).
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

#define RECENT_MAX 16384 /* hashes in the small table before a merge (its table: 384 KiB) */

#define TOP_SHIFT 48 /* a hash's bucket: its top 16 bits */
#define BUCKETS (1u << (64 - TOP_SHIFT))
#define LOW_BYTES 6 /* what an entry keeps: the low 48 bits */
#define LOW_MASK ((UINT64_C(1) << TOP_SHIFT) - 1)

struct lf__names_s {
  lf__hmap_t recent;  /* hashes since the last merge (values unused) */
  unsigned char *low; /* every older hash's low 48 bits, ascending within its bucket */
  uint32_t *start;    /* BUCKETS + 1: bucket b holds entries start[b] .. start[b + 1] - 1 */
  size_t count;
  lf__hmap_t next; /* hash of a requested name -> the next N to try for its "~N" variant */
};

/* Entries are written byte by byte: the same on every host. */
static uint64_t get_low(const unsigned char *a, size_t i) {
  uint64_t v = 0;
  for (int k = LOW_BYTES - 1; k >= 0; k--)
    v = v << 8 | a[i * LOW_BYTES + (size_t)k];
  return v;
}

static void put_low(unsigned char *a, size_t i, uint64_t v) {
  for (int k = 0; k < LOW_BYTES; k++, v >>= 8)
    a[i * LOW_BYTES + (size_t)k] = (unsigned char)v;
}

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

/* Whether h is in the sorted array: a binary search in its bucket. */
static int in_sorted(const lf__names_t *s, uint64_t h) {
  if (!s->count) return 0;
  size_t b = (size_t)(h >> TOP_SHIFT), lo = s->start[b], hi = s->start[b + 1];
  uint64_t want = h & LOW_MASK;
  while (lo < hi) { /* first index in [lo, hi) whose value >= want */
    size_t mid = lo + (hi - lo) / 2;
    if (get_low(s->low, mid) < want)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->start[b + 1] && get_low(s->low, lo) == want;
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
  if (n + m > UINT32_MAX) return LF_ENOMEM; /* start[] holds 32-bit indexes */
  if (!s->start && !(s->start = calloc(BUCKETS + 1, sizeof(*s->start)))) return LF_ENOMEM;
  unsigned char *low = realloc(s->low, (n + m) * LOW_BYTES);
  collect_t c = {malloc(m * sizeof(uint64_t)), 0};
  if (low) s->low = low;
  if (!low || !c.keys) {
    free(c.keys);
    return LF_ENOMEM;
  }
  lf__hmap_each(&s->recent, collect, &c);
  qsort(c.keys, m, sizeof(uint64_t), ascending);
  /* Backwards, so nothing is overwritten before it moved; an old entry's top bits are those
   * of the bucket it is in. */
  size_t b = BUCKETS - 1;
  for (size_t k = n + m; m > 0;) {
    while (n > 0 && b > 0 && s->start[b] > n - 1)
      b--;
    uint64_t old = n > 0 ? (uint64_t)b << TOP_SHIFT | get_low(low, n - 1) : 0;
    if (n > 0 && old > c.keys[m - 1])
      put_low(low, --k, get_low(low, --n));
    else
      put_low(low, --k, c.keys[--m] & LOW_MASK);
  }
  /* A bucket now starts later by the number of new hashes in the buckets before it. */
  size_t before = 0;
  for (b = 0; b <= BUCKETS; b++) {
    while (before < c.n && (c.keys[before] >> TOP_SHIFT) < b)
      before++;
    s->start[b] += (uint32_t)before;
  }
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

int lf__names_add_key(lf__names_t *set, uint64_t key) {
  if (!set) return LF_EINVAL;
  key += !key; /* as name_hash: 0 is stored as 1 */
  if (has(set, key)) return 0;
  int err = add(set, key);
  return err ? err : 1;
}

void lf__names_free(lf__names_t *names) {
  if (!names) return;
  lf__hmap_free(&names->recent);
  lf__hmap_free(&names->next);
  free(names->low);
  free(names->start);
  free(names);
}
