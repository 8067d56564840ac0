/* CSS selector matching over gumbo's tree (the compiled form is in selector_ast.h).
 *
 * Matching runs right to left: the rightmost compound must match the candidate element, then
 * each combinator leads to the elements that could match the compound on its left. Descendant
 * and '~' offer several candidates; each is tried in turn, so a failure further left backtracks
 * to the next candidate instead of giving up (`div p + a` tries every ancestor div). Failures
 * that no other candidate could fix end the search early (see match_t), which keeps matching
 * near-linear. Recursion depth is bounded by the number of compounds and the nesting of
 * :is()/:not()/:has() (bounded by the parser), never by the depth of the document.
 *
 * :has(rel) on element E walks the elements rel could start from (E's descendants, or its later
 * siblings and their descendants for `+` and `~`) and matches rel right to left from each; the
 * leftmost "anchor" compound matches E alone. Led by '~', one sibling's answer carries to the
 * next (has_siblings), so asking every sibling costs about one walk over them; led by '+', the
 * first compound is on the next element or nowhere, and the rest is anchored there (`:has(+ a
 * ~ b)` is `~ b` from that element). Only `+ a + b ~ c` still walks every later sibling.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charesc.h"
#include "loopfetch.h"
#include "quirks.h"
#include "selector_ast.h"
#include "selector_lex.h"
#include "walk.h"

/* The document being matched (lf__selector_document), for the nested selectors of :is(),
 * :has() and the like too: set by lf__selector_matches from the top-level selector. */
static _Thread_local const doc_info_t *cur_doc;

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

/* n's index among its parent's children. Trusts index_within_parent only if it checks out. */
static size_t index_of(const GumboVector *kids, const GumboNode *n) {
  size_t i = n->index_within_parent;
  if (i < kids->length && kids->data[i] == n) return i;
  for (i = 0; i < kids->length && kids->data[i] != n; i++)
    ;
  return i;
}

/* The element before n among its parent's children, skipping text, whitespace and comments. */
static const GumboNode *prev_element(const GumboNode *n) {
  const GumboVector *kids = n->parent ? children_of(n->parent) : NULL;
  if (!kids) return NULL;
  size_t i = index_of(kids, n);
  if (i == kids->length) return NULL;
  while (i-- > 0)
    if (is_element(kids->data[i])) return kids->data[i];
  return NULL;
}

/* Elements have the same type: the same tag, or for unknown tags the same name. */
static int same_type(const GumboNode *a, const GumboNode *b) {
  const GumboElement *x = &a->v.element, *y = &b->v.element;
  if (x->tag != y->tag || x->tag_namespace != y->tag_namespace) return 0;
  if (x->tag != GUMBO_TAG_UNKNOWN) return 1;
  GumboStringPiece p = x->original_tag, q = y->original_tag;
  gumbo_tag_from_original_text(&p);
  gumbo_tag_from_original_text(&q);
  return p.length == q.length && (!p.length || lf__ascii_caseeq_n(p.data, q.data, p.length));
}

static int tag_matches(const compound_t *c, const GumboElement *e) {
  if (!c->tag) return 1;
  if (c->tag_id != GUMBO_TAG_UNKNOWN) return e->tag == c->tag_id;
  if (e->tag != GUMBO_TAG_UNKNOWN) return 0;
  /* gumbo only keeps the name of unknown elements as the raw "<my-tag ...>" text. */
  GumboStringPiece name = e->original_tag;
  gumbo_tag_from_original_text(&name);
  return name.data && name.length == strlen(c->tag) &&
         lf__ascii_caseeq_n(name.data, c->tag, name.length);
}

/* The value of attribute name on e: with any_ns 0, only an attribute in no namespace, as CSS
 * says for [a] (gumbo files xlink:href on SVG as "href" in the XLink namespace). */
static const char *attr_value_ns(const GumboElement *e, const char *name, int any_ns) {
  size_t n = strlen(name);
  for (unsigned i = 0; i < e->attributes.length; i++) {
    const GumboAttribute *a = e->attributes.data[i];
    if (!any_ns && a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE) continue;
    /* a shorter a->name differs at its NUL, so this reads no further than strlen() would */
    if (lf__ascii_caseeq_n(a->name, name, n) && a->name[n] == '\0') return a->value;
  }
  return NULL;
}

