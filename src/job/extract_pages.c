/* Records of the last level's pages (extract_pages.h). */
#define _GNU_SOURCE
#include "extract_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "hmap.h"
#include "recout.h"
#include "safe_text.h"

struct lf__xpages_s {
  lf_extract_t *fields;
  const char **names; /* the fields' names, for the writer */
  lf__recout_t out;
  lf__hmap_t parent_of; /* hash of a URL -> index in parents, + 1 */
  lf__hmap_t done;      /* lf__url_key of the pages the records file had at the start */
  const char **parents;
  size_t nparents;
  size_t records;
  char why[320];
};

int lf__xpages_keep(const lf_cli_t *cfg) {
  return !cfg->field_count || cfg->save;
}

static int compile(lf__xpages_t *x, const lf_cli_t *cfg) {
  char err[320];
  if (lf_extract_new(cfg->each, &x->fields, err, sizeof(err)) != 0) {
    lf__error("--each '%s': %s", cfg->each, err);
    return -1;
  }
  for (size_t i = 0; i < cfg->field_count; i++)
    if (lf_extract_add(x->fields, cfg->fields[i], err, sizeof(err)) != 0) {
      lf__error("-e '%s': %s", cfg->fields[i], err);
      return -1;
    }
  if (!(x->names = calloc(cfg->field_count + 1, sizeof(*x->names)))) {
    lf__error("%s", "out of memory");
    return -1;
  }
  for (size_t i = 0; i < cfg->field_count; i++)
    x->names[i] = lf_extract_field_name(x->fields, i);
  return 0;
}

int lf__xpages_open(lf__xpages_t **out, const lf_cli_t *cfg) {
  *out = NULL;
  if (!cfg->field_count) return 0;
  lf__xpages_t *x = calloc(1, sizeof(*x));
  if (!x) {
    lf__error("%s", "out of memory");
    return -1;
  }
  x->out.json_fd = x->out.csv_fd = -1;
  char err[600];
  if (compile(x, cfg) < 0) {
    lf__xpages_close(x);
    return -1;
  }
  int (*open)(lf__recout_t *, const char *, const char *, const char *const *, size_t, char *,
              size_t) = cfg->mode == LF_MODE_WORKER ? lf__recout_open_append : lf__recout_open;
  if (open(&x->out, cfg->records, cfg->csv, x->names, cfg->field_count, err, sizeof(err)) < 0) {
    lf__error("%s", err);
    lf__xpages_close(x);
    return -1;
  }
  /* A rerun: the pages whose records are there already, read once the open has cut a torn
   * last record off (that page has no manifest line either, and is fetched again). The
   * parent of -p decides, as it names the pages: a worker reads nothing. */
  const char *past = cfg->records && strcmp(cfg->records, "-") ? cfg->records : cfg->csv;
  int rc = cfg->force || cfg->mode == LF_MODE_WORKER
               ? 0
               : lf__recout_load_urls(past, past == cfg->csv, &x->done);
  if (rc < 0) {
    lf__error("cannot read %s: %s", past, strerror(-rc));
    lf__xpages_close(x);
    return -1;
  }
  *out = x;
  return 0;
}

/* Parses with the charset the page declares, as links are; a reply that says it is not HTML
 * (an image, a PDF, JSON) is no page to extract from: it gives no records. */
static int is_html(const char *content_type) {
  return !content_type || strstr(content_type, "html") != NULL;
}

long lf__xpages_page(lf__xpages_t *x, const char *body, size_t len, const char *content_type,
                     const char *url, const char *base, const char *parent, unsigned depth,
                     const char **why) {
  if (!is_html(content_type)) return 0;
  lf_records_t recs;
  int rc = lf_extract_page(x->fields, body, len, base ? base : url, content_type, &recs, x->why,
                           sizeof(x->why));
  if (rc != 0) {
    *why = x->why;
    return rc;
  }
  rc = lf__recout_write(&x->out, url, parent, depth, &recs);
  long n = (long)recs.count;
  lf_records_free(&recs);
  if (rc < 0) {
    snprintf(x->why, sizeof(x->why), "cannot write the records to %s: %s",
             x->out.failed && strcmp(x->out.failed, "-") ? x->out.failed : "stdout", strerror(-rc));
    *why = x->why;
    return rc;
  }
  x->records += (size_t)n;
  return n;
}

/* A saved page read back whole: never through a symlink, at most max bytes. */
static int read_saved(int dirfd, const char *file, size_t max, char **out, size_t *len) {
  int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return -errno;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
    int err = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
    close(fd);
    return err;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  int err = !buf ? -ENOMEM : got < (size_t)st.st_size ? -EIO : 0;
  close(fd);
  if (err) {
    free(buf);
    return err;
  }
  *out = buf;
  *len = got;
  return 0;
}

long lf__xpages_result(lf__xpages_t *x, int dirfd, size_t max, const lf_result_t *r,
                       const char *parent, unsigned depth, const char **why) {
  if (r->body)
    return lf__xpages_page(x, r->body, r->body_len, r->content_type, r->url, r->effective_url,
                           parent, depth, why);
  if (!r->file || !is_html(r->content_type)) return 0;
  char *body = NULL;
  size_t len = 0;
  int rc = read_saved(dirfd, r->file, max, &body, &len);
  if (rc < 0) {
    snprintf(x->why, sizeof(x->why), "cannot read the saved page %s: %s", r->file, strerror(-rc));
    *why = x->why;
    return rc;
  }
  long n =
      lf__xpages_page(x, body, len, r->content_type, r->url, r->effective_url, parent, depth, why);
  free(body);
  return n;
}

int lf__xpages_note_parent(lf__xpages_t *x, const char *parent, char *const *urls, size_t n) {
  const char **p = realloc(x->parents, (x->nparents + 1) * sizeof(*p));
  if (!p) return LF_ENOMEM;
  x->parents = p;
  x->parents[x->nparents++] = parent;
  for (size_t i = 0; i < n; i++) {
    int added;
    uint64_t key = lf__hash64(urls[i], strlen(urls[i]));
    if (!lf__hmap_put(&x->parent_of, key, (uint32_t)x->nparents, &added)) return LF_ENOMEM;
  }
  return 0;
}

const char *lf__xpages_parent(const lf__xpages_t *x, const char *url) {
  /* (no shortcut for one parent noted: a start page, or a --next page's first page, has none) */
  uint32_t *v = lf__hmap_get(&x->parent_of, lf__hash64(url, strlen(url)));
  return v && *v ? x->parents[*v - 1] : NULL;
}

int lf__xpages_done(const lf__xpages_t *x, const char *url) {
  return x && x->done.count && lf__hmap_get(&x->done, lf__url_key(url)) != NULL;
}

size_t lf__xpages_records(const lf__xpages_t *x) {
  return x ? x->records : 0;
}

void lf__xpages_close(lf__xpages_t *x) {
  if (!x) return;
  lf__recout_close(&x->out);
  lf_extract_free(x->fields);
  free(x->names);
  lf__hmap_free(&x->parent_of);
  lf__hmap_free(&x->done);
  free(x->parents);
  free(x);
}
