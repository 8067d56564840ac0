/* Names that follow the content (names.h: lf__name_for_reply, lf__name_from_disposition), and
 * the promise behind them: whatever each reply turns out to be, no two URLs of a job get the
 * same final name. */
#include <stdlib.h>
#include "names.h"
#include "test.h"
#include "loopfetch.h"

static const char *final_name(lf__names_t *set, const char *url, int html, char *out) {
  char derived[LF_NAME_MAX + 1], reserved[LF_NAME_MAX + 1];
  if (lf__name_from_url(url, derived, sizeof(derived)) < 0 ||
      lf__names_unique(set, derived, reserved, sizeof(reserved)) < 0 ||
      lf__name_for_reply(url, reserved, html, out, LF_NAME_MAX + 1) < 0)
    return "?";
  return out;
}

static void test_rule(void) {
  char out[LF_NAME_MAX + 1];
  lf__names_t *set;
  CHECK_EQ_INT(lf__names_new(&set), 0);
  CHECK_EQ_STR(final_name(set, "http://h/files/big.bin", 0, out), "big.bin");
  CHECK_EQ_STR(final_name(set, "http://h/wiki/Page", 1, out), "Page.html");
  CHECK_EQ_STR(final_name(set, "http://h/wiki/Washington,_D.C.", 1, out), "Washington,_D.C..html");
  CHECK_EQ_STR(final_name(set, "http://h/wiki/St._Kitts", 1, out), "St._Kitts.html");
  CHECK_EQ_STR(final_name(set, "http://h/old/doc.htm", 1, out), "doc.htm");
  CHECK_EQ_STR(final_name(set, "http://h/txt/notes.html", 0, out), "notes.html");
  CHECK_EQ_STR(final_name(set, "http://h/a/X", 1, out), "X.html");
  CHECK_EQ_STR(final_name(set, "http://h/b/X.html", 1, out), "X~2.html");
  CHECK_EQ_STR(final_name(set, "http://h/c/X", 0, out), "X~3");
  lf__names_free(set);
}

/* Every subset of replies being HTML, over URLs chosen to clash: all final names distinct. */
static void test_never_collide(void) {
  static const char *const urls[] = {
      "http://h/a/X",        "http://h/b/X.html",      "http://h/c/X",
      "http://h/d/X.htm",    "http://h/e/X.htm",       "http://h/f/X~2",
      "http://h/g/X~2.html", "http://h/h/X.html.html", "http://h/i/X~3"};
  enum { N = sizeof(urls) / sizeof(urls[0]) };
  int clashes = 0;
  for (unsigned mask = 0; mask < (1u << N); mask++) {
    lf__names_t *set;
    char names[N][LF_NAME_MAX + 1];
    if (lf__names_new(&set) < 0) return;
    for (int i = 0; i < N; i++)
      final_name(set, urls[i], (mask >> i) & 1, names[i]);
    for (int i = 0; i < N; i++)
      for (int j = i + 1; j < N; j++)
        if (strcmp(names[i], names[j]) == 0) {
          if (!clashes++) fprintf(stderr, "clash: %s (mask %x)\n", names[i], mask);
        }
    lf__names_free(set);
  }
  CHECK_EQ_INT(clashes, 0);
}

static void test_disposition(void) {
  char out[LF_NAME_MAX + 1];
  CHECK_EQ_INT(
      lf__name_from_disposition("attachment; filename=\"nice-name.txt\"", out, sizeof(out)), 0);
  CHECK_EQ_STR(out, "nice-name.txt");
  CHECK_EQ_INT(lf__name_from_disposition("attachment; filename=../../etc/passwd", out, sizeof(out)),
               0);
  CHECK_EQ_STR(out, "passwd");
  CHECK_EQ_INT(
      lf__name_from_disposition("attachment; filename=\"a\\\\b\\\\..\\\\c.txt\"", out, sizeof(out)),
      0);
  CHECK_EQ_STR(out, "c.txt");
  CHECK_EQ_INT(
      lf__name_from_disposition("attachment; filename=\"x.txt\"; filename*=UTF-8''caf%C3%A9.txt",
                                out, sizeof(out)),
      0);
  CHECK_EQ_STR(out, "caf\xc3\xa9.txt");
  CHECK_EQ_INT(lf__name_from_disposition("attachment; filename=\".hidden\"", out, sizeof(out)), 0);
  CHECK_EQ_STR(out, "_hidden");
  CHECK_EQ_INT(lf__name_from_disposition("attachment; filename=\"..\"", out, sizeof(out)), 0);
  CHECK_EQ_STR(out, "__");
  CHECK_EQ_INT(lf__name_from_disposition("attachment; filename=\"a/\"", out, sizeof(out)),
               LF_ENAME);
  CHECK_EQ_INT(lf__name_from_disposition("inline", out, sizeof(out)), LF_ENAME);
}

int main(void) {
  test_rule();
  test_never_collide();
  test_disposition();
  printf("%d passed, %d failed\n", lf_test_passed, lf_test_failed);
  return lf_test_failed != 0;
}
