/* Field extraction: records of named values out of a page (the public lf_extract_* calls).
 *
 * A field spec is NAME=SEL[::text|::attr(ATTR)|::url(ATTR)], or NAME[]=... for every match.
 * A page is parsed as for links (page.h) and walked once in document order: each node is
 * tested against the "each" selector and every field's selector, as document.querySelectorAll()
 * tests the whole document, and a node a field matches belongs to every record whose element
 * is an ancestor of it (the records "open" at that node, a stack). Values are read after the
 * walk, once the document's first <base href> is known (a <base> may come after a link).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup */
#endif
#include <gumbo.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "ascii.h"
#include "buf.h"
#include "charesc.h"
#include "page.h"
#include "selector.h"
#include "urlresolve.h"
#include "utf8.h"
#include "walk.h"

typedef enum { TAKE_TEXT, TAKE_ATTR, TAKE_URL } take_t;

typedef struct {
  char *name;
  lf__selector_t *sel;
  take_t take;
  char *attr; /* TAKE_ATTR, TAKE_URL */
  int array;
} field_t;

struct lf_extract_s {
  lf__selector_t *each; /* NULL: one record per page */
  field_t *fields;
  size_t n, cap;
};

static int fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...) {
  if (errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- compiling ---- */

/* Compiles the selector text[0..len) found at byte offset `at` of a spec; an error's position
 * is made one in the spec. */
static int compile_sel(const char *text, size_t len, size_t at, lf__selector_t **out, char *errbuf,
                       size_t errlen) {
  char *copy = strndup(text, len);
  if (!copy) return fail(errbuf, errlen, LF_ENOMEM, "out of memory");
  char why[256] = "";
  size_t pos = 0;
  int rc = lf__selector_compile(copy, out, &pos, why, sizeof(why));
  free(copy);
  if (rc != LF_ESELECTOR) return rc ? fail(errbuf, errlen, rc, "out of memory") : 0;
  char *tail = strstr(why, " at position "); /* the selector's own position, replaced below */
  if (tail) *tail = '\0';
  return fail(errbuf, errlen, rc, "%s at position %zu", why, pos + at);
}

int lf_extract_new(const char *each, lf_extract_t **out, char *errbuf, size_t errlen) {
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!out) return fail(errbuf, errlen, LF_EINVAL, "lf_extract_new: missing argument");
  *out = NULL;
  lf_extract_t *x = calloc(1, sizeof(*x));
  if (!x) return fail(errbuf, errlen, LF_ENOMEM, "out of memory");
  int rc = each ? compile_sel(each, strlen(each), 0, &x->each, errbuf, errlen) : 0;
  if (rc) {
    free(x);
    return rc;
  }
  *out = x;
  return 0;
}

/* The length of the field name at the start of s: ASCII letters, digits, '_', '-', '.', and
 * well-formed UTF-8 beyond ASCII (names become JSON keys and CSV headers). */
static size_t name_len(const char *s) {
  size_t i = 0, n;
  for (;;) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-' || c == '.') {
      i++;
    } else if (c >= 0x80 &&
               (lf__utf8_decode((const unsigned char *)s + i, strlen(s + i), &n), n != 0)) {
      i += n;
    } else {
      return i;
    }
  }
}

static int reserved_name(const char *s, size_t n) {
  static const char *const names[] = {"url", "parent", "depth"};
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (strlen(names[i]) == n && lf__ascii_caseeq_n(s, names[i], n)) return 1;
  return 0;
}

/* Where the selector of a spec ends: at the first "::" outside quotes and escapes (a selector
 * never holds one: pseudo-elements are refused), or at the end. */
static size_t selector_end(const char *s, size_t from) {
  char quote = 0;
  size_t i = from;
  for (; s[i]; i++) {
    if (s[i] == '\\' && s[i + 1]) {
      i++;
    } else if (quote) {
      if (s[i] == quote) quote = 0;
    } else if (s[i] == '"' || s[i] == '\'') {
      quote = s[i];
    } else if (s[i] == ':' && s[i + 1] == ':') {
      break;
    }
  }
  return i;
}

static int attr_char(unsigned char c) {
  return c > 0x20 && c != 0x7f && !strchr("\"'=/>()", c);
}