static const char *attr_value(const GumboElement *e, const char *name) {
  return attr_value_ns(e, name, 1);
}

/* ---- attribute values ---- */

static int bytes_eq(const char *a, const char *b, size_t n, int icase) {
  return icase ? lf__ascii_caseeq_n(a, b, n) : memcmp(a, b, n) == 0;
}

/* ~= : word is one of the ASCII-whitespace-separated tokens of v. A word that is empty or holds
 * whitespace can never be a token, so it matches nothing (as CSS specifies). */
static int has_word(const char *v, const char *word, size_t wlen, int icase) {
  if (!wlen) return 0;
  for (size_t i = 0; i < wlen; i++)
    if (lf__ascii_is_space((unsigned char)word[i])) return 0;
  while (*v) {
    while (lf__ascii_is_space((unsigned char)*v))
      v++;
    const char *start = v;
    while (*v && !lf__ascii_is_space((unsigned char)*v))
      v++;
    if ((size_t)(v - start) == wlen && bytes_eq(start, word, wlen, icase)) return 1;
  }
  return 0;
}

static int has_substring(const char *v, size_t vlen, const char *s, size_t n, int icase) {
  for (size_t i = 0; n && i + n <= vlen; i++)
    if (bytes_eq(v + i, s, n, icase)) return 1;
  return 0;
}

/* [a=v i] folds ASCII case; without a flag, so do the attributes on the HTML standard's list,
 * on HTML elements (not on SVG or MathML ones). ^= $= *= with an empty value match nothing. */
static int value_matches_n(const attr_test_t *t, const GumboElement *e, const char *v,
                           size_t vlen) {
  int icase = t->icase == CASE_IGNORE ||
              (t->html_icase && e->tag_namespace == GUMBO_NAMESPACE_HTML) ||
              (t->icase == CASE_QUIRKS && cur_doc && cur_doc->quirks);
  size_t n = t->value_len;
  switch (t->op) {
  case ATTR_EXISTS:
    return 1;
  case ATTR_EQUALS:
    return vlen == n && bytes_eq(v, t->value, n, icase);
  case ATTR_INCLUDES:
    return has_word(v, t->value, n, icase);
  case ATTR_DASH:
    return vlen >= n && bytes_eq(v, t->value, n, icase) && (v[n] == '\0' || v[n] == '-');
  case ATTR_PREFIX:
    return n && vlen >= n && bytes_eq(v, t->value, n, icase);
  case ATTR_SUFFIX:
    return n && vlen >= n && bytes_eq(v + vlen - n, t->value, n, icase);
  case ATTR_SUBSTRING:
    return has_substring(v, vlen, t->value, n, icase);
  }
  return 0;
}

/* The value as the page wrote it: a control character or noncharacter in it is under an
 * escape in the tree (charesc.h), undone here in a copy. If that copy cannot be made, the
 * escaped text is compared, which can only miss a match that needs those characters. */
static int value_matches(const attr_test_t *t, const GumboElement *e, const char *v) {
  size_t vlen = strlen(v);
  if (t->op == ATTR_EXISTS || !lf__charesc_found(v, vlen)) return value_matches_n(t, e, v, vlen);
  char small[256], *copy = vlen < sizeof(small) ? small : malloc(vlen + 1);
  if (!copy) return value_matches_n(t, e, v, vlen);
  memcpy(copy, v, vlen + 1);
  int r = value_matches_n(t, e, copy, lf__charesc_undo(copy));
  if (copy != small) free(copy);
  return r;
}

/* ---- pseudo-classes ---- */

static int matches_list(const lf__selector_t *sel, const GumboNode *node);

static int of_type(const pseudo_t *ps) {
  return ps->kind == PSEUDO_NTH_OF_TYPE || ps->kind == PSEUDO_NTH_LAST_OF_TYPE ||
         ps->kind == PSEUDO_ONLY_OF_TYPE;
}

/* Whether sibling s counts for ps: any element (:nth-child, and of its type for the of-type
 * forms), or one matching S (:nth-child(An+B of S)). */
static int counts(const pseudo_t *ps, const GumboNode *s) {
  if (!is_element(s)) return 0;
  return of_type(ps) || !ps->list || matches_list(ps->list, s);
}

/* How many ancestors n has: the memo slot of the :nth-* and :has() memos. */
static size_t depth_of(const GumboNode *n) {
  size_t depth = 0;
  for (const GumboNode *a = n->parent; a; a = a->parent)
    depth++;
  return depth;
}

