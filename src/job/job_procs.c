/* --procs: the parent names every page, deals the pages (and a crawl's navigation pages) to
 * worker processes and records what they report; a page whose worker died is fetched here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "job_end.h"
#include "job_feed.h"
#include "job_naming.h"
#include "job_procs.h"
#include "job_record.h"
#include "job_robots.h"
#include "job_sitemaps.h"

static void on_worker_record(void *arg, const lf__record_t *rec, uintptr_t data) {
  job_t *job = arg;
  if (data) { /* a navigation page: the crawl takes its links and records it */
    job->worker_nav(job, rec, data);
    return;
  }
  lf__record_t r = *rec;
  r.lastmod = lf__job_sitemap_lastmod(job, r.url);
  lf__job_refresh_record(job, &r); /* a 304 keeps the manifest's file and validators */
  lf__report_record(&job->report, &r);
  lf__job_procs_more(job); /* its --next page may have joined; or it was the last */
}

static int on_worker_found(void *arg, uintptr_t data, const char *url, char kind,
                           const char *value) {
  job_t *job = arg;
  return job->worker_found ? job->worker_found(job, data, url, kind, value) : 1;
}

/* A worker ended before reporting this page: fetch it here, unless we are stopping. */
static void on_worker_orphan(void *arg, const char *url, const char *name, const char *why,
                             uintptr_t data) {
  job_t *job = arg;
  (void)why;
  if (data) {
    job->worker_nav_orphan(job, data);
    return;
  }
  if (job->signal) {
    lf__job_record_failure(job, url, name, "interrupted", LF_REC_INTERRUPTED, 0);
    return;
  }
  lf__job_add_page(job, url, name, 0);
}

static void on_worker_usage(void *arg, long maxrss_kb, double cpu_s) {
  job_t *job = arg;
  job->report.children_maxrss_kb += maxrss_kb;
  job->report.children_cpu_s += cpu_s;
}

/* With the progress line on, the bytes count as they arrive (report.c's live_bytes). */
static void on_worker_bytes(void *arg, uint64_t bytes) {
  job_t *job = arg;
  if (job->progress_on) job->progress.bytes += bytes;
}

/* -e: the records a worker wrote for a page, for the summary and --json. */
static void on_worker_records(void *arg, uint64_t n) {
  job_t *job = arg;
  job->report.records += (size_t)n;
}

static void on_workers_done(void *arg) {
  job_t *job = arg;
  job->procs_running = 0;
  lf__job_maybe_done(job);
}

int lf__job_spawn_procs(job_t *job, size_t known_count) {
  if (job->procs) return job->procs_running ? 0 : -1;
  lf__procs_cbs_t cbs = {.arg = job,
                         .on_record = on_worker_record,
                         .on_found = on_worker_found,
                         .on_orphan = on_worker_orphan,
                         .on_done = on_workers_done,
                         .on_usage = on_worker_usage,
                         .on_bytes = on_worker_bytes,
                         .on_records = on_worker_records};
  unsigned n = job->cfg->procs;
  /* The default cap is for the whole job, shared by the workers: N processes keep the single
   * loop's total in flight, and N times the connections and memory of one loop would buy
   * nothing. Pages are dealt as workers have room (procs.c), so each needs room for its share
   * of the known pages at most. */
  size_t want = known_count ? (known_count + n - 1) / n : 0,
         share = (LF_CLI_MAX_DEFAULT_IN_FLIGHT + n - 1) / n;
  job->concurrency = lf__job_pick_concurrency(job, want && want < share ? want : share);
  int rc = lf__procs_start(&job->loop, job->cfg, n, job->concurrency, job->report.start_ns, &cbs,
                           &job->procs);
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot start worker processes: %s%s", lf_strerror(rc), "");
    return -1;
  }
  job->procs_running = 1;
  return 0;
}

void lf__job_procs_add(job_t *job, const char *url, const char *name, const char *extra,
                       const lf__procs_pace_t *pace, uintptr_t data) {
  if (lf__procs_add(job->procs, url, name, extra, pace, data) < 0)
    lf__job_record_failure(job, url, name, "out of memory", LF_REC_FAILED, 0);
  else
    job->handed_to_workers++;
}

/* The host of url, lower case, as the fetcher's pacing names it. -1: none (the worker will say
 * what is wrong with the URL). */
static int host_of(const char *url, char host[256]) {
  CURLU *u = curl_url();
  char *h = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && strlen(h) < 256;
  for (size_t i = 0; ok; i++)
    if (!(host[i] = h[i] >= 'A' && h[i] <= 'Z' ? (char)(h[i] + 32) : h[i])) break;
  curl_free(h);
  curl_url_cleanup(u);
  return ok ? 0 : -1;
}

