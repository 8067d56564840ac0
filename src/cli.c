/* Command line: options to lf_cli_t, then the job. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <curl/curl.h>
#include "cli.h"
#include "layout.h"
#include "manifest.h"
#include "errmsg.h"
#include "longopt.h"
#include "report.h"
#include "safe_text.h"
#include "shard.h"
#include "status.h"
#include "loopfetch.h"

/* Every line fits in 80 columns (tests/e2e/e2e_cli.py checks it), as curl's and wget's do. */
static const char usage_text[] =
    "Usage: loopfetch [options] [LIST_URL...]\n"
    "       loopfetch status [--json | --urls | --shards] [-i LIST] DIR...\n"
    "Fetch pages, select links in them with a CSS selector, and save every linked\n"
    "page, all transfers overlapped on one event loop. Several LIST_URLs (and -i)\n"
    "are one job: their links are deduplicated and named in one folder.\n"
    "Default LIST_URL: Wikipedia's List_of_countries_by_population_(United_Nations)\n"
    "\n"
    "Selecting links:\n"
    "      --select SEL          CSS selector for the links (one -f SEL)\n"
    "                            (default '" LF_DEFAULT_SELECTOR "')\n"
    "  -f, --follow SEL          one level more: follow the links SEL selects on\n"
    "                            the pages of the level before (repeatable)\n"
    "      --next SEL            \"next page\" links: more pages of the level the\n"
    "                            -f before it (or the start pages) defines\n"
    "      --max-pages N         pages a level may reach through --next\n"
    "                            (default 1000)\n"
    "      --max-urls N          URLs the whole job takes (default no cap)\n"
    "      --save-all            save the navigation pages too\n"
    "  -i, --input FILE|-        read URLs from FILE (or stdin), one per line, '#'\n"
    "                            comments, as pages to save (with LIST_URLs too)\n"
    "      --links               print the links, one per line, and exit (writes\n"
    "                            nothing)\n"
    "\n"
    "Extracting records (from the linked pages; without --select, from the\n"
    "LIST_URLs / -i pages themselves):\n"
    "  -e, --extract NAME=SEL[::text|::attr(A)|::url(A)]\n"
    "                            a field of each record (repeatable); NAME[]=...\n"
    "                            takes every match as a JSON array\n"
    "      --each SEL            one record per match of SEL, its fields selected\n"
    "                            among the match's descendants\n"
    "      --records FILE        write records as JSON Lines ('-': stdout, the\n"
    "                            default)\n"
    "      --csv FILE            write records as CSV ('-': stdout)\n"
    "      --save                keep the pages on disk too (also with -o)\n"
    "\n"
    "Output:\n"
    "  -o, --output-dir DIR      save pages into DIR (default '" LF_DEFAULT_OUT_DIR "'), created\n"
    "                            if missing\n"
    "      --manifest FILE       one JSON line per URL (default\n"
    "                            DIR/" LF_MANIFEST_NAME ", with --shard K/N\n"
    "                            DIR/" LF_MANIFEST_STEM ".K-of-N.jsonl)\n"
    "      --force               fetch pages again that a previous run saved\n"
    "                            (default: skip them), and replace files in the\n"
    "                            way that no manifest records\n"
    "      --no-clobber          skip a page whose name is taken by a file that no\n"
    "                            manifest records (default: save it as NAME~2)\n"
    "      --refresh             fetch saved pages again only if they changed\n"
    "                            (If-None-Match, If-Modified-Since)\n"
    "  -C, --continue            keep what an interrupted page received (hidden,\n"
    "                            beside its name) and ask a rerun for the rest\n"
    "      --content-disposition name a file as the server's Content-Disposition says\n"
    "  -v, --verbose             one line per attempt on stderr (start, redirect,\n"
    "                            retry, result)\n"
    "  -q, --quiet               print only errors\n"
    "      --progress            show the progress line even if stderr is not a\n"
    "                            terminal\n"
    "      --json                print one JSON object on stdout: the summary, or\n"
    "                            the error\n"
    "      --warc-file NAME      also archive every request and response in\n"
    "                            NAME.warc.gz (WARC/1.1; see README, Archiving)\n"
    "      --no-warc-compression write NAME.warc, uncompressed\n"
    "      --warc-max-size SIZE  start NAME-00001.warc.gz, ... once a file reaches\n"
    "                            SIZE (k/M/G suffix)\n"
    "      --warc-cdx            also write NAME.cdxj, the index pywb reads\n"
    "      --no-warc-dedup       archive identical bodies again instead of as\n"
    "                            revisit records (--warc-dedup, the default)\n"
    "      --trace FILE          write a Chrome trace (Perfetto, chrome://tracing)\n"
    "      --waterfall FILE.svg  write an SVG waterfall: one bar per URL over time\n"
    "\n"
    "Transfers:\n"
    "  -c, --concurrency N       transfers in flight per process (default: every\n"
    "                            link, at most 512 in all, shared by -p workers,\n"
    "                            within the open-file limit; a single loop starts\n"
    "                            with 256 and widens while it only waits);\n"
    "                            -c 1 is sequential\n"
    "      --retries N           retries after a transient failure (default 3)\n"
    "      --retry-max-wait S    longest wait before a retry, Retry-After included\n"
    "                            (default 30)\n"
    "      --max-redirs N        redirects followed per attempt (default 10; 0: none)\n"
    "      --connect-timeout S   (default 30)\n"
    "      --stall-timeout S     abort an attempt that receives nothing for S\n"
    "                            seconds (default 60)\n"
    "      --timeout S           limit for one attempt (default none)\n"
    "      --max-size BYTES      largest page accepted, with k/M/G suffix\n"
    "                            (default 100M)\n"
    "      --max-list-size BYTES largest list page, parsed in memory (default 32M)\n"
    "      --per-host N          connections per host (default no limit)\n"
    "  -s, --split N             fetch each file of 2 MiB or more as up to N byte\n"
    "                            ranges at once, on N connections, each range at\n"
    "                            least 1 MiB (default 1: one stream); where the\n"
    "                            server serves ranges and names the file by an\n"
    "                            ETag or Last-Modified, else one stream\n"
    "      --rate R              start at most R requests per second\n"
    "      --wait S              at least S seconds (fractions too) between the\n"
    "                            starts of requests to one host; hosts are paced\n"
    "                            separately; 429/503 hold their host always\n"
    "      --random-wait         each --wait drawn from 0.5 to 1.5 times S\n"
    "      --robots=on|off       obey robots.txt for the links the job finds (on);\n"
    "                            URLs given on the command line or -i always go\n"
    "      --max-crawl-delay S   honour a robots.txt Crawl-delay up to S seconds\n"
    "                            (default 10; above, the host is paced at S)\n"
    "      --sitemap URL         fetch the pages a sitemap or sitemap index lists\n"
    "                            (gzip too; repeatable); with no LIST_URL and no\n"
    "                            -i, only those\n"
    "      --user-agent STR      User-Agent (default 'loopfetch/" LOOPFETCH_VERSION " (+URL)')\n"
    "  -H, --header 'N: V'       extra request header (repeatable)\n"
    "      --cacert FILE         verify TLS peers with the CA certificates in FILE\n"
    "\n"
    "Proxies and credentials:\n"
    "      --proxy URL           use this proxy: http://, https://, socks4a://,\n"
    "                            socks5://, socks5h:// (default: the http_proxy,\n"
    "                            https_proxy, all_proxy variables; '' for none)\n"
    "      --noproxy LIST        hosts reached directly, comma-separated ('*': all)\n"
    "      --proxy-user U:P      user and password for the proxy\n"
    "  -u, --user NAME[:PASS]    credentials for the pages' own origin (asked on\n"
    "                            the terminal, unechoed, without :PASS)\n"
    "      --netrc               credentials per host from ~/.netrc\n"
    "      --netrc-file FILE     credentials per host from FILE (mode 600)\n"
    "      --location-trusted    keep -H headers on a redirect to another origin\n"
    "                            (never Authorization, Cookie or --user)\n"
    "      --allow-insecure-redirect\n"
    "                            follow redirects from https to plain http\n"
    "      --cookie FILE         send the cookies of this Netscape/curl cookie file\n"
    "                            (and those responses set, to later requests)\n"
    "      --cookie-jar FILE     write every cookie to FILE at the end (atomically)\n"
    "      --limit-rate RATE     download at most RATE bytes/s in all, k/M/G suffix\n"
    "                            (1024-based, as curl: 2M is 2 MiB/s)\n"
    "\n"
    "Processes:\n"
    "  -p, --procs N             N worker processes, each with its own loop over a\n"
    "                            shard (0: one per online CPU)\n"
    "      --shard K/N           fetch only shard K of N (1-based); N runs make one\n"
    "                            whole job\n"
    "      --layout L            flat (DIR/name, default), hash (DIR/ab/cd/name),\n"
    "                            host (DIR/host/name); give reruns the same layout\n"
    "      --compare             run sequential, single-loop and multi-process\n"
    "                            modes, print a table\n"
    "\n"
    "Other:\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the versions of loopfetch and its libraries\n"
    "\n"
    "Exit status: 0 every page saved (or already complete); 1 some pages failed;\n"
    "2 usage error or malformed selector; 3 list page or input unreadable;\n"
    "4 nothing to fetch; 5 local error; 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.\n";

