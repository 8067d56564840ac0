/* Log-scale latency histogram (the DDSketch layout with fixed bounds). Regular bucket i holds
 * (MIN * GAMMA^(i-1), MIN * GAMMA^i]; reporting 2 * MIN * GAMMA^i / (GAMMA + 1) for it is off
 * by at most ALPHA relative to anything inside. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"
#include "stats.h"

#define ALPHA 0.01
#define GAMMA ((1.0 + ALPHA) / (1.0 - ALPHA))
#define UNDER 0                      /* x < MIN */
#define OVER (LF__STATS_BUCKETS - 1) /* x > MAX */
#define REGULAR (LF__STATS_BUCKETS - 2)

void lf__stats_init(lf__stats_t *s) {
  memset(s, 0, sizeof(*s));
}

int lf__stats_new(lf__stats_t **out) {
  *out = calloc(1, sizeof(**out)); /* all zero: an empty histogram */
  return *out ? 0 : LF_ENOMEM;
}

void lf__stats_free(lf__stats_t *s) {
  free(s);
}

static int bucket_of(double x) {
  if (x < LF__STATS_MIN) return UNDER;
  if (x > LF__STATS_MAX) return OVER;
  double i = ceil(log(x / LF__STATS_MIN) / log(GAMMA));
  if (i < 0) i = 0; /* rounding at the edges */
  if (i > REGULAR - 1) i = REGULAR - 1;
  return 1 + (int)i;
}

static double bucket_value(const lf__stats_t *s, int b) {
  if (b == UNDER) return s->min;
  if (b == OVER) return s->max;
  return 2.0 * LF__STATS_MIN * pow(GAMMA, b - 1) / (GAMMA + 1.0);
}

void lf__stats_add(lf__stats_t *s, double seconds) {
  if (isnan(seconds)) return;
  if (seconds < 0) seconds = 0;
  if (s->count == 0 || seconds < s->min) s->min = seconds;
  if (s->count == 0 || seconds > s->max) s->max = seconds;
  s->count++;
  s->sum += seconds;
  s->buckets[bucket_of(seconds)]++;
}

void lf__stats_merge(lf__stats_t *a, const lf__stats_t *b) {
  if (b->count == 0) return;
  if (a->count == 0 || b->min < a->min) a->min = b->min;
  if (a->count == 0 || b->max > a->max) a->max = b->max;
  a->count += b->count;
  a->sum += b->sum;
  for (int i = 0; i < LF__STATS_BUCKETS; i++)
    a->buckets[i] += b->buckets[i];
}

double lf__stats_percentile(const lf__stats_t *s, double p) {
  if (s->count == 0) return 0;
  if (!(p > 0)) return s->min; /* also NaN */
  if (p >= 100) return s->max;
  /* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
  uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)s->count);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  int b = 0;
  for (; b < LF__STATS_BUCKETS - 1; b++) {
    seen += s->buckets[b];
    if (seen >= rank) break;
  }
  double v = bucket_value(s, b);
  return v < s->min ? s->min : v > s->max ? s->max : v;
}

uint64_t lf__stats_count(const lf__stats_t *s) {
  return s->count;
}

double lf__stats_min(const lf__stats_t *s) {
  return s->count ? s->min : 0;
}

double lf__stats_max(const lf__stats_t *s) {
  return s->count ? s->max : 0;
}

double lf__stats_mean(const lf__stats_t *s) {
  return s->count ? s->sum / (double)s->count : 0;
}
