/* A crawl's navigation pages, kept for reruns (issue 21, item 6): the links a navigation page
 * gave (its next level's, in page order, and its --next candidates) are written to a small
 * file in the output folder's folder loopfetch-nav/ (the program's prefix: no page takes
 * it), one per page, named by the URL's hash:
 *
 *     LFNAV1 TAB SELECTORS-KEY TAB URL
 *     M TAB MATCHED TAB TOO_LONG
 *     L TAB URL          (one per link the next level's selector selected, in page order)
 *     X TAB URL          (one per link --next selected, in page order)
 *
 * A rerun of the same command reads the file back instead of fetching the page again. The
 * file is written whole under a temporary name and renamed, before the page's manifest line:
 * a file there is complete; a kill before the rename leaves none (the page is fetched again).
 * The key names the selectors the links were selected with: another command's file is not
 * used (the page is fetched again and its file replaced). Never through a symlink: the folder
 * and the files are opened O_NOFOLLOW relative to the output folder.
 *
 * Memory: one line at a time on reading; the links of one page on writing. */
#ifndef LF_NAVKEEP_H
#define LF_NAVKEEP_H

#include <stddef.h>
#include <stdint.h>

#define LF_NAVKEEP_DIR "loopfetch-nav"

/* Writes url's links (links[n], next[nn]) with their counts. 0 or a negative errno. */
int lf__navkeep_write(int dirfd, const char *url, uint64_t key, char *const *links, size_t n,
                      char *const *next, size_t nn, size_t matched, size_t too_long);

/* Reads url's file back: each line through cb (kind 'M', 'L' or 'X'; for 'M' value is
 * "MATCHED\tTOO_LONG"), which returns nonzero to stop. 1 read, 0 none (or another command's,
 * or not whole), or a negative errno; cb's nonzero return is returned as is. */
int lf__navkeep_read(int dirfd, const char *url, uint64_t key,
                     int (*cb)(void *arg, char kind, const char *value), void *arg);

/* Removes the folder and the files this module writes there (a first run that saved nothing
 * leaves no folder behind). */
void lf__navkeep_remove(int dirfd);

#endif
