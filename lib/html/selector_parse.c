/* CSS selector parser: text to the compiled form in selector_ast.h.
 *
 * A selector list compiles to groups (split at ','). A group is a chain of compounds read left
 * to right; each compound holds an optional type name, attribute tests (.class and #id become
 * [class~=x] and [id=x]), pseudo-classes, and the combinator joining it to the compound on its
 * left. :is() :where() :not() :has() and :nth-child(An+B of S) hold selector lists of their
 * own, parsed by the same functions (nesting is bounded, see MAX_DEPTH).
 *
 * A relative selector (inside :has()) starts with an "anchor" compound that stands for the
 * element :has() is tested on; `:has(> a)` becomes `ANCHOR > a`, `:has(a)` `ANCHOR a`.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "selector_ast.h"
#include "selector_lex.h"

/* Deeper nesting than anyone writes; bounds the recursion of the parser and the matcher. */
#define MAX_DEPTH 16
#define ANB_MAX 1000000000L /* larger An+B numbers behave like this one on any real page */

typedef lf__sel_parser_t parser_t;

static int parse_list(parser_t *p, lf__selector_t *sel, int relative);

/* The attributes whose values HTML compares ASCII case-insensitively in selectors (HTML
 * standard, "Case-sensitivity of selectors"): `link[type="text/css"]` matches type="TEXT/CSS". */
static const char *const html_icase_attrs[] = {
    "accept",     "accept-charset", "align",     "alink",    "axis",     "bgcolor", "charset",
    "checked",    "clear",          "codetype",  "color",    "compact",  "declare", "defer",
    "dir",        "direction",      "disabled",  "enctype",  "face",     "frame",   "hreflang",
    "http-equiv", "lang",           "language",  "link",     "media",    "method",  "multiple",
    "nohref",     "noresize",       "noshade",   "nowrap",   "readonly", "rel",     "rev",
    "rules",      "scope",          "scrolling", "selected", "shape",    "target",  "text",
    "type",       "valign",         "valuetype", "vlink"};

static int on_html_icase_list(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof(html_icase_attrs) / sizeof(*html_icase_attrs); i++)
    if (strlen(html_icase_attrs[i]) == n && lf__ascii_caseeq_n(name, html_icase_attrs[i], n))
      return 1;
  return 0;
}

static int add_test(parser_t *p, compound_t *c, attr_op_t op, attr_case_t icase, const char *name,
                    char *value, int any_ns) {
  attr_test_t *t = lf__sel_grow(c->tests, &c->cap, c->ntests, sizeof(*t));
  if (t) c->tests = t;
  char *n = t ? strdup(name) : NULL;
  if (!n) {
    free(value);
    return lf__sel_nomem(p);
  }
  int html_icase = icase == CASE_DEFAULT && on_html_icase_list(name);
  c->tests[c->ntests++] =
      (attr_test_t){op, icase, html_icase, any_ns, n, value, value ? strlen(value) : 0};
  return 0;
}

static pseudo_t *add_pseudo(parser_t *p, compound_t *c, pseudo_kind_t kind) {
  pseudo_t *ps = lf__sel_grow(c->pseudos, &c->pcap, c->npseudos, sizeof(*ps));
  if (!ps) {
    lf__sel_nomem(p);
    return NULL;
  }
  c->pseudos = ps;
  ps = &c->pseudos[c->npseudos++];
  *ps = (pseudo_t){.kind = kind};
  return ps;
}

/* A namespace prefix before a type or an attribute name (Selectors Level 3). No @namespace rule
 * can declare one here, so only `*|` (any namespace) and `|` (none) mean something; a named
 * prefix (`svg|a`) is refused (refuse_prefix). Sets *none for `|`. */
static void parse_ns_prefix(parser_t *p, int *none) {
  const char *s = p->s + p->pos;
  *none = 0;
  if (s[0] == '*' && s[1] == '|' && s[2] != '=') {
    p->pos += 2;
  } else if (s[0] == '|' && s[1] != '=' && s[1] != '|') {
    p->pos++;
    *none = 1;
  }
}

/* After a name: `name|` with a name after it is an undeclared namespace prefix. The message
 * quotes the prefix only when it is printable ASCII, so that it stays one printable line. */
