/* Every URL ends saved or reported: the job's records go to the report (manifest, summary), or,
 * in a worker, up the pipe to the parent. */
#ifndef LF_JOB_RECORD_H
#define LF_JOB_RECORD_H

#include "job.h"

void lf__job_record(job_t *job, const lf__record_t *rec, uintptr_t index);
/* A worker's body bytes as they arrive (-p): adds them to bytes_untold, and tells the parent
 * ("B\tBYTES\n" on stdout) at most every LF__BYTES_TELL_MS; a record tells what is left
 * before it, in the same write. */
#define LF__BYTES_TELL_MS 250
void lf__job_worker_bytes(job_t *job, uint64_t delta);
/* A record without a transfer: a failure before any (status failed or interrupted). */
void lf__job_record_failure(job_t *job, const char *url, const char *file, const char *why,
                            lf__rec_status_t status, uintptr_t index);
/* A page a previous run saved (bytes: the file's size, which the next run checks). */
void lf__job_record_skipped(job_t *job, const char *url, const char *file, uint64_t bytes);

#endif
