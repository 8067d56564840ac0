/* Where a page goes inside the output folder (--layout): the name alone, or under folders, so
 * that a million pages are not a million entries of one folder. */
#ifndef LF_LAYOUT_H
#define LF_LAYOUT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  LF_LAYOUT_FLAT = 0, /* DIR/name */
  LF_LAYOUT_HASH,     /* DIR/ab/cd/name: two hex bytes of the name's hash, 65,536 folders */
  LF_LAYOUT_HOST      /* DIR/host/name */
} lf__layout_t;

/* A path: a host (<= 255 bytes), '/', a name (<= 255 bytes). */
#define LF_PATH_MAX 512

/* "flat", "hash", "host" -> the layout, or -1. */
int lf__layout_parse(const char *text);

/* The path of the page named name (a unique name, names.h) whose URL u is: out holds
 * LF_PATH_MAX + 1 bytes. Deterministic: the same name and URL give the same path in every run,
 * mode and shard. Returns 0, or LF_ENOMEM. */
int lf__layout_path(lf__layout_t layout, CURLU *u, const char *name, char *out);

/* Whether path can name a page inside the output folder: relative, no empty, "." or ".."
 * component, at most LF_PATH_MAX bytes. A path read from a manifest is checked so before any
 * use: a planted record must not point outside the folder. */
int lf__layout_path_ok(const char *path);

/* Whether path is a regular file under dirfd (lf__layout_path_ok first), without following a
 * symlink anywhere on the way (a rerun's "already saved"); *size: its size. */
int lf__layout_size(int dirfd, const char *path, uint64_t *size);

#endif
