/* loopfetch: a bulk downloader in which one libuv loop drives libcurl's multi interface.
 *
 * Conventions (as in libuv):
 *  - Every public name starts with lf_ (internal ones with lf__). Only the functions declared
 *    here with LF_EXTERN are exported from libloopfetch.so; everything else is hidden.
 *  - Functions return 0 on success or a negative error code; lf_strerror() turns a code into
 *    text. Codes are LF_E* below or libuv's UV_E* codes, which never overlap.
 *  - Handles (lf_fetcher_t, lf_stream_t) are opaque: lf_fetcher_new() allocates one,
 *    lf_fetcher_close() frees it once its libuv handles have closed. Opaque, as libcurl's
 *    CURL *, rather than caller-allocated as libuv's handles, so that the library can change
 *    what a fetcher holds without changing its ABI (soname).
 *
 * ABI and versions. The soname is libloopfetch.so.MAJOR (LOOPFETCH_VERSION_MAJOR). Within one
 * MAJOR, a program built against an older header runs with any newer library: functions are
 * only added, never removed or changed, and the structs below grow only as follows.
 *  - Structs the caller allocates and fills (lf_options_t, lf_request_t) end in reserved
 *    pointer-sized slots that must be zero (lf_options_init(), or `= {0}` / designated
 *    initialisers, do that). A new field takes the place of reserved slots, so the struct's
 *    size never changes and zero means "as before". Why not a size member or a versioned
 *    init function: both make every caller write something extra and can be got wrong
 *    silently; a fixed size with zero defaults cannot.
 *  - Structs the library fills and the caller only reads (lf_result_t, lf_timings_t,
 *    lf_links_t, lf_records_t) may grow at their end: the caller never allocates them.
 *    lf_value_t, read as an array, keeps its size: new fields take its reserved slots.
 *  - Enums gain values; a caller must ignore lf_output_t or error values it does not know.
 *  Any other change is an ABI break and raises MAJOR (and with it the soname). During 0.x the
 *  same rules hold with MAJOR 0: MINOR adds, PATCH fixes.
 *
 * Threads. libloopfetch starts no threads of its own; libuv's thread pool writes the output
 * files (LF_OUTPUT_FILE), and libcurl may resolve names on a thread of its own. The rules:
 *  - A fetcher belongs to the loop it was made on and to the thread that runs that loop: call
 *    lf_fetcher_* and lf_stream_* only on that thread. All callbacks run on it.
 *  - Fetchers on different loops share nothing and may run at the same time on different
 *    threads (tests/unit/test_threads.c does, under ThreadSanitizer).
 *  - lf_fetcher_new() initialises libcurl (curl_global_init) once per process, under uv_once,
 *    so the first fetchers of several threads may be made at the same time. loopfetch never
 *    calls curl_global_cleanup: a program that wants it calls it after every fetcher closed.
 *  - lf_strerror(), lf_version(), lf_version_num(), lf_options_init(), lf_links_extract() and
 *    lf_links_free() use no shared state and may be called from any thread; an lf_extract_t
 *    is used by one thread at a time (one per thread, or a lock).
 */
#ifndef LOOPFETCH_H
#define LOOPFETCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what libloopfetch exports. The library is built with hidden visibility (lib/meson.build)
 * and tests/unit/abi/exported.txt lists every exported name: a test fails on any difference. */
#if defined(__GNUC__) && __GNUC__ >= 4 /* also clang; loopfetch builds only on POSIX systems */
#define LF_EXTERN __attribute__((visibility("default")))
#else
#define LF_EXTERN
#endif

/* The version of this header. A test checks it against meson.build's project version. */
#define LOOPFETCH_VERSION_MAJOR 0
#define LOOPFETCH_VERSION_MINOR 2
#define LOOPFETCH_VERSION_PATCH 0
/* One number for compile-time checks: #if LOOPFETCH_VERSION_HEX >= 0x000200 (as UV_VERSION_HEX) */
#define LOOPFETCH_VERSION_HEX                                                                      \
  ((LOOPFETCH_VERSION_MAJOR << 16) | (LOOPFETCH_VERSION_MINOR << 8) | LOOPFETCH_VERSION_PATCH)
#define LF__STR(x) #x
#define LF__XSTR(x) LF__STR(x)
#define LOOPFETCH_VERSION                                                                          \
  LF__XSTR(LOOPFETCH_VERSION_MAJOR)                                                                \
  "." LF__XSTR(LOOPFETCH_VERSION_MINOR) "." LF__XSTR(LOOPFETCH_VERSION_PATCH)
#define LOOPFETCH_URL "https://github.com/loopfetch/loopfetch"

/* Error codes. Values are below libuv's range so both kinds can travel in one int. */
#define LF_ERRNO_MAP(XX)                                                                           \
  XX(EINVAL, -30001, "invalid argument")                                                           \
  XX(ENOMEM, -30002, "out of memory")                                                              \
  XX(ECLOSING, -30003, "fetcher is closing")                                                       \
  XX(ECURL, -30004, "transfer failed")                                                             \
  XX(EHTTP, -30005, "HTTP error status")                                                           \
  XX(ETOOBIG, -30006, "body exceeds the size limit")                                               \
  XX(EIO, -30007, "could not write the output file")                                               \
  XX(ESCHEME, -30008, "URL scheme is not http or https")                                           \
  XX(EURL, -30009, "malformed URL")                                                                \
  XX(ESELECTOR, -30010, "malformed CSS selector")                                                  \
  XX(ENOTHTML, -30011, "document is not HTML")                                                     \
  XX(EABORTED, -30012, "transfer aborted")                                                         \
  XX(ENAME, -30013, "no usable file name")                                                         \
  XX(ECOMPLEX, -30014, "page too complex to parse")

