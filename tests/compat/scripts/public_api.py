"""Log a set of runs with either client, or read them back with ``wandb.Api()``.

    public_api.py log wandb|nbtrack BASE_URL API_KEY PROJECT BLOB
        four runs (ids r-a … r-d) with distinct config / summary / tags / names / states;
        r-a has 1500 rows and saves BLOB; r-c exits with code 1
    public_api.py read PROJECT [PROJECT ...] --blob BLOB --dl DIR
        every read the test checks, per project, as one ``RESULT {json}`` line

The log half runs in the official client's venv or in nbtrack's interpreter; the read half
only in the official client's venv. Nothing here knows the expected answers: the test does.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

RUNS: list[dict[str, Any]] = [
    {"id": "r-a", "name": "alpha-1", "tags": ["a", "base"], "steps": 1500, "loss": 0.5,
     "exit": 0, "config": {"lr": 0.1, "batch": 32, "opt": "adam", "model": {"layers": 4}}},
    {"id": "r-b", "name": "beta-2", "tags": ["b"], "steps": 30, "loss": 0.2, "exit": 0,
     "config": {"lr": 0.01, "batch": 64, "opt": "sgd", "model": {"layers": 2}}},
    {"id": "r-c", "name": "gamma-3", "tags": ["a", "c"], "steps": 30, "loss": 0.9, "exit": 1,
     "config": {"lr": 0.001, "batch": 64, "opt": "adam", "model": {"layers": 8}}},
    {"id": "r-d", "name": "delta-4", "tags": ["d"], "steps": 10, "loss": None, "exit": 0,
     "config": {"lr": 0.05, "model": {"layers": 2}}},
]


def rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    n, out = spec["steps"], []
    for i in range(n):
        row: dict[str, Any] = {"acc": i / n, "sq": i * i}
        if spec["loss"] is not None:
            row["loss"] = spec["loss"] + (n - 1 - i) * 0.001
        out.append(row)
    return out


def log(client: str, base: str, key: str, project: str, blob: str) -> None:
    for spec in RUNS:
        if client == "wandb":
            import wandb

            run = wandb.init(project=project, id=spec["id"], name=spec["name"],
                             config=spec["config"], tags=spec["tags"], notes="n-" + spec["id"],
                             reinit="finish_previous")
        else:
            import nbtrack

            run = nbtrack.init(project=project, id=spec["id"], name=spec["name"],
                               config=spec["config"], tags=spec["tags"],
                               notes="n-" + spec["id"], mode="online", base_url=base,
                               api_key=key)
        for row in rows(spec):
            run.log(row)
        if spec["id"] == "r-a":
            for i in range(3):
                print(f"console line {i}", flush=True)
            print("console error line", file=sys.stderr, flush=True)
            if client == "wandb":
                run.save(blob, base_path=os.path.dirname(blob), policy="now")
            else:
                run.save(blob)
        run.finish(exit_code=spec["exit"])
    print("RESULT " + json.dumps({"logged": [s["id"] for s in RUNS]}), flush=True)


FILTERS: dict[str, Any] = {
    "eq": {"config.lr": 0.01},
    "eq_value_path": {"config.lr.value": {"$eq": 0.001}},
    "gt": {"config.lr.value": {"$gt": 0.005}},
    "gte": {"config.batch": {"$gte": 64}},
    "lt": {"config.lr": {"$lt": 0.05}},
    "lte": {"config.lr": {"$lte": 0.05}},
    "ne": {"config.opt": {"$ne": "adam"}},
    "nested": {"config.model.layers": 2},
    "exists_false": {"config.batch": {"$exists": False}},
    "exists_true": {"config.batch": {"$exists": True}},
    "in_tags": {"tags": {"$in": ["a"]}},
    "nin_tags": {"tags": {"$nin": ["a"]}},
    "in_config": {"config.opt": {"$in": ["sgd", "rmsprop"]}},
    "regex_display_name": {"display_name": {"$regex": "^(alpha|gamma)"}},
    "regex_displayName": {"displayName": {"$regex": "a-[34]$"}},
    "state": {"state": "failed"},
    "state_finished": {"state": {"$eq": "finished"}},
    "name": {"name": "r-b"},
    "summary_lt": {"summary_metrics.loss": {"$lt": 0.6}},
    "summary_exists": {"summary_metrics.loss": {"$exists": False}},
    "or": {"$or": [{"name": "r-b"}, {"config.model.layers": 4}]},
    "and": {"$and": [{"tags": "a"}, {"state": "finished"}]},
    "nor": {"$nor": [{"tags": "a"}, {"state": "failed"}]},
}
ORDERS = ["+created_at", "-created_at", "-summary_metrics.loss", "+summary_metrics.loss",
          "+config.lr", "-config.lr.value", "display_name"]


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:600]


def read_project(api: Any, entity: str, project: str, blob: str, dl: str) -> dict[str, Any]:
    path = f"{entity}/{project}"
    out: dict[str, Any] = {"filters": {}, "orders": {}}
    for label, flt in FILTERS.items():
        out["filters"][label] = sorted(r.id for r in api.runs(path, filters=flt))
    created_b = api.run(f"{path}/r-b").created_at
    out["filters"]["createdAt_gt"] = sorted(
        r.id for r in api.runs(path, filters={"createdAt": {"$gt": created_b}}))
    for order in ORDERS:
        out["orders"][order] = [r.id for r in api.runs(path, order=order)]
    paged = api.runs(path, per_page=2)
    out["paged"] = [r.id for r in paged]
    out["len_all"] = len(api.runs(path, per_page=2))
    out["len_tag_a"] = len(api.runs(path, filters={"tags": {"$in": ["a"]}}))
    lazy = next(iter(api.runs(path, filters={"name": "r-b"})))
    out["lazy_config"] = lazy.config  # a lazy run loads its config on first use

    run = api.run(f"{path}/r-a")
    info: dict[str, Any] = {
        "id": run.id, "name": run.name, "state": run.state, "tags": run.tags,
        "notes": run.notes, "config": run.config, "summary_loss": run.summary.get("loss"),
        "summary_step": run.summary.get("_step"), "last_step": run.lastHistoryStep,
        "project_id": run._project_internal_id, "system_metrics": run.system_metrics,
    }
    sampled = run.history(pandas=False)
    info["history_len"] = len(sampled)
    info["history_steps"] = [r["_step"] for r in sampled]
    full = run.history(samples=5000, pandas=False)
    info["history_full_steps"] = [r["_step"] for r in full]
    info["history_full_loss"] = [r["loss"] for r in full]
    keyed = run.history(keys=["loss"], samples=100, pandas=False)
    info["history_keys"] = sorted({k for r in keyed for k in r})
    info["history_keys_len"] = len(keyed)
    scan = list(run.scan_history(page_size=400))
    info["scan_steps"] = [r["_step"] for r in scan]
    info["scan_loss"] = [r["loss"] for r in scan]
    info["scan_keys"] = sorted({k for r in scan for k in r})
    scan_k = list(run.scan_history(keys=["loss"], page_size=400))
    info["scan_loss_only"] = [r["loss"] for r in scan_k]
    info["scan_loss_only_keys"] = sorted({k for r in scan_k for k in r})
    info["scan_range"] = [r["_step"] for r in run.scan_history(min_step=100, max_step=110,
                                                                page_size=4)]
    info["files"] = {f.name: f.size for f in run.files()}
    info["file_count"] = len(run.files(per_page=1))
    info["files_paged"] = [f.name for f in run.files(per_page=1)]
    f = run.file(os.path.basename(blob))
    f.download(root=dl, replace=True)
    with open(os.path.join(dl, f.name), "rb") as got:
        info["download_sha256"] = hashlib.sha256(got.read()).hexdigest()
    info["file_md5"] = f.md5
    info["system_history"] = len(run.history(stream="system", pandas=False))
    info["console"] = [(ln.level, ln.content) for ln in run.console_logs(per_page=2)
                       if "console" in ln.content]
    info["console_tail"] = [ln.content for ln in run.console_logs(last=1)]
    info["console_numbers"] = [ln.number for ln in run.console_logs(per_page=2)]
    out["run"] = info

    upd = api.run(f"{path}/r-b")
    upd.tags = [*upd.tags, "updated"]
    upd.notes = "changed notes"
    upd.config["added"] = {"k": 1}
    upd.summary["extra"] = 7
    upd.update()
    import wandb

    again = wandb.Api().run(f"{path}/r-b")
    out["updated"] = {"tags": again.tags, "notes": again.notes, "config": again.config,
                      "extra": again.summary.get("extra"), "loss": again.summary.get("loss"),
                      "state": again.state}
    return out


def _upload(run: Any) -> Any:
    path = os.path.join(run._dl_for_probe, "uploaded.txt")
    with open(path, "w") as f:
        f.write("uploaded with run.upload_file\n")
    got = run.upload_file(path, root=run._dl_for_probe)
    names = [f.name for f in run.files()]
    assert got.name == "uploaded.txt" and "uploaded.txt" in names, names


def _histories(run: Any) -> Any:
    got = run._api_for_probe.runs(f"{run.entity}/{run.project}").histories(samples=5)
    assert {r["run_id"] for r in got} == {"r-a", "r-b", "r-c", "r-d"}, got


def _metadata(run: Any) -> Any:
    meta = run._api_for_probe.run(f"{run.entity}/{run.project}/r-a").metadata
    assert isinstance(meta, dict), meta


def _wait(run: Any) -> Any:
    run.wait_until_finished()
    assert run.state == "finished"


PROBES = {
    "run.upload_file(path)": _upload,
    "runs.histories()": _histories,
    "run.metadata": _metadata,
    "run.wait_until_finished()": _wait,
    "run.file(name).download()": lambda run: run.file("wandb-summary.json").download(
        root=run._dl_for_probe, replace=True),
    "api.viewer": lambda run: run._api_for_probe.viewer.username,
    "run.update_state(state)": lambda run: run.update_state("failed"),
    "Run.create(api)": lambda run: type(run).create(run._api_for_probe, run_id="created",
                                                     project=run.project, state="pending"),
    "api.users(query)": lambda run: run._api_for_probe.users("root"),
    "api.team(name)": lambda run: run._api_for_probe.team("t").name,

    "run.logged_artifacts()": lambda run: list(run.logged_artifacts()),
    "run.used_artifacts()": lambda run: list(run.used_artifacts()),
    "project.sweeps()": lambda run: list(run._api_for_probe.project(run.project).sweeps()),
    "api.sweep(path)": lambda run: run._api_for_probe.sweep(f"{run.entity}/{run.project}/x"),
    "api.artifact(name)": lambda run: run._api_for_probe.artifact(
        f"{run.entity}/{run.project}/a:latest"),
    "api.reports(path)": lambda run: list(run._api_for_probe.reports(
        f"{run.entity}/{run.project}")),
    "run.download_history_exports(dir)": lambda run: run.download_history_exports(
        run._dl_for_probe),
    "run.delete()": lambda run: run.delete(),
}


def read(projects: list[str], blob: str, dl: str) -> None:
    import wandb

    api = wandb.Api(timeout=60)
    entity = api.default_entity
    result: dict[str, Any] = {"entity": entity,
                              "projects": sorted(p.name for p in api.projects(entity)),
                              "project": {}, "probes": {}}
    one = api.project(projects[0], entity)
    result["project_fields"] = {"name": one.name, "entity": one.entity,
                                "created_at": one.created_at,
                                "owner": one.owner._attrs.get("username")}
    for project in projects:
        result["project"][project] = read_project(api, entity, project, blob, dl)
    run = api.run(f"{entity}/{projects[0]}/r-d")
    run._api_for_probe = api
    run._dl_for_probe = dl
    for label, probe in PROBES.items():
        try:
            probe(run)
            result["probes"][label] = "works"
        except Exception as e:
            result["probes"][label] = _err(e)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "log":
        log(*args[:5])
    elif cmd == "read":
        projects = [a for a in args if not a.startswith("--")]
        blob = args[args.index("--blob") + 1]
        dl = args[args.index("--dl") + 1]
        read([p for p in projects if p not in (blob, dl)], blob, dl)
    else:
        raise SystemExit(f"unknown command {cmd!r}")
