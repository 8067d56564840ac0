/* Parses that a stop signal ends (job_parse.h). */
#define _GNU_SOURCE
#include "job_parse.h"

#include <pthread.h>
#include <time.h>

static void stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
}

void lf__job_parse_begin(sigset_t *old) {
  sigset_t stop;
  stop_signals(&stop);
  if (pthread_sigmask(SIG_BLOCK, &stop, old) != 0) pthread_sigmask(SIG_BLOCK, NULL, old);
}

int lf__job_parse_end(job_t *job, const sigset_t *old, int rc) {
  int sig = 0;
  if (rc == LF_EABORTED) {
    sigset_t stop;
    const struct timespec now = {0, 0};
    stop_signals(&stop);
    sig = sigtimedwait(&stop, NULL, &now);
  }
  pthread_sigmask(SIG_SETMASK, old, NULL); /* a signal that came meanwhile reaches libuv now */
  if (sig <= 0) return 0;
  lf__job_signal(job, sig);
  return 1;
}
