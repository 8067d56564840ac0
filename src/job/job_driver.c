/* The main job: fetch the list page (or read URLs), pick the links, save every page, in one
 * loop (default), in worker processes (--procs), or as one such worker (--worker).
 * One fetcher serves the list page and the pages so the list page's connection is reused.
 * The driver owns the job's lifecycle: setup, the fetcher's callbacks, signals, the input's
 * arrival, and the exit; README.md (this folder) says which module does the rest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <unistd.h>
#include "errmsg.h"
#include "frontier.h"
#include "job_end.h"
#include "job_parse.h"
#include "job_feed.h"
#include "job_crawl.h"
#include "job_naming.h"
#include "job_output.h"
#include "job_pages.h"
#include "job_procs.h"
#include "job_record.h"
#include "job_robots.h"
#include "hint.h"
#include "job_sitemaps.h"
#include "safe_text.h"

/* ---- setup ---- */

/* A worker dies with its parent: a parent killed with SIGKILL cannot stop it, and a worker that
 * went on would write pages and records behind the back of the rerun that follows (issue 21,
 * item 6: one record per page whatever moment the job was killed at). Linux only; elsewhere
 * the worker stops when its pipes break. */
static int die_with_parent(void) {
#ifdef __linux__
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return -1;
  if (parent == 1 || getppid() != parent) return -1; /* it died before the line above */
#endif
  return 0;
}

/* Below this open-file limit, transfers would fail one by one with a misleading "Couldn't
 * connect" (socket() gets EMFILE): the job is refused at start instead. */
#define FD_MINIMUM 64

/* Each transfer may hold a socket and an output file at once. 0: too few descriptors. */
static unsigned raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return 256;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    struct rlimit up = {want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl.rlim_cur = want;
  }
  if (rl.rlim_cur < FD_MINIMUM) {
    fprintf(stderr,
            "loopfetch: too few file descriptors: the open-file limit (ulimit -n) is %llu; "
            "loopfetch needs at least %d\n",
            (unsigned long long)rl.rlim_cur, FD_MINIMUM);
    return 0;
  }
  rlim_t budget = rl.rlim_cur > 2 * FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : 16;
  return budget > 1000000 ? 1000000 : (unsigned)budget;
}

/* libuv starts its thread pool (UV_THREADPOOL_SIZE threads, 4 by default, each with a stack of
 * RLIMIT_STACK's size, 8 MB by default) at the first file job, and abort()s when a thread
 * cannot be made (libuv 1.44, threadpool.c init_threads): under an address-space limit
 * (ulimit -v 50000) that killed the run with SIGABRT and no word, after the list page. So the
 * room is checked at start, by mapping that much (and released at once), and the pool is
 * started then (warm_thread_pool), while the process is smallest. 0, or -1 said. */
#define AS_HEADROOM (8u << 20) /* beyond the threads' stacks: libcurl and a few transfers */

static int check_address_space(void) {
  struct rlimit as, st;
  if (getrlimit(RLIMIT_AS, &as) < 0 || as.rlim_cur == RLIM_INFINITY) return 0;
  size_t stack = 2u << 20; /* glibc's default when RLIMIT_STACK is unlimited */
  if (getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur != RLIM_INFINITY) stack = st.rlim_cur;
  const char *env = getenv("UV_THREADPOOL_SIZE");
  long threads = env && atol(env) > 0 ? atol(env) : 4;
  if (threads > 1024) threads = 1024; /* libuv's cap */
  size_t need = (size_t)threads * (stack + (64u << 10)) + AS_HEADROOM;
  void *p = mmap(NULL, need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) {
    munmap(p, need);
    return 0;
  }
  lf__error("the address-space limit (ulimit -v %llu) is too small: loopfetch could not reserve "
            "the %zu MB its %ld file-writing threads (stacks of ulimit -s) and transfers need "
            "beside what it holds; raise ulimit -v",
            (unsigned long long)(as.rlim_cur / 1024), need >> 20, threads);
  return -1;
}

static void pool_noop(uv_work_t *w) {
  (void)w;
}

static void pool_noop_done(uv_work_t *w, int status) {
  (void)status;
  free(w);
}

/* The first job makes libuv start its threads: now, not after the list page. They are made
 * with the stop signals blocked (threads inherit the mask), so that a SIGTERM sent to the
 * process reaches this thread: while the manifests load, before the loop runs, it is taken
 * there with sigtimedwait (job_output.c), which a pool thread catching it would defeat. */
