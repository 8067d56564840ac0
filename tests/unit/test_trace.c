/* The trace writers on synthetic records: the JSON parses and has the expected events, lanes in
 * a process never overlap, phases tile their transfer, awkward bytes survive escaping, and the
 * SVG is well-formed XML with one bar per transfer. Python's json and xml.etree do the parsing
 * (skipped when python3 is missing). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>
#include "trace.h"
#include "test.h"

static char dir[] = "/tmp/lf-trace-XXXXXX";

static const char checker[] =
    "import json, sys, xml.etree.ElementTree as ET\n"
    "js, svg, self_pid, nbars = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])\n"
    "doc = json.load(open(js, encoding='utf-8'))\n"
    "assert doc['displayTimeUnit'] == 'ms'\n"
    "ev = doc['traceEvents']\n"
    "names = {e['pid']: e['args']['name'] for e in ev if e['name'] == 'process_name'}\n"
    "assert names[self_pid] == 'loopfetch', names\n"
    "assert names[4242] == 'worker 1' and names[5151] == 'worker 2', names\n"
    "xs = [e for e in ev if e['ph'] == 'X' and e['cat'] == 'transfer']\n"
    "assert len(xs) == nbars, len(xs)\n"
    "lanes = {}\n"
    "for e in xs:\n"
    "    assert e['tid'] >= 1 and e['dur'] >= 0\n"
    "    lanes.setdefault((e['pid'], e['tid']), []).append(e)\n"
    "for k, es in lanes.items():\n"
    "    es.sort(key=lambda e: e['ts'])\n"
    "    for a, b in zip(es, es[1:]):\n"
    "        assert a['ts'] + a['dur'] <= b['ts'], ('lanes overlap', k)\n"
    "by_name = {e['name']: e for e in xs}\n"
    "ph = [e for e in ev if e['ph'] == 'X' and e['cat'] == 'phase']\n"
    "def phases_of(x):\n"
    "    return [p for p in ph if p['pid'] == x['pid'] and p['tid'] == x['tid']\n"
    "            and x['ts'] <= p['ts'] and p['ts'] + p['dur'] <= x['ts'] + x['dur']]\n"
    "for x in xs:\n"
    "    ps = sorted(phases_of(x), key=lambda p: p['ts'])\n"
    "    if ps:\n"
    "        assert ps[0]['ts'] == x['ts'] and ps[-1]['ts'] + ps[-1]['dur'] == x['ts'] + x['dur']\n"
    "        for a, b in zip(ps, ps[1:]):\n"
    "            assert a['ts'] + a['dur'] == b['ts'], 'phases must tile'\n"
    "def seq(name): return [p['name'] for p in sorted(phases_of(by_name[name]), key=lambda p: "
    "p['ts'])]\n"
    "assert seq('tls.html') == ['dns', 'connect', 'tls', 'wait', 'receive', 'write'], "
    "seq('tls.html')\n"
    "assert seq('plain.html') == ['dns', 'connect', 'wait', 'receive', 'write']\n"
    "assert seq('timeout.html') == ['dns', 'connect'], seq('timeout.html')\n"
    "assert seq('reused.html') == ['dns', 'wait', 'receive', 'write'], seq('reused.html')\n"
    "assert seq('tlsfail.html') == ['dns', 'connect', 'tls'], seq('tlsfail.html')\n"
    "t = by_name['timeout.html']\n"
    "assert t['dur'] == 30000000 and t['args']['status'] == 'failed'\n"
    "assert t['args']['error'] == 'Connection timed out after 30000 ms'\n"
    "odd = [x for x in xs if x['args']['url'].startswith('http://h/q')][0]\n"
    "assert odd['args']['url'] == 'http://h/q\"\\\\\\n\\x01\\xff\\u00fc<&>', "
    "repr(odd['args']['url'])\n"
    "assert odd['name'] == odd['args']['url'] and odd['args']['error'] is None\n"
    "p = by_name['tls.html']['args']\n"
    "assert (p['http'], p['bytes'], p['attempts'], p['queued_ms']) == (200, 12345, 2, 500.0)\n"
    "assert any(e['ph'] == 'C' and e['args']['transfers'] == 3 for e in ev)\n"
    "raw = open(svg, encoding='utf-8').read()\n"
    "assert raw.startswith('<svg') and raw.endswith('</svg>\\n')\n"
    "root = ET.fromstring(raw)\n"
    "assert root.tag == '{http://www.w3.org/2000/svg}svg'\n"
    "bars = [g for g in root.iter('{http://www.w3.org/2000/svg}g') if g.get('class') == 'bar']\n"
    "assert len(bars) == nbars, len(bars)\n"
    "reds = [b for b in bars if any(r.get('fill') == '#e15759' for r in b)]\n"
    "assert len(reds) == 2, len(reds)\n"
    "assert 'Title &' in ''.join(root.itertext())\n"
    "print('python checks ok')\n";

static const char big_checker[] =
    "import sys, xml.etree.ElementTree as ET\n"
    "root = ET.parse(sys.argv[1]).getroot()\n"
    "bars = [g for g in root.iter('{http://www.w3.org/2000/svg}g') if g.get('class') == 'bar']\n"
    "assert len(bars) == int(sys.argv[2]), len(bars)\n"
    "assert float(root.get('height')) <= 1250, root.get('height')\n"
    "print('python big checks ok')\n";

static lf__record_t rec(const char *url, const char *file, int pid, double start, double total) {
  lf__record_t r = {.url = url,
                    .file = file,
                    .status = LF_REC_SAVED,
                    .http_code = 200,
                    .bytes = 1000,
                    .attempts = 1,
                    .pid = pid,
                    .start = start};
  r.timings = (lf_timings_t){.namelookup = 0.001,
                             .connect = 0.002,
                             .starttransfer = total / 2,
                             .total = total,
                             .written = total + 0.001};
  return r;
}

static int python_ok(void) {
  return system("python3 -c 'import json, xml.etree.ElementTree' 2>/dev/null") == 0;
}

static int run_python(const char *script, const char *args) {
  char path[64], cmd[512];
  snprintf(path, sizeof(path), "%s/check.py", dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(script, f);
  if (fclose(f) != 0) return -1;
  snprintf(cmd, sizeof(cmd), "python3 %s %s", path, args);
  return system(cmd);
}

static void test_small(void) {
  lf__trace_t *t;
  CHECK_EQ_INT(lf__trace_new(&t), 0);
  int self = (int)getpid();
  lf__record_t r = rec("https://h/tls", "tls.html", self, 0.5, 0.2);
  r.timings = (lf_timings_t){.queued = 0.5,
                             .namelookup = 0.01,
                             .connect = 0.02,
                             .appconnect = 0.05,
                             .starttransfer = 0.1,
                             .total = 0.2,
                             .written = 0.21};
  r.bytes = 12345;
  r.attempts = 2;
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  r = rec("http://h/plain", "plain.html", self, 0.6, 0.3); /* overlaps tls: lane 2 */
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  r = rec("http://h/third", "third.html", self, 0.65, 0.1); /* lane 3: 3 in flight */
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  r = rec("http://h/after", "after.html", self, 0.8, 0.1); /* tls is done: back to lane 1 */
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  /* Connection timeout: DNS done, connect never reached. */
  r = (lf__record_t){.url = "http://h/timeout",
                     .file = "timeout.html",
                     .status = LF_REC_FAILED,
                     .error = "Connection timed out after 30000 ms",
                     .attempts = 1,
                     .pid = 4242,
                     .start = 1.0,
                     .timings = {.namelookup = 0.004, .total = 30.0}};
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  /* Quote, backslash, newline, a control byte, an invalid byte, valid UTF-8, XML specials. */
  r = rec("http://h/q\"\\\n\x01\xff\xc3\xbc<&>", NULL, 5151, 2.0, 0.1);
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  /* A reused connection: no connect time, yet the transfer went on. */
  r = rec("http://h/reused", "reused.html", self, 3.0, 0.2);
  r.timings.connect = 0;
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  /* HTTPS that failed in the TLS handshake: connected, no appconnect, no first byte. */
  r = (lf__record_t){.url = "https://h/tlsfail",
                     .file = "tlsfail.html",
                     .status = LF_REC_FAILED,
                     .attempts = 1,
                     .pid = self,
                     .start = 4.0,
                     .timings = {.namelookup = 0.01, .connect = 0.02, .total = 5.0}};
  CHECK_EQ_INT(lf__trace_add(t, &r), 0);
  r = (lf__record_t){.url = "http://h/skipped", .file = "skipped.html", .status = LF_REC_SKIPPED};
  CHECK_EQ_INT(lf__trace_add(t, &r), 0); /* counted, not drawn */
  CHECK_EQ_INT(lf__trace_count(t), 9);
  CHECK_EQ_INT(lf__trace_transfers(t), 8);

  char json[64], svg[64], err[256] = "", args[256];
  snprintf(json, sizeof(json), "%s/t.json", dir);
  snprintf(svg, sizeof(svg), "%s/t.svg", dir);
  CHECK_EQ_INT(lf__trace_write_json(t, json, err, sizeof(err)), 0);
  CHECK_EQ_INT(lf__trace_write_svg(t, svg, "Title & <co>", err, sizeof(err)), 0);
  CHECK_EQ_STR(err, "");
  CHECK(lf__trace_write_json(t, "/nonexistent/dir/t.json", err, sizeof(err)) < 0);
  CHECK(strstr(err, "/nonexistent/dir/t.json") != NULL);
  err[0] = '\0';
  CHECK(lf__trace_write_svg(t, "/nonexistent/dir/t.svg", NULL, err, sizeof(err)) < 0);
  CHECK(strstr(err, "cannot write") != NULL);
  if (access("/dev/full", W_OK) == 0) { /* opens fine, every write fails: caught at the end */
    CHECK(lf__trace_write_json(t, "/dev/full", err, sizeof(err)) < 0);
    CHECK(strstr(err, "/dev/full") != NULL);
    CHECK(lf__trace_write_svg(t, "/dev/full", NULL, err, sizeof(err)) < 0);
  }
  if (python_ok()) {
    snprintf(args, sizeof(args), "%s %s %d 8", json, svg, self);
    CHECK_EQ_INT(run_python(checker, args), 0);
  } else {
    printf("python3 missing: JSON and XML parsing checks skipped\n");
  }
  lf__trace_free(t);
}

