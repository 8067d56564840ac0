/* Manifest / worker-pipe records: what is written is read back the same. */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
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
                    .start = 1.25,
                    .warc_date = "2026-12-07T01:02:03.456789Z"};
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
  CHECK_EQ_STR(b.warc_date, "2026-12-07T01:02:03.456789Z");
  CHECK(b.start == 1.25 && b.timings.queued == 0.5 && b.timings.written == 2.125);
  CHECK(b.timings.starttransfer == 0.75);
}

/* Numbers are formatted without printf: the same text as "%.6f" and "%d" for what we write. */
static void numbers_as_printf(void) {
  const double secs[] = {0,          1.25,         0.0000004, 0.0000006, 123.456789,
                         59.9999996, 86400.000001, -0.25,     3e-7};
  for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
    lf__record_t r = {.url = "u",
                      .status = LF_REC_SAVED,
                      .http_code = -1,
                      .attempts = 0,
                      .pid = 2147483647,
                      .start = secs[i]};
    r.bytes = 18446744073709551615ull;
    char buf[1024], want[64];
    lf__record_to_json(&r, buf, sizeof(buf));
    snprintf(want, sizeof(want), "\"start\":%.6f,", secs[i]);
    if (!strstr(buf, want)) fprintf(stderr, "want %s in %s", want, buf);
    CHECK(strstr(buf, want) != NULL);
    CHECK(strstr(buf, "\"http\":-1,") != NULL);
    CHECK(strstr(buf, "\"bytes\":18446744073709551615,") != NULL);
    CHECK(strstr(buf, "\"pid\":2147483647,") != NULL);
  }
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

/* A line that ends inside a \u escape (issue 28, item 10): the reader stops at the line's end.
 * The line is put against a page that cannot be read, so a read past its NUL faults in any
 * build, not only under ASan. */
static void escape_at_end(void) {
  long page = sysconf(_SC_PAGESIZE);
  char *mem =
      mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(mem != MAP_FAILED);
  if (mem == MAP_FAILED) return;
  CHECK_EQ_INT(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
  const char *tails[] = {"{\"url\":\"\\u", "{\"url\":\"\\u00", "{\"url\":\"\\u004",
                         "{\"url\":\"a\\u00zz\"}", "{\"url\":\"a\\u0000\"}"};
  for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
    size_t n = strlen(tails[i]) + 1;
    char *line = mem + page - n;
    memcpy(line, tails[i], n);
    lf__record_t r;
    CHECK_EQ_INT(lf__record_parse_json(line, &r), LF_EINVAL);
  }
  char ok[] = "{\"url\":\"a\\u0041\\u007f\"}";
  lf__record_t r;
  CHECK_EQ_INT(lf__record_parse_json(ok, &r), 0);
  CHECK_EQ_STR(r.url, "aA\x7f");
  munmap(mem, (size_t)page * 2);
}

int main(void) {
  escape_at_end();
  roundtrip();
  numbers_as_printf();
  truncation();
  rejects_junk();
  return lf_test_report();
}
