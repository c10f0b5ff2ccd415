"""The HTTP server's routes: which part of the server answers each path.

``/healthz``; the run pages (their own cookie login); with an API key: the read API
(``/api/v1/``), GraphQL and ``file_stream`` (:mod:`nbtrack.server.wandb`) and the PUT of
signed uploads. The request plumbing (answers, auth, body limits) is in :mod:`.plumbing`.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable

from nbtrack.server import pages
from nbtrack.server.context import ServerContext, log
from nbtrack.server.http import csrf
from nbtrack.server.http.plumbing import RequestIO, Server
from nbtrack.server.readapi import routes as readapi
from nbtrack.server.storage.base import StorageUnavailable
from nbtrack.server.storage.files import FileStoreUnavailable, StoredFile
from nbtrack.server.wandb import filestream, resolvers, uploads
from nbtrack.server.wandb.artifacts import transfer as artifact_files
from nbtrack.server.wandb.publicapi import files as public_files
from nbtrack.wire import urls
from nbtrack.wire.mediatypes import inline_type
from nbtrack.wire.ordering import SEQ_HEADER, parse_seq


def server_on(address: tuple[str, int], ctx: ServerContext) -> Server:
    """The tracking server bound to ``address`` (not serving yet)."""
    return Server(address, ctx, Handler)


RETRY_AFTER = "2"  # seconds, while the database or the file store is unreachable


def _unavailable_is_503(method: Callable[[Handler], None]) -> Callable[[Handler], None]:
    """While the database or the object store is unreachable, answer 503 with
    ``Retry-After`` (clients retry) instead of dropping the connection."""

    @functools.wraps(method)
    def guarded(self: Handler) -> None:
        try:
            method(self)
        except (StorageUnavailable, FileStoreUnavailable) as e:
            log.warning("%s %s: %s", self.command, self.path.partition("?")[0], e)
            what = "database" if isinstance(e, StorageUnavailable) else "file store"
            self._refuse(503, f"the {what} is unavailable; retry later",
                         {"Retry-After": RETRY_AFTER})

    return guarded


class Handler(RequestIO):
    """Routes every path to the part of the server that answers it."""

    # ---------------------------------------------------------------- routes

    @_unavailable_is_503
    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == urls.HEALTHZ:
            self._json(200, {"ok": True, "pid": os.getpid(), "version": self.ctx.version})
            return
        if pages.handles(path):  # the run pages: their own cookie login
            cross_site = self.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"
            self._reply(*pages.get(self.ctx, path, query, self.headers.get("Cookie", ""),
                                   cross_site))
            return
        if path.startswith(uploads.UPLOAD_PREFIX):  # a run file's signed download URL
            self._download(path, query)
            return
        if path.startswith(artifact_files.PREFIX):  # an artifact body's signed download URL
            self._artifact_download(path, query)
            return
        if not self._require_auth():
            return
        if path.startswith(urls.API):
            status, value = readapi.handle(
                self.ctx, path[len(urls.API) :], query, principal=self.principal
            )
            if isinstance(value, StoredFile):
                self._send_file(value)
            else:
                self._json(status, value)
            return
        self._json(404, {"error": "not found"})

    do_HEAD = do_GET

    def _download(self, raw_path: str, query: str) -> None:
        """GET of a URL from ``Run.files``: signed (``publicapi.files``) or with the key."""
        signed = self._signed(public_files.verify_download, raw_path, query) is not None
        parsed = self._file_of(raw_path, signed, "download")
        if parsed is None:
            return
        entity, project, run_name, name = parsed
        try:
            stored = self.ctx.files.open_read(entity, project, run_name, name)
        except ValueError:
            stored = None
        if stored is None:
            self._refuse(404, "file not found")
            return
        self._send_file(stored)

    def _artifact_download(self, raw_path: str, query: str) -> None:
        target = artifact_files.parse_path(raw_path)
        signed = self._signed(artifact_files.verify_get, raw_path, query) is not None
        if not signed and not self._authorized():
            self._refuse(403, "invalid or expired download signature")
        elif target is None or target.kind != "blob":
            self._refuse(400, "invalid artifact file path")
        elif not signed and self.principal is not None and not self.principal.can(
                target.entity):
            self._refuse(403, f"permission denied: entity {target.entity!r} is not yours")
        elif (stored := artifact_files.open_blob(self.ctx, target.entity, target.key)) is None:
            self._refuse(404, "file not found")
        else:
            self._send_file(stored)

    def _artifact_upload(self, raw_path: str, query: str) -> None:
        """PUT of an artifact body (checked against its digest) or manifest: signed only."""
        kid = self._signed(artifact_files.verify_put, raw_path, query)
        target = artifact_files.parse_path(raw_path)
        if kid is None:
            self._refuse(403, "invalid or expired upload signature")
        elif kid and not self._key_alive(kid):
            self._refuse(403, "the key this upload URL was made for is revoked")
        elif target is None:
            self._refuse(400, "invalid artifact file path")
        elif (length := self._length(self.ctx.max_upload_bytes)) is not None:
            try:
                status, answer = artifact_files.receive(self.ctx, target, query, self.rfile,
                                                        length)
                if status >= 400:  # the body may be left unread: never reuse the connection
                    self.close_connection = True
                self._json(status, answer)
            except FileStoreUnavailable:
                raise  # 503 + Retry-After: the client retries the upload
            except (ConnectionError, OSError) as e:
                log.warning("artifact upload failed: %s", e)
                self._refuse(400 if isinstance(e, ConnectionError) else 500, "upload failed")

    def _file_of(self, raw_path: str, signed: bool, what: str
                 ) -> tuple[str, str, str, str] | None:
        """``(entity, project, run, name)`` of a ``/storage/`` path that is signed, or asked
        for with a key that may see its entity; otherwise refused (403 / 400) and None."""
        if not signed and not self._authorized():
            self._refuse(403, f"invalid or expired {what} signature")
            return None
        parsed = uploads.split_upload_path(raw_path)
        if parsed is None:
            self._refuse(400, "invalid file path")
            return None
        entity = parsed[0]
        if not signed and self.principal is not None and not self.principal.can(entity):
            self._refuse(403, f"permission denied: entity {entity!r} is not yours")
            return None
        return parsed

    def _send_file(self, stored: StoredFile) -> None:
        with stored:
            self.send_response(200)
            self.send_header("Content-Type", inline_type(stored.name) or "application/octet-stream")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(stored.size))
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(stored.stream, self.wfile)

    def _forged(self, path: str) -> bool:
        """Refuse (403) a state-changing request another site's page made a browser send."""
        why = csrf.refusal(self.headers, null_origin_ok=path == pages.ROOT + "login")
        if why is not None:
            self._refuse(403, why)
        return why is not None

    @_unavailable_is_503
    def do_POST(self) -> None:
        path = self.path.partition("?")[0]
        if self._forged(path):
            return
        if path.startswith(urls.TELEMETRY):
            self._discard()
            return
        if pages.handles(path):  # the pages' login form
            length = self._length(64 * 1024)
            if length is not None:
                self._reply(*pages.post(self.ctx, path, self.rfile.read(length),
                                        self.headers.get("Cookie", "")))
            return
        if not self._require_auth():
            return
        if path == urls.LOGIN_CODE:  # a one-time pages login for the caller's principal
            length = self._length(64 * 1024)
            if length is not None:
                self.rfile.read(length)  # the body, if any, is not needed
                assert self.principal is not None
                self._reply(*pages.issue_code(self.ctx, self.principal))
            return
        if path.startswith(urls.API):
            length = self._length(self.ctx.max_body_bytes)
            if length is None:
                return
            self.rfile.read(length)  # the body, if any, is not needed
            status, value = readapi.post(
                self.ctx, path[len(urls.API) :], principal=self.principal
            )
            self._json(status, value)
            return
        stream = urls.parse_file_stream_path(path)
        if path != urls.GRAPHQL and stream is None:
            self._refuse(404, "not found")
            return
        ok, body = self._read_json()
        if not ok:
            return
        seq = parse_seq(self.headers.get(SEQ_HEADER))
        if stream is None:  # /graphql
            req = resolvers.Request(self.ctx, self._base_url(), self.principal, seq)
            answer = resolvers.execute(req, body)
            self._json(403 if resolvers.denied(answer) else 200, answer)
            return
        entity, project, run = stream
        if self.principal is not None and not self.principal.can(entity):
            self._json(403, {"error": f"permission denied: entity {entity!r} is not yours"})
            return
        status, answer = filestream.handle(self.ctx, entity, project, run, body, seq)
        self._json(status, answer)

    def _discard(self) -> None:
        """Accept and drop client telemetry (W&B clients export OpenTelemetry here)."""
        length = self._length(self.ctx.max_body_bytes)
        if length is None:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)
        self._json(200, {})

    def _key_alive(self, key_id: str) -> bool:
        row = self.ctx.storage.find_key(key_id)
        return row is not None and row["revoked_at"] is None

    def _signed(self, verify: Callable[[bytes, str, str], str | None], raw_path: str,
                query: str) -> str | None:
        """What ``verify`` finds (the key id it was signed for) with one of the database's
        signing keys (current or previous). Anything but the cached current key is checked
        against keys reread from the database, so a key rotated or retired through another
        replica counts at once."""
        keys = self.ctx.signing
        found = verify(keys.current(), raw_path, query)
        if found is not None:
            return found
        for k in keys.all(refresh=True):
            found = verify(k, raw_path, query)
            if found is not None:
                return found
        return None

    @_unavailable_is_503
    def do_PUT(self) -> None:
        raw_path, _, query = self.path.partition("?")
        if self._forged(raw_path):
            return
        if raw_path.startswith(artifact_files.PREFIX):
            self._artifact_upload(raw_path, query)
            return
        if not raw_path.startswith(uploads.UPLOAD_PREFIX):
            self._refuse(404, "not found")
            return
        kid = self._signed(uploads.verify, raw_path, query)
        if kid and not self._key_alive(kid):
            self._refuse(403, "the key this upload URL was made for is revoked")
            return
        parsed = self._file_of(raw_path, kid is not None, "upload")
        if parsed is None:
            return
        entity, project, run_name, name = parsed
        run = self.ctx.storage.get_run(entity, project, run_name)
        if run is None:
            self._refuse(404, f"run {entity}/{project}/{run_name} not found")
            return
        length = self._length(self.ctx.max_upload_bytes)
        if length is None:
            return
        start = time.monotonic()
        try:
            size = self.ctx.files.write(entity, project, run_name, name, self.rfile, length)
        except ValueError:
            self._refuse(400, "invalid file path")
            return
        except FileStoreUnavailable:
            raise  # 503 + Retry-After: the client retries the upload
        except (ConnectionError, OSError) as e:
            log.warning("upload of %s failed: %s", name, e)
            self._refuse(400 if isinstance(e, ConnectionError) else 500, "upload failed")
            return
        self.ctx.storage.record_file(int(run["rid"]), name, size)
        log.debug("stored %s (%d bytes) in %.3fs", name, size, time.monotonic() - start)
        self._json(200, {"ok": True, "size": size})