/* Many rows: the SVG stays within ~1200 px; an empty trace is still valid. */
static void test_big_and_empty(void) {
  lf__trace_t *t;
  CHECK_EQ_INT(lf__trace_new(&t), 0);
  char url[64], svg[64], json[64], err[256] = "", args[128];
  int failures = 0;
  for (int i = 0; i < 2000; i++) {
    snprintf(url, sizeof(url), "http://h/%d", i);
    lf__record_t r = rec(url, NULL, 1, i * 0.01, 0.05 + (i % 7) * 0.01);
    if (i % 97 == 0) r.status = LF_REC_FAILED;
    failures += lf__trace_add(t, &r) != 0; /* the trace copies url */
  }
  CHECK_EQ_INT(failures, 0);
  snprintf(svg, sizeof(svg), "%s/big.svg", dir);
  CHECK_EQ_INT(lf__trace_write_svg(t, svg, "big", err, sizeof(err)), 0);
  if (python_ok()) {
    snprintf(args, sizeof(args), "%s 2000", svg);
    CHECK_EQ_INT(run_python(big_checker, args), 0);
  }
  lf__trace_free(t);

  CHECK_EQ_INT(lf__trace_new(&t), 0);
  snprintf(svg, sizeof(svg), "%s/empty.svg", dir);
  snprintf(json, sizeof(json), "%s/empty.json", dir);
  CHECK_EQ_INT(lf__trace_write_svg(t, svg, NULL, err, sizeof(err)), 0);
  CHECK_EQ_INT(lf__trace_write_json(t, json, err, sizeof(err)), 0);
  if (python_ok()) {
    snprintf(args, sizeof(args), "%s 0", svg);
    CHECK_EQ_INT(run_python(big_checker, args), 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s",
             json);
    CHECK_EQ_INT(system(cmd), 0);
  }
  lf__trace_free(t);
  lf__trace_free(NULL);
}

int main(void) {
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  test_small();
  test_big_and_empty();
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (getenv("LF_KEEP_TRACE"))
    printf("kept %s\n", dir);
  else if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  return lf_test_report();
}
