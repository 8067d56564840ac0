"""What every e2e driver shares: where the fixtures are, loading them, and the command line.

    python3 tests/e2e/DRIVER.py --list
    python3 tests/e2e/DRIVER.py --loopfetch build/loopfetch CASE

A driver imports its siblings by name (this folder is the script's own, so it is on sys.path);
fixtures (tests/fixtures/) are loaded by path with fixture(), since one of them is called
site.py and the standard library owns that module name.
"""

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
FIXTURES = os.path.join(TESTS, "fixtures")
DEFAULT_LOOPFETCH = os.path.join(ROOT, "build", "loopfetch")
SKIP = 77

_loaded = {}


def fixture(name):
    """tests/fixtures/NAME.py as a module (loaded once per process)."""
    if name not in _loaded:
        spec = importlib.util.spec_from_file_location("fixture_" + name,
                                                      os.path.join(FIXTURES, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _loaded[name] = mod
    return _loaded[name]


def fixture_path(name):
    """The path of tests/fixtures/NAME.py, for running it as a server."""
    return os.path.join(FIXTURES, name + ".py")


def parse_args(cases, description=None):
    """The drivers' shared command line: --list prints the cases (exit 0 is returned as an int),
    an unknown or missing case is exit 2; otherwise the parsed arguments, with --loopfetch
    absolute. Options a driver does not use are accepted, so meson can pass the same ones."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--loopfetch", default=DEFAULT_LOOPFETCH)
    ap.add_argument("--embed", help="path of the test_embed program")
    ap.add_argument("--embed-echo", help="path of the embed_echo example")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(cases))
        return 0
    if a.case not in cases:
        print(f"unknown case {a.case!r}; --list shows them", file=sys.stderr)
        return 2
    a.loopfetch = os.path.abspath(a.loopfetch)
    return a