enum {
  OPT_SELECT = 256,
  OPT_LINKS,
  OPT_CACERT,
  OPT_USER_AGENT,
  OPT_MANIFEST,
  OPT_FORCE,
  OPT_NO_CLOBBER,
  OPT_PROGRESS,
  OPT_JSON,
  OPT_TRACE,
  OPT_WATERFALL,
  OPT_RETRIES,
  OPT_RETRY_MAX_WAIT,
  OPT_CONNECT_TIMEOUT,
  OPT_STALL_TIMEOUT,
  OPT_TIMEOUT,
  OPT_MAX_SIZE,
  OPT_MAX_LIST_SIZE,
  OPT_PER_HOST,
  OPT_RATE,
  OPT_WAIT,
  OPT_RANDOM_WAIT,
  OPT_ROBOTS,
  OPT_MAX_CRAWL_DELAY,
  OPT_SITEMAP,
  OPT_SHARD,
  OPT_LAYOUT,
  OPT_COMPARE,
  OPT_WORKER,
  OPT_EPOCH,
  OPT_RECORD_DEPTH,
  OPT_REFRESH,
  OPT_CONTENT_DISPOSITION,
  OPT_WARC_FILE,
  OPT_NO_WARC_COMPRESSION,
  OPT_WARC_MAX_SIZE,
  OPT_WARC_CDX,
  OPT_WARC_DEDUP,
  OPT_NO_WARC_DEDUP,
  OPT_EACH,
  OPT_RECORDS,
  OPT_CSV,
  OPT_SAVE,
  OPT_PROXY,
  OPT_NOPROXY,
  OPT_PROXY_USER,
  OPT_NETRC,
  OPT_NETRC_FILE,
  OPT_LOCATION_TRUSTED,
  OPT_ALLOW_INSECURE_REDIRECT,
  OPT_COOKIE,
  OPT_COOKIE_JAR,
  OPT_NEXT,
  OPT_MAX_PAGES,
  OPT_MAX_URLS,
  OPT_SAVE_ALL,
  OPT_MAX_REDIRS,
  OPT_LIMIT_RATE,
  OPT_SPLIT
};

