"""Run files in an S3-compatible object store (``--files s3://bucket/prefix``), via boto3.

Every replica behind a load balancer reads and writes the same objects, so a file uploaded
through one is downloadable through all. Objects are ``<prefix>/<entity>/<project>/<run>/
<name>``, names checked by :func:`.files.safe_name` like the local store's. The endpoint,
region and credentials come from the standard AWS environment and config files
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``~/.aws/config`` ...), so the same code talks to
AWS S3, MinIO, Ceph RGW, Cloudflare R2 or GCS's interoperability API. An upload is streamed
to the store as it arrives (multipart above 8 MiB), never held whole in memory; a PUT is
atomic in S3, so a file appears whole or not at all.

Direct uploads (the default with this store, ``docs/deploy.md``): :meth:`S3FileStore.
presign_put` makes a SigV4 presigned PUT URL for one object key, so clients upload straight
to the store and the replica never carries the bytes. The signature covers the method, the
bucket and the key, and expires; the URL holds the access key id, never the secret.

Needs the optional extra ``nbtrack[team]`` (boto3).
"""

from __future__ import annotations

import urllib.parse
from io import BufferedIOBase, RawIOBase
from typing import Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from nbtrack.server.storage.files import FileStoreUnavailable, StoredFile, safe_name

__all__ = ["S3FileStore", "parse_s3_url"]


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket[/prefix]``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"invalid file store URL {url!r}: use s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


class _Exactly(RawIOBase):
    """``length`` bytes of a socket stream, then EOF; a short stream raises ConnectionError
    (boto3 reads until EOF, which a kept-alive connection never sends)."""

    def __init__(self, src: BufferedIOBase, length: int) -> None:
        self._src, self._left = src, length

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(b)
        chunk = self._src.read(min(len(view), self._left))
        if not chunk:
            raise ConnectionError("the client closed the connection mid-upload")
        view[: len(chunk)] = chunk
        self._left -= len(chunk)
        return len(chunk)


# an upload holds at most chunk x concurrency bytes in memory, however large the file
_TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024,
                           multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)


class S3FileStore:
    """The :class:`.files.FileStore` of an S3 bucket (and key prefix)."""

    def __init__(self, url: str, client: Any = None) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self._s3 = client or boto3.client(
            "s3", config=Config(retries={"mode": "standard", "max_attempts": 3},
                                connect_timeout=10, read_timeout=60,
                                signature_version="s3v4")  # presigned URLs too (not SigV2)
        )

    def check(self) -> None:
        """Fail at start-up, with the reason, when the bucket cannot be reached."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as e:
            raise RuntimeError(f"object store s3://{self.bucket}: {e}") from None

    def _base(self, entity: str, project: str, run: str) -> str:
        if not all(safe_name(p) == p and "/" not in p for p in (entity, project, run)):
            raise ValueError(f"invalid run path {entity}/{project}/{run}")
        return "/".join(p for p in (self.prefix, entity, project, run) if p) + "/"

    def _key(self, entity: str, project: str, run: str, name: str) -> str:
        clean = safe_name(name)
        if clean is None:
            raise ValueError(f"invalid file name {name!r}")
        return self._base(entity, project, run) + clean

    def presign_put(self, entity: str, project: str, run: str, name: str, expires: int) -> str:
        """A URL to PUT this one object with, good for ``expires`` seconds (signed locally:
        no request to the store)."""
        key = self._key(entity, project, run, name)
        try:
            return str(self._s3.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires,
                HttpMethod="PUT"))
        except (ClientError, BotoCoreError) as e:
            raise FileStoreUnavailable(f"object store: {e}") from None

    def write(
        self, entity: str, project: str, run: str, name: str, src: BufferedIOBase, length: int
    ) -> int:
        """Stream exactly ``length`` bytes from ``src`` into the object."""
        key = self._key(entity, project, run, name)
        body = _Exactly(src, length)
        try:
            self._s3.upload_fileobj(cast(BinaryIO, body), self.bucket, key, Config=_TRANSFER)
        except (ClientError, BotoCoreError) as e:
            raise FileStoreUnavailable(f"object store: {e}") from None
        if body._left:
            raise ConnectionError("the client closed the connection mid-upload")
        return length

    def open_read(self, entity: str, project: str, run: str, name: str) -> StoredFile | None:
        key = self._key(entity, project, run, name)
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise FileStoreUnavailable(f"object store: {e}") from None
        except BotoCoreError as e:
            raise FileStoreUnavailable(f"object store: {e}") from None
        return StoredFile(key.rsplit("/", 1)[-1], int(obj["ContentLength"]), obj["Body"])

    def list(self, entity: str, project: str, run: str) -> list[tuple[str, int]]:
        base = self._base(entity, project, run)
        out = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                out += [(o["Key"][len(base):], int(o["Size"])) for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as e:
            raise FileStoreUnavailable(f"object store: {e}") from None
        return sorted(out)

    def delete(self, entity: str, project: str, run: str, name: str) -> bool:
        key = self._key(entity, project, run, name)
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        except BotoCoreError as e:
            raise FileStoreUnavailable(f"object store: {e}") from None
        self._s3.delete_object(Bucket=self.bucket, Key=key)
        return True