/* Which codes each function returns is in its documentation; every code above is returned by
 * some function: LF_ENOTHTML by lf_links_extract2() for a page whose Content-Type is not HTML,
 * LF_ENAME for an unusable file name (lf_fetcher_add, a name callback), LF_ESCHEME and LF_EURL
 * by lf_fetcher_add(). */

/* The "none" value of the numeric options where zero means the default: lf_options_t's
 * retries (no retries), stall_timeout_ms (no stall limit) and max_redirs (no redirect
 * followed), lf_request_t.timeout_ms (no limit, whatever the fetcher's). Since 0.2.0. */
#define LF_NONE (-1)

/* What kind of failure a result is (lf_result_t.error_class), so that a program can act on it
 * without parsing text: retry later (DNS, CONNECT, TIMEOUT), fix its setup (TLS: a CA bundle,
 * lf_options_t.cacert), or give up on the page (HTTP, PROTOCOL). Since 0.2.0; new classes may
 * come (treat an unknown one as LF_ERR_OTHER). */
typedef enum {
  LF_ERR_NONE = 0,     /* success */
  LF_ERR_DNS = 1,      /* the host name did not resolve */
  LF_ERR_CONNECT = 2,  /* no TCP connection (refused, unreachable) */
  LF_ERR_TLS = 3,      /* TLS handshake or certificate verification failed */
  LF_ERR_TIMEOUT = 4,  /* connect_timeout_ms, timeout_ms or stall_timeout_ms ran out */
  LF_ERR_PROTOCOL = 5, /* the connection broke or the server's reply was not valid HTTP, a body
                          was cut short or could not be decoded, too many redirects */
  LF_ERR_HTTP = 6,     /* the server answered with an error status (http_code) */
  LF_ERR_OTHER = 7     /* not the network's: size limit, disk, memory, aborted, a name */
} lf_error_class_t;

typedef enum {
#define LF__ERR_ENUM(name, value, text) LF_##name = (value),
  LF_ERRNO_MAP(LF__ERR_ENUM)
#undef LF__ERR_ENUM
} lf_errno_t;

/* Returns a static string for an LF_E* or UV_E* code (never NULL). */
LF_EXTERN const char *lf_strerror(int err);

/* The version of the library the program runs with (LOOPFETCH_VERSION of the library's
 * build, and LOOPFETCH_VERSION_HEX of it): may be newer than the header it was compiled with. */
LF_EXTERN const char *lf_version(void);
LF_EXTERN unsigned lf_version_num(void);

/* ---------------------------------------------------------------------------------------------
 * Fetcher: many transfers overlapped on one uv_loop_t through one libcurl multi handle.
 * ------------------------------------------------------------------------------------------- */

typedef struct lf_fetcher_s lf_fetcher_t;
/* One LF_OUTPUT_CALLBACK transfer as its body arrives; valid from its first body callback until
 * its result callback returns. */
typedef struct lf_stream_s lf_stream_t;

/* Where a body goes. */
typedef enum {
  LF_OUTPUT_MEMORY = 0,  /* kept in memory and handed to the result callback (the list page) */
  LF_OUTPUT_FILE = 1,    /* streamed to a file in lf_options_t.out_dir, written atomically */
  LF_OUTPUT_CALLBACK = 2 /* handed chunk by chunk, as it arrives, to the body callback
                            (lf_fetcher_set_body_cb); nothing is kept */
} lf_output_t;

/* One request. lf_fetcher_add() copies the strings; the caller keeps ownership of the struct. */
typedef struct {
  const char *url;            /* absolute http:// or https:// URL (required) */
  lf_output_t output;         /* LF_OUTPUT_MEMORY, LF_OUTPUT_FILE or LF_OUTPUT_CALLBACK */
  const char *file;           /* LF_OUTPUT_FILE: file name inside out_dir, or a relative path in it
                               * ("ab/cd/x.html"): missing folders are created, symlinks never
                               * followed; no component empty, "." or "..", or over 255 bytes */
  void *data;                 /* caller's pointer, handed back in the result */
  const char *const *headers; /* this request's own headers ("Name: value"), NULL-terminated,
                                 sent after lf_options_t.headers (e.g. If-None-Match); NULL:
                                 none; no CR or LF in any (LF_EINVAL). A 304 reply is a success
                                 (status 0, http_code 304) that leaves an existing file
                                 untouched only when the request sent If-None-Match or
                                 If-Modified-Since; to any other it fails (LF_EHTTP). */
  const char *warc_refers_to_date; /* lf_options_t.warc: the WARC-Date of this URL's earlier
                                      capture (lf_result_t.warc_date of an earlier run), which
                                      a 304 reply's revisit record refers to; NULL: unknown */
  long timeout_ms;                 /* this request's limit per attempt (as
                                      lf_options_t.timeout_ms); 0: the fetcher's, LF_NONE: none.
                                      Since 0.2.0 */
  unsigned flags;                  /* LF_REQUEST_* below; 0: none. Since 0.2.0 */
  void *reserved[2];               /* must be zero: room for new fields without an ABI break */
} lf_request_t;

