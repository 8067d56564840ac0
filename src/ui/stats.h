/* Latency statistics in fixed memory: a log-scale histogram whose buckets are 2% wide, so any
 * percentile is known within 1% of its true value, whatever the number of samples. Covers 1 µs
 * to 1 hour; smaller values count in the first bucket, larger ones in the last (min and max
 * stay exact, and percentiles are clamped to them). */
#ifndef LF_STATS_H
#define LF_STATS_H

#include <stdint.h>

#define LF__STATS_MIN 1e-6     /* seconds: lower edge of the first regular bucket */
#define LF__STATS_MAX 3600.0   /* seconds: upper edge of the last regular bucket */
#define LF__STATS_BUCKETS 1104 /* ceil(log(MAX / MIN) / log(GAMMA)) + 2 (under and overflow) */

typedef struct lf__stats_s {
  uint64_t count;
  double sum, min, max; /* min and max are meaningful only when count > 0 */
  uint64_t buckets[LF__STATS_BUCKETS];
} lf__stats_t;

void lf__stats_init(lf__stats_t *s);

/* The same on the heap (~9 kB), for holders that only forward-declare struct lf__stats_s.
 * lf__stats_new returns 0 or LF_ENOMEM; lf__stats_free accepts NULL. */
int lf__stats_new(lf__stats_t **out);
void lf__stats_free(lf__stats_t *s);

/* Counts one sample. Negative values count as 0; NaN is ignored. */
void lf__stats_add(lf__stats_t *s, double seconds);

/* Adds b's samples to a (as if every sample of b had been added to a). */
void lf__stats_merge(lf__stats_t *a, const lf__stats_t *b);

/* The p-th percentile (p from 0 to 100, nearest rank) within 1% relative error; p <= 0 gives
 * the minimum and p >= 100 the maximum. 0 when there are no samples. */
double lf__stats_percentile(const lf__stats_t *s, double p);

uint64_t lf__stats_count(const lf__stats_t *s);
double lf__stats_min(const lf__stats_t *s);  /* 0 when empty */
double lf__stats_max(const lf__stats_t *s);  /* 0 when empty */
double lf__stats_mean(const lf__stats_t *s); /* 0 when empty */

#endif
