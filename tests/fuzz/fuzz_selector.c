/* libFuzzer: the selector parser must accept or reject any bytes without crashing, and a
 * rejected selector must say where. Compiled selectors are matched against a small page, and
 * the matcher is checked against itself: :is(S) must match exactly where S does and :not(S)
 * exactly where it does not (which exercises the pseudo-class caches and :has() too). The same
 * bytes as an -e field spec (and after "f=") are accepted or refused with one line that ends
 * with a position inside the spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"
#include "selector.h"

static GumboOutput *doc;

static void walk(lf__selector_t *sel, lf__selector_t *is, lf__selector_t * not,
                 const GumboNode *n) {
  if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
  int m = lf__selector_matches(sel, n);
  if (is && lf__selector_matches(is, n) != m) abort();
  if (not &&lf__selector_matches(not, n) == m) abort();
  const GumboVector *kids = &n->v.element.children;
  for (unsigned i = 0; i < kids->length; i++)
    walk(sel, is, not, kids->data[i]);
}

static lf__selector_t *wrapped(const char *how, const char *text, size_t size) {
  char *w = malloc(size + 16);
  lf__selector_t *sel = NULL;
  if (!w) return NULL;
  snprintf(w, size + 16, "%s(%s)", how, text);
  if (lf__selector_compile(w, &sel, NULL, NULL, 0) != 0) sel = NULL;
  free(w);
  return sel;
}

/* A field spec: compiled, or refused with "... at position N", N within the spec. */
static void check_spec(const char *spec) {
  static lf_extract_t *x;
  char err[320];
  if (!x && lf_extract_new(NULL, &x, NULL, 0) != 0) abort();
  int rc = lf_extract_add(x, spec, err, sizeof(err));
  if (rc == 0) { /* start again: names must not pile up (and clash) */
    lf_extract_free(x);
    x = NULL;
    return;
  }
  const char *at = strstr(err, " at position ");
  if (rc != LF_ESELECTOR || !at || strchr(err, '\n') || strtoul(at + 13, NULL, 10) > strlen(spec))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!doc)
    doc = gumbo_parse("<html lang=en><table><tr><td><span class='flagicon'><img></span>&nbsp;"
                      "<a href='/x' id=a title='t y' type=TEXT>x</a><a>y</a></td><td></td></tr>"
                      "<tr><td lang=fr-CA><!-- c --></td><td><b>z</b><i></i><b></b></td></tr>"
                      "</table><div><p>z</p><p class=q>w</p><svg><a type=A></a></svg></div>"
                      "<ul><li>1<li>2<li class=q>3<li>4</ul><template><p>t</p></template>");
  char *text = malloc(size + 3);
  if (!text) return 0;
  memcpy(text + 2, data, size);
  text[size + 2] = '\0';
  text[0] = 'f';
  text[1] = '=';
  check_spec(text);
  check_spec(text + 2);
  text += 2;
  lf__selector_t *sel = NULL;
  size_t pos = 0;
  char err[256];
  int rc = lf__selector_compile(text, &sel, &pos, err, sizeof(err));
  if (rc == 0) {
    /* only when the text is one whole selector list: "a) , (b" also compiles inside :is() */
    lf__selector_t *is = strchr(text, ')') ? NULL : wrapped(":is", text, size);
    lf__selector_t *not = is ? wrapped(":not", text, size) : NULL;
    walk(sel, is, not, doc->root);
    lf__selector_free(sel);
    lf__selector_free(is);
    lf__selector_free(not );
  } else if (rc == LF_ESELECTOR && (pos > size || strchr(err, '\n')))
    abort(); /* the position must be inside the text, the message one line */
  free(text - 2);
  return 0;
}
