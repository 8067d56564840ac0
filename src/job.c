/* The main job: fetch the list page (or read URLs), pick the links, save every page, in one
 * loop (default), in worker processes (--procs), or as one such worker (--worker).
 * One fetcher serves the list page and the pages so the list page's connection is reused. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <curl/curl.h>
#include "cli.h"
#include "names.h"
#include "procs.h"
#include "progress.h"
#include "report.h"
#include "shard.h"
#include "window.h"

/* URLs handed to the fetcher per need callback, at least: the free slots are filled at once
 * (see feed_count), so the queue (and memory) stays small. */
#define FEED_BATCH 64
/* Descriptors kept free for stdio, the loop, libcurl's resolver and the like. */
#define FD_RESERVE 32
/* Once every page has been handed out, free heap pages go back to the kernel after this many
 * more results, and at most once per TRIM_GAP_MS (see give_back_memory). */
#define TRIM_EVERY 16
#define TRIM_GAP_MS 10

typedef struct {
  const lf_cli_t *cfg;
  uv_loop_t loop;
  lf_fetcher_t fetcher;
  uv_signal_t sigint, sigterm;
  int signals_watched;
  lf__report_t report;
  lf__names_t *names;
  int dirfd;        /* output folder: to see which pages a previous run completed */
  int fresh_folder; /* it held nothing when the job started: no page can be there already */
  int pid;          /* ours, for the records (getpid() is a system call each time) */
  lf_links_t links; /* list mode: what is left to feed starts at next_link */
  size_t next_link;
  FILE *input; /* input mode (and workers: their stdin) */
  CURLU *url;  /* the URL being named, parsed once */
  char *line;
  size_t line_cap;
  lf__procs_t *procs;
  int procs_running;
  size_t handed_to_workers; /* pages dealt to workers, for the progress line's in-flight */
  lf__progress_t progress;
  uv_timer_t progress_timer;
  int progress_on;
  int feeding;          /* more URLs may come */
  size_t outstanding;   /* added to the fetcher, result not yet seen */
  size_t since_trim;    /* results since give_back_memory() last ran */
  uint64_t trimmed_at;  /* uv_now() then */
  int exit_code;        /* set by a fatal error; otherwise derived from the counts */
  int signal;           /* SIGINT or SIGTERM received */
  int pages_started;    /* the summary line is about pages: none before this */
  unsigned fd_budget;   /* transfers the open-file limit allows */
  unsigned concurrency; /* transfers in flight allowed now (job->window.size without -c) */
  lf__window_t window;  /* without -c: widens while the loop waits (window.h) */
  int idle_metrics;     /* a window is wanted and the loop measures its idle time */
  double clock_offset;  /* fetcher clock + offset = seconds since the job started */
} job_t;

static int list_tag; /* lf_request_t.data of the list page: told apart from pages */

/* ---- setup ---- */

/* Each transfer may hold a socket and an output file at once. */
static unsigned raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return 256;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    struct rlimit up = {want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl.rlim_cur = want;
  }
  rlim_t budget = rl.rlim_cur > 2 * FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : 16;
  return budget > 1000000 ? 1000000 : (unsigned)budget;
}

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
  if (rc == 0 && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) rc = errno ? -errno : -ENOTDIR;
  free(p);
  return rc;
}

/* ---- ending ---- */

static void on_signal_closed(uv_handle_t *h) {
  (void)h;
}

static void close_signals(job_t *job) {
  uv_signal_t *hs[2] = {&job->sigint, &job->sigterm};
  for (int i = 0; i < job->signals_watched; i++)
    uv_close((uv_handle_t *)hs[i], on_signal_closed);
  job->signals_watched = 0;
}

static void on_fetcher_closed(lf_fetcher_t *f) {
  close_signals(f->data);
}

static int next_page(job_t *job, const char **url, char *name);
static void record_failure(job_t *job, const char *url, const char *file, const char *why,
                           lf__rec_status_t status, uintptr_t index);

/* Stopped by a signal: what was never handed to the fetcher is accounted for too. */
static void record_unfed(job_t *job) {
  const char *url;
  char name[LF_NAME_MAX + 1];
  job->feeding = 0;
  while (next_page(job, &url, name))
    record_failure(job, url, name, "interrupted before it started", LF_REC_INTERRUPTED, 0);
}