static const struct option long_options[] = {
    {"select", required_argument, NULL, OPT_SELECT},
    {"follow", required_argument, NULL, 'f'},
    {"next", required_argument, NULL, OPT_NEXT},
    {"max-pages", required_argument, NULL, OPT_MAX_PAGES},
    {"max-urls", required_argument, NULL, OPT_MAX_URLS},
    {"save-all", no_argument, NULL, OPT_SAVE_ALL},
    {"input", required_argument, NULL, 'i'},
    {"links", no_argument, NULL, OPT_LINKS},
    {"output-dir", required_argument, NULL, 'o'},
    {"manifest", required_argument, NULL, OPT_MANIFEST},
    {"force", no_argument, NULL, OPT_FORCE},
    {"no-clobber", no_argument, NULL, OPT_NO_CLOBBER},
    {"quiet", no_argument, NULL, 'q'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"json", no_argument, NULL, OPT_JSON},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"waterfall", required_argument, NULL, OPT_WATERFALL},
    {"concurrency", required_argument, NULL, 'c'},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-max-wait", required_argument, NULL, OPT_RETRY_MAX_WAIT},
    {"max-redirs", required_argument, NULL, OPT_MAX_REDIRS},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"max-list-size", required_argument, NULL, OPT_MAX_LIST_SIZE},
    {"per-host", required_argument, NULL, OPT_PER_HOST},
    {"rate", required_argument, NULL, OPT_RATE},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"random-wait", no_argument, NULL, OPT_RANDOM_WAIT},
    {"robots", required_argument, NULL, OPT_ROBOTS},
    {"max-crawl-delay", required_argument, NULL, OPT_MAX_CRAWL_DELAY},
    {"sitemap", required_argument, NULL, OPT_SITEMAP},
    {"user-agent", required_argument, NULL, OPT_USER_AGENT},
    {"header", required_argument, NULL, 'H'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"procs", required_argument, NULL, 'p'},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"compare", no_argument, NULL, OPT_COMPARE},
    {"verbose", no_argument, NULL, 'v'},
    {"refresh", no_argument, NULL, OPT_REFRESH},
    {"continue", no_argument, NULL, 'C'},
    {"content-disposition", no_argument, NULL, OPT_CONTENT_DISPOSITION},
    {"warc-file", required_argument, NULL, OPT_WARC_FILE},
    {"no-warc-compression", no_argument, NULL, OPT_NO_WARC_COMPRESSION},
    {"warc-max-size", required_argument, NULL, OPT_WARC_MAX_SIZE},
    {"warc-cdx", no_argument, NULL, OPT_WARC_CDX},
    {"warc-dedup", no_argument, NULL, OPT_WARC_DEDUP},
    {"no-warc-dedup", no_argument, NULL, OPT_NO_WARC_DEDUP},
    {"extract", required_argument, NULL, 'e'},
    {"each", required_argument, NULL, OPT_EACH},
    {"records", required_argument, NULL, OPT_RECORDS},
    {"csv", required_argument, NULL, OPT_CSV},
    {"save", no_argument, NULL, OPT_SAVE},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"noproxy", required_argument, NULL, OPT_NOPROXY},
    {"proxy-user", required_argument, NULL, OPT_PROXY_USER},
    {"user", required_argument, NULL, 'u'},
    {"netrc", no_argument, NULL, OPT_NETRC},
    {"netrc-file", required_argument, NULL, OPT_NETRC_FILE},
    {"location-trusted", no_argument, NULL, OPT_LOCATION_TRUSTED},
    {"allow-insecure-redirect", no_argument, NULL, OPT_ALLOW_INSECURE_REDIRECT},
    {"cookie", required_argument, NULL, OPT_COOKIE},
    {"cookie-jar", required_argument, NULL, OPT_COOKIE_JAR},
    {"limit-rate", required_argument, NULL, OPT_LIMIT_RATE},
    {"split", required_argument, NULL, 's'},
    {"worker", no_argument, NULL, OPT_WORKER},                   /* internal: a --procs child */
    {"epoch", required_argument, NULL, OPT_EPOCH},               /* internal: the parent's clock */
    {"record-depth", required_argument, NULL, OPT_RECORD_DEPTH}, /* internal: -e in a worker */
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}};

static int usage_error(const char *fmt, const char *arg) {
  char what[768];
  snprintf(what, sizeof(what), fmt, arg);
  lf__error("%s (see loopfetch --help)", what);
  return -1;
}

/* "scheme://...": what a URL looks like where a value was expected. wget's -H (span hosts)
 * and -o (log file), aria2c's -d, take no value or another one here, so `-H URL` would swallow
 * the URL and run the default job: such a value is refused instead. */
static int looks_like_url(const char *s) {
  const char *p = s;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return 0;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  return strncmp(p, "://", 3) == 0;
}

static int refuse_url(const char *option, const char *what, const char *arg) {
  char fmt[160];
  snprintf(fmt, sizeof(fmt), "%s wants %s, not a URL: '%%s' (put LIST_URLs after the options)",
           option, what);
  return usage_error(fmt, arg);
}

/* "Name: value" with a token name (RFC 9110) and no line breaks in the value. */
static int valid_header(const char *h) {
  const char *colon = strchr(h, ':');
  if (!colon || colon == h) return 0;
  for (const char *p = h; p < colon; p++)
    if (*p <= 32 || *p >= 127 || strchr("\"(),/;<=>?@[\\]{}", *p)) return 0;
  return strpbrk(colon, "\r\n") == NULL;
}

/* A whole decimal number in [min, max]; no sign, no trailing junk. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out) {
  if (!s || *s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v < min || v > max) return -1;
  *out = (unsigned)v;
  return 0;
}

/* Seconds as a non-negative decimal ("2.5") into milliseconds, at most a day. */
static int parse_seconds(const char *s, long *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0) || v > 86400) return -1;
  *ms = (long)(v * 1000 + 0.5);
  return 0;
}

