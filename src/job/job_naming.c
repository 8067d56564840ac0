/* Naming and skipping pages (job_naming.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "frontier.h"
#include "job_naming.h"
#include "job_record.h"
#include "hmap.h"
#include "safe_text.h"
#include "shard.h"

static int ends_with(const char *s, size_t n, const char *end) {
  size_t e = strlen(end);
  return n >= e && memcmp(s + n - e, end, e) == 0;
}

/* Whether a page named name (a reserved name, with its ".html") would land on one of the
 * run's own files (job->own_names): as it is, or without the ".html" a non-HTML reply drops. */
static int is_own(const job_t *job, const char *name) {
  size_t full = strlen(name);
  for (int form = 0; form < 2; form++) {
    size_t n = form == 0 ? full : full - 5;
    if (form == 1 && !ends_with(name, full, ".html")) break;
    for (size_t i = 0; i < job->own_count; i++) {
      const char *own = job->own_names[i];
      size_t len = strlen(own);
      if (n == len && memcmp(name, own, n) == 0) return 1;
      if (i == 0 && job->own_warc && n > len && memcmp(name, own, len) == 0 &&
          (ends_with(name, n, ".warc.gz") || ends_with(name, n, ".warc") ||
           ends_with(name, n, ".cdxj")))
        return 1; /* NAME-00001.warc.gz, NAME-p2.warc.gz, NAME.cdxj, ... */
    }
  }
  return 0;
}