static void stop_progress(job_t *job) {
  if (!job->progress_on) return;
  job->progress_on = 0;
  uv_close((uv_handle_t *)&job->progress_timer, NULL);
  lf__progress_clear(stderr);
}

static void finish(job_t *job, int exit_code) {
  if (exit_code && !job->exit_code) job->exit_code = exit_code;
  stop_progress(job);
  lf__window_stop(&job->window);
  if (job->signal && job->feeding && job->cfg->mode == LF_MODE_LOOP) record_unfed(job);
  job->feeding = 0;
  if (job->procs_running) {
    lf__procs_stop(job->procs, 0); /* the fetcher closes once the workers are done */
    return;
  }
  int rc = lf_fetcher_close(&job->fetcher, on_fetcher_closed);
  (void)rc; /* LF_ECLOSING: a close is already under way, which is what we want */
}

static void maybe_done(job_t *job) {
  if (!job->feeding && job->outstanding == 0 && !job->procs_running) finish(job, 0);
}

static void fatal(job_t *job, int exit_code, const char *fmt, const char *a, const char *b) {
  stop_progress(job);
  fprintf(stderr, "loopfetch: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  finish(job, exit_code);
}

/* glibc returns freed memory in the middle of its heap only when asked: without this, pages
 * touched once (what the list page's fetch and parse left, the easy handles and receive buffers
 * of finished transfers) would stay resident, and count in the peak, until exit
 * (bench/RESULTS.md, A: peak RSS). It costs page faults when the memory is used again, so it
 * runs only before the pages start and, once every page is handed out, every TRIM_EVERY
 * results. Each call walks the whole heap (one madvise per free run of pages: ~900 at the end of
 * 10,000 small pages), so a fast stream of results is trimmed at most every TRIM_GAP_MS. */
static void give_back_memory(job_t *job) {
  job->since_trim = 0;
  job->trimmed_at = uv_now(&job->loop);
#ifdef __GLIBC__
  (void)malloc_trim(0); /* 0 only means there was nothing to give back */
#endif
}

/* ---- records: to the report, or (a worker) to the parent ---- */

static void emit(job_t *job, const lf__record_t *rec, uintptr_t index) {
  if (job->cfg->mode != LF_MODE_WORKER) {
    lf__report_record(&job->report, rec);
    return;
  }
  char line[4096];
  int n = snprintf(line, sizeof(line), "%lu\t", (unsigned long)index);
  size_t len = lf__record_to_json(rec, line + n, sizeof(line) - (size_t)n);
  if (len >= sizeof(line) - (size_t)n) /* URL too long for the line: say so, keep the index */
    len = (size_t)snprintf(line + n, sizeof(line) - (size_t)n,
                           "{\"url\":\"?\",\"status\":\"failed\",\"error\":\"record too long\"}\n");
  /* One write per line: the parent reads lines, and stdout is a pipe it drains. */
  if (fwrite(line, 1, (size_t)n + len, stdout) != (size_t)n + len || fflush(stdout) != 0)
    finish(job, LF_EXIT_LOCAL); /* the parent is gone: nobody to report to */
}

static void record_failure(job_t *job, const char *url, const char *file, const char *why,
                           lf__rec_status_t status, uintptr_t index) {
  lf__record_t rec = {.url = url,
                      .file = file,
                      .error = why,
                      .status = status,
                      .pid = job->pid,
                      .start = lf__report_elapsed(&job->report)};
  emit(job, &rec, index);
}

/* ---- which pages: input lines or links, named in order, filtered by shard and rerun ---- */

/* Parses url into job->url (reused from URL to URL). An input line is a URL only if libcurl
 * parses it and its scheme is http or https. NULL, or why not. */
static const char *parse_url(job_t *job, const char *url) {
  if (!job->url && !(job->url = curl_url())) return "out of memory";
  CURLUcode rc = curl_url_set(job->url, CURLUPART_URL, url, 0);
  if (rc == CURLUE_OUT_OF_MEMORY) return "out of memory";
  if (rc != CURLUE_OK) return "not a valid absolute URL";
  /* Parsed without a default scheme, so the URL starts with its scheme and a colon. */
  if (strncasecmp(url, "http:", 5) != 0 && strncasecmp(url, "https:", 6) != 0)
    return "only http and https URLs are fetched";
  return NULL;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/* The next candidate URL, parsed into job->url: 1 with *url set, 0 at the end. */
static int next_url(job_t *job, const char **url) {
  if (!job->input) {
    while (job->next_link < job->links.count) {
      const char *u = job->links.urls[job->next_link++];
      const char *why = parse_url(job, u); /* resolved by libcurl already: fails only on ENOMEM */
      if (!why) {
        *url = u;
        return 1;
      }
      record_failure(job, u, NULL, why, LF_REC_FAILED, 0);
    }
    return 0;
  }
  for (;;) {
    errno = 0;
    if (getline(&job->line, &job->line_cap, job->input) < 0) {
      if (ferror(job->input))
        fatal(job, LF_EXIT_LIST, "cannot read %s: %s", job->cfg->input, strerror(errno));
      return 0;
    }
    char *u = trim(job->line);
    if (!*u || *u == '#') continue;
    const char *why = parse_url(job, u);
    if (!why) {
      *url = u;
      return 1;
    }
    record_failure(job, u, NULL, why, LF_REC_FAILED, 0);
  }
}

/* A previous run put the page in place only when it was complete. In a folder that started
 * empty there is no previous run to ask about, which saves a lookup per page. */
static int already_saved(job_t *job, const char *name) {
  struct stat st;
  return !job->cfg->force && !job->fresh_folder &&
         fstatat(job->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* The next page to fetch, named. Names are given to every URL in input order, before the
 * shard filter, so every mode and every shard names a page the same. 1: a page; 0: the end. */
static int next_page(job_t *job, const char **url, char *name) {
  const lf_cli_t *cfg = job->cfg;
  const char *u;
  while (next_url(job, &u)) {
    char derived[LF_NAME_MAX + 1];
    int rc = lf__name_from_curlu(job->url, derived, sizeof(derived));
    if (rc == 0) rc = lf__names_unique(job->names, derived, name, LF_NAME_MAX + 1);
    if (rc < 0) {
      record_failure(job, u, NULL, lf_strerror(rc), LF_REC_FAILED, 0);
      continue;
    }
    if (cfg->shard_n && lf__shard_of(u, cfg->shard_n) != cfg->shard_k - 1) continue;
    if (already_saved(job, name)) {
      record_failure(job, u, name, NULL, LF_REC_SKIPPED, 0);
      continue;
    }
    *url = u;
    return 1;
  }
  return 0;
}

/* Workers read "INDEX\tURL\tNAME" lines: the parent has named and filtered already. */
static int next_worker_page(job_t *job, const char **url, const char **name, uintptr_t *index) {
  while (getline(&job->line, &job->line_cap, job->input) >= 0) {
    char *tab1 = strchr(job->line, '\t');
    char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2) continue;
    *tab1 = *tab2 = '\0';
    *index = (uintptr_t)strtoul(job->line, NULL, 10);
    *url = tab1 + 1;
    *name = trim(tab2 + 1);
    return 1;
  }
  return 0;
}

static void add_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  lf_request_t req = {.url = url, .output = LF_OUTPUT_FILE, .file = name, .data = (void *)index};
  int rc = lf_fetcher_add(&job->fetcher, &req);
  if (rc < 0) {
    record_failure(job, url, name, lf_strerror(rc), LF_REC_FAILED, index);
    fatal(job, LF_EXIT_LOCAL, "cannot save into %s: %s", job->cfg->out_dir, lf_strerror(rc));
    return;
  }
  job->outstanding++;
}

/* No more pages: the fetcher is told too (no need callback), so finished transfers free their
 * easy handles and the last ones do not keep their connections for nobody. */
static void end_feeding(job_t *job) {
  job->feeding = 0;
  lf__window_stop(&job->window); /* nothing more to start */
  lf_fetcher_set_need_cb(&job->fetcher, NULL);
}

/* Every free slot at once: a list that fits is handed over in one call, which also tells the
 * fetcher, before any of them starts, that nothing more comes. */
static size_t feed_count(const job_t *job) {
  size_t busy = lf_fetcher_in_flight(&job->fetcher);
  size_t free_slots = job->concurrency > busy ? job->concurrency - busy : 0;
  return free_slots > FEED_BATCH ? free_slots : FEED_BATCH;
}

static void on_need(lf_fetcher_t *f) {
  job_t *job = f->data;
  for (size_t i = 0, n = feed_count(job); i < n && job->feeding; i++) {
    const char *url, *name = NULL;
    char buf[LF_NAME_MAX + 1];
    uintptr_t index = 0;
    int more = job->cfg->mode == LF_MODE_WORKER ? next_worker_page(job, &url, &name, &index)
                                                : next_page(job, &url, buf);
    if (!more) {
      end_feeding(job);
      break;
    }
    add_page(job, url, name ? name : buf, index);
  }
  /* Links in memory: their end is known now, not only at the next call. */
  if (job->feeding && !job->input && job->next_link == job->links.count) end_feeding(job);
  maybe_done(job);
}

static unsigned pick_concurrency(job_t *job, size_t known_count) {
  unsigned n = job->cfg->concurrency;
  if (n == 0) {
    size_t want = known_count ? known_count : LF_CLI_MAX_DEFAULT_IN_FLIGHT;
    n = want < LF_CLI_MAX_DEFAULT_IN_FLIGHT ? (unsigned)want : LF_CLI_MAX_DEFAULT_IN_FLIGHT;
  }
  if (n > job->fd_budget) {
    if (job->cfg->concurrency)
      fprintf(stderr, "loopfetch: -c %u exceeds the open-file limit; using %u\n", n,
              job->fd_budget);
    n = job->fd_budget;
  }
  return n;
}

/* ---- --procs: the parent hands pages to workers ---- */

static void on_worker_record(void *arg, const lf__record_t *rec) {
  job_t *job = arg;
  lf__report_record(&job->report, rec);
}

/* A worker ended before reporting this page: fetch it here, unless we are stopping. */
static void on_worker_orphan(void *arg, const char *url, const char *name, const char *why) {
  job_t *job = arg;
  if (job->signal) {
    record_failure(job, url, name, "interrupted", LF_REC_INTERRUPTED, 0);
    return;
  }
  (void)why;
  add_page(job, url, name, 0);
}

static void on_worker_usage(void *arg, long maxrss_kb, double cpu_s) {
  job_t *job = arg;
  job->report.children_maxrss_kb += maxrss_kb;
  job->report.children_cpu_s += cpu_s;
}

static void on_workers_done(void *arg) {
  job_t *job = arg;
  job->procs_running = 0;
  maybe_done(job);
}

/* The default concurrency lets each worker run its whole shard at once; shards differ in
 * size (the hash is not a round robin), so the largest one sets it. The default cap is for
 * the whole job, shared by the workers: N processes keep the single loop's total in flight,
 * and N times the connections and memory of one loop would buy nothing. */
static size_t largest_shard(const job_t *job, unsigned n) {
  size_t *count = calloc(n, sizeof(*count)), max = 0;
  if (!count) return (job->links.count + n - 1) / n;
  for (size_t i = 0; i < job->links.count; i++) {
    size_t c = ++count[lf__shard_of(job->links.urls[i], n)];
    max = c > max ? c : max;
  }
  free(count);
  return max;
}

static void start_procs(job_t *job) {
  lf__procs_cbs_t cbs = {job, on_worker_record, on_worker_orphan, on_workers_done, on_worker_usage};
  unsigned n = job->cfg->procs;
  size_t want = largest_shard(job, n), share = (LF_CLI_MAX_DEFAULT_IN_FLIGHT + n - 1) / n;
  job->concurrency = pick_concurrency(job, want < share ? want : share);
  int rc = lf__procs_start(&job->loop, job->cfg, n, job->concurrency, job->report.start_ns, &cbs,
                           &job->procs);
  if (rc < 0) {
    fatal(job, LF_EXIT_LOCAL, "cannot start worker processes: %s%s", lf_strerror(rc), "");
    return;
  }
  job->procs_running = 1;
  const char *url;
  char name[LF_NAME_MAX + 1];
  while (next_page(job, &url, name)) {
    if (lf__procs_add(job->procs, url, name) < 0)
      record_failure(job, url, name, "out of memory", LF_REC_FAILED, 0);
    else
      job->handed_to_workers++;
  }
  rc = lf__procs_end_input(job->procs);
  if (rc < 0) fatal(job, LF_EXIT_LOCAL, "cannot feed worker processes: %s%s", uv_strerror(rc), "");
}

/* ---- pages ---- */

/* Whether the folder holds nothing but "." and "..". On any doubt: no. */
static int folder_is_empty(int dirfd) {
  int fd = dup(dirfd); /* closedir() closes the descriptor it reads */
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0) close(fd);
    return 0;
  }
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

static int open_output(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  int rc = make_dirs(cfg->out_dir);
  if (rc == 0) {
    job->dirfd = open(cfg->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = job->dirfd < 0 ? -errno : 0;
  }
  if (rc < 0) {
    fatal(job, LF_EXIT_LOCAL, "cannot use output folder %s: %s", cfg->out_dir, strerror(-rc));
    return -1;
  }
  if (cfg->mode == LF_MODE_WORKER) return 0; /* the parent names, skips and keeps the manifest */
  job->fresh_folder = folder_is_empty(job->dirfd); /* before the manifest is created in it */
  char path[4096];
  const char *manifest = cfg->manifest;
  if (!manifest) {
    snprintf(path, sizeof(path), "%s/%s", cfg->out_dir, LF_MANIFEST_NAME);
    manifest = path;
  }
  if ((rc = lf__report_open_manifest(&job->report, manifest)) < 0) {
    fatal(job, LF_EXIT_LOCAL, "cannot write manifest %s: %s", manifest, strerror(-rc));
    return -1;
  }
  return 0;
}

static void on_progress_tick(uv_timer_t *timer) {
  job_t *job = timer->data;
  double now = lf__report_elapsed(&job->report);
  size_t in_flight = lf_fetcher_in_flight(&job->fetcher);
  if (job->procs_running) {
    size_t reported = job->report.saved + job->report.failed + job->report.interrupted;
    in_flight += job->handed_to_workers > reported ? job->handed_to_workers - reported : 0;
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
  lf_fetcher_set_max_in_flight(&job->fetcher, size); /* calls on_need: more pages start */
}

static size_t disk_backlog(lf__window_t *w) {
  job_t *job = w->data;
  return lf_fetcher_waiting_for_disk(&job->fetcher);
}

/* Without -c, a single loop starts with a moderate number in flight and widens up to what
 * pick_concurrency() chose while the servers, not the loop, are what it waits for. */
static int wants_window(const lf_cli_t *cfg) {
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

static void start_pages(job_t *job, size_t known_count) {
  if (open_output(job) < 0) return;
  start_progress(job);
  if (lf__names_new(&job->names) < 0) {
    fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->pages_started = 1;
  if (job->cfg->mode == LF_MODE_PROCS) {
    start_procs(job);
    return;
  }
  job->concurrency = pick_concurrency(job, known_count);
  open_window(job);
  job->feeding = 1;
  lf_fetcher_set_need_cb(&job->fetcher, on_need);
  lf_fetcher_set_max_in_flight(&job->fetcher, job->concurrency); /* calls on_need */
  maybe_done(job);
}

/* ---- the list page ---- */

static int is_html(const char *content_type) {
  /* No Content-Type: give the parser the benefit of the doubt. */
  return !content_type || strstr(content_type, "html") != NULL;
}

static void on_list(job_t *job, const lf_result_t *r) {
  const char *url = job->cfg->list_url;
  if (r->status != 0) {
    fatal(job, LF_EXIT_LIST, "list page %s: %s", url, r->error);
    return;
  }
  if (!is_html(r->content_type)) {
    fatal(job, LF_EXIT_LIST, "list page %s: not HTML (Content-Type: %s)", url, r->content_type);
    return;
  }
  char err[256];
  const char *base = r->effective_url ? r->effective_url : url; /* after redirects */
  int rc = lf_links_extract(r->body, r->body_len, base, job->cfg->selector, &job->links, err,
                            sizeof(err));
  give_back_memory(job); /* the pages start in a smaller heap */
  if (rc < 0) {
    fatal(job, rc == LF_ESELECTOR ? LF_EXIT_USAGE : LF_EXIT_LOCAL, "list page %s: %s", url, err);
    return;
  }
  if (job->links.count == 0) {
    fprintf(stderr,
            "loopfetch: list page %s: selector '%s' matched no http(s) links "
            "(%zu elements matched)\n",
            url, job->cfg->selector, job->links.matched);
    finish(job, LF_EXIT_NOTHING);
    return;
  }
  if (job->cfg->links_only) {
    for (size_t i = 0; i < job->links.count; i++)
      printf("%s\n", job->links.urls[i]);
    finish(job, LF_EXIT_OK);
    return;
  }
  start_pages(job, job->links.count);
}

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  job_t *job = f->data;
  if (r->data == &list_tag) {
    on_list(job, r);
    return;
  }
  job->outstanding--;
  if (!job->feeding && ++job->since_trim >= TRIM_EVERY &&
      uv_now(&job->loop) - job->trimmed_at >= TRIM_GAP_MS)
    give_back_memory(job); /* the finished pages' handles and buffers were just freed */
  lf__record_t rec;
  lf__record_from_result(&rec, r, job->signal != 0, job->clock_offset);
  rec.pid = job->pid;
  emit(job, &rec, (uintptr_t)r->data);
  maybe_done(job);
}

/* ---- signals: the first stops the job (in-flight pages are aborted and recorded as
 * interrupted), the second ends the process at once. ---- */

static void on_signal(uv_signal_t *h, int signum) {
  job_t *job = h->data;
  int code = signum == SIGINT ? LF_EXIT_SIGINT : LF_EXIT_SIGTERM;
  if (job->signal) {
    if (job->procs_running) lf__procs_stop(job->procs, 1);
    _exit(code);
  }
  job->signal = signum;
  stop_progress(job);
  if (job->cfg->mode != LF_MODE_WORKER && !job->cfg->quiet)
    fprintf(stderr, "loopfetch: %s: stopping (again to quit at once)\n",
            signum == SIGINT ? "interrupted" : "terminated");
  finish(job, code);
}

static int watch_signals(job_t *job) {
  uv_signal_t *hs[2] = {&job->sigint, &job->sigterm};
  int nums[2] = {SIGINT, SIGTERM};
  /* A worker stops only when its parent says so (SIGTERM): a Ctrl-C at the terminal reaches
   * the whole process group, and the parent decides for everyone. */
  if (job->cfg->mode == LF_MODE_WORKER && signal(SIGINT, SIG_IGN) == SIG_ERR) return -errno;
  for (int i = 0; i < 2; i++) {
    if (job->cfg->mode == LF_MODE_WORKER && nums[i] == SIGINT) continue;
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

static int open_input(job_t *job) {
  const char *path = job->cfg->mode == LF_MODE_WORKER ? "-" : job->cfg->input;
  if (!path) return 0;
  job->input = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!job->input) {
    fprintf(stderr, "loopfetch: cannot read %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Input lists are read whole for --procs (pages are dealt out at once) and streamed
 * otherwise, so that a single loop over a huge list needs memory for what is in flight. */
static int slurp_input(job_t *job) {
  size_t cap = 0;
  const char *url;
  while (next_url(job, &url)) {
    if (job->links.count == cap) {
      cap = cap ? cap * 2 : 1024;
      char **u = realloc(job->links.urls, cap * sizeof(*u));
      if (!u) return -1;
      job->links.urls = u;
    }
    if (!(job->links.urls[job->links.count] = strdup(url))) return -1;
    job->links.count++;
  }
  if (job->input != stdin) fclose(job->input);
  job->input = NULL;
  return 0;
}

static void start(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (cfg->mode == LF_MODE_WORKER || (cfg->input && cfg->mode != LF_MODE_PROCS)) {
    start_pages(job, 0);
    return;
  }
  if (cfg->input) {
    if (slurp_input(job) < 0)
      fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory reading the input", "");
    else
      start_pages(job, job->links.count);
    return;
  }
  lf_request_t req = {.url = cfg->list_url, .output = LF_OUTPUT_MEMORY, .data = &list_tag};
  int rc = lf_fetcher_add(&job->fetcher, &req);
  if (rc < 0) fatal(job, LF_EXIT_LOCAL, "list page %s: %s", cfg->list_url, lf_strerror(rc));
}

static int check_selector(const char *selector) {
  lf_links_t none;
  char err[256];
  int rc = lf_links_extract("", 0, "http://localhost/", selector, &none, err, sizeof(err));
  if (rc == LF_ESELECTOR) {
    fprintf(stderr, "loopfetch: --select '%s': %s\n", selector, err);
    return -1;
  }
  lf_links_free(&none);
  return 0;
}

static int exit_code(const job_t *job) {
  if (job->exit_code) return job->exit_code;
  const lf__report_t *r = &job->report;
  if (r->failed || r->interrupted) return LF_EXIT_FAILED;
  if (job->pages_started && r->saved + r->skipped == 0 && job->cfg->mode != LF_MODE_WORKER) {
    fprintf(stderr, "loopfetch: nothing to fetch in %s\n",
            job->cfg->input ? job->cfg->input : job->cfg->list_url);
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
  if (job->input && job->input != stdin) fclose(job->input);
  free(job->line);
  lf_links_free(&job->links);
  lf__names_free(job->names);
  curl_url_cleanup(job->url);
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
  /* Idle time for the in-flight window (window.h), measured only for a job that has one: it
   * costs two clock reads per loop turn. Without it the window stays fully open. */
  job->idle_metrics =
      wants_window(job->cfg) && uv_loop_configure(&job->loop, UV_METRICS_IDLE_TIME) == 0;
  lf_options_t opts = job->cfg->fetch;
  opts.out_dir = job->cfg->out_dir;
  if ((rc = watch_signals(job)) < 0)
    what = "watching signals";
  else if ((rc = lf_fetcher_init(&job->loop, &job->fetcher, &opts, on_result)) < 0)
    what = "setting up libcurl";
  if (rc < 0) {
    fprintf(stderr, "loopfetch: cannot start: %s: %s\n", what, lf_strerror(rc));
    job->exit_code = LF_EXIT_LOCAL;
    close_signals(job); /* uv_run below runs their close callbacks */
    return 0;
  }
  job->fetcher.data = job;
  job->clock_offset = lf__report_elapsed(&job->report) - lf_fetcher_now(&job->fetcher);
  return 1;
}

int lf__job_run(const lf_cli_t *cfg) {
  if (!cfg->input && cfg->mode != LF_MODE_WORKER && check_selector(cfg->selector) < 0)
    return LF_EXIT_USAGE;
  job_t *job = calloc(1, sizeof(*job));
  if (!job) return LF_EXIT_LOCAL;
  job->cfg = cfg;
  job->dirfd = -1;
  job->pid = (int)getpid();
  job->fd_budget = raise_fd_limit();
  int rc = lf__report_init(&job->report, cfg->quiet || cfg->mode == LF_MODE_WORKER);
  if (rc == 0 && (cfg->trace || cfg->waterfall) && cfg->mode != LF_MODE_WORKER)
    rc = lf__report_keep_trace(&job->report);
  if (cfg->mode == LF_MODE_WORKER && cfg->epoch_ns)
    job->report.start_ns = cfg->epoch_ns; /* one clock with the parent, for the trace */
  if (rc < 0 || open_input(job) < 0) {
    lf__report_free(&job->report);
    free(job);
    return rc < 0 ? LF_EXIT_LOCAL : LF_EXIT_LIST;
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
  if (cfg->mode == LF_MODE_WORKER)
    worker_usage_line();
  else if (job->pages_started && cfg->json)
    lf__report_json(&job->report, mode_name(job), cfg->mode == LF_MODE_PROCS ? cfg->procs : 1,
                    job->concurrency);
  if (job->pages_started && cfg->mode != LF_MODE_WORKER) lf__report_summary(&job->report);
  int code = exit_code(job);
  cleanup(job);
  free(job);
  return code;
}
