/* robots.txt parsed for one product token (RFC 9309 2.1-2.2, 2.5). Only the rules of the groups
 * that apply are kept: those naming the token ("specific"), and those of "*" ("global"), which
 * count only when no group names the token. See robots.h for where Google's parser is followed. */
#include "robots.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 16664 /* Google's: 8 times the longest URL browsers took (2083) */

typedef struct {
  char *pattern;  /* normalised (robots_match.c) */
  size_t len;     /* its length: the match's specificity (RFC 9309 2.2.2: most octets wins) */
  size_t literal; /* bytes it needs at least: longer than the path, it cannot match */
  int allow;
  char *text; /* "Disallow: <as written>" */
} rule_t;

typedef struct {
  rule_t *rules;
  size_t len, cap;
  double delay; /* -1: none */
} bucket_t;

struct lf__robots_s {
  bucket_t specific, global;
  int ever_specific; /* a group names the token: the "*" groups do not apply */
  char **sitemaps;
  size_t sitemap_len, sitemap_cap;
};

/* The parser's state between lines, as Google's matcher keeps it. */
typedef struct {
  lf__robots_t *r;
  const char *agent;
  int in_specific, in_global; /* the current group applies as such */
  int seen_rule; /* a rule since the last user-agent line: the next one starts a group */
  int any_agent; /* a user-agent line was seen: from now on lines are in a group */
  double delay;  /* the largest Crawl-delay of the current group, -1: none */
  int oom;
} parser_t;

static int is_ws(char c) {
  return c == ' ' || c == '\t';
}

static int starts_with_ci(const char *s, size_t n, const char *prefix) {
  size_t k = strlen(prefix);
  return n >= k && strncasecmp(s, prefix, k) == 0;
}

void lf__robots_token(const char *ua, char *out) {
  size_t n = 0;
  while (ua && n < LF_ROBOTS_TOKEN_MAX &&
         ((ua[n] >= 'a' && ua[n] <= 'z') || (ua[n] >= 'A' && ua[n] <= 'Z') || ua[n] == '-' ||
          ua[n] == '_'))
    n++;
  if (n) memcpy(out, ua, n);
  out[n] = '\0';
}

static int bucket_add(bucket_t *b, int allow, const char *value, size_t vlen, const char *pat,
                      size_t plen) {
  if (b->len == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 8;
    rule_t *n = realloc(b->rules, cap * sizeof *n);
    if (!n) return -1;
    b->rules = n;
    b->cap = cap;
  }
  rule_t *r = &b->rules[b->len];
  r->allow = allow;
  r->pattern = lf__robots_norm_pattern(pat, plen);
  const char *key = allow ? "Allow: " : "Disallow: ";
  r->text = malloc(strlen(key) + vlen + 1);
  if (!r->pattern || !r->text) {
    free(r->pattern);
    free(r->text);
    return -1;
  }
  memcpy(r->text, key, strlen(key));
  memcpy(r->text + strlen(key), value, vlen);
  r->text[strlen(key) + vlen] = '\0';
  r->len = strlen(r->pattern);
  r->literal = 0;
  for (const char *c = r->pattern; *c; c++)
    r->literal += *c != '*' && !(*c == '$' && c[1] == '\0');
  b->len++;
  return 0;
}

/* A rule line in a group that applies. Google's one extension: "Allow: /d/index.html" (or .htm)
 * also allows "/d/" itself, which serves that page. */
static void add_rule(parser_t *ps, int allow, const char *v, size_t n) {
  bucket_t *bs[2] = {ps->in_specific ? &ps->r->specific : NULL,
                     ps->in_global ? &ps->r->global : NULL};
  for (int k = 0; k < 2; k++) {
    if (!bs[k]) continue;
    if (bucket_add(bs[k], allow, v, n, v, n) < 0) {
      ps->oom = 1;
      return;
    }
    size_t cut = 0;
    if (allow && n >= 11 && strncmp(v + n - 11, "/index.html", 11) == 0)
      cut = 10;
    else if (allow && n >= 10 && strncmp(v + n - 10, "/index.htm", 10) == 0)
      cut = 9;
    if (cut) {
      char pat[LINE_MAX_BYTES + 2];
      memcpy(pat, v, n - cut);
      pat[n - cut] = '$';
      if (bucket_add(bs[k], allow, v, n, pat, n - cut + 1) < 0) ps->oom = 1;
    }
  }
}

