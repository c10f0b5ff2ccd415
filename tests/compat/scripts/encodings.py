"""The same calls, logged by any W&B-style client; and the official client's own records.

``calls(run)`` makes the calls (the test runs it with nbtrack; this script with wandb).

    encodings.py PROJECT ID     wandb: the calls online (to WANDB_BASE_URL), then the same
                                calls offline; prints ``RECORDS {json}``: what the offline
                                run's ``.wandb`` log holds, decoded with wandb's own protos

Importing this module imports nothing; ``main`` imports wandb.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

CONFIG = {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}}
STEPS = 5


def calls(run: Any) -> None:
    run.define_metric("epoch", hidden=True)
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max")
    run.define_metric("acc", summary="last")  # a second call for one name: merged
    run.define_metric("val/*", step_metric="epoch", summary="mean")
    run.define_metric("m", summary="first,none")
    for i in range(STEPS):
        run.log({"loss": 1.0 / (i + 1), "acc": i / STEPS, "epoch": i, "val/x": i * 2.5,
                 "m": i, "text": f"row {i}"})
    run.config.update({"later": {"deep": 1}})
    run.summary["manual"] = 42


# ------------------------------------------------------------------ the .wandb log

_BLOCK = 32 * 1024
_HEADER = 7  # ":W&B", a 2-byte magic, a version byte
_CHUNK = 7  # CRC-32C (4), length (2, little-endian), type (1: full, 2 first, 3 middle, 4 last)


def _chunks(data: bytes) -> list[bytes]:
    """The records of a W&B transaction log (LevelDB's log framing after a 7-byte header)."""
    out: list[bytes] = []
    pos, partial = _HEADER, b""
    while pos + _CHUNK <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _CHUNK:  # the block's tail is padding
            pos += left
            continue
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        body = data[pos + _CHUNK:pos + _CHUNK + length]
        pos += _CHUNK + length
        if kind == 1:
            out.append(body)
        elif kind == 2:
            partial = body
        elif kind == 3:
            partial += body
        elif kind == 4:
            out.append(partial + body)
        elif kind == 0 and length == 0:
            break
    return out


def _items(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        key = "/".join(it.nested_key) if it.nested_key else it.key
        out[key] = json.loads(it.value_json)
    return out


class IncompleteLog(Exception):
    """The log has no exit record yet (wandb-core writes it after ``finish`` returned)."""


def read_log(path: Path) -> dict[str, Any]:
    """Config, metric definitions, history, summary and telemetry of a ``.wandb`` log."""
    from wandb.proto import wandb_internal_pb2 as pb

    config: dict[str, Any] = {}
    metrics: dict[str, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    telemetry: dict[str, Any] = {}
    records = []
    for raw in _chunks(path.read_bytes()):
        rec = pb.Record()
        try:
            rec.ParseFromString(raw)
        except Exception as e:  # a torn last chunk, still being written
            raise IncompleteLog(path) from e
        records.append(rec)
    if not any(r.WhichOneof("record_type") == "exit" for r in records):
        raise IncompleteLog(path)
    for rec in records:
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            config.update(_items(rec.run.config.update))
        elif kind == "config":
            config.update(_items(rec.config.update))
        elif kind == "metric":
            m = rec.metric
            name = m.name or m.glob_name
            d = metrics.setdefault(name, {"step_metric": "", "summary": set(), "hidden": False})
            if m.step_metric:
                d["step_metric"] = m.step_metric
            d["hidden"] = d["hidden"] or m.options.hidden
            d["summary"] |= {f.name for f, on in m.summary.ListFields() if on}
        elif kind == "history":
            history.append(_items(rec.history.item))
        elif kind == "summary":
            summary.update(_items(rec.summary.update))
        elif kind == "telemetry":
            t = rec.telemetry
            telemetry = {"python_version": t.python_version, "cli_version": t.cli_version,
                         "platform": t.platform}
    return {"config": config, "history": history, "summary": summary,
            "telemetry": telemetry,
            "metrics": {k: {**v, "summary": sorted(v["summary"])} for k, v in metrics.items()}}


def main(project: str, run_id: str) -> None:
    import wandb

    with wandb.init(project=project, id=run_id, config=CONFIG) as run:
        calls(run)
    with wandb.init(project=project, id=run_id + "-offline", config=CONFIG,
                    mode="offline") as run:
        calls(run)
        sync_dir = Path(run.settings.sync_dir)
    wandb.teardown()  # ends wandb-core, which flushes the log
    log = next(sync_dir.glob("*.wandb"))
    deadline = time.monotonic() + 60
    while True:
        try:
            records = read_log(log)
            break
        except IncompleteLog:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    print("RECORDS " + json.dumps(records), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
