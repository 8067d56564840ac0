/* The output folder and the manifest: created, locked and read before the first page, so that a
 * second run on the same manifest is refused before anything is fetched. */
#ifndef LF_JOB_OUTPUT_H
#define LF_JOB_OUTPUT_H

#include "job.h"

/* mkdir -p, the folder's descriptor, the manifest (locked), --refresh's validators. 0, or -1
 * after lf__job_fatal. */
int lf__job_open_output(job_t *job);

/* The output folder a first run made, and its empty manifest, removed: for a run that saved
 * nothing and failed (exit 2 to 5). */
void lf__job_remove_empty_output(const lf_cli_t *cfg);

#endif
