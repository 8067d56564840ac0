/* robots.txt: the cases of tests/unit/robots_cases.txt (written from RFC 9309 and the behaviour
 * of Google's reference parser; the file's head says how to read it), then what a text file
 * cannot hold: the 500 KiB limit, long lines, the product token, pathological patterns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"
#include "test.h"

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* Decodes the escapes of the cases file into out; returns its length, *nl = 0 after \z. */
static size_t unescape(const char *s, size_t n, char *out, int *nl) {
  size_t o = 0;
  *nl = 1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\' || i + 1 == n) {
      out[o++] = s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'r')
      out[o++] = '\r';
    else if (c == 'n')
      out[o++] = '\n';
    else if (c == 't')
      out[o++] = '\t';
    else if (c == 'z')
      *nl = 0;
    else if (c == 'x' && i + 2 < n) {
      out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else
      out[o++] = c;
  }
  return o;
}

static int cases_run, cases_failed;

static void fail(int line, const char *title, const char *what) {
  fprintf(stderr, "robots_cases.txt:%d: [%s] %s\n", line, title, what);
  cases_failed++;
  lf_test_failed++;
}

static void verdict(lf__robots_t *r, const char *title, int lineno, char *line) {
  int want_allow = strncmp(line, "allow ", 6) == 0;
  char *url = line + (want_allow ? 6 : 9);
  char *want_rule = strstr(url, " | ");
  if (want_rule) {
    *want_rule = '\0';
    want_rule += 3;
  }
  char decoded[4096];
  int nl;
  size_t n = unescape(url, strlen(url), decoded, &nl);
  decoded[n] = '\0';
  const char *rule;
  int got = lf__robots_allowed(r, decoded, &rule);
  cases_run++;
  char msg[8192];
  if (got != want_allow) {
    snprintf(msg, sizeof msg, "%.2000s: got %s (rule %.2000s)", url, got ? "allow" : "disallow",
             rule ? rule : "none");
    fail(lineno, title, msg);
    return;
  }
  if (want_rule) {
    const char *w = strcmp(want_rule, "-") == 0 ? NULL : want_rule;
    if ((w == NULL) != (rule == NULL) || (w && strcmp(w, rule) != 0)) {
      snprintf(msg, sizeof msg, "%.2000s: rule \"%.2000s\", want \"%.2000s\"", url,
               rule ? rule : "-", want_rule);
      fail(lineno, title, msg);
      return;
    }
  }
  lf_test_passed++;
}

static void check_line(lf__robots_t *r, const char *title, int lineno, char *line) {
  char msg[4096];
  if (strncmp(line, "allow ", 6) == 0 || strncmp(line, "disallow ", 9) == 0) {
    verdict(r, title, lineno, line);
    return;
  }
  cases_run++;
  if (strncmp(line, "delay ", 6) == 0) {
    double want = strcmp(line + 6, "none") == 0 ? -1 : atof(line + 6);
    double got = lf__robots_crawl_delay(r);
    if (got != want) {
      snprintf(msg, sizeof msg, "crawl-delay %g, want %g", got, want);
      return fail(lineno, title, msg);
    }
  } else if (strncmp(line, "sitemaps ", 9) == 0) {
    if (lf__robots_sitemap_count(r) != (size_t)atoi(line + 9)) {
      snprintf(msg, sizeof msg, "%zu sitemaps, want %.100s", lf__robots_sitemap_count(r), line + 9);
      return fail(lineno, title, msg);
    }
  } else if (strncmp(line, "sitemap ", 8) == 0) {
    char *end;
    size_t i = strtoul(line + 8, &end, 10);
    const char *got = lf__robots_sitemap(r, i);
    if (!got || strcmp(got, end + 1) != 0) {
      snprintf(msg, sizeof msg, "sitemap %zu is %.1000s, want %.1000s", i, got ? got : "none",
               end + 1);
      return fail(lineno, title, msg);
    }
  } else {
    snprintf(msg, sizeof msg, "unknown line: %.1000s", line);
    return fail(lineno, title, msg);
  }
  lf_test_passed++;
}

static void run_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(1);
  }
  char line[8192], title[512] = "", agent[128] = "loopfetch";
  static char body[1 << 16];
  size_t body_len = 0;
  int in_body = 0, lineno = 0;
  lf__robots_t *r = NULL;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    if (in_body) {
      if (strcmp(line, ">>>") == 0) {
        in_body = 0;
        r = lf__robots_parse(body, body_len, agent);
        CHECK(r != NULL);
        continue;
      }
      int nl;
      body_len += unescape(line, strlen(line), body + body_len, &nl);
      if (nl) body[body_len++] = '\n';
      continue;
    }
    if (strncmp(line, "== ", 3) == 0) {
      lf__robots_free(r);
      r = NULL;
      snprintf(title, sizeof title, "%.500s", line + 3);
      snprintf(agent, sizeof agent, "loopfetch");
    } else if (strncmp(line, "agent:", 6) == 0) {
      snprintf(agent, sizeof agent, "%.120s", line[6] == ' ' ? line + 7 : line + 6);
    } else if (strcmp(line, "<<<") == 0) {
      in_body = 1;
      body_len = 0;
    } else if (line[0] && line[0] != '#' && r) {
      check_line(r, title, lineno, line);
    } else if (line[0] && line[0] != '#') {
      fail(lineno, title, "a check outside a case");
    }
  }
  lf__robots_free(r);
  fclose(f);
}

