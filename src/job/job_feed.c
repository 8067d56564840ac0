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
static int saved_as(job_t *job, const char *url, const char *name, uint64_t *bytes) {
  uint64_t recorded, size;
  if (!lf__manifest_lookup(&job->manifest, url, name, &recorded)) return 0;
  if (!lf__layout_size(job->dirfd, name, &size) ||
      (uint32_t)size != (uint32_t)recorded) /* the index keeps 32 bits (manifest.h) */
    return 0;
  *bytes = size;
  return 1;
}

static int regular_file(job_t *job, const char *name) {
  uint64_t size;
  return lf__layout_size(job->dirfd, name, &size); /* no symlink followed (layout.c) */
}

/* The page is saved under its reserved name or, if its reply was not HTML, under that name
 * without ".html" (lf__name_for_reply): *found says which. --refresh asks the server instead. */
static int already_saved(job_t *job, const char *url, const char *name, uint64_t *bytes,
                         char *found) {
  char other[LF_PATH_MAX + 1];
  if (job->cfg->force || job->cfg->refresh || job->manifest.count == 0) return 0;
  if (saved_as(job, url, name, bytes)) {
    memcpy(found, name, strlen(name) + 1);
    return 1;
  }
  if (lf__name_for_reply(url, name, 0, other, sizeof(other)) < 0 || strcmp(other, name) == 0 ||
      !saved_as(job, url, other, bytes))
    return 0;
  memcpy(found, other, strlen(other) + 1);
  return 1;
}

static int is_html(const char *content_type) {
  return content_type && strstr(content_type, "html") != NULL;
}

/* --content-disposition: the server's name, if no other page of the job has it. It is claimed
 * in the name set in its reserved form (with ".html"), like a URL's name, so that it can
 * collide neither with a name given out already nor with one given out later. */
static int claim_disposition(job_t *job, const char *header, char *out) {
  char name[LF_NAME_MAX + 1], want[LF_NAME_MAX + 1], got[LF_NAME_MAX + 1];
  if (lf__name_from_disposition(header, name, sizeof(name)) < 0) return -1;
  size_t len = strlen(name); /* at most 240: the sanitizer leaves room for ".html" */
  int has_html = len > 5 && strcmp(name + len - 5, ".html") == 0;
  memcpy(want, name, len + 1);
  if (!has_html) memcpy(want + len, ".html", 6);
  if (lf__names_unique(job->names, want, got, sizeof(got)) < 0 || strcmp(got, want) != 0) return -1;
  memcpy(out, name, len + 1);
  return 0;
}

/* The fetcher asks once a page's reply is in: names follow the content (names.h). */
void lf__job_on_name(lf_fetcher_t *f, const lf_result_t *r, char *name) {
  job_t *job = lf_fetcher_get_data(f);
  char out[LF_FILE_NAME_MAX + 1];
  /* A server's name replaces a plain name; a --layout path keeps its folders (layout.h). */
  if (job->cfg->content_disposition && r->content_disposition && !strchr(name, '/') &&
      claim_disposition(job, r->content_disposition, out) == 0) {
    memcpy(name, out, strlen(out) + 1);
    return;
  }
  if (lf__name_for_reply(r->url, name, is_html(r->content_type), out, sizeof(out)) == 0)
    memcpy(name, out, strlen(out) + 1);
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
    char found[LF_PATH_MAX + 1];
    if (already_saved(job, u, name, &bytes, found)) {
      lf__job_record_skipped(job, u, found, bytes); /* with the size: the next run checks it */
      continue;
    }
    *url = u;
    return 1;
  }
  return 0;
}

/* Workers read "INDEX\tURL\tNAME[\tETAG\tLAST_MODIFIED]" lines: the parent has named and
 * filtered already, and with --refresh passes the validators the manifest had. */
