/* Internal structures shared by fetcher.c (API and queue), loop.c (libuv/libcurl glue),
 * transfer.c (one request's easy handle) and sink.c (where its body goes). */
#ifndef LF_INTERNAL_H
#define LF_INTERNAL_H

#include <curl/curl.h>
#include <strings.h>
#include "loopfetch.h"
#include "decode.h"

typedef struct lf__transfer_s lf__transfer_t;
typedef struct lf__pending_s lf__pending_t;
typedef struct lf__capture_s lf__capture_t;
typedef struct lf__split_s lf__split_t;
struct lf__warc_file_s;

/* https connections per host (h2.c): what libcurl's cap is and what it was learned from. */
typedef struct lf__h2_s {
  struct lf__conn_s *conns; /* https connections in use or kept, by local port */
  size_t len, cap;
  size_t admitted;   /* https transfers on the multi handle */
  size_t attached;   /* of those, on a connection (the pre-request callback ran) */
  size_t opening;    /* of those, opening a connection of their own */
  long k;            /* connections per host the https transfers need */
  long cap_now;      /* CURLMOPT_MAX_HOST_CONNECTIONS as set */
  long curl_timeout; /* what libcurl last asked its timer for: 0 while it has work queued */
  int off;           /* the server does not multiplex: no cap */
  int failed[8];     /* local ports of HTTP/2 connections that failed lately (lf__h2_failed) */
  unsigned failed_next;
  uv_timer_t grace; /* when to assume a connection's limits are known */
  void *kick;       /* CURL *: an idle handle whose removal makes libcurl look at its queue */
} lf__h2_t;

/* Per-host pacing (pace.c). */
typedef struct lf__host_s lf__host_t;
typedef struct lf__pace_s {
  lf__host_t **buckets; /* hosts by name, a power of two of them */
  size_t nbuckets, count, swept;
  lf__host_t *waiting, *waiting_tail; /* hosts with parked requests, soonest start first */
  size_t parked;                      /* requests parked on their hosts */
  double wait;                        /* lf_fetcher_set_pace */
  unsigned flags;
} lf__pace_t;