static void warm_thread_pool(uv_loop_t *loop) {
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  int blocked = pthread_sigmask(SIG_BLOCK, &stop, &old) == 0;
  uv_work_t *w = malloc(sizeof(*w));
  if (w && uv_queue_work(loop, w, pool_noop, pool_noop_done) < 0) free(w);
  if (blocked) pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* -e: a page of the last level gives its records before its manifest line is written, so a
 * page with a manifest line has its records (a crash between the two fetches it again). Its
 * depth is the last level's (0: the start pages, one more per -f); its parent, the page it was
 * first taken from (job_crawl.c notes them), none for a start page. */
static int extract_records(job_t *job, const lf_result_t *r) {
  const char *why = NULL;
  unsigned depth = job->cfg->mode == LF_MODE_WORKER ? job->cfg->record_depth
                                                    : (unsigned)(job->cfg->level_count - 1);
  const char *parent = lf__xpages_parent(job->xpages, r->url);
  sigset_t old;
  lf__job_parse_begin(&old);
  long n = lf__xpages_result(job->xpages, job->dirfd, job->cfg->fetch.max_memory_body, r, parent,
                             depth, &why);
  if (lf__job_parse_end(job, &old, n < 0 ? (int)n : 0))
    return 1; /* a stop signal ended the parse: the page has no records, so no saved record */
  if (n < 0)
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s: %s", r->url, why ? why : lf_strerror((int)n));
  else if (job->cfg->mode == LF_MODE_WORKER) /* the parent counts them (procs.h) */
    fprintf(stdout, "R\t%lu\t%ld\n", (unsigned long)LF_NAV_INDEX(r->data), n);
  else
    job->report.records += (size_t)n;
  return 0;
}

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  job_t *job = lf_fetcher_get_data(f);
  /* a worker's navigation page is one of its pages: parsed here, its links sent up */
  int worker_nav = job->cfg->mode == LF_MODE_WORKER && lf__job_is_nav(r->data);
  if (lf__job_is_nav(r->data) && !worker_nav) {
    lf__job_on_nav(job, r);
    return;
  }
  if (lf__job_is_robots(job, r->data)) {
    lf__job_on_robots(job, r);
    return;
  }
  if (lf__job_is_sitemap(job, r->data)) {
    if (lf__job_on_sitemap(job, r) == 1) job->sitemaps_all_in(job);
    return;
  }
  if (!worker_nav) lf__job_on_last_page(job, r); /* --next there: the next page joins first */
  job->outstanding--;
  ++job->since_trim;
  if (job->feeding
          ? uv_now(&job->loop) - job->trimmed_at >= TRIM_FEEDING_MS
          : job->since_trim >= TRIM_EVERY && uv_now(&job->loop) - job->trimmed_at >= TRIM_GAP_MS)
    lf__job_give_back_memory(job); /* the finished pages' handles and buffers were just freed */
  if (worker_nav) {
    lf__job_worker_nav(job, r);
  } else {
    int stopped = job->xpages && r->status == 0 && r->http_code != 304 && extract_records(job, r);
    lf__record_t rec;
    char why[512];
    lf__record_from_result(&rec, r, job->signal != 0, job->clock_offset);
    rec.error = lf__hint_error(r, job->cfg->fetch.max_size, why, sizeof(why));
    if (stopped) { /* the page without its records is not done: fetched again by the next run,
                      under its name, which a file left here would make look taken */
      rec.status = LF_REC_INTERRUPTED;
      rec.error = "interrupted while its records were extracted";
      if (r->file) (void)unlinkat(job->dirfd, r->file, 0);
    }
    rec.pid = job->pid;
    rec.lastmod = lf__job_sitemap_lastmod(job, r->url);
    lf__job_refresh_record(job, &rec);
    lf__job_record(job, &rec, (uintptr_t)r->data);
  }
  if (job->feeding && !job->input && job->next_link == job->links.count && !lf__job_may_grow(job))
    lf__job_end_feeding(job); /* the last page that could have found one more */
  if (job->cfg->mode == LF_MODE_PROCS) lf__job_procs_more(job); /* a dead worker's page */
  lf__job_maybe_done(job);
}

/* Bodies handed out as they come: robots.txt files and sitemaps, read without being kept. */
static int on_body(lf_fetcher_t *f, lf_stream_t *s, const char *chunk, size_t len) {
  job_t *job = lf_fetcher_get_data(f);
  const void *data = lf_stream_get_data(s);
  if (lf__job_is_robots(job, data)) return lf__job_robots_body(job, s, chunk, len);
  if (lf__job_is_sitemap(job, data)) return lf__job_sitemap_body(job, s, chunk, len);
  return LF_EINVAL; /* no other request of the job streams */
}

