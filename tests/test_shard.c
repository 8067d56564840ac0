/* Shards: a partition (every URL in exactly one shard), stable, roughly balanced. */
#include <stdio.h>
#include "shard.h"
#include "test.h"

int main(void) {
  unsigned k, n;
  CHECK_EQ_INT(lf__shard_parse("2/4", &k, &n), 0);
  CHECK(k == 2 && n == 4);
  CHECK_EQ_INT(lf__shard_parse("1/1", &k, &n), 0);
  const char *bad[] = {"",    "0/4",  "5/4",  "2/0",  "2",       "2/",  "/4",
                       "a/b", "2/4x", "-1/4", "2/-4", "1/70000", " 2/4"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_EQ_INT(lf__shard_parse(bad[i], &k, &n), -1);

  /* Stable values: the partition is a documented contract (README), so pin it. */
  CHECK_EQ_INT(lf__shard_of("", 7), 0xcbf29ce484222325ull % 7);
  CHECK_EQ_INT(lf__shard_of("a", 1000), 0xaf63dc4c8601ec8cull % 1000);

  unsigned counts[4] = {0};
  char url[64];
  for (int i = 0; i < 4000; i++) {
    snprintf(url, sizeof(url), "https://en.wikipedia.org/wiki/Page_%d", i);
    unsigned s = lf__shard_of(url, 4);
    CHECK(s < 4);
    CHECK_EQ_INT(lf__shard_of(url, 4), s);
    counts[s]++;
  }
  for (int s = 0; s < 4; s++)
    CHECK(counts[s] > 850 && counts[s] < 1150);
  return lf_test_report();
}
