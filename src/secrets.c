/* Credentials on the command line: --user's password asked on the terminal when missing (never
 * echoed), handed to our own child processes (workers, --compare's runs) through the
 * environment rather than their command line; the netrc and cookie files checked before the
 * first request. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "cli.h"
#include "errmsg.h"

/* Our children read NAME:PASS here when their --user has only NAME. Not on their command line:
 * any user on the machine may read that (ps), the environment only its owner (and root). */
#define LF_USERPWD_ENV "LOOPFETCH__USERPWD"

/* The terminal's settings while echo is off, put back if a signal ends us at the prompt. */
static struct termios saved_tio;
static volatile sig_atomic_t saved_tty = -1;

static void restore_and_die(int sig) {
  if (saved_tty >= 0) (void)tcsetattr(saved_tty, TCSANOW, &saved_tio);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void on_fatal_signals(void (*handler)(int)) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    signal(sigs[i], handler);
}

/* Shows prompt and reads one line from the terminal with echo off into buf. Echo goes off (and
 * what was typed ahead is dropped, as getpass(3) does) before the prompt shows, so nothing
 * typed after the prompt can be echoed or lost. 0, or -1 with errno. */
static int read_hidden(int tty, const char *prompt, char *buf, size_t len) {
  struct termios old, quiet;
  if (tcgetattr(tty, &old) < 0) return -1;
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  saved_tio = old;
  saved_tty = tty;
  on_fatal_signals(restore_and_die); /* Ctrl-C at the prompt must not leave echo off */
  if (tcsetattr(tty, TCSAFLUSH, &quiet) < 0) {
    on_fatal_signals(SIG_DFL);
    saved_tty = -1;
    return -1;
  }
  size_t n = 0;
  int rc = write(tty, prompt, strlen(prompt)) == (ssize_t)strlen(prompt) ? 0 : -1;
  while (rc == 0) {
    char c;
    ssize_t got = read(tty, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || c == '\n' || c == '\r') {
      if (got < 0) rc = -1;
      break;
    }
    if (n + 1 < len) buf[n++] = c;
  }
  buf[n] = '\0';
  int saved = errno;
  (void)tcsetattr(tty, TCSANOW, &old);
  on_fatal_signals(SIG_DFL); /* the job sets its own handlers later */
  saved_tty = -1;
  (void)!write(tty, "\n", 1); /* the Enter that was not echoed */
  errno = saved;
  return rc;
}

/* NAME:PASS into a new string, or NULL (out of memory). */
static char *join(const char *name, size_t name_len, const char *pass) {
  char *s = malloc(name_len + strlen(pass) + 2);
  if (s) sprintf(s, "%.*s:%s", (int)name_len, name, pass);
  return s;
}

/* The password of --user NAME: our parent's, or asked on the terminal as curl does. */
static int ask_password(lf_cli_t *cfg) {
  const char *name = cfg->user;
  size_t name_len = strlen(name);
  const char *env = getenv(LF_USERPWD_ENV);
  if (env && strncmp(env, name, name_len) == 0 && env[name_len] == ':') {
    if (!(cfg->http.userpwd = strdup(env))) goto nomem;
    return 0;
  }
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) {
    lf__error("--user %s has no password and there is no terminal to ask for it on: give "
              "--user NAME:PASSWORD, or use --netrc",
              name);
    return -1;
  }
  char prompt[300], pass[1024];
  snprintf(prompt, sizeof(prompt), "Enter host password for user '%.200s': ", name);
  int rc = read_hidden(tty, prompt, pass, sizeof(pass));
  int saved = errno;
  close(tty);
  if (rc < 0) {
    lf__error("cannot read the password of --user %s from the terminal: %s", name, strerror(saved));
    return -1;
  }
  /* Kept for the process's life (workers' environment, every transfer): a static owner, so
   * an early exit leaves nothing that looks leaked. */
  static char *volatile userpwd; /* volatile: a store the compiler would drop as unread */
  cfg->http.userpwd = userpwd = join(name, name_len, pass);
  explicit_bzero(pass, sizeof(pass));
  if (!cfg->http.userpwd) goto nomem;
  return 0;
