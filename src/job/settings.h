/* A job's settings, as the command line (cli.c) fills them, and the exit codes a job ends with.
 * Everything in job/ reads them; nothing below job/ does. */
#ifndef LF_SETTINGS_H
#define LF_SETTINGS_H

#include "loopfetch.h"

#define LF_DEFAULT_LIST_URL                                                                        \
  "https://en.wikipedia.org/wiki/List_of_countries_by_population_(United_Nations)"
#define LF_DEFAULT_SELECTOR "td .flagicon + a"
#define LF_DEFAULT_OUT_DIR "pages"
/* Default concurrency: every link, but no more than this per loop (each transfer in flight
 * costs an easy handle and buffers) and within the open-file limit. */
#define LF_CLI_MAX_DEFAULT_IN_FLIGHT 512

enum {
  LF_EXIT_OK = 0,      /* every page saved */
  LF_EXIT_FAILED = 1,  /* some pages failed; the others were saved */
  LF_EXIT_USAGE = 2,   /* bad option or argument, malformed selector */
  LF_EXIT_LIST = 3,    /* the list page or the input could not be fetched or read */
  LF_EXIT_NOTHING = 4, /* nothing to fetch: no link matched, or the input holds no URL */
  LF_EXIT_LOCAL = 5,   /* local trouble: output folder unusable, out of memory */
  LF_EXIT_SIGHUP = 129, /* the terminal went away: stopped as by SIGTERM */
  LF_EXIT_SIGINT = 130,
  LF_EXIT_SIGTERM = 143
};

typedef enum { LF_MODE_LOOP = 0, LF_MODE_PROCS, LF_MODE_WORKER, LF_MODE_COMPARE } lf_cli_mode_t;

#define LF_CLI_MAX_HEADERS 64
#define LF_CLI_MAX_SITEMAPS 64
#define LF_CLI_MAX_FIELDS 256 /* -e options */
/* Levels of a crawl: the start pages, then one per -f/--follow (or --select). */
#define LF_CLI_MAX_LEVELS 16
/* --max-pages: pages a level may reach through --next, by default. */
#define LF_CLI_MAX_PAGES 1000

/* One level of a crawl. Level 0 is the start pages (LIST_URLs, else -i's URLs); level k > 0 is
 * the pages that level k - 1's pages link with `follow`. The last level's pages are saved;
 * the others are navigation: parsed for links, recorded, saved only with --save-all. */
typedef struct {
  const char *follow; /* -f SEL that leads here from the level before (NULL for level 0) */
  const char *next;   /* --next SEL: "next page" links that give more pages of this level */
  const char *option; /* "--follow" or "--select": how it was given (messages) */
} lf_cli_level_t;
/* Largest list page by default (--max-list-size): it is parsed whole, in memory. */
#define LF_CLI_MAX_LIST_SIZE ((size_t)32 * 1024 * 1024)

typedef struct {
  lf_cli_mode_t mode;
  const char *list_url;         /* the first list page (messages) */
  const char *const *list_urls; /* every list page; none with only -i */
  size_t list_count;
  int list_url_given;
  const char *selector; /* the first level's -f (messages, --compare) */
  lf_cli_level_t levels[LF_CLI_MAX_LEVELS];
  size_t level_count;  /* >= 1: level 0, the start pages, and one per -f */
  unsigned max_pages;  /* --max-pages: per level, through --next */
  uint64_t max_urls;   /* --max-urls: URLs the whole job takes; 0 = no cap */
  int save_all;        /* --save-all: navigation pages are saved too */
  unsigned record_depth; /* --record-depth (a worker of -p): its pages' level, for records */
  const char *out_dir;
  int out_dir_given;
  const char *input;    /* file of URLs, "-" for stdin; NULL: use the list page */
  const char *manifest; /* NULL: DIR/loopfetch-manifest[.K-of-N].jsonl (job_pages.c) */
  const char *trace, *waterfall;
  unsigned concurrency;      /* 0: default */
  unsigned procs;            /* --procs N; 0 means online CPUs (resolved in parse) */
  unsigned shard_k, shard_n; /* --shard K/N; n == 0: all */
  int layout;                /* --layout: lf__layout_t (layout.h) */
  int links_only, quiet, force, json, progress;
  int no_clobber; /* a file in the way that no manifest records: skip the page, not rename */
  int verbose, refresh, content_disposition;
  int resume;      /* -C/--continue: pages' files are resumable partials (LF_REQUEST_CONTINUE) */
  double wait;     /* --wait S: seconds between starts to one host (lf_fetcher_set_pace) */
  int random_wait; /* --random-wait */
  /* -e/--extract: records of the last level's pages (README "Crawling and extracting") */
  const char *fields[LF_CLI_MAX_FIELDS]; /* the -e specs, in order */
  size_t field_count;
  const char *each;           /* --each SEL, or NULL */
  const char *records, *csv;  /* --records FILE, --csv FILE ("-": stdout), or NULL */
  int save;                   /* --save, or -o given: pages are kept on disk too */
  int select_given;           /* --select given: the start pages are list pages */
  int robots;             /* obey robots.txt for the URLs the job discovers (--robots=on|off) */
  double max_crawl_delay; /* --max-crawl-delay S: the most a Crawl-delay may pace a host */
  const char *sitemaps[LF_CLI_MAX_SITEMAPS]; /* --sitemap URL, in order */
  size_t sitemap_count;
  lf_options_t fetch; /* transfer options (timeouts, retries, headers, ...) */
  lf_http_options_t http; /* proxies, credentials, redirects: fetch.http points here */
  const char *user;       /* --user as given (NAME or NAME:PASS); http.userpwd is resolved */
  int netrc;              /* --netrc or --netrc-file: http.netrc_file is the file */
  const char *headers[LF_CLI_MAX_HEADERS + 1];
  size_t header_count;
  lf_warc_options_t warc;     /* --warc-file and friends; fetch.warc points here when set */
  const char *warc_info[2];   /* the warcinfo's command-line field, then NULL */
  int warc_option_given;      /* a --warc-* option other than --warc-file (needs it) */
  uint64_t epoch_ns; /* --epoch (workers): the parent's uv_hrtime() at its start */
  char **argv;       /* for re-running ourselves (workers, --compare) */
  int argc;
} lf_cli_t;

/* Runs the job described by cfg and returns the process exit code. */
int lf__job_run(const lf_cli_t *cfg);

#endif
