/* Parsing a page on the loop thread without being deaf to a stop signal (issue 28, item 3).
 * gumbo's parse cannot be cut into pieces, and while it runs the loop serves no signal; so the
 * stop signals are blocked around it, the library abandons the parse when one waits (LF_EABORTED,
 * lib/html/arena.c looks every 1,024 allocations), and the signal is taken here and stops the
 * job as it would have on the loop (lf__job_signal). */
#ifndef LF_JOB_PARSE_H
#define LF_JOB_PARSE_H

#include <signal.h>

#include "job.h"

/* Before a parse: SIGINT, SIGTERM and SIGHUP blocked in this thread (old: the mask to give
 * back). */
void lf__job_parse_begin(sigset_t *old);
/* After it, with the parse's return code: the mask given back; if the parse was abandoned for
 * a stop signal, that signal is taken (libuv never sees it) and the job stops: 1. Else 0. */
int lf__job_parse_end(job_t *job, const sigset_t *old, int rc);
/* What a stop signal does on the loop (job_driver.c): the first stops the job (the pages in
 * flight recorded as interrupted, the summary), a second quits at once. */
void lf__job_signal(job_t *job, int signum);

#endif
