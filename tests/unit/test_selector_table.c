/* Conformance table for the selector engine: for each selector of CSS Selectors Level 3 and the
 * Level 4 forms loopfetch supports, the elements it must match on a small document, written out
 * as their labels (id, else first text, else tag) in document order. The cases follow the
 * examples the specifications give for each feature, on our own documents. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "selector_check.h"

typedef struct {
  const char *doc, *selector, *want;
} row_t;

/* A list of eight items, with text and a comment between them (neither counts as a child). */
static const char *ol = "<ol id=l>"
                        "<li id=i1>a</li> text <li id=i2 class=x>b</li><!-- c -->"
                        "<li id=i3>c</li><li id=i4 class=x>d</li><li id=i5>e</li>"
                        "<li id=i6 class=x>f</li><li id=i7>g</li><li id=i8 class=x>h</li></ol>";

/* Mixed types among siblings, for the of-type forms. */
static const char *mix =
    "<div id=m><h2 id=h1>t</h2><p id=p1>1</p><p id=p2>2</p><span id=s1>s</span>"
    "<p id=p3>3</p><h2 id=h2>u</h2><p id=p4>4</p></div>"
    "<section id=one><p id=only>x</p></section>";

static const char *misc =
    "<html id=root lang=en-GB><head id=hd><link id=css rel=StyleSheet type=\"TEXT/css\" "
    "href=s.css></head><body id=b>"
    "<p id=e1></p><p id=e2><!-- only a comment --></p><p id=e3> </p><p id=e4><b id=in></b></p>"
    "<a id=a1 href=/x>x</a><a id=a2 name=anchor>y</a><map><area id=ar1 href=/m></map>"
    "<div id=fr lang=fr><p id=frp>bonjour</p><p id=dep lang=de-AT>servus</p></div>"
    "<input id=t1 type=TEXT><input id=t2 type=text><input id=t3 title=Hello>"
    "<svg><a id=sv type=TEXT/css></a></svg>"
    "</body></html>";

static const char *svg = "<a id=h href=/x>h</a><svg><a id=x xlink:href=/y>x</a></svg>";

static const char *tree =
    "<main id=mn><article id=ar><h1 id=ttl>T</h1><img id=im alt=''><p id=p1>one</p></article>"
    "<article id=ar2><p id=p2>two <a id=ln href=/y>y</a></p></article>"
    "<figure id=f1><img id=fi><figcaption id=cap>c</figcaption></figure>"
    "<figure id=f2><img id=fj></figure><hr id=hr><h2 id=sub>s</h2></main>";