/* Bytes with an optional k/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  int shift = 0;
  if (*end == 'k' || *end == 'K')
    shift = 10;
  else if (*end == 'm' || *end == 'M')
    shift = 20;
  else if (*end == 'g' || *end == 'G')
    shift = 30;
  if (shift) end++;
  if (errno || *end || v == 0 || v > (UINT64_MAX >> shift)) return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

static int set_seconds(const char *name, const char *arg, long *ms) {
  if (parse_seconds(arg, ms) < 0) {
    fprintf(stderr, "loopfetch: %s wants seconds (e.g. 2.5), not '%s'\n", name, arg);
    return -1;
  }
  return 0;
}

/* Options that tune transfers. Returns 1 if c was one of them, -1 on a bad value. */
static int parse_transfer_option(int c, const char *arg, lf_cli_t *cfg) {
  lf_options_t *o = &cfg->fetch;
  unsigned u;
  switch (c) {
  case 'c':
    if (parse_uint(arg, 1, 1000000, &cfg->concurrency) < 0)
      return usage_error("--concurrency wants a number from 1 to 1000000, not '%s'", arg);
    return 1;
  case OPT_RETRIES:
    if (parse_uint(arg, 0, 100, &u) < 0)
      return usage_error("--retries wants a number from 0 to 100, not '%s'", arg);
    o->retries = u ? (int)u : LF_NONE; /* the library reads 0 as its default, 3 */
    return 1;
  case 's':
    if (parse_uint(arg, 1, 64, &u) < 0)
      return usage_error("--split wants a number of ranges from 1 to 64, not '%s'", arg);
    o->split = (long)u;
    return 1;
  case OPT_MAX_REDIRS:
    if (parse_uint(arg, 0, 1000, &u) < 0)
      return usage_error("--max-redirs wants a number from 0 to 1000, not '%s'", arg);
    o->max_redirs = u ? (long)u : LF_NONE;
    return 1;
  case OPT_RETRY_MAX_WAIT:
    return set_seconds("--retry-max-wait", arg, &o->retry_max_wait_ms) < 0 ? -1 : 1;
  case OPT_CONNECT_TIMEOUT:
    return set_seconds("--connect-timeout", arg, &o->connect_timeout_ms) < 0 ? -1 : 1;
  case OPT_STALL_TIMEOUT:
    if (set_seconds("--stall-timeout", arg, &o->stall_timeout_ms) < 0) return -1;
    if (o->stall_timeout_ms == 0) o->stall_timeout_ms = -1; /* 0 on the command line: never */
    return 1;
  case OPT_TIMEOUT:
    return set_seconds("--timeout", arg, &o->timeout_ms) < 0 ? -1 : 1;
  case OPT_MAX_SIZE:
    if (parse_size(arg, &o->max_size) < 0)
      return usage_error("--max-size wants bytes with an optional k/M/G suffix, not '%s'", arg);
    return 1;
  case OPT_MAX_LIST_SIZE: {
    uint64_t n;
    if (parse_size(arg, &n) < 0 || n > SIZE_MAX)
      return usage_error("--max-list-size wants bytes with an optional k/M/G suffix, not '%s'",
                         arg);
    o->max_memory_body = (size_t)n;
    return 1;
  }
  case OPT_PER_HOST:
    if (parse_uint(arg, 1, 100000, &o->per_host) < 0)
      return usage_error("--per-host wants a number from 1 to 100000, not '%s'", arg);
    return 1;
  case OPT_RATE: {
    char *end;
    o->rate = strtod(arg, &end);
    if (end == arg || *end || !(o->rate > 0) || o->rate > 1e6)
      return usage_error("--rate wants requests per second above 0, not '%s'", arg);
    return 1;
  }
  case OPT_USER_AGENT:
    if (arg[strcspn(arg, "\r\n")]) /* it would end the header there and start another */
      return usage_error("--user-agent wants one line, not '%s'", arg);
    o->user_agent = arg;
    return 1;
  case 'H':
    if (looks_like_url(arg)) /* "Referer: http://..." is fine: the name comes first */
      return refuse_url("--header", "'Name: value'", arg);
    if (!valid_header(arg)) return usage_error("--header wants 'Name: value', not '%s'", arg);
    if (cfg->header_count == LF_CLI_MAX_HEADERS)
      return usage_error("too many --header options (at most 64)%s", "");
    cfg->headers[cfg->header_count++] = arg;
    return 1;
  case OPT_CACERT:
    if (looks_like_url(arg)) return refuse_url("--cacert", "a file", arg);
    o->cacert = arg;
    return 1;
  default:
    return 0;
  }
}

/* --warc-*: the archive (README, "Archiving (WARC)"). */
static int parse_warc_option(int c, const char *arg, lf_cli_t *cfg) {
  lf_warc_options_t *w = &cfg->warc;
  switch (c) {
  case OPT_WARC_FILE:
    if (!*arg) return usage_error("empty --warc-file name%s", "");
    if (looks_like_url(arg)) return refuse_url("--warc-file", "a file name", arg);
    if (arg[strlen(arg) - 1] == '/')
      return usage_error("--warc-file wants a file name (NAME gives NAME.warc.gz), not the "
                         "folder '%s'",
                         arg);
    w->name = arg;
    return 1;
  case OPT_NO_WARC_COMPRESSION:
    w->flags |= LF_WARC_NO_COMPRESSION;
    break;
  case OPT_WARC_MAX_SIZE:
    if (parse_size(arg, &w->max_size) < 0)
      return usage_error("--warc-max-size wants bytes with an optional k/M/G suffix, not '%s'",
                         arg);
    break;
  case OPT_WARC_CDX:
    w->flags |= LF_WARC_CDX;
    break;
  case OPT_WARC_DEDUP:
    w->flags &= ~LF_WARC_NO_DEDUP;
    break;
  case OPT_NO_WARC_DEDUP:
    w->flags |= LF_WARC_NO_DEDUP;
    break;
  default:
    return 0;
  }
  cfg->warc_option_given = 1;
  return 1;
}

/* Values that may hold secrets: header values, credentials. The warcinfo record keeps the
 * command line without them (a WARC file is shared; a password must not travel with it). */
static int secret_value_option(const char *opt) {
  static const char *const secret[] = {"-H",      "--header",     "-u",
                                       "--user",  "--proxy-user", "--password",
                                       "--proxy", "--netrc-file", NULL};
  for (int i = 0; secret[i]; i++) {
    size_t n = strlen(secret[i]);
    if (strncmp(opt, secret[i], n) == 0 && (opt[n] == '\0' || opt[n] == '=')) return 1;
  }
  return 0;
}

/* "command-line: loopfetch ARGS", for the warcinfo record: secrets shown as ***, a URL's
 * userinfo as ***@, control characters escaped (lf__display). */
/* The short options; a letter before ':' takes a value. */
static const char shortopts[] = ":i:o:qvc:H:p:e:u:f:s:hVC";

/* A word of short options ("-uNAME:PASS", "-qHName:value", "-vu" NAME): 1 if a secret one (-H,
 * -u) is in it, with *at where its value starts in the word (the word's end: the value is the
 * next word). getopt reads such words so, and the value must not be shown. */
static int short_secret(const char *w, size_t *at) {
  if (w[0] != '-' || w[1] == '-' || !w[1]) return 0;
  for (size_t i = 1; w[i]; i++) {
    const char *o = strchr(shortopts + 1, w[i]);
    if (!o || w[i] == ':' || o[1] != ':') continue; /* a flag: the next letter is an option */
    *at = i + 1;
    return w[i] == 'H' || w[i] == 'u'; /* the rest of the word is this option's value */
  }
  return 0;
}

