/* Per-host pacing: the starts of requests to one host are spaced by that host's interval, the
 * largest of the fetcher's wait (lf_fetcher_set_pace, jittered with LF_PACE_RANDOM), the host's
 * own (lf_fetcher_set_host_pace, e.g. its robots.txt Crawl-delay) and its slow-down after a 429
 * or 503 (LF_PACE_BACKOFF). A request whose host must wait is parked on that host, in order,
 * and the queue goes on with the next one: other hosts never wait for a paced one. Hosts with
 * parked requests are kept in a list sorted by when they may start next, which the wake timer
 * follows. Hosts are keyed by name (lower case, without the port), as a site's operators count
 * their load; entries that no longer hold anything back are dropped, so memory follows the
 * hosts being paced, not the URLs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define SLOW_FLOOR 0.05 /* s: a slow-down halved below this is over */

struct lf__host_s {
  lf__host_t *chain;          /* same bucket */
  lf__host_t *wnext, *wprev;  /* in pace.waiting while it holds parked requests */
  lf__pending_t *head, *tail; /* parked, in the order they came */
  uint64_t next_ns;           /* no start before this */
  uint64_t held_ns;           /* when the last slow-down began: replies to older starts ignored */
  double interval;            /* lf_fetcher_set_host_pace, seconds */
  double slow;                /* slow-down after 429/503, seconds; halves per good reply */
  uint64_t hash;
  char name[];
};

static uint64_t hash_name(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

int lf__pace_on(const lf_fetcher_t *f) {
  return f->pace.wait > 0 || f->pace.flags || f->pace.count > 0;
}

/* The host of an http(s) URL, by libcurl's parser: lower case, no port, no userinfo. */
static int url_host(const char *url, char *out, size_t outlen) {
  CURLU *u = curl_url();
  char *host = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && strlen(host) < outlen;
  if (ok) {
    size_t i = 0;
    for (; host[i]; i++)
      out[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] + 32) : host[i];
    out[i] = '\0';
  }
  curl_free(host);
  curl_url_cleanup(u);
  return ok ? 0 : -1;
}

static lf__host_t *find(lf__pace_t *pc, const char *name, size_t n, uint64_t h) {
  if (!pc->nbuckets) return NULL;
  for (lf__host_t *x = pc->buckets[h & (pc->nbuckets - 1)]; x; x = x->chain)
    if (x->hash == h && strncmp(x->name, name, n) == 0 && x->name[n] == '\0') return x;
  return NULL;
}

static int grow(lf__pace_t *pc) {
  size_t nb = pc->nbuckets ? pc->nbuckets * 2 : 64;
  lf__host_t **b = calloc(nb, sizeof *b);
  if (!b) return -1;
  for (size_t i = 0; i < pc->nbuckets; i++)
    for (lf__host_t *x = pc->buckets[i], *next; x; x = next) {
      next = x->chain;
      x->chain = b[x->hash & (nb - 1)];
      b[x->hash & (nb - 1)] = x;
    }
  free(pc->buckets);
  pc->buckets = b;
  pc->nbuckets = nb;
  return 0;
}

static lf__host_t *get(lf__pace_t *pc, const char *name, int create) {
  size_t n = strlen(name);
  uint64_t h = hash_name(name, n);
  lf__host_t *x = find(pc, name, n, h);
  if (x || !create) return x;
  if (pc->count >= pc->nbuckets && grow(pc) < 0) return NULL;
  x = calloc(1, sizeof *x + n + 1);
  if (!x) return NULL;
  memcpy(x->name, name, n + 1);
  x->hash = h;
  x->chain = pc->buckets[h & (pc->nbuckets - 1)];
  pc->buckets[h & (pc->nbuckets - 1)] = x;
  pc->count++;
  return x;
}

/* ---- the list of hosts with parked requests, soonest first ---- */

