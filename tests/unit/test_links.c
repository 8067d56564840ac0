/* Unit tests for link extraction (lib/html/links.c): resolution against the page URL and <base>,
 * skipped schemes, duplicates, percent-encoding, and the error paths. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* uv.h, included by loopfetch.h, needs POSIX types */
#endif
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "test.h"

#define PAGE "https://en.wikipedia.org/wiki/List_of_countries?action=view#top"
#define WIKI "https://en.wikipedia.org"

/* All URLs of l joined by newlines, for one comparison that shows every difference. */
static const char *joined(const lf_links_t *l) {
  static char buf[8192];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < l->count; i++) {
    int w = snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "\n" : "", l->urls[i]);
    if (w < 0 || (size_t)w >= sizeof(buf) - n) break;
    n += (size_t)w;
  }
  return buf;
}

/* Extracts with selector "a" from a NUL-terminated page; checks for success. */
static int extract(const char *html, const char *page, lf_links_t *out) {
  char err[256] = "unset";
  int rc = lf_links_extract(html, strlen(html), page, "a", out, err, sizeof(err));
  if (rc != 0) fprintf(stderr, "  lf_links_extract: %d %s\n", rc, err);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_STR(err, "");
  return rc;
}

static void test_resolution(void) {
  const char *html = "<a href=\"India\">rel</a>"
                     "<a href=\"../w/index.php?title=X&amp;action=edit\">up</a>"
                     "<a href=\"//commons.wikimedia.org/wiki/File:X.svg\">proto</a>"
                     "<a href=\"http://example.com/a\">abs</a>"
                     "<a href=\"/wiki/China#History\">frag</a>"
                     "<a href=\"?oldid=5\">query</a>"
                     "<a href=\"  /wiki/Trim\n \">trim</a>"
                     "<a href=\"/wi\tki/Tab\">tab</a>"
                     "<a href=\"./a/../b/./c\">dots</a>"
                     "<a href=\"#top\">self</a>"
                     "<a href=\"https://Example.COM:443/x?y=1#z\">norm</a>";
  lf_links_t l;
  if (extract(html, PAGE, &l)) return;
  CHECK_EQ_STR(joined(&l),
               WIKI "/wiki/India\n" WIKI "/w/index.php?title=X&action=edit\n"
                    "https://commons.wikimedia.org/wiki/File:X.svg\n"
                    "http://example.com/a\n" WIKI "/wiki/China\n" WIKI
                    "/wiki/List_of_countries?oldid=5\n" WIKI "/wiki/Trim\n" WIKI "/wiki/Tab\n" WIKI
                    "/wiki/b/c\n" WIKI "/wiki/List_of_countries?action=view\n"
                    "https://example.com/x?y=1");
  CHECK_EQ_INT(l.count, 11);
  CHECK_EQ_INT(l.matched, 11);
  CHECK_EQ_INT(l.skipped, 0);
  lf_links_free(&l);
  CHECK(l.urls == NULL && l.count == 0);
}

static void test_skipped(void) {
  const char *html = "<a href=\"mailto:someone@example.com\">m</a>"
                     "<a href=\"javascript:void(0)\">j</a>"
                     "<a href=\"JavaScript:alert('x y')\">J</a>"
                     "<a href=\"ftp://ftp.example.com/file\">f</a>"
                     "<a name=\"anchor-without-href\">n</a>"
                     "<a href=\"http://\">empty host</a>"
                     "<a href=\"https://example.com:99999/\">bad port</a>"
                     "<a href=\"data:text/html,hi\">d</a>"
                     "<a href=\"/wiki/Kept\">kept</a>";
  lf_links_t l;
  if (extract(html, PAGE, &l)) return;
  CHECK_EQ_STR(joined(&l), WIKI "/wiki/Kept");
  CHECK_EQ_INT(l.matched, 9);
  CHECK_EQ_INT(l.skipped, 8);
  lf_links_free(&l);
}