/* A fetcher. Opaque to callers (include/loopfetch.h). */
struct lf_fetcher_s {
  void *data; /* the caller's (lf_fetcher_set_data) */
  uv_loop_t *loop;
  void *multi;       /* CURLM * */
  void *share;       /* CURLSH *: DNS and TLS session cache shared by all transfers */
  void *header_list; /* struct curl_slist * of opts.headers */
  struct curl_slist *trusted_headers; /* of those, what may cross origins (redirect.c) */
  lf_http_options_t http;             /* opts.http, copied (httpopts.c); zero: none */
  char *http_strings;                 /* the copies of its strings */
  uv_timer_t timer;                   /* libcurl's single timeout */
  lf_options_t opts;
  char *opt_strings; /* copies of the option strings (headers are in header_list) */
  int out_dirfd;     /* opts.out_dir, so output files are created relative to it */
  int link_mode;     /* how a page gets its name, probed with out_dirfd: 0 temporary name +
                        rename; O_TMPFILE + linkat, 1 with AT_EMPTY_PATH, 2 via /proc/self/fd */
  lf_result_cb on_result;
  lf_need_cb on_need;
  lf_name_cb on_name;
  lf_event_cb on_event;
  lf_close_cb on_close;
  lf_body_cb on_body;
  lf_progress_cb on_progress;
  lf_easy_cb on_easy;
  lf__pending_t *queue_head, *queue_tail;
  lf__pending_t *delayed; /* waiting to retry, soonest first */
  uv_timer_t wake;        /* fires when a retry is due or the rate limit allows a start */
  uv_timer_t watchdog;    /* ends transfers that make no progress (watchdog.c) */
  uv_timer_t bandwidth;   /* shares http.limit_rate among the transfers (bandwidth.c) */
  double bw_tokens;       /* bytes the job may still receive now; negative: received ahead */
  uint64_t bw_tokens_at;  /* lf__now_ns() when bw_tokens was last topped up; 0: not yet */
  uint64_t bw_total;      /* body bytes received, all transfers */
  uint64_t bw_mark;       /* bw_total at bw_mark_ms */
  uint64_t bw_mark_ms;    /* uv_now() when the job's use was last measured */
  double bw_budget;       /* what the shares add up to (bandwidth.c); 0: the rate */
  uint64_t bw_done_bytes; /* bodies of the transfers that ended, and how many: what a start */
  uint64_t bw_done_count; /* reserves is their average */
  uint64_t watchdog_at;   /* uv_now() of its last tick */
  uint64_t polled_turn;   /* uv_now() of the loop turn that last drove a socket (loop.c) */
  uint64_t reaped_turn;   /* uv_now() of the loop turn that last reaped a transfer (loop.c) */
  size_t decode_mem;      /* brotli and zstd decoders' memory, all transfers (decode.c) */
  double tokens;          /* rate limit: starts allowed now */
  uint64_t tokens_at;     /* when tokens was last topped up */
  uint64_t rand_state;    /* jitter */
  lf__transfer_t *active; /* started and not yet reported */
  lf__transfer_t *idle;   /* finished; kept for reuse */
  void **spare;           /* CURL * easy handles between transfers, set up for reuse */
  size_t spare_len, spare_cap;
  struct lf__poll_s **poll_index; /* one poll handle per socket we watch, by descriptor */
  size_t poll_index_len;
  size_t queued, delayed_count, in_flight, open_handles;
  size_t unreported;   /* requests added whose result has not been called */
  size_t writing;      /* of in_flight: network part done, output still being written */
  size_t connected;    /* of in_flight: on the network with a connection (prereq called) */
  uint64_t clock_base; /* uv_hrtime() at init */
  uint64_t temp_seq;   /* makes temporary file names unique */
  size_t buffered;     /* body bytes waiting for the disk, all transfers together */
  size_t paused_sinks; /* transfers paused until their buffered output is written */
  long pid;            /* getpid() at init, for temporary names (a system call each time) */
  struct lf__sink_s *disk_head, *disk_tail; /* sinks whose file work waits for the pool */
  struct lf__batch_s {                      /* file work of many sinks in one pool job */
    uv_work_t work;
    struct lf_fetcher_s *fetcher;
    struct lf__sink_s *first; /* NULL: this batch is free */
  } batches[2];
  lf__h2_t h2;
  lf__pace_t pace;
  size_t plain_active; /* http (not https) transfers on the multi handle */
  int depth;           /* nesting of our callbacks; teardown waits until it is 0 */
  int closing, in_refill;
  int in_body;  /* inside the body callback, so inside libcurl: starts wait for the wake timer */
  int wake_now; /* the wake timer is due at once: deferred starts or stream resumes wait */
  int done_due; /* finished transfers left for the next turn (loop.c): the wake timer reaps them */
  struct lf__warc_file_s *warc; /* opts.warc: the WARC files (capture.c), or NULL */
  size_t capture_buffered;      /* body bytes waiting to be archived, all transfers together */
  /* Buffers of finished hops kept for the next ones (capture.c): fresh memory for each hop's
   * body was a page fault per 4 KiB, and its release a TLB shootdown. */
  struct {
    char *p;
    size_t cap;
  } capture_stash[8];
  int capture_stash_len;
  int capture_jobs, capture_jobs_max; /* archive jobs on the pool, and the most at once */
  struct lf__hop_s *capture_wait, *capture_wait_tail; /* hops whose job waits for a turn */
  int cancel_due; /* lf_fetcher_cancel() marked requests: the wake timer reports them */
  int close_due;  /* lf_fetcher_close() was called: the wake timer aborts what is left */
};