static void unlist(lf__pace_t *pc, lf__host_t *x) {
  if (x->wprev)
    x->wprev->wnext = x->wnext;
  else if (pc->waiting == x)
    pc->waiting = x->wnext;
  if (x->wnext)
    x->wnext->wprev = x->wprev;
  else if (pc->waiting_tail == x)
    pc->waiting_tail = x->wprev;
  x->wnext = x->wprev = NULL;
}

/* From the tail: a host that just started a request goes after most others. */
static void list(lf__pace_t *pc, lf__host_t *x) {
  lf__host_t *at = pc->waiting_tail;
  while (at && at->next_ns > x->next_ns)
    at = at->wprev;
  x->wprev = at;
  x->wnext = at ? at->wnext : pc->waiting;
  if (x->wnext)
    x->wnext->wprev = x;
  else
    pc->waiting_tail = x;
  if (at)
    at->wnext = x;
  else
    pc->waiting = x;
}

static int listed(const lf__pace_t *pc, const lf__host_t *x) {
  return x->wprev || pc->waiting == x;
}

static double rand01(lf_fetcher_t *f) {
  uint64_t x = f->rand_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  f->rand_state = x;
  return (double)(x >> 11) / 9007199254740992.0;
}

/* A request to x starts now: the next one waits the host's interval. */
static void started(lf_fetcher_t *f, lf__host_t *x, uint64_t now) {
  double iv = f->pace.wait;
  if (iv > 0 && (f->pace.flags & LF_PACE_RANDOM))
    iv *= 0.5 + rand01(f); /* as wget's --random-wait: 0.5 to 1.5 times the wait */
  if (x->interval > iv) iv = x->interval;
  if (x->slow > iv) iv = x->slow;
  x->next_ns = now + (uint64_t)(iv * 1e9);
}

/* Drops hosts that hold nothing back any more, when the map has doubled since the last look. */
static void sweep(lf__pace_t *pc, uint64_t now) {
  if (pc->count < 64 || pc->count < 2 * pc->swept) return;
  for (size_t i = 0; i < pc->nbuckets; i++)
    for (lf__host_t **at = &pc->buckets[i]; *at;) {
      lf__host_t *x = *at;
      if (!x->head && x->next_ns <= now && x->interval == 0 && x->slow == 0) {
        *at = x->chain;
        free(x);
        pc->count--;
      } else {
        at = &x->chain;
      }
    }
  pc->swept = pc->count;
}

/* p may start now (1: counted as started), or it was parked on its host (0). */
int lf__pace_admit(lf_fetcher_t *f, lf__pending_t *p, uint64_t now) {
  lf__pace_t *pc = &f->pace;
  char name[256];
  if (url_host(p->url, name, sizeof name) < 0)
    return 1; /* transfer.c reports what is wrong with the URL */
  lf__host_t *x = get(pc, name, pc->wait > 0);
  if (!x) return 1; /* nothing paces this host (or no memory to: then it goes unpaced) */
  if (x->head || x->next_ns > now) {
    p->next = NULL;
    if (x->tail)
      x->tail->next = p;
    else
      x->head = p;
    x->tail = p;
    pc->parked++;
    if (!listed(pc, x)) list(pc, x);
    return 0;
  }
  started(f, x, now);
  sweep(pc, now);
  return 1;
}

/* A parked request whose host may start now, taken off its host; NULL if none. */
lf__pending_t *lf__pace_ready(lf_fetcher_t *f, uint64_t now) {
  lf__pace_t *pc = &f->pace;
  lf__host_t *x = pc->waiting;
  if (!x || x->next_ns > now) return NULL;
  lf__pending_t *p = x->head;
  x->head = p->next;
  if (!x->head) x->tail = NULL;
  p->next = NULL;
  pc->parked--;
  started(f, x, now);
  unlist(pc, x);
  if (x->head) list(pc, x);
  return p;
}

/* When the first parked request may start, or UINT64_MAX. */
uint64_t lf__pace_next_ns(const lf_fetcher_t *f) {
  return f->pace.waiting ? f->pace.waiting->next_ns : UINT64_MAX;
}

