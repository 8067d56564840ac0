/* The latency histogram against exact percentiles of known and random distributions. */
#include <math.h>
#include <stdlib.h>
#include "stats.h"
#include "test.h"

#define CHECK_NEAR(got, want, rel)                                                                 \
  do {                                                                                             \
    double g_ = (got), w_ = (want);                                                                \
    if (fabs(g_ - w_) <= (rel)*fabs(w_)) {                                                         \
      lf_test_passed++;                                                                            \
    } else {                                                                                       \
      lf_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: %s = %.9g, want %.9g (within %g)\n", __FILE__, __LINE__, #got, g_,   \
              w_, (double)(rel));                                                                  \
    }                                                                                              \
  } while (0)

static uint64_t rng = 0x9E3779B97F4A7C15u;

static double uniform01(void) { /* xorshift64*: deterministic across runs */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717u) >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double exact(const double *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);
  return v[rank ? rank - 1 : 0];
}

static void check_against_exact(double *v, size_t n) {
  static lf__stats_t s;
  lf__stats_init(&s);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    lf__stats_add(&s, v[i]);
    sum += v[i];
  }
  qsort(v, n, sizeof(*v), cmp_double);
  CHECK_EQ_INT(lf__stats_count(&s), n);
  CHECK(lf__stats_min(&s) == v[0]);
  CHECK(lf__stats_max(&s) == v[n - 1]);
  CHECK_NEAR(lf__stats_mean(&s), sum / (double)n, 1e-9);
  const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9};
  for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
    CHECK_NEAR(lf__stats_percentile(&s, ps[i]), exact(v, n, ps[i]), 0.0101);
}

static void test_uniform_ms(void) {
  static lf__stats_t s;
  lf__stats_init(&s);
  for (int i = 1; i <= 10000; i++)
    lf__stats_add(&s, i / 1000.0); /* 1 ms .. 10 s */
  CHECK_NEAR(lf__stats_percentile(&s, 50), 5.0, 0.01);
  CHECK_NEAR(lf__stats_percentile(&s, 90), 9.0, 0.01);
  CHECK_NEAR(lf__stats_percentile(&s, 99), 9.9, 0.01);
  CHECK(lf__stats_percentile(&s, 0) == 0.001);
  CHECK(lf__stats_percentile(&s, 100) == 10.0);
  CHECK_NEAR(lf__stats_mean(&s), 5.0005, 1e-12);
}

static void test_random(void) {
  enum { N = 100000 };
  double *v = malloc(N * sizeof(*v));
  CHECK(v != NULL);
  if (!v) return;
  for (size_t i = 0; i < N; i++) /* exponential, mean 200 ms */
    v[i] = -0.2 * log(1.0 - uniform01());
  check_against_exact(v, N);
  for (size_t i = 0; i < N; i++) /* log-uniform over the whole range, 1 µs .. 1 h */
    v[i] = 1e-6 * pow(3.6e9, uniform01());
  check_against_exact(v, N);
  for (size_t i = 0; i < N; i++) /* bimodal: cache hits and slow misses */
    v[i] = i % 10 ? 0.002 + 0.001 * uniform01() : 1.5 + uniform01();
  check_against_exact(v, N);
  free(v);
}

static void test_merge(void) {
  static lf__stats_t all, a, b, empty;
  lf__stats_init(&all);
  lf__stats_init(&a);
  lf__stats_init(&b);
  lf__stats_init(&empty);
  for (int i = 0; i < 5000; i++) {
    double x = 0.01 + 3.0 * uniform01() * uniform01();
    lf__stats_add(&all, x);
    lf__stats_add(i % 3 ? &a : &b, x);
  }
  lf__stats_merge(&a, &empty); /* no-op */
  lf__stats_merge(&empty, &b); /* into an empty one: a copy */
  CHECK(memcmp(&empty, &b, sizeof(b)) == 0);
  lf__stats_merge(&a, &b);
  CHECK_EQ_INT(lf__stats_count(&a), lf__stats_count(&all));
  CHECK(lf__stats_min(&a) == lf__stats_min(&all));
  CHECK(lf__stats_max(&a) == lf__stats_max(&all));
  CHECK_NEAR(lf__stats_mean(&a), lf__stats_mean(&all), 1e-12);
  CHECK(memcmp(a.buckets, all.buckets, sizeof(a.buckets)) == 0);
  const double ps[] = {50, 90, 99};
  for (int i = 0; i < 3; i++)
    CHECK(lf__stats_percentile(&a, ps[i]) == lf__stats_percentile(&all, ps[i]));
}

static void test_edges(void) {
  static lf__stats_t s;
  lf__stats_init(&s);
  CHECK_EQ_INT(lf__stats_count(&s), 0);
  CHECK(lf__stats_percentile(&s, 50) == 0);
  CHECK(lf__stats_mean(&s) == 0 && lf__stats_min(&s) == 0 && lf__stats_max(&s) == 0);

  lf__stats_add(&s, 0.123);
  for (int p = 0; p <= 100; p += 10) /* one sample: every percentile is that sample */
    CHECK(lf__stats_percentile(&s, p) == 0.123);

  lf__stats_init(&s);
  lf__stats_add(&s, NAN);
  CHECK_EQ_INT(lf__stats_count(&s), 0);
  lf__stats_add(&s, -1.0); /* a clock step backwards: counts as 0 */
  lf__stats_add(&s, 1e-9); /* below the range */
  lf__stats_add(&s, 7200); /* above the range */
  lf__stats_add(&s, 1e-6); /* exact edges */
  lf__stats_add(&s, 3600);
  CHECK_EQ_INT(lf__stats_count(&s), 5);
  CHECK(lf__stats_min(&s) == 0);
  CHECK(lf__stats_max(&s) == 7200);
  CHECK(lf__stats_percentile(&s, 20) == 0); /* underflow bucket reports the minimum */
  CHECK(lf__stats_percentile(&s, 40) <= 1e-6);
  CHECK_NEAR(lf__stats_percentile(&s, 60), 1e-6, 0.01);
  CHECK_NEAR(lf__stats_percentile(&s, 80), 3600, 0.01);
  CHECK(lf__stats_percentile(&s, 100) == 7200);
  CHECK(lf__stats_percentile(&s, 99) == 7200); /* overflow bucket reports the maximum */
  CHECK(sizeof(lf__stats_t) < 10000);          /* fixed memory, whatever the count */

  lf__stats_t *h;
  CHECK_EQ_INT(lf__stats_new(&h), 0);
  if (h) {
    CHECK_EQ_INT(lf__stats_count(h), 0);
    lf__stats_add(h, 0.5);
    CHECK(lf__stats_percentile(h, 50) == 0.5);
  }
  lf__stats_free(h);
  lf__stats_free(NULL);
}

int main(void) {
  test_uniform_ms();
  test_random();
  test_merge();
  test_edges();
  return lf_test_report();
}