/* A request waiting for a slot. One allocation: the struct, then url and file strings. */
struct lf__pending_s {
  lf__pending_t *next;
  void *data;
  lf_output_t output;
  uint64_t added_ns;
  uint64_t due_ns;       /* delayed retries: not before this */
  int attempts;          /* transfers already made */
  int cancelled;         /* lf_fetcher_cancel(): report, do not start or retry */
  int restarts;          /* resume.c: started again from byte 0 after a reply to a range */
  long timeout_ms;       /* lf_request_t.timeout_ms */
  unsigned flags;        /* lf_request_t.flags */
  const char *file;      /* points into url[] storage, or NULL */
  const char *headers;   /* the request's own headers, NUL-separated, in url[] storage */
  const char *warc_date; /* lf_request_t.warc_refers_to_date, in url[] storage, or NULL */
  size_t header_count;
  int no_range; /* split.c: a "Range: bytes=0-" got 416 (an empty file): asked without one */
  char url[];
};

/* Output sink. Memory sinks grow a buffer; file sinks stream through libuv's thread pool so
 * that open/write/link/close never run on the loop thread (disk.c batches that work). One job
 * at a time per sink; while it waits or runs the loop thread fills `fill`, and the job owns
 * `busy`. */
typedef struct lf__sink_s lf__sink_t;
typedef struct lf__batch_s lf__batch_t;
struct lf__sink_s {
  lf__transfer_t *transfer;
  lf_output_t kind;
  lf__sink_t *disk_next; /* in the disk queue or a running batch */
  char *fill; /* bytes received and not yet handed to a job (memory sinks: the whole body) */
  size_t fill_len, fill_cap;
  char *busy; /* bytes the running job writes */
  size_t busy_len, busy_cap;
  int fd;             /* temporary file, -1 until the first job opens it */
  char temp_name[48]; /* ".lf-PID-SEQ.part" inside out_dir */
  int job_running;    /* a job (queued or in a running batch) owns busy/fd */
  int finishing;      /* the transfer ended; flush, then name (link or rename) or drop */
  int keep;           /* finishing: give the file the page's name (1) or drop it (0) */
  int paused;         /* the write callback returned CURL_WRITEFUNC_PAUSE */
  int never_pause;    /* HTTP/2: libcurl 7.88 resumes a paused stream only on its next 1 s
                         tick, so such bodies are buffered instead (bench/RESULTS.md), up to
                         LF__BUFFER_HARD for all sinks together (sink.c) */
  int cb_paused;      /* LF_OUTPUT_CALLBACK: the body callback asked for a pause (stream.c) */
  int cb_held;        /* ...and libcurl holds a chunk for us (we returned CURL_WRITEFUNC_PAUSE) */
  int cb_resume;      /* ...and lf_stream_resume() was called: unpaused on the next wake */
  int err;            /* first error, as -errno */
  const char *err_op; /* "open", "write", "link", "close", "rename" */
  size_t job_bytes;   /* bytes the running job writes, released from the budget after it */
  size_t accounted;   /* bytes of this sink counted in the fetcher's buffered total */
  int job_finishing;  /* snapshot for the job: name or drop the file after writing */
  int job_keep;       /* snapshot for the job: create the file even if empty, then name it */
  int job_no_replace; /* snapshot for the job: LF_REQUEST_NO_REPLACE */
  int job_err;        /* set by the job (pool thread), read in its after-callback */
  const char *job_err_op;
  lf__split_t *split; /* a range of a split file (split.c): written in place, at off */
  uint64_t off;       /* split: the file offset of fill's first byte */
  uint64_t busy_off;  /* split: the file offset of busy's first byte */
  char *job_renamed;  /* set by the job: the path it published under instead (NO_REPLACE) */
};

/* partial.c: the partial-file format (-C, LF_REQUEST_CONTINUE; --split records its ranges in
 * it too). A range of the data file that holds the page's bytes: [start, end). */
