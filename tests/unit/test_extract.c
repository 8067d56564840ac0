/* Unit tests for field extraction (lib/html/extract.c): field specs and their errors, the text
 * rule, ::attr and ::url, arrays, --each scoping, charsets, and pages that try to break it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* uv.h, included by loopfetch.h, needs POSIX types */
#endif
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "test.h"

#define PAGE "https://en.wikipedia.org/wiki/Germany?x=1#top"

/* A value as JSON-ish text for comparison: null, "s" or ["a","b"] (no escaping: tests only). */
static const char *shown(const lf_value_t *v) {
  static char buf[4][4096];
  static int which;
  char *b = buf[which++ % 4];
  size_t n = 0;
  b[0] = '\0';
  if (!v->array && !v->count) return "null";
  if (v->array) n += (size_t)snprintf(b + n, 4096 - n, "[");
  for (size_t i = 0; i < v->count && n < 4000; i++)
    n += (size_t)snprintf(b + n, 4096 - n, "%s\"%s\"", i ? "," : "", v->items[i]);
  if (v->array) snprintf(b + n, 4096 - n, "]");
  return b;
}

/* Compiles each (may be NULL) and the specs (NULL-terminated), or fails the test. */
static lf_extract_t *compile(const char *each, const char *const *specs) {
  char err[256];
  lf_extract_t *x = NULL;
  int rc = lf_extract_new(each, &x, err, sizeof(err));
  if (rc) fprintf(stderr, "  lf_extract_new(%s): %s\n", each, err);
  CHECK_EQ_INT(rc, 0);
  for (size_t i = 0; x && specs[i]; i++) {
    rc = lf_extract_add(x, specs[i], err, sizeof(err));
    if (rc) fprintf(stderr, "  lf_extract_add(%s): %s\n", specs[i], err);
    CHECK_EQ_INT(rc, 0);
  }
  return x;
}

/* Extracts from a NUL-terminated page: the records, or count 0 after a failed check. */
static lf_records_t run(lf_extract_t *x, const char *html, const char *ctype) {
  lf_records_t r;
  char err[256] = "unset";
  int rc = x ? lf_extract_page(x, html, strlen(html), PAGE, ctype, &r, err, sizeof(err)) : -1;
  if (rc) fprintf(stderr, "  lf_extract_page: %d %s\n", rc, err);
  CHECK_EQ_INT(rc, 0);
  if (!rc) CHECK_EQ_STR(err, "");
  return r;
}

/* The one field of the one record of a page, with spec "v=SPEC". */
static const char *one(const char *spec, const char *html) {
  char full[512];
  snprintf(full, sizeof(full), "v=%s", spec);
  const char *specs[] = {full, NULL};
  lf_extract_t *x = compile(NULL, specs);
  lf_records_t r = run(x, html, NULL);
  static char kept[4096];
  snprintf(kept, sizeof(kept), "%s", r.count == 1 && r.fields == 1 ? shown(&r.values[0]) : "?");
  lf_records_free(&r);
  lf_extract_free(x);
  return kept;
}

