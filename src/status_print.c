/* `loopfetch status` output: the table, --json, --shards, and the verdict. */
#include <stdio.h>
#include "status.h"

static const char *const names[LF_ST_COUNT] = {NULL,     "saved",       "skipped", "unchanged",
                                               "failed", "interrupted", "gone",    "missing"};

/* Not done: failed, interrupted, file gone, or no record (missing counts GONE in too). */
static size_t todo(const lf__st_shard_t *s) {
  return s->count[LF_ST_FAILED] + s->count[LF_ST_INTERRUPTED] + s->count[LF_ST_GONE] +
         s->count[LF_ST_MISSING];
}

static int shard_complete(const lf__st_shard_t *s) {
  return s->path && todo(s) == 0;
}

/* Complete only when the list was given (no record is no proof that nothing is missing). */
int lf__status_complete(const lf__status_t *st) {
  if (!st->input || st->unattributed_missing) return 0;
  for (size_t i = 0; i < st->nshard; i++)
    if (!shard_complete(&st->shard[i])) return 0;
  return 1;
}

static void total(const lf__status_t *st, lf__st_shard_t *t) {
  *t = (lf__st_shard_t){.path = "", .dirfd = -1};
  for (size_t i = 0; i < st->nshard; i++) {
    for (int s = 1; s < LF_ST_COUNT; s++)
      t->count[s] += st->shard[i].count[s];
    t->torn += st->shard[i].torn;
  }
  t->count[LF_ST_MISSING] += st->unattributed_missing;
}

static void shard_name(const lf__st_shard_t *s, char *buf, size_t len) {
  if (s->n)
    snprintf(buf, len, "%u/%u", s->k, s->n);
  else
    snprintf(buf, len, "other");
}

/* Missing is what has no record plus what is recorded done but whose file is gone. */
static void print_row(const lf__status_t *st, const char *name, const lf__st_shard_t *s) {
  char missing[32];
  size_t m = s->count[LF_ST_MISSING] + s->count[LF_ST_GONE];
  if (st->input || m)
    snprintf(missing, sizeof(missing), "%zu", m);
  else
    snprintf(missing, sizeof(missing), "?");
  fprintf(st->out, "%-9s %8zu %8zu %9zu %7zu %11zu %8s %5zu  %s\n", name, s->count[LF_ST_SAVED],
          s->count[LF_ST_SKIPPED], s->count[LF_ST_UNCHANGED], s->count[LF_ST_FAILED],
          s->count[LF_ST_INTERRUPTED], missing, s->torn,
          s->path ? s->path : "(no manifest: shard not run)");
}

void lf__status_print(const lf__status_t *st) {
  char name[32];
  lf__st_shard_t t;
  fprintf(st->out, "%-9s %8s %8s %9s %7s %11s %8s %5s  %s\n", "shard", "saved", "skipped",
          "unchanged", "failed", "interrupted", "missing", "torn", "manifest");
  for (size_t i = 0; i < st->nshard; i++) {
    shard_name(&st->shard[i], name, sizeof(name));
    print_row(st, name, &st->shard[i]);
  }
  total(st, &t);
  print_row(st, "total", &t);
  size_t done = t.count[LF_ST_SAVED] + t.count[LF_ST_SKIPPED] + t.count[LF_ST_UNCHANGED];
  if (lf__status_complete(st))
    fprintf(st->out, "complete: %zu pages\n", done);
  else if (!st->input && !todo(&t))
    fprintf(st->out,
            "%zu pages done, none failed; missing unknown: give -i LIST (the job's "
            "URLs) to count those no run reached\n",
            done);
  else if (!st->input)
    fprintf(st->out,
            "incomplete: %zu done, %zu failed, %zu interrupted, %zu files gone; "
            "missing unknown: give -i LIST\n",
            done, t.count[LF_ST_FAILED], t.count[LF_ST_INTERRUPTED], t.count[LF_ST_GONE]);
  else
    fprintf(st->out, "incomplete: %zu done, %zu failed, %zu interrupted, %zu missing\n", done,
            t.count[LF_ST_FAILED], t.count[LF_ST_INTERRUPTED],
            t.count[LF_ST_MISSING] + t.count[LF_ST_GONE]);
}

static void json_counts(const lf__status_t *st, const lf__st_shard_t *s) {
  for (int i = LF_ST_SAVED; i <= LF_ST_INTERRUPTED; i++)
    fprintf(st->out, "\"%s\":%zu,", names[i], s->count[i]);
  if (st->input)
    fprintf(st->out, "\"missing\":%zu,", s->count[LF_ST_MISSING] + s->count[LF_ST_GONE]);
  else
    fprintf(st->out, "\"missing\":null,");
  fprintf(st->out, "\"gone\":%zu,\"torn\":%zu", s->count[LF_ST_GONE], s->torn);
}

/* A path as a JSON string: the bytes as they are, with quotes, backslashes and controls
 * escaped. */
static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

void lf__status_print_json(const lf__status_t *st) {
  char name[32];
  lf__st_shard_t t;
  fprintf(st->out, "{\"complete\":%s,\"shards\":[", lf__status_complete(st) ? "true" : "false");
  for (size_t i = 0; i < st->nshard; i++) {
    const lf__st_shard_t *s = &st->shard[i];
    shard_name(s, name, sizeof(name));
    fprintf(st->out, "%s{\"shard\":\"%s\",\"manifest\":", i ? "," : "", name);
    if (s->path)
      json_str(st->out, s->path);
    else
      fputs("null", st->out);
    fputc(',', st->out);
    json_counts(st, s);
    fputc('}', st->out);
  }
  total(st, &t);
  fputs("],\"total\":{", st->out);
  json_counts(st, &t);
  fputs("}}\n", st->out);
}

/* "2,4": the shards to run again (for sbatch --array=, or a loop over K). */
void lf__status_print_shards(const lf__status_t *st) {
  int first = 1;
  for (size_t i = 0; i < st->nshard; i++) {
    const lf__st_shard_t *s = &st->shard[i];
    if (s->n < 1 || shard_complete(s)) continue;
    fprintf(st->out, "%s%u", first ? "" : ",", s->k);
    first = 0;
  }
  if (!first) fputc('\n', st->out);
}