/* lf_request_t.flags. LF_REQUEST_HEADERS: the result lists every header of the last response.
 * LF_REQUEST_ERROR_BODY: an HTTP error's body (up to max_memory_body) is kept and handed to
 * the result callback (lf_result_t.body). LF_REQUEST_NO_REPLACE (LF_OUTPUT_FILE, since 0.2.0):
 * the file never replaces one that exists; if its name (the requested one, or the name
 * callback's) is taken when the file is published, it gets the first free NAME~2.EXT,
 * NAME~3.EXT, ... (up to ~1000) and lf_result_t.file says which: the check and the naming are
 * one system call, so two processes that pick one name at the same moment both keep theirs. */
#define LF_REQUEST_HEADERS 1u
#define LF_REQUEST_ERROR_BODY 2u
#define LF_REQUEST_NO_REPLACE 4u
/* LF_REQUEST_CONTINUE (LF_OUTPUT_FILE; since 0.2.0): the body is written to a partial file
 * beside the page's name (".NAME.lf-part", with ".NAME.lf-part.state": what it was fetched
 * under), which survives any end of the process, SIGKILL included; a later request with this
 * flag for the same URL and file asks only for the rest (Range + If-Range). A 200 reply (the
 * server ignores ranges, or the page changed) starts the file again from byte 0; a 416, or a
 * 206 that does not continue the data, drops it and asks again at once. The page's name gets
 * the file only when it is whole. A partial is kept only for an identity-coded reply with a
 * strong ETag or a Last-Modified (what If-Range can carry) and no Content-Length below 1 MiB. Such
 * names are never a page's: lf_fetcher_add() refuses a file named like them (LF_ENAME). */
#define LF_REQUEST_CONTINUE 8u

#define LF_FILE_NAME_MAX 4095 /* bytes of lf_request_t.file (a name or a relative path) */
/* Longest lf_request_t.url, in bytes: lf_fetcher_add() refuses a longer one with LF_EURL.
 * Servers refuse far shorter request lines (nginx and Apache at 8 KB, with 414), browsers cap
 * theirs at 64 KB to 2 MB; past this a "URL" is data, not an address. */
#define LF_URL_MAX 65536

/* Time spent in each phase of a transfer, in seconds from the transfer's start (libcurl's
 * CURLINFO_*_TIME_T), plus the time it waited in the queue before a slot was free. */
typedef struct {
  double queued;        /* from lf_fetcher_add() to the start of the transfer */
  double namelookup;    /* DNS done */
  double connect;       /* TCP connected */
  double appconnect;    /* TLS done (0 for plain HTTP or a reused connection) */
  double starttransfer; /* first byte of the response */
  double total;         /* last byte received */
  double written;       /* output file complete and under its name */
} lf_timings_t;

/* What became of one request. Valid only during the result callback; copy what you keep. */
typedef struct {
  const char *url;           /* as given to lf_fetcher_add() */
  const char *effective_url; /* after redirects (NULL if the transfer never started) */
  const char *file;          /* LF_OUTPUT_FILE: name inside out_dir; NULL otherwise */
  void *data;                /* lf_request_t.data */
  int status;                /* 0: saved; otherwise a negative LF_E* or UV_E* code */
  const char *error;         /* one human line saying why, or NULL when status is 0 */
  long http_code;            /* last HTTP status, 0 if none was received */
  const char *content_type;  /* Content-Type of the last response, or NULL */
  uint64_t bytes;            /* body bytes received (decoded) */
  int attempts;              /* transfers made for this request (retries + 1); 0: none */
  const char *body;          /* LF_OUTPUT_MEMORY: the body, NUL-terminated; NULL otherwise */
  size_t body_len;           /* length of body without the terminating NUL */
  lf_timings_t timings;
  double start; /* start of the transfer, seconds on the fetcher's clock (see lf_fetcher_now) */
  /* Headers of the last response, or NULL when it had none. */
  const char *etag;                /* ETag, as sent (quotes included) */
  const char *last_modified;       /* Last-Modified, as sent */
  const char *content_disposition; /* Content-Disposition, as sent */
  int64_t file_time; /* Last-Modified as seconds since the epoch, -1 if absent or unreadable;
                        LF_OUTPUT_FILE: the saved file's modification time is set to it */
  const char *warc_date; /* lf_options_t.warc: the WARC-Date of the record written for the last
                            response (its response or revisit record), or NULL; keep it to
                            pass as lf_request_t.warc_refers_to_date when asking again */
  /* Since 0.2.0 (the struct grows at its end; the library allocates it). */
  int error_class; /* LF_ERR_*: the kind of failure; LF_ERR_NONE when status is 0 */
  int curl_code;   /* libcurl's CURLcode of the last attempt (0 if it had none or succeeded) */
  int64_t content_length; /* Content-Length of the last response as sent, -1 if unknown */
  /* LF_REQUEST_HEADERS: every header line of the last response ("Name: value", in the order
   * received, NULL-terminated, header_count of them); NULL otherwise. */
  const char *const *headers;
  size_t header_count;
  /* LF_REQUEST_CONTINUE: bytes of the page that were already in its partial file and that
   * this request continued after (the page is resumed_from + bytes long); 0 otherwise. */
  uint64_t resumed_from;
} lf_result_t;

