/* --layout: the path of a page inside the output folder. Names are unique in the whole job
 * (names.c), so folders only split them up; a path never depends on which shard or run saved
 * it, so reruns find what was saved and `loopfetch status` finds the files. */
#define _GNU_SOURCE
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hmap.h"
#include "loopfetch.h"
#include "names.h"

int lf__layout_parse(const char *text) {
  static const char *const names[] = {"flat", "hash", "host"};
  for (int i = 0; i < 3; i++)
    if (text && strcmp(text, names[i]) == 0) return i;
  return -1;
}

/* The host as a folder name: letters, digits, '.', '-' and '_' kept, anything else (the
 * brackets and colons of an IPv6 address) '_', no leading '.'. */
static void host_folder(const char *host, char *out) {
  size_t n = 0;
  for (; host[n] && n < 255; n++) {
    char c = host[n];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || (c == '.' && n > 0);
    out[n] = ok ? c : '_';
  }
  out[n] = '\0';
  if (!n) snprintf(out, 256, "_");
  lf__name_unreserve(out, n); /* a host named loopfetch-manifest.jsonl is no manifest */
}

int lf__layout_path(lf__layout_t layout, CURLU *u, const char *name, char *out) {
  if (layout == LF_LAYOUT_HASH) {
    /* The name's hash, not the URL's: the name is what must be found again. */
    uint64_t h = lf__hash64(name, strlen(name));
    snprintf(out, LF_PATH_MAX + 1, "%02x/%02x/%s", (unsigned)(h >> 56), (unsigned)(h >> 48) & 0xff,
             name);
    return 0;
  }
  if (layout == LF_LAYOUT_HOST) {
    char *host = NULL, folder[256];
    CURLUcode rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (rc == CURLUE_OUT_OF_MEMORY) return LF_ENOMEM;
    host_folder(rc == CURLUE_OK ? host : "", folder);
    curl_free(host);
    snprintf(out, LF_PATH_MAX + 1, "%s/%s", folder, name);
    return 0;
  }
  snprintf(out, LF_PATH_MAX + 1, "%s", name);
  return 0;
}

static int regular(int fd, const char *name, uint64_t *size) {
  struct stat st;
  if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) return 0;
  *size = (uint64_t)st.st_size;
  return 1;
}

int lf__layout_path_ok(const char *path) {
  size_t len = strnlen(path, LF_PATH_MAX + 1);
  if (len == 0 || len > LF_PATH_MAX || path[0] == '/') return 0;
  for (const char *p = path; *p;) { /* each component: not empty, not "." or ".." */
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    p += n;
    if (*p == '/' && !*++p) return 0; /* a trailing slash: a folder, not a page */
  }
  return 1;
}

int lf__layout_size(int dirfd, const char *path, uint64_t *size) {
  if (!lf__layout_path_ok(path)) return 0; /* from a manifest: maybe planted */
  const char *slash = strrchr(path, '/');
  if (!slash) return regular(dirfd, path, size);
  char dir[LF_PATH_MAX + 1];
  size_t n = (size_t)(slash - path);
  if (n > LF_PATH_MAX) return 0;
  memcpy(dir, path, n);
  dir[n] = '\0';
  /* Each folder opened without following a symlink (as the library writes them). */
  int fd = dirfd;
  for (char *p = dir, *next; p; p = next) {
    next = strchr(p, '/');
    if (next) *next++ = '\0';
    int sub = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd != dirfd) close(fd);
    if (sub < 0) return 0;
    fd = sub;
  }
  int ok = regular(fd, slash + 1, size);
  close(fd);
  return ok;
}
