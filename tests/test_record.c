/* Manifest / worker-pipe records: what is written is read back the same. */
#include <stdlib.h>
#include "record.h"
#include "test.h"

static void roundtrip(void) {
  lf__record_t r = {.url = "http://h/a\"b\\c\td\x01",
                    .file = "a\"b.html",
                    .error = NULL,
                    .status = LF_REC_INTERRUPTED,
                    .http_code = 503,
                    .bytes = 123456789012ull,
                    .attempts = 4,
                    .pid = 4242,
                    .start = 1.25};
  r.timings.queued = 0.5;
  r.timings.starttransfer = 0.75;
  r.timings.written = 2.125;
  char buf[1024];
  size_t n = lf__record_to_json(&r, buf, sizeof(buf));
  CHECK(n < sizeof(buf));
  CHECK_EQ_INT(strlen(buf), n);
  CHECK(buf[n - 1] == '\n');
  CHECK(strstr(buf, "\\u0001") != NULL);
  CHECK(strstr(buf, "\"error\":null") != NULL);
  lf__record_t b;
  CHECK_EQ_INT(lf__record_parse_json(buf, &b), 0);
  CHECK_EQ_STR(b.url, "http://h/a\"b\\c\td\x01");
  CHECK_EQ_STR(b.file, "a\"b.html");
  CHECK(b.error == NULL);
  CHECK_EQ_INT(b.status, LF_REC_INTERRUPTED);
  CHECK_EQ_INT(b.http_code, 503);
  CHECK(b.bytes == 123456789012ull);
  CHECK_EQ_INT(b.attempts, 4);
  CHECK_EQ_INT(b.pid, 4242);
  CHECK(b.start == 1.25 && b.timings.queued == 0.5 && b.timings.written == 2.125);
  CHECK(b.timings.starttransfer == 0.75);
}

static void truncation(void) {
  lf__record_t r = {.url = "http://example.com/x", .status = LF_REC_SAVED};
  char small[16];
  size_t need = lf__record_to_json(&r, small, sizeof(small));
  CHECK(need >= sizeof(small));
  CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
  char *big = malloc(need + 1);
  CHECK_EQ_INT(lf__record_to_json(&r, big, need + 1), need);
  free(big);
}

static void rejects_junk(void) {
  const char *bad[] = {
      "", "{", "{\"url\"}", "{\"url\":\"x\"", "[1]", "{\"bytes\":12}", "{\"url\":\"x\",}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char line[64];
    strcpy(line, bad[i]);
    lf__record_t r;
    CHECK_EQ_INT(lf__record_parse_json(line, &r), LF_EINVAL);
  }
  CHECK_EQ_STR(lf__rec_status_name(LF_REC_SKIPPED), "skipped");
}

int main(void) {
  roundtrip();
  truncation();
  rejects_junk();
  return lf_test_report();
}
