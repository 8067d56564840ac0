/* The pages of a job: the output folder and manifest, the progress line, the in-flight window,
 * and the list page whose links become the pages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "job.h"
#include "safe_text.h"
#include "shard.h"

/* mkdir -p: each missing component is created; an existing non-folder is an error. */
static int make_dirs(const char *path) {
  char *p = strdup(path);
  if (!p) return -ENOMEM;
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
      rc = -errno;
      break;
    }
    *s = c;
    if (!c) break;
  }
  struct stat st;
  if (rc == 0 && stat(path, &st) < 0) rc = -errno;
  if (rc == 0 && !S_ISDIR(st.st_mode)) rc = -ENOTDIR; /* errno would still say EEXIST */
  free(p);
  return rc;
}

/* ---- pages ---- */

/* With --shard K/N, "loopfetch-manifest.K-of-N.jsonl": shards may share one folder. */
static void default_manifest_name(const lf_cli_t *cfg, char *buf, size_t len) {
  if (cfg->shard_n)
    snprintf(buf, len, "loopfetch-manifest.%u-of-%u.jsonl", cfg->shard_k, cfg->shard_n);
  else
    snprintf(buf, len, "%s", LF_MANIFEST_NAME);
}

/* The manifest, locked for the run, and what the folder's manifests say was saved; then the
 * temporaries of runs that were killed go. */
static int open_manifest(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  char name[64], err[4500];
  int repaired;
  default_manifest_name(cfg, name, sizeof(name));
  lf__manifest_t *m = &job->manifest;
  if (lf__manifest_open(m, job->dirfd, cfg->out_dir, cfg->manifest, name, &repaired, err,
                        sizeof(err)) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", err, "");
    return -1;
  }
  if (repaired && !cfg->quiet)
    fprintf(stderr,
            "loopfetch: warning: %s: its last record was cut short (a run was killed "
            "while writing it); removed, that page is fetched again\n",
            m->path);
  if (lf__manifest_load(m, job->dirfd) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory reading the manifests", "");
    return -1;
  }
  lf__manifest_remove_leftovers(m, job->dirfd, job->pid);
  lf__report_set_manifest(&job->report, m->fd, m->path); /* the report closes it at the end */
  m->fd = -1;
  return 0;
}

int lf__job_open_output(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  int rc = make_dirs(cfg->out_dir);
  if (rc == 0) {
    job->dirfd = open(cfg->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = job->dirfd < 0 ? -errno : 0;
  }
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot use output folder %s: %s", cfg->out_dir,
                  strerror(-rc));
    return -1;
  }
  if (cfg->mode == LF_MODE_WORKER) return 0; /* the parent names, skips and keeps the manifest */
  if (open_manifest(job) < 0) return -1;
  /* --refresh: the validators of the pages saved so far, before this run's records go in. */
  if (cfg->refresh && (rc = lf__refresh_load(job->manifest.path, &job->refresh)) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot read manifest %s for --refresh: %s",
                  job->manifest.path, strerror(-rc));
    return -1;
  }
  return 0;
}

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

/* On a terminal (or with --progress), a line redrawn ten times a second. */
static void start_progress(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (cfg->mode == LF_MODE_WORKER || !(cfg->progress || (!cfg->quiet && isatty(2)))) return;
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
}

static void on_widen(lf__window_t *w, unsigned size) {
  job_t *job = w->data;
  job->concurrency = size;
  lf_fetcher_set_max_in_flight(job->fetcher, size); /* calls lf__job_on_need: more pages start */
}

static size_t disk_backlog(lf__window_t *w) {
  job_t *job = w->data;
  return lf_fetcher_waiting_for_disk(job->fetcher);
}

/* Without -c, a single loop starts with a moderate number in flight and widens up to what
 * lf__job_pick_concurrency() chose while the servers, not the loop, are what it waits for. */
int lf__job_wants_window(const lf_cli_t *cfg) {
  return !cfg->concurrency && cfg->mode == LF_MODE_LOOP;
}

static void open_window(job_t *job) {
  if (!job->idle_metrics) return; /* no window, or no measure of idleness: all at once */
  job->window.data = job;
  int rc = lf__window_start(&job->loop, &job->window, job->concurrency, on_widen, disk_backlog);
  if (rc < 0) {
    fprintf(stderr, "loopfetch: warning: %s; starting all %u transfers at once\n", uv_strerror(rc),
            job->concurrency);
    return;
  }
  job->concurrency = job->window.size;
}

void lf__job_start_pages(job_t *job, size_t known_count) {
  start_progress(job);
  if (lf__names_new(&job->names) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->pages_started = 1;
  if (job->cfg->mode == LF_MODE_PROCS) {
    lf__job_start_procs(job);
    return;
  }
  job->concurrency = lf__job_pick_concurrency(job, known_count);
  open_window(job);
  job->feeding = 1;
  lf_fetcher_set_need_cb(job->fetcher, lf__job_on_need);
  lf_fetcher_set_max_in_flight(job->fetcher, job->concurrency); /* calls lf__job_on_need */
  lf__job_maybe_done(job);
}
