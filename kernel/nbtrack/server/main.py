"""Command line, start-up and clean shutdown of the server process."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import secrets
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from nbtrack.server import auth, pages
from nbtrack.server.context import ServerContext, log
from nbtrack.server.http.app import server_on
from nbtrack.server.http.proxies import parse_networks
from nbtrack.server.storage import secrets as secrets_mod
from nbtrack.server.storage.files import FileStore, LocalFileStore
from nbtrack.server.storage.url import open_storage, redact
from nbtrack.version import __version__
from nbtrack.wire import datadir, statefile, urls
from nbtrack.wire.secretfile import ARGV_WARNING, read_secret


def default_entity() -> str:
    """The OS user name, reduced to what entity names may contain."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = ""
    name = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return name or "user"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="nbtrack server", description="Run the nbtrack tracking server."
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    p.add_argument("--dir", type=Path, help="data directory (db, files, state file under server/)")
    p.add_argument(
        "--db",
        help="sqlite:///path, a file path, or postgresql://user@host/db"
        " (default: DIR/server/nbtrack.db); also $NBTRACK_SERVER_DB",
    )
    p.add_argument(
        "--token",
        help="the admin API key, allowed on every entity (default: $NBTRACK_SERVER_TOKEN, or a"
        " random one written to the state file; none with --no-state-file); visible in"
        " `ps ax`: prefer --token-file or the environment",
    )
    p.add_argument("--token-file", type=Path, help="a file holding the admin API key")
    p.add_argument("--pool-size", type=int, default=16, help="PostgreSQL connections at most")
    p.add_argument(
        "--files",
        help="where run files live: s3://bucket/prefix (endpoint and credentials from the"
        " standard AWS environment/config), or a directory (default: DIR/server/files);"
        " also $NBTRACK_SERVER_FILES",
    )
    p.add_argument(
        "--uploads",
        choices=("direct", "proxy"),
        help="direct: clients PUT run files straight to the S3 store through presigned URLs"
        " (the default with --files s3://...); proxy: through this server (the only way with"
        " a directory, and for S3 stores clients cannot reach); also $NBTRACK_SERVER_UPLOADS",
    )
    p.add_argument(
        "--trusted-proxies",
        action="append",
        default=[],
        metavar="CIDR",
        help="proxies (addresses or CIDRs, comma-separated, repeatable) whose"
        " X-Forwarded-Proto/-Host/-For or Forwarded headers say the client's scheme, host and"
        " address; from anyone else those headers are ignored; also $NBTRACK_TRUSTED_PROXIES",
    )
    p.add_argument(
        "--state-file", type=Path, help="where to write the state (default: DIR/server/state.json)"
    )
    p.add_argument(
        "--no-state-file", action="store_true", help="do not advertise this server to kernels"
    )
    p.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=120.0,
        help="seconds without a post after which a running run reads as crashed",
    )
    p.add_argument("--max-body-bytes", type=int, default=32 * 1024 * 1024)
    p.add_argument("--max-upload-bytes", type=int, default=1024 * 1024 * 1024)
    p.add_argument("--entity", help="the user/entity name (default: the OS user)")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(
        dest="command", metavar="{user,key,signing-key}", help="manage accounts"
    )
    user = sub.add_parser("user", help="users and their teams").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create a user (or add it to more teams)")
    add.add_argument("name")
    add.add_argument("--team", action="append", default=[], help="a team entity to join")
    user.add_parser("list", help="users and their teams")
    key = sub.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    create = key.add_parser("create", help="create a key for a user and print it once")
    create.add_argument("user")
    revoke = key.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    lst = key.add_parser("list", help="key ids (never the keys)")
    lst.add_argument("user", nargs="?")
    sk = sub.add_parser("signing-key", help="the upload-URL signing key all replicas share")
    sk.add_subparsers(dest="action", required=True).add_parser(
        "rotate", help="a new key signs from now on; the previous one stays valid until the next"
    )
    return p.parse_args(argv)


def _db_url(args: argparse.Namespace, server_dir: Path) -> str:
    return str(args.db or os.environ.get("NBTRACK_SERVER_DB") or server_dir / "nbtrack.db")


def file_store(spec: str | None, default: Path) -> FileStore:
    """The run files' store: ``s3://bucket/prefix`` or a directory."""
    if spec and spec.startswith("s3://"):
        try:
            from nbtrack.server.storage.s3 import S3FileStore
        except ImportError as e:  # boto3 is in the optional extra nbtrack[team]
            raise RuntimeError(f"S3 needs boto3: pip install 'nbtrack[team]' ({e})") from None
        store = S3FileStore(spec)
        store.check()
        return store
    if spec and "://" in spec:
        raise ValueError(f"unsupported --files URL {spec!r}: use s3://bucket/prefix or a path")
    return LocalFileStore(Path(spec) if spec else default)


def direct_uploads(mode: str | None, files: FileStore) -> bool:
    """Whether createRunFiles hands out the store's presigned URLs (``--uploads``)."""
    can = hasattr(files, "presign_put")
    if mode not in (None, "direct", "proxy"):
        raise ValueError(f"invalid uploads mode {mode!r}: use direct or proxy")
    if mode == "direct" and not can:
        raise ValueError("--uploads direct needs an object store (--files s3://bucket/prefix)")
    return can and mode != "proxy"


