/* `loopfetch status`: reads every loopfetch-manifest*.jsonl in the folders given and tells,
 * per shard and in total, what is saved, failed, interrupted and missing.
 *
 * A URL's state is the last one any record gives it, except that a record saying it is done
 * (saved, skipped, unchanged) is never undone by a later failure: the earlier file is still
 * there (a failed transfer never replaces a page). A done page whose file is gone from the
 * folder counts as missing again. URLs are kept as 64-bit hashes in a 12-byte slot each of a
 * table at most 3/4 full (two different URLs with the same hash would count as one: about 3e-8
 * for a million URLs).
 *
 * Which URLs never got a record at all (a run killed before it reached them) only the job's
 * list can tell: with -i LIST every URL of the list without a record is missing, and only then
 * can status say "complete" (exit 0). */
#define _GNU_SOURCE
#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "longopt.h"
#include "manifest.h"
#include "layout.h"
#include "safe_text.h"
#include "urlkey.h"
#include "record.h"
#include "shard.h"

#define ST_STATE(v) ((v)&7u)
#define ST_PRINTED 8u
#define ST_SHARD(v) ((v) >> 4)
#define ST_NOSHARD 0x0FFFFFFFu /* a missing URL whose shard is unknown (unattributed_missing) */

static const char usage[] =
    "Usage: loopfetch status [--json | --urls | --shards] [-i LIST] DIR...\n"
    "Reads every loopfetch-manifest*.jsonl in each DIR and prints per shard and in total:\n"
    "saved, skipped, unchanged, failed, interrupted, missing. Exit 0 only when the job is\n"
    "complete, which needs -i: the job's URL list, one per line, as given to loopfetch -i.\n"
    "  -i, --input LIST   the job's URLs: those in no manifest are missing\n"
    "      --json         one JSON object on stdout\n"
    "      --urls         print only the URLs not done (failed, interrupted, missing)\n"
    "      --shards       print only the numbers of the incomplete shards (\"2,4\")\n";

/* One line on stderr; returns -1. */
static int fail(const char *what, const char *name, const char *why) {
  fprintf(stderr, "loopfetch status: %s%s%s\n", what, name, why);
  return -1;
}

/* ---- which manifests ---- */

/* "loopfetch-manifest.jsonl" -> 1/1, "loopfetch-manifest.K-of-N.jsonl" -> K/N, other names
 * that start and end like a manifest -> 0/0. 0 if not a manifest's name. */
static int manifest_shard(const char *name, unsigned *k, unsigned *n) {
  size_t len = strlen(name), stem = strlen(LF_MANIFEST_STEM);
  *k = *n = 0;
  if (strncmp(name, LF_MANIFEST_STEM, stem) != 0 || len < stem + 6 ||
      strcmp(name + len - 6, ".jsonl") != 0)
    return 0;
  if (strcmp(name, LF_MANIFEST_NAME) == 0) {
    *k = *n = 1;
    return 1;
  }
  char tail[32];
  /* N as --shard takes it: a planted "1-of-4294967294" is just another name. */
  if (sscanf(name + stem, ".%u-of-%u.jsonl%1s", k, n, tail) != 2 || *k < 1 || *k > *n ||
      *n > LF_SHARD_MAX)
    *k = *n = 0;
  return 1;
}

static lf__st_shard_t *add_shard(lf__status_t *st, unsigned k, unsigned n, const char *path,
                                 int dirfd) {
  if (st->nshard == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    lf__st_shard_t *s = realloc(st->shard, cap * sizeof(*s));
    if (!s) return NULL;
    st->shard = s;
    st->cap = cap;
  }
  lf__st_shard_t *s = &st->shard[st->nshard];
  memset(s, 0, sizeof(*s));
  s->k = k;
  s->n = n;
  s->dirfd = dirfd;
  if (path && !(s->path = strdup(path))) return NULL;
  st->nshard++;
  return s;
}

static int by_shard(const void *a, const void *b) {
  const lf__st_shard_t *x = a, *y = b;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  return strcmp(x->path ? x->path : "", y->path ? y->path : "");
}

