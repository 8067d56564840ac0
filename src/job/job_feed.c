/* Feeding the fetcher (job_feed.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "job_end.h"
#include "job_feed.h"
#include "job_naming.h"
#include "job_record.h"
#include "job_robots.h"

void lf__job_note_worker_parent(job_t *job, const char *url, const char *parent) {
  if (job->worker_parents_len == job->worker_parents_cap) {
    size_t cap = job->worker_parents_cap ? job->worker_parents_cap * 2 : 64;
    char **p = realloc(job->worker_parents, cap * sizeof(*p));
    if (!p) return; /* the record says parent null: out of memory is not worth the page */
    job->worker_parents = p;
    job->worker_parents_cap = cap;
  }
  char *kept = strdup(parent), *u = (char *)url;
  if (!kept) return;
  job->worker_parents[job->worker_parents_len++] = kept;
  (void)lf__xpages_note_parent(job->xpages, kept, &u, 1);
}

/* "HOST\tINTERVAL\tHOLD" (procs.h): the host's first start waits HOLD seconds from now (the
 * parent may have just asked it for something), the next ones its INTERVAL (or --wait). */
static void worker_pace(job_t *job, char *line) {
  char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
  if (!tab2) return;
  *tab1 = '\0';
  double interval = strtod(tab1 + 1, NULL), hold = strtod(tab2 + 1, NULL);
  /* the fetcher holds a host for its interval from now: first the hold, then the interval */
  int rc = lf_fetcher_set_host_pace(job->fetcher, line, hold > interval ? hold : interval);
  if (rc == 0) rc = lf_fetcher_set_host_pace(job->fetcher, line, interval);
  if (rc < 0) fprintf(stderr, "loopfetch: worker: cannot pace %s: %s\n", line, lf_strerror(rc));
}

/* Workers read "INDEX\tURL\tNAME[\tETAG\tLAST_MODIFIED\tWARC_DATE\tPARENT[\tLEVEL]]" lines: the
 * parent has named and filtered already, and with --refresh passes the validators the manifest
 * had. LEVEL: a navigation page of that level, to parse for the next level's links (NAME is
 * its file with --save-all, else empty). */
static int next_worker_page(job_t *job, const char **url, const char **name, uintptr_t *index,
                            const char *validators[3]) {
  char *line;
  size_t len;
  int rc;
  job->input_waiting = 0;
  while ((rc = lf__lines_next(job->input, &line, &len)) > 0) {
    if (strncmp(line, "P\t", 2) == 0) { /* a paced host's pace, before its first page */
      worker_pace(job, line + 2);
      continue;
    }
    char *tab1 = strchr(line, '\t');
    char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2) continue;
    *tab1 = *tab2 = '\0';
    *index = (uintptr_t)strtoul(line, NULL, 10);
    *url = tab1 + 1;
    *name = tab2 + 1;
    char *tab3 = strchr(tab2 + 1, '\t'), *tab4 = tab3 ? strchr(tab3 + 1, '\t') : NULL;
    char *tab5 = tab4 ? strchr(tab4 + 1, '\t') : NULL; /* the WARC date (--warc-file) */
    char *tab6 = tab5 ? strchr(tab5 + 1, '\t') : NULL; /* -e: the page's parent */
    char *tab7 = tab6 ? strchr(tab6 + 1, '\t') : NULL; /* a navigation page's level */
    validators[0] = validators[1] = validators[2] = NULL;
    if (tab7) {
      *tab7 = '\0';
      unsigned long level = strtoul(tab7 + 1, NULL, 10);
      if (level + 1 >= job->cfg->level_count || *index >= LF_NAV_INDEX(~(uintptr_t)0))
        continue; /* not a level this worker was told of */
      *index |= LF_NAV_BIT | ((uintptr_t)level << LF_NAV_LEVEL_SHIFT);
    }
    if (tab6) {
      *tab6 = '\0';
      if (tab6[1] && job->xpages) lf__job_note_worker_parent(job, *url, tab6 + 1);
    }
    if (tab5) {
      *tab5 = '\0';
      validators[2] = tab5[1] ? tab5 + 1 : NULL;
    }
    if (tab4) {
      *tab3 = *tab4 = '\0';
      validators[0] = tab3[1] ? tab3 + 1 : NULL;
      validators[1] = tab4[1] ? tab4 + 1 : NULL;
    }
    return 1;
  }
  job->input_waiting = rc == 0;
  return 0;
}

