/* libcurl_floor: the least a program can do to fetch a URL list with libcurl, as a yardstick.
 *
 * One thread, epoll driving curl_multi_socket_action() directly (no event library), at most N
 * transfers in flight on reused easy handles and kept-alive connections, every body written
 * straight to DIR/<last path segment> with write(2) from libcurl's callback, or thrown away
 * with --discard. No parsing, retries, naming rules, reports or limits. What it costs is what
 * libcurl and the kernel cost for the workload, so bench_peers.py uses it as a floor: no
 * libcurl-based tool can be much cheaper than this (bench/RESULTS.md, "libcurl alone").
 *
 * usage: libcurl_floor [-c N] [--cacert FILE] [--discard | -o DIR] LIST   (one URL per line)
 * exit: 0 all fetched, 1 some failed, 2 usage or local error. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct {
  CURL *easy;
  char *url;
  int fd; /* output file, -1 until the first byte */
} slot_t;

static int ep = -1;
static CURLM *multi;
static long timeout_ms = -1;
static int dirfd_out = -1;
static int failed;

static void die(const char *what) {
  fprintf(stderr, "libcurl_floor: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)e;
  (void)userp;
  struct epoll_event ev = {.data.fd = s};
  if (what == CURL_POLL_REMOVE) {
    if (socketp && epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) != 0) die("epoll_ctl");
    curl_multi_assign(multi, s, NULL);
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  if (epoll_ctl(ep, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) die("epoll_ctl");
  if (!socketp) curl_multi_assign(multi, s, &ep); /* any non-NULL: registered */
  return 0;
}

static int on_timer(CURLM *m, long ms, void *userp) {
  (void)m;
  (void)userp;
  timeout_ms = ms;
  return 0;
}

static const char *file_name(const char *url) {
  const char *q = strpbrk(url, "?#");
  size_t n = q ? (size_t)(q - url) : strlen(url);
  static char name[1024];
  const char *slash = url;
  for (size_t i = 0; i < n; i++)
    if (url[i] == '/') slash = url + i + 1;
  size_t len = (size_t)(url + n - slash);
  if (len == 0 || len >= sizeof(name)) return "index.html";
  memcpy(name, slash, len);
  name[len] = '\0';
  return name;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp) {
  slot_t *s = userp;
  size_t len = size * nmemb;
  if (dirfd_out < 0) return len;
  if (s->fd < 0) {
    s->fd = openat(dirfd_out, file_name(s->url), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0) return 0;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(s->fd, data + off, len - off);
    if (w < 0) return 0;
    off += (size_t)w;
  }
  return len;
}

static char *next_url(FILE *list) {
  static char line[8192];
  while (fgets(line, sizeof(line), list)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] && line[0] != '#') return strdup(line);
  }
  return NULL;
}

/* Give the slot the next URL and hand it to the multi handle; 0 when the list is done. */
static int start(CURLM *m, slot_t *s, FILE *list) {
  free(s->url);
  s->url = next_url(list);
  if (!s->url) return 0;
  s->fd = -1;
  if (curl_easy_setopt(s->easy, CURLOPT_URL, s->url) != CURLE_OK ||
      curl_multi_add_handle(m, s->easy) != CURLM_OK) {
    fprintf(stderr, "libcurl_floor: cannot start %s\n", s->url);
    exit(2);
  }
  return 1;
}

static void finish(slot_t *s, CURLcode rc) {
  long code = 0;
  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
  if (s->fd >= 0 && close(s->fd) != 0) rc = CURLE_WRITE_ERROR;
  if (rc != CURLE_OK || code != 200) {
    fprintf(stderr, "libcurl_floor: %s: %s (HTTP %ld)\n", s->url, curl_easy_strerror(rc), code);
    failed++;
  }
}

int main(int argc, char **argv) {
  long n = 300;
  const char *out = NULL, *path = NULL, *cacert = NULL;
  int discard = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-c") && i + 1 < argc)
      n = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-o") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
      cacert = argv[++i];
    else if (!strcmp(argv[i], "--discard"))
      discard = 1;
    else
      path = argv[i];
  }
  if (!path || n < 1 || (!out && !discard)) {
    fprintf(stderr, "usage: libcurl_floor [-c N] [--cacert FILE] [--discard | -o DIR] LIST\n");
    return 2;
  }
  FILE *list = fopen(path, "r");
  if (!list) die(path);
  if (out && !discard && (dirfd_out = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) die(out);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 2;
  if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
  CURLM *m = multi = curl_multi_init();
  if (!m) return 2;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, n);

  slot_t *slots = calloc((size_t)n, sizeof(*slots));
  if (!slots) die("calloc");
  int running = 0;
  for (long i = 0; i < n; i++) {
    slot_t *s = &slots[i];
    if (!(s->easy = curl_easy_init())) return 2;
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_ACCEPT_ENCODING, "");
    if (cacert) curl_easy_setopt(s->easy, CURLOPT_CAINFO, cacert);
    running += start(m, s, list);
  }
  struct epoll_event evs[256];
  int still = 0;
  while (running > 0) {
    int k = epoll_wait(ep, evs, 256, (int)(timeout_ms < 0 ? 1000 : timeout_ms));
    if (k < 0 && errno != EINTR) die("epoll_wait");
    if (k <= 0) {
      timeout_ms = -1;
      curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    for (int i = 0; i < k; i++) {
      int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                 (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                 (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(m, evs[i].data.fd, mask, &still);
    }
    if (timeout_ms == 0) {
      timeout_ms = -1;
      curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      slot_t *s;
      CURLcode rc = msg->data.result;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      finish(s, rc);
      curl_multi_remove_handle(m, s->easy);
      running--;
      running += start(m, s, list);
    }
  }
  for (long i = 0; i < n; i++) {
    curl_easy_cleanup(slots[i].easy);
    free(slots[i].url);
  }
  free(slots);
  curl_multi_cleanup(m);
  curl_global_cleanup();
  fclose(list);
  return failed ? 1 : 0;
}