/* The folder's key for URLs with a password (urlkey.h), if it has one. */
static int add_key(lf__status_t *st, int dirfd) {
  lf__urlkey_t k = {0};
  if (lf__urlkey_load(&k, dirfd, 0) < 0) return 0;
  lf__urlkey_t *keys = realloc(st->keys, (st->nkeys + 1) * sizeof(*keys));
  if (!keys) return -1;
  st->keys = keys;
  st->keys[st->nkeys++] = k;
  return 0;
}

static int add_folder(lf__status_t *st, const char *dir) {
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dirfd < 0 ? NULL : opendir(dir);
  if (!d) {
    int e = errno;
    if (dirfd >= 0) close(dirfd);
    fprintf(stderr, "loopfetch status: cannot read %s: %s\n", dir, strerror(e));
    return -1;
  }
  struct dirent *e;
  char path[4096];
  unsigned k, n;
  if (add_key(st, dirfd) < 0) {
    closedir(d);
    return fail("out of memory", "", "");
  }
  while ((e = readdir(d)))
    if (manifest_shard(e->d_name, &k, &n)) {
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      if (!add_shard(st, k, n, path, dirfd)) {
        closedir(d);
        return fail("out of memory", "", "");
      }
    }
  closedir(d);
  return 0;
}

/* Arguments are folders (every manifest in them) or manifest files (no file checks: the
 * folder their file names are relative to is unknown). */
static int find_manifests(lf__status_t *st, char **args, int nargs) {
  for (int i = 0; i < nargs; i++) {
    struct stat sb;
    unsigned k, n;
    if (stat(args[i], &sb) < 0) return fail("cannot read ", args[i], ": no such folder");
    if (S_ISDIR(sb.st_mode)) {
      if (add_folder(st, args[i]) < 0) return -1;
      continue;
    }
    const char *base = strrchr(args[i], '/');
    if (!manifest_shard(base ? base + 1 : args[i], &k, &n)) k = n = 0;
    if (!add_shard(st, k, n, args[i], -1)) return fail("out of memory", "", "");
  }
  if (!st->nshard) return fail("no loopfetch-manifest*.jsonl in ", args[0], "");
  qsort(st->shard, st->nshard, sizeof(*st->shard), by_shard);
  /* The N all sharded manifests share; every K of it without a manifest is a shard to do. */
  for (size_t i = 0; i < st->nshard; i++)
    if (st->shard[i].n > 1) st->n = !st->n || st->n == st->shard[i].n ? st->shard[i].n : ~0u;
  if (st->n == ~0u) st->n = 0;
  /* Sorted, the shards of N come in order of K: one walk finds the K without a manifest
   * (O(N + manifests), whatever N a planted name says). */
  size_t have = st->nshard, i = 0;
  for (unsigned k = 1; st->n && k <= st->n; k++) {
    while (i < have && (st->shard[i].n < st->n || (st->shard[i].n == st->n && st->shard[i].k < k)))
      i++;
    if (i < have && st->shard[i].n == st->n && st->shard[i].k == k) continue;
    if (!add_shard(st, k, st->n, NULL, -1)) return fail("out of memory", "", "");
  }
  qsort(st->shard, st->nshard, sizeof(*st->shard), by_shard);
  return 0;
}

/* The first shard entry of K/N in the sorted list, or SIZE_MAX: a binary search. */
static size_t find_shard(const lf__status_t *st, unsigned k, unsigned n) {
  size_t lo = 0, hi = st->nshard;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const lf__st_shard_t *s = &st->shard[mid];
    if (s->n < n || (s->n == n && s->k < k))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < st->nshard && st->shard[lo].n == n && st->shard[lo].k == k ? lo : SIZE_MAX;
}

/* ---- reading them ---- */

static lf__st_t state_of(const lf__record_t *r, int dirfd) {
  const char *t = r->status_text ? r->status_text : "failed";
  lf__st_t s = strcmp(t, "saved") == 0         ? LF_ST_SAVED
               : strcmp(t, "skipped") == 0     ? LF_ST_SKIPPED
               : strcmp(t, "unchanged") == 0   ? LF_ST_UNCHANGED
               : strcmp(t, "interrupted") == 0 ? LF_ST_INTERRUPTED
                                               : LF_ST_FAILED;
  /* Done only if its file is a regular file inside the folder: a record's "file" may be
   * planted ("/etc/passwd", "../x"), and no symlink is followed on the way (layout.c). */
  uint64_t size;
  if (s <= LF_ST_UNCHANGED && r->error && *r->error)
    return LF_ST_FAILED; /* skipped, but not saved: --no-clobber met a file not ours */
  if (s <= LF_ST_UNCHANGED && (!r->file || !lf__layout_path_ok(r->file) ||
                               (dirfd >= 0 && !lf__layout_size(dirfd, r->file, &size))))
    s = LF_ST_GONE;
  return s;
}

