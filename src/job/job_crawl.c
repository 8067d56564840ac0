/* The levels of a crawl (job_crawl.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errmsg.h"
#include "frontier.h"
#include "hint.h"
#include "hmap.h"
#include "job_crawl.h"
#include "job_parse.h"
#include "job_end.h"
#include "job_feed.h"
#include "job_pages.h"
#include "job_procs.h"
#include "job_record.h"
#include "job_robots.h"
#include "job_sitemaps.h"
#include "layout.h"
#include "navkeep.h"
#include "safe_text.h"
#include "shard.h"

#define NAV_BIT LF_NAV_BIT /* job.h */

typedef struct {
  char *url;
  char *file;         /* --save-all: its name in the folder; NULL: fetched into memory */
  uint32_t root, seq; /* order in the level: the first page of its --next chain, and its place
                         in that chain */
  lf_links_t links;   /* what the next level's -f selected on it, until the level is merged */
  lf_links_t next;    /* --next's candidates on it, until its record (kept for reruns) */
  int next_done;      /* -p: one of them was taken (or none can be) */
} nav_page_t;

struct lf__crawl_s {
  size_t level; /* the navigation level being fetched */
  nav_page_t *pages;
  size_t count, cap;
  size_t pending;    /* added, result not seen */
  size_t next_taken; /* pages this level took through --next (--max-pages) */
  size_t matched;    /* elements the last merged level's selector matched */
  char **parents;    /* -e: the last navigation level's URLs, which the records name */
  size_t parents_len, parents_cap;
  size_t *replay; /* pages of the level whose links a run before kept (navkeep.h), to read */
  size_t replay_len, replay_head, replay_cap;
  int busy;        /* inside an entry point: kept pages are read once it returns (release) */
  size_t replayed; /* navigation pages read back instead of fetched */
  int keep_warned;
};

/* Keeps url (taken over) as long as the job, for the records' "parent". NULL: out of memory
 * (url freed). */
static const char *keep_parent(lf__crawl_t *c, char *url) {
  if (c->parents_len == c->parents_cap) {
    size_t cap = c->parents_cap ? c->parents_cap * 2 : 16;
    char **p = realloc(c->parents, cap * sizeof(*p));
    if (!p) {
      free(url);
      return NULL;
    }
    c->parents = p;
    c->parents_cap = cap;
  }
  return c->parents[c->parents_len++] = url;
}

/* -e: the records of these pages (taken from parent, which is taken over) name it. */
static int note_parent(job_t *job, char *parent, char *const *urls, size_t n) {
  const char *kept = keep_parent(job->crawl, parent);
  if (!kept || lf__xpages_note_parent(job->xpages, kept, urls, n) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return -1;
  }
  return 0;
}

int lf__job_is_nav(const void *data) {
  return ((uintptr_t)data & NAV_BIT) != 0;
}

size_t lf__job_crawl_level(const job_t *job) {
  return job->crawl ? job->crawl->level : 0;
}

static size_t last_level(const job_t *job) {
  return job->cfg->level_count - 1;
}

static void on_worker_nav(job_t *job, const lf__record_t *rec, uintptr_t data);
static int on_worker_found(job_t *job, uintptr_t data, const char *url, char kind,
                           const char *value);
static void on_worker_nav_orphan(job_t *job, uintptr_t data);

static int crawl_new(job_t *job) {
  if (job->crawl) return 0;
  job->worker_nav = on_worker_nav;
  job->worker_found = on_worker_found;
  job->worker_nav_orphan = on_worker_nav_orphan;
  if (!(job->crawl = calloc(1, sizeof(*job->crawl))) || lf__names_new(&job->seen) < 0 ||
      (!job->names && lf__names_new(&job->names) < 0)) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return -1;
  }
  return 0;
}

/* Takes url into the job unless it was taken before: 1 taken, 0 seen already, -1 refused by
 * --max-urls (recorded as capped), -2 out of memory (after lf__job_fatal). */
static int take_url(job_t *job, const char *url) {
  int rc = lf__names_add_key(job->seen, lf__hash64(url, strlen(url)));
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return -2;
  }
  if (rc == 0) return 0;
  if (job->cfg->max_urls && job->seen_count >= job->cfg->max_urls) {
    char why[80];
    snprintf(why, sizeof(why), "not fetched: beyond --max-urls %llu",
             (unsigned long long)job->cfg->max_urls);
    lf__job_record_failure(job, url, NULL, why, LF_REC_CAPPED, 0);
    return -1;
  }
  job->seen_count++;
  return 1;
}

/* --save-all: a navigation page's name, given like a page's (names.h, --layout). */
static char *nav_name(job_t *job, const char *url) {
  char derived[LF_NAME_MAX + 1], path[LF_PATH_MAX + 1];
  CURLU *u = curl_url();
  int rc = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK ? 0 : LF_EURL;
  if (rc == 0) rc = lf__name_from_curlu(u, derived, sizeof(derived));
  if (rc == 0) rc = lf__names_unique(job->names, derived, derived, sizeof(derived));
  if (rc == 0) rc = lf__layout_path(job->cfg->layout, u, derived, path);
  curl_url_cleanup(u);
  return rc == 0 ? strdup(path) : NULL;
}

/* With -p, navigation page i goes to a worker, which fetches and parses it and sends its
 * links back (on_worker_found, on_worker_nav), unless it is a LIST_URL: the job's input,
 * whose failures end the job here as they always did. 1 dealt, 0 not (fetch it here), -1 a
 * fatal error. */
