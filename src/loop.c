/* The glue between libcurl's multi_socket interface and libuv: libcurl tells us which sockets
 * to watch (socket callback) and when to wake it (timer callback); libuv tells libcurl when a
 * socket is ready or the timer fired, through curl_multi_socket_action(). */
#include <stdlib.h>
#include "internal.h"

/* One per socket libcurl watches; freed in the close callback, never before. */
typedef struct lf__poll_s {
  uv_poll_t handle;
  lf_fetcher_t *fetcher;
  curl_socket_t fd;
  struct lf__poll_s *next, *prev; /* fetcher->polls, so close() finds leftovers */
} lf__poll_t;

static void drive(lf_fetcher_t *f, curl_socket_t fd, int ev_bitmask) {
  int running;
  CURLMcode rc = curl_multi_socket_action(f->multi, fd, ev_bitmask, &running);
  /* A failure here concerns the multi handle as a whole; the transfers it affects still end
   * through curl_multi_info_read, so there is nothing to undo, only to say. */
  if (rc != CURLM_OK)
    fprintf(stderr, "loopfetch: curl_multi_socket_action: %s\n", curl_multi_strerror(rc));
  lf__loop_check_done(f);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  lf__poll_t *p = handle->data;
  lf_fetcher_t *f = p->fetcher;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  lf__fetcher_enter(f);
  drive(f, p->fd, flags);
  lf__fetcher_leave(f);
}

static void on_timeout(uv_timer_t *timer) {
  lf_fetcher_t *f = timer->data; /* set in lf__loop_init: curl's multi-uv.c forgot (#19462) */
  lf__fetcher_enter(f);
  drive(f, CURL_SOCKET_TIMEOUT, 0);
  lf__fetcher_leave(f);
}

static void on_poll_closed(uv_handle_t *handle) {
  lf__poll_t *p = handle->data;
  lf_fetcher_t *f = p->fetcher;
  free(p);
  f->open_handles--;
  lf__fetcher_enter(f); /* leave() finishes a pending close once the last handle is gone */
  lf__fetcher_leave(f);
}

static void poll_close(lf_fetcher_t *f, lf__poll_t *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    f->polls = p->next;
  if (p->next) p->next->prev = p->prev;
  uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

static lf__poll_t *poll_new(lf_fetcher_t *f, curl_socket_t fd) {
  lf__poll_t *p = calloc(1, sizeof(*p));
  if (!p) return NULL;
  int rc = uv_poll_init_socket(f->loop, &p->handle, fd);
  if (rc < 0) {
    free(p);
    return NULL;
  }
  p->handle.data = p;
  p->fetcher = f;
  p->fd = fd;
  p->next = f->polls;
  if (f->polls) f->polls->prev = p;
  f->polls = p;
  f->open_handles++;
  return p;
}

/* Returning -1 from the socket callback would kill the whole multi handle (and every other
 * transfer), so a socket we cannot watch fails only its own transfer: the progress callback
 * sees abort_status and aborts it the next time libcurl runs it. */
static int fail_socket(CURL *easy, const char *what, int err) {
  lf__transfer_t *t = NULL;
  if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) == CURLE_OK && t)
    lf__transfer_set_error(t, err, "%s: %s", what, uv_strerror(err));
  return 0;
}

/* CURLMOPT_SOCKETFUNCTION. Runs inside libcurl: only libuv calls and curl_multi_assign here. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  lf_fetcher_t *f = userp;
  lf__poll_t *p = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (p) {
      poll_close(f, p);
      curl_multi_assign(f->multi, fd, NULL);
    }
    return 0;
  }
  if (!p) {
    p = poll_new(f, fd);
    if (!p) return fail_socket(easy, "uv_poll_init_socket", UV_ENOMEM);
    if (curl_multi_assign(f->multi, fd, p) != CURLM_OK) {
      poll_close(f, p);
      return fail_socket(easy, "curl_multi_assign", UV_EINVAL);
    }
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  int rc = uv_poll_start(&p->handle, events, on_poll);
  return rc < 0 ? fail_socket(easy, "uv_poll_start", rc) : 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "soon", which must not be done from
 * inside this callback, so it too goes through the timer (it fires on the next loop turn). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  lf_fetcher_t *f = userp;
  (void)multi;
  int rc = timeout_ms < 0 ? uv_timer_stop(&f->timer)
                          : uv_timer_start(&f->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return rc < 0 ? -1 : 0;
}

/* Sets the callbacks, then the two timers (libcurl's, and the fetcher's wake-up for retries
 * and rate limiting). uv_timer_init cannot fail on Unix, so nothing half-made is left behind. */
int lf__loop_init(lf_fetcher_t *f) {
  CURLM *m = f->multi;
  if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_SOCKETDATA, f) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_TIMERDATA, f) != CURLM_OK)
    return LF_ECURL;
  int rc = uv_timer_init(f->loop, &f->timer);
  if (rc < 0) return rc;
  rc = uv_timer_init(f->loop, &f->wake);
  if (rc < 0) return rc;
  f->timer.data = f;
  f->wake.data = f;
  f->open_handles += 2;
  return 0;
}

/* After curl_multi_cleanup(): libcurl no longer needs any socket, so close what is left. */
void lf__loop_close_polls(lf_fetcher_t *f) {
  while (f->polls)
    poll_close(f, f->polls);
}

/* Reaps finished transfers. Removing an easy handle while reading messages is allowed. */
void lf__loop_check_done(lf_fetcher_t *f) {
  CURLMsg *msg;
  int left;
  while (f->multi && (msg = curl_multi_info_read(f->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    lf__transfer_t *t = NULL;
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || !t)
      continue; /* cannot happen: every handle we add carries its transfer */
    lf__transfer_done(t, result);
  }
}
