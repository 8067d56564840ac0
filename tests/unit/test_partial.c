/* lib/engine/partial.c: the partial-file format of -C (and --split's ranges): states written
 * and read back, malformed ones refused whole, the prefix a single stream continues after,
 * the hidden names (reserved, and cut for long names), planted files never opened. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "test.h"

static int parse(const char *text, lf__partial_state_t *st) {
  char *copy = strdup(text);
  int rc = lf__partial_state_parse(copy, st);
  free(copy);
  return rc;
}

static void round_trip(void) {
  lf__partial_state_t st = {.length = 1000};
  st.url = strdup("http://h/x.bin");
  st.etag = strdup("\"abc\"");
  st.last_modified = strdup("Mon, 07 Dec 2026 03:44:14 GMT");
  CHECK(lf__partial_add_range(&st, 0, 100) == 0);
  CHECK(lf__partial_add_range(&st, 500, LF__RANGE_OPEN) == 0);
  size_t len = 0;
  char *text = lf__partial_state_format(&st, &len);
  CHECK(text && strlen(text) == len);
  CHECK_EQ_STR(text, "loopfetch-partial 1\nurl http://h/x.bin\netag \"abc\"\n"
                     "last-modified Mon, 07 Dec 2026 03:44:14 GMT\nlength 1000\n"
                     "range 0 100\nrange 500 *\n");
  lf__partial_state_t back;
  CHECK(parse(text, &back) == 0);
  CHECK_EQ_STR(back.url, st.url);
  CHECK_EQ_STR(back.etag, st.etag);
  CHECK_EQ_STR(back.last_modified, st.last_modified);
  CHECK_EQ_INT(back.length, 1000);
  CHECK_EQ_INT(back.range_count, 2);
  CHECK(back.ranges[1].start == 500 && back.ranges[1].end == LF__RANGE_OPEN);
  free(text);
  lf__partial_state_free(&back);
  /* A value with a newline cannot be written: no state rather than a wrong one. */
  free(st.etag);
  st.etag = strdup("\"a\"\nrange 0 *");
  CHECK(lf__partial_state_format(&st, &len) == NULL);
  lf__partial_state_free(&st);
}

static void malformed(void) {
  lf__partial_state_t st;
  const char *bad[] = {
      "",
      "loopfetch-partial 2\nurl http://h/\n",            /* another version */
      "loopfetch-partial 1\n",                           /* no URL */
      "loopfetch-partial 1\nurl http://h/",              /* cut: no final newline */
      "loopfetch-partial 1\nurl http://h/\nlength -1\n", /* not a number */
      "loopfetch-partial 1\nurl http://h/\nlength 1x\n", /* not a number */
      "loopfetch-partial 1\nurl http://h/\nrange 5 3\n", /* ends before it starts */
      "loopfetch-partial 1\nurl http://h/\nrange 5\n",   /* no end */
      "loopfetch-partial 1\nurl http://h/\nrange 99999999999999999999 *\n", /* overflow */
      "loopfetch-partial 1\nurl http://h/\nurl http://i/\n",                /* twice */
      "loopfetch-partial 1\nurl http://h/\nnospace\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = parse(bad[i], &st);
    if (rc == 0) fprintf(stderr, "accepted: %s\n", bad[i]);
    CHECK(rc < 0);
  }
  /* A newer writer's keys are skipped. */
  CHECK(parse("loopfetch-partial 1\nurl http://h/\nsplit 8\nrange 0 10\n", &st) == 0);
  CHECK_EQ_INT(st.range_count, 1);
  lf__partial_state_free(&st);
}

static uint64_t prefix_of(const char *ranges, uint64_t file_size, int64_t length) {
  char text[512];
  snprintf(text, sizeof(text), "loopfetch-partial 1\nurl http://h/\n%s", ranges);
  lf__partial_state_t st;
  if (parse(text, &st) < 0) return (uint64_t)-1;
  st.length = length;
  uint64_t n = lf__partial_prefix(&st, file_size);
  lf__partial_state_free(&st);
  return n;
}