nomem:
  lf__error("out of memory%s", "");
  return -1;
}

int lf__secrets_resolve(lf_cli_t *cfg) {
  if (cfg->user) {
    if (strchr(cfg->user, ':'))
      cfg->http.userpwd = cfg->user;
    else if (ask_password(cfg) < 0)
      return -1;
    /* Workers and --compare's runs are given only the name (procs.c) or ask for it. */
    if ((cfg->mode == LF_MODE_PROCS || cfg->mode == LF_MODE_COMPARE) &&
        setenv(LF_USERPWD_ENV, cfg->http.userpwd, 1) < 0) {
      lf__error("out of memory%s", "");
      return -1;
    }
  }
  if (cfg->netrc && !cfg->http.netrc_file) { /* --netrc: the user's own file, as curl */
    const char *home = getenv("HOME");
    static char *path; /* the process's: kept as long as cfg */
    if (!home || !*home || asprintf(&path, "%s/.netrc", home) < 0) {
      lf__error("--netrc: no HOME to find .netrc in; give --netrc-file FILE%s", "");
      return -1;
    }
    cfg->http.netrc_file = path;
  }
  return 0;
}

/* A netrc file holds passwords: one that others may read is refused, before any request, as
 * ssh refuses such a key. Exit 2 (the command line names a file unfit for it) or 5 (cannot
 * read it). */
int lf__secrets_check_netrc(const lf_cli_t *cfg) {
  const char *path = cfg->http.netrc_file;
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  int err = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
  if (fd >= 0) close(fd);
  if (err) {
    lf__error("cannot read netrc file %s: %s", path,
              err == EINVAL ? "not a regular file" : strerror(err));
    return LF_EXIT_LOCAL;
  }
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    lf__error("%s is readable by others (mode %04o); chmod 600 %s", path,
              (unsigned)(st.st_mode & 07777), path);
    return LF_EXIT_USAGE;
  }
  return 0;
}

/* --cookie must be a readable regular file (curl ignores a missing one: a typo would then
 * silently send no cookie); --cookie-jar a name its folder can take. Exit 5, or 0. */
int lf__secrets_check_cookies(const lf_cli_t *cfg) {
  const char *in = cfg->http.cookie_file, *jar = cfg->http.cookie_jar;
  struct stat st;
  if (in) {
    int fd = open(in, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int err = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
    if (fd >= 0) close(fd);
    if (err) {
      lf__error("cannot read --cookie %s: %s", in,
                err == EINVAL ? "not a regular file" : strerror(err));
      return LF_EXIT_LOCAL;
    }
  }
  if (jar) {
    if (lstat(jar, &st) == 0 && !S_ISREG(st.st_mode)) {
      lf__error("cannot write --cookie-jar %s: not a regular file", jar);
      return LF_EXIT_LOCAL;
    }
    char *dir = strdup(jar);
    if (!dir) return LF_EXIT_LOCAL;
    char *slash = strrchr(dir, '/');
    const char *folder = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    /* libcurl writes a temporary file in that folder and renames it over the jar: a probe
     * file tells, where access(2) would answer yes for root on a read-only mount. */
    char *probe = NULL;
    int ok = asprintf(&probe, "%s/.lf-probe-%ld", folder, (long)getpid()) >= 0;
    int fd = ok ? open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    int err = ok ? errno : ENOMEM;
    ok = fd >= 0;
    if (ok) {
      close(fd);
      unlink(probe);
    }
    free(probe);
    free(dir);
    if (!ok) {
      lf__error("cannot write --cookie-jar %s: %s", jar, strerror(err));
      return LF_EXIT_LOCAL;
    }
  }
  return 0;
}