static int refuse_prefix(parser_t *p, size_t start) {
  const char *s = p->s + p->pos;
  if (s[0] != '|' || s[1] == '=' ||
      !(s[1] == '*' || s[1] == '\\' || lf__sel_is_name_char((unsigned char)s[1])))
    return 0;
  size_t n = p->pos - start;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p->s[start + i] <= 0x20 || (unsigned char)p->s[start + i] >= 0x7f)
      return lf__sel_fail(p, start, "undeclared namespace prefix");
  return lf__sel_fail(p, start, "undeclared namespace prefix '%.*s'", (int)(n > 40 ? 40 : n),
                      p->s + start);
}

/* The optional type selector or '*' that starts a compound, with its namespace prefix. */
static int parse_type(parser_t *p, compound_t *c) {
  size_t start = p->pos;
  parse_ns_prefix(p, &c->no_ns);
  int prefixed = p->pos > start;
  unsigned char ch = (unsigned char)p->s[p->pos];
  if (ch == '*') {
    p->pos++;
    return 0;
  }
  if (ch != '\\' && !lf__sel_is_name_char(ch))
    return prefixed ? lf__sel_fail_expected(p, "a tag name or '*'") : 0;
  int rc = lf__sel_parse_name(p, "a tag name", &c->tag);
  if (!rc && !prefixed) rc = refuse_prefix(p, start);
  if (rc) return rc;
  for (char *q = c->tag; *q; q++)
    *q = (char)lf__ascii_lower((unsigned char)*q);
  c->tag_id = gumbo_tag_enum(c->tag);
  return 0;
}

/* .name and #name: the name is mandatory, so `..x` and a lone `#` fail right after the sign. */
static int parse_class_or_id(parser_t *p, compound_t *c) {
  int is_class = p->s[p->pos++] == '.';
  char *name;
  int rc = lf__sel_parse_name(p, is_class ? "a class name" : "an id", &name);
  if (rc) return rc;
  return is_class ? add_test(p, c, ATTR_INCLUDES, CASE_QUIRKS, "class", name, 0)
                  : add_test(p, c, ATTR_EQUALS, CASE_QUIRKS, "id", name, 0);
}

/* Inside [...], running out of text is reported at the '[' that was never closed. */
static int attr_fail(parser_t *p, size_t open, const char *expected) {
  if (!p->s[p->pos]) return lf__sel_fail(p, open, "unclosed '['");
  return expected ? lf__sel_fail_expected(p, expected) : lf__sel_fail_unexpected(p, p->pos);
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
  lf__sel_skip_ws(p);
  char c = p->s[p->pos];
  if (c == '"' || c == '\'') return lf__sel_parse_string(p, value);
  if (!c) return attr_fail(p, open, NULL);
  return lf__sel_parse_name(p, "a value", value);
}

/* The optional `i` or `s` flag after the value (Selectors Level 4), then ']'. */
static int parse_attr_end(parser_t *p, size_t open, attr_op_t op, attr_case_t *icase) {
  int had_ws = lf__sel_skip_ws(p);
  char f = (char)lf__ascii_lower((unsigned char)p->s[p->pos]);
  if (op != ATTR_EXISTS && had_ws && (f == 'i' || f == 's') &&
      !lf__sel_is_name_char((unsigned char)p->s[p->pos + 1])) {
    *icase = f == 'i' ? CASE_IGNORE : CASE_SENSITIVE;
    p->pos++;
    lf__sel_skip_ws(p);
  }
  return p->s[p->pos] == ']' ? 0 : attr_fail(p, open, "']'");
}

/* [name], [name OP value], [name OP value i|s], with `*|` or `|` before the name; whitespace is
 * allowed around every part. */
static int parse_attr(parser_t *p, compound_t *c) {
  size_t open = p->pos++;
  char *name = NULL, *value = NULL;
  attr_op_t op = ATTR_EXISTS;
  attr_case_t icase = CASE_DEFAULT;
  lf__sel_skip_ws(p);
  size_t start = p->pos;
  int none = 0;
  parse_ns_prefix(p, &none);
  int prefixed = p->pos > start, any_ns = prefixed && !none;
  int rc =
      p->s[p->pos] ? lf__sel_parse_name(p, "an attribute name", &name) : attr_fail(p, open, NULL);
  if (!rc && !prefixed) rc = refuse_prefix(p, start);
  if (!rc) {
    lf__sel_skip_ws(p);
    rc = parse_attr_op(p, open, &op);
  }
  if (!rc && op != ATTR_EXISTS) rc = parse_attr_value(p, open, &value);
  if (!rc) rc = parse_attr_end(p, open, op, &icase);
  if (!rc) {
    p->pos++;
    rc = add_test(p, c, op, icase, name, value, any_ns); /* takes value */
    value = NULL;
  }
  free(name);
  free(value);
  return rc;
}

