/* Timelines of a run, for --trace and --waterfall. Opt-in because it keeps a copy of every
 * record until the end: memory grows with the number of URLs (about 150 bytes plus the URL,
 * file name and error text each), unlike the rest of the job, which stays O(in flight).
 *
 *  - Chrome trace-event JSON (load it in https://ui.perfetto.dev or chrome://tracing): one
 *    process track per fetching process ("loopfetch", "worker N"); within it, lanes ("lane N",
 *    the event's tid) so that transfers overlapping in time sit on separate rows. Each transfer
 *    is a complete event named after its file (or URL) with url, status, http, bytes,
 *    attempts, error and queued_ms in args, and its phases nested inside as consecutive
 *    slices: dns, connect, tls, wait (to the first byte), receive, write. Time spent queued
 *    before the transfer started is in args only: as a slice it would overlap the transfer
 *    before it in the same lane. A counter track "in flight" per process shows concurrency.
 *  - A self-contained SVG waterfall: one bar per transfer, sorted by start, with the queued
 *    time and each phase in its own color, failures in red, a time axis in seconds, a legend,
 *    and an in-flight chart below. Plots at most ~1000 px tall whatever the number of URLs.
 *
 * Records that never reached the network (skipped as complete, failed or interrupted before a
 * transfer started: attempts == 0) are counted, not drawn. */
#ifndef LF_TRACE_H
#define LF_TRACE_H

#include <stddef.h>
#include "record.h"

typedef struct lf__trace_s lf__trace_t;

/* Returns 0 or LF_ENOMEM. */
int lf__trace_new(lf__trace_t **out);

/* Copies what the trace needs from rec (its strings included). Returns 0 or LF_ENOMEM. */
int lf__trace_add(lf__trace_t *t, const lf__record_t *rec);

/* Records added, and how many of them were transfers (drawn). */
size_t lf__trace_count(const lf__trace_t *t);
size_t lf__trace_transfers(const lf__trace_t *t);

/* Write the trace to path ("-": standard output). The process calling them is named
 * "loopfetch" in the trace, other pids "worker 1".. in ascending order. title: the SVG's
 * heading, e.g. "sequential (-c 1): 233 pages in 58.2 s" (NULL: "loopfetch"); a subtitle with
 * counts, latency percentiles and peak concurrency is added. Each returns 0, or a negative
 * errno-style code (UV_E* values) with one line in errbuf. They sort the records in place. */
int lf__trace_write_json(lf__trace_t *t, const char *path, char *errbuf, size_t errlen);
int lf__trace_write_svg(lf__trace_t *t, const char *path, const char *title, char *errbuf,
                        size_t errlen);

void lf__trace_free(lf__trace_t *t);

#endif