/* Indexes the children of parent for ps in c (see nth_cache_t): one pass that numbers the
 * siblings that count, per type for the of-type forms (the types among one parent's children
 * are few: each child is compared with one child of each type seen so far), then a pass that
 * writes each one's total. 0 or LF_ENOMEM. */
static int index_children(const pseudo_t *ps, nth_cache_t *c, const GumboNode *parent,
                          const GumboVector *kids) {
  size_t n = kids->length, ntypes = 0;
  if (n > c->cap) {
    long *nth = realloc(c->nth, n * sizeof(long));
    if (nth) c->nth = nth;
    long *total = nth ? realloc(c->total, n * sizeof(long)) : NULL;
    if (total) c->total = total;
    if (!total) return LF_ENOMEM;
    c->cap = n;
  }
  /* of-type: the first child of each type seen, whose total[] holds the type's running count
   * meanwhile (and total[] of a later child of the type, the index of that first child) */
  size_t *firsts = of_type(ps) && n ? malloc(n * sizeof(size_t)) : NULL;
  if (of_type(ps) && n && !firsts) return LF_ENOMEM;
  long all = 0;
  for (size_t i = 0; i < n; i++) {
    const GumboNode *k = kids->data[i];
    c->nth[i] = 0;
    if (!counts(ps, k)) continue;
    if (!firsts) {
      c->nth[i] = ++all;
      continue;
    }
    size_t t = 0;
    while (t < ntypes && !same_type(k, kids->data[firsts[t]]))
      t++;
    if (t == ntypes) {
      firsts[ntypes++] = i;
      c->total[i] = 0;
    }
    c->nth[i] = ++c->total[firsts[t]];
    if (firsts[t] != i) c->total[i] = (long)firsts[t];
  }
  for (size_t i = n; i-- > 0;) { /* backwards: a type's first child still holds its count */
    if (!c->nth[i]) continue;
    if (!firsts)
      c->total[i] = all;
    else if (c->nth[i] != 1)
      c->total[i] = c->total[c->total[i]];
  }
  free(firsts);
  c->parent = parent;
  return 0;
}

/* 1-based position of n among the siblings that count, from the start or (from_end) the end;
 * 0 when n does not count itself (it does not match S). */
static long position(pseudo_t *ps, const GumboNode *n, int from_end) {
  const GumboVector *kids = n->parent ? children_of(n->parent) : NULL;
  if (!kids) return counts(ps, n) ? 1 : 0; /* a detached element is its own only sibling */
  size_t at = index_of(kids, n);
  if (at == kids->length) return 1;
  nth_cache_t *c = &ps->cache[depth_of(n) % LF__NTH_SLOTS];
  if (c->parent != n->parent && index_children(ps, c, n->parent, kids)) {
    c->parent = NULL; /* no memory for the index: count this once, the slow way */
    long before = 0, after = 0;
    if (!counts(ps, n)) return 0;
    for (size_t i = 0; i < kids->length; i++)
      if (i != at && (!of_type(ps) || (is_element(kids->data[i]) && same_type(n, kids->data[i]))) &&
          counts(ps, kids->data[i]))
        *(i < at ? &before : &after) += 1;
    return from_end ? after + 1 : before + 1;
  }
  long p = c->nth[at];
  return !p ? 0 : from_end ? c->total[at] - p + 1 : p;
}

/* Whether i = a*k + b for some integer k >= 0. */
static int anb_matches(long a, long b, long i) {
  if (a == 0) return i == b;
  long d = i - b;
  return d % a == 0 && d / a >= 0;
}

/* The element's own lang attribute (or xml:lang), or NULL. */
static const char *own_lang(const GumboNode *n) {
  const char *v = attr_value(&n->v.element, "lang");
  return v ? v : attr_value(&n->v.element, "xml:lang");
}

/* Language v (vlen bytes) is want or starts want-, ASCII case folded. */
static int lang_is_n(const char *v, size_t vlen, const char *want) {
  size_t w = strlen(want);
  return vlen >= w && lf__ascii_caseeq_n(v, want, w) && (vlen == w || v[w] == '-');
}

static int lang_is(const char *v, const char *want) {
  return lang_is_n(v, strlen(v), want);
}

