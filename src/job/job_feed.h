/* Feeding the fetcher: pages are added as slots free up (the need callback), within the
 * concurrency chosen here and the in-flight window (window.h) that widens it while the loop
 * waits. A worker's pages come named from its parent, on its stdin. */
#ifndef LF_JOB_FEED_H
#define LF_JOB_FEED_H

#include "job.h"

void lf__job_start_feeding(job_t *job, size_t known_count);
void lf__job_on_need(lf_fetcher_t *f);
/* -e in a worker: url's records name parent (copied). */
void lf__job_note_worker_parent(job_t *job, const char *url, const char *parent);
/* No more pages: the fetcher is told too. */
void lf__job_end_feeding(job_t *job);
/* Whether the pages may still grow: --next on the last level while pages are out. */
int lf__job_may_grow(const job_t *job);
/* Adds one named page (with --refresh's validators if the folder holds it). */
void lf__job_add_page(job_t *job, const char *url, const char *name, uintptr_t index);
/* Transfers in flight: -c, or every known link up to the default cap, within the file limit. */
unsigned lf__job_pick_concurrency(job_t *job, size_t known_count);
/* Whether a window is wanted: a single loop without -c (the driver measures idle time then). */
int lf__job_wants_window(const lf_cli_t *cfg);

#endif
