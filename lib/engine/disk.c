/* The disk queue: file work of all sinks reaches libuv's thread pool in batches. A pool trip
 * (queue lock, futex wake-up of a worker, eventfd back to the loop, two context switches)
 * costs more than creating and writing a small page on tmpfs, so one trip carries the work of
 * every sink that is waiting, up to LF__BATCH_MAX. At most LF__DISK_JOBS batches run at once:
 * more threads creating files in one folder only contend for its lock (bench/RESULTS.md). */
#include <stdlib.h>
#include "internal.h"

/* Sinks per batch: enough to amortise the trip, few enough that results come back steadily. */
#define LF__BATCH_MAX 64

static void batch_run(uv_work_t *work) {
  lf__batch_t *b = LF__CONTAINER_OF(work, lf__batch_t, work);
  for (lf__sink_t *s = b->first; s; s = s->disk_next)
    lf__sink_job_run(s);
}

static void batch_done(uv_work_t *work, int status) {
  lf__batch_t *b = LF__CONTAINER_OF(work, lf__batch_t, work);
  lf_fetcher_t *f = b->fetcher;
  lf__fetcher_enter(f); /* a sink's end may report and close; teardown waits for us */
  lf__sink_t *s = b->first;
  b->first = NULL; /* free for the next batch, which a sink below may already start */
  while (s) {
    lf__sink_t *next = s->disk_next; /* job_done may recycle s or queue it again */
    s->disk_next = NULL;
    lf__sink_job_done(s, status);
    s = next;
  }
  lf__disk_start(f);
  lf__fetcher_leave(f);
}

void lf__disk_submit(lf_fetcher_t *f, lf__sink_t *s) {
  s->disk_next = NULL;
  if (f->disk_tail)
    f->disk_tail->disk_next = s;
  else
    f->disk_head = s;
  f->disk_tail = s;
}

/* Takes up to LF__BATCH_MAX waiting sinks off the queue. */
static lf__sink_t *take(lf_fetcher_t *f) {
  lf__sink_t *first = f->disk_head, *last = first;
  for (size_t n = 1; n < LF__BATCH_MAX && last->disk_next; n++)
    last = last->disk_next;
  f->disk_head = last->disk_next;
  if (!f->disk_head) f->disk_tail = NULL;
  last->disk_next = NULL;
  return first;
}

void lf__disk_start(lf_fetcher_t *f) {
  for (int i = 0; i < LF__DISK_JOBS && f->disk_head; i++) {
    lf__batch_t *b = &f->batches[i];
    if (b->first) continue; /* running */
    b->fetcher = f;
    b->first = take(f);
    /* Fails only for a NULL work callback: a broken invariant, like libuv's own aborts. */
    if (uv_queue_work(f->loop, &b->work, batch_run, batch_done) != 0) abort();
  }
}
