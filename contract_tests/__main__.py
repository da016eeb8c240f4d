"""The ``contract-tests`` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="contract-tests", description=__doc__)


def main(argv: list[str] | None = None) -> int:
    build_parser().parse_args(argv)
    print("contract-tests: not implemented yet; run Schemathesis directly (README: Contract checks)",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
