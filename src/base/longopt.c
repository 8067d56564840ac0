/* Long options spelled in full (longopt.h says why). */
#include "longopt.h"

#include <stdio.h>
#include <string.h>

static int is_hidden(const char *name, const char *const *hidden) {
  for (; hidden && *hidden; hidden++)
    if (strcmp(name, *hidden) == 0) return 1;
  return 0;
}

/* Levenshtein distance of a[0..alen) and b, capped: names are short (under 32 bytes). */
static size_t distance(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen > 31 || blen > 31) return 99;
  size_t row[32];
  for (size_t j = 0; j <= blen; j++)
    row[j] = j;
  for (size_t i = 1; i <= alen; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= blen; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[blen];
}

static size_t common_prefix(const char *a, size_t alen, const char *b) {
  size_t n = 0;
  while (n < alen && b[n] && a[n] == b[n])
    n++;
  return n;
}

/* The full names the user may have meant by name[0..len): those it abbreviates, those a typo
 * or two away, and those that differ only in the word's last letter ("--retry": --retries).
 * Writes "--a or --b" into out; returns how many, and in *abbrev whether one is abbreviated. */
static int suggest(const char *name, size_t len, const struct option *o, const char *const *hidden,
                   char *out, size_t outlen, int *abbrev) {
  int n = 0;
  size_t used = 0;
  *abbrev = 0;
  for (; o->name; o++) {
    if (is_hidden(o->name, hidden)) continue;
    size_t common = common_prefix(name, len, o->name);
    int prefix = common == len;
    int hit = prefix || distance(name, len, o->name) <= (len < 5 ? 1u : 2u) ||
              (len >= 5 && common + 1 >= len);
    if (!hit || used >= outlen) continue;
    *abbrev |= prefix;
    int w = snprintf(out + used, outlen - used, "%s--%s", n ? " or " : "", o->name);
    if (w > 0) used += (size_t)w;
    n++;
  }
  return n;
}

/* One long option word ("--name" or "--name=value"): 1 if its value is the next word, 0 if
 * not, -1 (msg filled) if the name is not one of ours but close to some. */
static int check_word(const char *word, const struct option *longopts, const char *const *hidden,
                      char *msg, size_t msglen) {
  const char *name = word + 2;
  size_t len = strcspn(name, "=");
  for (const struct option *o = longopts; o->name; o++)
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
      return o->has_arg == required_argument && name[len] != '=';
  char cands[512];
  int abbrev;
  cands[0] = '\0';
  if (len == 0 || !suggest(name, len, longopts, hidden, cands, sizeof(cands), &abbrev))
    return 0; /* nothing like it: getopt's "unknown option" */
  /* Only the name is shown: "--user=alice:secret" must not print the password. */
  snprintf(msg, msglen, "unknown option '--%.*s'%s (did you mean %s?)", (int)(len > 64 ? 64 : len),
           name, abbrev ? ": long options are never abbreviated" : "", cands);
  return -1;
}

int lf__longopt_check(int argc, char *const argv[], const char *shortopts,
                      const struct option *longopts, const char *const *hidden, char *msg,
                      size_t msglen) {
  for (int i = 1; i < argc; i++) {
    const char *w = argv[i];
    if (strcmp(w, "--") == 0) break;
    if (w[0] != '-' || w[1] == '\0') continue; /* an operand ("-" is stdin) */
    if (w[1] == '-') {
      int r = check_word(w, longopts, hidden, msg, msglen);
      if (r < 0) return -1;
      i += r;
      continue;
    }
    for (const char *p = w + 1; *p; p++) { /* a cluster of short options: "-qvc" "8" */
      const char *s = *p != ':' ? strchr(shortopts, *p) : NULL;
      if (s && s[1] == ':') {
        if (!p[1]) i++; /* its value is the next word */
        break;
      }
    }
  }
  return 0;
}
