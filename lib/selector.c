/* CSS selector engine over gumbo's tree.
 *
 * A selector list compiles to groups (split at ','). A group is a chain of compounds read left
 * to right; each compound holds an optional type name, a list of attribute tests (.class and #id
 * become [class~=x] and [id=x]) and the combinator joining it to the compound on its left.
 *
 * Matching runs right to left: the rightmost compound must match the candidate element, then
 * each combinator leads to the elements that could match the compound on its left. Descendant
 * and '~' offer several candidates; each is tried in turn, so a failure further left backtracks
 * to the next candidate instead of giving up (`div p + a` tries every ancestor div). Failures
 * that no other candidate could fix end the search early (see match_t), which keeps matching
 * near-linear. Recursion depth is bounded by the number of compounds, never by the depth of
 * the document.
 *
 * Error positions are 0-based byte offsets into the selector text, both in *err_pos and in the
 * message ("unexpected ']' at position 4"), so the two always agree.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup */
#endif
#include "selector.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"

typedef enum {
  ATTR_EXISTS,    /* [a] */
  ATTR_EQUALS,    /* [a=v], #id */
  ATTR_INCLUDES,  /* [a~=v], .class: v is one of the whitespace-separated words */
  ATTR_DASH,      /* [a|=v]: exactly v, or v followed by '-' */
  ATTR_PREFIX,    /* [a^=v] */
  ATTR_SUFFIX,    /* [a$=v] */
  ATTR_SUBSTRING, /* [a*=v] */
} attr_op_t;

typedef struct {
  attr_op_t op;
  char *name;  /* compared ASCII case-insensitively, as HTML attribute names are */
  char *value; /* NULL for ATTR_EXISTS; compared case-sensitively */
  size_t value_len;
} attr_test_t;

typedef enum {
  COMB_NONE, /* leftmost compound of a group */
  COMB_DESCENDANT,
  COMB_CHILD,
  COMB_ADJACENT,
  COMB_SIBLING,
} comb_t;

typedef struct {
  comb_t comb;     /* joins this compound to the one on its left */
  char *tag;       /* lowercase type name; NULL for '*' or no type */
  GumboTag tag_id; /* GUMBO_TAG_UNKNOWN: compare tag against the element's original name */
  attr_test_t *tests;
  size_t ntests, cap;
} compound_t;

typedef struct {
  compound_t *items;
  size_t n, cap;
} complex_t;

struct lf__selector_s {
  complex_t *groups;
  size_t n, cap;
};

/* ---- small helpers ---- */

/* Returns items with room for one more element (n in use, *cap allocated), or NULL when out of
 * memory, leaving items untouched. Doubling keeps appends amortised O(1). */
static void *grow(void *items, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 4;
  if (ncap < *cap || ncap > SIZE_MAX / size) return NULL;
  void *p = realloc(items, ncap * size);
  if (p) *cap = ncap;
  return p;
}

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_value(unsigned char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Name characters. Lenient on purpose: a leading digit is accepted (`#123`), as a user typing a
 * selector on the command line expects, although strict CSS would reject it. */
static int is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c >= 0x80;
}

/* ASCII-only folding: locale-independent (strcasecmp would fold per locale). */
static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int ascii_caseeq_n(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
  return 1;
}

static int ascii_caseeq(const char *a, const char *b) {
  size_t n = strlen(a);
  return strlen(b) == n && ascii_caseeq_n(a, b, n);
}

/* ---- growable string ---- */

typedef struct {
  char *data;
  size_t len, cap;
} buf_t;

