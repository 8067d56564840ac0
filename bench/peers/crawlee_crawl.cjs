// bench/bench_crawl.py's crawl with Crawlee's CheerioCrawler (npm `crawlee`, installed by the
// bench into .deps/crawlee): fetch the list page, follow `td .flagicon + a`, extract the five
// fields of bench_extract.c / bench_crawl.py's FIELDS from every article, one JSON Lines record
// per article.
//
//     NODE_PATH=.deps/crawlee/node_modules node crawlee_crawl.cjs LIST_URL OUT.jsonl [PIN]
//
// The crawler as a user would set it up for this job: maxConcurrency 256 (Scrapy's
// CONCURRENT_REQUESTS), no retries (Scrapy's RETRY_ENABLED=False), robots.txt not read (the
// default), storage in memory (nothing written but the records). Its autoscaled pool is left at
// its defaults: HttpCrawler starts it at desiredConcurrency 10, it moves 5 % every 10 s, and it
// starts no task beyond minConcurrency (1) while the machine's CPU (os.cpus(), every process's
// time, not only its own) is over 95 % busy. PIN, when given, pins the pool there
// (minConcurrency and desiredConcurrency PIN: 256 is Scrapy's 256 requests at once).
//
// The text rule is loopfetch's (README, "Crawling and extracting"), walked over cheerio's DOM:
// descendant text in document order, a space for <br> and at both edges of block elements,
// script/style/template/noscript left out, runs of space/tab/CR/LF/FF collapsed, trimmed. The
// tree differs: Crawlee parses with htmlparser2, not an HTML5 tree builder, so markup an HTML5
// parser would rearrange (a <p> closed by a block inside it, a <table> without <tbody>,
// misnested tags) gives another tree; on this site's pages the values come out the same.
'use strict';
const fs = require('node:fs');
const { CheerioCrawler, Configuration } = require('crawlee');

const [listUrl, outPath, pinArg] = process.argv.slice(2);
if (!listUrl || !outPath) {
    console.error('usage: crawlee_crawl.cjs LIST_URL OUT.jsonl [PIN_CONCURRENCY]');
    process.exit(2);
}

const BLOCK = new Set(('address article aside blockquote caption dd details div dl dt fieldset ' +
    'figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section ' +
    'summary table tbody td tfoot th thead tr ul').split(' '));
const SKIP = new Set(['script', 'style', 'template', 'noscript']);

function textOf(node) {
    const parts = [];
    (function walk(n) {
        if (n.type === 'text') {
            parts.push(n.data);
            return;
        }
        if (n.type !== 'tag' && n.type !== 'root') return; // comments, script/style nodes
        const name = n.name;
        if (name === 'br') {
            parts.push(' ');
            return;
        }
        if (SKIP.has(name)) return;
        const block = BLOCK.has(name);
        if (block) parts.push(' ');
        for (const c of n.children || []) walk(c);
        if (block) parts.push(' ');
    })(node);
    return parts.join('').replace(/[ \t\r\n\f]+/g, ' ').trim();
}

function firstText($, sel) {
    const m = $(sel).first();
    return m.length ? textOf(m[0]) : null;
}

// SEL::url(ATTR): resolved against the first <base href> (else the page), fragment cut, null
// when not http(s); a first match without the attribute gives null.
function firstUrl($, sel, attr, pageUrl) {
    const m = $(sel).first();
    if (!m.length) return null;
    const v = m.attr(attr);
    if (v === undefined) return null;
    let base = pageUrl;
    const b = $('base[href]').first().attr('href');
    try {
        if (b !== undefined) base = new URL(b, pageUrl).href;
        const u = new URL(v, base);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
        u.hash = '';
        return u.href;
    } catch {
        return null;
    }
}

const out = fs.openSync(outPath, 'w');
let maxRunning = 0; // the most tasks the autoscaled pool ran at once (printed at the end)
const config = new Configuration({ persistStorage: false, purgeOnStart: true });
const crawler = new CheerioCrawler({
    maxConcurrency: 256,
    ...(pinArg ? {
        minConcurrency: Number(pinArg),
        autoscaledPoolOptions: { desiredConcurrency: Number(pinArg) },
    } : {}),
    maxRequestRetries: 0,
    respectRobotsTxtFile: false,
    async requestHandler({ request, $, enqueueLinks }) {
        const pool = crawler.autoscaledPool;
        if (pool && pool.currentConcurrency > maxRunning) maxRunning = pool.currentConcurrency;
        if (request.label !== 'item') {
            await enqueueLinks({ selector: 'td .flagicon + a', label: 'item' });
            return;
        }
        const sections = [];
        $('h2 .mw-headline').each((_, el) => {
            const id = $(el).attr('id');
            if (id !== undefined) sections.push(id);
        });
        const rec = {
            url: request.url,
            name: firstText($, 'h1'),
            title: firstText($, 'title'),
            first_para: firstText($, '#mw-content-text p'),
            sections,
            first_link: firstUrl($, '#mw-content-text p a', 'href', request.loadedUrl || request.url),
        };
        fs.writeSync(out, JSON.stringify(rec) + '\n');
    },
    failedRequestHandler({ request }, err) {
        console.error(`failed: ${request.url}: ${err.message}`);
        process.exitCode = 1;
    },
}, config);

crawler.run([listUrl]).then((stats) => {
    fs.closeSync(out);
    console.error(`crawlee_crawl: at most ${maxRunning} requests ran at once`);
    if (stats.requestsFailed > 0) process.exitCode = 1;
}, (err) => {
    console.error(err);
    process.exit(1);
});