/* -v: one line per attempt as it happens (curl -v and wget -v say what they do; retries
 * would otherwise be silent until the final verdict). */
static void on_event(lf_fetcher_t *f, const lf_event_t *e) {
  job_t *job = lf_fetcher_get_data(f);
  if (e->kind == LF_EVENT_REDIRECT) lf__job_on_robots_redirect(job, e->data, e->redirects);
  if (e->kind == LF_EVENT_START || e->kind == LF_EVENT_REDIRECT) /* -p: hosts asked here */
    lf__job_note_contact(job, e->kind == LF_EVENT_START ? e->url : e->detail);
  int list_retry = e->kind == LF_EVENT_RETRY && !job->cfg->quiet && lf__job_is_nav(e->data) &&
                   job->crawl && lf__job_crawl_level(job) == 0;
  if (!job->cfg->verbose && !list_retry) return;
  /* URLs and reasons come from outside: secrets hidden, controls escaped (safe_text.h). */
  char *url = lf__display(e->url, 1),
       *detail = e->detail ? lf__display(e->detail, e->kind == LF_EVENT_REDIRECT) : NULL;
  const char *u = url ? url : "?", *d = detail ? detail : "failed";
  if (job->progress_on) lf__progress_clear(stderr); /* the next tick redraws it below */
  if (!job->cfg->verbose) /* the list page's retries, before any progress: never silent */
    fprintf(stderr, "loopfetch: list page %s: %s; attempt %d failed, next in %.1f s\n", u, d,
            e->attempt, (double)e->wait_ms / 1000);
  else if (e->kind == LF_EVENT_START)
    fprintf(stderr, "loopfetch: #%d start %s\n", e->attempt, u);
  else if (e->kind == LF_EVENT_REDIRECT)
    fprintf(stderr, "loopfetch: #%d redirect %s -> %s (%ld redirect%s)\n", e->attempt, u, d,
            e->redirects, e->redirects == 1 ? "" : "s");
  else if (e->kind == LF_EVENT_RETRY)
    fprintf(stderr, "loopfetch: #%d retry %s in %.1f s: %s\n", e->attempt, u,
            (double)e->wait_ms / 1000, d);
  else if (e->detail)
    fprintf(stderr, "loopfetch: #%d failed %s: %s\n", e->attempt, u, d);
  else
    fprintf(stderr, "loopfetch: #%d done %s: HTTP %ld\n", e->attempt, u, e->http_code);
  free(url);
  free(detail);
}

/* ---- signals: the first stops the job (in-flight pages are aborted and recorded as
 * interrupted), the second ends the process at once. ---- */

void lf__job_signal(job_t *job, int signum) {
  if (job->signal) {
    if (job->procs_running) lf__procs_stop(job->procs, 1);
    _exit(signum == SIGINT ? LF_EXIT_SIGINT : signum == SIGHUP ? LF_EXIT_SIGHUP : LF_EXIT_SIGTERM);
  }
  job->signal = signum;
  lf__job_stop_progress(job);
  /* What was never handed to the fetcher is accounted for too. */
  if (job->feeding && job->cfg->mode == LF_MODE_LOOP) lf__job_record_unfed(job);
  lf__job_stop_on_signal(job, signum);
}

static void on_signal(uv_signal_t *h, int signum) {
  lf__job_signal(h->data, signum);
}

/* SIGHUP (the terminal closed, the ssh session dropped) stops the job as SIGTERM does: the
 * pages in flight are recorded as interrupted and the summary is written, where the default
 * action would kill the process without either (exit 129). */
static int watch_signals(job_t *job) {
  uv_signal_t *hs[3] = {&job->sigint, &job->sigterm, &job->sighup};
  int nums[3] = {SIGINT, SIGTERM, SIGHUP};
  /* A worker stops only when its parent says so (SIGTERM): a Ctrl-C or a hang-up at the
   * terminal reaches the whole process group, and the parent decides for everyone. */
  if (job->cfg->mode == LF_MODE_WORKER &&
      (signal(SIGINT, SIG_IGN) == SIG_ERR || signal(SIGHUP, SIG_IGN) == SIG_ERR))
    return -errno;
  for (int i = 0; i < 3; i++) {
    if (job->cfg->mode == LF_MODE_WORKER && nums[i] != SIGTERM) continue;
    int rc = uv_signal_init(&job->loop, hs[job->signals_watched]);
    if (rc < 0) return rc;
    uv_signal_t *h = hs[job->signals_watched++];
    h->data = job;
    if ((rc = uv_signal_start(h, on_signal, nums[i])) < 0) return rc;
    uv_unref((uv_handle_t *)h); /* signals alone must not keep the loop alive */
  }
  return 0;
}

