/* The list pages (job_lists.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errmsg.h"
#include "frontier.h"
#include "job_end.h"
#include "job_lists.h"
#include "job_pages.h"
#include "safe_text.h"
#include "shard.h"

void lf__job_start_lists(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  job->lists = calloc(cfg->list_count, sizeof(*job->lists));
  job->list_tags = calloc(cfg->list_count, 1);
  if (!job->lists || !job->list_tags) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->lists_pending = cfg->list_count;
  for (size_t i = 0; i < cfg->list_count; i++) {
    const char *url = cfg->list_urls[i];
    lf_request_t req = {.url = url, .output = LF_OUTPUT_MEMORY, .data = &job->list_tags[i]};
    int rc = lf_fetcher_add(job->fetcher, &req);
    if (rc < 0) {
      lf__job_fatal(job, LF_EXIT_LOCAL, "list page %s: %s", url, lf_strerror(rc));
      return;
    }
  }
}

int lf__job_is_list(const job_t *job, const void *data) {
  const char *p = data;
  return job->list_tags && p >= job->list_tags && p < job->list_tags + job->cfg->list_count;
}

/* The URLs of the job, one per line (only this shard's with --shard), and the end. */
void lf__job_print_links(job_t *job) {
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
  if (cfg->list_count && lf__frontier_dedup(&job->links) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  if (cfg->list_count && job->links.count == 0) {
    char *shown = lf__display(cfg->list_url, 1);
    if (cfg->list_count == 1)
      lf__error("list page %s: selector '%s' matched no http(s) links (%zu elements matched)",
                shown ? shown : "?", cfg->selector, job->links.matched);
    else
      lf__error("%zu list pages: selector '%s' matched no http(s) links (%zu elements matched)",
                cfg->list_count, cfg->selector, job->links.matched);
    free(shown);
    lf__job_finish(job, LF_EXIT_NOTHING);
    return;
  }
  if (cfg->links_only) {
    lf__job_print_links(job);
    return;
  }
  lf__job_start_pages(job, job->links.count);
}

static void all_lists_in(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  for (size_t i = 0; job->xpages && i < cfg->list_count; i++) /* -e: each link's parent */
    if (lf__xpages_note_parent(job->xpages, cfg->list_urls[i], job->lists[i].urls,
                               job->lists[i].count) < 0) {
      lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
      return;
    }
  /* The list pages' links, without duplicates, come first: robots.txt applies to them (not to
   * -i's URLs that follow, which the user gave) */
  if (lf__frontier_merge_lists(job) < 0 || lf__frontier_dedup(&job->links) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->discovered = job->links.count;
  job->links_cap = job->links.count;
  if (job->input) { /* -i's URLs join them: read the whole input, then go on */
    job->slurping = 1;
    if (lf__frontier_slurp(job) == 1) lf__job_links_ready(job); /* else lines are coming */
    return;
  }
  lf__job_links_ready(job);
}

/* -e without --select: the start pages are the last level, fetched as pages (with -i's URLs
 * after them), without duplicates. */
void lf__job_start_urls(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  job->links.urls = calloc(cfg->start_count, sizeof(*job->links.urls));
  for (size_t i = 0; job->links.urls && i < cfg->start_count; i++, job->links.count++)
    if (!(job->links.urls[i] = strdup(cfg->start_urls[i]))) break;
  if (!job->links.urls || job->links.count < cfg->start_count ||
      lf__frontier_dedup(&job->links) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return;
  }
  job->links_cap = cfg->start_count;
  if (job->input) {
    job->slurping = 1;
    if (lf__frontier_slurp(job) == 1) lf__job_links_ready(job);
    return;
  }
  lf__job_links_ready(job);
}

static int is_html(const char *content_type) {
  /* No Content-Type: give the parser the benefit of the doubt. */
  return !content_type || strstr(content_type, "html") != NULL;
}

void lf__job_on_list(job_t *job, const lf_result_t *r) {
  const char *url = r->url;
  size_t i = (size_t)((const char *)r->data - job->list_tags);
  job->lists_pending--;
  if (job->exit_code || job->signal) return; /* another list page failed: the job is ending */
  if (r->status == LF_ETOOBIG) {
    char limit[32];
    snprintf(limit, sizeof(limit), "%zu", job->cfg->fetch.max_memory_body);
    lf__job_fatal(job, LF_EXIT_LIST,
                  "list page %s: larger than %s bytes, the limit for a list page "
                  "(--max-list-size; parsing takes about 13 times its size in memory)",
                  url, limit);
    return;
  }
  if (r->status != 0) {
    char *su = lf__display(url, 1), *sw = lf__display(r->error ? r->error : "failed", 0);
    lf__error("list page %s: %s (%d attempt%s)", su ? su : "?", sw ? sw : "failed", r->attempts,
              r->attempts == 1 ? "" : "s");
    free(su);
    free(sw);
    lf__job_finish(job, LF_EXIT_LIST);
    return;
  }
  if (!is_html(r->content_type)) {
    lf__job_fatal(job, LF_EXIT_LIST, "list page %s: not HTML (Content-Type: %s)", url,
                  r->content_type);
    return;
  }
  char err[256];
  const char *base = r->effective_url ? r->effective_url : url; /* after redirects */
  /* The Content-Type charset decides the page's encoding unless it starts with a BOM. */
  int rc = lf_links_extract2(r->body, r->body_len, base, r->content_type, job->cfg->selector,
                             &job->lists[i], err, sizeof(err));
  lf__job_give_back_memory(job); /* the pages start in a smaller heap */
  if (rc < 0) {
    lf__job_fatal(job, rc == LF_ESELECTOR ? LF_EXIT_USAGE : LF_EXIT_LOCAL, "list page %s: %s", url,
                  err);
    return;
  }
  if (job->lists_pending == 0) all_lists_in(job);
}
