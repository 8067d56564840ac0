/* A URL's identity (urlkey.h): the folder's key, the url_id of URLs with a password, and the
 * forms of one URL that count as one. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "urlkey.h"
#include "test.h"

static void key_file(void) {
  char dir[] = "/tmp/lf-urlkey-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  lf__urlkey_t a = {0}, b = {0}, c = {0};
  CHECK(lf__urlkey_load(&a, dirfd, 0) < 0 && a.state == -1); /* none yet, none made */
  CHECK_EQ_INT(lf__urlkey_load(&a, dirfd, 1), 0);            /* made on first need */
  struct stat st;
  CHECK(fstatat(dirfd, LF_URLKEY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK_EQ_INT(st.st_mode & 0777, 0600);
  CHECK_EQ_INT(st.st_size, LF_URLKEY_LEN);
  CHECK_EQ_INT(lf__urlkey_load(&b, dirfd, 1), 0); /* another run reads the same key */
  char ia[LF_URL_ID_HEX + 1], ib[LF_URL_ID_HEX + 1], ic[LF_URL_ID_HEX + 1];
  uint64_t na = lf__url_id(&a, "http://u1:p@h/x", ia), nb = lf__url_id(&b, "http://u1:p@h/x", ib);
  CHECK(na == nb && strcmp(ia, ib) == 0 && strlen(ia) == LF_URL_ID_HEX);
  CHECK(lf__url_id(&a, "http://u2:p@h/x", ic) != na); /* another user, another id */
  uint64_t parsed;
  CHECK(lf__url_id_parse(ia, &parsed) && parsed == na);
  CHECK(!lf__url_id_parse("12345", &parsed) && !lf__url_id_parse("0123456789abcdefX", &parsed));
  CHECK(!lf__url_id_parse("0123456789ABCDEF", &parsed)); /* we write lower case */
  /* A symlink or a file of the wrong size is never a key. */
  CHECK(unlinkat(dirfd, LF_URLKEY_FILE, 0) == 0);
  CHECK(symlinkat("/etc/passwd", dirfd, LF_URLKEY_FILE) == 0);
  CHECK(lf__urlkey_load(&c, dirfd, 0) < 0 && c.state == -1);
  CHECK(lf__urlkey_load(&c, dirfd, 1) < 0); /* not replaced either */
  unlinkat(dirfd, LF_URLKEY_FILE, 0);
  rmdir(dir);
  close(dirfd);
}

static uint64_t identity(const char *url) {
  CURLU *u = curl_url();
  CHECK(curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK);
  uint64_t h = lf__url_identity(u, url);
  curl_url_cleanup(u);
  return h;
}

static void identities(void) {
  uint64_t a = identity("http://h.example/a?q=1");
  CHECK(identity("HTTP://H.Example/a?q=1") == a);
  CHECK(identity("http://h.example:80/a?q=1") == a);
  CHECK(identity("http://h.example/a?q=1#frag") == a);
  CHECK(identity("http://h.example/a?q=2") != a);
  CHECK(identity("http://h.example/A?q=1") != a); /* paths are case-sensitive */
  CHECK(identity("https://h.example/a?q=1") != a);
  CHECK(identity("http://h.example:8080/a?q=1") != a);
}

int main(void) {
  key_file();
  identities();
  return lf_test_report();
}