typedef void (*lf_result_cb)(lf_fetcher_t *fetcher, const lf_result_t *result);
/* Called for a LF_OUTPUT_FILE request whose body has arrived complete (status 0, not a 304),
 * before the file gets its name: `reply` tells what came (content_type, the headers above;
 * `bytes`, `file` is the requested name), and `name` (LF_FILE_NAME_MAX + 1 bytes) holds the
 * requested name, which the callback may replace (same rules as lf_request_t.file).
 * A name other than the requested one never replaces a file already there (as with
 * LF_REQUEST_NO_REPLACE: the first free NAME~2.EXT is taken instead). The result then reports
 * the name used. Lets a program name files by their content. */
typedef void (*lf_name_cb)(lf_fetcher_t *fetcher, const lf_result_t *reply, char *name);
typedef void (*lf_close_cb)(lf_fetcher_t *fetcher);

/* What happens to a request, attempt by attempt (for a verbose log). */
typedef enum {
  LF_EVENT_START = 0, /* an attempt starts */
  LF_EVENT_REDIRECT,  /* the attempt followed redirects: `detail` is where it ended */
  LF_EVENT_RETRY,     /* the attempt failed transiently: `detail` says why, wait_ms how long */
  LF_EVENT_DONE       /* the last attempt ended: `detail` is the error, or NULL on success */
} lf_event_kind_t;

typedef struct {
  lf_event_kind_t kind;
  const char *url;    /* the request's URL */
  void *data;         /* the request's lf_request_t.data */
  int attempt;        /* 1 for the first */
  const char *detail; /* see the kinds above */
  long http_code;     /* of the attempt, 0 if none */
  long redirects;     /* LF_EVENT_REDIRECT: how many */
  long wait_ms;       /* LF_EVENT_RETRY */
} lf_event_t;

typedef void (*lf_event_cb)(lf_fetcher_t *fetcher, const lf_event_t *event);
/* Called when the queue has run dry and a slot is free: the moment to lf_fetcher_add() more.
 * Lets a producer feed URLs lazily so that memory stays O(in flight), not O(URLs). Setting it
 * is enough to start: it is first asked on the loop's next turn, nothing need be added before. */
typedef void (*lf_need_cb)(lf_fetcher_t *fetcher);

/* Body bytes of one request as they arrive (lf_fetcher_set_progress_cb). Since 0.2.0. */
typedef struct {
  const char *url;        /* the request's URL */
  void *data;             /* its lf_request_t.data */
  int attempt;            /* 1 for the first */
  uint64_t received;      /* body bytes of this attempt so far (decoded) */
  uint64_t delta;         /* of those, received since the last call (the sum of the deltas of
                             all requests is every body byte the fetcher received) */
  int64_t content_length; /* Content-Length as sent (compressed size if encoded), -1 unknown */
} lf_progress_t;
typedef void (*lf_progress_cb)(lf_fetcher_t *fetcher, const lf_progress_t *progress);

/* The escape hatch to libcurl: called with each attempt's easy handle (a CURL *) after
 * loopfetch has set its options and before the transfer starts, to set more with
 * curl_easy_setopt(): a proxy (CURLOPT_PROXY), credentials (CURLOPT_USERPWD, CURLOPT_HTTPAUTH),
 * cookies (CURLOPT_COOKIE), a client certificate... Return 0, or a negative code to fail the
 * request with that status (not retried). Leave alone what loopfetch relies on: the write,
 * progress, socket, pre-request and header callbacks and their data, CURLOPT_PRIVATE,
 * CURLOPT_ERRORBUFFER, CURLOPT_SHARE, CURLOPT_NOSIGNAL, the protocol lists and the TLS
 * verification options. A handle that went through this callback serves no other request.
 * Since 0.2.0. */
typedef int (*lf_easy_cb)(lf_fetcher_t *fetcher, void *easy, const char *url, void *data);

/* Body callback of LF_OUTPUT_CALLBACK requests: chunk (len > 0 bytes, decoded, not
 * NUL-terminated, valid during the call) is the next part of the body of a 2xx response. Error
 * responses, redirects and empty bodies call it never. Returns:
 *   LF_STREAM_CONTINUE  more chunks as they come;
 *   LF_STREAM_PAUSE     this chunk is taken, send no more until lf_stream_resume(stream): the
 *                       transfer stops reading from the network (back-pressure). The result
 *                       can still come while paused if this chunk was the last;
 *   a negative code     stop the transfer: its result has this status.
 * It runs inside libcurl: it may call lf_fetcher_add() (the start waits for the next loop
 * turn), lf_stream_resume(), lf_fetcher_cancel(), lf_fetcher_close() (both act on a later loop
 * turn) and the lf_stream_get_* and lf_fetcher_get_* functions.
 * A stream lives until its result callback returns, paused or not: a consumer that keeps
 * chunks to work on later copies them, and forgets the stream in the result callback (never
 * resumes it after that); docs/api.md shows such an asynchronous consumer. */
typedef int (*lf_body_cb)(lf_fetcher_t *fetcher, lf_stream_t *stream, const char *chunk,
                          size_t len);
#define LF_STREAM_CONTINUE 0
#define LF_STREAM_PAUSE 1

