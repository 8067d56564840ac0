/* lib/html/arena.c: gumbo's allocations for one page. Blocks of one size lie side by side in the
 * order they were asked for, whatever other sizes are asked for in between, so gumbo's nodes
 * come one after another in document order (what keeps the selector walk a stream: issue 13);
 * freed blocks are reused; blocks never overlap; everything goes back at once. */
#include <gumbo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifdef ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN 0
#endif

static GumboOptions opts;

static void *take(size_t n) {
  return opts.allocator(opts.userdata, n);
}

static void give(void *p) {
  opts.deallocator(opts.userdata, p);
}

static ptrdiff_t gap(const void *a, const void *b) {
  return (const char *)b - (const char *)a;
}

/* Node-sized blocks asked for between strings, vectors and attributes still follow each other
 * with one fixed stride, across chunk boundaries but for a few. */
static void test_same_size_side_by_side(void) {
  lf__arena_t a = {0};
  lf__arena_use(&a, &opts);
  enum { N = 20000 };
  void **nodes = malloc(N * sizeof(*nodes));
  size_t adjacent = 0, bad = 0;
  for (size_t i = 0; i < N; i++) {
    nodes[i] = take(sizeof(GumboNode));
    void *text = take(5 + i % 40), *vec = take(8), *attr = take(sizeof(GumboAttribute));
    bad += !nodes[i] || (uintptr_t)nodes[i] % 8 || !text || !vec || !attr;
    if (i % 3 == 0) give(text); /* gumbo's grow-and-free pattern */
    if (i && gap(nodes[i - 1], nodes[i]) > 0 &&
        (size_t)gap(nodes[i - 1], nodes[i]) < sizeof(GumboNode) + 16)
      adjacent++;
  }
  CHECK_EQ_INT(bad, 0);
  /* a run holds 240 node blocks: 83 run ends in 20,000 */
  CHECK(adjacent * 100 >= N * 99);
  lf__arena_release(&a);
  free(nodes);
}

/* A freed block is the next one handed out for that size; a block above the largest class
 * (from malloc) works and is freed on its own or with the rest. */
static void test_reuse_and_big(void) {
  lf__arena_t a = {0};
  lf__arena_use(&a, &opts);
  void *x = take(100), *y = take(100);
  CHECK(x && y && x != y);
#if ASAN
  /* what is not handed out is poisoned: the slack after the 100 bytes, the header, a freed block */
  CHECK(!__asan_address_is_poisoned((char *)x + 99));
  CHECK(__asan_address_is_poisoned((char *)x + 100));
  CHECK(__asan_address_is_poisoned((char *)x - 1));
#endif
  give(x);
#if ASAN
  CHECK(__asan_address_is_poisoned(x));
#endif
  CHECK(take(100) == x);
  char *big = take(1 << 20), *big2 = take(200000);
  CHECK(big && big2);
  memset(big, 'b', 1 << 20);
  memset(big2, 'c', 200000);
  give(big);
  give(NULL);
  lf__arena_release(&a);
  /* reusable after release, and empty: a fresh block of the same size is not x's old block
   * read from a stale free list */
  void *z = take(100);
  CHECK(z != NULL);
  memset(z, 0, 100);
  lf__arena_release(&a);
}

/* Every live block keeps its bytes while the others are written: no two overlap, in any
 * class, across many chunks. */
static void test_no_overlap(void) {
  lf__arena_t a = {0};
  lf__arena_use(&a, &opts);
  enum { N = 30000 };
  unsigned char **p = malloc(N * sizeof(*p));
  size_t *len = malloc(N * sizeof(*len));
  for (size_t i = 0; i < N; i++) {
    len[i] = (i * 7919) % 40000 + 1; /* every class, and some big blocks */
    if (!(p[i] = take(len[i]))) {
      CHECK(p[i] != NULL);
      return;
    }
    memset(p[i], (int)(i & 0xff), len[i]);
    if (i % 5 == 4) { /* free one now and then, so free lists are used too */
      give(p[i - 2]);
      p[i - 2] = NULL;
    }
  }
  size_t bad = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t k = 0; p[i] && k < len[i]; k++)
      bad += p[i][k] != (unsigned char)(i & 0xff);
  CHECK_EQ_INT(bad, 0);
  lf__arena_release(&a);
  free(p);
  free(len);
}

static const GumboNode *next_node(const GumboNode *n) {
  const GumboVector *kids = n->type == GUMBO_NODE_DOCUMENT  ? &n->v.document.children
                            : n->type == GUMBO_NODE_ELEMENT ? &n->v.element.children
                                                            : NULL;
  if (kids && kids->length) return kids->data[0];
  for (; n->parent; n = n->parent) {
    const GumboVector *s = n->parent->type == GUMBO_NODE_DOCUMENT ? &n->parent->v.document.children
                                                                  : &n->parent->v.element.children;
    if (n->index_within_parent + 1 < s->length) return s->data[n->index_within_parent + 1];
  }
  return NULL;
}

/* A table page parsed in the arena: walking it in document order meets node after node at
 * the next address, not scattered among the strings and attributes. */
static void test_tree_in_document_order(void) {
  enum { ROWS = 2000 };
  size_t cap = ROWS * 200 + 256, n = 0;
  char *page = malloc(cap);
  n += (size_t)snprintf(page + n, cap - n, "<!DOCTYPE html><title>t</title><table><tbody>");
  for (int i = 0; i < ROWS; i++)
    n += (size_t)snprintf(page + n, cap - n,
                          "<tr class=r%d><td><span class=flagicon><img src=/f/%d.svg></span>"
                          "<a href=/wiki/P%d title=\"Place %d\">Place %d</a><td>%d\n",
                          i % 3, i, i, i, i, i * 7);
  snprintf(page + n, cap - n, "</table>");
  lf__arena_t a = {0};
  GumboOptions o = kGumboDefaultOptions;
  o.max_errors = 0;
  lf__arena_use(&a, &o);
  GumboOutput *doc = gumbo_parse_with_options(&o, page, strlen(page));
  CHECK(doc != NULL);
  size_t nodes = 0, adjacent = 0;
  const GumboNode *prev = NULL;
  for (const GumboNode *x = doc ? doc->document : NULL; x; x = next_node(x)) {
    nodes++;
    if (prev && gap(prev, x) > 0 && (size_t)gap(prev, x) < sizeof(GumboNode) + 16) adjacent++;
    prev = x;
  }
  CHECK(nodes >= ROWS * 8);
  CHECK(adjacent * 100 >= nodes * 97);
  if (adjacent * 100 < nodes * 97)
    fprintf(stderr, "test_arena: %zu of %zu nodes next to the one before\n", adjacent, nodes);
  lf__arena_release(&a);
  free(page);
}

int main(void) {
  test_same_size_side_by_side();
  test_reuse_and_big();
  test_no_overlap();
  test_tree_in_document_order();
  return lf_test_report();
}