static int next_worker_page(job_t *job, const char **url, const char **name, uintptr_t *index,
                            const char *validators[2]) {
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
    *name = tab2 + 1;
    char *tab3 = strchr(tab2 + 1, '\t'), *tab4 = tab3 ? strchr(tab3 + 1, '\t') : NULL;
    validators[0] = validators[1] = NULL;
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

/* A validator that can travel in a header line and a worker's tab-separated line. */
static int usable(const char *v) {
  return v && *v && strlen(v) < 900 && !strpbrk(v, "\t\r\n");
}

/* The validators of a page the folder still holds under the name the manifest gives. */
static const lf__refresh_entry_t *refreshable(job_t *job, const char *url) {
  const lf__refresh_entry_t *e = job->refresh ? lf__refresh_find(job->refresh, url) : NULL;
  return e && !job->cfg->force && regular_file(job, e->file) ? e : NULL;
}

/* --refresh: ask the server only for a newer version (wget -N, curl -z and --etag-compare).
 * Returns the number of headers written to h. */
static int conditional_headers(const char *etag, const char *last_modified, char buf[2][1024],
                               const char *h[3]) {
  int n = 0;
  if (usable(etag)) {
    snprintf(buf[n], sizeof(buf[n]), "If-None-Match: %s", etag);
    h[n] = buf[n];
    n++;
  }
  if (usable(last_modified)) {
    snprintf(buf[n], sizeof(buf[n]), "If-Modified-Since: %s", last_modified);
    h[n] = buf[n];
    n++;
  }
  h[n] = NULL;
  return n;
}

void lf__job_validators(job_t *job, const char *url, char *extra, size_t len) {
  const lf__refresh_entry_t *e = refreshable(job, url);
  extra[0] = '\0';
  if (e && (usable(e->etag) || usable(e->last_modified)))
    snprintf(extra, len, "\t%s\t%s", usable(e->etag) ? e->etag : "",
             usable(e->last_modified) ? e->last_modified : "");
}

/* A 304 keeps the file the manifest named, and the validators unless new ones came. */
void lf__job_refresh_record(job_t *job, lf__record_t *rec) {
  const lf__refresh_entry_t *e = job->refresh ? lf__refresh_find(job->refresh, rec->url) : NULL;
  if (rec->status != LF_REC_UNCHANGED || !e) return;
  rec->file = e->file;
  if (!rec->etag) rec->etag = e->etag;
  if (!rec->last_modified) rec->last_modified = e->last_modified;
}

static void add_page(job_t *job, const char *url, const char *name, uintptr_t index,
                     const char *const validators[2]) {
  char buf[2][1024];
  const char *headers[3];
  lf_request_t req = {.url = url, .output = LF_OUTPUT_FILE, .file = name, .data = (void *)index};
  if (validators && conditional_headers(validators[0], validators[1], buf, headers) > 0)
    req.headers = headers;
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc < 0) {
    lf__job_record_failure(job, url, name, lf_strerror(rc), LF_REC_FAILED, index);
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot save into %s: %s", job->cfg->out_dir,
                  lf_strerror(rc));
    return;
  }
  job->outstanding++;
}

void lf__job_add_page(job_t *job, const char *url, const char *name, uintptr_t index) {
  const lf__refresh_entry_t *e = refreshable(job, url);
  const char *const validators[2] = {e ? e->etag : NULL, e ? e->last_modified : NULL};
  add_page(job, url, name, index, e ? validators : NULL);
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
    const char *url, *name = NULL, *validators[2];
    char buf[LF_PATH_MAX + 1];
    uintptr_t index = 0;
    int more = job->cfg->mode == LF_MODE_WORKER
                   ? next_worker_page(job, &url, &name, &index, validators)
                   : lf__job_next_page(job, &url, buf);
    if (!more) {
      if (!job->input_waiting) end_feeding(job); /* else on_input_ready calls again */
      break;
    }
    if (name)
      add_page(job, url, name, index, validators);
    else
      lf__job_add_page(job, url, buf, index);
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