static char *warc_command_line(int argc, char **argv) {
  size_t cap = 64, len = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  len = (size_t)snprintf(out, cap, "command-line: loopfetch");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char *shown = NULL;
    const char *eq = a[0] == '-' ? strchr(a, '=') : NULL;
    size_t at = 0, prev_at = 0;
    int prev_short = i > 1 && short_secret(argv[i - 1], &prev_at) && !argv[i - 1][prev_at];
    if (i > 1 && ((secret_value_option(argv[i - 1]) && !strchr(argv[i - 1], '=')) || prev_short)) {
      shown = strdup("***");
    } else if (short_secret(a, &at) && a[at]) {
      if ((shown = malloc(at + 4))) {
        memcpy(shown, a, at);
        memcpy(shown + at, "***", 4);
      }
    } else if (eq && secret_value_option(a)) {
      if ((shown = malloc((size_t)(eq - a) + 5))) {
        memcpy(shown, a, (size_t)(eq - a));
        memcpy(shown + (eq - a), "=***", 5);
      }
    } else {
      shown = lf__display(a, strstr(a, "://") != NULL);
    }
    if (!shown) {
      free(out);
      return NULL;
    }
    size_t n = strlen(shown);
    if (len + n + 2 > cap) {
      while (len + n + 2 > cap)
        cap *= 2;
      char *grown = realloc(out, cap);
      if (!grown) {
        free(shown);
        free(out);
        return NULL;
      }
      out = grown;
    }
    out[len++] = ' ';
    memcpy(out + len, shown, n + 1);
    len += n;
    free(shown);
  }
  return out;
}

/* A proxy URL libcurl can use: no scheme (http), or one of the proxy schemes it knows. The
 * value may hold a password, so a message shows only the scheme. */
static int check_proxy(const char *arg) {
  static const char *const schemes[] = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"};
  const char *sep = strstr(arg, "://");
  if (!sep) return 0; /* host:port is http; "" turns the environment's proxy off */
  size_t n = (size_t)(sep - arg);
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
    if (strlen(schemes[i]) == n && strncasecmp(arg, schemes[i], n) == 0) return 0;
  char scheme[32];
  snprintf(scheme, sizeof(scheme), "%.*s", n < 24 ? (int)n : 24, arg);
  return usage_error("--proxy wants an http, https, socks4, socks4a, socks5 or socks5h URL, not "
                     "a '%s' one",
                     scheme);
}

/* Proxies, credentials and what follows a redirect. 1 if c was one of them, -1 on a bad value. */
static int parse_http_option(int c, const char *arg, lf_cli_t *cfg) {
  lf_http_options_t *h = &cfg->http;
  switch (c) {
  case OPT_PROXY:
    if (check_proxy(arg) < 0) return -1;
    h->proxy = arg;
    return 1;
  case OPT_NOPROXY:
    h->noproxy = arg;
    return 1;
  case OPT_PROXY_USER:
    h->proxy_userpwd = arg;
    return 1;
  case 'u':
    if (!*arg || *arg == ':') return usage_error("--user wants NAME or NAME:PASSWORD%s", "");
    if (looks_like_url(arg)) return refuse_url("--user", "NAME[:PASSWORD]", arg);
    cfg->user = arg;
    return 1;
  case OPT_NETRC:
    cfg->netrc = 1;
    return 1;
  case OPT_NETRC_FILE:
    if (looks_like_url(arg)) return refuse_url("--netrc-file", "a file", arg);
    cfg->netrc = 1;
    h->netrc_file = arg;
    return 1;
  case OPT_LOCATION_TRUSTED:
    h->flags |= LF_HTTP_LOCATION_TRUSTED;
    return 1;
  case OPT_ALLOW_INSECURE_REDIRECT:
    h->flags |= LF_HTTP_ALLOW_INSECURE_REDIRECT;
    return 1;
  case OPT_COOKIE: /* a file, not curl's -b 'NAME=VALUE' (that is -H 'Cookie: NAME=VALUE') */
    if (!*arg || looks_like_url(arg)) return refuse_url("--cookie", "a cookie file", arg);
    h->cookie_file = arg;
    return 1;
  case OPT_LIMIT_RATE:
    if (parse_size(arg, &h->limit_rate) < 0)
      return usage_error("--limit-rate wants bytes per second with an optional k/M/G suffix "
                         "(2M is 2 MiB/s), not '%s'",
                         arg);
    return 1;
  case OPT_COOKIE_JAR:
    if (!*arg || looks_like_url(arg)) return refuse_url("--cookie-jar", "a file", arg);
    h->cookie_jar = arg;
    return 1;
  default:
    return 0;
  }
}

static long online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

