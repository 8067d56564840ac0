"""Peer: requests, one page after another (the articles' starting point).

One requests.Session, so the connection is kept alive between pages."""

import sys

import requests

import common


def main():
    args = common.parse_args(__doc__)
    s = requests.Session()
    verify = args.cacert or True
    if args.list:
        r = s.get(args.list, verify=verify)
        r.raise_for_status()
        urls = common.links_from_html(r.content, r.url, args.select)
    else:
        urls = common.read_list(args.input)
    failures = []
    for url in urls:
        try:
            r = s.get(url, verify=verify)
            r.raise_for_status()
            common.save(args.out, url, r.content)
        except Exception as e:  # noqa: BLE001 - a peer reports, it does not stop
            failures.append((url, e))
    return common.finish(urls, failures)


if __name__ == "__main__":
    sys.exit(main())
