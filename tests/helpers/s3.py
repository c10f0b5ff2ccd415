"""A real S3 API on 127.0.0.1 for the tests: moto's server mode (from PyPI) in a subprocess.

moto is an emulator of AWS S3's HTTP API, not a store to deploy; the code under test talks
to it with boto3 over real HTTP exactly as it would to AWS S3, MinIO or Ceph. The
environment the servers need (endpoint, dummy credentials, region) is :meth:`S3.env`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from helpers.procs import terminate
from helpers.server import free_port
from helpers.wait import wait_until_up


@dataclass
class S3:
    endpoint: str
    proc: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="test",
                            aws_secret_access_key="test", region_name="us-east-1")

    def bucket(self, name: str) -> str:
        """Create the bucket; its ``s3://`` URL."""
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"

    def stop(self) -> None:
        terminate(self.proc)


def start_s3(log: Path) -> S3:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                env={**os.environ, "MOTO_CALL_RESET_API": "false"})

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code < 500
        except requests.RequestException:
            return False

    wait_until_up(proc, up, 60.0, "moto's S3 server")
    return S3(f"http://127.0.0.1:{port}", proc)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    """An S3 API for the test module; its environment set for the servers it starts."""
    s3 = start_s3(tmp_path_factory.mktemp("s3") / "moto.log")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3.env().items():
            mp.setenv(k, v)
        yield s3
    s3.stop()
