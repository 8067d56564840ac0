/* Records of the last level's pages (-e/--extract): the fields compiled once, each page parsed
 * on the loop thread of the process that fetched it (lf_extract_page, the library's own code),
 * its records written to --records/--csv (store/recout.h) in one write per file.
 *
 * The crawl calls lf__xpages_page() (body in memory) or lf__xpages_result() (a fetcher result:
 * its body in memory, or its saved file with --save) once for every fetched page of its last
 * level, with the page's parent and depth. */
#ifndef LF_EXTRACT_PAGES_H
#define LF_EXTRACT_PAGES_H

#include <stddef.h>
#include "settings.h"

typedef struct lf__xpages_s lf__xpages_t;

/* Compiles cfg's -e and --each (cli.c has refused malformed ones already) and opens --records
 * and --csv (recout.h: a torn end cut off, a CSV header checked or written). *out is NULL when
 * cfg has no -e. Returns 0, or -1 after one error line (the caller exits with LF_EXIT_LOCAL). */
int lf__xpages_open(lf__xpages_t **out, const lf_cli_t *cfg);

/* Whether the pages are kept on disk too (--save or -o), or only parsed in memory. */
int lf__xpages_keep(const lf_cli_t *cfg);

/* One page of the last level: body (len bytes) as it came with content_type (may be NULL; a
 * type that is not HTML gives no records), url as requested (the record's "url"), base the URL
 * after redirects (NULL: url), parent the page it was first taken from (NULL: a start page),
 * depth (0 for start pages, one more per level). Its records are written, one write(2) per
 * file. Returns how many, or a negative code with *why one line (out of memory, or -errno: the
 * records file cannot be written: the job should stop). */
long lf__xpages_page(lf__xpages_t *x, const char *body, size_t len, const char *content_type,
                     const char *url, const char *base, const char *parent, unsigned depth,
                     const char **why);

/* lf__xpages_page() for a successful fetcher result: the body in memory (LF_OUTPUT_MEMORY), or
 * the file r->file read from the folder dirfd (--save, LF_OUTPUT_FILE; at most max bytes). */
long lf__xpages_result(lf__xpages_t *x, int dirfd, size_t max, const lf_result_t *r,
                       const char *parent, unsigned depth, const char **why);

/* Parents: each URL of urls (n) was found on parent, unless an earlier call named another
 * parent for it (the first wins: list pages are noted in command-line order). parent is
 * borrowed: it must live as long as x. 0 or LF_ENOMEM. */
int lf__xpages_note_parent(lf__xpages_t *x, const char *parent, char *const *urls, size_t n);
/* The parent noted for url, or NULL. */
const char *lf__xpages_parent(const lf__xpages_t *x, const char *url);

/* Whether the records file (--records, else --csv) held records of url when the job started:
 * a rerun skips such a page, whose records are there already (not with --force). Pages kept
 * on disk are skipped by the manifest as always; this is for pages parsed in memory. */
int lf__xpages_done(const lf__xpages_t *x, const char *url);

/* Records written so far, and pages that gave them. */
size_t lf__xpages_records(const lf__xpages_t *x);

void lf__xpages_close(lf__xpages_t *x);

#endif
