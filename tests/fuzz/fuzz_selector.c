/* libFuzzer: the selector parser must accept or reject any bytes without crashing, and a
 * rejected selector must say where. Compiled selectors are matched against a small page. */
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"
#include "selector.h"

static GumboOutput *doc;

static void walk(const lf__selector_t *sel, const GumboNode *n) {
  if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
  (void)lf__selector_matches(sel, n);
  const GumboVector *kids = &n->v.element.children;
  for (unsigned i = 0; i < kids->length; i++)
    walk(sel, kids->data[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!doc)
    doc = gumbo_parse("<table><tr><td><span class='flagicon'><img></span>&nbsp;<a href='/x' "
                      "id=a title='t y'>x</a><a>y</a></td></tr></table><div><p>z</p></div>");
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  lf__selector_t *sel = NULL;
  size_t pos = 0;
  char err[256];
  int rc = lf__selector_compile(text, &sel, &pos, err, sizeof(err));
  if (rc == 0) {
    walk(sel, doc->root);
    lf__selector_free(sel);
  } else if (rc == LF_ESELECTOR && (pos > size || strchr(err, '\n')))
    abort(); /* the position must be inside the text, the message one line */
  free(text);
  return 0;
}
