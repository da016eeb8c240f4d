"""The ``mock-server`` command line: ``merge``, ``serve``, ``lint``, ``cluster`` and ``bench``."""

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


def _serve(args: argparse.Namespace) -> int:
    from mock_server import server
    from mock_server.runtime import ServeConfig

    config = ServeConfig(
        specs=[Path(s) for s in (args.spec or [DEFAULT_SPEC])], host=args.host, port=args.port,
        seed=args.seed, state=_state(args.state), frozen_clock=args.frozen_clock,
        clock_start=args.clock_start, time_scale=args.time_scale, strict=args.strict,
        admin=True if args.admin else None, fixtures_dir=Path(args.fixtures),
        vendor_dirs=[Path(v) for v in args.vendors or []], admin_token=args.admin_token or None,
        max_body_bytes=args.max_body_bytes, max_header_bytes=args.max_header_bytes, max_headers=args.max_headers,
        max_request_line=args.max_request_line, header_timeout=args.header_timeout,
        keepalive_timeout=args.keepalive_timeout, body_timeout=args.body_timeout, max_connections=args.max_connections,
        journal_bytes=args.journal_bytes, workers=args.workers,
    )
    if args.admin and not config.admin_token and not ServeConfig(host=args.host).admin_enabled:
        print("mock-server: --admin on a non-loopback host needs --admin-token TOKEN", file=sys.stderr)
        return 2
    return server.run(config, log_level=args.log_level)


def _state(value: str | None) -> Path | str | None:
    """A file path, or (kept as written) the URL of a networked store."""
    from mock_server.server import REMOTE_STATE

    if value is None or value.startswith(REMOTE_STATE):
        return value
    return Path(value)


def _lint(args: argparse.Namespace) -> int:
    from mock_server import spec
    from mock_server.merge import MergeError

    found: list[str] = []

    def report(file: Path, problem: object) -> None:
        found.append(f"{file}: {problem}")
        print(found[-1], flush=True)

    files = [Path(f) for f in args.spec]
    try:
        spec.load(files, report=report)
    except MergeError as exc:
        print(f"mock-server: refused: {exc}", file=sys.stderr)
        return 2
    names = ", ".join(map(str, files))
    if found:
        print(f"{names}: {len(found)} problem(s), each repaired as described; mock-server serve serves the rest")
        return 1
    print(f"{names}: no problems")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.flame:
        from bench import flame

        return flame.main(seconds=args.duration)
    if args.quick:
        from bench import loopback

        return loopback.main(requests=args.requests, clients=args.clients, state=args.state,
                             replicas=not args.no_replicas)
    from bench import sidebyside

    return sidebyside.main(duration=args.duration, runs=args.runs,
                           connections=tuple(int(c) for c in args.connections.split(",")),
                           skip_prism=args.no_prism, scales=tuple(int(s) for s in args.scales.split(",") if s),
                           pin=not args.no_pin, replicas=not args.no_replicas, workers=not args.no_workers)


def _cluster(args: argparse.Namespace) -> int:
    from mock_server import cluster

    serve_args = args.serve_args[1:] if args.serve_args[:1] == ["--"] else args.serve_args
    return cluster.main(args.ports, serve_args, server=args.redis_server)


