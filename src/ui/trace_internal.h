/* What trace.c (collecting, sorting, the Chrome trace JSON) and waterfall.c (the SVG waterfall)
 * share: the copied records and their phases. Not part of the program's other modules. */
#ifndef LF_TRACE_INTERNAL_H
#define LF_TRACE_INTERNAL_H

#include <stdio.h>
#include "trace.h"

typedef struct {
  char *url, *file, *error; /* one allocation, at url; file and error may be NULL */
  lf__rec_status_t status;
  long http_code;
  uint64_t bytes;
  int attempts, pid;
  double start;
  lf_timings_t tm;
  size_t lane; /* JSON: row within the process, from 1 */
} entry_t;

struct lf__trace_s {
  entry_t *v; /* transfers only */
  size_t n, cap;
  size_t added; /* every record, transfers or not */
};

enum { PH_QUEUED, PH_DNS, PH_CONNECT, PH_TLS, PH_WAIT, PH_RECEIVE, PH_WRITE, PH_N };
extern const char *const lf__trace_phase_name[PH_N];
extern const char *const lf__trace_phase_color[PH_N];
#define FAILED_COLOR "#e15759"

typedef struct {
  int phase;
  double t0, t1; /* seconds from the transfer's start */
} seg_t;

typedef struct {
  double t;
  int delta; /* +1 start, -1 end; after sorting: the count in flight from t on */
} step_t;

/* From the transfer's start: where its last phase (network or write) ends. */
double lf__trace_entry_end(const entry_t *e);
/* Splits a transfer into its phases, out[] with room for PH_N; returns how many. */
int lf__trace_entry_phases(const entry_t *e, seg_t *out);
/* The in-flight count of v[0..n) as a step function: *out holds *len points (time, count
 * from then on). Returns 0 or LF_ENOMEM. */
int lf__trace_in_flight_steps(const entry_t *v, size_t n, step_t **out, size_t *len, int *peak);
/* qsort comparator: by start, then by when queued, then by URL. */
int lf__trace_cmp_start(const void *pa, const void *pb);
/* Writes s escaped for XML text or attributes, at most max_chars characters. */
void lf__trace_xml_str(FILE *f, const char *s, size_t max_chars);
/* The output file ("-": standard output), and its close with the error check. */
FILE *lf__trace_open_out(const char *path, char *errbuf, size_t errlen, int *err);
int lf__trace_close_out(FILE *f, const char *path, char *errbuf, size_t errlen);

#endif