/* ---- running ---- */

/* New input lines: fed to the fetcher, or (--procs) collected until the end. */
static void on_input_ready(lf__lines_t *l) {
  job_t *job = l->data;
  if (!job->input) return;
  if (lf__job_sitemaps_reading_input(job)) { /* --sitemap robots: -i's origins first */
    lf__job_sitemaps_read_input(job);
  } else if (job->slurping) {
    if (lf__frontier_slurp(job) == 1) lf__job_input_read(job);
  } else if (job->feeding) /* the fetcher calls lf__job_on_need if a slot is free, else later; */
    lf_fetcher_set_max_in_flight(job->fetcher, job->concurrency); /* never re-entered */
}

static int open_input(job_t *job) {
  const char *path = job->cfg->mode == LF_MODE_WORKER ? "-" : job->cfg->input;
  if (!path) return 0;
  int rc = lf__lines_open(&job->input_lines, &job->loop, path, on_input_ready);
  if (rc < 0) {
    char *shown = lf__display(path, 0);
    lf__error("cannot read %s: %s", shown ? shown : "the input", strerror(-rc));
    free(shown);
    return -1;
  }
  job->input_lines.data = job;
  /* A URL is at most LF_URL_MAX bytes (loopfetch.h: servers refuse far shorter ones): a longer
   * line is cut there and reported, never held whole (a 100 MB line took 206 MB). Room is left
   * for spaces around the URL. */
  if (job->cfg->mode != LF_MODE_WORKER) job->input_lines.max_line = LF_URL_MAX + 1024;
  job->input = &job->input_lines;
  return 0;
}

static void start_after_sitemaps(job_t *job);

static void start(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  /* The folder and its manifest first: a second run on the same manifest is refused before
   * anything is fetched. --links writes nothing. */
  if (!cfg->links_only && lf__job_open_output(job) < 0) return;
  if (cfg->mode != LF_MODE_WORKER && cfg->sitemap_count) {
    /* --sitemap first: a malformed one ends the job before any page; its pages join the links
     * (lf__job_links_ready) */
    job->sitemaps_all_in = start_after_sitemaps;
    lf__job_start_sitemaps(job);
    return;
  }
  start_after_sitemaps(job);
}

static void start_after_sitemaps(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (job->exit_code || job->signal) return;
  if (cfg->mode != LF_MODE_WORKER && !cfg->list_count && !cfg->input && cfg->sitemap_count) {
    if (lf__job_sitemaps_start_level(job)) /* the sitemaps' pages alone, then -f's levels */
      lf__job_start_crawl(job);
    else
      lf__job_links_ready(job); /* the sitemaps' pages alone */
    return;
  }
  if (cfg->mode != LF_MODE_WORKER && cfg->list_count) {
    lf__job_start_crawl(job); /* -i's URLs, if any, join the links once all are in */
    return;
  }
  if (cfg->mode == LF_MODE_WORKER ||
      (cfg->input && cfg->mode != LF_MODE_PROCS && !cfg->links_only && cfg->level_count == 1 &&
       !cfg->levels[0].next && !cfg->sitemap_count)) { /* sitemaps: -i read whole, then them */
    lf__job_start_pages(job, 0);
    return;
  }
  job->slurping = 1; /* -p, --links and a crawl take the whole input first */
  if (lf__frontier_slurp(job) == 1) lf__job_input_read(job);
}

static int check_selector(const char *option, const char *selector) {
  lf_links_t none;
  char err[256];
  if (!selector) return 0;
  int rc = lf_links_extract("", 0, "http://localhost/", selector, &none, err, sizeof(err));
  if (rc == LF_ESELECTOR) {
    lf__error("%s '%s': %s", option, selector, err);
    return -1;
  }
  lf_links_free(&none);
  return 0;
}

/* Every level's selectors, before the first request. */
static int check_selectors(const lf_cli_t *cfg) {
  for (size_t i = 0; i < cfg->level_count; i++)
    if (check_selector(cfg->levels[i].option, cfg->levels[i].follow) < 0 ||
        check_selector("--next", cfg->levels[i].next) < 0)
      return -1;
  return 0;
}

