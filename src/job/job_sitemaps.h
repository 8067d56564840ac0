/* --sitemap URL: sitemaps and sitemap indexes (nested, plain or gzip) read as they arrive
 * (polite/sitemap.h), their pages joining the job as -i's URLs do, after the list pages' links;
 * each page's <lastmod> goes into its manifest record. A sitemap that cannot be fetched or is
 * malformed ends the job (exit 3) before any page starts. */
#ifndef LF_JOB_SITEMAPS_H
#define LF_JOB_SITEMAPS_H

#include "job.h"

#define LF_SITEMAP_MAX_DEPTH 5    /* indexes within indexes */
#define LF_SITEMAP_MAX_FILES 1000 /* sitemaps fetched per job, indexes included */

void lf__job_start_sitemaps(job_t *job);
int lf__job_is_sitemap(const job_t *job, const void *data);
/* A sitemap's result: 1 when every sitemap is in, 0 while some are not (or the job ended). */
int lf__job_on_sitemap(job_t *job, const lf_result_t *r);
int lf__job_sitemap_body(job_t *job, lf_stream_t *s, const char *chunk, size_t len);
size_t lf__job_sitemaps_pending(const job_t *job);
/* --sitemap robots with -i: the input is read whole first, each URL's origin asked for its
 * robots.txt as it is read (once per origin); then it waits in job->held_input. While this is
 * 1, the input's new lines go to lf__job_sitemaps_read_input. */
int lf__job_sitemaps_reading_input(const job_t *job);
void lf__job_sitemaps_read_input(job_t *job);
/* Appends the sitemaps' pages to job->links (ownership moves), once. -1: out of memory. */
int lf__job_sitemaps_merge(job_t *job);
/* The same, to l. */
int lf__job_sitemaps_merge_into(job_t *job, lf_links_t *l);
/* Whether the sitemaps' pages are start pages of a crawl (level 0, before -f's levels): with
 * -e (the start pages are what the user gives), and without a LIST_URL (as -i's URLs are
 * then). Otherwise (list pages to download from) they join the last level's pages, as -i's
 * URLs do. */
int lf__job_sitemaps_start_level(const job_t *job);
/* The <lastmod> a sitemap gave url, or NULL. */
const char *lf__job_sitemap_lastmod(const job_t *job, const char *url);
void lf__job_sitemaps_free(job_t *job);

#endif
