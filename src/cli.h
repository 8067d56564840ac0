/* The command-line program's commands: option parsing, --version, the checks before a job,
 * --compare. The settings they fill and the job that runs them are in job/settings.h. */
#ifndef LF_CLI_H
#define LF_CLI_H

#include "settings.h"

/* Parses argv into cfg. Returns 0 to run, 1 when --help/--version was answered, or -1 after
 * printing a usage error. */
int lf__cli_parse(int argc, char **argv, lf_cli_t *cfg);

/* --version: the program, its libraries and their features, on stdout. */
void lf__print_version(void);

/* Checks before the first request what can be checked: the output folder, the manifest, the
 * CA file. Prints one line and returns the exit code, or 0. */
int lf__precheck(const lf_cli_t *cfg);

/* secrets.c: --user's password (asked on the terminal when missing) and --netrc's file into
 * cfg->http, and what children need to get them too. 0, or -1 after printing why. */
int lf__secrets_resolve(lf_cli_t *cfg);
/* The netrc file may be read by its owner only: exit code (2, 5) after one line, or 0. */
int lf__secrets_check_netrc(const lf_cli_t *cfg);
/* --cookie readable, --cookie-jar writable: exit code after one line, or 0. */
int lf__secrets_check_cookies(const lf_cli_t *cfg);

/* --compare: runs the job in each mode as a child process and prints the table. */
int lf__compare_run(const lf_cli_t *cfg);

#endif