static int exit_code(const job_t *job) {
  if (job->exit_code) return job->exit_code;
  const lf__report_t *r = &job->report;
  if (r->failed || r->interrupted) return LF_EXIT_FAILED;
  if (job->pages_started && r->saved + r->skipped + r->unchanged == 0 &&
      job->cfg->mode != LF_MODE_WORKER) {
    char *shown = lf__display(job->cfg->input ? job->cfg->input : job->cfg->list_url, 1);
    if (r->robots)
      lf__error("nothing to fetch in %s: robots.txt disallows all %zu pages (--robots=off ignores "
                "it)",
                shown ? shown : "the input", r->robots);
    else
      lf__error("nothing to fetch in %s", shown ? shown : "the input");
    free(shown);
    return LF_EXIT_NOTHING;
  }
  return LF_EXIT_OK;
}

static const char *mode_name(const job_t *job) {
  if (job->cfg->mode == LF_MODE_PROCS) return "procs";
  return job->concurrency == 1 ? "sequential" : "loop";
}

/* A worker's last line: its own totals, for the parent's summary. */
static void worker_usage_line(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) < 0) return;
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("S\t{\"maxrss_kb\":%ld,\"cpu_s\":%.6f}\n", lf__peak_rss_kb(), cpu);
  fflush(stdout);
}

static void cleanup(job_t *job) {
  if (job->input) lf__lines_close(job->input); /* the loop never ran: no handle is open */
  lf__manifest_close(&job->manifest);
  lf__xpages_close(job->xpages);
  for (size_t i = 0; i < job->worker_parents_len; i++)
    free(job->worker_parents[i]);
  free(job->worker_parents);
  lf_links_free(&job->links);
  lf_links_free(&job->held_input);
  lf__hmap_free(&job->contacted);
  lf__job_crawl_free(job);
  lf__names_free(job->names);
  lf__names_free(job->input_seen);
  for (size_t i = 0; i < job->own_count; i++)
    free(job->own_names[i]);
  lf__refresh_free(job->refresh);
  curl_url_cleanup(job->url);
  lf__job_robots_free(job);
  lf__job_sitemaps_free(job);
  lf__report_free(&job->report);
  if (job->procs) lf__procs_free(job->procs);
  if (job->dirfd > 0) close(job->dirfd);
}

static int setup(job_t *job) {
  const char *what = "uv_loop_init";
  int rc = uv_loop_init(&job->loop);
  if (rc < 0) {
    fprintf(stderr, "loopfetch: cannot start: %s: %s\n", what, uv_strerror(rc));
    return -1;
  }
  warm_thread_pool(&job->loop);
  /* Idle time for the in-flight window (window.h), measured only for a job that has one: it
   * costs two clock reads per loop turn. Without it the window stays fully open. */
  job->idle_metrics =
      lf__job_wants_window(job->cfg) && uv_loop_configure(&job->loop, UV_METRICS_IDLE_TIME) == 0;
  lf_options_t opts = job->cfg->fetch;
  opts.out_dir = job->cfg->out_dir;
  if ((rc = watch_signals(job)) < 0)
    what = "watching signals";
  else if ((rc = lf_fetcher_new(&job->loop, &opts, on_result, &job->fetcher)) < 0)
    what = "setting up libcurl";
  if (rc < 0) {
    fprintf(stderr, "loopfetch: cannot start: %s: %s\n", what, lf_strerror(rc));
    job->exit_code = LF_EXIT_LOCAL;
    lf__job_close_signals(job); /* uv_run below runs their close callbacks */
    return 0;
  }
  /* A 429 or 503 holds its whole host, with or without --wait: the server asked for it. */
  unsigned pace = LF_PACE_BACKOFF | (job->cfg->random_wait ? LF_PACE_RANDOM : 0);
  if ((rc = lf_fetcher_set_pace(job->fetcher, job->cfg->wait, pace)) < 0)
    fprintf(stderr, "loopfetch: --wait: %s\n", lf_strerror(rc)); /* checked by cli.c */
  lf_fetcher_set_data(job->fetcher, job);
  lf_fetcher_set_body_cb(job->fetcher, on_body);
  lf_fetcher_set_name_cb(job->fetcher, lf__job_on_name);
  lf_fetcher_set_event_cb(job->fetcher, on_event);
  job->clock_offset = lf__report_elapsed(&job->report) - lf_fetcher_now(job->fetcher);
  return 1;
}