#define LF__RANGE_OPEN UINT64_MAX /* end: up to the data file's size (a stream that appends) */
typedef struct {
  uint64_t start, end;
} lf__range_t;
/* What a partial's state file says (partial.c describes the file). */
typedef struct {
  char *url;           /* the request's URL */
  char *etag;          /* ETag of the response the data came from, or NULL */
  char *last_modified; /* its Last-Modified, or NULL */
  int64_t length;      /* the whole page's length, -1 unknown */
  lf__range_t *ranges; /* which bytes of the data file are the page's */
  size_t range_count;
} lf__partial_state_t;
#define LF__PART_NAME 256 /* bytes of a partial's file names, NUL included */

/* resume.c: one request's partial (LF_REQUEST_CONTINUE) */
typedef struct {
  lf__partial_state_t state; /* found at the start; then what the reply says */
  int dirfd;                 /* folder of req->file (O_PATH), -1: not opened; may be out_dirfd */
  int fd;                    /* data file found at the start, open; -1: none */
  uint64_t from;             /* Range asked: bytes from this offset on; 0: none asked */
  char *if_range;            /* "If-Range: VALIDATOR" sent with the range, or NULL */
  int on;                    /* the body goes to the partial data file (sink.c) */
  int fresh;                 /* ...from byte 0: data emptied, state written anew first */
  int restart;               /* the reply does not continue the data: drop it, ask again */
  char data[LF__PART_NAME], state_name[LF__PART_NAME];
} lf__partial_t;

struct lf__transfer_s {
  lf__transfer_t *next, *prev;
  lf_fetcher_t *fetcher;
  CURL *easy;         /* while on the network only */
  lf__pending_t *req; /* owned while the transfer runs */
  lf__sink_t sink;
  uint64_t start_ns, done_ns, written_ns;
  uint64_t bytes;         /* body bytes accepted (decoded) */
  uint64_t raw_bytes;     /* body bytes received as sent (encoded) */
  uint64_t progress_ms;   /* uv_now() when the transfer started or last handed on body bytes */
  lf__decoder_t *decoder; /* Content-Encoding other than identity: decodes the body */
  int starved;            /* the decoder found its memory budget spent: retried (transient) */
  lf_timings_t timings;   /* libcurl's, read when the network part ends (queued, written:
                             filled in by the report) */
  char *effective_url;    /* copies, for the result */
  char *content_type;
  char *etag, *last_modified, *content_disposition; /* response headers, copied */
  int64_t file_time;                                /* Last-Modified, -1: none */
  long redirects;                                   /* followed by this attempt */
  struct curl_slist *req_headers;     /* fetcher headers + the request's own, or NULL */
  struct curl_slist *foreign_headers; /* what goes to another origin (redirect.c) */
  int foreign_built;                  /* foreign_headers was built (it may be NULL) */
  int hops;                           /* requests of this attempt so far (redirect.c) */
  int hop_https;                      /* the last of them was https */
  int refused_redirect;               /* redirect.c stopped it */
  curl_off_t bw_cap;                  /* bandwidth.c: its CURLOPT_MAX_RECV_SPEED_LARGE now */
  double bw_reserved;                 /* bytes taken from the bucket at its start, not received */
  uint64_t bw_received;               /* bytes it received */
  char *final_name;   /* the name callback's choice (malloc'd); NULL keeps req->file */
  uint64_t discarded; /* body bytes of an error response, thrown away */
  long http_code;
  int64_t content_length; /* of the response, as sent; -1 unknown */
  int curl_code;          /* libcurl's verdict on the last attempt */
  char **all_headers;     /* LF_REQUEST_HEADERS: the response's header lines, NULL-ended */
  size_t header_count;
  char *error_body; /* LF_REQUEST_ERROR_BODY: an error response's body, NUL-ended */
  size_t error_body_len;
  int hooked;             /* the easy-handle callback saw its handle: not reused for another */
  int started;            /* on the multi handle (or was): libcurl's info is meaningful */
  int connected;          /* counted in fetcher->connected */
  int paused_once;        /* the write callback paused it: its handle is not reused */
  int status;             /* 0 or LF_E* / UV_E*, decided when libcurl is done */
  int checked_code;       /* the write callback looked at the response code */
  int https;              /* h2.c: counted as an https transfer */
  int opening;            /* h2.c: opening a connection */
  int conn_port;          /* h2.c: the local port of its connection, 0 before it has one */
  int abort_status;       /* why the write callback stopped the transfer (LF_ETOOBIG, LF_EIO) */
  int conn_lost;          /* h2.c: its HTTP/2 connection failed under a sibling; ended as a receive
                             error (transient) by the watchdog's next tick */
  long retry_ms;          /* >= 0: the attempt failed transiently; try again after this long */
  lf__capture_t *capture; /* opts.warc: what this attempt sent and received (capture.c) */
  lf__split_t *split;     /* opts.split: the split file this transfer fetches a range of */
  int split_index;        /* ...which range */
  int split_part;         /* ...started by split.c (not the request's own transfer) */
  int split_restart;      /* ...failed because the file changed: start the page over */
  char range[48];         /* CURLOPT_RANGE asked ("0-" or "A-B"), or "" */
  uint64_t range_len;     /* bytes of the range to keep; the rest is cut (0: all) */
  int range_cut;          /* the transfer was stopped at the end of its range: a success */
  int whole_range;        /* a 206 to "0-" with the whole file: told as a 200 */
  lf__partial_t part;     /* LF_REQUEST_CONTINUE: where the body goes, what was asked (resume.c) */
  char errbuf[CURL_ERROR_SIZE];
  char error[CURL_ERROR_SIZE + 128];
};

