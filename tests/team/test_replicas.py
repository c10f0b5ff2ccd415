"""Issue 19, acceptance 1: three replicas behind nginx (TLS) on one PostgreSQL and one S3
store, nbtrack's client and the official wandb client logging through it while one replica
is ``kill -9``ed and restarted and PostgreSQL is restarted.

Each client also logs media at :data:`MEDIA` (``nbtrack.Image`` / ``wandb.Image``, at the
middle step a gallery, a histogram and a table; the official client also saves the table as
an artifact, ``docs/artifacts.md``, which this test does not check).

Afterwards: every history row is stored exactly once, every stored file is downloadable
byte-exact through every replica and through nginx; every media file a row or a table
references is in S3 (none on a replica's disk) with the row's SHA-256; the media route
answers the same on every replica and through nginx; ``nbtrack.Api`` through nginx decodes
each image to the pixels logged (tables and histograms to their cells and counts); and a
page session made through nginx is valid on every replica. CI runs 2 + 2 clients x 2,000
steps; ``NBTRACK_LONG=1`` runs the issue's 4 + 4 clients x 50,000 steps.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import requests
from compat.venvs import INSTALLS

import nbtrack
from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage
from nbtrack.wire.mediatypes import KINDS
from team.scripts.load_client import media_steps, pixels, weights

from helpers.nginx import Nginx, start_nginx
from helpers.postgres import PostgresCluster
from helpers.s3 import S3, s3_server  # noqa: F401  (fixture)
from helpers.server import RunningServer, start_server

LONG = bool(os.environ.get("NBTRACK_LONG"))
CLIENTS = 4 if LONG else 2  # of each kind
STEPS = 50_000 if LONG else 2_000
SECONDS = 240.0 if LONG else 24.0  # how long each client's loop is paced to take
SCRIPT = Path(__file__).parent / "scripts" / "load_client.py"
MEDIA = media_steps(STEPS)
MEDIA_KEYS = {"sample", "gallery", "weights", "table"}  # what load_client.py logs


@dataclass
class Cluster:
    pg: PostgresCluster
    db: str
    key: str
    replicas: list[RunningServer]
    nginx: Nginx
    s3: S3


@pytest.fixture(scope="module")
def cluster(s3_server: S3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:  # noqa: F811
    INSTALLS.start("wandb")  # in the background while the rest starts
    base = tmp_path_factory.mktemp("replicas")
    # private, since this test restarts it; durable: with synchronous_commit off (the test
    # default) an immediate stop loses commits PostgreSQL had already acknowledged
    pg = PostgresCluster(durable=True)
    pg.start()
    replicas: list[RunningServer] = []
    nginx = None
    try:
        db = pg.create_database()
        storage = open_storage(db, pool_size=2)
        try:
            auth.add_user(storage, "alice", [])
            key = auth.create_key(storage, "alice")[1]
        finally:
            storage.close()
        files = s3_server.bucket("team-files") + "/nbtrack"
        with ThreadPoolExecutor(3) as pool:  # three start-ups at once
            replicas += pool.map(lambda i: start_server(
                base / f"r{i}", db=db, files=files, trusted_proxies="127.0.0.1", timeout=30,
                state_file=base / f"r{i}.json"), range(3))
        nginx = start_nginx(base / "nginx", [f"127.0.0.1:{r.port}" for r in replicas])
        yield Cluster(pg, db, key, replicas, nginx, s3_server)
    finally:
        if nginx is not None:
            nginx.stop()
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda r: r.stop(), replicas))
        pg.stop()


def _client(
    kind: str, c: Cluster, project: str, payload: Path, home: Path
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "NBTRACK_"))}
    env.update(REQUESTS_CA_BUNDLE=str(c.nginx.cert), SSL_CERT_FILE=str(c.nginx.cert),
               HOME=str(home), NBTRACK_DIR=str(home / "nbtrack"), WANDB_DIR=str(home),
               WANDB_SILENT="true", WANDB_DISABLE_GIT="true", WANDB_ERROR_REPORTING="false",
               WANDB_CONFIG_DIR=str(home / "config"), WANDB_CACHE_DIR=str(home / "cache"),
               WANDB_DATA_DIR=str(home / "data"))
    python = str(INSTALLS.get("wandb").python) if kind == "wandb" else sys.executable
    home.mkdir(parents=True)
    return subprocess.Popen(
        [python, str(SCRIPT), kind, c.nginx.url, c.key, project, str(STEPS), str(SECONDS),
         str(payload)],
        env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)


def _faults(c: Cluster, log: list[str]) -> None:
    """kill -9 one replica and start it again; then restart PostgreSQL (crash-style)."""
    time.sleep(SECONDS * 0.25)
    victim = c.replicas[1]
    victim.kill()
    log.append("replica 1 killed")
    time.sleep(2)
    victim.restart(timeout=30)
    log.append("replica 1 restarted")
    time.sleep(SECONDS * 0.2)
    c.pg.halt()
    log.append("postgres halted")
    time.sleep(3)
    c.pg.resume()
    log.append("postgres resumed")


def _missing(c: Cluster, project: str) -> list[tuple[int, int]]:
    """The step ranges a run lacks (for the failure message)."""
    with psycopg.connect(c.db) as db:
        have = {r[0] for r in db.execute("SELECT h.step FROM history h JOIN runs r USING (rid)"
                                          " WHERE r.project=%s", (project,))}
    gaps, start = [], None
    for s in range(STEPS + 1):
        if s not in have and s < STEPS and start is None:
            start = s
        elif (s in have or s == STEPS) and start is not None:
            gaps.append((start, s - 1))
            start = None
    return gaps


def _media_refs(
    c: Cluster, project: str, name: str, body_of: dict[tuple[str, str], bytes]
) -> dict[str, str | None]:
    """The run's media files its history rows reference (and the image cells of its tables),
    each with the SHA-256 the row gives (None: none given, a gallery's or a cell's)."""
    with psycopg.connect(c.db) as db:
        texts = [r[0] for r in db.execute(
            "SELECT h.data FROM history h JOIN runs r USING (rid)"
            " WHERE r.project=%s AND r.name=%s AND h.data LIKE '%%\"_type\"%%'",
            (project, name))]
    refs: dict[str, str | None] = {}

    def visit(value: object) -> None:
        if isinstance(value, dict) and value.get("_type") in ("image-file", "table-file"):
            refs[value["path"]] = value.get("sha256")
            if value["_type"] == "table-file":
                table = json.loads(body_of[project, value["path"]])
                for cell in (cell for row in table["data"] for cell in row):
                    if isinstance(cell, dict) and cell.get("_type") == "image-file":
                        refs.setdefault(cell["path"], None)
        elif isinstance(value, dict) and value.get("_type") == "images/separated":
            refs.update((f, None) for f in value["filenames"])

    for text in texts:
        for value in json.loads(text).values():
            visit(value)
    return refs


def _same_everywhere(
    c: Cluster, through: Sequence[tuple[str, str | None]], project: str, name: str,
    params: dict[str, str | int]
) -> dict[str, Any]:
    """The media route's answer, asserted equal on every replica and through nginx."""
    answers = []
    for url, verify in through:
        got = requests.get(f"{url}/api/v1/runs/alice/{project}/{name}/media", params=params,
                           auth=("api", c.key), verify=verify or True, timeout=30)
        assert got.status_code == 200, (url, params, got.text[:300])
        answers.append(got.json())
    assert all(a == answers[0] for a in answers), (params, answers)
    return dict(answers[0])