int lf__job_run(const lf_cli_t *cfg) {
  if (cfg->mode != LF_MODE_WORKER && check_selectors(cfg) < 0) {
    if (cfg->json) lf__report_json_stopped(LF_EXIT_USAGE);
    return LF_EXIT_USAGE;
  }
  job_t *job = calloc(1, sizeof(*job));
  if (!job) return LF_EXIT_LOCAL;
  job->cfg = cfg;
  job->dirfd = -1;
  job->pid = (int)getpid();
  lf__manifest_init(&job->manifest);
  if (!(job->fd_budget = raise_fd_limit()) || check_address_space() < 0) {
    free(job);
    if (cfg->json) lf__report_json_stopped(LF_EXIT_LOCAL);
    return LF_EXIT_LOCAL;
  }
  int rc = lf__report_init(&job->report, cfg->quiet || cfg->mode == LF_MODE_WORKER);
  if (rc == 0 && (cfg->trace || cfg->waterfall) && cfg->mode != LF_MODE_WORKER)
    rc = lf__report_keep_trace(&job->report);
  if (cfg->mode == LF_MODE_WORKER && cfg->epoch_ns)
    job->report.start_ns = cfg->epoch_ns; /* one clock with the parent, for the trace */
  if (cfg->mode == LF_MODE_WORKER && die_with_parent() < 0) rc = -1;
  if (rc < 0 || open_input(job) < 0) {
    lf__report_free(&job->report);
    free(job);
    rc = rc < 0 ? LF_EXIT_LOCAL : LF_EXIT_LIST;
    if (cfg->json) lf__report_json_stopped(rc);
    return rc;
  }
  int ready = setup(job);
  if (ready < 0) {
    cleanup(job);
    free(job);
    return LF_EXIT_LOCAL;
  }
  if (ready) start(job);
  rc = uv_run(&job->loop, UV_RUN_DEFAULT);
  (void)rc; /* non-zero only if uv_stop() was called, which we never do */
  int close_rc = uv_loop_close(&job->loop);
  if (close_rc < 0)
    fprintf(stderr, "loopfetch: internal: loop still busy at exit: %s\n", uv_strerror(close_rc));
  if (job->procs && (rc = lf__procs_merge_cookies(job->procs)) < 0) {
    fprintf(stderr, "loopfetch: cannot merge the workers' cookies into --cookie-jar %s: %s\n",
            cfg->http.cookie_jar, lf_strerror(rc));
    job->exit_code = job->exit_code ? job->exit_code : LF_EXIT_LOCAL;
  }
  if ((rc = lf__report_close(&job->report)) < 0) {
    fprintf(stderr, "loopfetch: cannot write manifest %s: %s\n", job->report.manifest_path,
            strerror(-rc));
    job->exit_code = job->exit_code ? job->exit_code : LF_EXIT_LOCAL;
  }
  if (job->pages_started && (cfg->trace || cfg->waterfall)) {
    char title[160], procs[24] = "";
    if (cfg->mode == LF_MODE_PROCS) snprintf(procs, sizeof(procs), ", -p %u", cfg->procs);
    snprintf(title, sizeof(title), "%s (-c %u%s): %zu pages in %.2f s", mode_name(job),
             job->concurrency, procs, job->report.saved, lf__report_elapsed(&job->report));
    if (lf__report_write_trace(&job->report, cfg->trace, cfg->waterfall, title) < 0 &&
        !job->exit_code)
      job->exit_code = LF_EXIT_LOCAL;
  }
  int code = exit_code(job);
  if (cfg->mode == LF_MODE_WORKER) {
    worker_usage_line();
  } else if (cfg->json) { /* one object, whatever the outcome */
    lf__report_json(&job->report, job->pages_started ? mode_name(job) : "none",
                    cfg->mode == LF_MODE_PROCS ? cfg->procs : 1, job->concurrency, code,
                    code ? lf__first_error() : NULL);
  }
  if (job->pages_started && cfg->mode != LF_MODE_WORKER) lf__report_summary(&job->report);
  int remove_output = job->dir_created && cfg->mode != LF_MODE_WORKER && code >= LF_EXIT_USAGE &&
                      code <= LF_EXIT_LOCAL && job->report.saved == 0;
  cleanup(job);
  free(job);
  if (remove_output) lf__job_remove_empty_output(cfg);
  return code;
}
