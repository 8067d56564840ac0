/* --refresh: URL -> saved file and validators, from the previous manifest (refresh.h). */
#define _GNU_SOURCE
#include "refresh.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "loopfetch.h"
#include "manifest.h"
#include "record.h"

typedef struct {
  char *url; /* one allocation: url, file, etag, last_modified, warc_date */
  lf__refresh_entry_t e;
} slot_t;

struct lf__refresh_s {
  slot_t *slots; /* open addressing; url NULL is empty */
  size_t cap, count;
  int (*stop)(void *arg); /* while it loads */
};

static uint64_t fnv(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static slot_t *find(slot_t *slots, size_t cap, const char *url) {
  size_t i = (size_t)fnv(url) & (cap - 1);
  while (slots[i].url && strcmp(slots[i].url, url) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

static int grow(lf__refresh_t *r) {
  size_t cap = r->cap ? r->cap * 2 : 256;
  slot_t *slots = calloc(cap, sizeof(*slots));
  if (!slots) return -ENOMEM;
  for (size_t i = 0; i < r->cap; i++)
    if (r->slots[i].url) *find(slots, cap, r->slots[i].url) = r->slots[i];
  free(r->slots);
  r->slots = slots;
  r->cap = cap;
  return 0;
}

static char *pack(const lf__record_t *rec, lf__refresh_entry_t *e) {
  const char *parts[5] = {rec->url, rec->file, rec->etag, rec->last_modified, rec->warc_date};
  size_t n = 0;
  for (int i = 0; i < 5; i++)
    n += parts[i] ? strlen(parts[i]) + 1 : 0;
  char *block = malloc(n), *p = block;
  const char **dst[5] = {NULL, &e->file, &e->etag, &e->last_modified, &e->warc_date};
  if (!block) return NULL;
  for (int i = 0; i < 5; i++) {
    if (dst[i]) *dst[i] = parts[i] ? p : NULL;
    if (!parts[i]) continue;
    memcpy(p, parts[i], strlen(parts[i]) + 1);
    p += strlen(parts[i]) + 1;
  }
  return block;
}

static int add(lf__refresh_t *r, const lf__record_t *rec) {
  if ((r->count + 1) * 2 > r->cap && grow(r) < 0) return -ENOMEM;
  slot_t *s = find(r->slots, r->cap, rec->url);
  slot_t fresh = {0};
  if (!(fresh.url = pack(rec, &fresh.e))) return -ENOMEM;
  if (s->url)
    free(s->url);
  else
    r->count++;
  *s = fresh;
  return 0;
}

static int add_line(void *arg, char *line, size_t len, uint64_t offset) {
  lf__record_t rec;
  (void)len, (void)offset;
  /* A line over the cap or torn is no record: skipped. */
  if (!line || lf__record_parse_json(line, &rec) < 0 || !rec.file) return 0;
  if (rec.status == LF_REC_SAVED || rec.status == LF_REC_UNCHANGED) return add(arg, &rec);
  return 0;
}

static int tick(void *arg) {
  lf__refresh_t *r = arg;
  return r->stop(NULL);
}

int lf__refresh_load(const char *path, int (*stop)(void *arg), lf__refresh_t **out) {
  lf__refresh_t *r = calloc(1, sizeof(*r));
  *out = NULL;
  if (!r) return -ENOMEM;
  /* Opened as every manifest is read (manifest_read.c): no symlink, no FIFO, a line cap. */
  int fd = lf__manifest_open_read(AT_FDCWD, path), partial, rc;
  if (fd < 0) {
    *out = fd == -ENOENT ? r : NULL;
    if (fd != -ENOENT) free(r);
    return fd == -ENOENT ? 0 : fd == LF__ENOTREG ? -EINVAL : fd;
  }
  /* stop is asked after each piece read, as the main load does (manifest.c's tick): this read
   * comes after it and is as long, so a stop signal must not wait for it either */
  r->stop = stop;
  rc = lf__manifest_each_line(fd, add_line, stop ? tick : NULL, r, &partial);
  close(fd);
  if (rc != 0) {
    lf__refresh_free(r);
    return rc == LF_ENOMEM ? -ENOMEM : rc;
  }
  *out = r;
  return 0;
}

const lf__refresh_entry_t *lf__refresh_find(const lf__refresh_t *r, const char *url) {
  if (!r || r->cap == 0) return NULL;
  const slot_t *s = find(r->slots, r->cap, url);
  return s->url ? &s->e : NULL;
}

void lf__refresh_free(lf__refresh_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->cap; i++)
    free(r->slots[i].url);
  free(r->slots);
  free(r);
}
