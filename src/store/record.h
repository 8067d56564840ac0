/* What became of one URL, in the form every consumer shares: the manifest (one JSON line per
 * URL), the pipe from a worker process to its parent, the trace, and the summary. */
#ifndef LF_RECORD_H
#define LF_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "loopfetch.h"

typedef enum {
  LF_REC_SAVED = 0,
  LF_REC_FAILED = 1,
  LF_REC_SKIPPED = 2,     /* already complete in the output folder (a rerun) */
  LF_REC_INTERRUPTED = 3, /* stopped by a signal before it finished */
  LF_REC_UNCHANGED = 4,   /* --refresh: the server said 304, the saved file stays */
  LF_REC_ROBOTS = 5,      /* not fetched: its site's robots.txt disallows it (robots_rule) */
  LF_REC_NAVIGATED = 6,   /* a crawl's navigation page: fetched and parsed for links */
  LF_REC_CAPPED = 7       /* not fetched: beyond --max-urls or --max-pages */
} lf__rec_status_t;

typedef struct {
  const char *url;
  const char *file;  /* name inside the output folder, or NULL */
  const char *error; /* one line, or NULL */
  lf__rec_status_t status;
  long http_code;
  uint64_t bytes;   /* the page's size (saved: the file's, resumed or not) */
  uint64_t resumed; /* -C: of those, bytes that were already in its partial file */
  int attempts;
  int pid;                          /* process that fetched it */
  const char *etag, *last_modified; /* the page's validators (--refresh), or NULL */
  const char *warc_date; /* --warc-file: WARC-Date of the page's capture, or NULL */
  const char *url_id; /* a URL with a password: its keyed hash (urlkey.h), or NULL */
  const char *robots_rule;          /* LF_REC_ROBOTS: the deciding line ("Disallow: /x") */
  const char *lastmod;              /* the <lastmod> a sitemap gave the URL, or NULL */
  double start;                     /* seconds since the job started (the transfer's start) */
  lf_timings_t timings;
  const char *status_text; /* set by lf__record_parse_json: the status as written, also one
                            * this build does not know (`loopfetch status` reads manifests of
                            * other versions) */
} lf__record_t;

const char *lf__rec_status_name(lf__rec_status_t s); /* "saved", "failed", ... */

/* Fills rec from a fetcher result; status SAVED, UNCHANGED (a 304) or FAILED (or INTERRUPTED
 * when the job is stopping and the transfer was aborted). `start` is rebased by job_clock_offset
 * seconds. */
void lf__record_from_result(lf__record_t *rec, const lf_result_t *r, int interrupted,
                            double job_clock_offset);

/* Writes rec as one JSON object and a newline into buf. Returns the length, or the length it
 * would need (>= len) like snprintf. Keys: url, file, status, http, bytes, attempts, error,
 * pid, start, queued, dns, connect, tls, ttfb, total, written, and etag and last_modified when
 * the reply had them, warc_date when the page was archived, url_id, robots_rule and lastmod when
 * set. */
size_t lf__record_to_json(const lf__record_t *rec, char *buf, size_t len);

/* Parses a line written by lf__record_to_json, in place (line is modified; rec's strings
 * point into it). Returns 0 or LF_EINVAL. */
int lf__record_parse_json(char *line, lf__record_t *rec);

#endif
