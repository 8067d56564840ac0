/* The frontier: which URLs the job has still to consider, in order, and the dedup. Its sources
 * are the list pages' links (merged in command-line order, without duplicates), then -i's lines:
 * read whole (with list pages, -p, --links) or streamed as they arrive. A URL comes out parsed
 * (job->url) and checked: only http and https; a line that is no URL is recorded as failed. */
#ifndef LF_FRONTIER_H
#define LF_FRONTIER_H

#include "job.h"

/* The next candidate URL: 1 with *url set (valid until the next call), 0 at the end (or while
 * streamed input has no line yet: job->input_waiting). */
int lf__frontier_next(job_t *job, const char **url);
/* Reads the input whole into job->links (see frontier.c), or appends what was read early
 * (job->held_input). 1 done, 0 more to come, -1 fatal. */
int lf__frontier_slurp(job_t *job);
/* Appends url (taken over) to job->links: a page found while the pages run (--next on the last
 * level). 0, or LF_ENOMEM (url not taken). */
int lf__frontier_push(job_t *job, char *url);
/* Drops later copies of a URL, keeping the order of first appearance. -1: out of memory. */
int lf__frontier_dedup(lf_links_t *l);

#endif