/* loop.c */
int lf__loop_init(lf_fetcher_t *f);
void lf__loop_close_polls(lf_fetcher_t *f);
void lf__loop_check_done(lf_fetcher_t *f);
curl_socket_t lf__loop_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a);
int lf__loop_close_socket(void *clientp, curl_socket_t fd);

/* fetcher.c */
void lf__fetcher_enter(lf_fetcher_t *f);
void lf__fetcher_leave(lf_fetcher_t *f);
void lf__fetcher_report(lf__transfer_t *t);   /* the transfer is over: tell the caller, recycle */
void lf__fetcher_refill(lf_fetcher_t *f);     /* start queued requests if slots are free */
CURL *lf__fetcher_take_easy(lf_fetcher_t *f); /* a spare configured easy handle, or NULL */
void lf__fetcher_give_easy(lf_fetcher_t *f, CURL *easy); /* keeps it as a spare, or frees it */

/* h2.c */
int lf__h2_init(lf_fetcher_t *f);
void lf__h2_close(lf_fetcher_t *f);
void lf__h2_started(lf__transfer_t *t);                /* on the multi handle */
void lf__h2_ended(lf__transfer_t *t, long http_code);  /* off it */
void lf__h2_opening(lf__transfer_t *t);                /* it opens a connection */
void lf__h2_closed(lf_fetcher_t *f, curl_socket_t fd); /* a connection's socket closes */
void lf__h2_tune(lf_fetcher_t *f);                     /* after libcurl ran */
void lf__h2_failed(lf__transfer_t *t);                 /* its connection failed (before _ended) */
int lf__h2_conn_failed(const lf__transfer_t *t);       /* whether t's connection is one (h2.c) */
void lf__h2_fail_siblings(lf__transfer_t *t); /* the other streams of its dead connection */
int lf__h2_prereq(void *clientp, char *remote_ip, char *local_ip, int remote_port, int local_port);

/* URLs are checked to be http or https on the way in: the scheme tells which. */
static inline int lf__is_https(const char *url) {
  return strncasecmp(url, "https:", 6) == 0;
}
uint64_t lf__now_ns(void);