static int fetch_nav_here(job_t *job, size_t i);
static int fetch_nav_remote(job_t *job, size_t i);
static int queue_replay(job_t *job, size_t i);
static int keepable(const job_t *job, const nav_page_t *p);
static void keep_links(job_t *job, size_t i);
static int append_link(lf_links_t *l, const char *url);

static int deal_nav(job_t *job, size_t i) {
  lf__crawl_t *c = job->crawl;
  nav_page_t *p = &c->pages[i];
  if (job->cfg->mode != LF_MODE_PROCS || (c->level == 0 && p->seq == 0 && job->cfg->list_count))
    return 0;
  if (lf__job_spawn_procs(job, 0) < 0) return job->exit_code ? -1 : 0; /* all ended: here */
  char level[32];
  snprintf(level, sizeof(level), "\t\t\t\t\t%zu", c->level);
  lf__job_procs_nav(job, p->url, p->file ? p->file : "", level, NAV_BIT | i);
  c->pending++;
  return 1;
}

/* Asks for navigation page i of the current level: a worker, or this loop. 0, or -1 after
 * lf__job_fatal. */
static int fetch_nav(job_t *job, size_t i) {
  if (queue_replay(job, i)) return 0;
  return fetch_nav_remote(job, i);
}

static int fetch_nav_remote(job_t *job, size_t i) {
  int dealt = deal_nav(job, i);
  return dealt < 0 ? -1 : dealt ? 0 : fetch_nav_here(job, i);
}

/* Asks this loop's fetcher for navigation page i. 0, or -1 after lf__job_fatal. */
static int fetch_nav_here(job_t *job, size_t i) {
  lf__crawl_t *c = job->crawl;
  nav_page_t *p = &c->pages[i];
  lf_request_t req = {.url = p->url,
                      .output = p->file ? LF_OUTPUT_FILE : LF_OUTPUT_MEMORY,
                      .file = p->file,
                      .data = (void *)(NAV_BIT | i)};
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc == LF_ESCHEME || rc == LF_EURL) { /* refused at once: the user's URL, a usage error */
    lf__job_fatal(job, LF_EXIT_USAGE, "list page %s: %s (give an http:// or https:// URL)", p->url,
                  lf_strerror(rc));
    return -1;
  }
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "page %s: %s", p->url, lf_strerror(rc));
    return -1;
  }
  c->pending++;
  return 0;
}

/* Adds a navigation page (url taken over) to the current level and asks for it, or, one the
 * job discovered (not a start page), first asks robots.txt (job_robots.h): it may wait for its
 * origin's file, then comes back through nav_release, or be disallowed and recorded there.
 * 0, or -1 after lf__job_fatal. */
static int add_nav(job_t *job, char *url, uint32_t root, uint32_t seq) {
  lf__crawl_t *c = job->crawl;
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    nav_page_t *p = realloc(c->pages, cap * sizeof(*p));
    if (!p) {
      free(url);
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      return -1;
    }
    c->pages = p;
    c->cap = cap;
  }
  size_t i = c->count++;
  nav_page_t *p = &c->pages[i];
  memset(p, 0, sizeof(*p));
  p->url = url;
  p->root = root;
  p->seq = seq;
  if (job->cfg->save_all && !job->cfg->links_only) p->file = nav_name(job, url);
  int discovered = c->level > 0 || seq > 0;
  if (discovered && !lf__job_robots_gate(job, url, p->file ? p->file : "", NAV_BIT | i)) return 0;
  return fetch_nav(job, i);
}

static void level_done(job_t *job);
static void nav_release(job_t *job, const char *url, const char *name, uintptr_t index);
static void start_level(job_t *job, size_t level, char **urls, size_t n);

/* job->robots_release while a level runs: a page robots.txt held back is allowed now; NULL,
 * none waits any more (the level may be complete). */
static void nav_release_in(job_t *job, const char *url, const char *name, uintptr_t index) {
  (void)name;
  lf__crawl_t *c = job->crawl;
  if (url)
    fetch_nav(job, (size_t)(index & ~NAV_BIT));
  else if (c->pending == 0 && job->navigating && !job->exit_code && !job->signal)
    level_done(job);
}

/* Starts level `level` with urls (taken over, freed here). */
static void start_level_in(job_t *job, size_t level, char **urls, size_t n) {
  lf__crawl_t *c = job->crawl;
  c->level = level;
  c->count = c->pending = c->next_taken = 0;
  job->navigating = 1;
  job->robots_release = nav_release;
  /* As many at once as the job allows; the fetcher queues the rest. */
  lf_fetcher_set_max_in_flight(job->fetcher, lf__job_pick_concurrency(job, n));
  size_t i = 0;
  for (; i < n && !job->exit_code && !job->signal; i++)
    if (add_nav(job, urls[i], (uint32_t)i, 0) < 0) {
      i++;
      break;
    }
  for (; i < n; i++)
    free(urls[i]);
  free(urls);
  /* robots.txt may have disallowed every page at once: nothing will come back */
  if (!job->exit_code && !job->signal && c->pending == 0 && lf__job_robots_waiting(job) == 0)
    level_done(job);
}

