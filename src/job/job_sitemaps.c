/* --sitemap (job_sitemaps.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errmsg.h"
#include "frontier.h"
#include "hmap.h"
#include "job_end.h"
#include "job_robots.h"
#include "job_sitemaps.h"
#include "safe_text.h"
#include "sitemap.h"

/* One sitemap file being fetched. */
typedef struct {
  struct lf__job_sitemaps_s *owner;
  lf__sitemap_t *parser;
  int depth; /* 0: given with --sitemap */
  int failed;
  size_t too_deep; /* sitemaps it lists that are nested deeper than LF_SITEMAP_MAX_DEPTH */
  char url[];
} file_t;

typedef struct lf__job_sitemaps_s {
  job_t *job;
  lf__hmap_t files; /* file_t address -> 1: is a result's data ours? */
  lf__hmap_t seen;  /* hash of a sitemap URL: each fetched once */
  lf__hmap_t pages; /* hash of a page URL -> index + 1 in lastmods (first <lastmod> wins) */
  char **urls, **lastmods;
  size_t count, cap;
  size_t pending, fetched;
  int merged;         /* the pages went to job->links */
  int reading_input;  /* --sitemap robots with -i: the input is being read for its origins */
  size_t scanned;     /* job->links[0, scanned) had their origins asked */
  lf__hmap_t origins; /* hash of a URL's "scheme://authority" as written -> 1: asked already */
} sitemaps_t;

size_t lf__job_sitemaps_pending(const job_t *job) {
  return job->sitemaps ? job->sitemaps->pending : 0;
}

int lf__job_is_sitemap(const job_t *job, const void *data) {
  return job->sitemaps && lf__hmap_get(&job->sitemaps->files, (uint64_t)(uintptr_t)data) != NULL;
}

static int fetch(sitemaps_t *g, const char *url, int depth);

/* An entry of the file being parsed: a page, or (in an index) another sitemap. */
static int on_entry(void *arg, int index, const char *loc, const char *lastmod) {
  file_t *f = arg;
  sitemaps_t *g = f->owner;
  if (index) {
    if (f->depth + 1 > LF_SITEMAP_MAX_DEPTH) { /* reported once the file ends */
      f->too_deep++;
      return 0;
    }
    return fetch(g, loc, f->depth + 1) < 0 ? -1 : 0;
  }
  if (g->count == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 256;
    char **u = realloc(g->urls, cap * sizeof(*u)), **m;
    if (!u) return -1;
    g->urls = u;
    if (!(m = realloc(g->lastmods, cap * sizeof(*m)))) return -1;
    g->lastmods = m;
    g->cap = cap;
  }
  char *u = strdup(loc), *m = lastmod ? strdup(lastmod) : NULL;
  if (!u || (lastmod && !m)) {
    free(u);
    free(m);
    return -1;
  }
  int added;
  uint32_t *slot =
      lf__hmap_put(&g->pages, lf__hash64(loc, strlen(loc)), (uint32_t)g->count + 1, &added);
  if (!slot) {
    free(u);
    free(m);
    return -1;
  }
  g->urls[g->count] = u;
  g->lastmods[g->count] = m;
  g->count++;
  return 0;
}

static int fetch(sitemaps_t *g, const char *url, int depth) {
  job_t *job = g->job;
  int added;
  if (!lf__hmap_put(&g->seen, lf__hash64(url, strlen(url)), 1, &added)) return -1;
  if (!added) return 0; /* listed twice, or an index that lists itself */
  if (g->fetched >= LF_SITEMAP_MAX_FILES) {
    char *u = lf__display(url, 1);
    fprintf(stderr, "loopfetch: warning: sitemap %s not read: more than %d sitemaps\n", u ? u : "?",
            LF_SITEMAP_MAX_FILES);
    free(u);
    return 0;
  }
  file_t *f = calloc(1, sizeof(*f) + strlen(url) + 1);
  if (!f) return -1;
  strcpy(f->url, url);
  f->owner = g;
  f->depth = depth;
  if (!(f->parser = lf__sitemap_new(on_entry, f)) ||
      !lf__hmap_put(&g->files, (uint64_t)(uintptr_t)f, 1, &added)) {
    lf__sitemap_free(f->parser);
    free(f);
    return -1;
  }
  lf_request_t req = {.url = url, .output = LF_OUTPUT_CALLBACK, .data = f};
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LIST, "sitemap %s: %s", url, lf_strerror(rc));
    return 0;
  }
  g->pending++;
  g->fetched++;
  return 0;
}