/* Whether anything (a file, a folder, a symlink: never followed) is at path in the folder. */
static int on_disk(job_t *job, const char *path) {
  struct stat st;
  return fstatat(job->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Whether a previous run saved this URL's page under this name (a --layout path) and the file
 * is still what it recorded: a manifest in the folder says so (manifest.h), and the file has
 * that size. A name alone proves nothing: another URL may have been saved under it, or the
 * file may be anything. No symlink is followed on the way (layout.c). *bytes: its size. */
static int saved_as(job_t *job, const char *url, const char *name, uint64_t *bytes) {
  uint64_t recorded, size;
  if (!lf__manifest_lookup(&job->manifest, url, name, &recorded)) return 0;
  if (!lf__layout_size(job->dirfd, name, &size) ||
      (uint32_t)size != (uint32_t)recorded) /* the index keeps 32 bits (manifest.h) */
    return 0;
  *bytes = size;
  return 1;
}

static int regular_file(job_t *job, const char *name) {
  uint64_t size;
  return lf__layout_size(job->dirfd, name, &size); /* no symlink followed (layout.c) */
}

/* The page is saved under its reserved name or, if its reply was not HTML, under that name
 * without ".html" (lf__name_for_reply): *found says which. --refresh asks the server instead. */
static int already_saved(job_t *job, const char *url, const char *name, uint64_t *bytes,
                         char *found) {
  char other[LF_PATH_MAX + 1];
  if (job->cfg->force || job->cfg->refresh || job->manifest.count == 0) return 0;
  if (saved_as(job, url, name, bytes)) {
    memcpy(found, name, strlen(name) + 1);
    return 1;
  }
  if (lf__name_for_reply(url, name, 0, other, sizeof(other)) < 0 || strcmp(other, name) == 0 ||
      !saved_as(job, url, other, bytes))
    return 0;
  memcpy(found, other, strlen(other) + 1);
  return 1;
}

static int is_html(const char *content_type) {
  return content_type && strstr(content_type, "html") != NULL;
}

/* --content-disposition: the server's name, if no other page of the job has it and nothing is
 * at that name in the folder (another shard's page, a file not ours: the URL's name stays
 * then). It is claimed in the name set in its reserved form (with ".html"), like a URL's name,
 * so that it can collide neither with a name given out already nor with one given out later. */
static int claim_disposition(job_t *job, const char *header, char *out) {
  char name[LF_NAME_MAX + 1], want[LF_NAME_MAX + 1], got[LF_NAME_MAX + 1];
  if (lf__name_from_disposition(header, name, sizeof(name)) < 0) return -1;
  if (on_disk(job, name)) return -1;
  memcpy(want, name, strlen(name) + 1);
  if (strlen(want) + 5 <= LF_NAME_MAX && !ends_with(want, strlen(want), ".html"))
    strcat(want, ".html");
  if (is_own(job, want)) return -1;
  size_t len = strlen(name); /* at most 240: the sanitizer leaves room for ".html" */
  int has_html = len > 5 && strcmp(name + len - 5, ".html") == 0;
  memcpy(want, name, len + 1);
  if (!has_html) memcpy(want + len, ".html", 6);
  if (lf__names_unique(job->names, want, got, sizeof(got)) < 0 || strcmp(got, want) != 0) return -1;
  memcpy(out, name, len + 1);
  return 0;
}

/* The fetcher asks once a page's reply is in: names follow the content (names.h). */
void lf__job_on_name(lf_fetcher_t *f, const lf_result_t *r, char *name) {
  job_t *job = lf_fetcher_get_data(f);
  char out[LF_FILE_NAME_MAX + 1];
  /* A server's name replaces a plain name; a --layout path keeps its folders (layout.h). */
  if (job->cfg->content_disposition && r->content_disposition && !strchr(name, '/') &&
      claim_disposition(job, r->content_disposition, out) == 0) {
    memcpy(name, out, strlen(out) + 1);
    return;
  }
  if (lf__name_for_reply(r->url, name, is_html(r->content_type), out, sizeof(out)) == 0)
    memcpy(name, out, strlen(out) + 1);
}

/* Whether what is at path is not ours: there, and no manifest records a page under it. */
static int not_ours(job_t *job, const char *path) {
  return on_disk(job, path) && !lf__manifest_holds(&job->manifest, path);
}

/* The name a page takes if its reply is not HTML (names.h), or NULL if it is the same. */
static const char *other_form(const char *url, const char *path, char *buf) {
  return lf__name_for_reply(url, path, 0, buf, LF_PATH_MAX + 1) == 0 && strcmp(buf, path) != 0
             ? buf
             : NULL;
}

int lf__job_name_fresh(job_t *job, const char *url, const char *path) {
  char form[LF_PATH_MAX + 1];
  const char *other = other_form(url, path, form);
  return !on_disk(job, path) && !(other && on_disk(job, other));
}

/* The first free variant of the name (name~2, name~3 ...): in neither form on disk, nor given
 * out in this job. Into name (a name) and path (its --layout path). */
static int next_free(job_t *job, const char *url, char *name, char *path) {
  char cand[LF_NAME_MAX + 1], form[LF_PATH_MAX + 1];
  for (unsigned long n = 2;; n++) {
    lf__name_variant(name, strlen(name), n, cand);
    int rc = lf__layout_path(job->cfg->layout, job->url, cand, path);
    if (rc < 0) return rc;
    const char *other = other_form(url, path, form);
    if (on_disk(job, path) || (other && on_disk(job, other))) continue;
    if ((rc = lf__names_add_key(job->names, lf__hash64(cand, strlen(cand)))) < 0) return rc;
    if (rc == 1) break; /* not given out before: now it is */
  }
  memcpy(name, cand, strlen(cand) + 1);
  return 0;
}

/* A file that no manifest records is never replaced (issue 25): the page is saved under the
 * next free name, with a line saying so, or with --no-clobber it is skipped; --force replaces
 * it. Both the name and the name the page takes if its reply is not HTML are looked at, since
 * the reply is not known yet. 0: go on (name, path maybe changed); 1: skipped; <0: error. */
static int avoid_foreign(job_t *job, const char *url, char *name, char *path) {
  char form[LF_PATH_MAX + 1], was[LF_PATH_MAX + 1];
  const char *other = other_form(url, path, form);
  int as_other = !not_ours(job, path) && other && not_ours(job, other);
  if (job->cfg->force || (!as_other && !not_ours(job, path))) return 0;
  memcpy(was, as_other ? other : path, strlen(as_other ? other : path) + 1);
  char *shown_url = lf__display(url, 1), *shown_was = lf__display(was, 0);
  if (job->cfg->no_clobber) {
    char why[LF_PATH_MAX * 4 + 64];
    snprintf(why, sizeof(why), "%s exists and is not ours: not replaced (--no-clobber)",
             shown_was ? shown_was : was);
    lf__job_record_failure(job, url, NULL, why, LF_REC_SKIPPED, 0);
    free(shown_url);
    free(shown_was);
    return 1;
  }
  int rc = next_free(job, url, name, path);
  if (rc == 0) {
    job->report.renamed++;
    const char *now = as_other && other_form(url, path, form) ? form : path;
    char *shown_now = lf__display(now, 0);
    if (!job->cfg->quiet) {
      if (job->progress_on) lf__progress_clear(stderr); /* redrawn below at the next tick */
      fprintf(stderr, "loopfetch: %s exists and is not ours: %s is saved as %s\n",
              shown_was ? shown_was : "?", shown_url ? shown_url : "?",
              shown_now ? shown_now : "?");
    }
    free(shown_now);
  }
  free(shown_url);
  free(shown_was);
  return rc;
}

/* A URL that an earlier run saved keeps that name (the manifests say which, manifest.h): its
 * name is in the set already, reserved for it, so it takes no other and no other URL takes it.
 * Only the name counts, not the folders of the --layout it was saved with. 1 with name
 * (LF_NAME_MAX + 1 bytes), 0: none. */
static int kept_name(job_t *job, const char *url, char *name) {
  char path[LF_PATH_MAX + 1];
  if (!lf__manifest_kept_name(&job->manifest, url, path)) return 0;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strlen(base) > LF_NAME_MAX) return 0;
  memcpy(name, base, strlen(base) + 1);
  return !is_own(job, name); /* a name the run now writes a file of its own under: given up */
}

/* The next page to fetch, named, and placed by --layout (name: LF_PATH_MAX + 1 bytes). Names
 * are given to every URL in input order, before the shard filter, so every mode and every shard
 * names a page the same. 1: a page; 0: the end. */
int lf__job_next_page(job_t *job, const char **url, char *name) {
  const lf_cli_t *cfg = job->cfg;
  const char *u;
  while (lf__frontier_next(job, &u)) {
    char derived[LF_NAME_MAX + 1];
    int kept = kept_name(job, u, derived), rc = kept;
    if (rc == 0) rc = lf__name_from_curlu(job->url, derived, sizeof(derived));
    if (rc == 0) rc = lf__names_unique(job->names, derived, derived, sizeof(derived));
    while (rc == 0 && !kept && is_own(job, derived)) /* the next variant: "~2" */
      rc = lf__names_unique(job->names, derived, derived, sizeof(derived));
    if (rc >= 0) rc = lf__layout_path(cfg->layout, job->url, derived, name);
    if (rc < 0) {
      lf__job_record_failure(job, u, NULL, lf_strerror(rc), LF_REC_FAILED, 0);
      continue;
    }
    if (cfg->shard_n && lf__shard_of(u, cfg->shard_n) != cfg->shard_k - 1) continue;
    /* A kept name is ours; a new one may find a file of someone else's in its place. */
    if (!kept && (rc = avoid_foreign(job, u, derived, name)) != 0) {
      if (rc < 0) lf__job_record_failure(job, u, NULL, lf_strerror(rc), LF_REC_FAILED, 0);
      continue;
    }
    uint64_t bytes;
    char found[LF_PATH_MAX + 1];
    if (already_saved(job, u, name, &bytes, found)) {
      lf__job_record_skipped(job, u, found, bytes); /* with the size: the next run checks it */
      continue;
    }
    if (lf__xpages_done(job->xpages, u)) { /* -e: its records are in the file already */
      lf__job_record_skipped(job, u, NULL, 0);
      continue;
    }
    *url = u;
    return 1;
  }
  return 0;
}

/* Stopped by a signal: what was never handed to the fetcher is accounted for too. */
void lf__job_record_unfed(job_t *job) {
  const char *url;
  char name[LF_PATH_MAX + 1]; /* a name, or a --layout path */
  job->feeding = 0;
  while (lf__job_next_page(job, &url, name))
    lf__job_record_failure(job, url, name, "interrupted before it started", LF_REC_INTERRUPTED, 0);
}

/* A validator that can travel in a header line and a worker's tab-separated line. */
static int usable(const char *v) {
  return v && *v && strlen(v) < 900 && !strpbrk(v, "\t\r\n");
}

/* The validators of a page the folder still holds under the name the manifest gives. */
const lf__refresh_entry_t *lf__job_refreshable(job_t *job, const char *url) {
  const lf__refresh_entry_t *e = job->refresh ? lf__refresh_find(job->refresh, url) : NULL;
  return e && !job->cfg->force && regular_file(job, e->file) ? e : NULL;
}

/* --refresh: ask the server only for a newer version (wget -N, curl -z and --etag-compare).
 * Returns the number of headers written to h. */
int lf__job_conditional_headers(const char *etag, const char *last_modified, char buf[2][1024],
                                const char *h[3]) {
  int n = 0;
  if (usable(etag)) {
    snprintf(buf[n], sizeof(buf[n]), "If-None-Match: %s", etag);
    h[n] = buf[n];
    n++;
  }
  if (usable(last_modified)) {
    snprintf(buf[n], sizeof(buf[n]), "If-Modified-Since: %s", last_modified);
    h[n] = buf[n];
    n++;
  }
  h[n] = NULL;
  return n;
}

void lf__job_validators(job_t *job, const char *url, char *extra, size_t len) {
  const lf__refresh_entry_t *e = lf__job_refreshable(job, url);
  extra[0] = '\0';
  if (e && (usable(e->etag) || usable(e->last_modified)))
    snprintf(extra, len, "\t%s\t%s\t%s", usable(e->etag) ? e->etag : "",
             usable(e->last_modified) ? e->last_modified : "",
             usable(e->warc_date) ? e->warc_date : "");
}

/* A 304 keeps the file the manifest named, and the validators unless new ones came. */
void lf__job_refresh_record(job_t *job, lf__record_t *rec) {
  const lf__refresh_entry_t *e = job->refresh ? lf__refresh_find(job->refresh, rec->url) : NULL;
  if (rec->status != LF_REC_UNCHANGED || !e) return;
  rec->file = e->file;
  if (!rec->etag) rec->etag = e->etag;
  if (!rec->last_modified) rec->last_modified = e->last_modified;
  /* The revisit of a 304 holds no payload: later ones keep referring to the capture that does. */
  rec->warc_date = e->warc_date;
}