typedef struct {
  unsigned max_in_flight;     /* transfers at once; 0 means LF_DEFAULT_IN_FLIGHT */
  const char *out_dir;        /* folder for LF_OUTPUT_FILE; default "." It must exist when the
                                 first LF_OUTPUT_FILE request is added (it is opened then) */
  const char *user_agent;     /* default "loopfetch/VERSION (+LOOPFETCH_URL)" */
  const char *cacert;         /* CA bundle file for TLS verification; NULL: system store */
  const char *const *headers; /* extra request headers ("Name: value"), NULL-terminated; no CR
                                 or LF in any, nor in user_agent (lf_fetcher_new: LF_EINVAL) */
  long connect_timeout_ms;    /* 0: 30 s */
  long timeout_ms;            /* whole transfer, per attempt; 0: none */
  long stall_timeout_ms;      /* fail (transiently) an attempt that hands on no body byte for
                                 this long, paused or not, except a stream its callback paused;
                                 0: 60 s, LF_NONE (any negative): never */
  uint64_t max_size;          /* largest body accepted, decoded and as sent;
                                 0: LF_DEFAULT_MAX_SIZE */
  size_t max_memory_body;     /* largest LF_OUTPUT_MEMORY body; 0: LF_DEFAULT_MAX_SIZE */
  int retries;                /* extra attempts after a transient failure; 0: 3, LF_NONE (any
                                 negative): none. An LF_OUTPUT_CALLBACK request is
                                 retried only if none of its body was handed out yet */
  long retry_base_ms;         /* first backoff; doubles per attempt, with jitter; 0: 500 ms */
  long retry_max_wait_ms;     /* cap on any wait, Retry-After included; 0: 30 s */
  unsigned per_host;          /* connections per host; 0: no cap */
  double rate;                /* transfers started per second; 0: no limit */
  unsigned max_streams;       /* HTTP/2 streams per connection; 0: as many as max_in_flight (at
                                 least 100), so all pages share one connection where the server
                                 allows it */
  const struct lf_warc_options_s *warc; /* archive every request and response in WARC files
                                           (below); NULL: none. Copied by lf_fetcher_new() */
  const struct lf_http_options_s *http; /* proxies, credentials, redirect policy (below);
                                           NULL: none of them. Copied by lf_fetcher_new() */
  long max_redirs;                      /* redirects followed per attempt; 0: 10, LF_NONE: none
                                           (a 3xx reply is then an LF_EHTTP failure). Since 0.2.0 */
  long split; /* LF_OUTPUT_FILE bodies of at least 2 MiB are fetched as up to this many byte
                 ranges at once (requests on the same loop, each its own connection over
                 HTTP/1.1), each range at least 1 MiB, written in place and published whole
                 once all are; 0 or 1: one stream. Only from servers that answer the first
                 request's "Range: bytes=0-" with a 206 and name the file by a strong ETag or
                 a Last-Modified (sent as If-Range with the others); else one stream. Not with
                 warc. Since 0.2.0 */
  void *reserved[4]; /* must be zero (lf_options_init): room for new fields */
} lf_options_t;

/* Flags of lf_warc_options_t.flags. */
#define LF_WARC_NO_COMPRESSION 0x1u /* NAME.warc, plain, instead of NAME.warc.gz */
#define LF_WARC_NO_DEDUP 0x2u       /* a body already archived is written again rather than as an
                                       identical-payload-digest revisit */
#define LF_WARC_CDX 0x4u            /* also write NAME.cdxj, the index pywb reads */

/* What lf_options_t.warc points at. The fetcher writes WARC/1.1 (ISO 28500) files: one warcinfo
 * record at the start of each file, then for every attempt that got a response a request and a
 * response record per redirect hop (the request as sent; the response as received, transfer
 * coding removed, content coding kept), each record its own gzip member. A request's result
 * comes only after its records are written whole. Caller-allocated like lf_options_t: zero (or
 * NULL) means the default, the reserved slots must be zero. Strings are copied. */
typedef struct lf_warc_options_s {
  const char *name;         /* required: files are NAME.warc.gz (or NAME.warc), and when that
                               exists or max_size rolls over, NAME-00001.warc.gz, ...; never
                               overwritten (created with O_EXCL) */
  unsigned flags;           /* LF_WARC_* above */
  uint64_t max_size;        /* start the next file once a file reaches this many bytes, at a
                               record boundary; 0: no limit */
  const char *const *info;  /* extra warcinfo fields ("name: value"), NULL-terminated, such as
                               the command line; software, format and hostname are written */
  void *reserved[8];        /* must be zero: room for new fields */
} lf_warc_options_t;

/* Flags of lf_http_options_t.flags. */
/* Keep lf_options_t.headers on a redirect to another origin (scheme, host or port). Without it
 * they are not sent there: an API key given as a header stays with the site it was meant for.
 * Authorization and Cookie headers, and userpwd, never go to another origin, flag or not. */
#define LF_HTTP_LOCATION_TRUSTED 0x1u
/* Follow a redirect from https to plain http. Without it such a redirect fails the request
 * (LF_EHTTP) before anything is sent over http. */
#define LF_HTTP_ALLOW_INSECURE_REDIRECT 0x2u

/* What lf_options_t.http points at: the HTTP features beyond a plain GET. Caller-allocated
 * like lf_options_t, with the same rules: zero (or NULL) means off, the reserved slots must be
 * zero, and a new field takes the place of reserved slots. Strings are copied. Secrets in it are
 * never put into results, events or error texts. */
