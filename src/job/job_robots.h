/* robots.txt for the URLs a job discovers (links of list pages; the crawl's levels and --next
 * pages go through the same gate). Each origin's /robots.txt is fetched once per job, through
 * the job's fetcher (so it counts against the per-host limits and pacing), and kept: RFC 9309
 * 2.3.1: 2xx parsed (the first 500 KiB), 4xx allows all, 5xx (and 429) or unreachable after the
 * fetcher's retries disallow all, redirects followed up to 5 hops. A page of an origin whose
 * robots.txt is still on its way waits alone: pages of other origins go on. URLs the user gave
 * (LIST_URLs, -i) never come here. */
#ifndef LF_JOB_ROBOTS_H
#define LF_JOB_ROBOTS_H

#include "job.h"

#define LF_ROBOTS_MAX_REDIRECTS 5

/* One URL the job discovered, named already. 1: fetch it now. 0: taken care of: disallowed (its
 * record written, status "robots") or waiting for its origin's robots.txt (then it comes back
 * through job->robots_release, or is recorded as interrupted if the job stops first). */
int lf__job_robots_gate(job_t *job, const char *url, const char *name, uintptr_t index);
/* job->robots_release(job, NULL, NULL, 0) says that no page waits any more. */
/* -p: a URL the user gave (not checked) waits, as the gate's do, while its origin's robots.txt
 * is on its way, so that its host's Crawl-delay is known before the page is dealt (the pages of
 * a paced host all go to one worker: job_procs.c). 1: go on now; 0: it comes back through
 * job->robots_release. */
int lf__job_robots_hold(job_t *job, const char *url, const char *name, uintptr_t index);
/* The Crawl-delay that paces host (lower case), as applied (--max-crawl-delay), or 0. */
double lf__job_robots_host_delay(const job_t *job, const char *host);
/* Whether any host has a Crawl-delay. */
int lf__job_robots_paces(const job_t *job);
/* Whether the result or event with this data is a robots.txt fetch, and its handlers. */
int lf__job_is_robots(const job_t *job, const void *data);
void lf__job_on_robots(job_t *job, const lf_result_t *r);
void lf__job_on_robots_redirect(job_t *job, const void *data, long redirects);
/* --sitemap robots: asks for url's origin's robots.txt (once, shared with the gate) and, once it
 * is in, calls job->robots_sitemaps with its Sitemap lines. 1: asked (the call will come, maybe
 * at once); 0: not (that origin was asked already, or the URL cannot be split); -1: no memory. */
int lf__job_robots_want_sitemaps(job_t *job, const char *url);
/* URLs waiting for a robots.txt. */
size_t lf__job_robots_waiting(const job_t *job);
/* The body callback's part for robots.txt requests: the first 500 KiB kept, the rest cut. */
int lf__job_robots_body(job_t *job, lf_stream_t *s, const char *chunk, size_t len);
void lf__job_robots_free(job_t *job);

#endif