static const row_t rows[] = {
    /* :first-child :last-child :only-child */
    {"<ol id=l><li id=i1>a</li></ol><ul><li id=u1>b</li><li id=u2>c</li></ul>", "li:first-child",
     "i1 u1"},
    {"<ol id=l><li id=i1>a</li></ol><ul><li id=u1>b</li><li id=u2>c</li></ul>", "li:last-child",
     "i1 u2"},
    {"<ol id=l><li id=i1>a</li></ol><ul><li id=u1>b</li><li id=u2>c</li></ul>", "li:only-child",
     "i1"},
    /* :nth-child: An+B in all its spellings */
    {NULL, "li:nth-child(2n+1)", "i1 i3 i5 i7"},
    {NULL, "li:nth-child(odd)", "i1 i3 i5 i7"},
    {NULL, "li:nth-child(2n+0)", "i2 i4 i6 i8"},
    {NULL, "li:nth-child(EVEN)", "i2 i4 i6 i8"},
    {NULL, "li:nth-child(2n)", "i2 i4 i6 i8"},
    {NULL, "li:nth-child(3)", "i3"},
    {NULL, "li:nth-child(0n+3)", "i3"},
    {NULL, "li:nth-child(10n-2)", "i8"},
    {NULL, "li:nth-child(10n-1)", ""},
    {NULL, "li:nth-child(10n+9)", ""},
    {NULL, "li:nth-child(-n+3)", "i1 i2 i3"},
    {NULL, "li:nth-child(n+6)", "i6 i7 i8"},
    {NULL, "li:nth-child( +3n - 2 )", "i1 i4 i7"},
    {NULL, "li:nth-child(n)", "i1 i2 i3 i4 i5 i6 i7 i8"},
    {NULL, "li:nth-child(-2n+5)", "i1 i3 i5"},
    {NULL, "li:nth-child(0)", ""},
    {NULL, "li:nth-last-child(2)", "i7"},
    {NULL, "li:nth-last-child(-n+2)", "i7 i8"},
    {NULL, "li:nth-last-child(odd)", "i2 i4 i6 i8"},
    /* :nth-child(An+B of S): the position counts only the siblings matching S */
    {NULL, "li:nth-child(2 of .x)", "i4"},
    {NULL, "li:nth-child(odd of .x)", "i2 i6"},
    {NULL, "li:nth-child(1 of :not(.x))", "i1"},
    {NULL, "li:nth-last-child(1 of .x, #i7)", "i8"},
    {NULL, "li:nth-last-child(2 of .x)", "i6"},
    {NULL, "li:nth-child(1 of .nothing)", ""},
    /* of-type forms */
    {"M", "p:first-of-type", "p1 only"},
    {"M", "p:last-of-type", "p4 only"},
    {"M", ":nth-of-type(2)", "p2 h2"},
    {"M", "p:nth-of-type(2n)", "p2 p4"},
    {"M", "p:nth-last-of-type(2)", "p3"},
    {"M", ":only-of-type", "html head body m s1 one only"},
    {"M", "h2:nth-last-of-type(n+2)", "h1"},
    /* :root :empty :link :any-link :lang() */
    {"X", ":root", "root"},
    {"X", "p:empty", "e1 e2"},
    {"X", "b:empty", "in"},
    {"X", ":link", "a1 ar1"}, /* <link> is not a link for :link */
    {"X", "a:any-link", "a1"},
    {"X", "p:lang(fr)", "frp"},
    {"X", "p:lang(de)", "dep"},
    {"X", "div:lang(en), link:lang(EN)", "css"},
    /* attribute values: HTML's case-insensitive list, and the i and s flags */
    {"X", "link[type=\"text/css\"]", "css"},
    {"X", "[rel=stylesheet]", "css"},
    {"X", "[rel=stylesheet s]", ""},
    {"X", "input[type=text]", "t1 t2"},
    {"X", "input[type=\"text\" s]", "t2"},
    {"X", "[title=hello]", ""},
    {"X", "[title=hello i]", "t3"},
    {"X", "[title='HELLO' I]", "t3"},
    {"X", "[title^=hel i]", "t3"},
    {"X", "[title$=LO i]", "t3"},
    {"X", "[title*=ELL i]", "t3"},
    {"X", "[lang|=EN]", "root"},
    {"X", "[type=\"text/css\"]", "css"}, /* SVG's <a> keeps its case: not on the list there */
    {"X", "[type=\"TEXT/css\"]", "css sv"},
    /* namespaces: *| any, | none (no element of an HTML page is in no namespace) */
    {"X", "*|a[href]", "a1"},
    {"X", "*|*:empty", "css e1 e2 in ar1 t1 t2 t3 sv"},
    {"X", "|a, |*", ""},
    {"S", "[href]", "h"},
    {"S", "[|href]", "h"},
    {"S", "[*|href]", "h x"},
    {"S", "a[*|href$=y]", "x"},
    /* :not() with a list and complex selectors */
    {"T", "p:not(#p1)", "p2"},
    {"T", "img:not(figure img)", "im"},
    {"T", "img:not([alt], figure > :last-child)", "fi"},
    {"T", "main > :not(article, figure)", "hr sub"},
    {"T", ":not(p):not(img) > a", ""},
    {"T", "p :not(p)", "ln"},
    /* :is() and :where() */
    {"T", ":is(article, figure) > img", "im fi fj"},
    {"T", ":where(h1, h2):is(#ttl, #sub)", "ttl sub"},
    {"T", "article :is(p a, h1)", "ttl ln"},
    {"T", ":is(:is(:is(p)))", "p1 p2"},
    /* :has() with every leading combinator */
    {"T", "article:has(a)", "ar2"},
    {"T", "article:has(> h1, > a)", "ar"},
    {"T", "figure:has(figcaption)", "f1"},
    {"T", "figure:not(:has(figcaption))", "f2"},
    {"T", "img:has(+ p)", "im"},
    {"T", "h1:has(+ p), h1:has(+ img + p)", "ttl"}, /* + is the next element only */
    {"T", "h1:has(+ p)", ""},
    {"T", "figure:has(~ h2)", "f1 f2"},
    {"T", "figure:has(+ figure img)", "f1"},
    {"T", "article:has(p a[href^='/'])", "ar2"},
    {"T", "main:has(> article > p) > :last-child", "sub"},
    {"T", "h2:has(~ *)", ""},
    {"T", "article:has(> p:first-child)", "ar2"},
    /* Level 3 combinators and compounds next to the new forms */
    {"T", "h1 + img + p:last-child", "p1"},
    {"T", "figure ~ h2:only-of-type", "sub"},
    {"T", "*:nth-child(2):not(figcaption)", "body im ar2"},
};

int main(void) {
  for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
    const char *doc = rows[i].doc;
    if (!doc)
      doc = ol;
    else if (!strcmp(doc, "M"))
      doc = mix;
    else if (!strcmp(doc, "X"))
      doc = misc;
    else if (!strcmp(doc, "T"))
      doc = tree;
    else if (!strcmp(doc, "S"))
      doc = svg;
    const char *got = select_labels(doc, rows[i].selector);
    if (strcmp(got, rows[i].want) != 0)
      fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", rows[i].selector, got, rows[i].want);
    CHECK(strcmp(got, rows[i].want) == 0);
  }
  return lf_test_report();
}