static void add_page(job_t *job, const char *url, const char *name, uintptr_t index,
                     const char *const validators[3]) {
  char buf[2][1024];
  const char *headers[3];
  lf_request_t req = {.url = url, .output = LF_OUTPUT_FILE, .file = name, .data = (void *)index};
  if (job->cfg->resume && !(index & LF_NAV_BIT)) req.flags |= LF_REQUEST_CONTINUE; /* -C */
  if ((index & LF_NAV_BIT) ? !*name : !lf__xpages_keep(job->cfg)) {
    /* -e without --save: parsed in memory, not kept; so is a navigation page without
     * --save-all */
    req.output = LF_OUTPUT_MEMORY;
    req.file = NULL;
  }
  /* A new file replaces nothing, not even one that comes while it downloads: another shard's
   * page under the same --content-disposition name (issue 28, item 5), a file not ours (issue
   * 25). The library then saves it as NAME~2.EXT and the record says so. A name on disk is
   * replaced as asked (this URL's own page fetched again, --force). */
  if (req.output == LF_OUTPUT_FILE && lf__job_name_fresh(job, url, name))
    req.flags |= LF_REQUEST_NO_REPLACE;
  if (validators && lf__job_conditional_headers(validators[0], validators[1], buf, headers) > 0) {
    req.headers = headers;
    req.warc_refers_to_date = validators[2]; /* what a 304's revisit record refers to */
  }
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc == LF_EURL || rc == LF_ESCHEME) { /* this URL alone: the library refused it at once */
    lf__job_record_failure(job, url, name, lf_strerror(rc), LF_REC_FAILED, index);
    return;
  }
  if (rc < 0) {
    lf__job_record_failure(job, url, name, lf_strerror(rc), LF_REC_FAILED, index);
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot save into %s: %s", job->cfg->out_dir,
                  lf_strerror(rc));
    return;
  }
  job->outstanding++;
}

void lf__job_add_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  const lf__refresh_entry_t *e = lf__job_refreshable(job, url);
  const char *const validators[3] = {e ? e->etag : NULL, e ? e->last_modified : NULL,
                                     e ? e->warc_date : NULL};
  add_page(job, url, name, index, e ? validators : NULL);
}

/* No more pages: the fetcher is told too (no need callback), so finished transfers free their
 * easy handles and the last ones do not keep their connections for nobody. */
void lf__job_end_feeding(job_t *job) {
  job->feeding = 0;
  /* -i read to its end: the job's size is known now, so the progress line gets its total, %
   * and ETA (what is done, and what is in the fetcher). */
  if (job->progress_on && job->input && !job->progress.total)
    job->progress.total = job->progress.done + job->outstanding;
  lf__window_stop(&job->window); /* nothing more to start */
  lf_fetcher_set_need_cb(job->fetcher, NULL);
}

/* Every free slot at once: a list that fits is handed over in one call, which also tells the
 * fetcher, before any of them starts, that nothing more comes. */
static size_t feed_count(const job_t *job) {
  size_t busy = lf_fetcher_in_flight(job->fetcher);
  size_t free_slots = job->concurrency > busy ? job->concurrency - busy : 0;
  return free_slots > FEED_BATCH ? free_slots : FEED_BATCH;
}

/* A page robots.txt held back, now allowed. */
static void release_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  if (url) lf__job_add_page(job, url, name, index);
}

/* The page the frontier just gave came from a page the job fetched (not from the user). */
static int discovered(const job_t *job) {
  return !job->input && job->next_link > 0 && job->next_link - 1 < job->discovered;
}

void lf__job_on_need(lf_fetcher_t *f) {
  job_t *job = lf_fetcher_get_data(f);
  for (size_t added = 0, n = feed_count(job); added < n && job->feeding;) {
    const char *url, *name = NULL, *validators[3];
    char buf[LF_PATH_MAX + 1];
    uintptr_t index = 0;
    int more = job->cfg->mode == LF_MODE_WORKER
                   ? next_worker_page(job, &url, &name, &index, validators)
                   : lf__job_next_page(job, &url, buf);
    if (!more) {
      if (!job->input_waiting && !lf__job_may_grow(job))
        lf__job_end_feeding(job); /* else on_input_ready (or a page's --next) calls again */
      break;
    }
    if (name) {
      add_page(job, url, name, index, validators);
    } else if (discovered(job) && !lf__job_robots_gate(job, url, buf, index)) {
      continue; /* held back or disallowed: a slot is still free */
    } else {
      lf__job_add_page(job, url, buf, index);
    }
    added++;
  }
  /* Links in memory: their end is known now, not only at the next call. */
  if (job->feeding && !job->input && job->next_link == job->links.count && !lf__job_may_grow(job))
    lf__job_end_feeding(job);
  lf__job_maybe_done(job);
}

int lf__job_may_grow(const job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  return cfg->mode != LF_MODE_WORKER && cfg->levels[cfg->level_count - 1].next &&
         job->outstanding > 0;
}

unsigned lf__job_pick_concurrency(job_t *job, size_t known_count) {
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

/* A single loop (or a worker): the fetcher asks for pages as slots free up (lf__job_on_need). */
void lf__job_start_feeding(job_t *job, size_t known_count) {
  job->concurrency = lf__job_pick_concurrency(job, known_count);
  job->robots_release = release_page;
  open_window(job);
  job->feeding = 1;
  lf_fetcher_set_need_cb(job->fetcher, lf__job_on_need);
  lf_fetcher_set_max_in_flight(job->fetcher, job->concurrency); /* calls lf__job_on_need */
  lf__job_maybe_done(job);
}
