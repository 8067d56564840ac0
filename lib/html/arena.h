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
} lf__arena_t;                   /* zero-initialised before use */

/* Makes opts allocate from a (opts->userdata is a). */
void lf__arena_use(lf__arena_t *a, GumboOptions *opts);

/* Frees everything allocated from a; a is empty (and reusable) afterwards. */
void lf__arena_release(lf__arena_t *a);

#endif
