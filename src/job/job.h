/* The job's state, shared by the modules of job/ (README.md here lists them, lowest first; each
 * calls only those below it). Data only: the functions are in each module's own header. */
#ifndef LF_JOB_H
#define LF_JOB_H

#include <stdint.h>
#include <stdio.h>
#include <curl/curl.h>
#include "settings.h"
#include "extract_pages.h"
#include "hmap.h"
#include "layout.h"
#include "lines.h"
#include "manifest.h"
#include "urlkey.h"
#include "names.h"
#include "procs.h"
#include "progress.h"
#include "refresh.h"
#include "report.h"
#include "window.h"

/* URLs handed to the fetcher per need callback, at least: the free slots are filled at once
 * (see feed_count), so the queue (and memory) stays small. */
#define FEED_BATCH 64
/* Descriptors kept free for stdio, the loop, libcurl's resolver and the like. */
#define FD_RESERVE 32
/* Once every page has been handed out, free heap pages go back to the kernel after this many
 * more results, and at most once per TRIM_GAP_MS (see give_back_memory). */
#define TRIM_EVERY 16
#define TRIM_GAP_MS 10
/* While pages are still handed out: at most once per this many ms (see give_back_memory). */
#define TRIM_FEEDING_MS 1000
/* Longest parent URL a worker's line carries (-e with -p); a longer one is left out. */
#define LF_URL_FIELD_MAX 8192

/* A navigation request's data: the top bit set, then (in a worker) its level in the next four
 * bits, then its place (the parent: in its level; a worker: its line's index). Pages carry
 * small indexes, so the two never meet. */
#define LF_NAV_BIT ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))
#define LF_NAV_LEVEL_SHIFT (sizeof(uintptr_t) * 8 - 5)
#define LF_NAV_INDEX(d) ((uintptr_t)(d) & (((uintptr_t)1 << LF_NAV_LEVEL_SHIFT) - 1))
#define LF_NAV_LEVEL(d) ((size_t)(((uintptr_t)(d) >> LF_NAV_LEVEL_SHIFT) & 15))

typedef struct lf__crawl_s lf__crawl_t;

typedef struct job_s {
  const lf_cli_t *cfg;
  uv_loop_t loop;
  lf_fetcher_t *fetcher; /* NULL until set up, and again once closed */
  uv_signal_t sigint, sigterm, sighup;
  int signals_watched;
  lf__report_t report;
  lf__names_t *names;
  lf__names_t *input_seen; /* -i: the 64-bit keys of the URLs read so far, to drop repeats */
  int dirfd;               /* output folder: to see which pages a previous run completed */
  int dir_created;         /* this run made the output folder: removed if it saved nothing */
  lf__manifest_t manifest; /* ours (locked) and what the folder's manifests say was saved */
  lf__urlkey_t urlkey;     /* the folder's key for URLs with a password (urlkey.h) */
  /* Files the run writes itself in the output folder under names a user chose (--manifest,
   * --records, --csv, the WARC files): their names, which no page takes (job_output.c). */
  char *own_names[5];
  size_t own_count;
  int own_warc; /* own_names[0] is the WARC files' stem: NAME*.warc.gz, .warc, .cdxj */
  int pid;                 /* ours, for the records (getpid() is a system call each time) */
  lf_links_t links;        /* list mode: what is left to feed starts at next_link */
  lf__refresh_t *refresh;  /* --refresh: the previous manifest's files and validators */
  int slurping;            /* the input is read whole first (-p, --links, with list pages) */
  struct lf__crawl_s *crawl; /* the navigation levels (job_crawl.c), once started */
  lf__names_t *seen;         /* every URL the job took, across levels: each is fetched once */
  size_t seen_count;
  size_t next_taken; /* pages the last level took through --next (--max-pages) */
  int navigating;    /* a crawl's navigation levels run: the job is not done between pages */
  char **worker_parents; /* -e in a worker: the parents its lines named (lf__xpages_parent) */
  size_t worker_parents_len, worker_parents_cap;
  size_t next_link;
  size_t links_cap;   /* --procs -i: links.urls' room while the input is read */
  lf__lines_t *input; /* input mode (and workers: their stdin); NULL once closed */
  /* --sitemap robots with -i: the input, read whole before the sitemaps (its origins' robots.txt
   * name them), set aside until -i's URLs join the job (lf__frontier_slurp takes them then). */
  lf_links_t held_input;
  int input_held;
  lf__lines_t input_lines;
  int input_waiting; /* the input has no line yet: more may come (lines.h) */
  CURLU *url;        /* the URL being named, parsed once */
  lf__procs_t *procs;
  int procs_running;
  size_t handed_to_workers; /* pages dealt to workers, for the progress line's in-flight */
  int procs_all_handed;     /* every page known so far went to the workers */
  int procs_input_ended;    /* the workers were told no more pages come */
  /* -p in a crawl (job_crawl.c): a navigation page a worker fetched and parsed, what it found
   * on a page before its record, and one whose worker died without reporting it. */
  void (*worker_nav)(struct job_s *job, const lf__record_t *rec, uintptr_t data);
  int (*worker_found)(struct job_s *job, uintptr_t data, const char *url, char kind,
                      const char *value);
  void (*worker_nav_orphan)(struct job_s *job, uintptr_t data);
  lf__hmap_t contacted;     /* -p: hashes of the hosts the parent itself sent requests to */
  lf__progress_t progress;
  uv_timer_t progress_timer;
  int progress_on;
  /* A worker's body bytes not yet told to the parent, and when it last told them (uv_now). */
  uint64_t bytes_untold;
  uint64_t bytes_told_ms;
  int feeding;          /* more URLs may come */
  size_t outstanding;   /* added to the fetcher, result not yet seen */
  size_t since_trim;    /* results since give_back_memory() last ran */
  uint64_t trimmed_at;  /* uv_now() then */
  int exit_code;        /* set by a fatal error; otherwise derived from the counts */
  int signal;           /* SIGINT, SIGTERM or SIGHUP received */
  int pages_started;    /* the summary line is about pages: none before this */
  unsigned fd_budget;   /* transfers the open-file limit allows */
  unsigned concurrency; /* transfers in flight allowed now (job->window.size without -c) */
  lf__window_t window;  /* without -c: widens while the loop waits (window.h) */
  int idle_metrics;     /* a window is wanted and the loop measures its idle time */
  double clock_offset;  /* fetcher clock + offset = seconds since the job started */
  lf__xpages_t *xpages; /* -e: the records of the last level's pages (extract_pages.h) */
  size_t discovered;    /* links[0, discovered) came from list pages: robots.txt applies */
  struct lf__job_robots_s *robots; /* robots.txt per origin (job_robots.c), NULL until needed */
  struct lf__job_sitemaps_s *sitemaps; /* --sitemap (job_sitemaps.c), NULL without */
  void (*sitemaps_all_in)(struct job_s *job); /* every sitemap in: the pages can start */
  /* Where a page robots.txt held back goes once allowed: fed to the fetcher, or to a worker. */
  void (*robots_release)(struct job_s *job, const char *url, const char *name, uintptr_t index);
  /* --sitemap robots: the Sitemap lines of an origin's robots.txt (job_sitemaps.c). */
  void (*robots_sitemaps)(struct job_s *job, const char *origin, const char *const *urls,
                          size_t n);
} job_t;

#endif
