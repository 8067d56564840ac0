/* The pages start: the progress line, the name set, then a single loop's feeding or the worker
 * processes (--procs). */
#ifndef LF_JOB_PAGES_H
#define LF_JOB_PAGES_H

#include "job.h"

/* known_count: the pages known now (0 when streamed), for the concurrency and the progress. */
void lf__job_start_pages(job_t *job, size_t known_count);

#endif