/* The Sitemap lines of an origin's robots.txt (--sitemap robots): fetched as if given. */
static void on_robots_sitemaps(job_t *job, const char *origin, const char *const *urls, size_t n) {
  sitemaps_t *g = job->sitemaps;
  g->pending--; /* the robots.txt, counted while it was on its way */
  if (job->exit_code || job->signal) return;
  if (n == 0 && !job->cfg->quiet) {
    char *o = lf__display(origin, 1);
    fprintf(stderr, "loopfetch: warning: --sitemap robots: %s/robots.txt lists no sitemap\n",
            o ? o : "?");
    free(o);
  }
  for (size_t i = 0; i < n && !job->exit_code; i++)
    if (fetch(g, urls[i], 0) < 0) lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
  if (g->pending == 0 && !job->exit_code) job->sitemaps_all_in(job);
}

/* --sitemap robots: asks url's origin for its robots.txt's sitemaps (once per origin: the
 * robots gate keeps one entry per origin, so a million -i URLs on ten sites ask ten times). */
static void want_origin(job_t *job, const char *url) {
  sitemaps_t *g = job->sitemaps;
  g->pending++; /* until its robots.txt is in (on_robots_sitemaps) */
  int rc = lf__job_robots_want_sitemaps(job, url);
  if (rc <= 0) g->pending--;
  if (rc < 0) lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
}

/* -i's URL: its origin asked once. The text up to the path is hashed into a set of 8-byte
 * keys first, so that a million URLs on a few sites cost a million hashes, not a million URL
 * parses; two ways of writing one origin (a case, a default port) meet in the robots gate's
 * table, which compares origins as libcurl splits them. */