static void test_base(void) {
  lf_links_t l;
  /* Absolute base. */
  if (!extract("<head><base href=\"https://cdn.example.org/sub/dir/\"></head><a href=x>1</a>"
               "<a href=/root>2</a>",
               PAGE, &l)) {
    CHECK_EQ_STR(joined(&l), "https://cdn.example.org/sub/dir/x\nhttps://cdn.example.org/root");
    lf_links_free(&l);
  }
  /* A relative base resolves against the page; a base without href is passed over. */
  if (!extract("<base target=_blank><base href=\"/other/\"><base href=\"http://ignored/\">"
               "<a href=x>1</a>",
               PAGE, &l)) {
    CHECK_EQ_STR(joined(&l), WIKI "/other/x");
    lf_links_free(&l);
  }
  /* A base after the links still applies (it is the document's base), and an empty href
   * means the base itself. */
  if (!extract("<a href=\"\">1</a><a href=y>2</a><base href=\"https://b.example/d/\">", PAGE, &l)) {
    CHECK_EQ_STR(joined(&l), "https://b.example/d/\nhttps://b.example/d/y");
    lf_links_free(&l);
  }
  /* A base that is not http(s) is ignored. */
  if (!extract("<base href=\"javascript:x\"><a href=x>1</a>", PAGE, &l)) {
    CHECK_EQ_STR(joined(&l), WIKI "/wiki/x");
    lf_links_free(&l);
  }
}

static void test_duplicates(void) {
  lf_links_t l;
  if (!extract("<a href=/a>1</a><a href=/b>2</a><a href=/a#x>3</a><a href=/c>4</a>"
               "<a href=\"https://EN.wikipedia.org/b\">5</a><a href=\"" WIKI "/a\">6</a>",
               PAGE, &l)) {
    CHECK_EQ_STR(joined(&l), WIKI "/a\n" WIKI "/b\n" WIKI "/c");
    CHECK_EQ_INT(l.matched, 6);
    CHECK_EQ_INT(l.skipped, 0);
    lf_links_free(&l);
  }
}

/* Many links with few distinct URLs: exercises the hash set's growth and first-seen order. */
static void test_many_duplicates(void) {
  size_t cap = 5000 * 40, n = 0;
  char *html = malloc(cap);
  CHECK(html != NULL);
  if (!html) return;
  for (int i = 0; i < 5000; i++)
    n += (size_t)snprintf(html + n, cap - n, "<a href=\"/p%d\">x</a>", (i * 7) % 1000);
  lf_links_t l;
  if (!extract(html, "http://h/", &l)) {
    CHECK_EQ_INT(l.count, 1000);
    CHECK_EQ_INT(l.matched, 5000);
    int in_order = l.count == 1000;
    for (size_t i = 0; in_order && i < l.count; i++) {
      char want[32];
      snprintf(want, sizeof(want), "http://h/p%zu", (i * 7) % 1000);
      in_order = strcmp(l.urls[i], want) == 0;
    }
    CHECK(in_order);
    lf_links_free(&l);
  }
  free(html);
}

static void test_encoding(void) {
  const char *html = "<a href=\"/wiki/C%C3%B4te_d%27Ivoire\">1</a>"
                     "<a href=\"/wiki/Georgia_(country)\">2</a>"
                     "<a href=\"/wiki/S%C3%A3o_Tom%C3%A9_and_Pr%C3%ADncipe\">3</a>"
                     "<a href=\"/wiki/C\xc3\xb4te_d'Ivoire\">4</a>"
                     "<a href=\"/wiki/a b?q=c d&amp;e='f'\">5</a>"
                     "<a href=\"https://en.wikipedia.org/wiki/\xc3\x85land\">6</a>"
                     "<a href=\"/x\\y\">7</a>"
                     "<a href=\"/q?a=%zz&amp;b=%2F\">8</a>"
                     "<a href=\"/\xc3\xa9#\xc3\xa9 x\">9</a>";
  lf_links_t l;
  if (extract(html, PAGE, &l)) return;
  CHECK_EQ_STR(joined(&l),
               WIKI "/wiki/C%C3%B4te_d%27Ivoire\n" WIKI "/wiki/Georgia_(country)\n" WIKI
                    "/wiki/S%C3%A3o_Tom%C3%A9_and_Pr%C3%ADncipe\n" WIKI
                    "/wiki/C%C3%B4te_d'Ivoire\n" WIKI "/wiki/a%20b?q=c%20d&e=%27f%27\n" WIKI
                    "/wiki/%C3%85land\n" WIKI "/x/y\n" WIKI "/q?a=%zz&b=%2F\n" WIKI "/%C3%A9");
  CHECK_EQ_INT(l.skipped, 0);
  lf_links_free(&l);
}