/* Options about what to fetch, where to put it and how to show it. */
static int parse_job_option(int c, const char *arg, lf_cli_t *cfg) {
  switch (c) {
  case 'e':
    if (cfg->field_count == LF_CLI_MAX_FIELDS)
      return usage_error("too many -e/--extract options (at most 256)%s", "");
    cfg->fields[cfg->field_count++] = arg;
    return 1;
  case OPT_EACH:
    cfg->each = arg;
    return 1;
  case OPT_RECORDS:
  case OPT_CSV:
    if (!*arg)
      return usage_error("%s wants a file name or '-'", c == OPT_CSV ? "--csv" : "--records");
    if (looks_like_url(arg)) return refuse_url(c == OPT_CSV ? "--csv" : "--records", "a file", arg);
    *(c == OPT_CSV ? &cfg->csv : &cfg->records) = arg;
    return 1;
  case OPT_SAVE:
    cfg->save = 1;
    return 1;
  case OPT_SELECT:
  case 'f':
    if (looks_like_url(arg))
      return refuse_url(c == 'f' ? "--follow" : "--select", "a CSS selector", arg);
    if (cfg->level_count == LF_CLI_MAX_LEVELS)
      return usage_error("too many levels (-f, --select): at most %d", "15");
    if (cfg->level_count == 1) cfg->selector = arg;
    cfg->levels[cfg->level_count].option = c == 'f' ? "--follow" : "--select";
    cfg->levels[cfg->level_count++].follow = arg;
    cfg->select_given = 1;
    return 1;
  case OPT_NEXT: {
    lf_cli_level_t *l = &cfg->levels[cfg->level_count - 1];
    if (looks_like_url(arg)) return refuse_url("--next", "a CSS selector", arg);
    if (l->next) return usage_error("--next given twice for one level: '%s'", arg);
    l->next = arg;
    return 1;
  }
  case OPT_MAX_PAGES:
    if (parse_uint(arg, 1, 100000000, &cfg->max_pages) < 0)
      return usage_error("--max-pages wants a number from 1 to 100000000, not '%s'", arg);
    return 1;
  case OPT_MAX_URLS: {
    unsigned u;
    if (parse_uint(arg, 1, 4000000000UL, &u) < 0)
      return usage_error("--max-urls wants a number from 1 to 4000000000, not '%s'", arg);
    cfg->max_urls = u;
    return 1;
  }
  case OPT_SAVE_ALL:
    cfg->save_all = 1;
    return 1;
  case 'i':
    if (looks_like_url(arg)) return refuse_url("--input", "a file of URLs", arg);
    cfg->input = arg;
    return 1;
  case OPT_LINKS:
    cfg->links_only = 1;
    return 1;
  case 'o':
    if (!*arg) return usage_error("empty output folder name%s", "");
    if (looks_like_url(arg)) return refuse_url("--output-dir", "a folder", arg);
    cfg->out_dir = arg;
    cfg->out_dir_given = 1;
    return 1;
  case OPT_MANIFEST:
    if (looks_like_url(arg)) return refuse_url("--manifest", "a file", arg);
    cfg->manifest = arg;
    return 1;
  case OPT_FORCE:
    cfg->force = 1;
    return 1;
  case OPT_NO_CLOBBER:
    cfg->no_clobber = 1;
    return 1;
  case OPT_REFRESH:
    cfg->refresh = 1;
    return 1;
  case 'C':
    cfg->resume = 1;
    return 1;
  case OPT_CONTENT_DISPOSITION:
    cfg->content_disposition = 1;
    return 1;
  case 'v':
    cfg->verbose = 1;
    return 1;
  case 'q':
    cfg->quiet = 1;
    return 1;
  case OPT_PROGRESS:
    cfg->progress = 1;
    return 1;
  case OPT_JSON:
    cfg->json = 1;
    return 1;
  case OPT_TRACE:
    cfg->trace = arg;
    return 1;
  case OPT_WATERFALL:
    cfg->waterfall = arg;
    return 1;
  case 'p':
    if (parse_uint(arg, 0, 1024, &cfg->procs) < 0)
      return usage_error("--procs wants a number from 0 to 1024, not '%s'", arg);
    if (cfg->procs == 0) cfg->procs = (unsigned)online_cpus();
    if (cfg->mode == LF_MODE_LOOP) cfg->mode = LF_MODE_PROCS;
    return 1;
  case OPT_SHARD:
    if (lf__shard_parse(arg, &cfg->shard_k, &cfg->shard_n) < 0)
      return usage_error("--shard wants K/N with 1 <= K <= N, like 2/4, not '%s'", arg);
    return 1;
  case OPT_LAYOUT:
    if ((cfg->layout = lf__layout_parse(arg)) < 0)
      return usage_error("--layout wants flat, hash or host, not '%s'", arg);
    return 1;
  case OPT_COMPARE:
    cfg->mode = LF_MODE_COMPARE;
    return 1;
  case OPT_WAIT: {
    char *end;
    cfg->wait = strtod(arg, &end);
    if (end == arg || *end || !(cfg->wait >= 0) || cfg->wait > 86400)
      return usage_error("--wait wants seconds from 0 to 86400 (fractions too), not '%s'", arg);
    return 1;
  }
  case OPT_RANDOM_WAIT:
    cfg->random_wait = 1;
    return 1;
  case OPT_ROBOTS:
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
      return usage_error("--robots wants on or off, not '%s'", arg);
    cfg->robots = strcmp(arg, "on") == 0;
    return 1;
  case OPT_SITEMAP:
    if (strcmp(arg, "robots") != 0 && strncasecmp(arg, "http://", 7) != 0 &&
        strncasecmp(arg, "https://", 8) != 0)
      return usage_error("--sitemap wants an http:// or https:// URL or 'robots', not '%s'", arg);
    if (cfg->sitemap_count == LF_CLI_MAX_SITEMAPS)
      return usage_error("--sitemap: at most 64 of them (an index lists more)%s", "");
    cfg->sitemaps[cfg->sitemap_count++] = arg;
    return 1;
  case OPT_MAX_CRAWL_DELAY: {
    char *end;
    cfg->max_crawl_delay = strtod(arg, &end);
    if (end == arg || *end || !(cfg->max_crawl_delay >= 0) || cfg->max_crawl_delay > 86400)
      return usage_error("--max-crawl-delay wants seconds from 0 to 86400, not '%s'", arg);
    return 1;
  }
  case OPT_WORKER:
    cfg->mode = LF_MODE_WORKER;
    return 1;
  case OPT_RECORD_DEPTH:
    if (parse_uint(arg, 0, LF_CLI_MAX_LEVELS, &cfg->record_depth) < 0)
      return usage_error("--record-depth wants a level, not '%s'", arg);
    return 1;
  case OPT_EPOCH:
    cfg->epoch_ns = strtoull(arg, NULL, 10);
    return 1;
  default:
    return 0;
  }
}

/* The archive's name for this process: NAME, or NAME-K-of-N for --shard K/N, so that shards
 * writing into one folder never share a file. */
static int check_warc(lf_cli_t *cfg) {
  lf_warc_options_t *w = &cfg->warc;
  if (!w->name) {
    if (cfg->warc_option_given)
      return usage_error("--no-warc-compression, --warc-max-size, --warc-cdx and "
                         "--[no-]warc-dedup need --warc-file NAME%s",
                         "");
    return 0;
  }
  if (cfg->mode == LF_MODE_COMPARE) /* three runs of one job: which would the archive be? */
    return usage_error("--warc-file and --compare do not go together%s", "");
  if (cfg->links_only) return 0; /* --links writes nothing */
  static char name[4200];
  if (cfg->shard_n) {
    snprintf(name, sizeof(name), "%s-%u-of-%u", w->name, cfg->shard_k, cfg->shard_n);
    w->name = name;
  }
  static char *cmdline;
  if (!cmdline) cmdline = warc_command_line(cfg->argc, cfg->argv);
  if (!cmdline) return usage_error("out of memory%s", "");
  cfg->warc_info[0] = cmdline;
  cfg->warc_info[1] = NULL;
  w->info = cfg->warc_info;
  cfg->fetch.warc = w;
  return 0;
}