static int is_done(unsigned s) {
  return s >= LF_ST_SAVED && s <= LF_ST_UNCHANGED;
}

static int read_failed(const char *path, int err) {
  fprintf(stderr, "loopfetch status: cannot read %s: %s\n", path, lf__manifest_read_error(err));
  return -1;
}

typedef struct {
  lf__status_t *st;
  size_t idx;
  int (*fn)(lf__status_t *, size_t, const lf__record_t *);
  int failed; /* fn failed (and said why) */
} each_t;

static int each_line(void *arg, char *line, size_t len, uint64_t offset) {
  each_t *e = arg;
  lf__record_t r;
  (void)len, (void)offset;
  /* A line over the cap, or one that does not parse (cut short by a crash): no record. */
  if (!line || lf__record_parse_json(line, &r) < 0) {
    e->st->shard[e->idx].torn++;
    return 0;
  }
  e->failed = e->fn(e->st, e->idx, &r) != 0;
  return e->failed;
}

/* Calls fn for each whole record of the manifest; counts the lines that are not. Opened as
 * the run opens manifests (manifest_read.c): never through a symlink, never waiting on a
 * FIFO, only a regular file, lines capped. */
static int each_record(lf__status_t *st, size_t idx,
                       int (*fn)(lf__status_t *, size_t, const lf__record_t *)) {
  lf__st_shard_t *s = &st->shard[idx];
  const char *base = strrchr(s->path, '/');
  int fd = s->dirfd >= 0 && base ? lf__manifest_open_read(s->dirfd, base + 1)
                                 : lf__manifest_open_read(AT_FDCWD, s->path);
  if (fd < 0) return read_failed(s->path, fd);
  each_t e = {st, idx, fn, 0};
  int partial, rc;
  s->torn = 0;
  rc = lf__manifest_each_line(fd, each_line, NULL, &e, &partial);
  close(fd);
  s->torn += (size_t)partial; /* a last line without its newline */
  if (e.failed) return -1;
  if (rc == LF_ENOMEM) return fail("out of memory", "", "");
  return rc < 0 ? read_failed(s->path, rc) : 0;
}

/* A URL without a password: what it names (urlkey.h: the forms of one URL are one). */
static uint64_t text_key(lf__status_t *st, const char *url) {
  if ((st->parse || (st->parse = curl_url())) &&
      curl_url_set(st->parse, CURLUPART_URL, url, 0) == CURLUE_OK)
    return lf__url_identity(st->parse, url);
  return lf__hash64(url, strlen(url));
}

/* A record's URL: its url_id if it has a password (the shown "***@" is every user's). */
static uint64_t record_key(lf__status_t *st, const lf__record_t *r) {
  uint64_t id;
  if (r->url_id && lf__url_id_parse(r->url_id, &id)) return id;
  return text_key(st, r->url);
}

static int note_record(lf__status_t *st, size_t idx, const lf__record_t *r) {
  int added;
  unsigned s = state_of(r, st->shard[idx].dirfd), v = (unsigned)idx << 4 | s;
  uint32_t *slot = lf__hmap_put(&st->url, record_key(st, r), v, &added);
  if (!slot) return fail("out of memory", "", "");
  if (!added && (is_done(s) || !is_done(ST_STATE(*slot)))) *slot = v;
  return 0;
}

/* --urls: why each failed URL failed, from its last failed record; and without -i, the URLs
 * not done in manifest order (as the records show them). */