/* RFC 9309 2.5: at least 500 KiB are read; beyond, nothing, and a line the limit cuts is not
 * read short. */
static void test_limit(void) {
  size_t big = LF_ROBOTS_MAX_BYTES + 4096;
  char *t = malloc(big + 64);
  size_t n = (size_t)sprintf(t, "User-agent: *\nDisallow: /early\n");
  for (; n < LF_ROBOTS_MAX_BYTES - 40; n++)
    t[n] = n % 64 == 63 ? '\n' : '#';
  n += (size_t)sprintf(t + n, "\nDisallow: /inside\n");
  size_t before_cut = n;
  /* a rule the limit cuts in the middle: "Allow: /abcdef..." would become a shorter Allow */
  while (n < LF_ROBOTS_MAX_BYTES - 5)
    t[n++] = '\n';
  n += (size_t)sprintf(t + n, "Allow: /early/long-allow-pattern\nDisallow: /late\n");
  lf__robots_t *r = lf__robots_parse(t, n, "loopfetch");
  CHECK(before_cut < LF_ROBOTS_MAX_BYTES);
  CHECK(lf__robots_allowed(r, "/early", NULL) == 0);
  CHECK(lf__robots_allowed(r, "/inside", NULL) == 0);
  CHECK(lf__robots_allowed(r, "/late", NULL) == 1);    /* beyond the limit */
  CHECK(lf__robots_allowed(r, "/early/l", NULL) == 0); /* the cut Allow was not read short */
  CHECK(lf__robots_allowed(r, "/early/long-allow-pattern", NULL) == 0);
  lf__robots_free(r);
  /* the same file up to the rule, within the limit: all of it read */
  r = lf__robots_parse(t, before_cut, "loopfetch");
  CHECK(lf__robots_allowed(r, "/inside", NULL) == 0);
  lf__robots_free(r);
  free(t);
}

/* A line longer than Google's 16,664 bytes is read up to there: the rule holds, cut. */
static void test_long_line(void) {
  size_t n = 20000;
  char *t = malloc(n + 100);
  size_t o = (size_t)sprintf(t, "User-agent: *\nDisallow: /");
  while (o < n)
    t[o++] = 'a';
  o += (size_t)sprintf(t + o, "\nDisallow: /b\n");
  lf__robots_t *r = lf__robots_parse(t, o, "loopfetch");
  char *path = malloc(n + 10);
  memset(path, 'a', n);
  path[0] = '/';
  path[n] = '\0';
  CHECK(lf__robots_allowed(r, path, NULL) == 0);
  path[16000] = '\0';
  CHECK(lf__robots_allowed(r, path, NULL) == 1);
  CHECK(lf__robots_allowed(r, "/b", NULL) == 0);
  lf__robots_free(r);
  free(path);
  free(t);
}

static void test_token(void) {
  char tok[LF_ROBOTS_TOKEN_MAX + 1];
  lf__robots_token("loopfetch/0.1.0 (+https://github.com/loopfetch/loopfetch)", tok);
  CHECK_EQ_STR(tok, "loopfetch");
  lf__robots_token("My_Crawler-2 (mailto:me@example.org)", tok);
  CHECK_EQ_STR(tok, "My_Crawler-");
  lf__robots_token("123bot", tok);
  CHECK_EQ_STR(tok, "");
  lf__robots_token("", tok);
  CHECK_EQ_STR(tok, "");
  char longua[200];
  memset(longua, 'x', sizeof longua - 1);
  longua[sizeof longua - 1] = '\0';
  lf__robots_token(longua, tok);
  CHECK_EQ_INT(strlen(tok), LF_ROBOTS_TOKEN_MAX);
}

/* Patterns built to make a naive matcher take exponential time finish at once here. */
static void test_pathological(void) {
  char rules[8192], path[4096];
  size_t o = (size_t)sprintf(rules, "User-agent: *\nDisallow: /");
  for (int i = 0; i < 1000; i++)
    o += (size_t)sprintf(rules + o, "*a");
  sprintf(rules + o, "*b$\n");
  memset(path, 'a', sizeof path - 1);
  path[0] = '/';
  path[sizeof path - 1] = '\0';
  lf__robots_t *r = lf__robots_parse(rules, strlen(rules), "x");
  CHECK(lf__robots_allowed(r, path, NULL) == 1);
  path[sizeof path - 2] = 'b';
  CHECK(lf__robots_allowed(r, path, NULL) == 0);
  lf__robots_free(r);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_robots CASES_FILE\n");
    return 2;
  }
  run_file(argv[1]);
  printf("robots_cases.txt: %d cases, %d failed\n", cases_run, cases_failed);
  CHECK(cases_run >= 300);
  test_limit();
  test_long_line();
  test_token();
  test_pathological();
  return lf_test_report();
}