/* <template> contents are inert, as in a browser: their links are not collected. */
static void test_template_skipped(void) {
  lf_links_t l;
  if (!extract("<a href=/1>1</a><template><a href=/t>t</a></template><a href=/2>2</a>", "http://h/",
               &l)) {
    CHECK_EQ_STR(joined(&l), "http://h/1\nhttp://h/2");
    CHECK_EQ_INT(l.matched, 2);
    lf_links_free(&l);
  }
}

static void test_selector_applies(void) {
  const char *wiki = "<table><tr><td><span class=\"flagicon\"><span><img src=x></span>&nbsp;</span>"
                     "<a href=\"/wiki/India\">India</a> <a href=\"/wiki/Note\">n</a></td></tr>"
                     "<tr><td><a href=\"/wiki/Noflag\">x</a></td></tr>"
                     "<tr><td><span class=\"flagicon\"></span><a>no href</a></td></tr></table>"
                     "<link rel=stylesheet href=/style.css>";
  lf_links_t l;
  char err[128];
  CHECK_EQ_INT(lf_links_extract(wiki, strlen(wiki), "https://en.wikipedia.org/wiki/X",
                                "td .flagicon + a, link[rel=stylesheet]", &l, err, sizeof(err)),
               0);
  CHECK_EQ_STR(joined(&l), WIKI "/wiki/India\n" WIKI "/style.css");
  CHECK_EQ_INT(l.matched, 3);
  CHECK_EQ_INT(l.skipped, 1);
  lf_links_free(&l);
}

/* len bounds the input: the buffer need not be NUL-terminated, nothing past len is read. */
static void test_length_and_empty(void) {
  char *html = malloc(15); /* exactly "<a href=/x></a>", so ASan sees any read past it */
  lf_links_t l;
  char err[64];
  CHECK(html != NULL);
  if (html) {
    memcpy(html, "<a href=/x></a><a href=/y></a>", 15);
    CHECK_EQ_INT(lf_links_extract(html, 15, "http://h/", "a", &l, err, sizeof(err)), 0);
    CHECK_EQ_STR(joined(&l), "http://h/x");
    lf_links_free(&l);
    free(html);
  }
  CHECK_EQ_INT(lf_links_extract("", 0, "http://localhost/", "a", &l, err, sizeof(err)), 0);
  CHECK_EQ_INT(l.count, 0);
  CHECK_EQ_INT(l.matched, 0);
  lf_links_free(&l);
  CHECK_EQ_INT(lf_links_extract(NULL, 0, "http://localhost/", "a", &l, NULL, 0), 0);
  lf_links_free(&l);
}

static int is_empty(const lf_links_t *l) {
  return l->urls == NULL && l->count == 0 && l->matched == 0 && l->skipped == 0 && l->too_long == 0;
}

static void test_bad_selector(void) {
  lf_links_t l = {(char **)&l, 7, 7, 7, 7};
  char err[128] = "";
  CHECK_EQ_INT(lf_links_extract("<a href=/x>", 11, PAGE, "td a]", &l, err, sizeof(err)),
               LF_ESELECTOR);
  CHECK_EQ_STR(err, "unexpected ']' at position 4");
  CHECK(is_empty(&l));
  CHECK_EQ_INT(lf_links_extract("<a href=/x>", 11, PAGE, "", &l, err, sizeof(err)), LF_ESELECTOR);
  CHECK_EQ_STR(err, "empty selector at position 0");
  CHECK(is_empty(&l));
  lf_links_free(&l); /* harmless on an emptied result */
}

