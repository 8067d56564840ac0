/* An arena for gumbo's tree: every block gumbo allocates while parsing one page goes back at
 * once with lf__arena_release(), instead of gumbo_destroy_output()'s walk (see arena.c). */
#ifndef LF_ARENA_H
#define LF_ARENA_H

#include <gumbo.h>

#define LF__ARENA_CLASSES 23 /* size classes 16 B .. 32 KiB (arena.c) */

typedef struct lf__arena_chunk_s lf__arena_chunk_t;
typedef struct lf__arena_big_s lf__arena_big_t;

typedef struct {
  lf__arena_chunk_t *chunks;
  lf__arena_big_t *bigs;
  void *free_list[LF__ARENA_CLASSES];
  size_t used;                   /* bytes of the newest chunk cut into runs */
  char *next[LF__ARENA_CLASSES]; /* per class: where its next fresh block starts */
  char *end[LF__ARENA_CLASSES];  /* and where its current run ends */
  /* While gumbo parses (page.c): the bytes it asks for are counted, and every LF__ARENA_TICK
   * allocations the parse may be abandoned by longjmp to *escape with a negative code
   * (LF_ECOMPLEX past budget bytes, LF_EABORTED for a stop signal waiting, LF_ENOMEM): gumbo
   * keeps nothing outside the arena, so lf__arena_release() then frees all it made. */
  size_t allocs, bytes, budget;
  void *escape; /* jmp_buf *, or NULL outside a parse */
} lf__arena_t;  /* zero-initialised before use */

#define LF__ARENA_TICK 1024

/* Makes opts allocate from a (opts->userdata is a). */
void lf__arena_use(lf__arena_t *a, GumboOptions *opts);

/* Whether SIGINT, SIGTERM or SIGHUP waits, blocked in this thread: a caller that blocks them
 * around a parse asks for the work on the page to end when one comes (docs/api.md,
 * lf_links_extract: LF_EABORTED). Two system calls: asked now and then, not per node. */
int lf__stop_waiting(void);

/* Frees everything allocated from a; a is empty (and reusable) afterwards. */
void lf__arena_release(lf__arena_t *a);

#endif
