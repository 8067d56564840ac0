/* Where every URL's record goes: counters, one line per failure, the manifest, and at the end
 * the summary (a human line on stderr, or JSON on stdout). */
#ifndef LF_REPORT_H
#define LF_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "record.h"

typedef struct {
  uint64_t start_ns;
  size_t saved, failed, skipped, interrupted, unchanged;
  size_t robots; /* not fetched: disallowed by robots.txt */
  size_t navigated, capped; /* a crawl's navigation pages; URLs beyond --max-urls/--max-pages */
  size_t renamed; /* pages given another name: a file not ours held theirs */
  uint64_t bytes;
  int records_on; /* -e: the summary counts records too */
  size_t records; /* -e: records written */
  int quiet;
  int manifest_fd;           /* -1: none; appended one write(2) per record */
  const char *manifest_path; /* for messages; owned by the caller, alive until report_free */
  int manifest_err;          /* first write error, as -errno */
  char *line;                /* the record being written, grown to the longest one */
  size_t line_cap;
  /* Filled from worker processes in --procs mode. */
  long children_maxrss_kb; /* sum of the workers' peaks */
  double children_cpu_s;
  struct lf__stats_s *latency;     /* seconds per saved page */
  struct lf__trace_s *trace;       /* NULL: no --trace / --waterfall */
  struct lf__progress_s *progress; /* NULL: no progress line */
  int live_bytes;                  /* progress->bytes grows as bytes arrive, not per record */
  char **failures;                 /* --json: the first LF_REPORT_FAILURES failed pages, url and
                                      error in turn, as shown on stderr (lf__display) */
  size_t failures_len;             /* pairs kept */
} lf__report_t;

#define LF_REPORT_FAILURES 100 /* failed pages that --json lists; failures_total counts all */

/* Returns 0 or LF_ENOMEM. */
int lf__report_init(lf__report_t *r, int quiet);
/* Keeps every record for --trace/--waterfall (memory O(URLs): opt-in). 0 or LF_ENOMEM. */
int lf__report_keep_trace(lf__report_t *r);
/* Writes the trace files that were asked for; one line on stderr per error. 0 or -1. */
int lf__report_write_trace(lf__report_t *r, const char *json_path, const char *svg_path,
                           const char *title);
void lf__report_free(lf__report_t *r);
/* Records go to fd (opened with O_APPEND, see manifest.h), which the report closes. */
void lf__report_set_manifest(lf__report_t *r, int fd, const char *path);
/* rec as one JSON line in r->line (grown as needed): its length, or 0 when out of memory. */
size_t lf__report_format(lf__report_t *r, const lf__record_t *rec);
/* Counts the record, prints a line if it failed, appends it to the manifest. */
void lf__report_record(lf__report_t *r, const lf__record_t *rec);
/* Shortcut for a URL that failed before any transfer (junk line, no usable name). */
void lf__report_failure(lf__report_t *r, const char *url, const char *why);
double lf__report_elapsed(const lf__report_t *r);
/* "loopfetch: N saved, N failed, X MB in S s (R pages/s)" on stderr (not with quiet). */
void lf__report_summary(const lf__report_t *r);
/* The summary as one JSON object on stdout, with the exit status and the first error line
 * (NULL: none). Printed also when the job stopped before any page (mode "none", zeros). */
void lf__report_json(const lf__report_t *r, const char *mode, unsigned procs, unsigned conc,
                     int exit_code, const char *error);
/* ,"failures":[{"url":…,"error":…},…],"failures_total":N — the first LF_REPORT_FAILURES
 * failed pages and how many failed in all: the end of --json's object. */
void lf__report_json_failures(const lf__report_t *r);
/* --json's object for a run that stopped before its job started (usage or local error). */
void lf__report_json_stopped(int exit_code);
/* Peak resident memory of this process image, KiB (VmHWM). */
long lf__peak_rss_kb(void);
/* Closes the manifest. Returns 0 or -errno of the first write error. */
int lf__report_close(lf__report_t *r);

#endif
