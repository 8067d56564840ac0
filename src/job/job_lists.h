/* The list pages of a job: every LIST_URL is fetched at once; when all are in, their links
 * (then -i's URLs, if given too) become one list in command-line order without duplicates, so
 * one name space covers them all. --links prints that list and writes nothing. */
#ifndef LF_JOB_LISTS_H
#define LF_JOB_LISTS_H

#include "job.h"

void lf__job_start_lists(job_t *job);
/* -e without --select: the LIST_URLs are the pages themselves (then -i's URLs). */
void lf__job_start_urls(job_t *job);
int lf__job_is_list(const job_t *job, const void *data); /* a request's data */
void lf__job_on_list(job_t *job, const lf_result_t *r);
/* Every URL is in job->links: print them (--links) or start the pages. */
void lf__job_links_ready(job_t *job);

#endif