/* Reads the suffix at s + at ("", "::text", "::attr(A)", "::url(A)") into f. */
static int parse_take(const char *s, size_t at, field_t *f, char *errbuf, size_t errlen) {
  const char *p = s + at;
  f->take = TAKE_TEXT;
  if (!*p || strcmp(p, "::text") == 0) return 0;
  size_t open = strncmp(p, "::attr(", 7) == 0 ? 7 : strncmp(p, "::url(", 6) == 0 ? 6 : 0;
  if (!open)
    return fail(errbuf, errlen, LF_ESELECTOR,
                "expected ::text, ::attr(ATTR) or ::url(ATTR) at position %zu", at);
  f->take = open == 7 ? TAKE_ATTR : TAKE_URL;
  size_t i = open;
  while (lf__ascii_is_space((unsigned char)p[i]))
    i++;
  size_t start = i;
  while (attr_char((unsigned char)p[i]))
    i++;
  size_t end = i;
  while (lf__ascii_is_space((unsigned char)p[i]))
    i++;
  if (end == start)
    return fail(errbuf, errlen, LF_ESELECTOR, "expected an attribute name at position %zu",
                at + start);
  if (p[i] != ')')
    return fail(errbuf, errlen, LF_ESELECTOR, "expected ')' at position %zu", at + i);
  if (p[i + 1])
    return fail(errbuf, errlen, LF_ESELECTOR, "unexpected text after ')' at position %zu",
                at + i + 1);
  f->attr = strndup(p + start, end - start);
  return f->attr ? 0 : fail(errbuf, errlen, LF_ENOMEM, "out of memory");
}

static void field_free(field_t *f) {
  free(f->name);
  free(f->attr);
  lf__selector_free(f->sel);
}

/* Reads NAME or NAME[] and the '=' after it; *sel_at is where the selector starts. */
static int parse_name(const lf_extract_t *x, const char *spec, field_t *f, size_t *sel_at,
                      char *errbuf, size_t errlen) {
  size_t n = name_len(spec), i = n;
  if (spec[i] == '[' && spec[i + 1] == ']') {
    f->array = 1;
    i += 2;
  }
  if (spec[i] != '=') {
    if (!spec[i])
      return fail(errbuf, errlen, LF_ESELECTOR,
                  "expected NAME=SELECTOR, found no '=' at position %zu", i);
    char shown[8]; /* the byte as it is if printable ASCII, else \xNN: the message is one line */
    unsigned char c = (unsigned char)spec[i];
    snprintf(shown, sizeof(shown), c >= 0x20 && c < 0x7f ? "'%c'" : "\\x%02x", c);
    return fail(errbuf, errlen, LF_ESELECTOR,
                "expected NAME=SELECTOR (a name is letters, digits, '_', '-', '.'), found %s at "
                "position %zu",
                shown, i);
  }
  if (!n) return fail(errbuf, errlen, LF_ESELECTOR, "missing field name at position 0");
  if (reserved_name(spec, n))
    return fail(errbuf, errlen, LF_ESELECTOR,
                "field name '%.*s' is reserved (records carry url, parent and depth) at position 0",
                (int)n, spec);
  for (size_t k = 0; k < x->n; k++)
    if (strlen(x->fields[k].name) == n && memcmp(x->fields[k].name, spec, n) == 0)
      return fail(errbuf, errlen, LF_ESELECTOR, "field name '%.*s' given twice at position 0",
                  (int)n, spec);
  if (!(f->name = strndup(spec, n))) return fail(errbuf, errlen, LF_ENOMEM, "out of memory");
  *sel_at = i + 1;
  return 0;
}

int lf_extract_add(lf_extract_t *x, const char *spec, char *errbuf, size_t errlen) {
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!x || !spec) return fail(errbuf, errlen, LF_EINVAL, "lf_extract_add: missing argument");
  field_t f = {0};
  size_t at = 0;
  int rc = parse_name(x, spec, &f, &at, errbuf, errlen);
  size_t end = rc ? 0 : selector_end(spec, at);
  if (!rc) rc = parse_take(spec, end, &f, errbuf, errlen);
  if (!rc) rc = compile_sel(spec + at, end - at, at, &f.sel, errbuf, errlen);
  if (!rc && x->n == x->cap) {
    size_t ncap = x->cap ? x->cap * 2 : 8;
    field_t *fs = realloc(x->fields, ncap * sizeof(*fs));
    if (!fs) rc = fail(errbuf, errlen, LF_ENOMEM, "out of memory");
    if (fs) {
      x->fields = fs;
      x->cap = ncap;
    }
  }
  if (rc) {
    field_free(&f);
    return rc;
  }
  x->fields[x->n++] = f;
  return 0;
}

