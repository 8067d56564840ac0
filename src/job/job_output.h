/* The output folder and the manifest: created, locked and read before the first page, so that a
 * second run on the same manifest is refused before anything is fetched. */
#ifndef LF_JOB_OUTPUT_H
#define LF_JOB_OUTPUT_H

#include "job.h"

/* mkdir -p, the folder's descriptor, the manifest (locked), --refresh's validators. 0, or -1
 * after lf__job_fatal. */
int lf__job_open_output(job_t *job);

#endif