typedef struct lf_http_options_s {
  const char *proxy;         /* proxy URL: http://, https://, socks4://, socks4a://, socks5://
                                or socks5h:// (names resolved by the proxy), with an optional
                                user:password@; no scheme: http. NULL: the environment, as
                                libcurl reads it (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY;
                                not HTTP_PROXY in capitals); "": no proxy, whatever it says */
  const char *noproxy;       /* hosts reached without the proxy, comma-separated ("*": all),
                                as libcurl's CURLOPT_NOPROXY; NULL: the NO_PROXY variable */
  const char *proxy_userpwd; /* "name:password" for the proxy (Basic); NULL: the proxy URL's */
  const char *userpwd;       /* "name:password" sent (Basic) to the origin of each request's
                                own URL, never to another origin it redirects to */
  const char *netrc_file;    /* credentials per host from this netrc file where the URL has
                                none; NULL: no netrc. The caller checks its permissions */
  unsigned flags;            /* LF_HTTP_* above */
  const char *cookie_file;   /* Netscape/curl cookie file read when the fetcher is made; with
                                cookie_jar or this, cookies that responses set are sent on later
                                requests of the fetcher (one jar for all its transfers; domain,
                                path, secure and expiry as libcurl rules them). NULL: none */
  const char *cookie_jar;    /* every cookie written here when the fetcher closes (atomically,
                                mode 0600, by libcurl); NULL: not written */
  uint64_t limit_rate;       /* bytes per second for all the fetcher's transfers together
                                (body bytes as received); 0: no limit */
  void *reserved[9 - sizeof(uint64_t) / sizeof(void *)]; /* must be zero: room for new fields */
} lf_http_options_t;

#define LF_DEFAULT_IN_FLIGHT 64
#define LF_DEFAULT_MAX_SIZE (100u * 1024 * 1024)

/* Fills opts with zeros, which mean the defaults: `lf_options_t opts = {0};` is the same. */
LF_EXTERN void lf_options_init(lf_options_t *opts);

/* Creates a fetcher on loop and stores it in *out. opts may be NULL for the defaults; strings
 * are copied. on_result is required and is called once for every request added.
 * The handle is opaque and owned by the library: it is freed by lf_fetcher_close(), after its
 * close callback has returned.
 * Errors: LF_EINVAL, LF_ENOMEM, LF_ECURL (libcurl could not be set up), UV_* from uv_timer_init.
 * On error *out is NULL and nothing needs closing. */
LF_EXTERN int lf_fetcher_new(uv_loop_t *loop, const lf_options_t *opts, lf_result_cb on_result,
                             lf_fetcher_t **out);

/* The caller's pointer, for callbacks (NULL until set). */
LF_EXTERN void lf_fetcher_set_data(lf_fetcher_t *fetcher, void *data);
LF_EXTERN void *lf_fetcher_get_data(const lf_fetcher_t *fetcher);

/* The loop the fetcher runs on. */
LF_EXTERN uv_loop_t *lf_fetcher_get_loop(const lf_fetcher_t *fetcher);

/* Sets (or clears, with NULL) the callback that asks for more requests. */
LF_EXTERN void lf_fetcher_set_need_cb(lf_fetcher_t *fetcher, lf_need_cb on_need);

/* Sets the callback that receives the bodies of LF_OUTPUT_CALLBACK requests. It must be set
 * before such a request is added (lf_fetcher_add returns LF_EINVAL otherwise); a stream whose
 * body arrives after it was cleared (NULL) fails with LF_EINVAL. */
LF_EXTERN void lf_fetcher_set_body_cb(lf_fetcher_t *fetcher, lf_body_cb on_body);

/* Resumes a stream its body callback paused. The next chunk comes on a later loop turn, never
 * from inside this call. Resuming a stream that is not paused does nothing. Returns 0, or
 * LF_EINVAL if stream is NULL or not an LF_OUTPUT_CALLBACK transfer. */
LF_EXTERN int lf_stream_resume(lf_stream_t *stream);

/* The request's lf_request_t.data and URL (as given to lf_fetcher_add). */
LF_EXTERN void *lf_stream_get_data(const lf_stream_t *stream);
LF_EXTERN const char *lf_stream_get_url(const lf_stream_t *stream);
/* The response's Content-Type, or NULL if it had none; valid until the next callback. */
LF_EXTERN const char *lf_stream_get_content_type(const lf_stream_t *stream);

/* Sets (or clears) the callback that may rename a file once its reply is known (lf_name_cb). */
LF_EXTERN void lf_fetcher_set_name_cb(lf_fetcher_t *fetcher, lf_name_cb on_name);

/* Sets (or clears) the callback told about each attempt as it happens (lf_event_cb). */
LF_EXTERN void lf_fetcher_set_event_cb(lf_fetcher_t *fetcher, lf_event_cb on_event);

/* Sets (or clears) the callback told about body bytes as they arrive (lf_progress_cb). It runs
 * inside libcurl, with the body callback's limits. Since 0.2.0. */
LF_EXTERN void lf_fetcher_set_progress_cb(lf_fetcher_t *fetcher, lf_progress_cb on_progress);

/* Sets (or clears) the hook that may set libcurl options on each easy handle (lf_easy_cb).
 * Since 0.2.0. */
LF_EXTERN void lf_fetcher_set_easy_cb(lf_fetcher_t *fetcher, lf_easy_cb on_easy);

/* Queues a request; it starts as soon as a slot is free (possibly before this returns).
 * Copies req's strings. Errors: LF_EINVAL (no URL, LF_OUTPUT_CALLBACK without a body callback,
 * an unknown output or flag, a reserved slot not zero, a header holding CR or LF), LF_ESCHEME
 * (a scheme other than http or https: ftp://, file://), LF_EURL (no scheme, no host, longer
 * than LF_URL_MAX), LF_ENAME (LF_OUTPUT_FILE without a usable name), LF_ECLOSING, LF_ENOMEM,
 * or UV_E* (out_dir could not be opened, on the first file request).
 * A request that was queued always gets exactly one result callback. */