/* An element no lang attribute covers has the document's default language: the one a
 * <meta http-equiv=content-language> set (the HTML standard's pragma-set default language). */
static int default_lang_is(const char *want) {
  return cur_doc && cur_doc->pragma_lang &&
         lang_is_n(cur_doc->pragma_lang, cur_doc->pragma_len, want);
}

/* :lang(x): the nearest lang attribute (or xml:lang) on n or an ancestor is x or starts x-. */
static int lang_uncached(const char *want, const GumboNode *n) {
  for (; is_element(n); n = n->parent) {
    const char *v = own_lang(n);
    if (v) return lang_is(v, want);
  }
  return default_lang_is(want);
}

/* An element without its own lang has its parent's answer, which the memo keeps (one slot
 * per depth, as for :has()): the cells of a row ask about the same row, and each row about
 * the same table, instead of every cell climbing to <html>. */
static int lang_matches(pseudo_t *ps, const GumboNode *n) {
  const char *v = own_lang(n);
  if (v) return lang_is(v, ps->lang);
  const GumboNode *p = n->parent;
  if (!is_element(p)) return default_lang_is(ps->lang);
  has_memo_t *m = &ps->has_memo[depth_of(p) % LF__NTH_SLOTS];
  if (m->node != p) *m = (has_memo_t){p, lang_uncached(ps->lang, p)};
  return m->result;
}

/* :empty: no element and no text child at all (comments do not count; whitespace does). */
static int is_empty(const GumboNode *n) {
  const GumboVector *kids = &n->v.element.children;
  for (unsigned i = 0; i < kids->length; i++)
    if (((const GumboNode *)kids->data[i])->type != GUMBO_NODE_COMMENT) return 0;
  return 1;
}

static int has_matches(const lf__selector_t *rel, const GumboNode *n);

/* :has() through its memo (see has_memo_t). */
static int has_remembered(pseudo_t *ps, const GumboNode *n) {
  has_memo_t *m = &ps->has_memo[depth_of(n) % LF__NTH_SLOTS];
  if (m->node != n) *m = (has_memo_t){n, has_matches(ps->list, n)};
  return m->result;
}

/* The element after n among its parent's children, or NULL. */
static const GumboNode *next_element(const GumboNode *n) {
  const GumboVector *kids = n->parent ? children_of(n->parent) : NULL;
  for (size_t i = kids ? index_of(kids, n) + 1 : 0; kids && i < kids->length; i++)
    if (is_element(kids->data[i])) return kids->data[i];
  return NULL;
}

static int nth_matches(pseudo_t *ps, const GumboNode *n) {
  /* :first-child and :last-child need no counting */
  if (ps->a == 0 && ps->b == 1 && !ps->list) {
    if (ps->kind == PSEUDO_NTH_CHILD) return !prev_element(n);
    if (ps->kind == PSEUDO_NTH_LAST_CHILD) return !next_element(n);
  }
  long p;
  switch (ps->kind) {
  case PSEUDO_NTH_CHILD:
  case PSEUDO_NTH_OF_TYPE:
    p = position(ps, n, 0); /* 0: n does not match S */
    return p && anb_matches(ps->a, ps->b, p);
  case PSEUDO_NTH_LAST_CHILD:
  case PSEUDO_NTH_LAST_OF_TYPE:
    p = position(ps, n, 1);
    return p && anb_matches(ps->a, ps->b, p);
  default: /* :only-child, :only-of-type */
    return position(ps, n, 0) == 1 && position(ps, n, 1) == 1;
  }
}

/* The cache in ps is the matcher's own memo: see lf__selector_forget(). */
static int pseudo_matches(const pseudo_t *cps, const GumboNode *n) {
  pseudo_t *ps = (pseudo_t *)cps;
  const GumboElement *e = &n->v.element;
  switch (ps->kind) {
  case PSEUDO_ROOT:
    return n->parent && n->parent->type == GUMBO_NODE_DOCUMENT;
  case PSEUDO_EMPTY:
    return is_empty(n);
  case PSEUDO_LINK: /* HTML <a> and <area>, SVG <a> (href or xlink:href) */
    return ((e->tag == GUMBO_TAG_A && (e->tag_namespace == GUMBO_NAMESPACE_HTML ||
                                       e->tag_namespace == GUMBO_NAMESPACE_SVG)) ||
            (e->tag == GUMBO_TAG_AREA && e->tag_namespace == GUMBO_NAMESPACE_HTML)) &&
           attr_value(e, "href");
  case PSEUDO_LANG:
    return lang_matches(ps, n);
  case PSEUDO_IS:
    return matches_list(ps->list, n);
  case PSEUDO_NOT:
    return !matches_list(ps->list, n);
  case PSEUDO_HAS:
    return has_remembered(ps, n);
  default:
    return nth_matches(ps, n);
  }
}

