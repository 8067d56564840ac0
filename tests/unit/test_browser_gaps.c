/* The smaller differences from a browser that issue 27 lists, through lf_links_extract() as the
 * program uses it: each case is the href list a browser's document.querySelectorAll(sel) and
 * a.href give for the page (written out), and fails without its fix. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "test.h"

#define H "http://h.example"

/* The links sel finds on html, as "path path ..." (paths of H), or "(error)". */
static const char *paths(const char *html, const char *sel) {
  static char buf[1024];
  lf_links_t l;
  char err[256];
  if (lf_links_extract(html, strlen(html), H "/", sel, &l, err, sizeof err)) {
    fprintf(stderr, "  %s: %s\n", sel, err);
    return "(error)";
  }
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < l.count && n < sizeof buf - 1; i++) {
    const char *u = strncmp(l.urls[i], H, strlen(H)) ? l.urls[i] : l.urls[i] + strlen(H);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", u);
  }
  lf_links_free(&l);
  return buf;
}

static void check_links(const char *html, const char *sel, const char *want, int line) {
  const char *got = paths(html, sel);
  int ok = strcmp(got, want) == 0;
  if (!ok) fprintf(stderr, "  line %d, %s: got \"%s\", want \"%s\"\n", line, sel, got, want);
  CHECK(ok);
}

#define CHECK_LINKS(html, sel, want) check_links(html, sel, want, __LINE__)

/* :scope is the root element at the top level, as in document.querySelectorAll() */
static void test_scope(void) {
  const char *page = "<!DOCTYPE html><body><a href=/1>1</a><p><a href=/2>2</a></p></body>";
  CHECK_LINKS(page, ":scope > body > a", "/1");
  CHECK_LINKS(page, ":scope a", "/1 /2");
  CHECK_LINKS(page, "p:scope a", "");
}

/* quirks mode (no doctype, or a quirky one): .class and #id compare ASCII case-insensitively;
 * attribute selectors on class and id do not */
static void test_quirks(void) {
  const char *quirks = "<a class=Foo href=/1>1</a><a id=BAR href=/2>2</a>";
  const char *old = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\">"
                    "<a class=Foo href=/1>1</a><a id=BAR href=/2>2</a>";
  const char *standard = "<!DOCTYPE html><a class=Foo href=/1>1</a><a id=BAR href=/2>2</a>";
  CHECK_LINKS(quirks, ".foo, #bar", "/1 /2");
  CHECK_LINKS(old, ".FOO, #Bar", "/1 /2");
  CHECK_LINKS(quirks, "[class~=foo], [id=bar]", "");
  CHECK_LINKS(quirks, ":is(.foo) , :not(#bar):not(.foo)", "/1");
  CHECK_LINKS(standard, ".foo, #bar", "");
  /* HTML 4.01 Transitional: quirks without a system identifier, limited quirks with one */
  CHECK_LINKS("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">"
              "<a class=Foo href=/1>1</a>",
              ".foo", "/1");
  CHECK_LINKS("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" "
              "\"http://www.w3.org/TR/html4/loose.dtd\"><a class=Foo href=/1>1</a>",
              ".foo", "");
  CHECK_LINKS(standard, ".Foo, #BAR", "/1 /2");
}

/* :link and :any-link: SVG's <a> with href or xlink:href too */
static void test_svg_links(void) {
  const char *page = "<!DOCTYPE html><a href=/h>h</a><svg><a href=/s1><text>1</text></a>"
                     "<a xlink:href=/s2><text>2</text></a><a><text>3</text></a></svg>"
                     "<map><area href=/m></map>";
  CHECK_LINKS(page, ":any-link", "/h /s1 /s2 /m");
  CHECK_LINKS(page, "svg :link", "/s1 /s2");
}

/* :lang() reads <meta http-equiv=content-language> for elements no lang attribute covers */
static void test_lang_pragma(void) {
  const char *page = "<!DOCTYPE html><head><meta http-equiv=Content-Language content=' de-AT '>"
                     "</head><body><a href=/1>1</a><p lang=en><a href=/2>2</a></p></body>";
  CHECK_LINKS(page, "a:lang(de)", "/1");
  CHECK_LINKS(page, "a:lang(en)", "/2");
  CHECK_LINKS(page, "html:lang(de) a", "/1 /2");
  const char *two = "<!DOCTYPE html><meta http-equiv=content-language content='de, en'>"
                    "<a href=/1>1</a>";
  CHECK_LINKS(two, "a:lang(de)", ""); /* a comma: no default language (the HTML standard) */
  const char *last = "<!DOCTYPE html><meta http-equiv=content-language content=de>"
                     "<meta http-equiv=content-language content=fr><a href=/1>1</a>";
  CHECK_LINKS(last, "a:lang(fr)", "/1");
  CHECK_LINKS("<!DOCTYPE html><html lang=it><meta http-equiv=content-language content=de>"
              "<a href=/1>1</a>",
              "a:lang(de)", "");
}

/* <a> inside <select>: browsers since the 2025 parser change (customizable <select>) keep it;
 * gumbo 0.10 parses by the older rules, which drop the tag and keep its text. Documented in
 * README ("How links are resolved"); this pins what loopfetch does. */
static void test_select(void) {
  CHECK_LINKS("<!DOCTYPE html><select><option>x</option><a href=/in>in</a></select>"
              "<a href=/out>out</a>",
              "a", "/out");
}

int main(void) {
  test_scope();
  test_quirks();
  test_svg_links();
  test_lang_pragma();
  test_select();
  return lf_test_report();
}