/* -e, --each, --records, --csv, --save: every field compiled now, so a malformed one is
 * refused before the first request with its position (exit 2). */
static int check_extraction(lf_cli_t *cfg) {
  if (!cfg->field_count) {
    const char *lone = cfg->each      ? "--each"
                       : cfg->records ? "--records"
                       : cfg->csv     ? "--csv"
                       : cfg->save    ? "--save"
                                      : NULL;
    return lone ? usage_error("%s goes with -e/--extract NAME=SEL", lone) : 0;
  }
  char err[320], msg[600];
  lf_extract_t *x = NULL;
  const char *bad = NULL, *opt = "--each";
  if (lf_extract_new(cfg->each, &x, err, sizeof(err)) != 0) bad = cfg->each;
  for (size_t i = 0; !bad && i < cfg->field_count; i++)
    if (lf_extract_add(x, cfg->fields[i], err, sizeof(err)) != 0) {
      bad = cfg->fields[i];
      opt = "-e";
    }
  lf_extract_free(x);
  if (bad) { /* the spec as typed, but a control character in it shown as \xNN: one line */
    char *shown = lf__display(bad, 0);
    snprintf(msg, sizeof(msg), "%s '%.200s': %s", opt, shown ? shown : "?", err);
    free(shown);
    return usage_error("%s", msg);
  }
  if (cfg->links_only)
    return usage_error("--links prints links; -e extracts records: not both%s", "");
  if (cfg->shard_n)
    return usage_error("-e/--extract: not with --shard yet (one loop, -p or --compare)%s", "");
  if (cfg->mode == LF_MODE_COMPARE && (cfg->records || cfg->csv))
    return usage_error("-e with --compare writes each run's records to DIR/MODE/records.jsonl: "
                       "leave out --records and --csv%s",
                       "");
  if (cfg->mode == LF_MODE_COMPARE) return 0; /* each run checks the rest */
  if (!cfg->records && !cfg->csv) cfg->records = "-";
  /* -p: each worker appends its pages' records to the files; stdout is the parent's */
  if (cfg->mode == LF_MODE_PROCS && ((cfg->records && strcmp(cfg->records, "-") == 0) ||
                                     (cfg->csv && strcmp(cfg->csv, "-") == 0)))
    return usage_error("-e with -p: give --records or --csv a file (each worker appends its "
                       "pages' records to it), not stdout%s",
                       "");
  int json_out = cfg->records && strcmp(cfg->records, "-") == 0,
      csv_out = cfg->csv && strcmp(cfg->csv, "-") == 0;
  if (json_out && csv_out) return usage_error("--records - and --csv - both on stdout%s", "");
  if (cfg->json && (json_out || csv_out))
    return usage_error("--json takes stdout: give --records or --csv a file%s", "");
  cfg->save = cfg->save || cfg->out_dir_given;
  return 0;
}

/* The crawl's own rules (issue 21): which combinations are not made right yet are refused with
 * one line, before anything is fetched. */
static int check_crawl(const lf_cli_t *cfg) {
  int crawl = cfg->level_count > 2 || cfg->levels[0].next || cfg->levels[1].next ||
              (cfg->level_count == 2 && !cfg->list_count);
  if (!crawl || cfg->mode == LF_MODE_WORKER) return 0; /* a worker is told its levels */
  if (cfg->shard_n)
    return usage_error("--shard splits the pages of a one-level job; a crawl (-f on -i, more "
                       "than one -f, or --next) is not sharded: run it as one job (with -p)%s",
                       "");
  if (cfg->level_count > 2 && cfg->list_count && cfg->input)
    return usage_error("with more than one -f, give the start pages as LIST_URLs or as -i, not "
                       "both%s",
                       "");
  return 0;
}

static int check_combination(lf_cli_t *cfg) {
  for (size_t i = 0; i < cfg->sitemap_count; i++)
    if (strcmp(cfg->sitemaps[i], "robots") == 0 && !cfg->list_url_given && !cfg->input)
      return usage_error("--sitemap robots reads the robots.txt of the sites of the LIST_URLs "
                         "and -i's URLs%s",
                         ": give one or the other");
  if (check_crawl(cfg) < 0) return -1;
  if (cfg->mode == LF_MODE_COMPARE && cfg->input && strcmp(cfg->input, "-") == 0)
    return usage_error("--compare runs the job three times: give -i a file, not stdin%s", "");
  if (cfg->mode == LF_MODE_COMPARE && cfg->links_only)
    return usage_error("--compare and --links do not go together%s", "");
  /* A server's name is unique only within the process that claims it (the -p parent names
   * before the replies come). */
  if (cfg->content_disposition && (cfg->mode == LF_MODE_PROCS || cfg->mode == LF_MODE_COMPARE))
    return usage_error("--content-disposition works in one loop: not with -p or --compare%s", "");
  /* Pacing lives in one loop's queue: with -p a paced host's pages all go to one worker
   * (procs.h); --compare's runs would time the waits. */
  if (cfg->wait > 0 && cfg->mode == LF_MODE_COMPARE)
    return usage_error("--wait and --compare do not go together: the runs would time the "
                       "waits%s",
                       "");
  if (cfg->random_wait && !(cfg->wait > 0))
    return usage_error("--random-wait varies --wait: give --wait S too%s", "");
  if (cfg->force && cfg->no_clobber) /* replace, or never replace: one of them */
    return usage_error("--force and --no-clobber do not go together%s", "");
  if (cfg->refresh && cfg->mode == LF_MODE_COMPARE) /* its runs always fetch everything */
    return usage_error("--refresh and --compare do not go together%s", "");
  if (cfg->procs == 0 && cfg->mode == LF_MODE_COMPARE) cfg->procs = (unsigned)online_cpus();
  int rc = check_warc(cfg);
  return rc ? rc : check_extraction(cfg);
}

/* Names the option getopt stopped at: for a short one the letter itself, so "-nc" (wget's
 * no-clobber) is "unknown option '-n'" and "-qz" is "'-z'", not the whole word or argv[0]. */
