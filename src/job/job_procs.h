/* --procs: the parent names every page, deals the pages (and a crawl's navigation pages) to
 * worker processes (procs.h) and records what they report; a page whose worker died is fetched
 * here. */
#ifndef LF_JOB_PROCS_H
#define LF_JOB_PROCS_H

#include "job.h"

/* Starts the workers unless they run already (known_count: pages known so far, 0 none). 0, or
 * -1: they could not start (after lf__job_fatal), or all have ended. */
int lf__job_spawn_procs(job_t *job, size_t known_count);
/* The pages start: every link goes to the workers. */
void lf__job_start_procs(job_t *job);
/* Pages joined the links (--next on the last level): they go to the workers too. */
void lf__job_procs_more(job_t *job);
/* Queues one line for the workers (procs.h: pace, a paced host's); data is nonzero for a
 * navigation page. */
void lf__job_procs_add(job_t *job, const char *url, const char *name, const char *extra,
                       const lf__procs_pace_t *pace, uintptr_t data);
/* -p: the parent sent a request to url (an attempt started, or a redirect leads there): the
 * host's first page in a worker keeps the host's pace from then (procs.h). */
void lf__job_note_contact(job_t *job, const char *url);
/* A crawl's navigation page for the workers: file its name with --save-all (else ""), extra
 * its line's end (procs.h), data the crawl's (nonzero). A paced host's goes to its worker. */
void lf__job_procs_nav(job_t *job, const char *url, const char *file, const char *extra,
                       uintptr_t data);

#endif