static void want_input_origin(job_t *job, const char *url) {
  sitemaps_t *g = job->sitemaps;
  const char *sep = strstr(url, "://");
  size_t n = sep ? (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#") : strlen(url);
  int added;
  if (!lf__hmap_put(&g->origins, lf__hash64(url, n), 1, &added)) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  if (added) want_origin(job, url);
}

int lf__job_sitemaps_reading_input(const job_t *job) {
  return job->sitemaps && job->sitemaps->reading_input;
}

void lf__job_sitemaps_read_input(job_t *job) {
  sitemaps_t *g = job->sitemaps;
  int rc = lf__frontier_slurp(job); /* the lines so far, checked and without repeats */
  for (; g->scanned < job->links.count && !job->exit_code && !job->signal; g->scanned++)
    want_input_origin(job, job->links.urls[g->scanned]);
  if (rc != 1 || job->exit_code || job->signal) return; /* more to come, or ending */
  /* All read: the URLs wait aside until -i's URLs join the job (lf__frontier_slurp) */
  job->held_input = job->links;
  memset(&job->links, 0, sizeof(job->links));
  job->links_cap = 0;
  job->input_held = 1;
  g->reading_input = 0;
  g->pending--; /* the input, counted while it was read */
  if (g->pending == 0) job->sitemaps_all_in(job);
}

void lf__job_start_sitemaps(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  sitemaps_t *g = calloc(1, sizeof(*g));
  if (!g) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  g->job = job;
  job->sitemaps = g;
  job->robots_sitemaps = on_robots_sitemaps;
  for (size_t i = 0; i < cfg->sitemap_count && !job->exit_code; i++) {
    if (strcmp(cfg->sitemaps[i], "robots") != 0) {
      if (fetch(g, cfg->sitemaps[i], 0) < 0)
        lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      continue;
    }
    /* the sitemaps of each LIST_URL's origin, from its robots.txt */
    for (size_t k = 0; k < cfg->list_count && !job->exit_code; k++)
      want_origin(job, cfg->list_urls[k]);
    if (job->input && !g->reading_input) { /* and of each -i URL's, as the input is read */
      g->reading_input = 1;
      g->pending++; /* until the input is read whole */
      job->slurping = 1;
    }
  }
  if (g->reading_input && !job->exit_code) {
    lf__job_sitemaps_read_input(job);
    return;
  }
  /* nothing was asked for (every sitemap listed twice, say): go on at once */
  if (g->pending == 0 && !job->exit_code) job->sitemaps_all_in(job);
}

int lf__job_sitemap_body(job_t *job, lf_stream_t *s, const char *chunk, size_t len) {
  (void)job;
  file_t *f = lf_stream_get_data(s);
  if (f->failed) return LF_EINVAL;
  if (lf__sitemap_feed(f->parser, chunk, len) < 0) {
    f->failed = 1;
    return LF_EINVAL; /* nothing more of it is read; the result says why */
  }
  return LF_STREAM_CONTINUE;
}

static void free_file(sitemaps_t *g, file_t *f) {
  (void)g;
  lf__sitemap_free(f->parser);
  f->parser = NULL;
}

int lf__job_on_sitemap(job_t *job, const lf_result_t *r) {
  sitemaps_t *g = job->sitemaps;
  file_t *f = r->data;
  g->pending--;
  if (job->exit_code || job->signal) {
    free_file(g, f);
    return 0;
  }
  int rc = f->failed ? -1 : r->status == 0 ? lf__sitemap_end(f->parser) : 0;
  if (rc < 0) { /* malformed: one line naming the file and the place; nothing of it fetched */
    lf__job_fatal(job, LF_EXIT_LIST, "sitemap %s: %s (not a valid sitemap; nothing fetched)",
                  f->url, lf__sitemap_error(f->parser));
    free_file(g, f);
    return 0;
  }
  if (r->status != 0) {
    char why[300];
    snprintf(why, sizeof(why), "%s (%d attempt%s)", r->error ? r->error : "failed", r->attempts,
             r->attempts == 1 ? "" : "s");
    lf__job_fatal(job, LF_EXIT_LIST, "sitemap %s: %s", f->url, why);
    free_file(g, f);
    return 0;
  }
  if (f->too_deep && !job->cfg->quiet) {
    char *u = lf__display(f->url, 1);
    fprintf(stderr,
            "loopfetch: warning: sitemap %s: %zu sitemaps it lists not read: indexes "
            "nested deeper than %d\n",
            u ? u : "?", f->too_deep, LF_SITEMAP_MAX_DEPTH);
    free(u);
  }
  if (lf__sitemap_dropped(f->parser) && !job->cfg->quiet) {
    char *u = lf__display(f->url, 1);
    fprintf(stderr,
            "loopfetch: warning: sitemap %s: %zu entries beyond the protocol's %d not read\n",
            u ? u : "?", lf__sitemap_dropped(f->parser), LF_SITEMAP_MAX_URLS);
    free(u);
  }
  free_file(g, f);
  return g->pending == 0 && !job->exit_code;
}

int lf__job_sitemaps_merge_into(job_t *job, lf_links_t *l) {
  sitemaps_t *g = job->sitemaps;
  if (!g || g->count == 0 || g->merged) return 0;
  char **u = realloc(l->urls, (l->count + g->count) * sizeof(*u));
  if (!u) return -1;
  l->urls = u;
  for (size_t i = 0; i < g->count; i++) {
    l->urls[l->count++] = g->urls[i];
    g->urls[i] = NULL; /* the links own it now; lastmods stay here, looked up by hash */
  }
  g->merged = 1;
  return 0;
}

int lf__job_sitemaps_merge(job_t *job) {
  if (lf__job_sitemaps_merge_into(job, &job->links) < 0) return -1;
  if (job->links.count > job->links_cap) job->links_cap = job->links.count;
  return 0;
}

int lf__job_sitemaps_start_level(const job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  return job->sitemaps && cfg->level_count > 1 && (cfg->field_count || !cfg->list_count);
}

const char *lf__job_sitemap_lastmod(const job_t *job, const char *url) {
  const sitemaps_t *g = job->sitemaps;
  if (!g || !url) return NULL;
  uint32_t *v = lf__hmap_get(&g->pages, lf__hash64(url, strlen(url)));
  return v ? g->lastmods[*v - 1] : NULL;
}

static void free_file_entry(void *arg, uint64_t key, uint32_t *val) {
  (void)arg, (void)val;
  file_t *f = (file_t *)(uintptr_t)key;
  lf__sitemap_free(f->parser);
  free(f);
}

void lf__job_sitemaps_free(job_t *job) {
  sitemaps_t *g = job->sitemaps;
  if (!g) return;
  for (size_t i = 0; i < g->count; i++) {
    free(g->urls[i]);
    free(g->lastmods[i]);
  }
  free(g->urls);
  free(g->lastmods);
  /* the file_t are keys of `files`: free each (their parsers are gone already, or go now) */
  lf__hmap_each(&g->files, free_file_entry, NULL);
  lf__hmap_free(&g->files);
  lf__hmap_free(&g->seen);
  lf__hmap_free(&g->pages);
  lf__hmap_free(&g->origins);
  free(g);
  job->sitemaps = NULL;
}