static int buf_push(buf_t *b, const char *s, size_t n) {
  if (n + 1 > b->cap - b->len || !b->data) {
    size_t need = b->len + n + 1, ncap = b->cap ? b->cap : 16;
    if (need < b->len) return LF_ENOMEM;
    while (ncap < need) {
      if (ncap > SIZE_MAX / 2) return LF_ENOMEM;
      ncap *= 2;
    }
    char *p = realloc(b->data, ncap);
    if (!p) return LF_ENOMEM;
    b->data = p;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

/* ---- parser ---- */

typedef struct {
  const char *s;
  size_t pos;
  size_t err_pos;
  char *errbuf;
  size_t errlen;
} parser_t;

/* Records a syntax error at pos; the message always ends in " at position N" (0-based). */
static int fail(parser_t *p, size_t pos, const char *fmt, ...) {
  char what[192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  p->err_pos = pos;
  if (p->errbuf && p->errlen) snprintf(p->errbuf, p->errlen, "%s at position %zu", what, pos);
  return LF_ESELECTOR;
}

static int nomem(parser_t *p) {
  if (p->errbuf && p->errlen) snprintf(p->errbuf, p->errlen, "out of memory");
  return LF_ENOMEM;
}

/* Describes the byte at pos for a message. Controls and non-ASCII bytes are shown in hex so
 * the message stays one printable line (a lone byte may be part of a UTF-8 sequence). */
static void describe(const parser_t *p, size_t pos, char *out, size_t outlen) {
  unsigned char c = (unsigned char)p->s[pos];
  if (!c)
    snprintf(out, outlen, "end of selector");
  else if (c < 0x20 || c >= 0x7f)
    snprintf(out, outlen, "byte 0x%02x", c);
  else
    snprintf(out, outlen, "'%c'", c);
}

static int fail_unexpected(parser_t *p, size_t pos) {
  char what[32];
  describe(p, pos, what, sizeof(what));
  return fail(p, pos, "unexpected %s", what);
}

static int fail_expected(parser_t *p, const char *expected) {
  char what[32];
  describe(p, p->pos, what, sizeof(what));
  return fail(p, p->pos, "expected %s, found %s", expected, what);
}

static int skip_ws(parser_t *p) {
  size_t start = p->pos;
  while (is_ws((unsigned char)p->s[p->pos]))
    p->pos++;
  return p->pos > start;
}

static int push_utf8(buf_t *b, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xc0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xe0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    u[0] = (char)(0xf0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return buf_push(b, u, n);
}

/* A CSS escape at p->pos (the backslash): `\` + 1-6 hex digits (+ one optional whitespace)
 * is a code point; `\` + any other character is that character taken literally (`#a\:b`). */
static int parse_escape(parser_t *p, buf_t *b) {
  size_t start = p->pos++;
  unsigned char c = (unsigned char)p->s[p->pos];
  if (!c || c == '\n' || c == '\r' || c == '\f') return fail(p, start, "unfinished escape");
  if (!is_hex(c)) {
    p->pos++;
    return buf_push(b, (const char *)&c, 1) ? nomem(p) : 0;
  }
  unsigned long cp = 0;
  for (int i = 0; i < 6 && is_hex((unsigned char)p->s[p->pos]); i++)
    cp = cp * 16 + (unsigned long)hex_value((unsigned char)p->s[p->pos++]);
  /* The whitespace ends the escape so that `\31 23` can mean "123". CRLF counts as one. */
  if (p->s[p->pos] == '\r' && p->s[p->pos + 1] == '\n')
    p->pos += 2;
  else if (is_ws((unsigned char)p->s[p->pos]))
    p->pos++;
  /* CSS turns NUL, surrogates and out-of-range values into U+FFFD. */
  if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;
  return push_utf8(b, cp) ? nomem(p) : 0;
}

/* Reads a name (identifier characters and escapes) into a fresh string. */
static int parse_name(parser_t *p, const char *expected, char **out) {
  buf_t b = {0};
  size_t start = p->pos;
  int rc = 0;
  for (;;) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '\\')
      rc = parse_escape(p, &b);
    else if (is_name_char(c))
      rc = buf_push(&b, (const char *)&p->s[p->pos++], 1) ? nomem(p) : 0;
    else
      break;
    if (rc) {
      free(b.data);
      return rc;
    }
  }
  if (p->pos == start) return fail_expected(p, expected);
  *out = b.data;
  return 0;
}

/* A quoted value at p->pos; an unterminated one is reported at its opening quote. */
static int parse_string(parser_t *p, char **out) {
  char quote = p->s[p->pos];
  size_t open = p->pos++;
  buf_t b = {0};
  int rc = buf_push(&b, "", 0) ? nomem(p) : 0; /* "" is a valid, empty value */
  while (!rc) {
    char c = p->s[p->pos];
    if (!c || (c == '\\' && !p->s[p->pos + 1]))
      rc = fail(p, open, "unclosed %s", quote == '"' ? "'\"'" : "\"'\"");
    else if (c == quote)
      break;
    else if (c == '\n' || c == '\r' || c == '\f')
      rc = fail(p, p->pos, "newline inside quoted value");
    else if (c == '\\' && p->s[p->pos + 1] == '\r' && p->s[p->pos + 2] == '\n')
      p->pos += 3; /* an escaped newline continues the string on the next line */
    else if (c == '\\' &&
             (p->s[p->pos + 1] == '\n' || p->s[p->pos + 1] == '\r' || p->s[p->pos + 1] == '\f'))
      p->pos += 2;
    else if (c == '\\')
      rc = parse_escape(p, &b);
    else
      rc = buf_push(&b, &p->s[p->pos++], 1) ? nomem(p) : 0;
  }
  if (rc) {
    free(b.data);
    return rc;
  }
  p->pos++; /* the closing quote */
  *out = b.data;
  return 0;
}

static int add_test(parser_t *p, compound_t *c, attr_op_t op, const char *name, char *value) {
  attr_test_t *t = grow(c->tests, &c->cap, c->ntests, sizeof(*t));
  if (t) c->tests = t;
  char *n = t ? strdup(name) : NULL;
  if (!n) {
    free(value);
    return nomem(p);
  }
  c->tests[c->ntests++] = (attr_test_t){op, n, value, value ? strlen(value) : 0};
  return 0;
}

/* The optional type selector or '*' that starts a compound. */
static int parse_type(parser_t *p, compound_t *c) {
  unsigned char ch = (unsigned char)p->s[p->pos];
  if (ch == '*') {
    p->pos++;
    return 0;
  }
  if (ch != '\\' && !is_name_char(ch)) return 0;
  int rc = parse_name(p, "a tag name", &c->tag);
  if (rc) return rc;
  for (char *q = c->tag; *q; q++)
    *q = (char)ascii_lower((unsigned char)*q);
  c->tag_id = gumbo_tag_enum(c->tag);
  return 0;
}

/* .name and #name: the name is mandatory, so `..x` and a lone `#` fail right after the sign. */
static int parse_class_or_id(parser_t *p, compound_t *c) {
  int is_class = p->s[p->pos++] == '.';
  char *name;
  int rc = parse_name(p, is_class ? "a class name" : "an id", &name);
  if (rc) return rc;
  return is_class ? add_test(p, c, ATTR_INCLUDES, "class", name)
                  : add_test(p, c, ATTR_EQUALS, "id", name);
}

/* Inside [...], running out of text is reported at the '[' that was never closed. */
static int attr_fail(parser_t *p, size_t open, const char *expected) {
  if (!p->s[p->pos]) return fail(p, open, "unclosed '['");
  return expected ? fail_expected(p, expected) : fail_unexpected(p, p->pos);
}

static int parse_attr_op(parser_t *p, size_t open, attr_op_t *op) {
  static const char ops[] = "~|^$*";
  static const attr_op_t kinds[] = {ATTR_INCLUDES, ATTR_DASH, ATTR_PREFIX, ATTR_SUFFIX,
                                    ATTR_SUBSTRING};
  char c = p->s[p->pos];
  if (c == ']') {
    *op = ATTR_EXISTS;
    return 0;
  }
  if (c == '=') {
    p->pos++;
    *op = ATTR_EQUALS;
    return 0;
  }
  const char *k = c ? strchr(ops, c) : NULL;
  if (!k) return attr_fail(p, open, "']' or an operator");
  p->pos++;
  if (p->s[p->pos] != '=') return attr_fail(p, open, "'='");
  p->pos++;
  *op = kinds[k - ops];
  return 0;
}

static int parse_attr_value(parser_t *p, size_t open, char **value) {
  skip_ws(p);
  char c = p->s[p->pos];
  if (c == '"' || c == '\'') return parse_string(p, value);
  if (!c) return attr_fail(p, open, NULL);
  return parse_name(p, "a value", value);
}

/* [name], [name OP value]; whitespace is allowed around every part. */
static int parse_attr(parser_t *p, compound_t *c) {
  size_t open = p->pos++;
  char *name = NULL, *value = NULL;
  attr_op_t op = ATTR_EXISTS;
  skip_ws(p);
  int rc = p->s[p->pos] ? parse_name(p, "an attribute name", &name) : attr_fail(p, open, NULL);
  if (!rc) {
    skip_ws(p);
    rc = parse_attr_op(p, open, &op);
  }
  if (!rc && op != ATTR_EXISTS) rc = parse_attr_value(p, open, &value);
  if (!rc) {
    skip_ws(p);
    rc = p->s[p->pos] == ']' ? 0 : attr_fail(p, open, "']'");
  }
  if (!rc) {
    p->pos++;
    rc = add_test(p, c, op, name, value); /* takes value */
    value = NULL;
  }
  free(name);
  free(value);
  return rc;
}

/* Pseudo-classes are not supported; name the one found so the user knows what to drop. */
static int fail_pseudo(parser_t *p) {
  size_t start = p->pos, i = start + 1;
  if (p->s[i] == ':') i++;
  size_t name = i;
  while (is_name_char((unsigned char)p->s[i]))
    i++;
  if (i == name) return fail_unexpected(p, start);
  int len = i - start > 64 ? 64 : (int)(i - start);
  return fail(p, start, "unsupported %s '%.*s'",
              name - start == 2 ? "pseudo-element" : "pseudo-class", len, p->s + start);
}

static int parse_compound(parser_t *p, compound_t *c) {
  size_t start = p->pos;
  int rc = parse_type(p, c);
  while (!rc) {
    char ch = p->s[p->pos];
    if (ch == '.' || ch == '#')
      rc = parse_class_or_id(p, c);
    else if (ch == '[')
      rc = parse_attr(p, c);
    else if (ch == ':')
      rc = fail_pseudo(p);
    else
      break;
  }
  if (!rc && p->pos == start) rc = fail_unexpected(p, p->pos);
  return rc;
}

/* After a compound: a combinator (*comb set), or the end of the group (*comb = COMB_NONE) at
 * ',' or the end of the text. Whitespace alone is the descendant combinator. */
static int parse_combinator(parser_t *p, comb_t *comb) {
  int had_ws = skip_ws(p);
  char c = p->s[p->pos];
  *comb = COMB_NONE;
  if (!c || c == ',') return 0;
  if (c == '>' || c == '+' || c == '~') {
    *comb = c == '>' ? COMB_CHILD : c == '+' ? COMB_ADJACENT : COMB_SIBLING;
    p->pos++;
    skip_ws(p);
    return 0;
  }
  if (had_ws) {
    *comb = COMB_DESCENDANT;
    return 0;
  }
  return fail_unexpected(p, p->pos);
}

static int parse_complex(parser_t *p, complex_t *cx) {
  comb_t comb = COMB_NONE;
  do {
    compound_t *items = grow(cx->items, &cx->cap, cx->n, sizeof(*items));
    if (!items) return nomem(p);
    cx->items = items;
    compound_t *c = &cx->items[cx->n++];
    *c = (compound_t){.comb = comb, .tag_id = GUMBO_TAG_UNKNOWN};
    int rc = parse_compound(p, c);
    if (!rc) rc = parse_combinator(p, &comb);
    if (rc) return rc;
  } while (comb != COMB_NONE);
  return 0;
}

static int parse_list(parser_t *p, lf__selector_t *sel) {
  skip_ws(p);
  if (!p->s[p->pos]) return fail(p, 0, "empty selector");
  for (;;) {
    complex_t *groups = grow(sel->groups, &sel->cap, sel->n, sizeof(*groups));
    if (!groups) return nomem(p);
    sel->groups = groups;
    complex_t *cx = &sel->groups[sel->n++];
    *cx = (complex_t){0};
    int rc = parse_complex(p, cx);
    if (rc) return rc;
    if (!p->s[p->pos]) return 0;
    p->pos++; /* parse_complex stops only at the end or at ',' */
    skip_ws(p);
  }
}

int lf__selector_compile(const char *text, lf__selector_t **out, size_t *err_pos, char *errbuf,
                         size_t errlen) {
  parser_t p = {.s = text ? text : "", .errbuf = errbuf, .errlen = errbuf ? errlen : 0};
  if (p.errlen) errbuf[0] = '\0';
  if (err_pos) *err_pos = 0;
  if (!out) return LF_EINVAL;
  *out = NULL;
  lf__selector_t *sel = calloc(1, sizeof(*sel));
  if (!sel) return nomem(&p);
  int rc = parse_list(&p, sel);
  if (rc) {
    lf__selector_free(sel);
    if (rc == LF_ESELECTOR && err_pos) *err_pos = p.err_pos;
    return rc;
  }
  *out = sel;
  return 0;
}

void lf__selector_free(lf__selector_t *sel) {
  if (!sel) return;
  for (size_t g = 0; g < sel->n; g++) {
    complex_t *cx = &sel->groups[g];
    for (size_t i = 0; i < cx->n; i++) {
      compound_t *c = &cx->items[i];
      for (size_t t = 0; t < c->ntests; t++) {
        free(c->tests[t].name);
        free(c->tests[t].value);
      }
      free(c->tests);
      free(c->tag);
    }
    free(cx->items);
  }
  free(sel->groups);
  free(sel);
}

/* ---- matching ---- */

/* gumbo keeps <template> apart from other elements, but for CSS it is an element like any. */
static int is_element(const GumboNode *n) {
  return n && (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE);
}

static const GumboVector *children_of(const GumboNode *n) {
  if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
  return is_element(n) ? &n->v.element.children : NULL;
}

static const GumboNode *parent_element(const GumboNode *n) {
  return is_element(n->parent) ? n->parent : NULL;
}

/* The element before n among its parent's children, skipping text, whitespace and comments. */
static const GumboNode *prev_element(const GumboNode *n) {
  const GumboVector *kids = n->parent ? children_of(n->parent) : NULL;
  if (!kids) return NULL;
  size_t i = n->index_within_parent;
  /* Trust index_within_parent only if it checks out; otherwise find n the slow way. */
  if (i >= kids->length || kids->data[i] != n)
    for (i = 0; i < kids->length && kids->data[i] != n; i++)
      ;
  if (i == kids->length) return NULL;
  while (i-- > 0)
    if (is_element(kids->data[i])) return kids->data[i];
  return NULL;
}

static int tag_matches(const compound_t *c, const GumboElement *e) {
  if (!c->tag) return 1;
  if (c->tag_id != GUMBO_TAG_UNKNOWN) return e->tag == c->tag_id;
  if (e->tag != GUMBO_TAG_UNKNOWN) return 0;
  /* gumbo only keeps the name of unknown elements as the raw "<my-tag ...>" text. */
  GumboStringPiece name = e->original_tag;
  gumbo_tag_from_original_text(&name);
  return name.data && name.length == strlen(c->tag) &&
         ascii_caseeq_n(name.data, c->tag, name.length);
}

static const char *attr_value(const GumboElement *e, const char *name) {
  for (unsigned i = 0; i < e->attributes.length; i++) {
    const GumboAttribute *a = e->attributes.data[i];
    if (ascii_caseeq(a->name, name)) return a->value;
  }
  return NULL;
}

/* ~= : word is one of the ASCII-whitespace-separated tokens of v. A word that is empty or holds
 * whitespace can never be a token, so it matches nothing (as CSS specifies). */
static int has_word(const char *v, const char *word, size_t wlen) {
  if (!wlen) return 0;
  for (size_t i = 0; i < wlen; i++)
    if (is_ws((unsigned char)word[i])) return 0;
  while (*v) {
    while (is_ws((unsigned char)*v))
      v++;
    const char *start = v;
    while (*v && !is_ws((unsigned char)*v))
      v++;
    if ((size_t)(v - start) == wlen && memcmp(start, word, wlen) == 0) return 1;
  }
  return 0;
}

/* ^= $= *= with an empty value match nothing, per CSS. */
static int value_matches(const attr_test_t *t, const char *v) {
  size_t n = t->value_len, vlen;
  switch (t->op) {
  case ATTR_EXISTS:
    return 1;
  case ATTR_EQUALS:
    return strcmp(v, t->value) == 0;
  case ATTR_INCLUDES:
    return has_word(v, t->value, n);
  case ATTR_DASH:
    return strncmp(v, t->value, n) == 0 && (v[n] == '\0' || v[n] == '-');
  case ATTR_PREFIX:
    return n && strncmp(v, t->value, n) == 0;
  case ATTR_SUFFIX:
    vlen = strlen(v);
    return n && vlen >= n && memcmp(v + vlen - n, t->value, n) == 0;
  case ATTR_SUBSTRING:
    return n && strstr(v, t->value) != NULL;
  }
  return 0;
}

static int compound_matches(const compound_t *c, const GumboNode *n) {
  const GumboElement *e = &n->v.element;
  if (!tag_matches(c, e)) return 0;
  for (size_t i = 0; i < c->ntests; i++) {
    const char *v = attr_value(e, c->tests[i].name);
    if (!v || !value_matches(&c->tests[i], v)) return 0;
  }
  return 1;
}

/* Outcome of matching part of a chain. Plain backtracking is exponential: `section div div a`
 * on a deep page without <section> would retry every pair of div ancestors. The two "fails"
 * results prune that (the scheme WebKit's SelectorChecker uses):
 *  - FAIL_SIBLINGS: no earlier sibling of this element can succeed either (they share its
 *    parent and have fewer siblings before them), so a '~' loop may stop;
 *  - FAIL_ALL: no ancestor can succeed either (they have fewer ancestors), so every enclosing
 *    loop may stop. */
typedef enum { MATCH, FAIL_LOCAL, FAIL_SIBLINGS, FAIL_ALL } match_t;

static match_t match_at(const complex_t *cx, size_t idx, const GumboNode *n);

/* Tries compound idx-1 on each ancestor of n (descendant) or each earlier sibling ('~'). */
static match_t match_any(const complex_t *cx, size_t idx, const GumboNode *n, int siblings) {
  const GumboNode *m = siblings ? prev_element(n) : parent_element(n);
  for (; m; m = siblings ? prev_element(m) : parent_element(m)) {
    match_t r = match_at(cx, idx - 1, m);
    if (r == MATCH || r == FAIL_ALL || (siblings && r == FAIL_SIBLINGS)) return r;
  }
  return siblings ? FAIL_SIBLINGS : FAIL_ALL;
}

/* Matches compound idx of cx at element n, then what lies left of it, right to left. */
static match_t match_at(const complex_t *cx, size_t idx, const GumboNode *n) {
  const compound_t *c = &cx->items[idx];
  if (!compound_matches(c, n)) return FAIL_LOCAL;
  if (idx == 0) return MATCH;
  const GumboNode *m;
  match_t r;
  switch (c->comb) {
  case COMB_CHILD:
    m = parent_element(n);
    if (!m) return FAIL_ALL;
    r = match_at(cx, idx - 1, m);
    return r == MATCH || r == FAIL_ALL ? r : FAIL_SIBLINGS; /* siblings have the same parent */
  case COMB_ADJACENT:
    m = prev_element(n);
    return m ? match_at(cx, idx - 1, m) : FAIL_SIBLINGS;
  case COMB_DESCENDANT:
    return match_any(cx, idx, n, 0);
  case COMB_SIBLING:
    return match_any(cx, idx, n, 1);
  case COMB_NONE:
    break;
  }
  return FAIL_LOCAL;
}

int lf__selector_matches(const lf__selector_t *sel, const GumboNode *node) {
  if (!sel || !is_element(node)) return 0;
  for (size_t g = 0; g < sel->n; g++)
    if (match_at(&sel->groups[g], sel->groups[g].n - 1, node) == MATCH) return 1;
  return 0;
}