def test_replicas_behind_nginx_survive_a_killed_replica_and_a_postgres_restart(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = cluster
    kinds = ["nbtrack"] * CLIENTS + ["wandb"] * CLIENTS
    payloads = []
    for i in range(len(kinds)):
        p = tmp_path / f"payload{i}" / f"weights-{i}.bin"
        p.parent.mkdir()
        p.write_bytes(secrets.token_bytes(150_000 + i))
        payloads.append(p)
    procs = [_client(k, c, f"c{i}", payloads[i], tmp_path / f"home{i}")
             for i, k in enumerate(kinds)]
    events: list[str] = []
    faults = threading.Thread(target=_faults, args=(c, events), daemon=True)
    faults.start()
    outs = [p.communicate(timeout=SECONDS + 240) for p in procs]
    faults.join(60)
    assert events[-1] == "postgres resumed", events
    for kind, proc, (out, err) in zip(kinds, procs, outs, strict=True):
        assert proc.returncode == 0, f"{kind}: {out[-2000:]}\n{err[-4000:]}"
        result = json.loads(out.split("RESULT ", 1)[1])
        assert result["state"] == "finished", (kind, result, err[-3000:])

    # every row exactly once, every run finished (read from the database itself)
    with psycopg.connect(c.db) as db:
        rows = db.execute(
            "SELECT r.project, r.name, r.entity, r.state, count(h.line), count(DISTINCT h.step),"
            " min(h.step), max(h.step) FROM runs r LEFT JOIN history h ON h.rid = r.rid"
            " GROUP BY r.rid ORDER BY r.project").fetchall()
    assert [r[0] for r in rows] == [f"c{i}" for i in range(len(kinds))], rows
    for project, _, entity, state, n, distinct, lo, hi in rows:
        assert (entity, state, n, distinct, lo, hi) == ("alice", "finished", STEPS, STEPS, 0,
                                                        STEPS - 1), (project, _missing(c, project))

    # every file byte-exact through every replica and through nginx
    through = [(r.url, None) for r in c.replicas] + [(c.nginx.url, str(c.nginx.cert))]
    stored = 0
    body_of: dict[tuple[str, str], bytes] = {}
    for i, (project, name, *_) in enumerate(rows):
        listed = requests.get(f"{c.nginx.url}/api/v1/runs/alice/{project}/{name}/files",
                              auth=("api", c.key), verify=str(c.nginx.cert), timeout=30)
        files = {f["name"]: f["size"] for f in listed.json()["files"]}
        assert payloads[i].name in files, (project, files)
        stored += len(files)
        for fname, size in files.items():
            bodies = set()
            for url, verify in through:
                got = requests.get(f"{url}/api/v1/runs/alice/{project}/{name}/files/{fname}",
                                   auth=("api", c.key), verify=verify or True, timeout=30)
                assert got.status_code == 200, (url, fname, got.text[:200])
                assert len(got.content) == size
                bodies.add(got.content)
            assert len(bodies) == 1, (project, fname)
            body_of[project, fname] = bodies.pop()
            if fname == payloads[i].name:
                assert body_of[project, fname] == payloads[i].read_bytes()
    objects = c.s3.client().list_objects_v2(Bucket="team-files", Prefix="nbtrack/")
    keys = [o["Key"] for o in objects.get("Contents", [])]
    assert len([k for k in keys if "/.artifacts/" not in k]) == stored  # the run files
    # the official client's wandb.Table is also a run_table artifact, saved through the
    # replicas while one was killed and PostgreSQL restarted: each version is committed and
    # each of its files reads the same through every replica and nginx, its MD5 its digest
    assert any("/.artifacts/" in k for k in keys), keys
    artifacts = 0
    for i, (project, name, *_) in enumerate(rows):
        base = f"api/v1/runs/alice/{project}/{name}/artifacts"
        answers = [requests.get(f"{url}/{base}", auth=("api", c.key), verify=verify or True,
                                timeout=30).json() for url, verify in through]
        assert all(a == answers[0] for a in answers), (project, answers)
        for version in answers[0]["logged"]:
            artifacts += 1
            for f in version["files"]:
                bodies = {requests.get(f"{url}/{base}/{version['name']}/files/{f['name']}",
                                       auth=("api", c.key), verify=verify or True,
                                       timeout=30).content for url, verify in through}
                assert len(bodies) == 1, (project, version["name"], f["name"])
                body = bodies.pop()
                assert len(body) == f["size"]
                assert base64.b64encode(hashlib.md5(body).digest()).decode() == f["digest"]
        if kinds[i] == "wandb":
            assert any(v["type"] == "run_table" for v in answers[0]["logged"]), project
    assert artifacts >= kinds.count("wandb")
    for r in c.replicas:
        assert not (r.dir / "server" / "files").exists()  # nothing on a replica's disk

    # every media file a row references is in S3 (so among the files above: byte-exact
    # through every replica and nginx), with the SHA-256 the client put in the row
    s3_keys = {o["Key"] for o in objects["Contents"]}
    for kind, (project, name, *_) in zip(kinds, rows, strict=True):
        refs = _media_refs(c, project, name, body_of)
        # the samples, a gallery of two, a table (nbtrack's: and its one content-addressed
        # image, in both cells)
        assert len(refs) == len(MEDIA) + 3 + (kind == "nbtrack"), (project, refs)
        for path, sha in refs.items():
            assert f"nbtrack/alice/{project}/{name}/{path}" in s3_keys, (project, path)
            assert (project, path) in body_of, (project, path)  # listed, so downloaded above
            if sha is not None:
                assert hashlib.sha256(body_of[project, path]).hexdigest() == sha, path
        # the media route answers the same on every replica and through nginx
        listing = _same_everywhere(c, through, project, name, {})
        assert {k["key"] for k in listing["keys"]} == MEDIA_KEYS, listing
        for key in MEDIA_KEYS:
            steps = _same_everywhere(c, through, project, name, {"key": key})
            assert steps["steps"] == (list(MEDIA) if key == "sample" else [MEDIA[1]]), steps
            spread = _same_everywhere(c, through, project, name, {"key": key, "samples": 10})
            assert [v["step"] for v in spread["values"]] == steps["steps"], spread
            assert all(v["value"]["_type"] in KINDS for v in spread["values"]), spread
            at = _same_everywhere(c, through, project, name, {"key": key, "step": MEDIA[1]})
            by_step = {v["step"]: v["value"] for v in spread["values"]}
            assert at["step"] == MEDIA[1] and at["value"] == by_step[MEDIA[1]], at

    # the pixels logged come back decoded through nginx (nbtrack.Api's media objects)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(c.nginx.cert))
    api = nbtrack.Api(c.nginx.url, c.key)
    for kind, (project, name, *_) in zip(kinds, rows, strict=True):
        run = api.run(f"alice/{project}/{name}")
        for step in MEDIA:
            (row,) = run.history(min_step=step, max_step=step)
            px = pixels(project, step)
            assert np.array_equal(row["sample"].to_numpy(), px), (kind, project, step)
            if step != MEDIA[1]:
                continue
            assert [g.to_numpy().tolist() for g in row["gallery"]] == [px.tolist(),
                                                                        (255 - px).tolist()]
            counts, _edges = np.histogram(weights(project), bins=16)
            assert row["weights"].values == counts.tolist(), (kind, project)
            table = row["table"]
            assert table.columns == ["image", "label"] and [r[1] for r in table.data] == ["a", "b"]
            if kind == "nbtrack":
                assert all(np.array_equal(r[0].to_numpy(), px) for r in table.data)

    # a page session made through nginx is valid on every replica
    code = requests.post(f"{c.nginx.url}/api/v1/login-code", auth=("api", c.key), data=b"",
                         verify=str(c.nginx.cert), timeout=30).json()["code"]
    browser = requests.Session()
    login = browser.get(f"{c.nginx.url}/pages/login?once={code}", allow_redirects=False,
                        verify=str(c.nginx.cert), timeout=30)
    assert login.status_code == 302
    sid = browser.cookies["nbtrack_session"]
    for r in c.replicas:
        viewer = requests.get(f"{r.url}/pages/api/viewer", cookies={"nbtrack_session": sid},
                              timeout=30)
        assert viewer.status_code == 200 and viewer.json()["entity"] == "alice"
