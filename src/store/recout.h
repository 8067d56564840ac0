/* The records files of -e/--extract: JSON Lines (--records) and RFC 4180 CSV (--csv).
 *
 * Each record is the page's url, parent and depth, then the fields in -e order. A page's
 * records go into each file with one write(2) on an O_APPEND descriptor, so a reader never
 * sees half a page, and a crash leaves at most one torn page at the end, which the next open
 * cuts off (the page is fetched again: its manifest line came after its records). CSV is
 * UTF-8 without a BOM, CRLF line ends, a header row when the file is new; null is an empty
 * cell, an empty string "", an array its JSON text. "-" is stdout. */
#ifndef LF_RECOUT_H
#define LF_RECOUT_H

#include <stddef.h>
#include "hmap.h"
#include "loopfetch.h"

typedef struct {
  int json_fd, csv_fd;       /* -1: not written */
  int json_owned, csv_owned; /* opened here (not stdout): closed by lf__recout_close */
  const char *paths[2];      /* as given (borrowed): JSON Lines, CSV */
  const char *failed;        /* the path of the last write that failed */
  const char *const *names;  /* the fields' names (borrowed), n of them */
  size_t n;
  char *buf; /* one page's output, reused */
  size_t cap;
} lf__recout_t;

/* Opens json_path and csv_path (either may be NULL, "-" is stdout) to append. A regular file
 * that exists is checked: a torn last record is cut off, and a CSV file's header must be this
 * job's (else the rows would sit under other columns). A new or empty CSV gets the header.
 * Returns 0, or -1 with one line in err (naming the file) and nothing left open. */
int lf__recout_open(lf__recout_t *o, const char *json_path, const char *csv_path,
                    const char *const *names, size_t n, char *err, size_t errlen);

/* Writes the records of one page: url as requested, parent (NULL for a start page), depth.
 * 0, or -errno (a record cut short by the error is taken back; o->failed names the file). */
int lf__recout_write(lf__recout_t *o, const char *url, const char *parent, unsigned depth,
                     const lf_records_t *recs);

/* The text lf__recout_write would write, for tests: csv 0 JSON Lines, 1 CSV rows. A string
 * in o->buf (valid until the next call), or NULL when out of memory. */
const char *lf__recout_format(lf__recout_t *o, int csv, const char *url, const char *parent,
                              unsigned depth, const lf_records_t *recs, size_t *len);

/* The same for a worker process of -p: the files exist (the parent opened them, cut a torn
 * end, wrote the CSV header), other writers append beside it, so nothing is read, cut or
 * written but its own pages' records, one write(2) each on O_APPEND. Stdout is refused. */
int lf__recout_open_append(lf__recout_t *o, const char *json_path, const char *csv_path,
                           const char *const *names, size_t n, char *err, size_t errlen);

/* The pages a records file already has records of, for a rerun: every record's url (the first
 * key of a JSON line, the first cell of a CSV row after the header) as lf__url_key() into set
 * (value 1). A missing file has none. 0, or -errno / -ENOMEM. */
int lf__recout_load_urls(const char *path, int csv, lf__hmap_t *set);

void lf__recout_close(lf__recout_t *o);

#endif
