/* How a job ends (job_end.h). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "errmsg.h"
#include "job_end.h"
#include "safe_text.h"

static void on_signal_closed(uv_handle_t *h) {
  (void)h;
}

void lf__job_close_signals(job_t *job) {
  uv_signal_t *hs[3] = {&job->sigint, &job->sigterm, &job->sighup};
  for (int i = 0; i < job->signals_watched; i++)
    uv_close((uv_handle_t *)hs[i], on_signal_closed);
  job->signals_watched = 0;
}

static void on_fetcher_closed(lf_fetcher_t *f) {
  job_t *job = lf_fetcher_get_data(f);
  job->fetcher = NULL; /* freed when this returns */
  lf__job_close_signals(job);
}

void lf__job_stop_progress(job_t *job) {
  if (!job->progress_on) return;
  job->progress_on = 0;
  uv_close((uv_handle_t *)&job->progress_timer, NULL);
  lf__progress_clear(stderr);
}

void lf__job_finish(job_t *job, int exit_code) {
  if (exit_code && !job->exit_code) job->exit_code = exit_code;
  lf__job_stop_progress(job);
  lf__window_stop(&job->window);
  job->feeding = 0;
  if (job->input) { /* stops reading (a pipe must not keep the loop alive) */
    lf__lines_close(job->input);
    job->input = NULL;
  }
  if (job->procs_running) {
    lf__procs_stop(job->procs, 0); /* the fetcher closes once the workers are done */
    return;
  }
  if (!job->fetcher) return; /* never set up, or closed already */
  int rc = lf_fetcher_close(job->fetcher, on_fetcher_closed);
  (void)rc; /* LF_ECLOSING: a close is already under way, which is what we want */
}

void lf__job_stop_on_signal(job_t *job, int signum) {
  int code = signum == SIGINT   ? LF_EXIT_SIGINT
             : signum == SIGHUP ? LF_EXIT_SIGHUP
                                : LF_EXIT_SIGTERM;
  job->signal = signum;
  lf__job_stop_progress(job);
  if (job->cfg->mode != LF_MODE_WORKER && !job->cfg->quiet)
    fprintf(stderr, "loopfetch: %s: stopping (again to quit at once)\n",
            signum == SIGINT   ? "interrupted"
            : signum == SIGHUP ? "hung up"
                               : "terminated");
  lf__job_finish(job, code);
}

void lf__job_maybe_done(job_t *job) {
  if (!job->feeding && job->outstanding == 0 && !job->procs_running && !job->navigating)
    lf__job_finish(job, 0);
}

/* a and b may come from outside (URLs, server errors): shown safe (safe_text.h). */
void lf__job_fatal(job_t *job, int exit_code, const char *fmt, const char *a, const char *b) {
  lf__job_stop_progress(job);
  char *sa = lf__display(a, 1), *sb = lf__display(b, 1);
  char line[1024];
  snprintf(line, sizeof(line), fmt, sa ? sa : "?", sb ? sb : "?");
  lf__error("%s", line);
  free(sa);
  free(sb);
  lf__job_finish(job, exit_code);
}

/* glibc returns freed memory in the middle of its heap only when asked: without this, pages
 * touched once (what the list page's fetch and parse left, the easy handles and receive buffers
 * of finished transfers) would stay resident, and count in the peak, until exit
 * (bench/RESULTS.md, A: peak RSS). It costs page faults when the memory is used again, so it
 * runs only before the pages start, once a second while pages are handed out (over a long job
 * the heap's free runs otherwise spread over more and more pages: at 500,000 URLs and 512 in
 * flight, 36 MB peak against 32 MB, bench/bench_scale.py), and, once every page is handed out,
 * every TRIM_EVERY results. Each call walks the whole heap (one madvise per free run of pages: ~900
 * at the end of 10,000 small pages), so a fast stream of results is trimmed at most every
 * TRIM_GAP_MS. */
void lf__job_give_back_memory(job_t *job) {
  job->since_trim = 0;
  job->trimmed_at = uv_now(&job->loop);
#ifdef __GLIBC__
  (void)malloc_trim(0); /* 0 only means there was nothing to give back */
#endif
}