static void check_bad_page(const char *page, int line) {
  lf_links_t l = {(char **)&l, 7, 7, 7, 7};
  char err[256] = "";
  int rc = lf_links_extract("<a href=/x>", 11, page, "a", &l, err, sizeof(err));
  if (rc != LF_EURL || strncmp(err, "invalid page URL '", 18) != 0 || !is_empty(&l)) {
    fprintf(stderr, "  line %d: page '%s': rc %d, \"%s\"\n", line, page, rc, err);
    CHECK(0);
  } else {
    CHECK(1);
  }
}

static void test_bad_page_url(void) {
  check_bad_page("not a url", __LINE__);
  check_bad_page("", __LINE__);
  check_bad_page("/relative/path", __LINE__);
  check_bad_page("ftp://example.com/", __LINE__);
  check_bad_page("mailto:x@example.com", __LINE__);
  check_bad_page("http://", __LINE__);
  check_bad_page("https://example.com:99999/", __LINE__);
  lf_links_t l;
  char err[256];
  CHECK_EQ_INT(lf_links_extract("", 0, "ftp://x/", "a", &l, err, sizeof(err)), LF_EURL);
  CHECK_EQ_STR(err, "invalid page URL 'ftp://x/': scheme is not http or https");
  /* The selector is checked first, so a bad selector wins over a bad page URL. */
  CHECK_EQ_INT(lf_links_extract("", 0, "ftp://x/", "a >", &l, err, sizeof(err)), LF_ESELECTOR);
}

static void test_bad_arguments(void) {
  lf_links_t l;
  char err[128];
  CHECK_EQ_INT(lf_links_extract("", 0, PAGE, "a", NULL, err, sizeof(err)), LF_EINVAL);
  CHECK_EQ_INT(lf_links_extract(NULL, 5, PAGE, "a", &l, err, sizeof(err)), LF_EINVAL);
  CHECK(is_empty(&l));
  CHECK_EQ_INT(lf_links_extract("", 0, NULL, "a", &l, err, sizeof(err)), LF_EINVAL);
  CHECK_EQ_INT(lf_links_extract("", 0, PAGE, NULL, &l, err, sizeof(err)), LF_EINVAL);
  lf_links_free(NULL);
  /* A page whose Content-Type says it is not HTML is LF_ENOTHTML (issue 25, item 12: every
   * public code is one the library returns); HTML, XHTML, no type or an empty one are parsed. */
  const char *page = "<a href=/x>x</a>";
  CHECK_EQ_INT(lf_links_extract2(page, strlen(page), PAGE, "text/plain; charset=utf-8", "a", &l,
                                 err, sizeof(err)),
               LF_ENOTHTML);
  CHECK_EQ_STR(err, "not HTML (Content-Type: text/plain; charset=utf-8)");
  CHECK(is_empty(&l));
  CHECK_EQ_INT(lf_links_extract2(page, strlen(page), PAGE, "application/json", "a", &l, NULL, 0),
               LF_ENOTHTML);
  const char *html_types[] = {
      "text/html", "TEXT/HTML; charset=utf-8", " text/html", "application/xhtml+xml", "", NULL};
  for (size_t i = 0; i < sizeof(html_types) / sizeof(html_types[0]); i++) {
    CHECK_EQ_INT(
        lf_links_extract2(page, strlen(page), PAGE, html_types[i], "a", &l, err, sizeof(err)), 0);
    CHECK_EQ_INT(l.count, 1);
    lf_links_free(&l);
  }
}

/* One 9 MB href among good links (issue 28, 21): that link is skipped and counted, the good
 * ones are kept; an href at the cap still resolves; a URL over the cap after resolution (a
 * long relative href on a long base) is skipped too. */
