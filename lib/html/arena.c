/* Memory for gumbo's tree (see arena.h).
 *
 * gumbo makes tens of thousands of small allocations for a list page (2 MB for a 124 KB page)
 * and grows its vectors and strings by allocating anew and freeing the old block. Through
 * malloc, the freed tree stayed in the middle of the heap, fragmented by the URLs kept from it:
 * resident during the whole job, or a 1 ms malloc_trim() before the first page could start,
 * and gumbo_destroy_output() walked the tree block by block (bench/RESULTS.md, A). So the
 * parse gets its own arena: size classes with free lists (the grow pattern reuses what it
 * frees), carved from 256 KiB chunks that all go back at once when the links are out. Blocks
 * above the largest class come from malloc and are listed so they go back too.
 *
 * Each class carves its blocks from runs of its own (32 KiB cut from the chunks), so blocks of
 * one size lie side by side in the order gumbo asked for them: the nodes of the tree, one
 * class, come one after another in document order, and so do their children vectors. The
 * walk that matches selectors then streams through memory instead of hopping over the strings
 * and attributes made between two nodes: walk + match 4.6-6.3 -> 2.5-3.8 ms for
 * bench_selector's page, the parse unchanged (bench/RESULTS.md, issue 13). */
#include "arena.h"

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"

/* Under AddressSanitizer, what is not handed out is poisoned (fresh chunk space, free blocks,
 * block headers, the slack between a request and its class size), so that an overrun inside
 * a chunk is reported as it would be between malloc'd blocks. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_CHUNK (256 * 1024)    /* above glibc's mmap threshold: unmapped when freed */
#define ARENA_RUN (32 * 1024)       /* one class's blocks side by side: 240 nodes */
#define ARENA_HDR 8                 /* block header: the class */
#define ARENA_BIG LF__ARENA_CLASSES /* class of a block from malloc */

struct lf__arena_chunk_s {
  struct lf__arena_chunk_s *next;
  _Alignas(16) char data[];
};

struct lf__arena_big_s { /* header of a block from malloc: links, then the class */
  struct lf__arena_big_s *prev, *next;
  size_t pad, cls; /* cls last: it is the ARENA_HDR bytes before the block */
};

/* Block sizes, header included. Finer than powers of two, with 112 and 136 for gumbo's most
 * frequent allocations, a GumboAttribute (104 bytes on x86-64) and a GumboNode (128), and 16
 * for its many 8-byte vectors: a page's tree takes about half the memory it took with powers
 * of two and 16-byte headers (17 MB instead of 30 for bench_selector's 1 MB page), and walking
 * it, which waits on memory (one node after another), is faster by as much. Every size is a
 * multiple of 8, so blocks are 8-byte aligned: gumbo stores pointers, sizes and ints only. */
static const unsigned short class_size[LF__ARENA_CLASSES] = {
    16,  24,  32,   48,   64,   96,   112,  136,  160,  192,   256,  384,
    512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 16384, 32768};

typedef lf__arena_chunk_t arena_chunk_t;
typedef lf__arena_big_t arena_big_t;

static void *arena_big(lf__arena_t *a, size_t size) {
  if (size > SIZE_MAX - sizeof(arena_big_t)) return NULL;
  arena_big_t *b = malloc(sizeof(*b) + size);
  if (!b) return NULL;
  b->cls = ARENA_BIG;
  b->prev = NULL;
  b->next = a->bigs;
  if (a->bigs) a->bigs->prev = b;
  a->bigs = b;
  return b + 1;
}

/* Room for a run of class c: at least ARENA_RUN, and two blocks of the large classes. */
static size_t run_size(unsigned c) {
  return class_size[c] * 2 > ARENA_RUN ? (size_t)class_size[c] * 2 : ARENA_RUN;
}

/* Gives class c a new run, cut from the current chunk or from a new one. */
static int arena_new_run(lf__arena_t *a, unsigned c) {
  size_t run = run_size(c);
  const size_t room = ARENA_CHUNK - offsetof(arena_chunk_t, data);
  if (!a->chunks || room - a->used < run) {
    arena_chunk_t *k = malloc(ARENA_CHUNK);
    if (!k) return -1;
    k->next = a->chunks;
    a->chunks = k;
    a->used = 0;
    POISON(k->data, room);
  }
  a->next[c] = a->chunks->data + a->used;
  a->end[c] = a->next[c] + run;
  a->used += run;
  return 0;
}