static int by_order(const void *a, const void *b) {
  const nav_page_t *x = a, *y = b;
  if (x->root != y->root) return x->root < y->root ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The level's links, in page order, each URL once per job. NULL on fatal errors. */
static char **merge_level(job_t *job, size_t *n) {
  lf__crawl_t *c = job->crawl;
  size_t total = 0;
  qsort(c->pages, c->count, sizeof(*c->pages), by_order);
  for (size_t i = 0; i < c->count; i++)
    total += c->pages[i].links.count;
  char **out = malloc((total ? total : 1) * sizeof(*out));
  if (!out) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return NULL;
  }
  size_t k = 0;
  int last = c->level + 1 == last_level(job);
  c->matched = 0;
  for (size_t i = 0; i < c->count; i++) {
    lf_links_t *l = &c->pages[i].links;
    size_t first = k;
    c->matched += l->matched;
    for (size_t j = 0; j < l->count; j++) {
      int rc = job->exit_code ? -2 : take_url(job, l->urls[j]);
      if (rc == 1)
        out[k++] = l->urls[j];
      else
        free(l->urls[j]);
    }
    free(l->urls);
    memset(l, 0, sizeof(*l));
    if (last && job->xpages && k > first && !job->exit_code)
      note_parent(job, c->pages[i].url, out + first, k - first);
    else
      free(c->pages[i].url);
    free(c->pages[i].file);
  }
  c->count = 0;
  *n = k;
  return out;
}

static void level_done(job_t *job) {
  lf__crawl_t *c = job->crawl;
  size_t n, next = c->level + 1;
  char **urls = merge_level(job, &n);
  if (next == last_level(job) || !urls || job->exit_code || job->signal) job->navigating = 0;
  if (!urls || job->exit_code || job->signal) {
    for (size_t i = 0; urls && i < n; i++)
      free(urls[i]);
    free(urls);
    if (!job->exit_code && !job->signal) lf__job_finish(job, LF_EXIT_LOCAL);
    lf__job_maybe_done(job);
    return;
  }
  if (next < last_level(job)) {
    if (n == 0) {
      lf__error("level %zu: selector '%s' matched no new http(s) links (%zu elements matched)",
                next, job->cfg->levels[next].follow, c->matched);
      free(urls);
      job->navigating = 0;
      lf__job_finish(job, LF_EXIT_NOTHING);
      return;
    }
    start_level(job, next, urls, n);
    return;
  }
  job->links.urls = urls;
  job->links.count = job->links_cap = n;
  job->links.matched = c->matched;
  job->discovered = n; /* robots.txt applies to these, not to -i's URLs that may follow */
  if (c->level == 0 && (job->input || job->input_held)) { /* -i's URLs join the links */
    job->slurping = 1;
    if (lf__frontier_slurp(job) == 1) lf__job_links_ready(job); /* else lines are coming */
    return;
  }
  lf__job_links_ready(job);
}

/* The body of a fetched page: in memory, or (a file) read back from the folder, which the
 * page cache still holds. Up to --max-list-size. *owned: free it. NULL: why in err. */
