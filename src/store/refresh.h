/* --refresh: what the previous runs' manifest says about each URL's saved file (its name and
 * validators), read before this run writes its own records. A small reader meant to fold into
 * the manifest index that rerun skipping uses (issue 12a). Memory O(URLs in the manifest), and
 * only with --refresh. */
#ifndef LF_REFRESH_H
#define LF_REFRESH_H

#include <stddef.h>

typedef struct {
  const char *file, *etag, *last_modified; /* etag/last_modified may be NULL */
  const char *warc_date; /* WARC-Date of the page's capture (--warc-file), or NULL */
} lf__refresh_entry_t;

typedef struct lf__refresh_s lf__refresh_t;

/* Reads the manifest at path; a missing file is an empty index. The latest saved or unchanged
 * record of a URL wins. stop (may be NULL) is asked after each piece read (64 KiB to 1 MiB): a
 * non-zero return ends the load, which returns it (*out NULL). 0, stop's return, or -errno
 * (LF_ENOMEM as -ENOMEM). */
int lf__refresh_load(const char *path, int (*stop)(void *arg), lf__refresh_t **out);
/* The entry for url, or NULL. */
const lf__refresh_entry_t *lf__refresh_find(const lf__refresh_t *r, const char *url);
void lf__refresh_free(lf__refresh_t *r);

#endif
