/* A crawl, level by level (issue 21): the start pages (LIST_URLs, else -i's URLs), then the pages
 * each -f selects on the level before, and so on. Every level but the last is navigation: its
 * pages are fetched, parsed for the next level's links (and --next's "next page" links, which
 * add pages to the same level), recorded as "navigated", and saved only with --save-all. A level
 * is merged when all its pages are in: its links in page order (a --next chain after its
 * first page), each URL taken once per job (the seen set), so names, parents and levels are
 * the same in every run. The last level's URLs go to the pages (job_pages.h). A job without -f
 * is the oldest crawl there is: list pages, then their links. */
#ifndef LF_JOB_CRAWL_H
#define LF_JOB_CRAWL_H

#include "job.h"

/* Starts level 0 with the LIST_URLs (the input's URLs follow them, or are level 0 without
 * LIST_URLs: call lf__job_input_read once they are read). With one level only (-e without
 * -f), the LIST_URLs are the pages themselves, then -i's URLs. */
void lf__job_start_crawl(job_t *job);
int lf__job_is_nav(const void *data); /* a request's data: a navigation page's */
void lf__job_on_nav(job_t *job, const lf_result_t *r);
/* The input is read whole (job->links): start the crawl with it, or the pages. */
void lf__job_input_read(job_t *job);
/* Every URL of the last level is in job->links: print them (--links) or start the pages. */
void lf__job_links_ready(job_t *job);
/* A page of the last level is in: with --next there, its "next page" joins the pages. */
void lf__job_on_last_page(job_t *job, const lf_result_t *r);
/* A worker: navigation page r (its line gave the level) parsed for the next level's links and
 * its level's --next, sent up to the parent before its record. */
void lf__job_worker_nav(job_t *job, const lf_result_t *r);
/* The navigation level being fetched. */
size_t lf__job_crawl_level(const job_t *job);
/* Frees the crawl's state. */
void lf__job_crawl_free(job_t *job);

/* After "not HTML" or "matched no links" for a list page: one line with a shell command that
 * saves url itself into the job's folder. */
void lf__job_hint_save_itself(job_t *job, const char *url);

#endif