static void test_text_rule(void) {
  CHECK_EQ_STR(one("p", "<p>A<br>B</p>"), "\"A B\"");
  CHECK_EQ_STR(one("p", "<p><b>Ger</b>many</p>"), "\"Germany\"");
  CHECK_EQ_STR(one("p::text", "<p> \t\r\n A \f\n  B \n</p>"), "\"A B\"");
  CHECK_EQ_STR(one("tr", "<table><tr><td>a</td><td>b</td><th>c</th></tr></table>"), "\"a b c\"");
  CHECK_EQ_STR(one("div", "<div>x<script>var a=1;</script><style>p{}</style>y"
                          "<noscript>no</noscript><template>t</template>z</div>"),
               "\"xyz\"");
  CHECK_EQ_STR(one("div", "<div>1<p>2</p>3<ul><li>4</li><li>5</li></ul>6<h2>7</h2>8</div>"),
               "\"1 2 3 4 5 6 7 8\"");
  /* inline elements are not edges; U+00A0 stays; entities are decoded */
  CHECK_EQ_STR(one("p", "<p>83&nbsp;million <i>people</i><span>!</span> &amp; &lt;more&gt;</p>"),
               "\"83\xc2\xa0million people! & <more>\"");
  /* the matched element itself may be a script: its own text is read */
  CHECK_EQ_STR(one("script[type]", "<script type=x>{ \"a\":  1 }</script>"), "\"{ \"a\": 1 }\"");
  CHECK_EQ_STR(one("p", "<p>a<!-- comment -->b</p>"), "\"ab\"");
  CHECK_EQ_STR(one("p", "<p>   </p>"), "\"\"");
  CHECK_EQ_STR(one("br", "<p>a<br>b</p>"), "\"\"");
  CHECK_EQ_STR(one("pre", "<pre>\n  two\n  lines</pre>"), "\"two lines\"");
  /* an SVG title is not an HTML block; <br> only as HTML */
  CHECK_EQ_STR(one("div", "<div>a<svg><title>t</title></svg>b</div>"), "\"atb\"");
  CHECK_EQ_STR(one("h1", "<h1>no match here</h1>"), "\"no match here\"");
  CHECK_EQ_STR(one("h2", "<h1>x</h1>"), "null");
  CHECK_EQ_STR(one("td", "<td>x</td>"), "null"); /* a td outside a table is not an element */
}

static void test_attr_url(void) {
  const char *page = "<a class=x title='Caf&eacute; &amp; co' href='/wiki/Berlin#History'>B</a>"
                     "<a class=x href='Paris'>P</a>";
  CHECK_EQ_STR(one("a::attr(title)", page), "\"Café & co\"");
  CHECK_EQ_STR(one("a::attr(href)", page), "\"/wiki/Berlin#History\"");
  CHECK_EQ_STR(one("a::url(href)", page), "\"https://en.wikipedia.org/wiki/Berlin\"");
  CHECK_EQ_STR(one("a::attr( HREF )", page), "\"/wiki/Berlin#History\"");
  /* the first match without the attribute: null, later matches not tried */
  CHECK_EQ_STR(one("a::attr(id)", "<a>1</a><a id=two>2</a>"), "null");
  CHECK_EQ_STR(one("a::url(href)", "<a>1</a><a href=/x>2</a>"), "null");
  /* not http(s): null */
  CHECK_EQ_STR(one("a::url(href)", "<a href='javascript:void(0)'>j</a>"), "null");
  CHECK_EQ_STR(one("a::url(href)", "<a href='mailto:a@b.c'>m</a>"), "null");
  /* the first <base href>, even after the element */
  CHECK_EQ_STR(one("a::url(href)", "<a href='x?q=1#f'>l</a><base href='http://other.org/d/'>"
                                   "<base href='http://third.org/'>"),
               "\"http://other.org/d/x?q=1\"");
  CHECK_EQ_STR(one("img::url(src)", "<img src='//upload.wikimedia.org/a.svg'>"),
               "\"https://upload.wikimedia.org/a.svg\"");
  /* "::" inside a quoted attribute value is part of the selector */
  CHECK_EQ_STR(one("a[title='x::text']::attr(title)", "<a title='x::text'>q</a>"), "\"x::text\"");
}

static void test_arrays(void) {
  const char *page = "<ul><li><a href=/a>A</a></li><li><a>no href</a></li>"
                     "<li><a href='javascript:x'>J</a></li><li><a href=/b>B<br>b</a></li></ul>";
  const char *specs[] = {"names[]=li a", "links[]=li a::url(href)", "raw[]=a::attr(href)",
                         "none[]=table", "first=li a::url(href)",   NULL};
  lf_extract_t *x = compile(NULL, specs);
  CHECK_EQ_INT(lf_extract_fields(x), 5);
  CHECK_EQ_STR(lf_extract_field_name(x, 0), "names");
  CHECK_EQ_STR(lf_extract_field_name(x, 4), "first");
  CHECK(lf_extract_field_name(x, 5) == NULL);
  lf_records_t r = run(x, page, NULL);
  CHECK_EQ_INT(r.count, 1);
  CHECK_EQ_INT(r.fields, 5);
  if (r.count == 1) {
    CHECK_EQ_STR(shown(&r.values[0]), "[\"A\",\"no href\",\"J\",\"B b\"]");
    CHECK_EQ_STR(shown(&r.values[1]),
                 "[\"https://en.wikipedia.org/a\",\"https://en.wikipedia.org/b\"]");
    CHECK_EQ_STR(shown(&r.values[2]), "[\"/a\",\"javascript:x\",\"/b\"]");
    CHECK_EQ_STR(shown(&r.values[3]), "[]");
    CHECK_EQ_STR(shown(&r.values[4]), "\"https://en.wikipedia.org/a\"");
  }
  lf_records_free(&r);
  CHECK(r.values == NULL && r.count == 0);
  lf_records_free(&r); /* twice is harmless */
  lf_extract_free(x);
}

