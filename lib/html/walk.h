/* Document order over gumbo's tree, for link extraction (links.c) and bench/bench_selector.c,
 * which must measure the same walk. */
#ifndef LF_WALK_H
#define LF_WALK_H

#include <gumbo.h>
#include <stddef.h>

/* Children the walk descends into. <template> contents are skipped: they are inert and not
 * part of the document, and a browser's querySelectorAll() does not see them either. */
static inline const GumboVector *lf__walk_children(const GumboNode *n) {
  if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
  return n->type == GUMBO_NODE_ELEMENT ? &n->v.element.children : NULL;
}

/* Asks the CPU for the parts of n that the walk and the matcher read: its first fields, its
 * tag and its attribute vector, three cache lines of a 128-byte node. */
static inline void lf__walk_prefetch(const GumboNode *n) {
  __builtin_prefetch(n);
  __builtin_prefetch(&n->v.element.tag);
  __builtin_prefetch(&n->v.element.attributes);
}

/* The node after n in document order. Iterative, so deeply nested pages cannot exhaust the
 * stack; gumbo's parent pointers and index_within_parent make it O(1) amortised. The walk
 * waits on memory, node after node, so the siblings ahead are prefetched: the CPU fetches them
 * while the selector looks at this one (bench/RESULTS.md, issue 13). */
static inline const GumboNode *lf__walk_next(const GumboNode *n) {
  const GumboVector *kids = lf__walk_children(n);
  if (kids && kids->length) {
    for (unsigned j = 0; j < kids->length && j < 4; j++)
      lf__walk_prefetch(kids->data[j]);
    return kids->data[0];
  }
  for (; n->parent; n = n->parent) {
    const GumboVector *sibs = lf__walk_children(n->parent);
    size_t i = n->index_within_parent + 1;
    if (sibs && i < sibs->length) {
      if (i + 3 < sibs->length) lf__walk_prefetch(sibs->data[i + 3]);
      return sibs->data[i];
    }
  }
  return NULL;
}

#endif
