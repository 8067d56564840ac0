/* How a job ends: the one path every ending takes (a fatal error, the last page, a signal),
 * closing what runs (workers, the fetcher, the input, the progress line and the signal watchers).
 * The lowest module of job/: it calls nothing else of the job. */
#ifndef LF_JOB_END_H
#define LF_JOB_END_H

#include "job.h"

/* Ends the job with exit_code (0: derived from the counts at the end). Safe to call again. */
void lf__job_finish(job_t *job, int exit_code);
/* Ends the job if nothing is left: no more pages to feed, none outstanding, no workers. */
void lf__job_maybe_done(job_t *job);
/* One error line (fmt with two %s, a and b shown safely: safe_text.h), then the end. */
void lf__job_fatal(job_t *job, int exit_code, const char *fmt, const char *a, const char *b);
/* A signal (SIGINT, SIGTERM, SIGHUP) stops the job: job->signal set, one line unless -q, the
 * end with 130, 143 or 129. The caller has recorded what it must first. */
void lf__job_stop_on_signal(job_t *job, int signum);
void lf__job_stop_progress(job_t *job);
void lf__job_close_signals(job_t *job);
/* Gives free heap pages back to the kernel (see job_end.c for when and why). */
void lf__job_give_back_memory(job_t *job);

#endif