static void test_each(void) {
  /* fields select among each match's descendants, against the whole document as
   * element.querySelectorAll() does: "table td" finds a row's cells though the table is
   * outside the row, and "tr" never finds the row itself */
  const char *page = "<table class=wikitable><tr><th>Name</th><th>Pop</th></tr>"
                     "<tr class=r><td><a href='/wiki/China'>China</a></td><td>1,411</td></tr>"
                     "<tr class=r><td><a href='/wiki/India'>India</a><sup>[a]</sup></td>"
                     "<td></td></tr>"
                     "<tr class=r><td>Nowhere</td></tr></table>";
  const char *specs[] = {"name=table td:first-child a",
                         "link=td a::url(href)",
                         "pop=td:nth-child(2)",
                         "self=tr",
                         "cells[]=table td",
                         NULL};
  lf_extract_t *x = compile("tr.r", specs);
  lf_records_t r = run(x, page, NULL);
  CHECK_EQ_INT(r.count, 3);
  if (r.count == 3) {
    lf_value_t *v = r.values;
    CHECK_EQ_STR(shown(&v[0]), "\"China\"");
    CHECK_EQ_STR(shown(&v[1]), "\"https://en.wikipedia.org/wiki/China\"");
    CHECK_EQ_STR(shown(&v[2]), "\"1,411\"");
    CHECK_EQ_STR(shown(&v[3]), "null");
    CHECK_EQ_STR(shown(&v[4]), "[\"China\",\"1,411\"]");
    CHECK_EQ_STR(shown(&v[5]), "\"India\"");
    CHECK_EQ_STR(shown(&v[7]), "\"\"");
    CHECK_EQ_STR(shown(&v[9]), "[\"India[a]\",\"\"]");
    CHECK_EQ_STR(shown(&v[10]), "null");
    CHECK_EQ_STR(shown(&v[11]), "null");
    CHECK_EQ_STR(shown(&v[12]), "null");
    CHECK_EQ_STR(shown(&v[14]), "[\"Nowhere\"]");
  }
  lf_records_free(&r);
  /* no match of --each: no records */
  r = run(x, "<p>nothing</p>", NULL);
  CHECK_EQ_INT(r.count, 0);
  CHECK(r.values == NULL);
  lf_records_free(&r);
  lf_extract_free(x);

  /* nested matches: each is a record, and an outer one sees what is inside the inner one */
  const char *nested = "<div id=o><div id=i><b>1</b></div><b>2</b><i>x</i></div>";
  const char *specs2[] = {"b=b", "all[]=b", "i=i", NULL};
  x = compile("div", specs2);
  r = run(x, nested, NULL);
  CHECK_EQ_INT(r.count, 2);
  if (r.count == 2) {
    CHECK_EQ_STR(shown(&r.values[0]), "\"1\"");
    CHECK_EQ_STR(shown(&r.values[1]), "[\"1\",\"2\"]");
    CHECK_EQ_STR(shown(&r.values[2]), "\"x\"");
    CHECK_EQ_STR(shown(&r.values[3]), "\"1\"");
    CHECK_EQ_STR(shown(&r.values[4]), "[\"1\"]");
    CHECK_EQ_STR(shown(&r.values[5]), "null");
  }
  lf_records_free(&r);
  lf_extract_free(x);

  /* --each without fields: one record per match, no values */
  const char *none[] = {NULL};
  x = compile("li", none);
  r = run(x, "<ul><li>a<li>b<li>c</ul>", NULL);
  CHECK_EQ_INT(r.count, 3);
  CHECK_EQ_INT(r.fields, 0);
  lf_records_free(&r);
  lf_extract_free(x);
}