/* ---- pseudo-classes ---- */

typedef struct {
  const char *name;
  pseudo_kind_t kind;
  long a, b;
} pseudo_name_t;

static const pseudo_name_t plain_pseudos[] = {
    {"root", PSEUDO_ROOT, 0, 0},
    /* querySelectorAll() on a document has no scoping element: :scope is the root */
    {"scope", PSEUDO_ROOT, 0, 0},
    {"empty", PSEUDO_EMPTY, 0, 0},
    {"link", PSEUDO_LINK, 0, 0},
    {"any-link", PSEUDO_LINK, 0, 0},
    {"first-child", PSEUDO_NTH_CHILD, 0, 1},
    {"last-child", PSEUDO_NTH_LAST_CHILD, 0, 1},
    {"only-child", PSEUDO_ONLY_CHILD, 0, 0},
    {"first-of-type", PSEUDO_NTH_OF_TYPE, 0, 1},
    {"last-of-type", PSEUDO_NTH_LAST_OF_TYPE, 0, 1},
    {"only-of-type", PSEUDO_ONLY_OF_TYPE, 0, 0},
};

static const pseudo_name_t func_pseudos[] = {
    {"nth-child", PSEUDO_NTH_CHILD, 0, 0},
    {"nth-last-child", PSEUDO_NTH_LAST_CHILD, 0, 0},
    {"nth-of-type", PSEUDO_NTH_OF_TYPE, 0, 0},
    {"nth-last-of-type", PSEUDO_NTH_LAST_OF_TYPE, 0, 0},
    {"is", PSEUDO_IS, 0, 0},
    {"where", PSEUDO_IS, 0, 0},
    {"matches", PSEUDO_IS, 0, 0},
    {"not", PSEUDO_NOT, 0, 0},
    {"has", PSEUDO_HAS, 0, 0},
    {"lang", PSEUDO_LANG, 0, 0},
};

static const pseudo_name_t *find_pseudo(const pseudo_name_t *t, size_t n, const char *s,
                                        size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(t[i].name) == len && lf__ascii_caseeq_n(s, t[i].name, len)) return &t[i];
  return NULL;
}

/* Reads digits at p->pos into *v (saturating at ANB_MAX); 0 if there were none. */
static int read_number(parser_t *p, long *v) {
  size_t start = p->pos;
  *v = 0;
  while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
    *v = *v * 10 + (p->s[p->pos++] - '0');
    if (*v > ANB_MAX) *v = ANB_MAX;
  }
  return p->pos > start;
}

static int word_at(const parser_t *p, const char *w) {
  size_t n = strlen(w);
  return lf__ascii_caseeq_n(p->s + p->pos, w, n) &&
         !lf__sel_is_name_char((unsigned char)p->s[p->pos + n]);
}

/* An+B as CSS writes it: odd, even, 5, -n+3, 2n, +3n - 1 (whitespace only around the sign). */
static int parse_anb(parser_t *p, long *a, long *b) {
  static const char *const expected = "An+B (such as 2n+1, odd or 3)";
  lf__sel_skip_ws(p);
  *a = *b = 0;
  for (int even = 0; even < 2; even++)
    if (word_at(p, even ? "even" : "odd")) {
      p->pos += even ? 4 : 3;
      *a = 2;
      *b = even ? 0 : 1;
      return 0;
    }
  long sign = 1, num;
  if (p->s[p->pos] == '+' || p->s[p->pos] == '-') sign = p->s[p->pos++] == '-' ? -1 : 1;
  int digits = read_number(p, &num);
  if ((p->s[p->pos] | 0x20) != 'n') {
    if (!digits) return lf__sel_fail_expected(p, expected);
    *b = sign * num;
    return 0;
  }
  p->pos++;
  *a = sign * (digits ? num : 1);
  size_t after_n = p->pos;
  lf__sel_skip_ws(p);
  char c = p->s[p->pos];
  if (c != '+' && c != '-') {
    p->pos = after_n;
    return 0;
  }
  p->pos++;
  lf__sel_skip_ws(p);
  if (!read_number(p, &num)) return lf__sel_fail_expected(p, "a number");
  *b = (c == '-' ? -1 : 1) * num;
  return 0;
}

