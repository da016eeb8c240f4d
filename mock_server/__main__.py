"""The ``mock-server`` command line: ``merge`` and ``serve``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mock_server import DEFAULT_SPEC, SPECS_DIR


def _merge(args: argparse.Namespace) -> int:
    from mock_server import merge

    code, message = merge.run(Path(args.specs), Path(args.output), check=args.check)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mock-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    merge = sub.add_parser("merge", help="merge specs/fragments (+ specs/overlays) into specs/openapi.yaml")
    merge.add_argument("--specs", default=str(SPECS_DIR), help="specs directory (default: %(default)s)")
    merge.add_argument("--output", default=str(DEFAULT_SPEC), help="merged file (default: %(default)s)")
    merge.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 with a diff summary if the merged file is stale")
    merge.set_defaults(func=_merge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