/* Each bad spec is refused with its position in the message. */
static void bad(const char *spec, const char *message) {
  lf_extract_t *x = NULL;
  char err[256] = "";
  CHECK_EQ_INT(lf_extract_new(NULL, &x, err, sizeof(err)), 0);
  const char *first = "taken=h1";
  CHECK_EQ_INT(lf_extract_add(x, first, err, sizeof(err)), 0);
  int rc = lf_extract_add(x, spec, err, sizeof(err));
  CHECK_EQ_INT(rc, LF_ESELECTOR);
  if (strcmp(err, message) != 0) fprintf(stderr, "  spec '%s'\n", spec);
  CHECK_EQ_STR(err, message);
  CHECK_EQ_INT(lf_extract_fields(x), 1);
  lf_extract_free(x);
}

static void test_errors(void) {
  bad("h1", "expected NAME=SELECTOR, found no '=' at position 2");
  bad("td a", "expected NAME=SELECTOR (a name is letters, digits, '_', '-', '.'), found ' ' at "
              "position 2");
  bad("=h1", "missing field name at position 0");
  bad("url=h1", "field name 'url' is reserved (records carry url, parent and depth) at position 0");
  bad("Parent=h1",
      "field name 'Parent' is reserved (records carry url, parent and depth) at position 0");
  bad("depth[]=h1",
      "field name 'depth' is reserved (records carry url, parent and depth) at position 0");
  bad("taken=h2", "field name 'taken' given twice at position 0");
  bad("x=h1::txt", "expected ::text, ::attr(ATTR) or ::url(ATTR) at position 4");
  bad("x=h1::attr()", "expected an attribute name at position 11");
  bad("x=h1::url(href", "expected ')' at position 14");
  bad("x=h1::attr(a b)", "expected ')' at position 13");
  bad("x=h1::attr(href)x", "unexpected text after ')' at position 16");
  bad("x=", "empty selector at position 2");
  bad("x=::text", "empty selector at position 2");
  bad("long.name-1=td[", "unclosed '[' at position 14");
  bad("x[]=a,,b", "unexpected ',' at position 6");
  bad("a\nb=h1", "expected NAME=SELECTOR (a name is letters, digits, '_', '-', '.'), found \\x0a "
                 "at position 1");
  bad(" a=h1", "expected NAME=SELECTOR (a name is letters, digits, '_', '-', '.'), found ' ' at "
               "position 0");
  bad("x[=a", "expected NAME=SELECTOR (a name is letters, digits, '_', '-', '.'), found '[' at "
              "position 1");

  lf_extract_t *x = (lf_extract_t *)1;
  char err[256];
  CHECK_EQ_INT(lf_extract_new("tr[", &x, err, sizeof(err)), LF_ESELECTOR);
  CHECK(x == NULL);
  CHECK_EQ_STR(err, "unclosed '[' at position 2");
  CHECK_EQ_INT(lf_extract_new("", &x, err, sizeof(err)), LF_ESELECTOR);
  CHECK_EQ_INT(lf_extract_new(NULL, NULL, err, sizeof(err)), LF_EINVAL);
  CHECK_EQ_INT(lf_extract_add(NULL, "a=b", err, sizeof(err)), LF_EINVAL);

  /* a non-ASCII name is fine; invalid UTF-8 in one is not */
  CHECK_EQ_INT(lf_extract_new(NULL, &x, NULL, 0), 0);
  CHECK_EQ_INT(lf_extract_add(x, "Bevölkerung=td", err, sizeof(err)), 0);
  CHECK_EQ_STR(lf_extract_field_name(x, 0), "Bevölkerung");
  CHECK_EQ_INT(lf_extract_add(x, "a\xff=td", err, sizeof(err)), LF_ESELECTOR);
  lf_records_t r;
  CHECK_EQ_INT(lf_extract_page(x, "<p>", 3, "ftp://x/", NULL, &r, err, sizeof(err)), LF_EURL);
  CHECK_EQ_INT(lf_extract_page(x, NULL, 3, PAGE, NULL, &r, err, sizeof(err)), LF_EINVAL);
  CHECK_EQ_INT(lf_extract_page(x, NULL, 0, PAGE, NULL, &r, err, sizeof(err)), 0);
  CHECK_EQ_INT(r.count, 1);
  CHECK_EQ_STR(shown(&r.values[0]), "null");
  lf_records_free(&r);
  lf_extract_free(x);
  lf_extract_free(NULL);
}