size_t lf_extract_fields(const lf_extract_t *x) {
  return x ? x->n : 0;
}

const char *lf_extract_field_name(const lf_extract_t *x, size_t i) {
  return x && i < x->n ? x->fields[i].name : NULL;
}

void lf_extract_free(lf_extract_t *x) {
  if (!x) return;
  for (size_t i = 0; i < x->n; i++)
    field_free(&x->fields[i]);
  free(x->fields);
  lf__selector_free(x->each);
  free(x);
}

/* ---- the walk: which nodes each record's fields matched ---- */

typedef struct {
  const GumboNode **nodes; /* a field: its first match (n is 0 or 1); an array field: all */
  size_t n, cap;
} nodes_t;

typedef struct {
  size_t record;
  const GumboNode *end; /* the node after the record element's subtree (NULL: none) */
} open_t;

typedef struct {
  lf_extract_t *x;
  nodes_t *slots; /* record r's field f: slots[r * x->n + f] */
  size_t records, cap;
  open_t *open; /* records whose element is an ancestor of the node walked */
  size_t nopen, open_cap;
  const GumboNode *base;
} run_t;

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return p;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need)
    ncap *= 2;
  if (ncap > SIZE_MAX / size) return NULL;
  void *q = realloc(p, ncap * size);
  if (q) *cap = ncap;
  return q;
}

/* The node after n's subtree in document order. */
static const GumboNode *after(const GumboNode *n) {
  for (; n->parent; n = n->parent) {
    const GumboVector *sibs = lf__walk_children(n->parent);
    size_t i = n->index_within_parent + 1;
    if (sibs && i < sibs->length) return sibs->data[i];
  }
  return NULL;
}

static int open_record(run_t *r, const GumboNode *el) {
  size_t nf = r->x->n, cap = r->cap;
  nodes_t *slots = nf ? grow(r->slots, &cap, (r->records + 1) * nf, sizeof(*slots)) : r->slots;
  if (nf && !slots) return LF_ENOMEM;
  r->slots = slots;
  r->cap = cap;
  for (size_t f = 0; f < nf; f++)
    r->slots[r->records * nf + f] = (nodes_t){0};
  open_t *o = grow(r->open, &r->open_cap, r->nopen + 1, sizeof(*o));
  if (!o) return LF_ENOMEM;
  r->open = o;
  r->open[r->nopen++] = (open_t){r->records++, el->type == GUMBO_NODE_DOCUMENT ? NULL : after(el)};
  return 0;
}

static int push_node(nodes_t *s, const GumboNode *n) {
  const GumboNode **p = grow(s->nodes, &s->cap, s->n + 1, sizeof(*p));
  if (!p) return LF_ENOMEM;
  s->nodes = p;
  s->nodes[s->n++] = n;
  return 0;
}

/* n matched field f: it belongs to every open record. A field takes only its first match; the
 * records are nested, so once one has its first, every record around it has one too (found
 * when, or before, this one's), and the walk down the stack stops there. */
static int take_match(run_t *r, size_t f, const GumboNode *n) {
  size_t nf = r->x->n;
  for (size_t i = r->nopen; i-- > 0;) {
    nodes_t *s = &r->slots[r->open[i].record * nf + f];
    if (!r->x->fields[f].array && s->n) break;
    int rc = push_node(s, n);
    if (rc) return rc;
  }
  return 0;
}

static int walk(run_t *r, const GumboNode *root) {
  lf_extract_t *x = r->x;
  for (size_t f = 0; f < x->n; f++)
    lf__selector_document(x->fields[f].sel, root);
  if (x->each) lf__selector_document(x->each, root);
  int rc = x->each ? 0 : open_record(r, root);
  size_t seen = 0;
  for (const GumboNode *n = root; n && !rc; n = lf__walk_next(n)) {
    if (++seen % 65536 == 0 && lf__stop_waiting()) return LF_EABORTED; /* as the parse does */
    while (r->nopen && r->open[r->nopen - 1].end == n)
      r->nopen--;
    if (!r->base && lf__page_is_base(n)) r->base = n;
    if (n->type != GUMBO_NODE_ELEMENT) continue;
    for (size_t f = 0; f < x->n && r->nopen && !rc; f++)
      if (lf__selector_matches(x->fields[f].sel, n)) rc = take_match(r, f, n);
    if (!rc && x->each && lf__selector_matches(x->each, n)) rc = open_record(r, n);
  }
  return rc;
}

/* ---- values ---- */

