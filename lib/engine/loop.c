/* The glue between libcurl's multi_socket interface and libuv: libcurl tells us which sockets
 * to watch (socket callback) and when to wake it (timer callback); libuv tells libcurl when a
 * socket is ready or the timer fired, through curl_multi_socket_action(). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "internal.h"

/* One per socket libcurl watches; freed in the close callback, never before.
 *
 * libcurl drops a socket (CURL_POLL_REMOVE) after every transfer and asks for it again when the
 * next transfer reuses the connection. Closing and re-making the uv_poll_t each time costs five
 * epoll_ctl calls and an ioctl per page (bench/RESULTS.md), so the sockets of connections are
 * parked instead: kept, still watched, until libcurl closes them. That is safe only for sockets
 * whose close we hear of before the descriptor is gone: those libcurl got from open_socket and
 * closes through close_socket. libcurl 7.88 uses the close callback for a connection's socket
 * once it is connected, and only connected sockets are ever watched for reading; sockets of
 * losing connect attempts (closed without the callback) never are, so they are not parked. */
typedef struct lf__poll_s {
  uv_poll_t handle;
  lf_fetcher_t *fetcher;
  curl_socket_t fd;
  int events;                   /* UV_READABLE | UV_WRITABLE being watched; 0: stopped */
  const lf__transfer_t *opener; /* open_socket made it for this transfer... */
  uint64_t opener_start;        /* ...in this attempt; NULL/0 once libcurl has reported it */
  unsigned ours : 1;            /* from open_socket: close_socket will tell us of its close */
  unsigned was_read : 1;        /* watched for reading once: connected */
  unsigned parked : 1;          /* libcurl dropped it; its connection waits in the cache */
} lf__poll_t;

static void drive(lf_fetcher_t *f, curl_socket_t fd, int ev_bitmask) {
  int running;
  CURLMcode rc = curl_multi_socket_action(f->multi, fd, ev_bitmask, &running);
  /* A failure here concerns the multi handle as a whole; the transfers it affects still end
   * through curl_multi_info_read, so there is nothing to undo, only to say. */
  if (rc != CURLM_OK)
    fprintf(stderr, "loopfetch: curl_multi_socket_action: %s\n", curl_multi_strerror(rc));
  lf__loop_check_done(f);
  lf__h2_tune(f); /* transfers libcurl could not place may need another connection */
}

/* For work that became due outside libcurl's timer: a stream just unpaused (stream.c). sink.c
 * found libcurl 7.88 resuming a paused HTTP/2 stream only on its next 1 s tick; running its
 * due timeouts right after the unpause rules that out whatever libcurl's own timer does. Only
 * from our own callbacks, never from inside libcurl (no recursion). libcurl's timer stays
 * armed as libcurl last asked, so nothing it expects is lost. */
void lf__loop_kick(lf_fetcher_t *f) {
  if (f->multi) drive(f, CURL_SOCKET_TIMEOUT, 0);
}

/* Whether this turn of the loop has run long enough: libuv runs the callbacks of every socket
 * one epoll_wait reported before it looks at signals, timers or anything else, and a caller may
 * do real work in the result callbacks they lead to (the program parses each page there: ~30 ms
 * for 0.5 MB). With 233 such pages ready at once, SIGTERM waited 14-33 s for the whole batch on
 * a loaded machine, and the progress line froze meanwhile. So once a turn has run
 * LF__TURN_BUDGET_MS, the sockets still ready wait for the next turn (libuv's epoll is
 * level-triggered: they are reported again), and so do the transfers one call into libcurl
 * finished beyond the first (its expired timers, an HTTP/2 connection's streams: the wake
 * timer reports them, lf__loop_check_done). uv_now() is the time epoll_wait returned. */
#define LF__TURN_BUDGET_MS 50

static int turn_over(const lf_fetcher_t *f) {
  uint64_t turn = uv_now(f->loop), now = uv_hrtime() / 1000000;
  return now > turn && now - turn >= LF__TURN_BUDGET_MS;
}

/* For a socket: the first of a turn always runs, so transfers move on however long the
 * caller's other callbacks take. */
