/* The job's records (job_record.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "job_end.h"
#include "job_record.h"
#include "safe_text.h"

/* A URL with a password is recorded with its url_id (urlkey.h), the key made on first need. */
static void add_url_id(job_t *job, lf__record_t *rec, char *id) {
  size_t off;
  if (rec->url_id || !lf__url_userinfo(rec->url, &off)) return;
  int was = job->urlkey.state;
  int rc = lf__urlkey_load(&job->urlkey, job->dirfd, 1);
  if (rc == 0) {
    lf__url_id(&job->urlkey, rec->url, id);
    rec->url_id = id;
  } else if (was == 0 && job->cfg->mode != LF_MODE_WORKER) { /* said once */
    fprintf(stderr,
            "loopfetch: warning: cannot keep %s/%s: %s; a rerun fetches the pages of URLs "
            "with a password again, and status does not find them\n",
            job->cfg->out_dir, LF_URLKEY_FILE, strerror(-rc));
  }
}

/* "B\tBYTES\n", buffered: the caller flushes stdout. 0, or -1 if the write failed. */
static int tell_bytes(job_t *job) {
  if (!job->bytes_untold) return 0;
  int rc = printf("B\t%llu\n", (unsigned long long)job->bytes_untold) < 0 ? -1 : 0;
  job->bytes_untold = 0;
  job->bytes_told_ms = uv_now(&job->loop);
  return rc;
}

/* Throttled, so a worker with thousands of small pages in flight writes a few lines a second,
 * not one per chunk; the parent's progress line then moves during a large download, as one
 * loop's does. */
void lf__job_worker_bytes(job_t *job, uint64_t delta) {
  job->bytes_untold += delta;
  if (uv_now(&job->loop) - job->bytes_told_ms < LF__BYTES_TELL_MS) return;
  /* Called inside libcurl, so a failed write ends nothing here: the parent is gone, and the
   * next record's write finds that out and ends the job. */
  if (tell_bytes(job) == 0) (void)fflush(stdout);
}

void lf__job_record(job_t *job, const lf__record_t *in, uintptr_t index) {
  char id[LF_URL_ID_HEX + 1];
  lf__record_t copy = *in, *rec = &copy;
  add_url_id(job, rec, id);
  if (job->cfg->mode != LF_MODE_WORKER) {
    lf__report_record(&job->report, rec);
    return;
  }
  /* A line of any length (a URL may be long): the parent reassembles lines from the pipe. */
  char head[32];
  int n = snprintf(head, sizeof(head), "%lu\t", (unsigned long)LF_NAV_INDEX(index));
  size_t len = lf__report_format(&job->report, rec);
  const char *line = job->report.line;
  if (!len) { /* out of memory: the parent fetches the page again itself */
    line = "{\"url\":\"?\",\"status\":\"interrupted\",\"error\":\"out of memory\"}\n";
    len = strlen(line);
  }
  /* The page's last bytes before its record: the parent counts the bytes of the B lines only. */
  if (tell_bytes(job) < 0 || fwrite(head, 1, (size_t)n, stdout) != (size_t)n ||
      fwrite(line, 1, len, stdout) != len || fflush(stdout) != 0)
    lf__job_finish(job, LF_EXIT_LOCAL); /* the parent is gone: nobody to report to */
}

/* A record without a transfer: a failure before any, a skip (bytes: the file's size). */
static void record_untransferred(job_t *job, const char *url, const char *file, const char *why,
                                 lf__rec_status_t status, uint64_t bytes, uintptr_t index) {
  lf__record_t rec = {.url = url,
                      .file = file,
                      .error = why,
                      .status = status,
                      .bytes = bytes,
                      .pid = job->pid,
                      .start = lf__report_elapsed(&job->report)};
  lf__job_record(job, &rec, index);
}

void lf__job_record_failure(job_t *job, const char *url, const char *file, const char *why,
                            lf__rec_status_t status, uintptr_t index) {
  record_untransferred(job, url, file, why, status, 0, index);
}

void lf__job_record_skipped(job_t *job, const char *url, const char *file, uint64_t bytes) {
  record_untransferred(job, url, file, NULL, LF_REC_SKIPPED, bytes, 0);
}
