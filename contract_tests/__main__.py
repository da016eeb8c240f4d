"""The ``contract-tests`` command line: ``contract-tests run`` checks the mock (CI) or fuzzes real
endpoints (staging) with Schemathesis. Exit 0 only when nothing failed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract_tests import plan


def _run(args: argparse.Namespace) -> int:
    from contract_tests.runner import Options, run

    options = Options(
        apis=args.api or list(plan.APIS), targets=args.target or [plan.MOCK], max_examples=args.max_examples,
        seed=args.seed, max_time=args.max_time, workers=args.workers, jobs=args.jobs, rate_limit=args.rate_limit,
        report=Path(args.report).resolve(), allow_mutations=args.allow_mutations, checks=args.checks,
        phases=args.phases, dry_run=args.dry_run, mock_args=args.mock_arg or [], extra=args.schemathesis_arg or [],
    )
    return run(options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contract-tests", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run Schemathesis against the mock or real base URLs")
    run.add_argument("--target", action="append", metavar="mock|API=URL",
                     help="'mock' (default: start the mock for this run) or API=URL, repeatable; an API without "
                          "one goes to the servers its spec publishes")
    run.add_argument("--api", action="append", choices=plan.APIS, help="repeatable (default: all four)")
    run.add_argument("--max-examples", type=int,
                     help="per operation (default: the API's own, 25 for most; see contract_tests/apis/)")
    run.add_argument("--seed", type=int, default=1, help="default: %(default)s")
    run.add_argument("--max-time", type=int, help="seconds per API (real targets: 300 unless given)")
    run.add_argument("--workers", type=int, help="per API (default: 1, so the same seed gives the same run)")
    run.add_argument("--jobs", type=int, help="APIs run at once (default: all of them against the mock, each on "
                                              "its own state; one at a time against real targets)")
    run.add_argument("--rate-limit", help="e.g. 10/s (real targets: 5/s unless given)")
    run.add_argument("--report", default="contract-report", help="report directory (default: %(default)s)")
    run.add_argument("--allow-mutations", action="store_true",
                     help="on a non-loopback target, also run operations that change state (cleaned up after)")
    run.add_argument("--checks", help="Schemathesis checks, e.g. not_a_server_error,ignored_auth (default: every "
                                      "check, with the per-operation exceptions of schemathesis.toml)")
    run.add_argument("--phases", default="examples,coverage,fuzzing,stateful", help="default: %(default)s")
    run.add_argument("--dry-run", action="store_true", help="print what would run where, send nothing")
    run.add_argument("--mock-arg", action="append", help="extra flag for the started mock, e.g. --mock-arg=--seed=7")
    run.add_argument("--schemathesis-arg", action="append", help="extra argument for `schemathesis run`")
    run.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
