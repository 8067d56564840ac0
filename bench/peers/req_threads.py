"""Peer: requests in a concurrent.futures.ThreadPoolExecutor (-n workers, 16 or 32 in the
articles). Each thread keeps its own requests.Session (a Session is not thread-safe), so
connections are reused within a thread."""

import concurrent.futures
import sys
import threading

import requests

import common

_local = threading.local()


def session():
    s = getattr(_local, "s", None)
    if s is None:
        s = _local.s = requests.Session()
    return s


def main():
    args = common.parse_args(__doc__, workers=16)
    verify = args.cacert or True
    if args.list:
        r = session().get(args.list, verify=verify)
        r.raise_for_status()
        urls = common.links_from_html(r.content, r.url, args.select)
    else:
        urls = common.read_list(args.input)

    def fetch(url):
        try:
            r = session().get(url, verify=verify)
            r.raise_for_status()
            common.save(args.out, url, r.content)
            return None
        except Exception as e:  # noqa: BLE001
            return (url, e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        failures = [f for f in pool.map(fetch, urls) if f]
    return common.finish(urls, failures)


if __name__ == "__main__":
    sys.exit(main())
