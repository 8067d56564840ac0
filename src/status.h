/* `loopfetch status [options] DIR...`: one view of a job made of many runs and shards, from
 * every manifest in the folders (and, with -i, the job's URL list). */
#ifndef LF_STATUS_H
#define LF_STATUS_H

#include <stddef.h>
#include <stdio.h>
#include "hmap.h"
#include "urlkey.h"

/* What became of a URL, as far as the manifests tell. */
typedef enum {
  LF_ST_SAVED = 1,
  LF_ST_SKIPPED,   /* complete from an earlier run */
  LF_ST_UNCHANGED, /* --refresh: the server said the saved copy is current */
  LF_ST_FAILED,
  LF_ST_INTERRUPTED,
  LF_ST_GONE,    /* recorded as done, but its file is no longer in the folder */
  LF_ST_MISSING, /* in the -i list, in no manifest */
  LF_ST_COUNT
} lf__st_t;

typedef struct {
  unsigned k, n; /* shard K of N: 1/1 for "loopfetch-manifest.jsonl"; 0/0 other names */
  char *path;    /* NULL: no manifest for this shard (only its missing pages are counted) */
  int dirfd;     /* the folder its files are in, or -1 (a manifest given by path) */
  size_t count[LF_ST_COUNT];
  size_t torn; /* lines that are not whole records (a run killed mid-write) */
} lf__st_shard_t;

/* --urls: a URL not done, as its records show it, and why its last failure failed. */
typedef struct {
  char *url, *why;
  uint64_t key;
} lf__st_undone_t;

typedef struct {
  int json, urls, shards; /* --json, --urls, --shards */
  const char *input;      /* -i LIST: the job's URLs, so missing ones are known */
  lf__st_shard_t *shard;
  size_t nshard, cap;
  unsigned n;                  /* the N every sharded manifest shares, 0 if none or mixed */
  lf__hmap_t url;              /* hash of URL -> shard index << 4 | printed << 3 | state */
  size_t unattributed_missing; /* missing URLs whose shard is unknown (no common N) */
  FILE *out;
  lf__urlkey_t *keys; /* each folder's key, for the list's URLs with a password */
  size_t nkeys;
  CURLU *parse;         /* reused to read each URL (urlkey.h: lf__url_identity) */
  lf__hmap_t undone_at; /* --urls: URL's key -> its entry in undone */
  lf__st_undone_t *undone;
  size_t nundone, undone_cap;
} lf__status_t;

/* The subcommand: argv[0] is "status". Returns the exit status (0: the job is complete). */
int lf__status_main(int argc, char **argv);

/* status_print.c */
int lf__status_complete(const lf__status_t *st);
void lf__status_print(const lf__status_t *st);
void lf__status_print_json(const lf__status_t *st);
void lf__status_print_shards(const lf__status_t *st);

#endif
