/* The frontier (frontier.h). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "frontier.h"
#include "urlkey.h"
#include "job_end.h"
#include "job_record.h"

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

/* Whether the URL just parsed into job->url is read for the first time: an input line that
 * repeats one (lf__url_identity: as written, or differing only in the scheme's and host's
 * case, a default port, the fragment) is dropped, as a list page's repeated links are. The set
 * keeps a 64-bit hash of each URL, 6 bytes (nameset.c): two different URLs with the same hash
 * would count as one, odds about 3e-8 for a million URLs. 1 new, 0 seen, -1 out of memory. */
static int first_time(job_t *job, const char *u) {
  if (!job->input_seen && lf__names_new(&job->input_seen) < 0) return -1;
  int rc = lf__names_add_key(job->input_seen, lf__url_identity(job->url, u));
  return rc < 0 ? -1 : rc;
}

/* The next candidate URL, parsed into job->url: 1 with *url set, 0 at the end. */
int lf__frontier_next(job_t *job, const char **url) {
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
    const char *why = nul ? "the input line holds a NUL byte" : NULL;
    if (!why && (job->input->cut || strlen(u) > LF_URL_MAX)) {
      why = "the URL is longer than 65536 bytes (servers refuse far shorter ones)";
      if (strlen(u) > 203) strcpy(u + 200, "..."); /* shown cut: its head names the line */
    }
    if (!why) why = parse_url(job, u);
    int first = why ? 1 : first_time(job, u);
    if (first == 0) continue; /* a repeat: its first line is what the job does */
    if (first < 0) why = "out of memory";
    if (!why) {
      *url = u;
      return 1;
    }
    lf__job_record_failure(job, u, NULL, why, LF_REC_FAILED, 0);
  }
}

/* Input lists are read whole for --procs (pages are named before they are dealt) and streamed
 * otherwise, so that a single loop over a huge list needs memory for what is in flight;
 * also for --links, and after the list pages when there are some. Called again as lines
 * arrive. 1: the input is read whole and its URLs follow the links; 0: more may come (or the
 * job is stopping); -1: out of memory, after lf__job_fatal. */
/* The input read early (job->held_input) joins the links. 1, or -1 after lf__job_fatal. */
static int take_held(job_t *job) {
  lf_links_t *h = &job->held_input;
  if (job->links.count == 0) { /* no list pages' links: the array itself moves, not copied */
    free(job->links.urls);
    job->links.urls = h->urls;
    job->links.count = job->links_cap = h->count;
    h->urls = NULL;
    h->count = 0;
  } else if (h->count && job->links.count + h->count > job->links_cap) {
    char **u = realloc(job->links.urls, (job->links.count + h->count) * sizeof(*u));
    if (!u) {
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory reading the input", "");
      return -1;
    }
    job->links.urls = u;
    job->links_cap = job->links.count + h->count;
  }
  for (size_t i = 0; i < h->count; i++)
    job->links.urls[job->links.count++] = h->urls[i];
  free(h->urls);
  memset(h, 0, sizeof(*h));
  job->input_held = 0;
  job->slurping = 0;
  return 1;
}

int lf__frontier_slurp(job_t *job) {
  const char *url;
  if (job->input_held) return take_held(job);
  while (job->input && lf__frontier_next(job, &url)) {
    if (job->links.count == job->links_cap) {
      size_t cap = job->links_cap ? job->links_cap * 2 : 1024;
      char **u = realloc(job->links.urls, cap * sizeof(*u));
      if (!u) break;
      job->links.urls = u;
      job->links_cap = cap;
    }
    if (!(job->links.urls[job->links.count] = strdup(url))) break;
    job->links.count++;
  }
  if (!job->input || job->input_waiting) return 0; /* stopped, or more to come */
  if (!job->input->eof) {                          /* left the loop above early */
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory reading the input", "");
    return -1;
  }
  lf__lines_close(job->input);
  job->input = NULL;
  job->slurping = 0;
  return 1;
}

static uint64_t fnv(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Drops later copies of a URL, keeping the order of first appearance. -1: out of memory. */
int lf__frontier_dedup(lf_links_t *l) {
  size_t cap = 16;
  while (cap < 2 * l->count)
    cap *= 2;
  size_t *slots = calloc(cap, sizeof(*slots)); /* index + 1; 0 is empty */
  if (!slots) return -1;
  size_t kept = 0;
  for (size_t i = 0; i < l->count; i++) {
    char *u = l->urls[i];
    size_t s = (size_t)fnv(u) & (cap - 1);
    while (slots[s] && strcmp(l->urls[slots[s] - 1], u) != 0)
      s = (s + 1) & (cap - 1);
    if (slots[s]) {
      free(u);
      continue;
    }
    l->urls[kept] = u;
    slots[s] = ++kept;
  }
  l->count = kept;
  free(slots);
  return 0;
}

int lf__frontier_push(job_t *job, char *url) {
  if (job->links.count == job->links_cap) {
    size_t cap = job->links_cap ? job->links_cap * 2 : 64;
    char **u = realloc(job->links.urls, cap * sizeof(*u));
    if (!u) return LF_ENOMEM;
    job->links.urls = u;
    job->links_cap = cap;
  }
  job->links.urls[job->links.count++] = url;
  return 0;
}