static void test_huge_href(void) {
  size_t huge = 9u << 20;
  char *html = malloc(huge + 256);
  CHECK(html != NULL);
  if (!html) return;
  size_t n = (size_t)sprintf(html, "<a href=/good1>1</a><a href=\"/");
  memset(html + n, 'x', huge);
  n += huge;
  n += (size_t)sprintf(html + n, "\">big</a><a href=/good2>2</a>");
  lf_links_t l;
  char err[256];
  CHECK_EQ_INT(lf_links_extract(html, n, "http://h/", "a", &l, err, sizeof(err)), 0);
  CHECK_EQ_INT(l.count, 2);
  CHECK_EQ_STR(joined(&l), "http://h/good1\nhttp://h/good2");
  CHECK_EQ_INT(l.matched, 3);
  CHECK_EQ_INT(l.skipped, 1);
  CHECK_EQ_INT(l.too_long, 1);
  lf_links_free(&l);
  /* "/" + 65,519 x: the URL "http://h/xxx..." is 65,528 bytes, within the cap */
  n = (size_t)sprintf(html, "<a href=\"/");
  memset(html + n, 'x', LF_URL_MAX - 17);
  n += LF_URL_MAX - 17;
  n += (size_t)sprintf(html + n, "\">a</a><a href=\"");
  memset(html + n, 'y', LF_URL_MAX - 1); /* relative: its URL is longer than the href */
  n += LF_URL_MAX - 1;
  n += (size_t)sprintf(html + n, "\">b</a>");
  CHECK_EQ_INT(lf_links_extract(html, n, "http://h/", "a", &l, err, sizeof(err)), 0);
  CHECK_EQ_INT(l.count, 1);
  CHECK_EQ_INT(l.too_long, 1);
  CHECK(l.count == 1 && strlen(l.urls[0]) == LF_URL_MAX - 8);
  lf_links_free(&l);
  free(html);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * n + tl + 1), *p = s;
  memcpy(p, head, hl);
  p += hl;
  for (size_t i = 0; i < n; i++, p += ul)
    memcpy(p, unit, ul);
  memcpy(p, tail, tl + 1);
  return s;
}

static int extract_a(const char *html, lf_links_t *l, char *err, size_t errlen) {
  return lf_links_extract(html, strlen(html), "http://h/", "a", l, err, errlen);
}

/* Pages gumbo would take minutes over are refused before the parse, naming the cap (issue 28,
 * 3); shapes of real pages far larger than the caps' thresholds pass: implied end tags (rows,
 * cells, items and paragraphs never closed), deep but balanced markup, raw text and comments
 * that look like tags. */
static void test_too_complex(void) {
  lf_links_t l;
  char err[256];
  char *deep = repeat("<body>", "<div>", 200000, "<a href=/x>x</a>");
  CHECK_EQ_INT(extract_a(deep, &l, err, sizeof(err)), LF_ECOMPLEX);
  CHECK_EQ_STR(err, "page too complex to parse: elements are nested more than 8192 deep");
  CHECK(is_empty(&l));
  free(deep);
  deep = repeat("<body>", "<span>", 4000, "<a href=/x>x</a>"); /* under the depth cap */
  CHECK_EQ_INT(extract_a(deep, &l, err, sizeof(err)), 0);
  CHECK_EQ_INT(l.count, 1);
  lf_links_free(&l);
  free(deep);
  char *attrs = repeat("<div", " a", 40000, "><a href=/x>x</a>"); /* a, a, a, ...: 40,000 */
  CHECK_EQ_INT(extract_a(attrs, &l, err, sizeof(err)), LF_ECOMPLEX);
  CHECK_EQ_STR(err, "page too complex to parse: an element has more than 4096 attributes");
  free(attrs);
  /* under both caps, but over the steps: 20 runs of 4,000 nested and closed */
  char *runs;
  char *unit = repeat("", "<i>", 4000, "");
  char *close = repeat("", "</i>", 4000, "");
  char *pair = malloc(strlen(unit) + strlen(close) + 1);
  strcpy(pair, unit);
  strcat(pair, close);
  runs = repeat("<body>", pair, 20, "<a href=/x>x</a>");
  CHECK_EQ_INT(extract_a(runs, &l, err, sizeof(err)), LF_ECOMPLEX);
  CHECK(strstr(err, "parser steps") != NULL);
  free(runs);
  runs = repeat("<body>", pair, 2, "<a href=/x>x</a>"); /* 16M steps: parsed */
  CHECK_EQ_INT(extract_a(runs, &l, err, sizeof(err)), 0);
  lf_links_free(&l);
  free(runs);
  free(pair);
  free(unit);
  free(close);
  /* real shapes, each 30,000 times: never refused */
  const char *shapes[] = {
      "<tr><td><a href=/x>x</a><td><div>y</td>",  /* cells and rows never closed, a div in one */
      "<li><p>item <b>bold</b><li>",              /* items and paragraphs never closed */
      "<div><span><a href=/x>x</a></span></div>", /* balanced */
      "<script>if (a<b) document.write('<div><div>')</script><!-- <div><div> -->",
      "<p>text<br><img src=x><input><hr>", /* void elements */
  };
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    char *page = repeat("<!DOCTYPE html><body><table>", shapes[i], 30000, "</table>");
    int rc = extract_a(page, &l, err, sizeof(err));
    if (rc) fprintf(stderr, "shape %zu: %s\n", i, err);
    CHECK_EQ_INT(rc, 0);
    lf_links_free(&l);
    free(page);
  }
}