static int option_error(int c, int argc, char **argv) {
  char name[3] = {'-', (char)optopt, '\0'};
  const char *word = optind - 1 < argc ? argv[optind - 1] : "";
  /* For a short option inside a cluster, optind still points at the cluster's word. */
  if (optopt && strncmp(word, "--", 2) != 0) {
    if (optind < argc && argv[optind][0] == '-' && argv[optind][1] != '-' &&
        strchr(argv[optind], optopt))
      word = argv[optind];
    if (c == ':') return usage_error("option '%s' needs a value", name);
    if (strlen(word) > 2) {
      char msg[300];
      snprintf(msg, sizeof(msg), "unknown option '%s' (in '%.200s')", name, word);
      return usage_error("%s", msg);
    }
    return usage_error("unknown option '%s'", name);
  }
  if (c == ':') return usage_error("option '%s' needs a value", word);
  return usage_error("unknown option '%s'", word);
}

int lf__cli_parse(int argc, char **argv, lf_cli_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->list_url = LF_DEFAULT_LIST_URL;
  cfg->selector = LF_DEFAULT_SELECTOR;
  cfg->level_count = 1; /* the start pages */
  cfg->max_pages = LF_CLI_MAX_PAGES;
  cfg->out_dir = LF_DEFAULT_OUT_DIR;
  cfg->robots = 1;
  cfg->max_crawl_delay = 10;
  cfg->argc = argc;
  cfg->argv = argv;
  lf_options_init(&cfg->fetch);
  /* The list page is parsed whole in memory, and gumbo's tree takes about 13 times the page
   * (bench/RESULTS.md, "List page memory"): 32 MB is ~15 times the largest Wikipedia article
   * and keeps the parse near 420 MB. */
  cfg->fetch.max_memory_body = LF_CLI_MAX_LIST_SIZE;
  static const char *const hidden[] = {"worker", "epoch", "record-depth", NULL};
  char msg[768];
  if (lf__longopt_check(argc, argv, shortopts, long_options, hidden, msg, sizeof(msg)) < 0)
    return usage_error("%s", msg);
  int c;
  opterr = 0; /* we print our own one-line errors */
  while ((c = getopt_long(argc, argv, shortopts, long_options, NULL)) != -1) {
    int rc = parse_transfer_option(c, optarg, cfg);
    if (rc == 0) rc = parse_http_option(c, optarg, cfg);
    if (rc == 0) rc = parse_job_option(c, optarg, cfg);
    if (rc == 0) rc = parse_warc_option(c, optarg, cfg);
    if (rc < 0) return -1;
    if (rc > 0) continue;
    switch (c) {
    case 'h':
      fputs(usage_text, stdout);
      return 1;
    case 'V':
      lf__print_version();
      return 1;
    default:
      return option_error(c, argc, argv);
    }
  }
  if (optind < argc) { /* every further argument is a list page */
    cfg->list_urls = (const char *const *)argv + optind;
    cfg->list_count = (size_t)(argc - optind);
    cfg->list_url = argv[optind];
    cfg->list_url_given = 1;
  } else if (!cfg->input && !cfg->sitemap_count) { /* sitemaps alone: only their pages */
    static const char *const default_list[] = {LF_DEFAULT_LIST_URL};
    cfg->list_urls = default_list;
    cfg->list_count = 1;
  }
  /* No -f (or --select): the LIST_URLs' links are the pages, as always; -i alone names pages. */
  if (cfg->level_count == 1 && cfg->list_count && !cfg->field_count) { /* -e: they are the pages */
    cfg->levels[cfg->level_count].option = "--select";
    cfg->levels[cfg->level_count++].follow = cfg->selector;
  }
  cfg->headers[cfg->header_count] = NULL;
  cfg->fetch.headers = cfg->headers;
  cfg->fetch.http = &cfg->http;
  if (check_combination(cfg) < 0) return -1;
  return lf__secrets_resolve(cfg);
}

/* A descriptor 0, 1 or 2 that is closed (`<&-`, `>&-`, `2>&-`) would be handed out by the
 * next open: the loop's own descriptors or the manifest would become "stdin" or "stdout",
 * printing into them, and libuv asserts it never closes 0-2. They point at /dev/null first. */
static int fill_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY); /* the lowest free: fd itself */
    if (got != fd) return -1;
  }
  return 0;
}

/* --json promises one object whatever happens, also when the command line itself is wrong:
 * so it is looked for before (and whatever) getopt makes of the rest. */
static int wants_json(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--json") == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (fill_std_fds() < 0) return LF_EXIT_LOCAL; /* no /dev/null: nowhere to say it, either */
  /* Writes to a pipe whose reader died must fail with EPIPE, not kill us (workers, --json). */
  signal(SIGPIPE, SIG_IGN);
  /* Body buffers (at most a 64 KiB flush plus one write callback: 80 KiB) come and go by the
   * thousand. Below this fixed threshold they come from the heap, where the next one reuses a
   * freed one: mmap'd, each cost an mmap, a munmap and 20 page faults (a third of workload A's
   * page faults). Larger blocks (the list page's body, the parse arena) still go straight back
   * to the kernel, and a fixed threshold keeps glibc from sliding it up to 32 MiB. The job
   * hands free heap pages back itself (malloc_trim in job.c), so they do not pile up in the
   * peak (bench/RESULTS.md). */
  int set = mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  (void)set; /* 0 only on a value glibc rejects; 128 KiB is within its range */
  if (argc > 1 && strcmp(argv[1], "status") == 0) return lf__status_main(argc - 1, argv + 1);
  lf_cli_t cfg;
  int rc = lf__cli_parse(argc, argv, &cfg);
  if (rc != 0) {
    if (rc < 0 && wants_json(argc, argv)) lf__report_json_stopped(LF_EXIT_USAGE);
    return rc > 0 ? LF_EXIT_OK : LF_EXIT_USAGE;
  }
  if ((rc = lf__precheck(&cfg)) != 0) {
    if (cfg.json) lf__report_json_stopped(rc);
    return rc;
  }
  if (cfg.mode == LF_MODE_COMPARE) return lf__compare_run(&cfg);
  return lf__job_run(&cfg);
}