/* The elements whose edges are a space in an element's text (the list of block-level
 * elements, as a reader sees them on one line). */
static const unsigned char block_tags[GUMBO_TAG_LAST + 1] = {
    [GUMBO_TAG_ADDRESS] = 1,    [GUMBO_TAG_ARTICLE] = 1,  [GUMBO_TAG_ASIDE] = 1,
    [GUMBO_TAG_BLOCKQUOTE] = 1, [GUMBO_TAG_CAPTION] = 1,  [GUMBO_TAG_DD] = 1,
    [GUMBO_TAG_DETAILS] = 1,    [GUMBO_TAG_DIV] = 1,      [GUMBO_TAG_DL] = 1,
    [GUMBO_TAG_DT] = 1,         [GUMBO_TAG_FIELDSET] = 1, [GUMBO_TAG_FIGCAPTION] = 1,
    [GUMBO_TAG_FIGURE] = 1,     [GUMBO_TAG_FOOTER] = 1,   [GUMBO_TAG_FORM] = 1,
    [GUMBO_TAG_H1] = 1,         [GUMBO_TAG_H2] = 1,       [GUMBO_TAG_H3] = 1,
    [GUMBO_TAG_H4] = 1,         [GUMBO_TAG_H5] = 1,       [GUMBO_TAG_H6] = 1,
    [GUMBO_TAG_HEADER] = 1,     [GUMBO_TAG_HR] = 1,       [GUMBO_TAG_LI] = 1,
    [GUMBO_TAG_MAIN] = 1,       [GUMBO_TAG_NAV] = 1,      [GUMBO_TAG_OL] = 1,
    [GUMBO_TAG_P] = 1,          [GUMBO_TAG_PRE] = 1,      [GUMBO_TAG_SECTION] = 1,
    [GUMBO_TAG_SUMMARY] = 1,    [GUMBO_TAG_TABLE] = 1,    [GUMBO_TAG_TBODY] = 1,
    [GUMBO_TAG_TD] = 1,         [GUMBO_TAG_TFOOT] = 1,    [GUMBO_TAG_TH] = 1,
    [GUMBO_TAG_THEAD] = 1,      [GUMBO_TAG_TR] = 1,       [GUMBO_TAG_UL] = 1};

static int is_block(const GumboNode *n) {
  return n->type == GUMBO_NODE_ELEMENT && n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML &&
         block_tags[n->v.element.tag];
}

/* Whether the walk of an element's text goes into n: not into <script>, <style>, <noscript>
 * (unless it is the element itself: `script::text` reads a script) or <template> (gumbo's
 * GUMBO_NODE_TEMPLATE; its contents are inert, not part of the document). */
static int text_enters(const GumboNode *n, const GumboNode *el) {
  if (n->type != GUMBO_NODE_ELEMENT) return 0;
  if (n == el || n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return 1;
  GumboTag t = n->v.element.tag;
  return t != GUMBO_TAG_SCRIPT && t != GUMBO_TAG_STYLE && t != GUMBO_TAG_NOSCRIPT;
}

/* What entering n adds to the text. */
static int text_enter(lf__buf_t *b, const GumboNode *n, int entered) {
  if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA)
    return lf__buf_push(b, n->v.text.text, strlen(n->v.text.text));
  if (!entered) return 0;
  int space = is_block(n) || (n->v.element.tag == GUMBO_TAG_BR &&
                              n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML);
  return space ? lf__buf_push(b, " ", 1) : 0;
}

/* Runs of space, tab, CR, LF and FF to one space, trimmed (U+00A0 is not one of them). */
static void collapse(char *s) {
  char *w = s;
  int pending = 0;
  for (const char *p = s; *p; p++) {
    if (lf__ascii_is_space((unsigned char)*p)) {
      pending = w != s;
      continue;
    }
    if (pending) *w++ = ' ';
    pending = 0;
    *w++ = *p;
  }
  *w = '\0';
}

/* The text of el as a reader sees it on one line (README "Crawling and extracting"): its text
 * nodes in document order, a space for each <br> and at both edges of each block-level
 * element, collapsed. Iterative, so a deeply nested page cannot exhaust the stack. */