/* transfer.c */
int lf__transfer_new(lf_fetcher_t *f, lf__transfer_t **out);
int lf__transfer_start(lf__transfer_t *t, lf__pending_t *req); /* adds it to the multi handle */
void lf__transfer_done(lf__transfer_t *t, CURLcode result);    /* libcurl finished it */
void lf__transfer_abort(lf__transfer_t *t);                    /* close(): stop it now */
void lf__transfer_recycle(lf__transfer_t *t);
void lf__transfer_free(lf__transfer_t *t);
void lf__transfer_set_error(lf__transfer_t *t, int status, const char *fmt, ...);
void lf__transfer_fill_headers(const lf__transfer_t *t, lf_result_t *r);
void lf__transfer_fill_class(const lf__transfer_t *t, lf_result_t *r); /* class, code, headers */
void lf__transfer_event_done(lf__transfer_t *t, int status, const char *error);
void lf__transfer_event_start(lf__transfer_t *t); /* on the multi handle: tell the caller */
/* The name the file gets: the name callback's choice, or the requested one. */
static inline const char *lf__transfer_file(const lf__transfer_t *t) {
  return t->final_name ? t->final_name : t->req->file;
}

/* watchdog.c: fails transfers that hand on no body byte for stall_timeout_ms */
void lf__watchdog_arm(lf_fetcher_t *f); /* a transfer started: make sure it watches */
void lf__watchdog_tick(uv_timer_t *timer);
void lf__watchdog_soon(lf_fetcher_t *f); /* a tick on the next loop turn: aborted transfers end */

/* sink.c */
void lf__sink_init(lf__sink_t *s, lf__transfer_t *t, lf_output_t kind);
/* Accepts body bytes: 0 on success, 1 if the transfer must pause, or a negative error. */
int lf__sink_write(lf__sink_t *s, const char *data, size_t len);
/* Ends the sink; calls lf__fetcher_report() when done (perhaps before returning). */
void lf__sink_finish(lf__sink_t *s, int keep);
void lf__sink_reset(lf__sink_t *s);
void lf__sink_job_run(lf__sink_t *s); /* pool thread: this sink's file work */
/* How pages get their names in dirfd (fetcher.link_mode), found by trying on a probe file. */
int lf__sink_link_mode(int dirfd, long pid);
/* subdir.c: the folder of path's last component under dirfd (created as needed, symlinks never
 * followed) and *base its last component; dirfd itself when path has no '/'. -1 and errno. */
int lf__subdir_open(int dirfd, const char *path, const char **base);
/* The same, creating nothing (a missing folder: -1, ENOENT); *base is the last component
 * even then. */
int lf__subdir_find(int dirfd, const char *path, const char **base);
/* fetcher.c: a name or relative path lf_request_t.file may hold. */
int lf__valid_file_name(const char *name);
void lf__sink_job_done(lf__sink_t *s, int status); /* loop thread: after it */

/* pace.c: per-host pacing */
int lf__pace_on(const lf_fetcher_t *f);                              /* anything to pace at all */
int lf__pace_admit(lf_fetcher_t *f, lf__pending_t *p, uint64_t now); /* 1: start; 0: parked */
lf__pending_t *lf__pace_ready(lf_fetcher_t *f, uint64_t now);        /* a parked request due now */
uint64_t lf__pace_next_ns(const lf_fetcher_t *f); /* when one is, or UINT64_MAX */
void lf__pace_reply(lf_fetcher_t *f, const char *url, long http_code, long hold_ms,
                    uint64_t start_ns);