/* Compounds tried, for tests that check matching stays near-linear without timing it. */
static _Thread_local unsigned long steps;

unsigned long lf__selector_steps(void) {
  return steps;
}

static int compound_matches(const compound_t *c, const GumboNode *n, const GumboNode *anchor) {
  steps++;
  if (c->anchor) return n == anchor;
  if (c->no_ns) return 0; /* every element of an HTML document is in a namespace */
  const GumboElement *e = &n->v.element;
  if (!tag_matches(c, e)) return 0;
  for (size_t i = 0; i < c->ntests; i++) {
    const char *v = attr_value_ns(e, c->tests[i].name, c->tests[i].any_ns);
    if (!v || !value_matches(&c->tests[i], e, v)) return 0;
  }
  for (size_t i = 0; i < c->npseudos; i++)
    if (!pseudo_matches(&c->pseudos[i], n)) return 0;
  return 1;
}

/* ---- complex selectors ---- */

/* Outcome of matching part of a chain. Plain backtracking is exponential: `section div div a`
 * on a deep page without <section> would retry every pair of div ancestors. The two "fails"
 * results prune that (the scheme WebKit's SelectorChecker uses):
 *  - FAIL_SIBLINGS: no earlier sibling of this element can succeed either (they share its
 *    parent and have fewer siblings before them), so a '~' loop may stop;
 *  - FAIL_ALL: no ancestor can succeed either (they have fewer ancestors), so every enclosing
 *    loop may stop.
 * Both hold for the pseudo-classes too: each is a test of one element, like a tag. */
typedef enum { MATCH, FAIL_LOCAL, FAIL_SIBLINGS, FAIL_ALL } match_t;

typedef struct {
  const complex_t *cx;
  const GumboNode *anchor; /* the :has() element, for relative selectors */
  size_t first; /* the compound that is the anchor: 0, or 1 once a '+' lead was matched */
} chain_t;

static match_t match_at(const chain_t *ch, size_t idx, const GumboNode *n);

/* Tries compound idx-1 on each ancestor of n (descendant) or each earlier sibling ('~'). */
static match_t match_any(const chain_t *ch, size_t idx, const GumboNode *n, int siblings) {
  const GumboNode *m = siblings ? prev_element(n) : parent_element(n);
  for (; m; m = siblings ? prev_element(m) : parent_element(m)) {
    match_t r = match_at(ch, idx - 1, m);
    if (r == MATCH || r == FAIL_ALL || (siblings && r == FAIL_SIBLINGS)) return r;
  }
  return siblings ? FAIL_SIBLINGS : FAIL_ALL;
}

/* Matches compound idx of the chain at element n, then what lies left of it, right to left. */
static match_t match_at(const chain_t *ch, size_t idx, const GumboNode *n) {
  const compound_t *c = &ch->cx->items[idx];
  if (idx == ch->first && idx > 0) return n == ch->anchor ? MATCH : FAIL_LOCAL; /* checked */
  if (!compound_matches(c, n, ch->anchor)) return FAIL_LOCAL;
  if (idx == 0) return MATCH;
  const GumboNode *m;
  match_t r;
  switch (c->comb) {
  case COMB_CHILD:
    m = parent_element(n);
    if (!m) return FAIL_ALL;
    r = match_at(ch, idx - 1, m);
    return r == MATCH || r == FAIL_ALL ? r : FAIL_SIBLINGS; /* siblings have the same parent */
  case COMB_ADJACENT:
    m = prev_element(n);
    return m ? match_at(ch, idx - 1, m) : FAIL_SIBLINGS;
  case COMB_DESCENDANT:
    return match_any(ch, idx, n, 0);
  case COMB_SIBLING:
    /* `:has(~ X)`: whether the anchor is an earlier sibling is a comparison, not a walk */
    if (idx == ch->first + 1 && (ch->first > 0 || ch->cx->items[0].anchor))
      return ch->anchor->parent == n->parent && n->parent &&
                     ch->anchor->index_within_parent < n->index_within_parent
                 ? MATCH
                 : FAIL_SIBLINGS;
    return match_any(ch, idx, n, 1);
  case COMB_NONE:
    break;
  }
  return FAIL_LOCAL;
}