static int note_undone(lf__status_t *st, size_t idx, const lf__record_t *r) {
  (void)idx;
  uint64_t key = record_key(st, r);
  uint32_t *v = lf__hmap_get(&st->url, key);
  if (!v || is_done(ST_STATE(*v))) return 0;
  int added;
  uint32_t *at = lf__hmap_put(&st->undone_at, key, (uint32_t)st->nundone, &added);
  if (!at) return fail("out of memory", "", "");
  if (added) {
    if (st->nundone == st->undone_cap) {
      size_t cap = st->undone_cap ? st->undone_cap * 2 : 64;
      lf__st_undone_t *u = realloc(st->undone, cap * sizeof(*u));
      if (!u) return fail("out of memory", "", "");
      st->undone = u;
      st->undone_cap = cap;
    }
    st->undone[st->nundone++] = (lf__st_undone_t){strdup(r->url), NULL, key};
    if (!st->undone[*at].url) return fail("out of memory", "", "");
  }
  lf__st_undone_t *u = &st->undone[*at];
  if (r->error && *r->error) { /* a failure, or a skip that saved nothing (--no-clobber) */
    free(u->why);
    if (!(u->why = strdup(r->error))) return fail("out of memory", "", "");
  }
  return 0;
}

/* "# why" before a URL of --urls: a comment line, which -i skips. */
static void print_why(lf__status_t *st, uint64_t key, unsigned state) {
  const uint32_t *at = lf__hmap_get(&st->undone_at, key);
  const char *why = at ? st->undone[*at].why : NULL;
  char *shown = why ? lf__display(why, 0) : NULL;
  if (state == LF_ST_FAILED)
    fprintf(st->out, "# failed: %s\n", shown ? shown : "(no reason recorded)");
  else if (state == LF_ST_INTERRUPTED)
    fprintf(st->out, "# interrupted: stopped before it finished\n");
  else if (state == LF_ST_GONE)
    fprintf(st->out, "# gone: saved, but its file is no longer in the folder\n");
  else
    fprintf(st->out, "# missing: no run has recorded it\n");
  free(shown);
}

static void print_undone_records(lf__status_t *st) {
  for (size_t i = 0; i < st->nundone; i++) {
    const lf__st_undone_t *u = &st->undone[i];
    uint32_t *v = lf__hmap_get(&st->url, u->key);
    print_why(st, u->key, v ? ST_STATE(*v) : LF_ST_FAILED);
    fprintf(st->out, "%s\n", u->url);
  }
}

/* Trims like the job does: spaces around, '#' comments and blank lines skipped. */
static char *list_url(char *line) {
  while (*line == ' ' || *line == '\t')
    line++;
  size_t n = strlen(line);
  while (n && strchr("\r\n \t", line[n - 1]))
    line[--n] = '\0';
  return *line && *line != '#' ? line : NULL;
}

/* The shard index that counts a missing URL: its shard's entry of the common N. */
static size_t missing_shard(const lf__status_t *st, const char *url) {
  if (!st->n) return st->nshard == 1 ? 0 : SIZE_MAX;
  return find_shard(st, lf__shard_of(url, st->n) + 1, st->n);
}

/* A list URL's key: with a password, its url_id under the key of a folder whose records
 * have it (several folders may each have their own key); else what it names. */
static uint64_t list_key(lf__status_t *st, const char *u) {
  size_t off;
  if (lf__url_userinfo(u, &off)) {
    uint64_t first = 0;
    for (size_t i = 0; i < st->nkeys; i++) {
      uint64_t id = lf__url_id(&st->keys[i], u, NULL);
      if (lf__hmap_get(&st->url, id)) return id;
      if (i == 0) first = id;
    }
    if (st->nkeys) return first;
    return lf__hash64(u, strlen(u)); /* no key: no record can be this URL's */
  }
  return text_key(st, u);
}

/* -i LIST: every URL without a record is missing (once, however often the list has it). With
 * --urls, each URL not done is printed here, in list order and as the list has it (so that -i
 * reads it back, password included: it is the list's own text), after a comment saying why. */
