/* The compiled form of a CSS selector, shared by the parser (selector_parse.c, selector_lex.c)
 * and the matcher (selector_match.c). Nothing outside those files looks inside. */
#ifndef LF_SELECTOR_AST_H
#define LF_SELECTOR_AST_H

#include <gumbo.h>
#include <stddef.h>

#include "selector.h"

typedef enum {
  ATTR_EXISTS,    /* [a] */
  ATTR_EQUALS,    /* [a=v], #id */
  ATTR_INCLUDES,  /* [a~=v], .class: v is one of the whitespace-separated words */
  ATTR_DASH,      /* [a|=v]: exactly v, or v followed by '-' */
  ATTR_PREFIX,    /* [a^=v] */
  ATTR_SUFFIX,    /* [a$=v] */
  ATTR_SUBSTRING, /* [a*=v] */
} attr_op_t;

typedef enum {
  CASE_DEFAULT,   /* no flag: the HTML standard's list decides (see selector_match.c) */
  CASE_SENSITIVE, /* [a=v s] */
  CASE_IGNORE,    /* [a=v i]: ASCII case-insensitive */
  CASE_QUIRKS,    /* .class and #id: sensitive, but ASCII case-insensitive in quirks mode */
} attr_case_t;

typedef struct {
  attr_op_t op;
  attr_case_t icase;
  int html_icase; /* CASE_DEFAULT and the name is on the HTML standard's list */
  int any_ns;     /* [*|a]: also xlink:, xml: and xmlns: attributes; [a] and [|a]: none */
  char *name;     /* compared ASCII case-insensitively, as HTML attribute names are */
  char *value;    /* NULL for ATTR_EXISTS */
  size_t value_len;
} attr_test_t;

typedef enum {
  PSEUDO_ROOT,
  PSEUDO_EMPTY,
  PSEUDO_LINK, /* :link and :any-link: a saved page has no visited links */
  PSEUDO_NTH_CHILD,
  PSEUDO_NTH_LAST_CHILD,
  PSEUDO_NTH_OF_TYPE,
  PSEUDO_NTH_LAST_OF_TYPE,
  PSEUDO_ONLY_CHILD,
  PSEUDO_ONLY_OF_TYPE,
  PSEUDO_LANG,
  PSEUDO_IS, /* :is(), :where() (no specificity here, so the same), :matches() */
  PSEUDO_NOT,
  PSEUDO_HAS,
} pseudo_kind_t;

/* What the matcher remembers for the :nth-* pseudo-classes: for one parent, each child's
 * position among the siblings that count (all elements, those of its type, or those matching S
 * in `:nth-child(An+B of S)`) and how many count, found in one pass over the children. Any
 * sibling's answer is then a lookup, in whatever order it is asked: `tr:nth-child(2n)` on a
 * 5,000-row table is linear, and so is an :nth-*(... of S) whose S holds another :nth-*, whose
 * own counting asks about the same siblings out of the walk's order (issue 28, item 12).
 * One memo per depth of the parent (modulo the slots), so that a pseudo-class tried on every
 * ancestor (`:nth-last-child(2) a`) keeps each level's answers: ancestors have distinct depths. */
#define LF__NTH_SLOTS 8
typedef struct {
  const GumboNode *parent; /* NULL: nothing indexed */
  size_t cap;              /* room in nth and total */
  long *nth;   /* per child: 1-based position among those that count (of its type), 0: not */
  long *total; /* per child that counts: how many count (of its type) */
} nth_cache_t;

/* :has(~ S) (a relative selector led by '~') for the siblings of one parent, asked in order:
 * an answer for one sibling bounds the next one's (see has_siblings in selector_match.c). */
typedef struct {
  const GumboNode *parent; /* NULL: nothing remembered */
  size_t anchor_at;        /* the last sibling asked about */
  int result;
  size_t top; /* its witness: in the subtree of sibling `top`, at element m */
  const GumboNode *m;
} sib_memo_t;

/* :has() (and :lang(), for parents) remembers its last answers, one per depth of the element
 * (modulo the slots): a selector such as `tbody:has(.x) td` asks the same ancestor again for every
 * td, and each answer costs a walk over the ancestor's subtree. */
typedef struct {
  const GumboNode *node;
  int result;
} has_memo_t;

typedef struct {
  pseudo_kind_t kind;
  long a, b;            /* An+B; :first-child is 0n+1 and so on */
  lf__selector_t *list; /* :is :not :has, and the S of :nth-child(An+B of S) */
  char *lang;           /* :lang() */
  nth_cache_t cache[LF__NTH_SLOTS];
  has_memo_t has_memo[LF__NTH_SLOTS];
} pseudo_t;

typedef enum {
  COMB_NONE, /* leftmost compound of a group */
  COMB_DESCENDANT,
  COMB_CHILD,
  COMB_ADJACENT,
  COMB_SIBLING,
} comb_t;

typedef struct {
  comb_t comb;     /* joins this compound to the one on its left */
  int anchor;      /* the :has() element itself: leftmost in a relative selector */
  int no_ns;       /* |E: elements in no namespace, of which an HTML document has none */
  char *tag;       /* lowercase type name; NULL for '*' or no type */
  GumboTag tag_id; /* GUMBO_TAG_UNKNOWN: compare tag against the element's original name */
  attr_test_t *tests;
  size_t ntests, cap;
  pseudo_t *pseudos;
  size_t npseudos, pcap;
} compound_t;

typedef struct {
  compound_t *items;
  size_t n, cap;
  sib_memo_t sib_memo[LF__NTH_SLOTS]; /* when this is the relative selector of a :has() */
} complex_t;

/* What matching needs to know of the document (lf__selector_document). */
typedef struct {
  int quirks;              /* quirks mode (no doctype, or a quirky one) */
  const char *pragma_lang; /* <meta http-equiv=content-language>'s language, or NULL */
  size_t pragma_len;
} doc_info_t;

struct lf__selector_s {
  complex_t *groups;
  size_t n, cap;
  doc_info_t doc; /* of the top-level selector: the document being matched */
};

#endif
