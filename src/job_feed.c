/* Which pages a job fetches: input lines or links, named in order, filtered by shard and by
 * what a previous run saved, and fed to the fetcher as slots free up. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include "job.h"
#include "layout.h"
#include "shard.h"

/* URLs handed to the fetcher per need callback, at least: the free slots are filled at once
 * (see feed_count), so the queue (and memory) stays small. */
#define FEED_BATCH 64

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
int lf__job_next_url(job_t *job, const char **url) {
  if (!job->input) {
    while (job->next_link < job->links.count) {
      const char *u = job->links.urls[job->next_link++];
      const char *why = parse_url(job, u); /* resolved by libcurl already: fails only on ENOMEM */
      if (!why) {
        *url = u;
        return 1;
      }
      lf__job_record_failure(job, u, NULL, why, LF_REC_FAILED, 0);
    }
    return 0;
  }
  job->input_waiting = 0;
  for (;;) {
    char *line;
    size_t len;
    int rc = lf__lines_next(job->input, &line, &len);
    if (rc == 0) job->input_waiting = 1; /* lines.h calls on_input_ready when more come */
    if (rc < 0 && job->input->err)
      lf__job_fatal(job, LF_EXIT_LIST, "cannot read %s: %s",
                    job->cfg->input ? job->cfg->input : "-", uv_strerror(job->input->err));
    if (rc <= 0) return 0;
    /* A NUL would cut the line short: the shorter URL is not what the user asked for. */
    int nul = memchr(line, '\0', len) != NULL;
    char *u = trim(line);
    if (!nul && (!*u || *u == '#')) continue;
    const char *why = nul ? "the input line holds a NUL byte" : parse_url(job, u);
    if (!why) {
      *url = u;
      return 1;
    }
    lf__job_record_failure(job, u, NULL, why, LF_REC_FAILED, 0);
  }
}

/* Whether a previous run saved this URL's page under this name (a --layout path) and the file
 * is still what it recorded: a manifest in the folder says so (manifest.h), and the file has
 * that size. A name alone proves nothing: another URL may have been saved under it, or the
 * file may be anything. No symlink is followed on the way (layout.c). *bytes: its size. */
static int already_saved(job_t *job, const char *url, const char *name, uint64_t *bytes) {
  uint64_t recorded, size;
  if (job->cfg->force || !lf__manifest_lookup(&job->manifest, url, name, &recorded)) return 0;
  if (!lf__layout_size(job->dirfd, name, &size) ||
      (uint32_t)size != (uint32_t)recorded) /* the index keeps 32 bits (manifest.h) */
    return 0;
  *bytes = size;
  return 1;
}

/* The next page to fetch, named, and placed by --layout (name: LF_PATH_MAX + 1 bytes). Names
 * are given to every URL in input order, before the shard filter, so every mode and every shard
 * names a page the same. 1: a page; 0: the end. */
int lf__job_next_page(job_t *job, const char **url, char *name) {
  const lf_cli_t *cfg = job->cfg;
  const char *u;
  while (lf__job_next_url(job, &u)) {
    char derived[LF_NAME_MAX + 1];
    int rc = lf__name_from_curlu(job->url, derived, sizeof(derived));
    if (rc == 0) rc = lf__names_unique(job->names, derived, derived, sizeof(derived));
    if (rc == 0) rc = lf__layout_path(cfg->layout, job->url, derived, name);
    if (rc < 0) {
      lf__job_record_failure(job, u, NULL, lf_strerror(rc), LF_REC_FAILED, 0);
      continue;
    }
    if (cfg->shard_n && lf__shard_of(u, cfg->shard_n) != cfg->shard_k - 1) continue;
    uint64_t bytes;
    if (already_saved(job, u, name, &bytes)) {
      lf__job_record_skipped(job, u, name, bytes); /* with the size: the next run checks it */
      continue;
    }
    *url = u;
    return 1;
  }
  return 0;
}

/* Workers read "INDEX\tURL\tNAME" lines: the parent has named and filtered already. */
static int next_worker_page(job_t *job, const char **url, const char **name, uintptr_t *index) {
  char *line;
  size_t len;
  int rc;
  job->input_waiting = 0;
  while ((rc = lf__lines_next(job->input, &line, &len)) > 0) {
    char *tab1 = strchr(line, '\t');
    char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2) continue;
    *tab1 = *tab2 = '\0';
    *index = (uintptr_t)strtoul(line, NULL, 10);
    *url = tab1 + 1;
    *name = trim(tab2 + 1);
    return 1;
  }
  job->input_waiting = rc == 0;
  return 0;
}

void lf__job_add_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  lf_request_t req = {.url = url, .output = LF_OUTPUT_FILE, .file = name, .data = (void *)index};
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc < 0) {
    lf__job_record_failure(job, url, name, lf_strerror(rc), LF_REC_FAILED, index);
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot save into %s: %s", job->cfg->out_dir,
                  lf_strerror(rc));
    return;
  }
  job->outstanding++;
}

/* No more pages: the fetcher is told too (no need callback), so finished transfers free their
 * easy handles and the last ones do not keep their connections for nobody. */
static void end_feeding(job_t *job) {
  job->feeding = 0;
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

void lf__job_on_need(lf_fetcher_t *f) {
  job_t *job = lf_fetcher_get_data(f);
  for (size_t i = 0, n = feed_count(job); i < n && job->feeding; i++) {
    const char *url, *name = NULL;
    char buf[LF_PATH_MAX + 1];
    uintptr_t index = 0;
    int more = job->cfg->mode == LF_MODE_WORKER ? next_worker_page(job, &url, &name, &index)
                                                : lf__job_next_page(job, &url, buf);
    if (!more) {
      if (!job->input_waiting) end_feeding(job); /* else on_input_ready calls again */
      break;
    }
    lf__job_add_page(job, url, name ? name : buf, index);
  }
  /* Links in memory: their end is known now, not only at the next call. */
  if (job->feeding && !job->input && job->next_link == job->links.count) end_feeding(job);
  lf__job_maybe_done(job);
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