static int read_list(lf__status_t *st) {
  FILE *f = strcmp(st->input, "-") == 0 ? stdin : fopen(st->input, "re");
  if (!f) {
    fprintf(stderr, "loopfetch status: cannot read %s: %s\n", st->input, strerror(errno));
    return -1;
  }
  char *line = NULL, *u;
  size_t cap = 0;
  int rc = 0;
  while (rc == 0 && getline(&line, &cap, f) >= 0) {
    if (!(u = list_url(line))) continue;
    int added;
    size_t idx = missing_shard(st, u);
    unsigned v = (idx == SIZE_MAX ? ST_NOSHARD : (unsigned)idx) << 4 | LF_ST_MISSING;
    uint64_t key = list_key(st, u);
    uint32_t *slot = lf__hmap_put(&st->url, key, v, &added);
    if (!slot) {
      rc = fail("out of memory", "", "");
      break;
    }
    if (added && idx == SIZE_MAX) st->unattributed_missing++;
    if (st->urls && !is_done(ST_STATE(*slot)) && !(*slot & ST_PRINTED)) {
      print_why(st, key, ST_STATE(*slot));
      fprintf(st->out, "%s\n", u);
      *slot |= ST_PRINTED;
    }
  }
  if (rc == 0 && ferror(f)) rc = fail("cannot read ", st->input, "");
  free(line);
  if (f != stdin) fclose(f);
  return rc;
}

static void count_one(void *arg, uint64_t key, uint32_t *v) {
  lf__status_t *st = arg;
  (void)key;
  if (ST_SHARD(*v) != ST_NOSHARD) st->shard[ST_SHARD(*v)].count[ST_STATE(*v)]++;
}

static int parse_args(lf__status_t *st, int argc, char **argv) {
  static const struct option opts[] = {
      {"input", required_argument, NULL, 'i'}, {"json", no_argument, NULL, 'j'},
      {"urls", no_argument, NULL, 'u'},        {"shards", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  char msg[768];
  if (lf__longopt_check(argc, argv, "i:h", opts, NULL, msg, sizeof(msg)) < 0)
    return fail(msg, "", " (see loopfetch status --help)");
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
    switch (c) {
    case 'i':
      st->input = optarg;
      break;
    case 'j':
      st->json = 1;
      break;
    case 'u':
      st->urls = 1;
      break;
    case 's':
      st->shards = 1;
      break;
    case 'h':
      fputs(usage, stdout);
      return 1;
    default:
      fputs(usage, stderr);
      return -1;
    }
  }
  if (st->json + st->urls + st->shards > 1)
    return fail("--json, --urls and --shards do not go together", "", "");
  if (optind >= argc) return fail("give one or more output folders", "", "");
  return 0;
}

static int run(lf__status_t *st, int argc, char **argv) {
  int rc = parse_args(st, argc, argv);
  if (rc) return rc > 0 ? LF_EXIT_OK : LF_EXIT_USAGE;
  if (find_manifests(st, argv + optind, argc - optind) < 0) return LF_EXIT_LOCAL;
  for (size_t i = 0; i < st->nshard; i++)
    if (st->shard[i].path && each_record(st, i, note_record) < 0) return LF_EXIT_LOCAL;
  if (st->urls)
    for (size_t i = 0; i < st->nshard; i++)
      if (st->shard[i].path && each_record(st, i, note_undone) < 0) return LF_EXIT_LOCAL;
  if (st->input && read_list(st) < 0) return LF_EXIT_LOCAL;
  if (st->urls && !st->input) print_undone_records(st);
  lf__hmap_each(&st->url, count_one, st);
  if (st->json)
    lf__status_print_json(st);
  else if (st->shards)
    lf__status_print_shards(st);
  else if (!st->urls)
    lf__status_print(st);
  if (fflush(st->out) != 0) {
    fail("cannot write the output: ", strerror(errno), "");
    return LF_EXIT_LOCAL;
  }
  return lf__status_complete(st) ? LF_EXIT_OK : LF_EXIT_FAILED;
}

int lf__status_main(int argc, char **argv) {
  lf__status_t st = {.out = stdout};
  int rc = run(&st, argc, argv);
  for (size_t i = 0; i < st.nshard; i++) {
    free(st.shard[i].path);
    /* folders' descriptors are shared by their manifests: closed once, by the first */
    if (st.shard[i].dirfd >= 0) {
      int fd = st.shard[i].dirfd;
      for (size_t j = i; j < st.nshard; j++)
        if (st.shard[j].dirfd == fd) st.shard[j].dirfd = -1;
      close(fd);
    }
  }
  free(st.shard);
  lf__hmap_free(&st.url);
  lf__hmap_free(&st.undone_at);
  for (size_t i = 0; i < st.nundone; i++) {
    free(st.undone[i].url);
    free(st.undone[i].why);
  }
  free(st.undone);
  free(st.keys);
  curl_url_cleanup(st.parse);
  return rc;
}