def _ports(text: str) -> list[int]:
    try:
        ports = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated port numbers, e.g. 8001,8002") from None
    if not ports or any(not 0 < p < 65536 for p in ports) or len(set(ports)) != len(ports):
        raise argparse.ArgumentTypeError("distinct port numbers from 1 to 65535")
    return ports


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is outside 0-65535")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (``mock-server serve: error: argument --port: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mock-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    merge = sub.add_parser("merge", help="merge specs/fragments (+ specs/overlays) into specs/openapi.yaml")
    merge.add_argument("--specs", default=str(SPECS_DIR), help="specs directory (default: %(default)s)")
    merge.add_argument("--output", default=str(DEFAULT_SPEC), help="merged file (default: %(default)s)")
    merge.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 with a diff summary if the merged file is stale")
    merge.set_defaults(func=_merge)

    from mock_server.runtime import DEFAULT_SEED, FIXTURES_DIR, ServeConfig

    serve = sub.add_parser("serve", help="run the stateful mock")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    serve.add_argument("--spec", action="append", metavar="FILE",
                       help="OpenAPI 3.0/3.1 document to serve; repeatable (default: specs/openapi.yaml)")
    serve.add_argument("--seed", type=int, default=DEFAULT_SEED,
                       help="seed of every generated value and fixture (default: %(default)s)")
    serve.add_argument("--state", metavar="FILE|URL",
                       help="keep state in this SQLite file, or in Redis at redis://HOST:PORT/DB (default: in memory)")
    serve.add_argument("--frozen-clock", action="store_true", help="start with the virtual clock frozen")
    serve.add_argument("--clock-start", type=float, metavar="UNIX_SECONDS",
                       help="virtual time at start (default: now)")
    serve.add_argument("--time-scale", type=_positive, default=1.0, metavar="X",
                       help="virtual seconds per wall second (default: %(default)s)")
    serve.add_argument("--strict", action="store_true",
                       help="answer 500 (and log an error) when the mock's own response violates the spec")
    serve.add_argument("--admin", action="store_true",
                       help="enable /__admin/ even on a non-loopback host (always on for loopback)")
    serve.add_argument("--fixtures", default=str(FIXTURES_DIR), metavar="DIR",
                       help="fixtures directory (default: %(default)s)")
    serve.add_argument("--vendors", action="append", metavar="DIR",
                       help="also load vendor profiles (*.py exporting `vendor`) from DIR; repeatable")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help="require `Authorization: Bearer TOKEN` or `X-Admin-Token: TOKEN` on /__admin/ "
                            "(needed with --admin on a non-loopback host)")
    limits = ServeConfig()
    serve.add_argument("--max-body-bytes", type=_count, default=limits.max_body_bytes, metavar="N",
                       help="largest request body an API operation reads (default: %(default)s; 413 above)")
    serve.add_argument("--max-header-bytes", type=_count, default=limits.max_header_bytes, metavar="N",
                       help="request line and headers together (default: %(default)s; 431 above)")
    serve.add_argument("--max-headers", type=_count, default=limits.max_headers, metavar="N",
                       help="request headers (default: %(default)s; 431 above)")
    serve.add_argument("--max-request-line", type=_count, default=limits.max_request_line, metavar="N",
                       help="request target length (default: %(default)s; 414 above)")
    serve.add_argument("--header-timeout", type=_positive, default=limits.header_timeout, metavar="S",
                       help="seconds to send a request line and headers (default: %(default)s; 408, closed)")
    serve.add_argument("--body-timeout", type=_positive, default=limits.body_timeout, metavar="S",
                       help="seconds to send a request body once the headers are in (default: %(default)s; 408)")
    serve.add_argument("--keepalive-timeout", type=_positive, default=limits.keepalive_timeout, metavar="S",
                       help="idle seconds between requests before a connection is closed (default: %(default)s)")
    serve.add_argument("--max-connections", type=_count, default=limits.max_connections, metavar="N",
                       help="open connections (default: %(default)s; 503 and closed above)")
    serve.add_argument("--journal-bytes", type=_count, default=limits.journal_bytes, metavar="N",
                       help="memory budget of the request journal (default: %(default)s; oldest dropped)")
    serve.add_argument("--workers", type=_count, default=1, metavar="N",
                       help="processes serving the port, their state shared through --state (a private "
                            "temporary SQLite file when none is given) (default: %(default)s)")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=_serve)

    lint = sub.add_parser("lint", help="report what forgiving loading repairs in a spec, without serving it")
    lint.add_argument("spec", nargs="+", metavar="SPEC", help="OpenAPI 3.0/3.1 document(s), as given to serve --spec")
    lint.set_defaults(func=_lint)

    cluster = sub.add_parser("cluster", help="a private redis-server and replicas of the mock sharing it "
                             "(Ctrl-C stops all)")
    cluster.add_argument("--ports", type=_ports, default=[8001, 8002], metavar="P1,P2,...",
                         help="one replica per port (default: 8001,8002)")
    cluster.add_argument("--redis-server", default="redis-server", metavar="PATH",
                         help="the redis-server executable (default: %(default)s)")
    cluster.add_argument("serve_args", nargs=argparse.REMAINDER, metavar="-- SERVE_FLAGS",
                         help="flags for every replica's `serve`, after `--` (e.g. -- --frozen-clock)")
    cluster.set_defaults(func=_cluster)

    bench = sub.add_parser("bench", help="the mock beside Prism, Connexion's mock and the stack's ceiling (wrk)")
    bench.add_argument("--duration", type=float, default=10, help="seconds per measured run (default: %(default)s)")
    bench.add_argument("--runs", type=int, default=2, help="measured runs per cell (default: %(default)s)")
    bench.add_argument("--connections", default="1,32", help="comma-separated counts (default: %(default)s)")
    bench.add_argument("--scales", default="10,1000,100000",
                       help="tasks stored in the account for the scale rows; '' for none (default: %(default)s)")
    bench.add_argument("--no-prism", action="store_true", help="leave Prism out")
    bench.add_argument("--no-pin", action="store_true", help="do not pin the server and wrk to separate cores")
    bench.add_argument("--quick", action="store_true",
                       help="instead: the mock alone, httpx clients, no Prism or wrk (flags below)")
    bench.add_argument("--requests", type=int, default=1000,
                       help="--quick: requests per scenario (default: %(default)s)")
    bench.add_argument("--clients", type=int, default=4, help="--quick: concurrent clients (default: %(default)s)")
    bench.add_argument("--state", metavar="FILE", help="--quick: a SQLite state file instead of memory")
    bench.add_argument("--no-replicas", action="store_true",
                       help="skip the rows of two replicas on Redis against one server on SQLite")
    bench.add_argument("--flame", action="store_true",
                       help="instead: flame graphs of the mock under each request (py-spy) in bench/flame/")
    bench.add_argument("--no-workers", action="store_true",
                       help="skip the rows of --workers 2 against one worker (nothing pinned)")
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