static void test_charsets(void) {
  /* windows-1252 by <meta>: text and attributes decoded; the query of a URL in the page's
   * encoding, as links are */
  const char *specs[] = {"t=p", "u=a::url(href)", "a=a::attr(title)", NULL};
  lf_extract_t *x = compile(NULL, specs);
  const char *latin = "<meta charset=windows-1252><p>caf\xe9 \x80 \x81</p>"
                      "<a title='\xe9t\xe9' href='/wiki/Caf\xe9?q=\xe9'>x</a>";
  lf_records_t r = run(x, latin, NULL);
  if (r.count == 1) {
    CHECK_EQ_STR(shown(&r.values[0]), "\"caf\xc3\xa9 \xe2\x82\xac \xc2\x81\"");
    CHECK_EQ_STR(shown(&r.values[1]), "\"https://en.wikipedia.org/wiki/Caf%C3%A9?q=%E9\"");
    CHECK_EQ_STR(shown(&r.values[2]), "\"\xc3\xa9t\xc3\xa9\"");
  }
  lf_records_free(&r);
  /* the Content-Type's charset comes before the <meta> */
  r = run(x, "<meta charset=utf-8><p>\xe9</p>", "text/html; charset=iso-8859-1");
  if (r.count == 1) CHECK_EQ_STR(shown(&r.values[0]), "\"\xc3\xa9\"");
  lf_records_free(&r);
  /* a UTF-8 page with a control character and a noncharacter: kept, as a browser keeps them */
  r = run(x, "<p>a\x01 b\xef\xb7\x90</p>", NULL);
  if (r.count == 1) CHECK_EQ_STR(shown(&r.values[0]), "\"a\x01 b\xef\xb7\x90\"");
  lf_records_free(&r);
  lf_extract_free(x);
}

/* Deep nesting: the text walk and the record stack are iterative, and each match of a field is
 * handed to the open records once (a first match stops at the first record that has one). */
static void test_deep(void) {
  enum { DEPTH = 5000 };
  char *html = malloc(DEPTH * 5 + 64);
  if (!html) return;
  char *w = html;
  for (int i = 0; i < DEPTH; i++)
    w += sprintf(w, "<div>");
  strcpy(w, "<p>x</p>y");
  const char *specs[] = {"t=p", "d=div::attr(id)", NULL};
  lf_extract_t *x = compile("div", specs);
  lf_records_t r = run(x, html, NULL);
  CHECK_EQ_INT(r.count, DEPTH);
  size_t good = 0;
  for (size_t i = 0; i < r.count; i++)
    good += strcmp(shown(&r.values[2 * i]), "\"x\"") == 0 &&
            strcmp(shown(&r.values[2 * i + 1]), "null") == 0;
  CHECK_EQ_INT(good, DEPTH);
  lf_records_free(&r);
  lf_extract_free(x);
  const char *specs2[] = {"t=body", NULL};
  x = compile(NULL, specs2);
  r = run(x, html, NULL);
  if (r.count == 1) CHECK_EQ_STR(shown(&r.values[0]), "\"x y\"");
  lf_records_free(&r);
  lf_extract_free(x);
  free(html);
}

int main(void) {
  test_text_rule();
  test_attr_url();
  test_arrays();
  test_each();
  test_errors();
  test_charsets();
  test_deep();
  return lf_test_report();
}