/* A fresh block of class c, from the class's own run (see the top). */
static char *arena_carve(lf__arena_t *a, unsigned c) {
  int full = !a->next[c] || (size_t)(a->end[c] - a->next[c]) < class_size[c];
  if (full && arena_new_run(a, c) != 0) return NULL;
  char *p = a->next[c];
  a->next[c] += class_size[c];
  return p;
}

int lf__stop_waiting(void) {
  sigset_t mask, pending;
  static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
  if (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0 || sigpending(&pending) != 0) return 0;
  for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
    if (sigismember(&mask, stops[i]) == 1 && sigismember(&pending, stops[i]) == 1) return 1;
  return 0;
}

/* Ends the parse: back to page.c's setjmp with rc, never returns. */
static void escape(lf__arena_t *a, int rc) {
  jmp_buf *to = a->escape;
  a->escape = NULL;
  longjmp(*to, rc);
}

/* Every LF__ARENA_TICK allocations of a parse (about 0.2 ms of gumbo's work): within its
 * budget, and no stop waiting. */
static void tick(lf__arena_t *a) {
  if (a->bytes > a->budget) escape(a, LF_ECOMPLEX);
  if (lf__stop_waiting()) escape(a, LF_EABORTED);
}

static void *arena_alloc(void *userdata, size_t size) {
  lf__arena_t *a = userdata;
  a->bytes += size;
  if (a->escape && ++a->allocs % LF__ARENA_TICK == 0) tick(a);
  unsigned c = 0;
  while (c < LF__ARENA_CLASSES && (size_t)class_size[c] - ARENA_HDR < size)
    c++;
  if (c == LF__ARENA_CLASSES) {
    void *big = arena_big(a, size);
    if (!big && a->escape) escape(a, LF_ENOMEM); /* gumbo does not check */
    return big;
  }
  char *p = a->free_list[c];
  if (!p && !(p = arena_carve(a, c))) {
    if (a->escape) escape(a, LF_ENOMEM);
    return NULL;
  }
  UNPOISON(p, class_size[c]);
  if (p == a->free_list[c])
    memcpy(&a->free_list[c], p + ARENA_HDR, sizeof(void *)); /* next free block */
  size_t cls = c;
  memcpy(p, &cls, sizeof(cls));
  POISON(p, ARENA_HDR);
  POISON(p + ARENA_HDR + size, class_size[c] - ARENA_HDR - size);
  return p + ARENA_HDR;
}

static void arena_free(void *userdata, void *ptr) {
  lf__arena_t *a = userdata;
  if (!ptr) return;
  char *p = (char *)ptr - ARENA_HDR;
  size_t cls;
  UNPOISON(p, ARENA_HDR);
  memcpy(&cls, p, sizeof(cls));
  if (cls == ARENA_BIG) {
    arena_big_t *b = (arena_big_t *)ptr - 1;
    if (b->prev)
      b->prev->next = b->next;
    else
      a->bigs = b->next;
    if (b->next) b->next->prev = b->prev;
    free(b);
    return;
  }
  UNPOISON(p, class_size[cls]);
  memcpy(ptr, &a->free_list[cls], sizeof(void *));
  a->free_list[cls] = p;
  POISON(p, class_size[cls]);
}

void lf__arena_release(lf__arena_t *a) {
  while (a->chunks) {
    arena_chunk_t *k = a->chunks;
    a->chunks = k->next;
    free(k);
  }
  while (a->bigs) {
    arena_big_t *b = a->bigs;
    a->bigs = b->next;
    free(b);
  }
  memset(a->free_list, 0, sizeof(a->free_list));
  memset(a->next, 0, sizeof(a->next));
  memset(a->end, 0, sizeof(a->end));
  a->used = 0;
}

void lf__arena_use(lf__arena_t *a, GumboOptions *opts) {
  opts->allocator = arena_alloc;
  opts->deallocator = arena_free;
  opts->userdata = a;
}
