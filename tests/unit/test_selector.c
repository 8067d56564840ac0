/* Unit tests for the CSS selector engine (lib/selector_*.c): parsing, error positions and
 * messages, and matching over small documents parsed with gumbo. Matches are checked as the
 * labels of the matched elements in document order, so a wrong or missing match shows. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* uv.h, included by loopfetch.h, needs POSIX types */
#endif
#include "selector_check.h"

/* ---- parser ---- */

static void test_valid_forms(void) {
  const char *ok[] = {
      "a",
      "A",
      "*",
      "h1",
      "my-tag",
      "x_y",
      "\xc3\xa9t\xc3\xa9",
      ".x",
      "#y",
      "#123",
      "[href]",
      "[href=x]",
      "[href='x y']",
      "[href=\"x y\"]",
      "[href='']",
      "[a~=b]",
      "[a|=en]",
      "[a^=h]",
      "[a$=h]",
      "[a*=h]",
      "[ href = 'x' ]",
      "[data-x_1]",
      "a.x[href]#y",
      "*.x",
      "*#y[z]",
      ".a.b.c",
      "a > b",
      "a>b",
      "a+b",
      "a + b",
      "a~b",
      "a ~ b",
      "a b",
      "a   b",
      "a\t\n\r\fb",
      "a,b",
      "a , b",
      " a , b ",
      " a ",
      "td .flagicon + a",
      "div p + a ~ b > c d",
      "#a\\:b",
      ".\\31 23",
      "[t=\"x\\\"y\"]",
      "a\\-b",
      "[t='a\\\nb']",
      "\\61",
      "[x=\xc3\xa9]",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    CHECK(compiles(ok[i]));
}

static void test_errors(void) {
  CHECK_ERROR("", 0, "empty selector at position 0");
  CHECK_ERROR("   ", 0, "empty selector at position 0");
  CHECK_ERROR("a,,b", 2, "unexpected ',' at position 2");
  CHECK_ERROR("a, ,b", 3, "unexpected ',' at position 3");
  CHECK_ERROR(",a", 0, "unexpected ',' at position 0");
  CHECK_ERROR("a,", 2, "unexpected end of selector at position 2");
  CHECK_ERROR("a, ", 3, "unexpected end of selector at position 3");
  CHECK_ERROR("a >", 3, "unexpected end of selector at position 3");
  CHECK_ERROR("a > ", 4, "unexpected end of selector at position 4");
  CHECK_ERROR("a +", 3, "unexpected end of selector at position 3");
  CHECK_ERROR("a~", 2, "unexpected end of selector at position 2");
  CHECK_ERROR(">a", 0, "unexpected '>' at position 0");
  CHECK_ERROR(" >a", 1, "unexpected '>' at position 1");
  CHECK_ERROR("+a", 0, "unexpected '+' at position 0");
  CHECK_ERROR("a > > b", 4, "unexpected '>' at position 4");
  CHECK_ERROR("a >, b", 3, "unexpected ',' at position 3");
  CHECK_ERROR("a[", 1, "unclosed '[' at position 1");
  CHECK_ERROR("a[href", 1, "unclosed '[' at position 1");
  CHECK_ERROR("a[href=", 1, "unclosed '[' at position 1");
  CHECK_ERROR("a[href=x", 1, "unclosed '[' at position 1");
  CHECK_ERROR("a[href^", 1, "unclosed '[' at position 1");
  CHECK_ERROR("a[href=\"x]", 7, "unclosed '\"' at position 7");
  CHECK_ERROR("a[href='x]", 7, "unclosed \"'\" at position 7");
  CHECK_ERROR("a[href='x\\", 7, "unclosed \"'\" at position 7");
  CHECK_ERROR("a[t=\"x\ny\"]", 6, "newline inside quoted value at position 6");
  CHECK_ERROR("a[]", 2, "expected an attribute name, found ']' at position 2");
  CHECK_ERROR("a[=x]", 2, "expected an attribute name, found '=' at position 2");
  CHECK_ERROR("a[href=]", 7, "expected a value, found ']' at position 7");
  CHECK_ERROR("a[href~x]", 7, "expected '=', found 'x' at position 7");
  CHECK_ERROR("a[href x]", 7, "expected ']' or an operator, found 'x' at position 7");
  CHECK_ERROR("a[href=x y]", 9, "expected ']', found 'y' at position 9");
  CHECK_ERROR("a]", 1, "unexpected ']' at position 1");
  CHECK_ERROR("td a]", 4, "unexpected ']' at position 4");
  CHECK_ERROR("a!", 1, "unexpected '!' at position 1");
  CHECK_ERROR("a b!", 3, "unexpected '!' at position 3");
  CHECK_ERROR("a ||b", 2, "unexpected '|' at position 2");
  CHECK(compiles("a |b")); /* |b: b in no namespace */
  CHECK_ERROR("[x]a", 3, "unexpected 'a' at position 3");
  CHECK_ERROR("a*", 1, "unexpected '*' at position 1");
  CHECK_ERROR("a\x01", 1, "unexpected byte 0x01 at position 1");
  CHECK_ERROR("..x", 1, "expected a class name, found '.' at position 1");
  CHECK_ERROR("a.b..c", 4, "expected a class name, found '.' at position 4");
  CHECK_ERROR("a.", 2, "expected a class name, found end of selector at position 2");
  CHECK_ERROR("#", 1, "expected an id, found end of selector at position 1");
  CHECK_ERROR("a# b", 2, "expected an id, found ' ' at position 2");
  CHECK_ERROR("a:hover", 1, "unsupported pseudo-class ':hover' at position 1");
  CHECK_ERROR(":hover", 0, "unsupported pseudo-class ':hover' at position 0");
  CHECK_ERROR("a, b:focus(.x)", 4, "unsupported pseudo-class ':focus' at position 4");
  CHECK_ERROR("a:visited", 1, "unsupported pseudo-class ':visited' at position 1");
  CHECK_ERROR("a:target", 1, "unsupported pseudo-class ':target' at position 1");
  CHECK_ERROR("input:checked", 5, "unsupported pseudo-class ':checked' at position 5");
  CHECK_ERROR("a:active, :enabled", 1, "unsupported pseudo-class ':active' at position 1");
  CHECK_ERROR(":disabled", 0, "unsupported pseudo-class ':disabled' at position 0");
  CHECK_ERROR("svg|a", 0, "undeclared namespace prefix 'svg' at position 0");
  CHECK_ERROR("p [xlink|href]", 3, "undeclared namespace prefix 'xlink' at position 3");
  CHECK_ERROR("\\1\n|b", 0, "undeclared namespace prefix at position 0");
  CHECK_ERROR("*|", 2, "expected a tag name or '*', found end of selector at position 2");
  CHECK_ERROR("a|", 1, "unexpected '|' at position 1");
  CHECK_ERROR(":is(a, b!)", 8, "unexpected '!' at position 8");
  CHECK_ERROR(":not(:hover)", 5, "unsupported pseudo-class ':hover' at position 5");
  CHECK_ERROR("a:first-child()", 1, "unsupported pseudo-class ':first-child' at position 1");
  CHECK_ERROR("a:nth-child(x)", 12,
              "expected An+B (such as 2n+1, odd or 3), found 'x' at position 12");
  CHECK_ERROR("a:nth-child(2n+)", 15, "expected a number, found ')' at position 15");
  CHECK_ERROR("a:not(b", 1, "unclosed '(' of ':not()' at position 1");
  CHECK_ERROR("a:has(b\n", 1, "unclosed '(' of ':has()' at position 1");
  CHECK_ERROR("a:is()", 5, "unexpected ')' at position 5");
  CHECK_ERROR("a)", 1, "unexpected ')' at position 1");
  CHECK_ERROR("a:has(b:has(c))", 7, "':has()' inside ':has()' at position 7");
  CHECK_ERROR("[a=b x]", 5, "expected ']', found 'x' at position 5");
  CHECK_ERROR("a:nth-child(1 of)", 14, "expected ')', found 'o' at position 14");
  CHECK_ERROR("a:nth-child(1 of )", 17, "unexpected ')' at position 17");
  CHECK_ERROR("p::before", 1, "unsupported pseudo-element '::before' at position 1");
  CHECK_ERROR("a:", 1, "unexpected ':' at position 1");
  CHECK_ERROR("a\\", 1, "unfinished escape at position 1");
}

static void test_error_buffers(void) {
  lf__selector_t *sel = NULL;
  size_t pos = 0;
  /* No buffer at all: the code and the position still come back. */
  CHECK_EQ_INT(lf__selector_compile("a >", &sel, &pos, NULL, 0), LF_ESELECTOR);
  CHECK_EQ_INT(pos, 3);
  CHECK(sel == NULL);
  /* A short buffer gets a truncated, terminated message. */
  char small[8];
  memset(small, 'z', sizeof(small));
  CHECK_EQ_INT(lf__selector_compile("a]", &sel, &pos, small, sizeof(small)), LF_ESELECTOR);
  CHECK_EQ_STR(small, "unexpec");
  /* Success clears a stale message. */
  char err[64] = "stale";
  CHECK_EQ_INT(lf__selector_compile("a", &sel, NULL, err, sizeof(err)), 0);
  CHECK_EQ_STR(err, "");
  CHECK(sel != NULL);
  lf__selector_free(sel);
  lf__selector_free(NULL);
}

/* ---- simple selectors ---- */

static const char *simple_doc = "<div id=d1 class=\"x  y\ttab\" lang=en-US title=\"hello world\">"
                                "<p id=p1 class=x>one</p>"
                                "<P id=p2 data-k=v>two</P>"
                                "<my-tag id=m1></my-tag><My-Tag id=m2></My-Tag>"
                                "<a id=a1 href=\"http://e/x.pdf\">a</a>"
                                "<a id=a2 href=\"/x.html\" rel=\"nofollow noopener\">b</a>"
                                "<i id=\"a:b\" class=\"123 caf\xc3\xa9\" title='x\"y'></i>"
                                "</div>";

static void test_type_and_universal(void) {
  CHECK_EQ_STR(select_labels(simple_doc, "p"), "p1 p2");
  CHECK_EQ_STR(select_labels(simple_doc, "P"), "p1 p2");
  CHECK_EQ_STR(select_labels(simple_doc, "my-tag"), "m1 m2");
  CHECK_EQ_STR(select_labels(simple_doc, "MY-TAG"), "m1 m2");
  CHECK_EQ_STR(select_labels(simple_doc, "my"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "a"), "a1 a2");
  CHECK_EQ_STR(select_labels(simple_doc, "span"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "*"), "html head body d1 p1 p2 m1 m2 a1 a2 a:b");
  CHECK_EQ_STR(select_labels(simple_doc, "\\61"), "a1 a2"); /* escaped 'a' */
}

static void test_class_and_id(void) {
  CHECK_EQ_STR(select_labels(simple_doc, ".x"), "d1 p1");
  CHECK_EQ_STR(select_labels(simple_doc, ".y"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, ".tab"), "d1"); /* split on tabs too */
  CHECK_EQ_STR(select_labels(simple_doc, ".X"), "");     /* class names are case-sensitive */
  CHECK_EQ_STR(select_labels(simple_doc, ".x.y"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "#p2"), "p2");
  CHECK_EQ_STR(select_labels(simple_doc, "#P2"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "#a\\:b"), "a:b");
  CHECK_EQ_STR(select_labels(simple_doc, ".\\31 23"), "a:b");
  CHECK_EQ_STR(select_labels(simple_doc, ".caf\xc3\xa9"), "a:b");
  CHECK_EQ_STR(select_labels(simple_doc, ".caf\\e9"), "a:b"); /* U+00E9, written as UTF-8 */
  CHECK_EQ_STR(select_labels(simple_doc, ".caf\\0000e9"), "a:b");
  CHECK_EQ_STR(select_labels(simple_doc, ".caf\\e9 .x"),
               ""); /* = .café.x: the escape eats the space */
  CHECK_EQ_STR(select_labels(simple_doc, ".caf\\e8"), "");
}

static void test_attributes(void) {
  CHECK_EQ_STR(select_labels(simple_doc, "[data-k]"), "p2");
  CHECK_EQ_STR(select_labels(simple_doc, "[DATA-K]"), "p2"); /* names are case-insensitive */
  CHECK_EQ_STR(select_labels(simple_doc, "[data-k=v]"), "p2");
  CHECK_EQ_STR(select_labels(simple_doc, "[data-k=V]"), ""); /* values are not */
  CHECK_EQ_STR(select_labels(simple_doc, "[href]"), "a1 a2");
  CHECK_EQ_STR(select_labels(simple_doc, "[rel~=noopener]"), "a2");
  CHECK_EQ_STR(select_labels(simple_doc, "[rel~=noop]"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "[title~='hello world']"), ""); /* whitespace: never */
  CHECK_EQ_STR(select_labels(simple_doc, "[title~=hello]"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "[lang|=en]"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "[lang|=en-US]"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "[lang|=e]"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "[href^=http]"), "a1");
  CHECK_EQ_STR(select_labels(simple_doc, "[href^='http://e/']"), "a1");
  CHECK_EQ_STR(select_labels(simple_doc, "[href$='.pdf']"), "a1");
  CHECK_EQ_STR(select_labels(simple_doc, "[href$=\".html\"]"), "a2");
  CHECK_EQ_STR(select_labels(simple_doc, "[href*=x]"), "a1 a2");
  CHECK_EQ_STR(select_labels(simple_doc, "[href*='/x.']"), "a1 a2");
  CHECK_EQ_STR(select_labels(simple_doc, "[href*='e/x']"), "a1");
  CHECK_EQ_STR(select_labels(simple_doc, "[href^=''],[href$=''],[href*='']"), ""); /* empty */
  CHECK_EQ_STR(select_labels(simple_doc, "[title='hello world']"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "[title=\"x\\\"y\"]"), "a:b");
  CHECK_EQ_STR(select_labels(simple_doc, "[ title = 'x\"y' ]"), "a:b");
}

static void test_compound(void) {
  CHECK_EQ_STR(select_labels(simple_doc, "p.x#p1"), "p1");
  CHECK_EQ_STR(select_labels(simple_doc, "p.x#p2"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "a.x"), "");
  CHECK_EQ_STR(select_labels(simple_doc, "a[href][rel]"), "a2");
  CHECK_EQ_STR(select_labels(simple_doc, "div#d1.x.y[lang|=en]"), "d1");
  CHECK_EQ_STR(select_labels(simple_doc, "*.x"), "d1 p1");
}

static void test_non_elements(void) {
  lf__selector_t *sel = NULL;
  CHECK_EQ_INT(lf__selector_compile("*", &sel, NULL, NULL, 0), 0);
  GumboOutput *doc = gumbo_parse("<p>text<!--c--></p>");
  const GumboNode *body = doc->root->v.element.children.data[1];
  const GumboNode *p = body->v.element.children.data[0];
  CHECK(lf__selector_matches(sel, p));
  CHECK(!lf__selector_matches(sel, p->v.element.children.data[0])); /* text */
  CHECK(!lf__selector_matches(sel, p->v.element.children.data[1])); /* comment */
  CHECK(!lf__selector_matches(sel, doc->document));
  gumbo_destroy_output(&kGumboDefaultOptions, doc);
  lf__selector_free(sel);
}

/* ---- combinators ---- */

static const char *comb_doc = "<div id=outer>"
                              "<div id=inner>"
                              "<p id=p1>x</p> text <!-- c --> <span id=s1></span>"
                              "<a id=a1></a>"
                              "</div>"
                              "<p id=p2></p>"
                              "<a id=a2></a>"
                              "</div>"
                              "<section id=sec><p id=p3></p>\n<a id=a3></a></section>";

static void test_descendant_and_child(void) {
  CHECK_EQ_STR(select_labels(comb_doc, "div p"), "p1 p2");
  CHECK_EQ_STR(select_labels(comb_doc, "div > p"), "p1 p2");
  CHECK_EQ_STR(select_labels(comb_doc, "#outer > p"), "p2");
  CHECK_EQ_STR(select_labels(comb_doc, "#outer p"), "p1 p2");
  CHECK_EQ_STR(select_labels(comb_doc, "#inner>p"), "p1");
  CHECK_EQ_STR(select_labels(comb_doc, "div div"), "inner");
  CHECK_EQ_STR(select_labels(comb_doc, "body > div > div > a"), "a1");
  CHECK_EQ_STR(select_labels(comb_doc, "html a"), "a1 a2 a3");
  CHECK_EQ_STR(select_labels(comb_doc, "section a"), "a3");
  CHECK_EQ_STR(select_labels(comb_doc, "a p"), "");
  CHECK_EQ_STR(select_labels(comb_doc, "* > html"), ""); /* the document is not an element */
}

static void test_siblings(void) {
  /* Text, whitespace and a comment lie between p1 and s1: only elements count. */
  CHECK_EQ_STR(select_labels(comb_doc, "p + span"), "s1");
  CHECK_EQ_STR(select_labels(comb_doc, "p + a"), "a2 a3");
  CHECK_EQ_STR(select_labels(comb_doc, "p ~ a"), "a1 a2 a3");
  CHECK_EQ_STR(select_labels(comb_doc, "span + a"), "a1");
  CHECK_EQ_STR(select_labels(comb_doc, "span ~ p"), "");
  CHECK_EQ_STR(select_labels(comb_doc, "div ~ a"), "a2");
  CHECK_EQ_STR(select_labels(comb_doc, "div + section"), "sec");
  CHECK_EQ_STR(select_labels(comb_doc, "#inner > p ~ a"), "a1");
  CHECK_EQ_STR(select_labels(comb_doc, "div div + p + a"), "a2");
  CHECK_EQ_STR(select_labels(comb_doc, "div p + a"), "a2");
}

static void test_template_is_an_element(void) {
  const char *doc =
      "<div><p id=tp></p> <template id=t1><b id=tb></b></template> <a id=ta></a></div>";
  CHECK_EQ_STR(select_labels(doc, "p + a"), "");
  CHECK_EQ_STR(select_labels(doc, "p ~ a"), "ta");
  CHECK_EQ_STR(select_labels(doc, "template + a"), "ta");
  CHECK_EQ_STR(select_labels(doc, "p + template"), "t1");
  CHECK_EQ_STR(select_labels(doc, "div > template"), "t1");
  CHECK_EQ_STR(select_labels(doc, "template > b"), "tb");
}

static void test_backtracking(void) {
  /* The nearest div ancestor (dB) has the wrong parent; the next one (dA) is right. */
  const char *nested = "<div class=k id=k1><div id=dA><section><div id=dB>"
                       "<p id=q1></p><a id=b1></a></div></section></div></div>";
  CHECK_EQ_STR(select_labels(nested, ".k > div p"), "q1");
  CHECK_EQ_STR(select_labels(nested, ".k > div p + a"), "b1");
  CHECK_EQ_STR(select_labels(nested, ".k > section p"), "");
  CHECK_EQ_STR(select_labels(nested, "div.k div section div > a"), "b1");
  /* `div p + a` must try every ancestor div of the p, not only the nearest. */
  const char *far = "<div id=top><section class=s><p></p><a id=x1></a></section></div>";
  CHECK_EQ_STR(select_labels(far, "div p + a"), "x1");
  CHECK_EQ_STR(select_labels(far, "div > p + a"), "");
  CHECK_EQ_STR(select_labels(far, "div > .s > p + a"), "x1");
  /* `~`: the nearest earlier span (sp2) follows a p without the class; sp1 follows p.a. */
  const char *sibs = "<div><p class=a></p><span id=sp1></span><p></p>"
                     "<span id=sp2></span><a id=z></a></div>";
  CHECK_EQ_STR(select_labels(sibs, "p.a + span ~ a"), "z");
  CHECK_EQ_STR(select_labels(sibs, "p.a + span + a"), "");
  CHECK_EQ_STR(select_labels(sibs, "p.a ~ span"), "sp1 sp2");
  CHECK_EQ_STR(select_labels(sibs, "p.a + span ~ span"), "sp2");
}

/* Plain backtracking would try every triple of div ancestors here (about 10^9 tries); with
 * pruning a chain that cannot match fails after one walk up the tree. */
static void test_deep_document(void) {
  enum { DEPTH = 2000 };
  char *html = malloc(DEPTH * 5 + 64);
  CHECK(html != NULL);
  if (!html) return;
  size_t n = 0;
  for (int i = 0; i < DEPTH; i++) {
    memcpy(html + n, "<div>", 5);
    n += 5;
  }
  strcpy(html + n, "<p id=deep></p><a id=last></a>");
  CHECK_EQ_STR(select_labels(html, "section div div div p"), "");
  CHECK_EQ_STR(select_labels(html, "div div div div p"), "deep");
  CHECK_EQ_STR(select_labels(html, "body > div div div div p + a"), "last");
  CHECK_EQ_STR(select_labels(html, "body > div > div > div div > p ~ a"), "last");
  CHECK_EQ_STR(select_labels(html, "p > div div div a"), "");
  free(html);
}

static void test_groups(void) {
  CHECK_EQ_STR(select_labels(comb_doc, "p, a"), "p1 a1 p2 a2 p3 a3");
  CHECK_EQ_STR(select_labels(comb_doc, "a , p"), "p1 a1 p2 a2 p3 a3"); /* document order */
  CHECK_EQ_STR(select_labels(comb_doc, "#p1,p"), "p1 p2 p3");          /* each element once */
  CHECK_EQ_STR(select_labels(comb_doc, "#nothing, section > a"), "a3");
  CHECK_EQ_STR(select_labels(comb_doc, "span,#sec,div>a"), "s1 a1 a2 sec");
}

/* ---- the default selector on a realistic Wikipedia table ---- */

static const char *wiki =
    "<table class=wikitable><tbody>"
    "<tr><td><span class=\"flagicon\"><span><img src=x></span>&nbsp;</span>"
    "<a href=\"/wiki/India\">India</a></td><td>1,428,627,663</td></tr>"
    "<tr><td><span class=\"flagicon\"><img src=y></span> <a href=\"/wiki/China\">China</a>"
    " <sup><a href=\"#note\">note</a></sup> <a href=\"/wiki/Taiwan\">Taiwan</a></td></tr>"
    "<tr><td><a href=\"/wiki/Noflag\">Noflag</a></td></tr>"
    "<tr><td><span class=\"flagicon\"></span>\n<b>Bold</b> <a href=\"/wiki/After\">After</a></td>"
    "</tr></tbody></table>"
    "<p><span class=\"flagicon\"></span><a href=\"/wiki/Outside\">Outside</a></p>";

static void test_wikipedia_row(void) {
  CHECK_EQ_STR(select_labels(wiki, "td .flagicon + a"), "India China");
  CHECK_EQ_STR(select_labels(wiki, "td .flagicon ~ a"), "India China Taiwan After");
  CHECK_EQ_STR(select_labels(wiki, ".flagicon + a"), "India China Outside");
  CHECK_EQ_STR(select_labels(wiki, "td > a"), "India China Taiwan Noflag After");
  CHECK_EQ_STR(select_labels(wiki, "td a"), "India China note Taiwan Noflag After");
  CHECK_EQ_STR(select_labels(wiki, "table.wikitable tr td:first-child > a"),
               "India China Taiwan Noflag After");
  CHECK_EQ_STR(select_labels(wiki, "tr:nth-child(2n+1) a:first-of-type"), "India Noflag");
  CHECK_EQ_STR(select_labels(wiki, "tr:has(.flagicon) a:not(sup a, [href*=T])"),
               "India China After");
}

int main(void) {
  test_valid_forms();
  test_errors();
  test_error_buffers();
  test_type_and_universal();
  test_class_and_id();
  test_attributes();
  test_compound();
  test_non_elements();
  test_descendant_and_child();
  test_siblings();
  test_template_is_an_element();
  test_backtracking();
  test_deep_document();
  test_groups();
  test_wikipedia_row();
  return lf_test_report();
}
