/* The manifest file (manifest.h): safe open, lock, repair of a torn line, the index of saved
 * pages read from every manifest in the folder, leftovers of dead processes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "manifest.h"
#include "test.h"

static char dir[64];
static int dirfd_;

static void put(const char *name, const char *text) {
  int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  close(fd);
}

static int exists(const char *name) {
  struct stat st;
  return fstatat(dirfd_, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void index_and_repair(void) {
  put("loopfetch-manifest.jsonl",
      "{\"url\":\"http://h/a\",\"file\":\"a.html\",\"status\":\"saved\",\"bytes\":10}\n"
      "{\"url\":\"http://h/b\",\"file\":\"b.html\",\"status\":\"failed\",\"bytes\":0}\n"
      "not json\n"
      "{\"url\":\"http://h/c\",\"file\":\"c.html\",\"sta"); /* torn by a kill */
  put("loopfetch-manifest.2-of-2.jsonl",                    /* another shard's */
      "{\"url\":\"http://u:p@h/d\",\"file\":\"d.html\",\"status\":\"saved\",\"bytes\":7}\n"
      "{\"url\":\"http://h/a2\",\"file\":\"a.html\",\"status\":\"skipped\",\"bytes\":10}\n");
  lf__manifest_t m;
  lf__manifest_init(&m);
  char err[256];
  int repaired = 0;
  CHECK_EQ_INT(lf__manifest_open(&m, dirfd_, dir, NULL, "loopfetch-manifest.jsonl", &repaired, err,
                                 sizeof(err)),
               0);
  CHECK_EQ_INT(repaired, 1);
  struct stat st;
  CHECK(fstat(m.fd, &st) == 0 && st.st_size == 139); /* cut after the last newline */
  /* A second open of the same manifest is refused while the first holds it. */
  lf__manifest_t again;
  lf__manifest_init(&again);
  CHECK_EQ_INT(lf__manifest_open(&again, dirfd_, dir, NULL, "loopfetch-manifest.jsonl", &repaired,
                                 err, sizeof(err)),
               -1);
  char want[64];
  snprintf(want, sizeof(want), "(pid %d)", (int)getpid());
  CHECK(strstr(err, "in use by another loopfetch run") && strstr(err, want));
  lf__manifest_close(&again);
  CHECK_EQ_INT(lf__manifest_load(&m, dirfd_), 0);
  uint64_t bytes = 0;
  /* a.html: saved for /a, then a skipped record of /a2 (no earlier entry for /a2) replaces it */
  CHECK(lf__manifest_lookup(&m, "http://h/a2", "a.html", &bytes) && bytes == 10);
  CHECK(!lf__manifest_lookup(&m, "http://h/a", "a.html", &bytes));
  CHECK(!lf__manifest_lookup(&m, "http://h/b", "b.html", &bytes)); /* failed */
  CHECK(!lf__manifest_lookup(&m, "http://h/c", "c.html", &bytes)); /* torn */
  /* A URL with a password is known only by its url_id (issue 28, item 22): a record without
   * one cannot say whose page it is, so no user's URL is found saved by it. */
  CHECK(!lf__manifest_lookup(&m, "http://x:y@h/d", "d.html", &bytes));
  CHECK(!lf__manifest_lookup(&m, "http://u:p@h/d", "d.html", &bytes));
  CHECK(!lf__manifest_lookup(&m, "http://h/d", "e.html", &bytes));
  lf__manifest_close(&m);
}

/* Records of URLs with a password carry a url_id: the same user's URL is found, another's not. */
static void url_ids(void) {
  lf__urlkey_t key = {0};
  char id[LF_URL_ID_HEX + 1], line[512];
  CHECK_EQ_INT(lf__urlkey_load(&key, dirfd_, 1), 0);
  lf__url_id(&key, "http://u1:p@h/e", id);
  snprintf(line, sizeof(line),
           "{\"url\":\"http://***@h/e\",\"file\":\"e.html\",\"status\":\"saved\",\"bytes\":3,"
           "\"url_id\":\"%s\"}\n",
           id);
  put("loopfetch-manifest.3-of-3.jsonl", line);
  lf__manifest_t m;
  lf__manifest_init(&m);
  m.urlkey = &key;
  CHECK_EQ_INT(lf__manifest_load(&m, dirfd_), 0);
  uint64_t bytes = 0;
  CHECK(lf__manifest_lookup(&m, "http://u1:p@h/e", "e.html", &bytes) && bytes == 3);
  CHECK(!lf__manifest_lookup(&m, "http://u2:p@h/e", "e.html", &bytes));
  CHECK(!lf__manifest_lookup(&m, "http://u1:other@h/e", "e.html", &bytes));
  m.urlkey = NULL; /* no key: never found */
  CHECK(!lf__manifest_lookup(&m, "http://u1:p@h/e", "e.html", &bytes));
  lf__manifest_close(&m);
  unlinkat(dirfd_, "loopfetch-manifest.3-of-3.jsonl", 0);
  unlinkat(dirfd_, LF_URLKEY_FILE, 0);
}

static void refused_files(void) {
  CHECK(symlinkat("/etc/passwd", dirfd_, "link.jsonl") == 0);
  CHECK(mkfifoat(dirfd_, "fifo.jsonl", 0644) == 0);
  const char *names[] = {"link.jsonl", "fifo.jsonl"};
  for (int i = 0; i < 2; i++) {
    lf__manifest_t m;
    lf__manifest_init(&m);
    char err[256];
    int repaired;
    CHECK_EQ_INT(lf__manifest_open(&m, dirfd_, dir, NULL, names[i], &repaired, err, sizeof(err)),
                 -1);
    CHECK(strstr(err, i == 0 ? "symbolic link" : "not a regular file") != NULL);
    lf__manifest_close(&m);
  }
}

static void leftovers(void) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, NULL, 0);
  char gone[64], live[64];
  snprintf(gone, sizeof(gone), ".lf-%d-1.part", (int)dead);
  snprintf(live, sizeof(live), ".lf-%d-1.part", (int)getppid());
  put(gone, "x");
  put(live, "x");
  put(".lf-junk.part", "x");
  lf__manifest_t m;
  lf__manifest_init(&m);
  CHECK_EQ_INT(lf__manifest_remove_leftovers(&m, dirfd_, getpid()), 1);
  CHECK(!exists(gone) && exists(live) && exists(".lf-junk.part"));
}

int main(void) {
  snprintf(dir, sizeof(dir), "/tmp/lf-test-manifest-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
  index_and_repair();
  url_ids();
  refused_files();
  leftovers();
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  return lf_test_report();
}