static const char *page_body(job_t *job, const lf_result_t *r, size_t *len, char **owned, char *err,
                             size_t errlen) {
  *owned = NULL;
  if (r->body) {
    *len = r->body_len;
    return r->body;
  }
  size_t max = job->cfg->fetch.max_memory_body;
  int fd = r->file ? openat(job->dirfd, r->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
  struct stat st;
  char *buf = NULL;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max ||
      !(buf = malloc((size_t)st.st_size + 1))) {
    snprintf(err, errlen, "cannot read the saved page back to parse it: %s",
             fd >= 0 && (uint64_t)st.st_size > max ? "larger than --max-list-size"
                                                   : strerror(errno ? errno : EIO));
    if (fd >= 0) close(fd);
    return NULL;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  buf[got] = '\0';
  *len = got;
  *owned = buf;
  return buf;
}

static int is_html(const char *content_type) {
  /* No Content-Type: give the parser the benefit of the doubt. */
  return !content_type || strstr(content_type, "html") != NULL;
}

/* Every link `sel` selects on the page, into *l. 0, or -1: none (a stop signal, an error). */
static int extract_next(job_t *job, const char *body, size_t len, const char *base,
                        const lf_result_t *r, const char *sel, lf_links_t *l) {
  char err[256];
  sigset_t old;
  lf__job_parse_begin(&old);
  int rc = lf_links_extract2(body, len, base, r->content_type, sel, l, err, sizeof(err));
  return lf__job_parse_end(job, &old, rc) || rc < 0 ? -1 : 0;
}

/* The first URL of l the job has not taken, taken now: an owned copy, or NULL. */
static char *take_first(job_t *job, const lf_links_t *l) {
  for (size_t i = 0; i < l->count; i++) {
    int rc = take_url(job, l->urls[i]);
    if (rc == 1) {
      char *url = strdup(l->urls[i]);
      if (!url) lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      return url;
    }
    if (rc <= -1) break;
  }
  return NULL;
}

/* The first link `sel` selects on the page, taken into the job: an owned URL, or NULL. */
static char *next_link(job_t *job, const char *body, size_t len, const char *base,
                       const lf_result_t *r, const char *sel) {
  lf_links_t l = {0};
  char *url = extract_next(job, body, len, base, r, sel, &l) == 0 ? take_first(job, &l) : NULL;
  lf_links_free(&l);
  return url;
}

/* --next took one more page of this level; beyond --max-pages it is reported, not fetched. */
static int within_max_pages(job_t *job, size_t *taken, const char *url) {
  if (*taken < job->cfg->max_pages) {
    ++*taken;
    return 1;
  }
  char why[80];
  snprintf(why, sizeof(why), "not fetched: beyond --max-pages %u", job->cfg->max_pages);
  lf__job_record_failure(job, url, NULL, why, LF_REC_CAPPED, 0);
  return 0;
}

static void record_nav(job_t *job, const lf_result_t *r, const char *why, uintptr_t index) {
  lf__record_t rec;
  lf__record_from_result(&rec, r, job->signal != 0, job->clock_offset);
  rec.pid = job->pid;
  if (rec.status == LF_REC_SAVED) rec.status = LF_REC_NAVIGATED;
  if (why) {
    rec.status = LF_REC_FAILED;
    rec.error = why;
  }
  lf__job_record(job, &rec, index);
}

/* s in single quotes for a POSIX shell ('\'' for a quote): appended to out. */
static void shell_quote(const char *s, char *out, size_t len) {
  size_t n = strlen(out);
  if (n + 1 < len) out[n++] = '\'';
  for (; *s && n + 5 < len; s++) {
    if (*s == '\'') {
      memcpy(out + n, "'\\''", 4);
      n += 4;
    } else {
      out[n++] = *s;
    }
  }
  if (n + 1 < len) out[n++] = '\'';
  out[n] = '\0';
}

/* `loopfetch URL` saves the pages URL links to, not URL (issue 25, item 5): when URL is not
 * HTML or links nowhere, the last line is a complete command that saves URL itself into the
 * same folder, in the form a user can paste. Not for a URL holding a password (never printed)
 * or characters a terminal would not show as they are. */
void lf__job_hint_save_itself(job_t *job, const char *url) {
  char *shown = lf__display(url, 1);
  if (!shown || strcmp(shown, url) != 0 || strlen(url) > 3000 || strlen(job->cfg->out_dir) > 3000) {
    free(shown);
    return;
  }
  free(shown);
  char cmd[8192] = "printf '%s\\n' ";
  shell_quote(url, cmd, sizeof(cmd));
  strncat(cmd, " | loopfetch -i - -o ", sizeof(cmd) - strlen(cmd) - 1);
  shell_quote(job->cfg->out_dir, cmd, sizeof(cmd));
  fprintf(stderr, "loopfetch: to save that page itself: %s\n", cmd);
}

/* Level 0 is the job's list pages: as always, a failure there ends the job (exit 3). */
static int start_page_failed(job_t *job, const lf_result_t *r) {
  const char *url = r->url;
  if (r->status == LF_ETOOBIG) {
    char limit[32];
    snprintf(limit, sizeof(limit), "%zu", job->cfg->fetch.max_memory_body);
    lf__job_fatal(job, LF_EXIT_LIST,
                  "list page %s: larger than %s bytes, the limit for a list page "
                  "(--max-list-size; parsing takes about 13 times its size in memory)",
                  url, limit);
    return 1;
  }
  if (r->status != 0) {
    char hinted[512]; /* --cacert, --max-redirs: what to do about it */
    const char *why = lf__hint_error(r, 0, hinted, sizeof(hinted));
    char *su = lf__display(url, 1), *sw = lf__display(why ? why : "failed", 0);
    lf__error("list page %s: %s (%d attempt%s)", su ? su : "?", sw ? sw : "failed", r->attempts,
              r->attempts == 1 ? "" : "s");
    free(su);
    free(sw);
    lf__job_finish(job, LF_EXIT_LIST);
    return 1;
  }
  if (!is_html(r->content_type)) {
    lf__job_fatal(job, LF_EXIT_LIST, "list page %s: not HTML (Content-Type: %s)", url,
                  r->content_type);
    lf__job_hint_save_itself(job, url);
    return 1;
  }
  return 0;
}

/* Parses one navigation page: the next level's links into page->links, --next's page into
 * the level. Returns why it failed, or NULL. */
static const char *parse_nav(job_t *job, const lf_result_t *r, nav_page_t *page, char *err,
                             size_t errlen) {
  lf__crawl_t *c = job->crawl;
  const lf_cli_level_t *lv = job->cfg->levels;
  size_t len;
  char *owned;
  const char *body = page_body(job, r, &len, &owned, err, errlen);
  if (!body) return err;
  const char *base = r->effective_url ? r->effective_url : r->url; /* after redirects */
  sigset_t old;
  /* the next level's links and --next's candidates (kept in page->next for the rerun's file)
   * from one parse of the page */
  const char *sels[2] = {lv[c->level + 1].follow, lv[c->level].next};
  lf_links_t got[2] = {{0}, {0}};
  lf__job_parse_begin(&old);
  int rc =
      lf_links_extract_n(body, len, base, r->content_type, sels, sels[1] ? 2 : 1, got, err, errlen);
  page->links = got[0];
  page->next = got[1];
  if (lf__job_parse_end(job, &old, rc)) { /* a stop signal: the job is ending */
    free(owned);
    snprintf(err, errlen, "interrupted");
    return err;
  }
  if (rc == 0 && page->links.too_long) { /* left out, the page's other links kept */
    char *shown = lf__display(r->url, 1);
    fprintf(stderr, "loopfetch: warning: page %s: %zu link%s skipped: longer than 65536 bytes\n",
            shown ? shown : "?", page->links.too_long, page->links.too_long == 1 ? "" : "s");
    free(shown);
  }
  char *more = rc == 0 && sels[1] ? take_first(job, &page->next) : NULL;
  uint32_t root = page->root, seq = page->seq; /* page moves if add_nav grows the array */
  free(owned);
  lf__job_give_back_memory(job);
  if (rc < 0) {
    if (rc == LF_ESELECTOR) lf__job_fatal(job, LF_EXIT_USAGE, "page %s: %s", r->url, err);
    return err;
  }
  if (more && within_max_pages(job, &c->next_taken, more))
    add_nav(job, more, root, seq + 1);
  else
    free(more);
  return NULL;
}

static void on_nav_in(job_t *job, const lf_result_t *r) {
  lf__crawl_t *c = job->crawl;
  size_t i = (size_t)((uintptr_t)r->data & ~NAV_BIT);
  c->pending--;
  if (job->exit_code || job->signal) { /* ending: say what became of it, then nothing more */
    if (!(c->level == 0 && c->pages[i].seq == 0 && job->cfg->list_count))
      record_nav(job, r, r->status ? NULL : "interrupted", 0);
    job->navigating = 0;
    lf__job_maybe_done(job);
    return;
  }
  /* The LIST_URLs themselves are the job's input, as they always were: not recorded, and a
   * failure there ends the job. Every other navigation page is recorded. */
  int list_page = c->level == 0 && c->pages[i].seq == 0 && job->cfg->list_count;
  if (list_page && start_page_failed(job, r)) return;
  const char *why = NULL;
  char err[300];
  if (r->status == 0 && !is_html(r->content_type)) {
    snprintf(err, sizeof(err), "a navigation page that is not HTML (Content-Type: %s)",
             r->content_type);
    why = err;
  } else if (r->status == 0) {
    why = parse_nav(job, r, &c->pages[i], err, sizeof(err));
  }
  if (job->exit_code) {
    if (job->signal && !list_page) record_nav(job, r, "interrupted", 0); /* stopped in its parse */
    return;
  }
  if (list_page && why) { /* a LIST_URL that cannot be parsed ends the job, as one not fetched */
    lf__job_fatal(job, strcmp(why, "out of memory") == 0 ? LF_EXIT_LOCAL : LF_EXIT_LIST,
                  "list page %s: %s", r->url, why);
    return;
  }
  if (!list_page && !why) keep_links(job, i);
  if (!list_page) record_nav(job, r, why, 0);
  lf_links_free(&c->pages[i].next);
  memset(&c->pages[i].next, 0, sizeof(c->pages[i].next));
  if (c->pending == 0 && lf__job_robots_waiting(job) == 0) level_done(job);
}

/* A worker: one line up the pipe ("L", "X": a URL; procs.h), before the page's record, which
 * flushes them. A URL holding a tab or a line break (libcurl's resolution leaves none) is
 * left out rather than torn. */
static void send_found(char kind, uintptr_t index, const char *url) {
  if (!strpbrk(url, "\t\r\n"))
    fprintf(stdout, "%c\t%lu\t%s\n", kind, (unsigned long)LF_NAV_INDEX(index), url);
}

/* A worker: every link sel selects on the fetched page r, sent up as `kind` lines. */
static void send_links(const lf_result_t *r, const char *body, size_t len, const char *sel,
                       char kind) {
  lf_links_t l = {0};
  char err[256];
  const char *base = r->effective_url ? r->effective_url : r->url;
  if (lf_links_extract2(body, len, base, r->content_type, sel, &l, err, sizeof(err)) < 0) return;
  for (size_t i = 0; i < l.count; i++)
    send_found(kind, (uintptr_t)r->data, l.urls[i]);
  lf_links_free(&l);
}

/* The "next page" more (taken over) was found on the last level's page parent_url: it joins
 * the pages, within --max-pages. */
static void join_next(job_t *job, const char *parent_url, char *more) {
  if (job->xpages) { /* its records name the page it was found on */
    char *parent = strdup(parent_url);
    if (!parent || note_parent(job, parent, &more, 1) < 0) {
      free(more);
      return;
    }
  }
  if (within_max_pages(job, &job->next_taken, more) && lf__frontier_push(job, more) == 0) {
    if (job->cfg->mode == LF_MODE_PROCS)
      lf__job_procs_more(job); /* to a worker */
    else
      lf_fetcher_set_max_in_flight(job->fetcher, job->concurrency); /* asks for it */
    return;
  }
  free(more);
}

void lf__job_on_last_page(job_t *job, const lf_result_t *r) {
  const char *sel = job->cfg->levels[last_level(job)].next;
  if (!sel || r->status != 0 || r->http_code == 304 || !is_html(r->content_type) ||
      job->exit_code || job->signal)
    return;
  size_t len;
  char *owned, err[256];
  const char *body = page_body(job, r, &len, &owned, err, sizeof(err));
  if (!body) return;
  if (job->cfg->mode == LF_MODE_WORKER) { /* the parent dedups and takes one */
    send_links(r, body, len, sel, 'X');
    free(owned);
    return;
  }
  char *more = next_link(job, body, len, r->effective_url ? r->effective_url : r->url, r, sel);
  free(owned);
  if (more) join_next(job, r->url, more);
}

/* ---- -p: navigation pages parsed in the workers ---- */

void lf__job_worker_nav(job_t *job, const lf_result_t *r) {
  size_t level = LF_NAV_LEVEL(r->data);
  const lf_cli_level_t *lv = job->cfg->levels;
  const char *why = NULL;
  char err[300];
  if (r->status == 0 && !job->signal && !is_html(r->content_type)) {
    snprintf(err, sizeof(err), "a navigation page that is not HTML (Content-Type: %s)",
             r->content_type);
    why = err;
  } else if (r->status == 0 && !job->signal) {
    size_t len;
    char *owned;
    const char *body = page_body(job, r, &len, &owned, err, sizeof(err));
    lf_links_t got[2] = {{0}, {0}}; /* the next level's links, --next's: one parse */
    const char *base = r->effective_url ? r->effective_url : r->url;
    const char *sels[2] = {lv[level + 1].follow, lv[level].next};
    if (!body)
      why = err;
    else if (lf_links_extract_n(body, len, base, r->content_type, sels, sels[1] ? 2 : 1, got, err,
                                sizeof(err)) < 0)
      why = err;
    for (size_t i = 0; i < got[0].count; i++)
      send_found('L', (uintptr_t)r->data, got[0].urls[i]);
    if (!why)
      fprintf(stdout, "M\t%lu\t%zu\t%zu\n", (unsigned long)LF_NAV_INDEX(r->data), got[0].matched,
              got[0].too_long);
    for (size_t i = 0; i < got[1].count; i++)
      send_found('X', (uintptr_t)r->data, got[1].urls[i]);
    lf_links_free(&got[0]);
    lf_links_free(&got[1]);
    free(owned);
    lf__job_give_back_memory(job);
  }
  record_nav(job, r, why, (uintptr_t)r->data);
}

/* The parent: what a worker found on navigation page data (L, M, X lines) or on a page of the
 * last level (X lines), in page order. 1: no more X lines for it. */
static int on_worker_found_in(job_t *job, uintptr_t data, const char *url, char kind,
                              const char *value) {
  lf__crawl_t *c = job->crawl;
  if (job->exit_code || job->signal) return 1;
  if (!data) { /* a page of the last level: its --next */
    int rc = take_url(job, value);
    if (rc == 1) {
      char *more = strdup(value);
      if (!more) lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      if (more) join_next(job, url, more);
    }
    return rc != 0;
  }
  nav_page_t *p = &c->pages[LF_NAV_INDEX(data)];
  if (kind == 'L') {
    if (append_link(&p->links, value) < 0) {
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      return 1;
    }
    return 0;
  }
  if (kind == 'M') {
    char *end;
    p->links.matched = strtoul(value, &end, 10);
    p->links.too_long = *end == '\t' ? strtoul(end + 1, NULL, 10) : 0;
    if (p->links.too_long) {
      char *shown = lf__display(url, 1);
      fprintf(stderr, "loopfetch: warning: page %s: %zu link%s skipped: longer than 65536 bytes\n",
              shown ? shown : "?", p->links.too_long, p->links.too_long == 1 ? "" : "s");
      free(shown);
    }
    return 0;
  }
  /* X: kept for the rerun's file; the first "next page" the job has not taken joins the level */
  if (keepable(job, p) && append_link(&p->next, value) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return 1;
  }
  if (p->next_done) return 0;
  int rc = take_url(job, value);
  p->next_done = rc != 0;
  if (rc == 1) {
    uint32_t root = p->root, seq = p->seq; /* p moves if add_nav grows the array */
    char *more = strdup(value);
    if (!more)
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    else if (within_max_pages(job, &c->next_taken, more))
      add_nav(job, more, root, seq + 1);
    else
      free(more);
  }
  return 0;
}

/* The parent: a worker's record of navigation page data; the level ends with its last. */
static void on_worker_nav_in(job_t *job, const lf__record_t *rec, uintptr_t data) {
  lf__crawl_t *c = job->crawl;
  size_t i = LF_NAV_INDEX(data);
  c->pending--;
  if (rec->status == LF_REC_NAVIGATED && !job->exit_code && !job->signal) keep_links(job, i);
  lf_links_free(&c->pages[i].next);
  memset(&c->pages[i].next, 0, sizeof(c->pages[i].next));
  lf__job_record(job, rec, 0);
  if (job->exit_code || job->signal) {
    job->navigating = 0;
    lf__job_maybe_done(job);
    return;
  }
  if (c->pending == 0 && lf__job_robots_waiting(job) == 0) level_done(job);
}

/* The parent: navigation page data's worker ended without reporting it: fetched here (what
 * the worker sent of its links is dropped), or recorded as interrupted when stopping. */
static void on_worker_nav_orphan_in(job_t *job, uintptr_t data) {
  lf__crawl_t *c = job->crawl;
  nav_page_t *p = &c->pages[LF_NAV_INDEX(data)];
  c->pending--;
  lf_links_free(&p->links);
  memset(&p->links, 0, sizeof(p->links));
  lf_links_free(&p->next);
  memset(&p->next, 0, sizeof(p->next));
  p->next_done = 0;
  if (job->exit_code || job->signal) {
    lf__job_record_failure(job, p->url, NULL, "interrupted", LF_REC_INTERRUPTED, 0);
    job->navigating = 0;
    lf__job_maybe_done(job);
    return;
  }
  fetch_nav_here(job, LF_NAV_INDEX(data));
}

/* The URLs of the job, one per line (only this shard's with --shard), and the end. */
static void print_links(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  const char *url;
  while (lf__frontier_next(job, &url))
    if (!cfg->shard_n || lf__shard_of(url, cfg->shard_n) == cfg->shard_k - 1) printf("%s\n", url);
  if (fflush(stdout) != 0 || ferror(stdout)) { /* a full disk, a closed pipe */
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot write the links to stdout: %s%s", strerror(errno),
                  "");
    return;
  }
  lf__job_finish(job, 0);
}