static int turn_spent(lf_fetcher_t *f) {
  uint64_t turn = uv_now(f->loop);
  if (f->polled_turn != turn) {
    f->polled_turn = turn;
    return 0;
  }
  return turn_over(f);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  lf__poll_t *p = handle->data;
  lf_fetcher_t *f = p->fetcher;
  if (p->parked) { /* an idle connection: the server closed it, or sent what nobody asked for */
    if (uv_poll_stop(handle) == 0) p->events = 0;
    return; /* libcurl finds out when it next checks the connection before reusing it */
  }
  if (turn_spent(f)) return; /* reported again next turn */
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

/* ---- the descriptor index: every live poll handle, by the socket it watches ---- */

static lf__poll_t *poll_of(const lf_fetcher_t *f, curl_socket_t fd) {
  return fd >= 0 && (size_t)fd < f->poll_index_len ? f->poll_index[fd] : NULL;
}

static int index_poll(lf_fetcher_t *f, lf__poll_t *p) {
  size_t fd = (size_t)p->fd;
  if (fd >= f->poll_index_len) {
    size_t len = f->poll_index_len ? f->poll_index_len : 64;
    while (len <= fd)
      len *= 2;
    lf__poll_t **grown = realloc(f->poll_index, len * sizeof(*grown));
    if (!grown) return UV_ENOMEM;
    memset(grown + f->poll_index_len, 0, (len - f->poll_index_len) * sizeof(*grown));
    f->poll_index = grown;
    f->poll_index_len = len;
  }
  f->poll_index[fd] = p;
  return 0;
}

/* ---- poll handles ---- */

static void on_poll_closed(uv_handle_t *handle) {
  lf__poll_t *p = handle->data;
  lf_fetcher_t *f = p->fetcher;
  free(p);
  f->open_handles--;
  lf__fetcher_enter(f); /* leave() finishes a pending close once the last handle is gone */
  lf__fetcher_leave(f);
}

/* uv_close() takes the descriptor out of epoll, so it must come before the socket is closed. */
static void poll_close(lf_fetcher_t *f, lf__poll_t *p) {
  if (poll_of(f, p->fd) == p) f->poll_index[p->fd] = NULL;
  uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

static int poll_new(lf_fetcher_t *f, curl_socket_t fd, lf__poll_t **out) {
  lf__poll_t *stale = poll_of(f, fd);
  if (stale) poll_close(f, stale); /* the descriptor was closed and reopened behind our back */
  lf__poll_t *p = calloc(1, sizeof(*p));
  if (!p) return UV_ENOMEM;
  int rc = uv_poll_init_socket(f->loop, &p->handle, fd);
  if (rc < 0) {
    free(p);
    return rc;
  }
  p->handle.data = p;
  p->fetcher = f;
  p->fd = fd;
  f->open_handles++;
  rc = index_poll(f, p);
  if (rc < 0) {
    poll_close(f, p);
    return rc;
  }
  *out = p;
  return 0;
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

/* The handle for a socket libcurl reports for the first time (or again, after a REMOVE): a
 * parked one, the one open_socket made for this very transfer, or a new one. */
static int poll_for(lf_fetcher_t *f, CURL *easy, curl_socket_t fd, lf__poll_t **out) {
  lf__poll_t *p = poll_of(f, fd);
  if (p && p->opener) {
    lf__transfer_t *t = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || t != p->opener ||
        t->start_ns != p->opener_start)
      p = NULL; /* made for a connect attempt that was dropped unreported: stale */
  }
  if (p && (p->parked || p->opener)) {
    p->opener = NULL;
    if (p->parked) uv_ref((uv_handle_t *)&p->handle);
    p->parked = 0;
    *out = p;
    return 0;
  }
  return poll_new(f, fd, out);
}

/* CURLMOPT_SOCKETFUNCTION. Runs inside libcurl: only libuv calls and curl_multi_assign here. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  lf_fetcher_t *f = userp;
  lf__poll_t *p = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (!p) return 0;
    curl_multi_assign(f->multi, fd, NULL);
    if (p->ours && p->was_read) {
      p->parked = 1; /* still watched: an idle connection's close is seen (on_poll) */
      uv_unref((uv_handle_t *)&p->handle); /* but it does not keep the loop running */
    } else {
      poll_close(f, p);
    }
    return 0;
  }
  if (!p) {
    int rc = poll_for(f, easy, fd, &p);
    if (rc < 0) return fail_socket(easy, "uv_poll_init_socket", rc);
    if (curl_multi_assign(f->multi, fd, p) != CURLM_OK) {
      poll_close(f, p);
      return fail_socket(easy, "curl_multi_assign", UV_EINVAL);
    }
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  if (events & UV_READABLE) p->was_read = 1;
  if (events == p->events) return 0; /* a reused connection is usually watched as it was */
  int rc = uv_poll_start(&p->handle, events, on_poll);
  if (rc < 0) return fail_socket(easy, "uv_poll_start", rc);
  p->events = events;
  return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: the socket libcurl's default would make, plus its poll handle,
 * marked as one whose close we will hear of. Without a handle (out of memory) the socket still
 * works: on_socket then makes one that is never parked. */
curl_socket_t lf__loop_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  lf__transfer_t *t = clientp;
  int type = a->socktype;
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC; /* -p workers are spawned: they need none of our connections */
#endif
  curl_socket_t fd = socket(a->family, type, a->protocol);
  if (fd == CURL_SOCKET_BAD || purpose != CURLSOCKTYPE_IPCXN) return fd;
  lf__h2_opening(t);
  lf__poll_t *p;
  if (poll_new(t->fetcher, fd, &p) == 0) {
    p->ours = 1;
    p->opener = t;
    p->opener_start = t->start_ns;
  }
  return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the poll handle goes first, while the descriptor is still ours. */
int lf__loop_close_socket(void *clientp, curl_socket_t fd) {
  lf_fetcher_t *f = clientp;
  lf__poll_t *p = poll_of(f, fd);
  if (p) poll_close(f, p);
  lf__h2_closed(f, fd);
  return close(fd) == 0 ? 0 : 1;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "soon", which must not be done from
 * inside this callback, so it too goes through the timer (it fires on the next loop turn). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  lf_fetcher_t *f = userp;
  (void)multi;
  f->h2.curl_timeout = timeout_ms;
  int rc = timeout_ms < 0 ? uv_timer_stop(&f->timer)
                          : uv_timer_start(&f->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return rc < 0 ? -1 : 0;
}

/* Sets the callbacks, then the four timers (libcurl's, the fetcher's wake-up for retries and
 * rate limiting, the stall watchdog, the bandwidth shares). uv_timer_init cannot fail on Unix, so
 * nothing half-made is left behind. */
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
  rc = uv_timer_init(f->loop, &f->watchdog);
  if (rc < 0) return rc;
  rc = uv_timer_init(f->loop, &f->bandwidth);
  if (rc < 0) return rc;
  f->timer.data = f;
  f->wake.data = f;
  f->watchdog.data = f;
  f->bandwidth.data = f;
  f->open_handles += 4;
  return lf__h2_init(f);
}

/* After curl_multi_cleanup(): libcurl no longer needs any socket, so close what is left. */
void lf__loop_close_polls(lf_fetcher_t *f) {
  for (size_t fd = 0; fd < f->poll_index_len; fd++)
    if (f->poll_index[fd]) poll_close(f, f->poll_index[fd]);
  free(f->poll_index);
  f->poll_index = NULL;
  f->poll_index_len = 0;
}

/* Reaps finished transfers. Removing an easy handle while reading messages is allowed. Once a
 * turn that reaped one is over, the rest wait in libcurl's queue for the wake timer, one turn
 * later (the first of each turn is always reaped: they keep moving). */
void lf__loop_check_done(lf_fetcher_t *f) {
  CURLMsg *msg;
  int left;
  f->done_due = 0;
  while (f->multi) {
    if (!f->closing && f->reaped_turn == uv_now(f->loop) && turn_over(f)) {
      f->done_due = 1; /* perhaps none is left: the wake timer then finds none */
      lf__fetcher_arm_wake(f);
      return;
    }
    if (!(msg = curl_multi_info_read(f->multi, &left))) break;
    if (msg->msg != CURLMSG_DONE) continue;
    lf__transfer_t *t = NULL;
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || !t)
      continue; /* cannot happen: every handle we add carries its transfer */
    f->reaped_turn = uv_now(f->loop);
    lf__transfer_done(t, result);
  }
}