static void prefix(void) {
  CHECK_EQ_INT(prefix_of("", 100, -1), 0);                   /* no range: nothing */
  CHECK_EQ_INT(prefix_of("range 0 *\n", 12345, -1), 12345);  /* one stream: the file */
  CHECK_EQ_INT(prefix_of("range 0 *\n", 12345, 1000), 1000); /* never past the page */
  CHECK_EQ_INT(prefix_of("range 0 50\n", 40, -1), 40);       /* never past the file */
  CHECK_EQ_INT(prefix_of("range 10 50\n", 100, -1), 0);      /* not from 0 */
  /* Several ranges (--split), in any order, joined where they touch or overlap. */
  CHECK_EQ_INT(prefix_of("range 60 90\nrange 0 30\nrange 30 60\n", 100, -1), 90);
  CHECK_EQ_INT(prefix_of("range 0 30\nrange 20 40\nrange 41 90\n", 100, -1), 40);
}

static void names(void) {
  char data[LF__PART_NAME], state[LF__PART_NAME];
  lf__partial_names("x.bin", data, state);
  CHECK_EQ_STR(data, ".x.bin.lf-part");
  CHECK_EQ_STR(state, ".x.bin.lf-part.state");
  CHECK(lf__partial_reserved(data) && lf__partial_reserved(state));
  CHECK(lf__partial_reserved("ab/cd/.x.bin.lf-part"));
  CHECK(!lf__partial_reserved("x.bin.lf-part")); /* not hidden: a page may have it */
  CHECK(!lf__partial_reserved(".lf-part/x.bin"));
  char longname[256];
  memset(longname, 'a', 255);
  longname[255] = '\0';
  lf__partial_names(longname, data, state);
  CHECK(strlen(data) <= 255 && strlen(state) <= 255);
  CHECK(lf__partial_reserved(data) && lf__partial_reserved(state));
  char data2[LF__PART_NAME], state2[LF__PART_NAME];
  longname[254] = 'b'; /* differs past the cut: another name */
  lf__partial_names(longname, data2, state2);
  CHECK(strcmp(data, data2) != 0);
}

/* A symlink or FIFO planted at a partial's name is never opened through. */
static void planted(void) {
  char dir[] = "/tmp/lf-test-partial-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK(dirfd >= 0);
  CHECK(symlinkat("/etc/passwd", dirfd, "link") == 0);
  CHECK(mkfifoat(dirfd, "fifo", 0644) == 0);
  CHECK(lf__partial_open_regular(dirfd, "link", O_RDONLY) < 0);
  CHECK(lf__partial_open_regular(dirfd, "fifo", O_RDWR) < 0); /* and did not block */
  lf__partial_state_t st;
  CHECK(lf__partial_state_read(dirfd, "link", &st) < 0);
  /* Written atomically, then read back. */
  lf__partial_state_t w = {.length = -1};
  w.url = strdup("http://h/");
  CHECK(lf__partial_add_range(&w, 0, LF__RANGE_OPEN) == 0);
  CHECK(lf__partial_state_write(dirfd, ".lf-1-1.part", "state", &w) == 0);
  CHECK(faccessat(dirfd, ".lf-1-1.part", F_OK, 0) < 0); /* the temporary is gone */
  CHECK(lf__partial_state_read(dirfd, "state", &st) == 0);
  CHECK_EQ_STR(st.url, "http://h/");
  lf__partial_state_free(&st);
  lf__partial_state_free(&w);
  unlinkat(dirfd, "link", 0);
  unlinkat(dirfd, "fifo", 0);
  unlinkat(dirfd, "state", 0);
  close(dirfd);
  rmdir(dir);
}

int main(void) {
  round_trip();
  malformed();
  prefix();
  names();
  planted();
  return lf_test_report();
}