/* A reply to a request that started at start_ns: 429 and 503 hold the host for hold_ms, then
 * let it return to its pace by halving the slow-down on each good reply after that. */
void lf__pace_reply(lf_fetcher_t *f, const char *url, long http_code, long hold_ms,
                    uint64_t start_ns) {
  lf__pace_t *pc = &f->pace;
  if (!(pc->flags & LF_PACE_BACKOFF) || !lf__pace_on(f)) return;
  char name[256];
  if (url_host(url, name, sizeof name) < 0) return;
  int slow_down = http_code == 429 || http_code == 503;
  lf__host_t *x = get(pc, name, slow_down);
  if (!x) return;
  uint64_t now = lf__now_ns();
  if (slow_down) {
    double s = (double)hold_ms / 1000;
    x->slow = s > x->slow ? s : x->slow;
    x->held_ns = now;
    uint64_t until = now + (uint64_t)hold_ms * 1000000;
    if (until > x->next_ns) {
      x->next_ns = until;
      if (listed(pc, x)) {
        unlist(pc, x);
        list(pc, x);
      }
    }
  } else if (x->slow > 0 && start_ns >= x->held_ns) {
    x->slow /= 2;
    if (x->slow < SLOW_FLOOR) x->slow = 0;
  }
}

/* close: every parked request, to be reported */
lf__pending_t *lf__pace_take_parked(lf_fetcher_t *f) {
  lf__pace_t *pc = &f->pace;
  lf__host_t *x = pc->waiting;
  if (!x) return NULL;
  lf__pending_t *p = x->head;
  x->head = p->next;
  if (!x->head) {
    x->tail = NULL;
    unlist(pc, x);
  }
  pc->parked--;
  return p;
}

void lf__pace_free(lf_fetcher_t *f) {
  lf__pace_t *pc = &f->pace;
  for (size_t i = 0; i < pc->nbuckets; i++)
    for (lf__host_t *x = pc->buckets[i], *next; x; x = next) {
      next = x->chain;
      free(x);
    }
  free(pc->buckets);
  memset(pc, 0, sizeof *pc);
}

static int valid_interval(double s) {
  return isfinite(s) && s >= 0 && s <= 86400;
}

int lf_fetcher_set_pace(lf_fetcher_t *f, double wait_s, unsigned flags) {
  if (!f || !valid_interval(wait_s) || (flags & ~(unsigned)(LF_PACE_RANDOM | LF_PACE_BACKOFF)))
    return LF_EINVAL;
  f->pace.wait = wait_s;
  f->pace.flags = flags;
  return 0;
}

int lf_fetcher_set_host_pace(lf_fetcher_t *f, const char *host, double interval_s) {
  if (!f || !host || !host[0] || strlen(host) >= 256 || !valid_interval(interval_s))
    return LF_EINVAL;
  char name[256];
  size_t i = 0;
  for (; host[i]; i++)
    name[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] + 32) : host[i];
  name[i] = '\0';
  lf__host_t *x = get(&f->pace, name, 1);
  if (!x) return LF_ENOMEM;
  x->interval = interval_s;
  /* The host may have been asked just now (for its robots.txt, say): the next start keeps the
   * interval from here, which is never sooner than from the last start. */
  uint64_t at = lf__now_ns() + (uint64_t)(interval_s * 1e9);
  if (at > x->next_ns) {
    x->next_ns = at;
    if (listed(&f->pace, x)) {
      unlist(&f->pace, x);
      list(&f->pace, x);
    }
  }
  return 0;
}

/* lf_fetcher_cancel(): parked requests with this data are marked; each reports when its host's
 * turn comes (start_next), which keeps the hosts' order intact. */
int lf__pace_mark_cancelled(lf_fetcher_t *f, void *data) {
  int n = 0;
  for (lf__host_t *x = f->pace.waiting; x; x = x->wnext)
    for (lf__pending_t *p = x->head; p; p = p->next)
      if (p->data == data && !p->cancelled) {
        p->cancelled = 1;
        n++;
      }
  return n;
}