lf__pending_t *lf__pace_take_parked(lf_fetcher_t *f); /* close: the parked, one by one */
void lf__pace_free(lf_fetcher_t *f);
/* httpopts.c: proxies and credentials (lf_options_t.http) */
int lf__http_copy(lf_fetcher_t *f, const lf_http_options_t *in);
void lf__http_free(lf_fetcher_t *f);
CURLcode lf__http_configure(const lf_fetcher_t *f, CURL *e, const char **what);
int lf__cookies_on(const lf_fetcher_t *f); /* a cookie file or jar: the engine runs */
int lf__cookies_init(lf_fetcher_t *f);     /* the share's jar, the file read into it */
void lf__cookies_save(lf_fetcher_t *f);    /* the jar written, at close */

/* bandwidth.c: http.limit_rate shared by the transfers on the network */
void lf__bandwidth_started(lf__transfer_t *t);   /* on the multi handle: give it a share */
void lf__bandwidth_ended(lf__transfer_t *t);     /* off it: give back what it did not use */
int lf__bandwidth_ready(lf_fetcher_t *f);        /* 1: a transfer may start now */
uint64_t lf__bandwidth_next_ns(lf_fetcher_t *f); /* when one may, or UINT64_MAX */
/* Body bytes as received (the write callback): out of the job's bucket. */
static inline void lf__bandwidth_used(lf__transfer_t *t, size_t bytes) {
  lf_fetcher_t *f = t->fetcher;
  if (!f->http.limit_rate) return;
  double b = (double)bytes, from_reserve = b < t->bw_reserved ? b : t->bw_reserved;
  t->bw_reserved -= from_reserve;
  f->bw_tokens -= b - from_reserve;
  f->bw_total += bytes;
  t->bw_received += bytes;
}

/* redirect.c: which headers follow a redirect, and https -> http refused */
int lf__redirect_init(lf_fetcher_t *f);
int lf__redirect_prereq(lf__transfer_t *t);
int lf__pace_mark_cancelled(lf_fetcher_t *f, void *data); /* lf_fetcher_cancel: how many */

/* partial.c: the files of a partial (the format is described there) */
int lf__partial_reserved(const char *name); /* a partial's file name: never a page's */
void lf__partial_names(const char *base, char data[LF__PART_NAME], char state[LF__PART_NAME]);
int lf__partial_open_regular(int dirfd, const char *name, int flags); /* no link, FIFO, dir */
int lf__partial_state_parse(char *text, lf__partial_state_t *st);     /* 0 or -1 */
int lf__partial_state_read(int dirfd, const char *name, lf__partial_state_t *st);
char *lf__partial_state_format(const lf__partial_state_t *st, size_t *len);
int lf__partial_state_write(int dirfd, const char *temp, const char *name,
                            const lf__partial_state_t *st); /* atomic; -1 with errno */
int lf__partial_add_range(lf__partial_state_t *st, uint64_t start, uint64_t end);
uint64_t lf__partial_prefix(const lf__partial_state_t *st, uint64_t file_size);
void lf__partial_state_free(lf__partial_state_t *st);
void lf__partial_remove(int dirfd, const char *data, const char *state);

/* resume.c: Range, If-Range and what the reply makes of the partial (LF_REQUEST_CONTINUE) */
void lf__resume_init(lf__transfer_t *t);   /* a new or recycled transfer: nothing found */
int lf__resume_prepare(lf__transfer_t *t); /* at the start: the partial found, what to ask */
int lf__resume_headers(lf__transfer_t *t, struct curl_slist **list); /* adds If-Range */
int lf__resume_check(lf__transfer_t *t);   /* first body byte of a 2xx: -1 fails the attempt */
int lf__resume_restart(lf__transfer_t *t); /* transfer done: 1 if it must start again from 0 */
int lf__resume_open(lf__sink_t *s);        /* pool: the data file open for writing, in s->fd */
/* pool: the partial published as final_name in fdir (with no_replace, or a free variant of it,
 * into used), or left for the next attempt */
void lf__resume_finish(lf__sink_t *s, int keep, int fdir, const char *final_name, int no_replace,
                       char used[256]);
