/* The folder's key and the url_id of URLs with a password (urlkey.h). */
#define _GNU_SOURCE
#include "urlkey.h"
#include "hmap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_key(lf__urlkey_t *k, int dirfd) {
  int fd = openat(dirfd, LF_URLKEY_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == LF_URLKEY_LEN)
    n = pread(fd, k->key, LF_URLKEY_LEN, 0);
  close(fd);
  return n == LF_URLKEY_LEN ? 0 : -EINVAL;
}

/* A new key, written whole under a temporary name and linked in place: link() never replaces,
 * so of two runs creating it at once one wins and the other reads the winner's. */
static int create_key(int dirfd) {
  unsigned char key[LF_URLKEY_LEN];
  char tmp[64];
  size_t got = 0;
  while (got < sizeof(key)) {
    ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    got += (size_t)n;
  }
  /* A temporary's name (".lf-PID-....part"): a killed run's is removed by the next run. */
  snprintf(tmp, sizeof(tmp), ".lf-%ld-key.part", (long)getpid());
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int rc = write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0 ? 0 : -EIO;
  if (close(fd) < 0 && rc == 0) rc = -errno;
  if (rc == 0 && linkat(dirfd, tmp, dirfd, LF_URLKEY_FILE, 0) < 0 && errno != EEXIST) rc = -errno;
  unlinkat(dirfd, tmp, 0);
  return rc;
}

int lf__urlkey_load(lf__urlkey_t *k, int dirfd, int create) {
  if (k->state > 0) return 0;
  if (k->state < 0 && !create) return -ENOENT;
  int rc = read_key(k, dirfd);
  if (rc == -ENOENT && create && (rc = create_key(dirfd)) == 0) rc = read_key(k, dirfd);
  k->state = rc == 0 ? 1 : -1;
  return rc;
}

uint64_t lf__url_id(const lf__urlkey_t *k, const char *url, char *out) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  uint64_t id = 0;
  if (!HMAC(EVP_sha256(), k->key, LF_URLKEY_LEN, (const unsigned char *)url, strlen(url), md,
            &len) ||
      len < 8)
    memset(md, 0, 8); /* never in practice: HMAC-SHA256 fails only without memory */
  for (int i = 0; i < 8; i++) {
    id = id << 8 | md[i];
    if (out) snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
  return id;
}

uint64_t lf__url_identity(CURLU *u, const char *text) {
  char *norm = NULL, *host = NULL;
  /* Host names are case-insensitive (libcurl 7.88 keeps the case as written). */
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    for (char *p = host; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a'); /* ASCII only: no locale */
    (void)curl_url_set(u, CURLUPART_HOST, host, 0);            /* else: compared as written */
    curl_free(host);
  }
  if (curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &norm, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
    norm = NULL; /* only out of memory: the text as written is the key then */
  const char *k = norm ? norm : text;
  uint64_t h = lf__hash64(k, strlen(k));
  curl_free(norm);
  return h;
}

int lf__url_id_parse(const char *hex, uint64_t *id) {
  uint64_t v = 0;
  for (int i = 0; i < LF_URL_ID_HEX; i++) {
    char c = hex[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    v = v << 4 | (uint64_t)d;
  }
  if (hex[LF_URL_ID_HEX] != '\0') return 0;
  *id = v;
  return 1;
}