/* A nested selector list up to the closing ')'. */
static int parse_nested(parser_t *p, pseudo_t *ps, size_t open, int relative) {
  if (p->depth >= MAX_DEPTH) return lf__sel_fail(p, open, "selector nested too deeply");
  ps->list = calloc(1, sizeof(*ps->list));
  if (!ps->list) return lf__sel_nomem(p);
  p->depth++;
  int rc = parse_list(p, ps->list, relative);
  p->depth--;
  return rc;
}

/* ":name(" never closed: reported at the ':' with the name (name characters only, so the
 * message stays one printable line). */
static int unclosed(parser_t *p, size_t start) {
  size_t n = strcspn(p->s + start, "(");
  return lf__sel_fail(p, start, "unclosed '(' of '%.*s()'", (int)(n > 40 ? 40 : n), p->s + start);
}

static int parse_func_args(parser_t *p, pseudo_t *ps, size_t start) {
  int rc = 0;
  switch (ps->kind) {
  case PSEUDO_NTH_CHILD:
  case PSEUDO_NTH_LAST_CHILD:
    rc = parse_anb(p, &ps->a, &ps->b);
    lf__sel_skip_ws(p);
    if (!rc && word_at(p, "of") && lf__ascii_is_space((unsigned char)p->s[p->pos + 2])) {
      p->pos += 2;
      rc = parse_nested(p, ps, start, 0);
    }
    break;
  case PSEUDO_NTH_OF_TYPE:
  case PSEUDO_NTH_LAST_OF_TYPE:
    rc = parse_anb(p, &ps->a, &ps->b);
    break;
  case PSEUDO_LANG:
    lf__sel_skip_ws(p);
    rc = p->s[p->pos] == '"' || p->s[p->pos] == '\''
             ? lf__sel_parse_string(p, &ps->lang)
             : lf__sel_parse_name(p, "a language such as en", &ps->lang);
    break;
  case PSEUDO_HAS:
    if (p->in_has) return lf__sel_fail(p, start, "':has()' inside ':has()'");
    p->in_has = 1;
    rc = parse_nested(p, ps, start, 1);
    p->in_has = 0;
    break;
  default:
    rc = parse_nested(p, ps, start, 0);
  }
  lf__sel_skip_ws(p);
  if (!rc && p->s[p->pos] != ')')
    rc = p->s[p->pos] ? lf__sel_fail_expected(p, "')'") : unclosed(p, start);
  if (!rc) p->pos++;
  return rc;
}

/* :name or :name(...). Anything else, such as the states a saved page does not have (:hover,
 * :focus, :checked, :visited), and pseudo-elements (::before), is refused with its position,
 * so the user knows what to drop. */
static int parse_pseudo(parser_t *p, compound_t *c) {
  size_t start = p->pos, i = start + 1;
  if (p->s[i] == ':') i++;
  size_t name = i;
  while (lf__sel_is_name_char((unsigned char)p->s[i]))
    i++;
  if (i == name) return lf__sel_fail_unexpected(p, start);
  int func = p->s[i] == '(' && name - start == 1;
  const pseudo_name_t *t =
      name - start == 2 ? NULL
      : func ? find_pseudo(func_pseudos, sizeof(func_pseudos) / sizeof(*func_pseudos), p->s + name,
                           i - name)
             : find_pseudo(plain_pseudos, sizeof(plain_pseudos) / sizeof(*plain_pseudos),
                           p->s + name, i - name);
  if (!t) {
    int len = i - start > 64 ? 64 : (int)(i - start);
    return lf__sel_fail(p, start, "unsupported %s '%.*s'",
                        name - start == 2 ? "pseudo-element" : "pseudo-class", len, p->s + start);
  }
  pseudo_t *ps = add_pseudo(p, c, t->kind);
  if (!ps) return LF_ENOMEM;
  ps->a = t->a;
  ps->b = t->b;
  p->pos = i + func;
  return func ? parse_func_args(p, ps, start) : 0;
}

/* ---- compounds, complex selectors, lists ---- */

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
      rc = parse_pseudo(p, c);
    else
      break;
  }
  if (!rc && p->pos == start) rc = lf__sel_fail_unexpected(p, p->pos);
  return rc;
}