static int matches_list(const lf__selector_t *sel, const GumboNode *node) {
  for (size_t g = 0; g < sel->n; g++) {
    chain_t ch = {&sel->groups[g], NULL, 0};
    if (match_at(&ch, ch.cx->n - 1, node) == MATCH) return 1;
  }
  return 0;
}

/* The element after n in document order within the subtree of top (n itself excluded), or
 * NULL. Iterative, so deep pages cannot exhaust the stack. */
static const GumboNode *next_in(const GumboNode *n, const GumboNode *top) {
  const GumboVector *kids = children_of(n);
  if (n->type == GUMBO_NODE_ELEMENT && kids && kids->length) return kids->data[0];
  for (; n != top && n->parent; n = n->parent) {
    const GumboVector *sibs = children_of(n->parent);
    size_t i = n->index_within_parent + 1;
    if (sibs && i < sibs->length) return sibs->data[i];
  }
  return NULL;
}

static int chain_from(const chain_t *ch, const GumboNode *m) {
  return is_element(m) && match_at(ch, ch->cx->n - 1, m) == MATCH;
}

/* The first element at or after m (in document order, within the subtrees of the siblings
 * sibs[i..]) from which ch matches: 1 with *top and *at set, else 0. */
static int scan_siblings(const chain_t *ch, const GumboVector *sibs, size_t i, const GumboNode *m,
                         int next_only, size_t *top, const GumboNode **at) {
  for (; i < sibs->length; i++, m = NULL) {
    const GumboNode *s = sibs->data[i];
    if (!is_element(s)) continue;
    for (m = m ? m : s; m; m = next_in(m, s))
      if (chain_from(ch, m)) {
        *top = i;
        *at = m;
        return 1;
      }
    if (next_only) break;
  }
  return 0;
}

/* A '~'-led relative selector for n, remembering across the siblings of one parent asked in
 * order. A witness for a sibling (an element from which the chain matches, its first compound
 * on a sibling after n) is a witness for every earlier sibling too: the chain asks of n only
 * that it come first. So once a sibling has none, no later one has; and when a later sibling
 * asks, the last witness is tried again and the search goes on after it, never before it (the
 * elements there had no witness for an earlier sibling, so none for this one). Each element of
 * the parent's subtree is tried about once, where asking each sibling from scratch tried all
 * those after it: 20,000 `<li>` under `li:has(~ li.x)` took 11-44 s (issue 28, item 12). */
static int has_siblings(complex_t *cx, const chain_t *ch, const GumboNode *n,
                        const GumboVector *sibs) {
  size_t at = index_of(sibs, n), start = at + 1, top;
  const GumboNode *from = NULL, *m;
  sib_memo_t *memo = &cx->sib_memo[depth_of(n) % LF__NTH_SLOTS];
  if (memo->parent == n->parent && memo->anchor_at < at) {
    if (!memo->result) return 0;
    if (memo->top > at) {
      if (chain_from(ch, memo->m)) {
        memo->anchor_at = at;
        return 1;
      }
      start = memo->top;
      from = next_in(memo->m, sibs->data[memo->top]);
      if (!from) start++;
    }
  }
  int r = scan_siblings(ch, sibs, start, from, 0, &top, &m);
  *memo = (sib_memo_t){n->parent, at, r, r ? top : 0, r ? m : NULL};
  return r;
}