LF_EXTERN int lf_fetcher_add(lf_fetcher_t *fetcher, const lf_request_t *req);

/* Changes how many transfers may run at once (0: LF_DEFAULT_IN_FLIGHT); more start at once if
 * requests are waiting. Lets a program size concurrency after it knows the job. */
LF_EXTERN void lf_fetcher_set_max_in_flight(lf_fetcher_t *fetcher, unsigned max_in_flight);

/* Transfers running, and requests waiting for a slot (or, paced, for their host's turn). */
LF_EXTERN size_t lf_fetcher_in_flight(const lf_fetcher_t *fetcher);
LF_EXTERN size_t lf_fetcher_queued(const lf_fetcher_t *fetcher);
/* Of the transfers running, those that libcurl holds back until it may open a connection
 * (per_host): they count in lf_fetcher_in_flight() but have not sent their request. */
LF_EXTERN size_t lf_fetcher_waiting_for_connection(const lf_fetcher_t *fetcher);
/* Requests waiting for their next attempt after a transient failure (not counted above). */
LF_EXTERN size_t lf_fetcher_waiting_to_retry(const lf_fetcher_t *fetcher);
/* Requests added whose result callback has not run yet: in flight, queued, waiting to retry
 * or cancelled and about to report. 0 in a result callback means this was the last result:
 * the moment to close. Since 0.2.0. */
LF_EXTERN size_t lf_fetcher_pending(const lf_fetcher_t *fetcher);

/* Cancels every request added with this lf_request_t.data (queued, waiting to retry or
 * running): each gets its result with LF_EABORTED ("cancelled") on a later loop turn, never
 * inside this call (a transfer that ends meanwhile reports as it ended; a request parked by
 * pacing reports when its host's turn comes). Returns how many were cancelled (>= 0), or
 * LF_EINVAL, LF_ECLOSING. Since 0.2.0. */
LF_EXTERN int lf_fetcher_cancel(lf_fetcher_t *fetcher, void *data);
/* Of the transfers running, those waiting for the disk: their network part is over and their
 * output is still being written, or they are paused until buffered output is written. A large
 * number means the disk, not the network, is what the fetcher waits for. */
LF_EXTERN size_t lf_fetcher_waiting_for_disk(const lf_fetcher_t *fetcher);

/* Per-host pacing. Starts of requests to one host (by name, without the port) are spaced by
 * the host's interval: the largest of wait_s (with LF_PACE_RANDOM, each interval drawn from
 * 0.5 to 1.5 times it, as wget's --random-wait), the host's own (lf_fetcher_set_host_pace) and,
 * with LF_PACE_BACKOFF, its slow-down: a 429 or 503 reply holds every request to that host for
 * the reply's Retry-After (1 s without one; both capped by retry_max_wait_ms), then the host
 * comes back to its pace step by step (the slow-down halves with each good reply). A request
 * whose host must wait waits on its own; requests to other hosts start meanwhile, in order.
 * Retries are paced like first attempts. Returns 0, or LF_EINVAL (wait_s negative, not finite
 * or over a day; an unknown flag). Default: 0, 0 (no pacing). */
#define LF_PACE_RANDOM 1u
#define LF_PACE_BACKOFF 2u
LF_EXTERN int lf_fetcher_set_pace(lf_fetcher_t *fetcher, double wait_s, unsigned flags);
/* One host's interval in seconds (e.g. its robots.txt Crawl-delay); its next start comes no
 * sooner than interval_s from now. 0 removes it. host is a name as in URLs ("example.org", "127.0.0.2"), compared without case.
 * Returns 0, LF_EINVAL or LF_ENOMEM. */
LF_EXTERN int lf_fetcher_set_host_pace(lf_fetcher_t *fetcher, const char *host,
                                       double interval_s);

/* Seconds since lf_fetcher_new(), on the clock used by lf_result_t.start. */
LF_EXTERN double lf_fetcher_now(const lf_fetcher_t *fetcher);

/* Aborts what is queued or running (each gets its result with LF_EABORTED, temporaries are
 * removed), releases every resource, calls on_close (may be NULL) and frees the fetcher when
 * on_close returns: the handle must not be used after that. As libuv's uv_close(), it only
 * starts the close: no callback of the caller runs inside this call (the aborted results come
 * on the loop's next turn), so it may be called from any callback, the body callback
 * included. No request can be added after it (LF_ECLOSING); a transfer that ends before the
 * next turn reports as it ended. The loop must run for the close to complete. Calling it twice
 * returns LF_ECLOSING. The loop itself is not touched: other handles on it keep running. */
LF_EXTERN int lf_fetcher_close(lf_fetcher_t *fetcher, lf_close_cb on_close);

/* ---------------------------------------------------------------------------------------------
 * Links: select elements of an HTML page with a CSS selector and resolve their href.
 * ------------------------------------------------------------------------------------------- */

typedef struct {
  char **urls; /* absolute http(s) URLs without fragment, first-seen order, no duplicates */
  size_t count;
  size_t matched; /* elements the selector matched */
  size_t skipped; /* matched elements without a usable http(s) href */
  size_t too_long; /* of those skipped: an href (or its URL) longer than LF_URL_MAX */
} lf_links_t;

