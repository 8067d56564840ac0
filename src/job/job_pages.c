/* The pages start (job_pages.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include "job_end.h"
#include "job_feed.h"
#include "job_pages.h"
#include "job_procs.h"
#include "job_record.h"
#include "shard.h"

static void on_progress_tick(uv_timer_t *timer) {
  job_t *job = timer->data;
  double now = lf__report_elapsed(&job->report);
  lf_fetcher_t *f = job->fetcher;
  /* In flight: what is on the network with a connection. Transfers libcurl holds back for a
   * connection (--per-host) are queued, as are requests waiting for a slot. */
  size_t waiting = lf_fetcher_waiting_for_connection(f);
  size_t busy = waiting + lf_fetcher_waiting_for_disk(f), all = lf_fetcher_in_flight(f);
  size_t in_flight = all > busy ? all - busy : 0;
  job->progress.queued = lf_fetcher_queued(f) + waiting;
  job->progress.retrying = lf_fetcher_waiting_to_retry(f);
  if (job->procs_running) {
    /* Pages the workers have not reported: at most -c per worker run, the rest wait there. */
    size_t reported =
        job->report.saved + job->report.failed + job->report.interrupted + job->report.unchanged;
    size_t out = job->handed_to_workers > reported ? job->handed_to_workers - reported : 0;
    size_t running = (size_t)job->cfg->procs * job->concurrency;
    in_flight += out < running ? out : running;
    job->progress.queued += out > running ? out - running : 0;
  }
  job->progress.in_flight = in_flight;
  lf__progress_draw(&job->progress, stderr, now);
}

/* Pages this job will report: the links of its shard (0 when unknown: streamed input). */
static size_t expected_pages(const job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (job->input || !cfg->shard_n) return job->input ? 0 : job->links.count;
  size_t n = 0;
  for (size_t i = 0; i < job->links.count; i++)
    n += lf__shard_of(job->links.urls[i], cfg->shard_n) == cfg->shard_k - 1;
  return n;
}

/* Body bytes as they arrive, so a large page shows its progress before it is complete. */
static void on_bytes(lf_fetcher_t *f, const lf_progress_t *p) {
  job_t *job = lf_fetcher_get_data(f);
  job->progress.bytes += p->delta;
}

/* A worker's bytes go up the pipe as they arrive (job_record.c throttles them). */
static void on_worker_bytes(lf_fetcher_t *f, const lf_progress_t *p) {
  lf__job_worker_bytes(lf_fetcher_get_data(f), p->delta);
}

/* On a terminal (or with --progress), a line redrawn ten times a second. */
static void start_progress(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (cfg->mode == LF_MODE_WORKER) {
    job->bytes_told_ms = uv_now(&job->loop);
    lf_fetcher_set_progress_cb(job->fetcher, on_worker_bytes);
    return;
  }
  if (!(cfg->progress || (!cfg->quiet && isatty(2)))) return;
  lf__progress_init(&job->progress, lf__report_elapsed(&job->report));
  job->progress.total = expected_pages(job);
  if (uv_timer_init(&job->loop, &job->progress_timer) < 0) return;
  job->progress_timer.data = job;
  if (uv_timer_start(&job->progress_timer, on_progress_tick, 100, 100) < 0) {
    uv_close((uv_handle_t *)&job->progress_timer, NULL);
    return;
  }
  uv_unref((uv_handle_t *)&job->progress_timer); /* never keeps the job alive by itself */
  job->progress_on = 1;
  job->report.progress = &job->progress;
  /* The parent's own pages (list pages, a dead worker's), and with -p the workers' "B" lines
   * (job_procs.c): bytes count as they arrive, not when a page completes. */
  lf_fetcher_set_progress_cb(job->fetcher, on_bytes);
  job->report.live_bytes = 1;
}

void lf__job_start_pages(job_t *job, size_t known_count) {
  start_progress(job);
  if (!job->names && lf__names_new(&job->names) < 0) { /* made before the manifests load */
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->pages_started = 1;
  if (job->cfg->mode == LF_MODE_PROCS)
    lf__job_start_procs(job);
  else
    lf__job_start_feeding(job, known_count);
}