void lf__job_links_ready(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  /* --sitemap's pages join as -i's do: after the links, not checked against robots.txt */
  if (lf__job_sitemaps_merge(job) < 0 ||
      ((cfg->list_count || cfg->sitemap_count) && lf__frontier_dedup(&job->links) < 0)) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  if (cfg->level_count > 1 && job->links.count == 0) {
    const char *sel = cfg->levels[last_level(job)].follow;
    char *shown = lf__display(cfg->list_url, 1);
    if (cfg->level_count > 2)
      lf__error("level %zu: selector '%s' matched no new http(s) links (%zu elements matched)",
                last_level(job), sel, job->links.matched);
    else if (cfg->list_count == 1 && job->links.matched)
      lf__error("list page %s: selector '%s' matched %zu elements, none with an http(s) href: "
                "only href is followed (select the links, e.g. 'a:has(img)' for 'img')",
                shown ? shown : "?", sel, job->links.matched);
    else if (cfg->list_count == 1)
      lf__error("list page %s: selector '%s' matched no http(s) links (%zu elements matched)",
                shown ? shown : "?", sel, job->links.matched);
    else
      lf__error("%zu list pages: selector '%s' matched no http(s) links (%zu elements matched)",
                cfg->list_count, sel, job->links.matched);
    free(shown);
    if (cfg->level_count <= 2 && cfg->list_count == 1) lf__job_hint_save_itself(job, cfg->list_url);
    lf__job_finish(job, LF_EXIT_NOTHING);
    return;
  }
  if (cfg->links_only) {
    print_links(job);
    return;
  }
  /* --next on the last level: the pages it finds must not be any of these again. */
  if (cfg->levels[last_level(job)].next && !job->crawl) {
    if (crawl_new(job) < 0) return;
    for (size_t i = 0; i < job->links.count; i++)
      if (take_url(job, job->links.urls[i]) == -2) return;
  }
  lf__job_start_pages(job, job->links.count);
}