/* sink.c: renames from to name in fdir, or its first free variant (into used), never over a file */
int lf__sink_rename_new(int dirfd, const char *from, int fdir, const char *name, char used[256]);
void lf__resume_free(lf__transfer_t *t);

/* abi.c */
int lf__global_init(void); /* libcurl's, once per process: 0 or LF_ECURL */
int lf__reserved_zero(void *const *slots, size_t n);
#define LF__SLOTS(s) (sizeof((s)->reserved) / sizeof((s)->reserved[0]))

/* stream.c: LF_OUTPUT_CALLBACK */
int lf__stream_write(lf__sink_t *s, const char *data, size_t len); /* as lf__sink_write */
void lf__stream_resume_due(lf_fetcher_t *f); /* wake timer: unpause what lf_stream_resume asked */
void lf__fetcher_wake_now(lf_fetcher_t *f);  /* fetcher.c: run the wake timer on the next turn */
void lf__fetcher_arm_wake(lf_fetcher_t *f);  /* fetcher.c: the wake timer for what is due */
void lf__loop_kick(lf_fetcher_t *f);         /* loop.c: let libcurl run what is due now */

/* disk.c: file work of many sinks per thread-pool job */
#define LF__DISK_JOBS ((int)(sizeof(((lf_fetcher_t *)0)->batches) / sizeof(lf__batch_t)))
void lf__disk_submit(lf_fetcher_t *f, lf__sink_t *s); /* queues s; lf__disk_start() runs it */
void lf__disk_start(lf_fetcher_t *f);                 /* starts batches while any are free */

/* capture.c: requests and responses archived as WARC records (lf_options_t.warc) */
int lf__capture_open(lf_fetcher_t *f, const lf_warc_options_t *o); /* at lf_fetcher_new */
void lf__capture_close(lf_fetcher_t *f);                           /* at teardown */
int lf__capture_configure(CURL *easy, int on); /* a new easy handle: debug callback on or off */
int lf__capture_start(lf__transfer_t *t);      /* an attempt starts */
void lf__capture_ip(lf__transfer_t *t, const char *ip); /* pre-request: the peer's address */
int lf__capture_full(lf__transfer_t *t); /* the write callback should pause: archive behind */
int lf__capture_body(lf__transfer_t *t, const char *data, size_t len); /* bytes it accepted */
void lf__capture_end(lf__transfer_t *t, CURLcode result); /* the network part is over */
int lf__capture_busy(lf__transfer_t *t); /* records still being written: the report waits */
void lf__capture_free(lf__transfer_t *t);
const char *lf__capture_date(const lf__transfer_t *t); /* the last record's WARC-Date, or NULL */

/* split.c: one large file as several ranges (lf_options_t.split) */
int lf__split_first(lf__transfer_t *t);          /* a 206 to "0-": check it, maybe split */
int lf__split_check_part(lf__transfer_t *t);     /* a range's response: the one asked, same file */
int lf__split_keep(lf__transfer_t *t, int keep); /* its end: whether its bytes are written */
int lf__split_written(lf__transfer_t *t);        /* report time: 1 if split.c took it over */
void lf__split_job(lf__sink_t *s);               /* pool thread: a range's bytes, in place */
void lf__split_progress(lf__transfer_t *t, lf_progress_t *pr); /* as the whole file's */
void lf__split_close(lf__transfer_t *t);                       /* lf_fetcher_close: stop */
/* fetcher.c: transfers split.c runs besides the requests' own */
lf__transfer_t *lf__fetcher_adopt(lf_fetcher_t *f); /* an active transfer, or NULL */
void lf__fetcher_drop(lf__transfer_t *t);           /* over: back to the idle list */
/* sink.c: opens an unnamed file in dirfd (link_mode) or temp_name: the descriptor, or -1 */
int lf__sink_open_temp(int dirfd, int link_mode, const char *temp_name);

#define LF__CONTAINER_OF(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

#endif