/* "2", "0.5", "1.5e0" is not accepted: digits with one optional fraction, as written in the
 * wild; anything else (negative, words) is ignored. Not strtod: that reads the locale's comma. */
static double read_delay(const char *v, size_t n) {
  double x = 0, scale = 1;
  size_t i = 0, digits = 0;
  for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
    x = x * 10 + (v[i] - '0');
  if (i < n && v[i] == '.')
    for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
      x += (v[i] - '0') * (scale /= 10);
  return digits && i == n ? x : -1;
}

static void add_sitemap(parser_t *ps, const char *v, size_t n) {
  lf__robots_t *r = ps->r;
  if (n == 0) return;
  for (size_t i = 0; i < n; i++) /* a URL holds no controls or spaces (nor NUL) */
    if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f) return;
  if (r->sitemap_len == r->sitemap_cap) {
    size_t cap = r->sitemap_cap ? 2 * r->sitemap_cap : 4;
    char **s = realloc(r->sitemaps, cap * sizeof *s);
    if (!s) {
      ps->oom = 1;
      return;
    }
    r->sitemaps = s;
    r->sitemap_cap = cap;
  }
  char *copy = malloc(n + 1);
  if (!copy) {
    ps->oom = 1;
    return;
  }
  memcpy(copy, v, n);
  copy[n] = '\0';
  r->sitemaps[r->sitemap_len++] = copy;
}

/* A group's Crawl-delay, counted when the group ends. Crawl-delay (which Google's parser does
 * not read) is a member of the group above it, as a rule is: "User-agent: *, Crawl-delay: 10,
 * User-agent: us, Disallow: /x" gives us no delay. */
static void end_group(parser_t *ps) {
  if (ps->delay >= 0 && ps->in_specific && ps->delay > ps->r->specific.delay)
    ps->r->specific.delay = ps->delay;
  if (ps->delay >= 0 && ps->in_global && ps->delay > ps->r->global.delay)
    ps->r->global.delay = ps->delay;
  ps->delay = -1;
}

static void user_agent(parser_t *ps, const char *v, size_t n) {
  if (ps->seen_rule) { /* rules ended the last group: this line starts a new one */
    end_group(ps);
    ps->in_specific = ps->in_global = ps->seen_rule = 0;
  }
  ps->any_agent = 1;
  if (n >= 1 && v[0] == '*' && (n == 1 || is_ws(v[1]))) {
    ps->in_global = 1;
    return;
  }
  size_t t = 0; /* the product token: Google reads "Foobot/2.1" and "foobot bar" as foobot */
  while (t < n && ((v[t] >= 'a' && v[t] <= 'z') || (v[t] >= 'A' && v[t] <= 'Z') || v[t] == '-' ||
                   v[t] == '_'))
    t++;
  if (t > 0 && t == strlen(ps->agent) && strncasecmp(v, ps->agent, t) == 0)
    ps->in_specific = ps->r->ever_specific = 1;
}

/* One line, without its end of line. */
static void parse_line(parser_t *ps, const char *line, size_t n) {
  if (n > LINE_MAX_BYTES) n = LINE_MAX_BYTES;
  const char *hash = memchr(line, '#', n);
  if (hash) n = (size_t)(hash - line);
  while (n && is_ws(line[0]))
    line++, n--;
  while (n && is_ws(line[n - 1]))
    n--;
  if (n == 0) return;
  const char *sep = memchr(line, ':', n);
  const char *val;
  if (sep) {
    val = sep + 1;
  } else { /* Google: "user-agent foo" without the colon, if the line holds only two words */
    size_t k = 0;
    while (k < n && !is_ws(line[k]))
      k++;
    if (k == n) return;
    sep = line + k;
    val = sep;
    while (val < line + n && is_ws(*val))
      val++;
    for (const char *c = val; c < line + n; c++)
      if (is_ws(*c)) return;
  }
  size_t klen = (size_t)(sep - line);
  while (klen && is_ws(line[klen - 1]))
    klen--;
  while (val < line + n && is_ws(*val))
    val++;
  size_t vlen = (size_t)(line + n - val);
  if (klen == 0) return;
  if (starts_with_ci(line, klen, "user-agent") || starts_with_ci(line, klen, "useragent") ||
      starts_with_ci(line, klen, "user agent")) {
    user_agent(ps, val, vlen);
    return;
  }
  int allow = starts_with_ci(line, klen, "allow");
  int disallow =
      !allow &&
      (starts_with_ci(line, klen, "disallow") || starts_with_ci(line, klen, "dissallow") ||
       starts_with_ci(line, klen, "dissalow") || starts_with_ci(line, klen, "disalow") ||
       starts_with_ci(line, klen, "diasllow") || starts_with_ci(line, klen, "disallaw"));
  if (allow || disallow) {
    ps->seen_rule = ps->any_agent;
    if (!ps->in_specific && !ps->in_global) /* outside any group, or in another's */
      return;
    if (vlen) /* "Disallow:" with no path says nothing (matches with specificity 0) */
      add_rule(ps, allow, val, vlen);
    return;
  }
  if (starts_with_ci(line, klen, "sitemap") || starts_with_ci(line, klen, "site-map")) {
    add_sitemap(ps, val, vlen);
    return;
  }
  if (starts_with_ci(line, klen, "crawl-delay") || starts_with_ci(line, klen, "crawldelay")) {
    ps->seen_rule = ps->any_agent;
    if (ps->any_agent && read_delay(val, vlen) > ps->delay) ps->delay = read_delay(val, vlen);
  }
}

