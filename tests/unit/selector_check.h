/* Helpers shared by the selector tests: compile checks with error positions, and the labels of
 * the elements a selector matches in a small document (in document order). */
#ifndef LF_SELECTOR_CHECK_H
#define LF_SELECTOR_CHECK_H

#include <gumbo.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "selector.h"
#include "test.h"

static inline int compiles(const char *text) {
  lf__selector_t *sel = NULL;
  size_t pos = 99;
  char err[128] = "unset";
  int rc = lf__selector_compile(text, &sel, &pos, err, sizeof(err));
  if (rc != 0) fprintf(stderr, "  '%s' did not compile: %s\n", text, err);
  lf__selector_free(sel);
  return rc == 0 && sel != NULL && err[0] == '\0';
}

/* Compiles text expecting a syntax error; checks the position and the message. */
static inline void check_error(const char *text, size_t want_pos, const char *want_msg, int line) {
  lf__selector_t *sel = (lf__selector_t *)&sel; /* must be reset to NULL on error */
  size_t pos = 12345;
  char err[128] = "unset";
  int rc = lf__selector_compile(text, &sel, &pos, err, sizeof(err));
  if (rc != LF_ESELECTOR || pos != want_pos || strcmp(err, want_msg) != 0 || sel != NULL) {
    fprintf(stderr, "  line %d: '%s': rc %d pos %zu msg \"%s\"; want pos %zu msg \"%s\"\n", line,
            text, rc, pos, err, want_pos, want_msg);
    CHECK(0);
  } else {
    CHECK(1);
  }
  if (rc == 0) lf__selector_free(sel);
}

#define CHECK_ERROR(text, pos, msg) check_error(text, pos, msg, __LINE__)

static inline const char *attr(const GumboNode *n, const char *name) {
  const GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a ? a->value : NULL;
}

/* A label for an element: its id, else the text of its first text child, else its tag. */
static inline const char *label(const GumboNode *n) {
  if (attr(n, "id")) return attr(n, "id");
  const GumboVector *kids = &n->v.element.children;
  for (unsigned i = 0; i < kids->length; i++) {
    const GumboNode *k = kids->data[i];
    if (k->type == GUMBO_NODE_TEXT) return k->v.text.text;
  }
  return n->v.element.tag == GUMBO_TAG_UNKNOWN ? "?" : gumbo_normalized_tagname(n->v.element.tag);
}

typedef struct {
  char text[2048];
  size_t len;
} labels_t;

static inline void add_label(labels_t *l, const char *s) {
  int n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s", l->len ? " " : "", s);
  if (n > 0 && (size_t)n < sizeof(l->text) - l->len) l->len += (size_t)n;
}

/* Every node, template contents included, so matching inside templates is exercised too. */
static inline void collect(const lf__selector_t *sel, const GumboNode *n, labels_t *out) {
  const GumboVector *kids = NULL;
  if (n->type == GUMBO_NODE_DOCUMENT)
    kids = &n->v.document.children;
  else if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
    kids = &n->v.element.children;
  if (lf__selector_matches(sel, n)) add_label(out, label(n));
  for (unsigned i = 0; kids && i < kids->length; i++)
    collect(sel, kids->data[i], out);
}

/* Labels of the elements of html that text selects, space-separated in document order. */
static inline const char *select_labels(const char *html, const char *text) {
  static labels_t out;
  lf__selector_t *sel = NULL;
  char err[128];
  out.len = 0;
  out.text[0] = '\0';
  if (lf__selector_compile(text, &sel, NULL, err, sizeof(err)) != 0) {
    fprintf(stderr, "  '%s': %s\n", text, err);
    return "(compile error)";
  }
  GumboOutput *doc = gumbo_parse(html);
  collect(sel, doc->document, &out);
  gumbo_destroy_output(&kGumboDefaultOptions, doc);
  lf__selector_free(sel);
  return out.text;
}

#endif