void lf__job_note_contact(job_t *job, const char *url) {
  char host[256];
  int added;
  if (job->cfg->mode != LF_MODE_PROCS || !url || host_of(url, host) < 0) return;
  (void)lf__hmap_put(&job->contacted, lf__hash64(host, strlen(host)), 1, &added);
  /* out of memory: that host's first page in a worker may come sooner than its pace */
}

/* Per-host pacing with -p: --wait paces every host, a Crawl-delay its own. A paced host's
 * pages all go to one worker, whose loop keeps the pace as a single loop does (procs.h says
 * why that, rather than the parent granting starts: a worker's starts are its own, and so are
 * its retries and 429/503 holds). NULL: url's host is not paced. */
static const lf__procs_pace_t *pace_of(job_t *job, const char *url, lf__procs_pace_t *pace,
                                       char host[256]) {
  if (!(job->cfg->wait > 0) && !lf__job_robots_paces(job)) return NULL;
  if (host_of(url, host) < 0) return NULL;
  double delay = lf__job_robots_host_delay(job, host);
  if (!(job->cfg->wait > 0) && !(delay > 0)) return NULL;
  pace->host = host;
  pace->interval = delay;
  /* a host the parent asked (its robots.txt, a sitemap, a list page) waits its interval from
   * when the worker hears of it; the others may start at once */
  int asked = lf__hmap_get(&job->contacted, lf__hash64(host, strlen(host))) != NULL;
  pace->hold = !asked ? 0 : delay > job->cfg->wait ? delay : job->cfg->wait;
  return pace;
}

void lf__job_procs_nav(job_t *job, const char *url, const char *file, const char *extra,
                       uintptr_t data) {
  lf__procs_pace_t pace;
  char host[256];
  if (lf__procs_add(job->procs, url, file, extra, pace_of(job, url, &pace, host), data) < 0)
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
}

static void hand_to_worker(job_t *job, const char *url, const char *name) {
  char extra[2048 + LF_URL_FIELD_MAX];
  lf__job_validators(job, url, extra, sizeof(extra));
  if (job->xpages) { /* -e: the worker's records name the page's parent (6th field) */
    const char *parent = lf__xpages_parent(job->xpages, url);
    size_t n = strlen(extra);
    if (n == 0) n = (size_t)snprintf(extra, sizeof(extra), "\t\t\t");
    if (parent && !strpbrk(parent, "\t\n")) snprintf(extra + n, sizeof(extra) - n, "\t%s", parent);
  }
  lf__procs_pace_t pace;
  char host[256];
  lf__job_procs_add(job, url, name, extra, pace_of(job, url, &pace, host), 0);
}

/* The workers are told that no more pages come once none can: every page handed out, none
 * waiting for robots.txt, and (--next on the last level) none out that may find one more. */
static void maybe_end_input(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (!job->procs_running || job->procs_input_ended || !job->procs_all_handed ||
      lf__job_robots_waiting(job))
    return;
  if (cfg->levels[cfg->level_count - 1].next &&
      (lf__procs_pending(job->procs) > 0 || job->outstanding > 0))
    return;
  job->procs_input_ended = 1;
  lf__procs_end_input(job->procs);
}

/* A page robots.txt held back, now allowed; NULL: none waits any more, the input can end. */
static void release_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  (void)index;
  if (url)
    hand_to_worker(job, url, name);
  else
    maybe_end_input(job);
}

void lf__job_procs_more(job_t *job) {
  if (!job->procs_all_handed) return; /* the pages have not started */
  const char *url;
  char name[LF_PATH_MAX + 1]; /* a name, or a --layout path */
  while (job->procs_running && lf__job_next_page(job, &url, name)) {
    /* The links of list pages wait for their site's robots.txt here, in the parent */
    int discovered = !job->input && job->next_link - 1 < job->discovered;
    /* a URL the user gave waits only while its origin's robots.txt (and Crawl-delay) comes */
    if (discovered ? lf__job_robots_gate(job, url, name, 0)
                   : lf__job_robots_hold(job, url, name, 0))
      hand_to_worker(job, url, name);
  }
  maybe_end_input(job);
}

void lf__job_start_procs(job_t *job) {
  if (job->procs && !job->procs_running) { /* every worker died while the crawl navigated */
    lf__job_start_feeding(job, job->links.count);
    return;
  }
  if (lf__job_spawn_procs(job, job->links.count) < 0) return;
  job->robots_release = release_page;
  job->procs_all_handed = 1;
  lf__job_procs_more(job);
}
