"""Peer: requests in a multiprocessing.Pool of cpu_count() processes (pool.map, as in the
articles). Each worker process keeps one requests.Session."""

import multiprocessing
import sys

import requests

import common

_session = None
_args = None


def init(args):
    global _session, _args
    _session = requests.Session()
    _args = args


def fetch(url):
    try:
        r = _session.get(url, verify=_args.cacert or True)
        r.raise_for_status()
        common.save(_args.out, url, r.content)
        return None
    except Exception as e:  # noqa: BLE001
        return (url, repr(e))


def main():
    args = common.parse_args(__doc__, workers=multiprocessing.cpu_count())
    if args.list:
        r = requests.get(args.list, verify=args.cacert or True)
        r.raise_for_status()
        urls = common.links_from_html(r.content, r.url, args.select)
    else:
        urls = common.read_list(args.input)
    with multiprocessing.Pool(args.workers, initializer=init, initargs=(args,)) as pool:
        failures = [f for f in pool.map(fetch, urls) if f]
    return common.finish(urls, failures)


if __name__ == "__main__":
    sys.exit(main())