lf__robots_t *lf__robots_parse(const char *text, size_t len, const char *agent) {
  lf__robots_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->specific.delay = r->global.delay = -1;
  parser_t ps = {.r = r, .agent = agent ? agent : "", .delay = -1};
  int cut = len > LF_ROBOTS_MAX_BYTES;
  if (cut) len = LF_ROBOTS_MAX_BYTES;
  static const char bom[] = "\xEF\xBB\xBF";
  size_t i = 0;
  while (i < 3 && i < len && text[i] == bom[i]) /* a BOM, or what the limit left of one */
    i++;
  while (i < len && !ps.oom) {
    size_t start = i;
    while (i < len && text[i] != '\n' && text[i] != '\r')
      i++;
    if (i == len && cut) /* the limit cut this line: reading it short could allow more */
      break;
    parse_line(&ps, text + start, i - start);
    if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n') i++;
    i++;
  }
  end_group(&ps);
  if (ps.oom) {
    lf__robots_free(r);
    return NULL;
  }
  return r;
}

static void bucket_free(bucket_t *b) {
  for (size_t i = 0; i < b->len; i++) {
    free(b->rules[i].pattern);
    free(b->rules[i].text);
  }
  free(b->rules);
}

void lf__robots_free(lf__robots_t *r) {
  if (!r) return;
  bucket_free(&r->specific);
  bucket_free(&r->global);
  for (size_t i = 0; i < r->sitemap_len; i++)
    free(r->sitemaps[i]);
  free(r->sitemaps);
  free(r);
}

/* The longest matching allow and disallow of a bucket; allow wins a tie (RFC 9309 2.2.2). */
static const rule_t *decide(const bucket_t *b, const char *path, size_t n) {
  const rule_t *best = NULL;
  for (size_t i = 0; i < b->len; i++) {
    const rule_t *r = &b->rules[i];
    if (r->literal > n || (best && (r->len < best->len || (r->len == best->len && !r->allow))))
      continue;
    if (lf__robots_match(path, n, r->pattern, r->len)) best = r;
  }
  return best;
}

int lf__robots_allowed(const lf__robots_t *r, const char *url, const char **rule) {
  if (rule) *rule = NULL;
  char *path = lf__robots_norm_url(url);
  if (!path) /* out of memory: the one answer that asks nothing of anyone */
    return 0;
  size_t n = strlen(path);
  int allowed = 1;
  if (strcmp(path, "/robots.txt") != 0) { /* 2.2.2: implicitly allowed */
    const bucket_t *b = r->ever_specific ? &r->specific : &r->global;
    const rule_t *best = decide(b, path, n);
    if (best) {
      allowed = best->allow;
      if (rule) *rule = best->text;
    }
  }
  free(path);
  return allowed;
}

double lf__robots_crawl_delay(const lf__robots_t *r) {
  return r->ever_specific ? r->specific.delay : r->global.delay;
}

size_t lf__robots_sitemap_count(const lf__robots_t *r) {
  return r->sitemap_len;
}

const char *lf__robots_sitemap(const lf__robots_t *r, size_t i) {
  return i < r->sitemap_len ? r->sitemaps[i] : NULL;
}
