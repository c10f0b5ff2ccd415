"""The ``nbtrack`` command: server, sync, runs, ui, verify, alerts, stop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nbtrack.version import __version__


def _server(args: argparse.Namespace) -> int:
    from nbtrack.server.__main__ import main as server_main

    return int(server_main(args.rest) or 0)


def _connect(args: argparse.Namespace) -> tuple[str, str]:
    from nbtrack.client.localserver import resolve_server

    return resolve_server(args.base_url, _api_key(args))


def _api_key(args: argparse.Namespace) -> str | None:
    """--api-key-file, else --api-key (with a warning: argv is public), else None (then
    NBTRACK_API_KEY, ~/.netrc or the local server's token)."""
    from nbtrack.wire.secretfile import ARGV_WARNING, read_secret

    if args.api_key_file is not None:
        try:
            return read_secret(args.api_key_file, "--api-key")
        except ValueError as e:
            raise RuntimeError(str(e)) from None
    if args.api_key:
        print("nbtrack: warning: " + ARGV_WARNING.format(flag="--api-key", env="NBTRACK_API_KEY"),
              file=sys.stderr)
    return str(args.api_key) if args.api_key else None


def _sync(args: argparse.Namespace) -> int:
    from nbtrack.client.wandbclient import WandbClient
    from nbtrack.sdk.sync import find_logs, sync_log

    logs = find_logs([Path(p) for p in args.paths])
    if not logs:
        print("nbtrack sync: no transaction logs (*.nbtrack) found", file=sys.stderr)
        return 2
    url, key = _connect(args)
    failed = 0
    for path in logs:
        transport = WandbClient(url, key, max_retry_time=args.retry_time)
        try:
            result = sync_log(path, transport, timeout=args.timeout)
        finally:
            transport.close()
        rows = result.counts.get("history_rows", 0)
        recovered = result.recovery.summary() if result.recovery else ""
        if recovered:
            print(f"{path}: {recovered}")
        torn = " (torn tail: the run was cut off; everything before it was sent)" \
            if result.read and result.read.torn_tail else ""
        if result.ok:
            run_path, link = _run_link(url, key, result.run_path)
            print(f"synced {path} → run {run_path}: {rows} history rows{torn}\n"
                  f"  page: {link}")
        else:
            failed += 1
            print(f"FAILED {path}: {result.error}", file=sys.stderr)
        for line in result.damage:
            print(f"  damaged log: {line}", file=sys.stderr)
    return 1 if failed else 0


def _runs(args: argparse.Namespace) -> int:
    from nbtrack.client.readapi import Api

    url, key = _connect(args)
    runs = Api(url, key).runs(project=args.project)
    header = f"{'PROJECT':<20} {'RUN':<12} {'NAME':<24} {'STATE':<9} {'STEPS':>8}"
    print(header)
    for r in runs:
        steps = "" if r.last_step is None else str(r.last_step + 1)
        print(f"{r.project[:20]:<20} {r.id[:12]:<12} {str(r.name)[:24]:<24} "
              f"{r.state:<9} {steps:>8}")
    if not runs:
        print("(no runs)")
    return 0


def _run_link(url: str, key: str, run_path: str) -> tuple[str, str]:
    """(the run's full path, its printed link: see :mod:`nbtrack.client.links`). An offline run's
    log has no entity (the server picked it): the server says which."""
    from nbtrack.client.readapi import Api, ApiError

    api = Api(url, key)
    try:
        run = api.run(run_path.strip("/"))
    except (ApiError, ValueError):
        return run_path, str(api.link())  # the runs table, where it is
    return run.path, str(run.link())


def _ui(args: argparse.Namespace) -> int:
    """Print (``--open``: open) a link that logs the reader in to the run pages once."""
    import webbrowser

    from nbtrack.client import links
    from nbtrack.client.readapi import Api, ApiError

    api = Api(*_connect(args))
    target, what = "", "the runs table"
    if args.run_path:
        try:
            run = api.run(args.run_path)  # the run exists; fills in the default entity
        except (ApiError, ValueError) as exc:
            print(f"nbtrack ui: {args.run_path}: {exc}", file=sys.stderr)
            return 1
        target, what = links.target_of(run.entity, run.project, run.id), f"run {run.path}"
    link = api.link(target)
    if args.open and webbrowser.open(link.url):
        print(f"nbtrack: opened {what} in your browser")
        return 0
    print(link)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from nbtrack.txlog.verify import format_report, verify

    worst = 0
    for p in args.logs:
        try:
            report = verify(Path(p))
        except (OSError, ValueError) as exc:
            print(f"{p}: {exc}", file=sys.stderr)
            worst = 2
            continue
        print(format_report(report))
        if report.damaged:
            worst = max(worst, 1)
    return worst


def _alerts(args: argparse.Namespace) -> int:
    from nbtrack.client.readapi import Api

    url, key = _connect(args)
    alerts = Api(url, key).run(args.run_path).alerts()
    for a in alerts:
        print(f"{a.get('time') or '':<27} {a.get('level', ''):<5} {a.get('title', '')}: "
              f"{a.get('text', '')}")
    if not alerts:
        print("(no alerts)")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from nbtrack.client.readapi import Api

    url, key = _connect(args)
    run = Api(url, key).run(args.run_path)
    run.stop()
    print(f"stop requested for {run.path}; an nbtrack run stops at its next log() after it "
          "polls the server (within about 10 s), a wandb run when its client next checks "
          "(within about 30 s)")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "server": _server, "sync": _sync, "runs": _runs, "ui": _ui, "verify": _verify,
    "alerts": _alerts, "stop": _stop,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbtrack",
                                     description="Experiment tracking for notebooks.")
    parser.add_argument("--version", action="version", version=f"nbtrack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("server", help="run the tracking server in the foreground",
                       add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def connection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-url",
                       help="server URL (default: NBTRACK_BASE_URL or the local server)")
        p.add_argument("--api-key", help="API key (default: NBTRACK_API_KEY); visible in"
                       " `ps ax`: prefer --api-key-file or the environment")
        p.add_argument("--api-key-file", type=Path, help="a file holding the API key")

    p = sub.add_parser("sync", help="send offline or crashed runs' logs to a server")
    p.add_argument("paths", nargs="+", help="*.nbtrack files or run directories")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per log (default 300)")
    p.add_argument("--retry-time", type=float, default=60.0,
                   help="give up on an unreachable server after this many seconds")
    connection(p)
    p = sub.add_parser("runs", help="list runs")
    p.add_argument("project", nargs="?")
    connection(p)
    p = sub.add_parser("ui", help="print a link that logs you in to the run pages (once)")
    p.add_argument("run_path", nargs="?",
                   help="entity/project/run_id (or project/run_id); default: the runs table")
    p.add_argument("--open", action="store_true", help="open it in the web browser")
    connection(p)
    p = sub.add_parser("alerts", help="list a run's alerts")
    p.add_argument("run_path", help="entity/project/run_id (or project/run_id)")
    connection(p)
    p = sub.add_parser("stop", help="ask a running run to stop")
    p.add_argument("run_path", help="entity/project/run_id (or project/run_id)")
    connection(p)
    p = sub.add_parser("verify", help="check transaction logs")
    p.add_argument("logs", nargs="+")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["server"]:  # everything after it is the server's (REMAINDER drops "--x")
        return _server(argparse.Namespace(rest=argv[1:]))
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RuntimeError as e:  # ApiError, ServerNotFound, a server that could not start
        # the message says what went wrong and what to do; a traceback would bury it
        print(f"nbtrack {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