/* Level 0 from `urls` (n of them, copied): each taken once. */
static void start_with(job_t *job, const char *const *urls, size_t n) {
  if (crawl_new(job) < 0) return;
  char **copy = malloc((n ? n : 1) * sizeof(*copy));
  size_t k = 0;
  for (size_t i = 0; copy && i < n; i++) {
    int rc = take_url(job, urls[i]);
    if (rc == -2) break;
    if (rc == 1 && !(copy[k++] = strdup(urls[i]))) {
      k--;
      break;
    }
  }
  if (!copy) lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
  if (job->exit_code) {
    for (size_t i = 0; i < k; i++)
      free(copy[i]);
    free(copy);
    return;
  }
  start_level(job, 0, copy, k);
}

/* One level only (-e without -f): the start pages are the pages (then -i's URLs), each once. */
static void start_pages_of_list(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  job->links.urls = calloc(cfg->list_count, sizeof(*job->links.urls));
  for (size_t i = 0; job->links.urls && i < cfg->list_count; i++, job->links.count++)
    if (!(job->links.urls[i] = strdup(cfg->list_urls[i]))) break;
  if (!job->links.urls || job->links.count < cfg->list_count ||
      lf__frontier_dedup(&job->links) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->links_cap = cfg->list_count;
  if (job->input || job->input_held) {
    job->slurping = 1;
    if (lf__frontier_slurp(job) == 1) lf__job_links_ready(job);
    return;
  }
  lf__job_links_ready(job);
}

/* Level 0 from the start pages in `in` (freed here) and, with -e, the sitemaps' pages. */
static void start_with_links(job_t *job, lf_links_t *in) {
  if (lf__job_sitemaps_start_level(job) && lf__job_sitemaps_merge_into(job, in) < 0)
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
  else
    start_with(job, (const char *const *)in->urls, in->count);
  lf_links_free(in);
}

void lf__job_start_crawl(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  if (cfg->level_count == 1) {
    start_pages_of_list(job);
    return;
  }
  lf_links_t in = {0};
  if (cfg->list_count && !(in.urls = calloc(cfg->list_count, sizeof(*in.urls)))) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  for (size_t i = 0; i < cfg->list_count; i++, in.count++)
    if (!(in.urls[i] = strdup(cfg->list_urls[i]))) {
      lf_links_free(&in);
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      return;
    }
  start_with_links(job, &in);
}

void lf__job_input_read(job_t *job) {
  if (job->cfg->level_count == 1 || job->crawl) { /* pages, or -i's URLs joined level 1 */
    lf__job_links_ready(job);
    return;
  }
  lf_links_t in = job->links; /* -i alone, then -f: its URLs are the start pages */
  memset(&job->links, 0, sizeof(job->links));
  job->links_cap = 0;
  start_with_links(job, &in);
}

/* ---- reruns: navigation pages read back from what a run before kept (navkeep.h) ---- */

/* The key of the selectors page links were selected with at level: the next level's -f and
 * this level's --next. */
static uint64_t sel_key(const job_t *job, size_t level) {
  const lf_cli_level_t *lv = job->cfg->levels;
  uint64_t a = lf__hash64(lv[level + 1].follow, strlen(lv[level + 1].follow));
  const char *n = lv[level].next ? lv[level].next : "";
  return a * 31 + lf__hash64(n, strlen(n)) + 1;
}

/* Whether page p's links are kept for reruns, and read back: a navigation page the manifest
 * records (not a LIST_URL: the job's input, fetched every run as always), in a job with an
 * output folder, not told to fetch everything again (--force) or to revalidate (--refresh). */
static int keepable(const job_t *job, const nav_page_t *p) {
  const lf_cli_t *cfg = job->cfg;
  return job->dirfd >= 0 && !cfg->links_only && !cfg->force && !cfg->refresh &&
         cfg->mode != LF_MODE_WORKER && !(job->crawl->level == 0 && p->seq == 0 && cfg->list_count);
}

static int append_link(lf_links_t *l, const char *url) {
  if (l->count % 64 == 0) {
    char **u = realloc(l->urls, (l->count + 64) * sizeof(*u));
    if (!u) return -1;
    l->urls = u;
  }
  if (!(l->urls[l->count] = strdup(url))) return -1;
  l->count++;
  return 0;
}

/* Page i was parsed: its links (and --next's candidates) kept for a rerun, before its
 * manifest line. A failure costs only the rerun's fetch of it: said once. */
static void keep_links(job_t *job, size_t i) {
  lf__crawl_t *c = job->crawl;
  nav_page_t *p = &c->pages[i];
  if (!keepable(job, p)) return;
  int rc =
      lf__navkeep_write(job->dirfd, p->url, sel_key(job, c->level), p->links.urls, p->links.count,
                        p->next.urls, p->next.count, p->links.matched, p->links.too_long);
  if (rc < 0 && !c->keep_warned) {
    c->keep_warned = 1;
    fprintf(stderr,
            "loopfetch: warning: cannot keep navigation pages' links in %s/%s: %s; a rerun "
            "fetches them again\n",
            job->cfg->out_dir, LF_NAVKEEP_DIR, strerror(-rc));
  }
}

typedef struct {
  job_t *job;
  size_t i;
} replay_ctx_t;

static int replay_line(void *arg, char kind, const char *value) {
  replay_ctx_t *x = arg;
  nav_page_t *p = &x->job->crawl->pages[x->i];
  if (kind == 'M') {
    char *end;
    p->links.matched = strtoul(value, &end, 10);
    p->links.too_long = *end == '\t' ? strtoul(end + 1, NULL, 10) : 0;
    return 0;
  }
  return append_link(kind == 'L' ? &p->links : &p->next, value) < 0 ? -ENOMEM : 0;
}

/* Page i is read back once the entry point running returns (release()), if a run before kept
 * it. 1 queued (pending), 0 not kept: fetch it. */
static int queue_replay(job_t *job, size_t i) {
  lf__crawl_t *c = job->crawl;
  if (!keepable(job, &c->pages[i])) return 0;
  if (c->replay_len == c->replay_cap) {
    size_t cap = c->replay_cap ? c->replay_cap * 2 : 16;
    size_t *q = realloc(c->replay, cap * sizeof(*q));
    if (!q) return 0;
    c->replay = q;
    c->replay_cap = cap;
  }
  c->replay[c->replay_len++] = i;
  c->pending++;
  return 1;
}

/* One queued page: its links read back as if a worker had sent them, or, none kept, fetched. */
static void replay_one(job_t *job, size_t i) {
  lf__crawl_t *c = job->crawl;
  replay_ctx_t x = {job, i};
  int rc = lf__navkeep_read(job->dirfd, c->pages[i].url, sel_key(job, c->level), replay_line, &x);
  nav_page_t *p = &c->pages[i];
  c->pending--;
  if (rc == -ENOMEM) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  if (rc != 1) { /* none, another command's, unreadable: fetched as any */
    lf_links_free(&p->links);
    memset(&p->links, 0, sizeof(p->links));
    lf_links_free(&p->next);
    memset(&p->next, 0, sizeof(p->next));
    fetch_nav_remote(job, i);
    return;
  }
  c->replayed++;
  uint32_t root = p->root, seq = p->seq; /* p moves if add_nav grows the array */
  char *more = take_first(job, &p->next);
  lf_links_free(&p->next);
  memset(&p->next, 0, sizeof(p->next));
  if (more && within_max_pages(job, &c->next_taken, more))
    add_nav(job, more, root, seq + 1);
  else
    free(more);
  if (!job->exit_code && !job->signal && c->pending == 0 && lf__job_robots_waiting(job) == 0)
    level_done(job);
}

/* Entry points run "held": a page read back while one runs would end its level under it.
 * The outermost one reads the queue once it is done. */
static void hold(job_t *job) {
  job->crawl->busy++;
}

static void release(job_t *job) {
  lf__crawl_t *c = job->crawl;
  if (--c->busy > 0) return;
  c->busy++;
  while (c->replay_head < c->replay_len && !job->exit_code && !job->signal)
    replay_one(job, c->replay[c->replay_head++]);
  if (c->replay_head < c->replay_len) { /* stopping: they end as pages not fetched */
    c->pending -= c->replay_len - c->replay_head;
    job->navigating = 0;
    lf__job_maybe_done(job);
  }
  c->replay_head = c->replay_len = 0;
  c->busy--;
}

static void nav_release(job_t *job, const char *url, const char *name, uintptr_t index) {
  hold(job);
  nav_release_in(job, url, name, index);
  release(job);
}

static void start_level(job_t *job, size_t level, char **urls, size_t n) {
  hold(job);
  start_level_in(job, level, urls, n);
  release(job);
}

void lf__job_on_nav(job_t *job, const lf_result_t *r) {
  hold(job);
  on_nav_in(job, r);
  release(job);
}

static int on_worker_found(job_t *job, uintptr_t data, const char *url, char kind,
                           const char *value) {
  hold(job);
  int rc = on_worker_found_in(job, data, url, kind, value);
  release(job);
  return rc;
}

static void on_worker_nav(job_t *job, const lf__record_t *rec, uintptr_t data) {
  hold(job);
  on_worker_nav_in(job, rec, data);
  release(job);
}

static void on_worker_nav_orphan(job_t *job, uintptr_t data) {
  hold(job);
  on_worker_nav_orphan_in(job, data);
  release(job);
}

void lf__job_crawl_free(job_t *job) {
  lf__crawl_t *c = job->crawl;
  if (c) {
    for (size_t i = 0; i < c->count; i++) {
      free(c->pages[i].url);
      free(c->pages[i].file);
      lf_links_free(&c->pages[i].links);
      lf_links_free(&c->pages[i].next);
    }
    free(c->pages);
    free(c->replay);
    for (size_t i = 0; i < c->parents_len; i++)
      free(c->parents[i]);
    free(c->parents);
    free(c);
    job->crawl = NULL;
  }
  lf__names_free(job->seen);
  job->seen = NULL;
}
