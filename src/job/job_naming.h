/* Pages: every URL the frontier gives is named (names.h, in input order, so every mode and shard
 * names a page the same), placed by --layout, filtered by --shard, and skipped if a previous run
 * saved it; --refresh's validators are found here too. */
#ifndef LF_JOB_NAMING_H
#define LF_JOB_NAMING_H

#include "job.h"

/* The next page to fetch, named and placed (name: LF_PATH_MAX + 1 bytes). 1: a page; 0: the end. */
int lf__job_next_page(job_t *job, const char **url, char *name);
/* Whether nothing is at path (a --layout path) in the folder, nor at the name the page takes
 * if its reply is not HTML: the page's file is new, so publishing it must replace nothing. */
int lf__job_name_fresh(job_t *job, const char *url, const char *path);
/* The fetcher's name callback, once a page's reply is in: names follow the content. */
void lf__job_on_name(lf_fetcher_t *f, const lf_result_t *r, char *name);
/* Stopped by a signal: every page never handed out is recorded as interrupted. */
void lf__job_record_unfed(job_t *job);
/* --refresh: the validators of a page the folder still holds, or NULL. */
const lf__refresh_entry_t *lf__job_refreshable(job_t *job, const char *url);
/* If-None-Match / If-Modified-Since lines for h (NULL-terminated); returns how many. */
int lf__job_conditional_headers(const char *etag, const char *last_modified, char buf[2][1024],
                                const char *h[3]);
/* "\tETAG\tLAST_MODIFIED" for a worker's line, or "". */
void lf__job_validators(job_t *job, const char *url, char *extra, size_t len);
/* A 304 keeps the file the manifest named, and the validators unless new ones came. */
void lf__job_refresh_record(job_t *job, lf__record_t *rec);

#endif
