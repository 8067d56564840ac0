/* robots.txt per origin for discovered URLs (job_robots.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errmsg.h"
#include "hmap.h"
#include "job_end.h"
#include "job_record.h"
#include "job_robots.h"
#include "robots.h"
#include "safe_text.h"

typedef struct lf__job_robots_s lf__job_robots_t;
typedef enum { FETCHING, PARSED, ALLOW_ALL, DISALLOW_ALL } state_t;

/* A discovered page waiting for its origin's robots.txt: one allocation, url then name. */
typedef struct waiter_s {
  struct waiter_s *next;
  uintptr_t index;
  int given; /* a URL the user gave (lf__job_robots_hold): released whatever the file says */
  const char *name;
  char url[];
} waiter_t;

typedef struct origin_s {
  state_t state;
  lf__robots_t *robots;  /* PARSED */
  char why[160];         /* DISALLOW_ALL: the rule the records show ("robots.txt: HTTP 503") */
  waiter_t *head, *tail; /* FETCHING: pages waiting, in order */
  char *body;            /* FETCHING: the first LF_ROBOTS_MAX_BYTES (+1) of the reply */
  size_t body_len;
  long redirects;
  int want_sitemaps; /* --sitemap robots: hand its Sitemap lines on once it is in */
  char host[256];    /* for pacing */
  char key[];        /* "scheme://host:port" */
} origin_t;

struct lf__job_robots_s {
  lf__hmap_t by_key; /* hash of key -> index + 1 in all[] (collisions: compared by key) */
  lf__hmap_t by_ptr; /* origin address -> 1: is a result's data one of ours? */
  lf__hmap_t delays; /* hash of a host -> its Crawl-delay in ms, as applied (the largest) */
  size_t fetching;   /* origins whose robots.txt is on its way */
  origin_t **all;
  size_t count, cap;
  size_t waiting;
  CURLU *url;
  char token[LF_ROBOTS_TOKEN_MAX + 1]; /* product token of the User-Agent */
};

size_t lf__job_robots_waiting(const job_t *job) {
  return job->robots ? job->robots->waiting : 0;
}

static uint64_t key_hash(const char *key) {
  return lf__hash64(key, strlen(key));
}

/* The bodies of robots.txt requests arrive here (LF_OUTPUT_CALLBACK): only what the parser reads
 * is kept, and a longer file is cut off by ending its transfer. */
int lf__job_robots_body(job_t *job, lf_stream_t *s, const char *chunk, size_t len) {
  (void)job;
  origin_t *o = lf_stream_get_data(s);
  size_t room = LF_ROBOTS_MAX_BYTES + 1 - o->body_len;
  size_t take = len < room ? len : room;
  char *b = realloc(o->body, o->body_len + take + 1);
  if (!b) return LF_ENOMEM;
  memcpy(b + o->body_len, chunk, take);
  o->body = b;
  o->body_len += take;
  return o->body_len > LF_ROBOTS_MAX_BYTES ? LF_ETOOBIG : LF_STREAM_CONTINUE;
}

static lf__job_robots_t *gate_new(job_t *job) {
  lf__job_robots_t *g = calloc(1, sizeof(*g));
  if (!g || !(g->url = curl_url())) {
    free(g);
    return NULL;
  }
  const char *ua = job->cfg->fetch.user_agent ? job->cfg->fetch.user_agent : "loopfetch";
  lf__robots_token(ua, g->token);
  return g;
}