static int text_of(const GumboNode *el, char **out) {
  lf__buf_t b = {0};
  int rc = lf__buf_push(&b, "", 0);
  const GumboNode *n = el;
  while (!rc) {
    int in = text_enters(n, el);
    rc = text_enter(&b, n, in);
    if (!rc && in && n->v.element.children.length) {
      n = n->v.element.children.data[0];
      continue;
    }
    for (; !rc; n = n->parent) { /* leave n, and its parents while n is their last child */
      if (in && is_block(n)) rc = lf__buf_push(&b, " ", 1);
      in = 1;
      if (n == el) break;
      const GumboVector *sibs = &n->parent->v.element.children;
      if (n->index_within_parent + 1 < sibs->length) {
        n = sibs->data[n->index_within_parent + 1];
        break;
      }
    }
    if (n == el) break;
  }
  if (rc) {
    free(b.data);
    return rc;
  }
  lf__charesc_undo(b.data);
  collapse(b.data);
  *out = b.data;
  return 0;
}

/* The value field f gives for element n: NULL (*out) when there is none. */
static int value_of(const lf__page_t *page, lf__url_t *base, const field_t *f, const GumboNode *n,
                    char **out) {
  *out = NULL;
  if (f->take == TAKE_TEXT) return text_of(n, out);
  const char *v, *why;
  char *copy;
  int rc = lf__page_attr(n, f->attr, &v, &copy);
  if (rc || !v) return rc;
  if (f->take == TAKE_ATTR) {
    *out = copy ? copy : strdup(v);
    return *out ? 0 : LF_ENOMEM;
  }
  rc = lf__url_resolve(base, page->enc, v, out, NULL, &why);
  free(copy);
  return rc == LF__URL_SKIP ? 0 : rc;
}

static int fill_value(const lf__page_t *page, lf__url_t *base, const field_t *f, const nodes_t *s,
                      lf_value_t *v) {
  v->array = f->array;
  char **items = s->n ? calloc(s->n, sizeof(*items)) : NULL;
  if (s->n && !items) return LF_ENOMEM;
  v->items = (const char *const *)items;
  for (size_t i = 0; i < s->n; i++) {
    int rc = value_of(page, base, f, s->nodes[i], &items[v->count]);
    if (rc) return rc;
    if (items[v->count]) v->count++; /* an array leaves out a match without a value */
  }
  if (!v->count) {
    free(items);
    v->items = NULL;
  }
  return 0;
}

static int fill(run_t *r, const lf__page_t *page, lf__url_t *base, lf_records_t *out) {
  size_t nf = r->x->n;
  out->fields = nf;
  out->count = r->records;
  if (!nf || !r->records) return 0;
  out->values = calloc(r->records * nf, sizeof(*out->values));
  if (!out->values) return LF_ENOMEM;
  for (size_t i = 0; i < r->records * nf; i++) {
    int rc = fill_value(page, base, &r->x->fields[i % nf], &r->slots[i], &out->values[i]);
    if (rc) return rc;
  }
  return 0;
}

int lf_extract_page(lf_extract_t *x, const char *html, size_t len, const char *page_url,
                    const char *content_type, lf_records_t *out, char *errbuf, size_t errlen) {
  if (errbuf && errlen) errbuf[0] = '\0';
  if (out) *out = (lf_records_t){0};
  if (!x || !out || !page_url || (!html && len))
    return fail(errbuf, errlen, LF_EINVAL, "lf_extract_page: missing argument");
  lf__url_t *base = NULL;
  int rc = lf__page_open_url(page_url, &base, errbuf, errlen);
  if (rc) return rc;
  lf__page_t page;
  run_t r = {.x = x};
  rc = lf__page_parse(&page, html, len, content_type);
  char why[160] = "out of memory";
  if (rc == LF_ECOMPLEX) snprintf(why, sizeof(why), "page too complex to parse: %s", page.why);
  if (!rc) rc = walk(&r, page.root);
  if (!rc) rc = lf__page_apply_base(&base, page.enc, r.base);
  if (!rc) rc = fill(&r, &page, base, out);
  for (size_t i = 0; i < r.records * x->n; i++)
    free(r.slots[i].nodes);
  free(r.slots);
  free(r.open);
  lf__page_release(&page);
  lf__url_free(base);
  if (rc) {
    lf_records_free(out);
    return fail(errbuf, errlen, rc, "%s", why);
  }
  return 0;
}

void lf_records_free(lf_records_t *records) {
  if (!records) return;
  for (size_t i = 0; records->values && i < records->count * records->fields; i++) {
    lf_value_t *v = &records->values[i];
    for (size_t k = 0; k < v->count; k++)
      free((char *)v->items[k]);
    free((void *)v->items);
  }
  free(records->values);
  *records = (lf_records_t){0};
}
