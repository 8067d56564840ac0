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
  CHECK_EQ_INT(lf__shard_of("", 7), 0xefd01f60ba992926ull % 7);
  CHECK_EQ_INT(lf__shard_of("a", 1000), 0x82a2a958a9bece5bull % 1000);

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

  /* URLs whose bytes' low bits have one parity: plain FNV-1a put all of these in one shard of
   * 2 (and two of 4); every shard must get its share. */
  for (unsigned parts = 2; parts <= 4; parts += 2) {
    unsigned c[4] = {0};
    for (int i = 0; i < 400; i++) {
      snprintf(url, sizeof(url), "http://127.0.0.1:8080/d/%d/t%d", 300 + i, i);
      c[lf__shard_of(url, parts)]++;
    }
    for (unsigned s = 0; s < parts; s++)
      CHECK(c[s] > 400 / parts * 7 / 10 && c[s] < 400 / parts * 13 / 10);
  }
  return lf_test_report();
}
