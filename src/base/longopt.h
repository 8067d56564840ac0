/* Long options spelled in full. getopt_long accepts any unique prefix of a long option, so a
 * habit from another tool silently becomes another option (`--user alice:pw` became
 * --user-agent and sent the password to every server; `--retry 1`, --retry-max-wait). Before
 * getopt runs, the command line is walked as getopt would walk it and every long option must
 * be one of ours, whole. */
#ifndef LF_LONGOPT_H
#define LF_LONGOPT_H

#include <getopt.h>
#include <stddef.h>

/* 0 if every long option in argv[1..] (up to "--") is spelled in full; otherwise -1 with one
 * line in msg naming the word and the closest full options ("unknown option '--user' (did you
 * mean --user-agent?)"). Unknown words that look like no option of ours are left to getopt
 * (returns 0). `hidden` (NULL-terminated, may be NULL) names options never suggested. Values
 * of options (a separate word after an option with required_argument, or after a short
 * option taking one) are skipped, as getopt skips them. */
int lf__longopt_check(int argc, char *const argv[], const char *shortopts,
                      const struct option *longopts, const char *const *hidden, char *msg,
                      size_t msglen);

#endif