static int is_list_end(const parser_t *p, char c) {
  return !c || c == ',' || (c == ')' && p->depth > 0);
}

static int read_combinator(parser_t *p, comb_t *comb) {
  char c = p->s[p->pos];
  if (c != '>' && c != '+' && c != '~') return 0;
  *comb = c == '>' ? COMB_CHILD : c == '+' ? COMB_ADJACENT : COMB_SIBLING;
  p->pos++;
  lf__sel_skip_ws(p);
  return 1;
}

/* After a compound: a combinator (*comb set), or the end of the group (*comb = COMB_NONE) at
 * ',', ')' when nested, or the end of the text. Whitespace alone is the descendant combinator. */
static int parse_combinator(parser_t *p, comb_t *comb) {
  int had_ws = lf__sel_skip_ws(p);
  *comb = COMB_NONE;
  if (is_list_end(p, p->s[p->pos]) || read_combinator(p, comb)) return 0;
  if (had_ws) {
    *comb = COMB_DESCENDANT;
    return 0;
  }
  return lf__sel_fail_unexpected(p, p->pos);
}

static compound_t *add_compound(parser_t *p, complex_t *cx, comb_t comb) {
  compound_t *items = lf__sel_grow(cx->items, &cx->cap, cx->n, sizeof(*items));
  if (!items) {
    lf__sel_nomem(p);
    return NULL;
  }
  cx->items = items;
  compound_t *c = &cx->items[cx->n++];
  *c = (compound_t){.comb = comb, .tag_id = GUMBO_TAG_UNKNOWN};
  return c;
}

/* relative: a :has() argument, which may start with a combinator (descendant if none). */
static int parse_complex(parser_t *p, complex_t *cx, int relative) {
  comb_t comb = COMB_NONE;
  if (relative) {
    compound_t *anchor = add_compound(p, cx, COMB_NONE);
    if (!anchor) return LF_ENOMEM;
    anchor->anchor = 1;
    comb = COMB_DESCENDANT;
    read_combinator(p, &comb);
  }
  do {
    compound_t *c = add_compound(p, cx, comb);
    if (!c) return LF_ENOMEM;
    int rc = parse_compound(p, c);
    if (!rc) rc = parse_combinator(p, &comb);
    if (rc) return rc;
  } while (comb != COMB_NONE);
  return 0;
}

static int parse_list(parser_t *p, lf__selector_t *sel, int relative) {
  lf__sel_skip_ws(p);
  if (!p->s[p->pos] && !p->depth) return lf__sel_fail(p, 0, "empty selector");
  for (;;) {
    complex_t *groups = lf__sel_grow(sel->groups, &sel->cap, sel->n, sizeof(*groups));
    if (!groups) return lf__sel_nomem(p);
    sel->groups = groups;
    complex_t *cx = &sel->groups[sel->n++];
    *cx = (complex_t){0};
    int rc = parse_complex(p, cx, relative);
    if (rc) return rc;
    if (p->s[p->pos] != ',') return 0; /* the end, or ')' of a nested list */
    p->pos++;
    lf__sel_skip_ws(p);
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
  if (!sel) return lf__sel_nomem(&p);
  int rc = parse_list(&p, sel, 0);
  if (rc) {
    lf__selector_free(sel);
    if (rc == LF_ESELECTOR && err_pos) *err_pos = p.err_pos;
    return rc;
  }
  *out = sel;
  return 0;
}

static void free_compound(compound_t *c) {
  for (size_t t = 0; t < c->ntests; t++) {
    free(c->tests[t].name);
    free(c->tests[t].value);
  }
  for (size_t i = 0; i < c->npseudos; i++) {
    for (size_t k = 0; k < LF__NTH_SLOTS; k++) {
      free(c->pseudos[i].cache[k].nth);
      free(c->pseudos[i].cache[k].total);
    }
    lf__selector_free(c->pseudos[i].list);
    free(c->pseudos[i].lang);
  }
  free(c->tests);
  free(c->pseudos);
  free(c->tag);
}

void lf__selector_free(lf__selector_t *sel) {
  if (!sel) return;
  for (size_t g = 0; g < sel->n; g++) {
    complex_t *cx = &sel->groups[g];
    for (size_t i = 0; i < cx->n; i++)
      free_compound(&cx->items[i]);
    free(cx->items);
  }
  free(sel->groups);
  free(sel);
}
