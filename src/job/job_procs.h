/* --procs: the parent names every page, deals the pages to worker processes (procs.h) and
 * records what they report; a page whose worker died is fetched here. */
#ifndef LF_JOB_PROCS_H
#define LF_JOB_PROCS_H

#include "job.h"

void lf__job_start_procs(job_t *job);

#endif