/* Parses html (len bytes, need not be NUL-terminated), selects elements with selector, and
 * resolves each one's href against page_url (or the document's <base href>) to the URL a
 * browser would request (WHATWG URL standard: path as UTF-8, query in the page's encoding).
 * Selectors: CSS Selectors Level 3 (type, *, .class, #id, [attr] with = ~= |= ^= $= *=,
 * combinators ' ' > + ~, ',', :first-child, :nth-child(An+B), :not() and the other structural
 * pseudo-classes) plus :is(), :where(), :has(), :nth-child(An+B of S) and the i/s attribute
 * flags; README "Selectors" lists them. The page's encoding is sniffed as the HTML standard
 * says (BOM, <meta> in the first 1024 bytes, else UTF-8 if valid, else windows-1252) and the
 * page decoded with iconv before parsing.
 * On error returns LF_ESELECTOR (with the position in errbuf), LF_EURL (bad page_url) or
 * LF_ENOMEM, and writes one line of explanation to errbuf (if errlen > 0).
 * On success the caller owns out and frees it with lf_links_free(). */
LF_EXTERN int lf_links_extract(const char *html, size_t len, const char *page_url,
                               const char *selector, lf_links_t *out, char *errbuf, size_t errlen);

/* lf_links_extract() for a page that came with a Content-Type header (may be NULL): its
 * charset parameter, when it names a known encoding, comes before the <meta> prescan (a BOM
 * still comes first), as the HTML standard says. A type that is not text/html or
 * application/xhtml+xml returns LF_ENOTHTML (since 0.2.0). */
LF_EXTERN int lf_links_extract2(const char *html, size_t len, const char *page_url,
                                const char *content_type, const char *selector, lf_links_t *out,
                                char *errbuf, size_t errlen);

/* lf_links_extract2() for n selectors over one parse of the page: out[i] (an array of n) gets
 * what selectors[i] selects, each as lf_links_extract2() would give it; the page is decoded
 * and parsed once (the parse is most of the cost). On error no out[i] holds anything to free
 * (a malformed selector: errbuf names its position in it). Since 0.2.0. */
LF_EXTERN int lf_links_extract_n(const char *html, size_t len, const char *page_url,
                                 const char *content_type, const char *const *selectors,
                                 size_t n, lf_links_t *out, char *errbuf, size_t errlen);

LF_EXTERN void lf_links_free(lf_links_t *links);

/* ---------------------------------------------------------------------------------------------
 * Extraction: records of named fields out of HTML pages, with CSS selectors (docs/api.md).
 * ------------------------------------------------------------------------------------------- */

/* A compiled extraction: an optional "each" selector and the fields, in the order added. */
typedef struct lf_extract_s lf_extract_t;

/* One field's value in one record: count NUL-terminated UTF-8 strings. A field (NAME=...) has
 * 1, or 0 for null; an array field (NAME[]=...) has one per match that gave a value, 0 for []. */
typedef struct {
  const char *const *items;
  size_t count;
  int array;          /* 1 for an array field */
  void *reserved[2];  /* zero: room for new fields (an element of an array keeps its size) */
} lf_value_t;

/* The records of one page. The library fills it; it may grow at its end. */
typedef struct {
  size_t count;       /* records: one per match of the each selector, or 1 without one */
  size_t fields;      /* values per record: lf_extract_fields() */
  lf_value_t *values; /* record r's field f is values[r * fields + f] */
} lf_records_t;

/* Makes an empty extraction. each (may be NULL) is a CSS selector: one record per element it
 * matches, whose fields select among that element's descendants (as
 * element.querySelectorAll() does); without it, one record per page. Returns 0, LF_ESELECTOR
 * (errbuf: why, and the 0-based position in each), LF_ENOMEM or LF_EINVAL. */
LF_EXTERN int lf_extract_new(const char *each, lf_extract_t **out, char *errbuf, size_t errlen);

/* Adds a field: "NAME=SEL", "NAME=SEL::text", "NAME=SEL::attr(ATTR)", "NAME=SEL::url(ATTR)", or
 * "NAME[]=..." for every match instead of the first. NAME is letters, digits, '_', '-', '.'
 * and non-ASCII characters, and not url, parent or depth (any case), which records carry
 * besides their fields; no two fields share a name. Returns 0, LF_ESELECTOR (errbuf: why, and
 * the 0-based byte position in spec), LF_ENOMEM or LF_EINVAL. */
LF_EXTERN int lf_extract_add(lf_extract_t *x, const char *spec, char *errbuf, size_t errlen);

/* The number of fields, and the name of field i (NULL when i is out of range). */
LF_EXTERN size_t lf_extract_fields(const lf_extract_t *x);
LF_EXTERN const char *lf_extract_field_name(const lf_extract_t *x, size_t i);

/* Parses html (len bytes; charset sniffed and URLs resolved as lf_links_extract2() does:
 * content_type may be NULL, page_url is the base, usually the URL after redirects) and fills
 * out with its records. A handle is used by one thread at a time (matching keeps state).
 * Returns 0, LF_EURL (bad page_url), LF_EINVAL or LF_ENOMEM, with one line in errbuf; on error
 * out holds nothing to free. On success free out with lf_records_free(). */
LF_EXTERN int lf_extract_page(lf_extract_t *x, const char *html, size_t len, const char *page_url,
                              const char *content_type, lf_records_t *out, char *errbuf,
                              size_t errlen);

LF_EXTERN void lf_records_free(lf_records_t *records);
LF_EXTERN void lf_extract_free(lf_extract_t *x);

#ifdef __cplusplus
}
#endif
#endif /* LOOPFETCH_H */
