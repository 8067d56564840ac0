/* --procs: worker processes, each running its own loop over the pages dealt to it.
 * Workers are this same program run with --worker (uv_spawn: a fresh process image, so no
 * loop, multi handle, TLS state or connection of the parent is ever shared across fork).
 * The parent writes "INDEX\tURL\tNAME[\t...]\n" lines to a worker's stdin, a few at a time: a
 * worker holds at most a share of the pages left (see window() in procs.c), and gets more as it
 * reports, so that every worker stays busy to the end whatever its pages cost. The worker
 * answers one "INDEX\t<record JSON>" line per URL on its stdout, before it the links it found
 * on a page it was asked to parse ("L\tINDEX\tURL", "X\tINDEX\tURL", "M\tINDEX\t..."), "B\tBYTES"
 * lines as body bytes arrive (throttled; a page's last bytes come before its record), and a
 * last "S\t{...}" line with its own peak RSS and CPU time. */
#ifndef LF_PROCS_H
#define LF_PROCS_H

#include <stdint.h>
#include <uv.h>
#include "settings.h"
#include "record.h"

typedef struct lf__procs_s lf__procs_t;

typedef struct {
  void *arg;
  /* A worker finished a URL; data is lf__procs_add's. */
  void (*on_record)(void *arg, const lf__record_t *rec, uintptr_t data);
  /* Before its record, what the worker found on the page: kind 'L' (a link of the next
   * level), 'X' (a --next candidate: return nonzero for no more of them) or 'M' (counts). */
  int (*on_found)(void *arg, uintptr_t data, const char *url, char kind, const char *value);
  /* A worker ended without reporting this URL (it crashed, was killed, or was stopped), or
   * none was left to take it. */
  void (*on_orphan)(void *arg, const char *url, const char *name, const char *why, uintptr_t data);
  void (*on_done)(void *arg); /* every worker has exited and its output was read */
  /* A worker's own totals, from its last line. */
  void (*on_usage)(void *arg, long maxrss_kb, double cpu_s);
  /* Body bytes a worker received since its last "B" line. */
  void (*on_bytes)(void *arg, uint64_t bytes);
  /* How many records (-e) a worker wrote for a page: an "R\tINDEX\tN" line before its record.
   * The worker appends them to the file itself; only the parent's summary needs the count. */
  void (*on_records)(void *arg, uint64_t n);
} lf__procs_cbs_t;

/* Spawns n workers on loop, each running `concurrency` transfers. Transfer options and the
 * output folder come from cfg; epoch_ns (uv_hrtime() at the job's start) gives the workers the
 * parent's clock, so that their records' start times line up in one trace. */
int lf__procs_start(uv_loop_t *loop, const lf_cli_t *cfg, unsigned n, unsigned concurrency,
                    uint64_t epoch_ns, const lf__procs_cbs_t *cbs, lf__procs_t **out);
/* A paced host (--wait, a robots.txt Crawl-delay): its pages all go to one worker, picked by
 * the host's name, so that its pace lives in one loop (the library's per-host queue: starts
 * spaced, retries paced, a 429 or 503 holding the host) and N workers never each take it at
 * the full pace. The worker is told once, before the host's first page, by a line
 * "P\tHOST\tINTERVAL\tHOLD\n": the host's own interval (its Crawl-delay; --wait the workers
 * have on their command line), and how long from then its first start waits (the parent may
 * have just asked it for its robots.txt, a sitemap or a list page). */
typedef struct {
  const char *host; /* lower case, as in the URL */
  double interval, hold;
} lf__procs_pace_t;

/* Queues a page for the first worker with room, or, for a paced host (pace not NULL), for
 * its host's worker at once (its pace, not a window, spaces its pages); `extra` ("" or
 * "\tETAG\tLAST_MODIFIED..." for --refresh, -e's parent, a navigation level) follows the name
 * on its line; data comes back with its record. Returns 0 or LF_ENOMEM. */
int lf__procs_add(lf__procs_t *p, const char *url, const char *name, const char *extra,
                  const lf__procs_pace_t *pace, uintptr_t data);
/* No more pages: each worker's stdin is closed once the queue is dealt. Returns 0. */
int lf__procs_end_input(lf__procs_t *p);
/* Pages dealt to workers and not reported yet, and pages not dealt yet. */
size_t lf__procs_pending(const lf__procs_t *p);
/* Asks every live worker to stop (SIGTERM), or kills them (SIGKILL) when hard. */
void lf__procs_stop(lf__procs_t *p, int hard);
/* Frees p after on_done ran. */
void lf__procs_free(lf__procs_t *p);
/* --cookie-jar with -p: merges the workers' jars into the job's, which the parent's own fetcher
 * wrote as it closed; removes them. 0 or a negative error code. */
int lf__procs_merge_cookies(lf__procs_t *p);

#endif
