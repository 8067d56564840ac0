/* The manifest file of a run and what earlier runs left in the output folder.
 *
 * A run's manifest is opened relative to the output folder's descriptor, never through a
 * symlink, and only if it is a regular file; it is locked (flock) for the whole run, so a
 * second run on the same manifest is refused; a last line torn by a killed run is cut off;
 * records are appended one write(2) each (report.c). At start, every manifest in the folder
 * (loopfetch-manifest*.jsonl: shards' too) is read into a compact index of the pages saved
 * under each name, for the rerun skip; and temporaries that killed runs left are removed. */
#ifndef LF_MANIFEST_H
#define LF_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "names.h"
#include "urlkey.h"

/* The manifest's file name: DIR/loopfetch-manifest.jsonl, or .K-of-N.jsonl for a shard. */
#define LF_MANIFEST_STEM "loopfetch-manifest"
#define LF_MANIFEST_NAME LF_MANIFEST_STEM ".jsonl"

/* 16 bytes per slot. The URL's key and the size are cut to 32 bits: a wrong skip would need
 * the same name, a URL whose hash agrees in 32 bits, and a size differing by a multiple of
 * 4 GiB. */
typedef struct {
  uint64_t name_key; /* 0: free slot */
  uint32_t url_key;  /* url_key() of the URL last saved under the name, low bits */
  uint32_t bytes;    /* its size, low bits */
} lf__saved_t;

/* 16 bytes per slot: which record tells the name a URL's page was saved under, so that the
 * URL keeps that name in every later run (the name itself is read again from the record). */
typedef struct {
  uint64_t url_key; /* the URL's 64-bit key (url_key() in manifest.c); 0: free slot */
  uint64_t loc;     /* manifest index << 48 | offset of the record's line */
} lf__kept_t;

typedef struct {
  int fd;     /* -1: none */
  char *path; /* as shown in messages */
  lf__saved_t *slots;
  size_t cap, count;
  int other_unseen; /* another manifest in the folder is locked by a process not seen here */
  /* Asked now and then while the manifests load (a million records take seconds): a
   * non-zero return stops the load, which returns it. NULL: never stopped. */
  int (*stop)(void *arg);
  void *stop_arg;
  /* The folder's key (urlkey.h): a URL with a password is known by its url_id, never by
   * its shown form, which is the same for every user. NULL or not loaded: such URLs are
   * never found saved. */
  const lf__urlkey_t *urlkey;
  lf__kept_t *kept; /* URL -> its last record saying it is saved (see lf__manifest_kept_name) */
  size_t kept_cap, kept_count;
  int *fds; /* the manifests read, open to read a URL's record again; fds[i] is file i */
  size_t nfds;
  /* Set before the load: every name a record gives is put in this set (its ".html" form,
   * names.h), so that no new URL is given a name an earlier URL holds. */
  lf__names_t *names;
} lf__manifest_t;

void lf__manifest_init(lf__manifest_t *m);
/* Opens and locks the manifest: user_path (--manifest) or default_name in dirfd, out_dir
 * being dirfd's name for messages. Repairs a torn last line (*repaired set). On failure
 * returns -1 with one line's reason in err. */
int lf__manifest_open(lf__manifest_t *m, int dirfd, const char *out_dir, const char *user_path,
                      const char *default_name, int *repaired, char *err, size_t errlen);
/* Reads this manifest and every other loopfetch-manifest*.jsonl in dirfd into the index.
 * 0, LF_ENOMEM, or what m->stop returned. */
int lf__manifest_load(lf__manifest_t *m, int dirfd);
/* Whether a manifest records url as saved (or skipped, unchanged) under name: 1 with *bytes
 * (the size's low 32 bits). */
int lf__manifest_lookup(const lf__manifest_t *m, const char *url, const char *name,
                        uint64_t *bytes);
/* Whether a manifest records a page (of any URL) saved under name (a --layout path): a file
 * there is ours, which a run may replace; any other file is not. */
int lf__manifest_holds(const lf__manifest_t *m, const char *name);
/* The name (as recorded: a --layout path) under which url's page was last saved, skipped or
 * found unchanged, if url still holds it: no later record gave that name to another URL. 1 with
 * out (LF_PATH_MAX + 1 bytes: layout.h), else 0. A URL keeps its name run after run, whatever
 * other URLs come before it in a later list. */
int lf__manifest_kept_name(const lf__manifest_t *m, const char *url, char *out);
/* Removes ".lf-PID-*.part" temporaries whose process no longer exists here, unless another
 * run that cannot be seen from here holds a manifest in the folder. Returns how many. */
size_t lf__manifest_remove_leftovers(const lf__manifest_t *m, int dirfd, long own_pid);
/* manifest_read.c: reading a manifest that may be planted (a symlink, a FIFO, a line of a
 * gigabyte), the same way for every reader. */
#define LF_MANIFEST_LINE_MAX (1024 * 1024) /* a longer line is no record: skipped */
#define LF__ENOTREG (-4096)                /* not a regular file (no errno says it) */
/* Opens path (relative to dirfd, or AT_FDCWD) to read: never through a symlink at its end,
 * never blocking on a FIFO, only a regular file. A descriptor, or -errno / LF__ENOTREG. */
int lf__manifest_open_read(int dirfd, const char *path);
/* One line of an error from lf__manifest_open_read or lf__manifest_each_line. */
const char *lf__manifest_read_error(int err);
/* line: NUL-terminated without its newline, len bytes, starting at offset in the file; NULL
 * for a line over LF_MANIFEST_LINE_MAX (skipped). A non-zero return stops the reading and is returned. */
typedef int (*lf__manifest_line_cb)(void *arg, char *line, size_t len, uint64_t offset);
/* Calls fn for every whole line of fd from its start, in order, holding at most
 * LF_MANIFEST_LINE_MAX bytes; *partial: a last line had no newline (torn, or being written)
 * and was left out. tick (may be NULL) is asked after each piece read (64 KiB to 1 MiB), so a
 * long read can be stopped: a non-zero return ends it and is returned. 0, fn's or tick's
 * non-zero return, -errno, or LF_ENOMEM. */
int lf__manifest_each_line(int fd, lf__manifest_line_cb fn, int (*tick)(void *arg), void *arg,
                           int *partial);

/* Closes the file (releasing the lock) and frees the index. */
void lf__manifest_close(lf__manifest_t *m);

#endif