/* :has(): some element the relative selector can reach from n matches it (see the top). */
static int has_matches(const lf__selector_t *rel, const GumboNode *n) {
  for (size_t g = 0; g < rel->n; g++) {
    complex_t *cx = &((lf__selector_t *)rel)->groups[g];
    chain_t ch = {cx, n, 0};
    comb_t lead = ch.cx->items[1].comb;
    if (lead == COMB_DESCENDANT || lead == COMB_CHILD) {
      for (const GumboNode *m = next_in(n, n); m; m = next_in(m, n))
        if (chain_from(&ch, m)) return 1;
      continue;
    }
    const GumboVector *sibs = n->parent ? children_of(n->parent) : NULL;
    if (!sibs) continue;
    if (lead == COMB_SIBLING) {
      if (has_siblings(cx, &ch, n, sibs)) return 1;
      continue;
    }
    /* `+ a b`: only the next element and what it holds */
    int next_only = 1;
    for (size_t k = 2; k < ch.cx->n; k++)
      next_only &= ch.cx->items[k].comb == COMB_DESCENDANT || ch.cx->items[k].comb == COMB_CHILD;
    size_t top;
    const GumboNode *m, *x1 = next_element(n);
    if (!next_only && x1) {
      /* `+ a ~ b`, `+ a b ~ c`: the first compound can only be on the next element; from
       * there the chain is one anchored on that element, '~'-led (remembered as above) or
       * held in its subtree */
      comb_t c2 = cx->items[2].comb;
      chain_t sub = {cx, x1, 1};
      if (c2 != COMB_ADJACENT) {
        if (!compound_matches(&cx->items[1], x1, n)) continue;
        if (c2 == COMB_SIBLING) {
          if (has_siblings(cx, &sub, x1, sibs)) return 1;
        } else {
          for (m = next_in(x1, x1); m; m = next_in(m, x1))
            if (chain_from(&sub, m)) return 1;
        }
        continue;
      }
    }
    if (scan_siblings(&ch, sibs, index_of(sibs, n) + 1, NULL, next_only, &top, &m)) return 1;
  }
  return 0;
}

int lf__selector_matches(const lf__selector_t *sel, const GumboNode *node) {
  if (!sel || !is_element(node)) return 0;
  cur_doc = &sel->doc;
  return matches_list(sel, node);
}

static void forget_list(lf__selector_t *sel) {
  for (size_t g = 0; sel && g < sel->n; g++) {
    for (size_t i = 0; i < LF__NTH_SLOTS; i++)
      sel->groups[g].sib_memo[i] = (sib_memo_t){0};
    for (size_t i = 0; i < sel->groups[g].n; i++) {
      compound_t *c = &sel->groups[g].items[i];
      for (size_t k = 0; k < c->npseudos; k++) {
        for (size_t i = 0; i < LF__NTH_SLOTS; i++) {
          c->pseudos[k].cache[i].parent = NULL; /* the arrays stay, for the next document */
          c->pseudos[k].has_memo[i] = (has_memo_t){0};
        }
        forget_list(c->pseudos[k].list);
      }
    }
  }
}

void lf__selector_forget(lf__selector_t *sel) {
  forget_list(sel);
  if (sel) sel->doc = (doc_info_t){0};
}

static int uses_lang(const lf__selector_t *sel) {
  for (size_t g = 0; sel && g < sel->n; g++)
    for (size_t i = 0; i < sel->groups[g].n; i++) {
      const compound_t *c = &sel->groups[g].items[i];
      for (size_t k = 0; k < c->npseudos; k++)
        if (c->pseudos[k].kind == PSEUDO_LANG || uses_lang(c->pseudos[k].list)) return 1;
    }
  return 0;
}

/* The HTML standard's "pragma-set default language": each <meta http-equiv=content-language>
 * with a content holding no comma sets it to the content's first word; the last one wins. */
static void pragma_lang(doc_info_t *d, const GumboNode *root) {
  for (const GumboNode *n = root; n; n = lf__walk_next(n)) {
    if (n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_META ||
        n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
      continue;
    const char *he = attr_value(&n->v.element, "http-equiv"),
               *v = attr_value(&n->v.element, "content");
    if (!he || !v || strlen(he) != 16 || !lf__ascii_caseeq_n(he, "content-language", 16) ||
        strchr(v, ','))
      continue;
    while (lf__ascii_is_space((unsigned char)*v))
      v++;
    size_t len = 0;
    while (v[len] && !lf__ascii_is_space((unsigned char)v[len]))
      len++;
    if (len) {
      d->pragma_lang = v;
      d->pragma_len = len;
    }
  }
}

void lf__selector_document(lf__selector_t *sel, const GumboNode *root) {
  lf__selector_forget(sel);
  if (!sel || !root || root->type != GUMBO_NODE_DOCUMENT) return;
  sel->doc.quirks = lf__quirks_mode(root);
  if (uses_lang(sel)) pragma_lang(&sel->doc, root);
}