/* "scheme://host:port" of url (lower case, the default port written out) and its host. */
static int origin_of(lf__job_robots_t *g, const char *url, char *key, size_t keylen, char *host) {
  char *scheme = NULL, *h = NULL, *port = NULL;
  int ok = curl_url_set(g->url, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(g->url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(g->url, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
           curl_url_get(g->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
           strlen(h) < 256 && (size_t)snprintf(key, keylen, "%s://%s:%s", scheme, h, port) < keylen;
  if (ok) {
    for (char *c = key; *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    snprintf(host, 256, "%s", h);
  }
  curl_free(scheme);
  curl_free(h);
  curl_free(port);
  return ok ? 0 : -1;
}

static origin_t *find(lf__job_robots_t *g, const char *key) {
  uint32_t *v = lf__hmap_get(&g->by_key, key_hash(key));
  return v && strcmp(g->all[*v - 1]->key, key) == 0 ? g->all[*v - 1] : NULL;
}

static void record_robots(job_t *job, const char *url, const char *rule) {
  lf__record_t rec = {.url = url,
                      .status = LF_REC_ROBOTS,
                      .robots_rule = rule,
                      .pid = job->pid,
                      .start = lf__report_elapsed(&job->report)};
  lf__job_record(job, &rec, 0);
}

/* The verdict of a known origin: 1 allowed; 0 disallowed, recorded. */
static int decide(job_t *job, origin_t *o, const char *url) {
  const char *rule = NULL;
  if (o->state == ALLOW_ALL) return 1;
  if (o->state == DISALLOW_ALL) {
    record_robots(job, url, o->why);
    return 0;
  }
  if (lf__robots_allowed(o->robots, url, &rule)) return 1;
  record_robots(job, url, rule ? rule : "robots.txt: out of memory while matching");
  return 0;
}

static origin_t *start_fetch(job_t *job, lf__job_robots_t *g, const char *key, const char *host) {
  if (g->count == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 16;
    origin_t **a = realloc(g->all, cap * sizeof(*a));
    if (!a) return NULL;
    g->all = a;
    g->cap = cap;
  }
  origin_t *o = calloc(1, sizeof(*o) + strlen(key) + 1);
  if (!o) return NULL;
  strcpy(o->key, key);
  snprintf(o->host, sizeof(o->host), "%s", host);
  int added;
  if (!lf__hmap_put(&g->by_key, key_hash(key), (uint32_t)g->count + 1, &added) ||
      !lf__hmap_put(&g->by_ptr, (uint64_t)(uintptr_t)o, 1, &added)) {
    free(o);
    return NULL;
  }
  g->all[g->count++] = o;
  char url[600];
  /* key holds the port always; the request shows the origin as its URLs do */
  snprintf(url, sizeof(url), "%s/robots.txt", key);
  lf_request_t req = {.url = url, .output = LF_OUTPUT_CALLBACK, .data = o};
  int rc = lf_fetcher_add(job->fetcher, &req);
  if (rc < 0) { /* cannot even ask: as if unreachable */
    o->state = DISALLOW_ALL;
    snprintf(o->why, sizeof(o->why), "robots.txt could not be requested: %s", lf_strerror(rc));
  } else {
    g->fetching++;
  }
  return o;
}

/* The origin of url, its robots.txt asked for if it was not yet. NULL: no memory (*bad 0), or
 * a URL libcurl cannot split (*bad 1). */
static origin_t *origin_for(job_t *job, const char *url, int *bad) {
  lf__job_robots_t *g = job->robots ? job->robots : (job->robots = gate_new(job));
  char key[600], host[256];
  *bad = 0;
  if (g && origin_of(g, url, key, sizeof(key), host) < 0) {
    *bad = 1;
    return NULL;
  }
  if (!g) return NULL;
  origin_t *o = find(g, key);
  return o ? o : start_fetch(job, g, key, host);
}

/* --sitemap robots: the Sitemap lines of o's robots.txt (none when it has no rules). */
static void hand_sitemaps(job_t *job, origin_t *o) {
  static const char *const none[1] = {NULL};
  size_t n = o->state == PARSED ? lf__robots_sitemap_count(o->robots) : 0;
  const char **urls = n ? malloc(n * sizeof(*urls)) : NULL;
  for (size_t i = 0; urls && i < n; i++)
    urls[i] = lf__robots_sitemap(o->robots, i);
  o->want_sitemaps = 0;
  job->robots_sitemaps(job, o->key, urls ? urls : none, urls ? n : 0);
  free(urls);
}

int lf__job_robots_want_sitemaps(job_t *job, const char *url) {
  int bad;
  origin_t *o = origin_for(job, url, &bad);
  if (!o) return bad ? 0 : -1;
  if (o->want_sitemaps) return 0; /* asked for already, by another URL of the origin */
  o->want_sitemaps = 1;
  if (o->state != FETCHING) hand_sitemaps(job, o);
  return 1;
}

/* url waits for o's robots.txt. 0 (it comes back through job->robots_release), or -1: no
 * memory (recorded). */
static int wait_for(job_t *job, origin_t *o, const char *url, const char *name, uintptr_t index,
                    int given) {
  size_t ulen = strlen(url) + 1, nlen = strlen(name) + 1;
  waiter_t *w = malloc(sizeof(*w) + ulen + nlen);
  if (!w) {
    lf__job_record_failure(job, url, name, "out of memory", LF_REC_FAILED, index);
    return 0;
  }
  memcpy(w->url, url, ulen);
  memcpy(w->url + ulen, name, nlen);
  w->name = w->url + ulen;
  w->index = index;
  w->given = given;
  w->next = NULL;
  if (o->tail)
    o->tail->next = w;
  else
    o->head = w;
  o->tail = w;
  job->robots->waiting++;
  job->outstanding++; /* the job is not done while pages wait */
  return 0;
}

int lf__job_robots_gate(job_t *job, const char *url, const char *name, uintptr_t index) {
  if (!job->cfg->robots) return 1;
  int bad;
  origin_t *o = origin_for(job, url, &bad);
  if (!o && bad) return 1; /* libcurl cannot split it: the fetcher will say what is wrong */
  if (!o) {
    lf__job_record_failure(job, url, name, "out of memory", LF_REC_FAILED, index);
    return 0;
  }
  if (o->state != FETCHING) return decide(job, o, url);
  wait_for(job, o, url, name, index, 0);
  return 0;
}

int lf__job_robots_hold(job_t *job, const char *url, const char *name, uintptr_t index) {
  lf__job_robots_t *g = job->robots;
  char key[600], host[256];
  if (!g || g->fetching == 0 || origin_of(g, url, key, sizeof(key), host) < 0) return 1;
  origin_t *o = find(g, key);
  if (!o || o->state != FETCHING) return 1;
  wait_for(job, o, url, name, index, 1);
  return 0;
}

int lf__job_robots_paces(const job_t *job) {
  return job->robots && job->robots->delays.count > 0;
}

double lf__job_robots_host_delay(const job_t *job, const char *host) {
  const lf__job_robots_t *g = job->robots;
  uint32_t *ms = g ? lf__hmap_get(&g->delays, lf__hash64(host, strlen(host))) : NULL;
  return ms ? *ms / 1000.0 : 0;
}

int lf__job_is_robots(const job_t *job, const void *data) {
  return job->robots && lf__hmap_get(&job->robots->by_ptr, (uint64_t)(uintptr_t)data) != NULL;
}

void lf__job_on_robots_redirect(job_t *job, const void *data, long redirects) {
  if (!lf__job_is_robots(job, data)) return;
  origin_t *o = (origin_t *)data;
  if (redirects > o->redirects) o->redirects = redirects;
}

/* Crawl-delay paces the host (lf_fetcher_set_host_pace), up to --max-crawl-delay. */
static void apply_delay(job_t *job, origin_t *o) {
  double d = lf__robots_crawl_delay(o->robots);
  if (d <= 0) return;
  double cap = job->cfg->max_crawl_delay;
  if (d > cap && !job->cfg->quiet) {
    char *h = lf__display(o->host, 0);
    fprintf(stderr,
            "loopfetch: warning: %s asks for Crawl-delay: %g s; pacing it at --max-crawl-delay "
            "%g s\n",
            h ? h : "?", d, cap);
    free(h);
  }
  if (d > cap) d = cap;
  int rc = lf_fetcher_set_host_pace(job->fetcher, o->host, d);
  (void)rc; /* LF_ENOMEM: the host goes unpaced by its Crawl-delay, --wait still holds */
  /* -p: the pace the workers are told (job_procs.c); hosts by name, as the fetcher's */
  char name[256];
  size_t i = 0;
  for (; o->host[i]; i++)
    name[i] = o->host[i] >= 'A' && o->host[i] <= 'Z' ? (char)(o->host[i] + 32) : o->host[i];
  name[i] = '\0';
  int added;
  uint32_t ms = (uint32_t)(d * 1000 + 0.5),
           *v = lf__hmap_put(&job->robots->delays, lf__hash64(name, i), ms, &added);
  if (v && *v < ms) *v = ms;
}

/* What the reply says (RFC 9309 2.3.1). */
static void judge(job_t *job, origin_t *o, const lf_result_t *r) {
  long code = r->http_code;
  int cut = o->body_len > LF_ROBOTS_MAX_BYTES; /* we ended it: the first 500 KiB are enough */
  if (o->redirects > LF_ROBOTS_MAX_REDIRECTS || (code >= 300 && code < 400)) {
    /* 2.3.1.2: more than five redirects (or more than libcurl follows): unavailable */
    o->state = ALLOW_ALL;
  } else if ((r->status == 0 || cut) && code >= 200 && code < 300) {
    o->robots = lf__robots_parse(o->body ? o->body : "", o->body_len, job->robots->token);
    o->state = o->robots ? PARSED : DISALLOW_ALL;
    if (!o->robots) snprintf(o->why, sizeof(o->why), "robots.txt: out of memory while parsing");
    if (o->robots) apply_delay(job, o);
  } else if (code >= 400 && code < 500 && code != 429) {
    o->state = ALLOW_ALL; /* 2.3.1.3: unavailable, no rules */
  } else {
    /* 2.3.1.4: 5xx or unreachable, after the fetcher's retries: complete disallow. A 429 too,
     * as Google reads it: a site that says "too many requests" has not said "anything goes". */
    if (code >= 400)
      snprintf(o->why, sizeof(o->why), "robots.txt unreachable: HTTP %ld", code);
    else
      snprintf(o->why, sizeof(o->why), "robots.txt unreachable: %.120s",
               r->error ? r->error : "failed");
    o->state = DISALLOW_ALL;
  }
  free(o->body);
  o->body = NULL;
}

void lf__job_on_robots(job_t *job, const lf_result_t *r) {
  lf__job_robots_t *g = job->robots;
  origin_t *o = r->data;
  int stopping = job->exit_code || job->signal;
  g->fetching--;
  if (!stopping) judge(job, o, r);
  waiter_t *w = o->head;
  o->head = o->tail = NULL;
  while (w) {
    waiter_t *next = w->next;
    g->waiting--;
    job->outstanding--;
    if (stopping)
      lf__job_record_failure(job, w->url, w->name, "interrupted", LF_REC_INTERRUPTED, w->index);
    else if (w->given || decide(job, o, w->url))
      job->robots_release(job, w->url, w->name, w->index);
    free(w);
    w = next;
  }
  if (stopping && o->state == FETCHING) {
    o->state = DISALLOW_ALL;
    snprintf(o->why, sizeof(o->why), "robots.txt: the job stopped before it came");
  }
  if (o->want_sitemaps) hand_sitemaps(job, o);
  if (g->waiting == 0 && job->robots_release) /* nothing held back now */
    job->robots_release(job, NULL, NULL, 0);
  if (job->pages_started) lf__job_maybe_done(job); /* before (--sitemap robots): not yet */
}

void lf__job_robots_free(job_t *job) {
  lf__job_robots_t *g = job->robots;
  if (!g) return;
  for (size_t i = 0; i < g->count; i++) {
    origin_t *o = g->all[i];
    lf__robots_free(o->robots);
    free(o->body);
    free(o);
  }
  free(g->all);
  lf__hmap_free(&g->by_key);
  lf__hmap_free(&g->by_ptr);
  lf__hmap_free(&g->delays);
  curl_url_cleanup(g->url);
  free(g);
  job->robots = NULL;
}