def accounts(args: argparse.Namespace) -> int:
    """``user add|list``, ``key create|revoke|list`` on the server's database."""
    base = args.dir if args.dir is not None else datadir.default_root()
    storage = open_storage(_db_url(args, datadir.server_dir(base)), pool_size=2)
    try:
        if args.command == "user" and args.action == "add":
            created = auth.add_user(storage, args.name, list(args.team))
            teams = storage.teams_of(args.name)
            print(f"{'created' if created else 'updated'} user {args.name}"
                  + (f" (teams: {', '.join(teams)})" if teams else ""))
        elif args.command == "signing-key":
            print(f"signing key {secrets_mod.rotate(storage)} is current; the previous one"
                  " stays valid until the next rotation")
        elif args.command == "user":
            for u in storage.list_users():
                print(f"{u['name']}\t{','.join(u['teams'])}")
        elif args.action == "create":
            key_id, key = auth.create_key(storage, args.user)
            print(f"key id: {key_id}", file=sys.stderr)
            print("the key is shown once; store it now (e.g. NBTRACK_API_KEY):", file=sys.stderr)
            print(key)
        elif args.action == "revoke":
            if not storage.revoke_key(args.key_id):
                print(f"no active key {args.key_id}", file=sys.stderr)
                return 1
            print(f"revoked {args.key_id}")
        else:
            for k in storage.list_keys(args.user):
                state = "revoked" if k["revoked_at"] is not None else "active"
                print(f"{k['key_id']}\t{k['user_name']}\t{state}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        storage.close()
    return 0


def _owned_by_other(state_file: Path, pid: int) -> bool:
    """True when the state file names another process that is still alive."""
    other = (statefile.read_state(state_file) or {}).get("pid")
    if not isinstance(other, int) or other == pid or other <= 0:
        return False
    return statefile.pid_alive(other)


def _admin_token(args: argparse.Namespace) -> str | None:
    """--token-file, --token (with a warning: argv is public), $NBTRACK_SERVER_TOKEN."""
    if args.token_file is not None:
        return read_secret(args.token_file, "--token")
    if args.token:
        log.warning(ARGV_WARNING.format(flag="--token", env="$NBTRACK_SERVER_TOKEN"))
        return str(args.token)
    return os.environ.get("NBTRACK_SERVER_TOKEN") or None


def serve(args: argparse.Namespace) -> int:
    """Bind, write the state file, serve until SIGTERM/SIGINT, clean up."""
    base = args.dir if args.dir is not None else datadir.default_root()
    server_dir = datadir.server_dir(base)
    datadir.private_dir(server_dir, tighten=True)
    token = _admin_token(args)
    if token is None and not args.no_state_file:
        token = secrets.token_hex(20)  # the embedded server's key, shared via the state file
    state_file: Path | None = None if args.no_state_file else args.state_file
    if state_file is None and not args.no_state_file:
        state_file = statefile.path(base)
    db_url = _db_url(args, server_dir)
    proxies = parse_networks([*args.trusted_proxies, os.environ.get("NBTRACK_TRUSTED_PROXIES", "")])
    files_spec = args.files or os.environ.get("NBTRACK_SERVER_FILES")
    files = file_store(files_spec, server_dir / "files")
    direct = direct_uploads(args.uploads or os.environ.get("NBTRACK_SERVER_UPLOADS"), files)
    storage = open_storage(db_url, pool_size=args.pool_size)
    log.info("storage: %s (schema %d); files: %s; uploads: %s", redact(db_url),
             storage.schema_version, files_spec or server_dir / "files",
             "direct to the store" if direct else "through this server")
    ctx = ServerContext(
        storage=storage,
        entity=args.entity or default_entity(),
        token=token,
        files_dir=server_dir / "files",
        file_store=files,
        trusted_proxies=proxies,
        heartbeat_timeout=args.heartbeat_timeout,
        max_body_bytes=args.max_body_bytes,
        max_upload_bytes=args.max_upload_bytes,
        direct_uploads=direct,
        version=__version__,
    )
    server = server_on((args.host, args.port), ctx)
    pid = os.getpid()
    if state_file is not None and _owned_by_other(state_file, pid):
        log.warning("%s belongs to another live server: not overwriting it", state_file)
        state_file = None
    if state_file is not None and token is not None:
        statefile.write_state(
            state_file,
            {
                "pid": pid,
                "host": args.host,
                "port": server.server_address[1],
                "url": server.url,
                "token": token,
                "version": __version__,
                "started": time.time(),
            },
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("nbtrack server %s listening on %s (pid %d)", __version__, server.url, pid)
    if token:
        admin = auth.Principal(ctx.entity, None)  # what the token sees: every entity
        log.info("run pages: %s (a one-time login link)", pages.login_url(ctx, server.url, admin))
    else:  # a team server without an admin token: no code that would see everything
        log.info("run pages: %s%s (log in with an API key)", server.url, urls.PAGES)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        storage.close()
        if state_file is not None and token is not None:
            statefile.remove_if_own(state_file, pid, token)
        log.info("nbtrack server stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.umask(0o077)  # the database, uploads and logs: readable by this user only
    try:
        if args.command is not None:
            return accounts(args)
        return serve(args)
    except (OSError, sqlite3.Error, ValueError, RuntimeError) as e:
        log.error("cannot start: %s", e)
        return 1
