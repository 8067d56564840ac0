/* What is shown of outside text: passwords hidden, control characters escaped (safe_text.h). */
#include <stdlib.h>
#include "record.h"
#include "safe_text.h"
#include "test.h"

static void shown(const char *in, int is_url, const char *want) {
  char *got = lf__display(in, is_url);
  CHECK_EQ_STR(got, want);
  free(got);
}

static void display(void) {
  shown("http://u:p@h/x", 1, "http://***@h/x");
  shown("https://tok@h:8/a@b?c@d#e@f", 1, "https://***@h:8/a@b?c@d#e@f"); /* '@' in the path */
  shown("http://a@b@h/", 1, "http://***@h/");                             /* the last '@' ends it */
  shown("http://h/x", 1, "http://h/x");
  shown("no scheme u:p@h", 1, "no scheme u:p@h");
  shown("a\x1b[2Jb\x07", 0, "a\\x1b[2Jb\\x07");
  shown("caf\xc3\xa9 \xe2\x82\xac", 0, "caf\xc3\xa9 \xe2\x82\xac"); /* UTF-8 stays */
  shown("\xc2\x9b"
        "1m",
        0, "\\xc2\\x9b1m"); /* a C1 control (CSI) */
  shown("\xff\x80", 0, "\\xff\\x80");
  shown("", 0, "");
}

static void keys(void) {
  CHECK(lf__url_key("http://u:p@h/x") == lf__url_key("http://***@h/x"));
  CHECK(lf__url_key("http://h/x") != lf__url_key("http://h/y"));
  CHECK(lf__text_key("a") != lf__text_key("b"));
}

static void record_hides_password(void) {
  lf__record_t r = {.url = "http://alice:s3cret@h/p", .file = "p.html"};
  char buf[1024];
  lf__record_to_json(&r, buf, sizeof(buf));
  CHECK(strstr(buf, "s3cret") == NULL && strstr(buf, "alice") == NULL);
  CHECK(strstr(buf, "\"url\":\"http://***@h/p\"") != NULL);
}

int main(void) {
  display();
  keys();
  record_hides_password();
  return lf_test_report();
}