/* lf_links_extract_n: each selector's links as lf_links_extract2 gives them, from one parse;
 * a bad selector among them fails the call with nothing to free. */
static void test_several_selectors(void) {
  const char *html = "<base href='/b/'><p><a class=i href=x>1</a><a class=i href=x>1 again</a>"
                     "<a class=n href='?p=2'>next</a><a href=mailto:a@b>m</a></p>";
  const char *sels[3] = {"a.i", "a.n", "p a"};
  lf_links_t many[3], one;
  char err[256] = "unset";
  CHECK_EQ_INT(
      lf_links_extract_n(html, strlen(html), PAGE, "text/html", sels, 3, many, err, sizeof(err)),
      0);
  CHECK_EQ_STR(err, "");
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(
        lf_links_extract2(html, strlen(html), PAGE, "text/html", sels[i], &one, err, sizeof(err)),
        0);
    CHECK_EQ_STR(joined(&many[i]), joined(&one));
    CHECK_EQ_INT((int)many[i].matched, (int)one.matched);
    CHECK_EQ_INT((int)many[i].skipped, (int)one.skipped);
    lf_links_free(&one);
    lf_links_free(&many[i]);
  }
  CHECK_EQ_STR(joined(&(lf_links_t){.urls = (char *[]){WIKI "/b/x"}, .count = 1}), WIKI "/b/x");
  const char *bad[2] = {"a", "a]"};
  lf_links_t two[2] = {{(char **)&two, 7, 7, 7, 7}, {(char **)&two, 7, 7, 7, 7}};
  CHECK_EQ_INT(lf_links_extract_n(html, strlen(html), PAGE, NULL, bad, 2, two, err, sizeof(err)),
               LF_ESELECTOR);
  CHECK(is_empty(&two[0]) && is_empty(&two[1]));
  CHECK_EQ_INT(
      lf_links_extract_n(html, strlen(html), PAGE, "text/plain", sels, 2, two, err, sizeof(err)),
      LF_ENOTHTML);
  CHECK_EQ_INT(lf_links_extract_n(html, strlen(html), PAGE, NULL, sels, 0, two, err, sizeof(err)),
               LF_EINVAL);
}

int main(void) {
  test_several_selectors();
  test_too_complex();
  test_huge_href();
  test_resolution();
  test_skipped();
  test_base();
  test_duplicates();
  test_many_duplicates();
  test_encoding();
  test_template_skipped();
  test_selector_applies();
  test_length_and_empty();
  test_bad_selector();
  test_bad_page_url();
  test_bad_arguments();
  return lf_test_report();
}
