"""Peer: asyncio + aiohttp, one ClientSession, an asyncio.Semaphore(-n) around each request
(the connector's own limit is raised to the same number: its default of 100 would otherwise
cap the semaphore). Bodies are written with plain blocking file I/O, as in the articles."""

import asyncio
import ssl
import sys

import aiohttp

import common


async def run(args):
    ctx = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    conn = aiohttp.TCPConnector(limit=args.workers, ssl=ctx if ctx else None)
    sem = asyncio.Semaphore(args.workers)
    failures = []
    async with aiohttp.ClientSession(connector=conn) as s:
        if args.list:
            async with s.get(args.list) as r:
                r.raise_for_status()
                body = await r.read()
                urls = common.links_from_html(body, str(r.url), args.select)
        else:
            urls = common.read_list(args.input)

        async def one(url):
            async with sem:
                try:
                    async with s.get(url) as r:
                        r.raise_for_status()
                        body = await r.read()
                    common.save(args.out, url, body)
                except Exception as e:  # noqa: BLE001
                    failures.append((url, e))

        await asyncio.gather(*(one(u) for u in urls))
    return urls, failures


def main():
    args = common.parse_args(__doc__, workers=100)
    urls, failures = asyncio.run(run(args))
    return common.finish(urls, failures)


if __name__ == "__main__":
    sys.exit(main())
