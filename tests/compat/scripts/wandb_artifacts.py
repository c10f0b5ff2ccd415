"""The official ``wandb`` client's artifacts against nbtrack's server (run in its own venv).

    wandb_artifacts.py log PROJECT DIR NAME    one run: log_artifact(DIR) as NAME (v0), then
                                               with DIR/f000.txt changed (v1); log_code();
                                               a wandb.Table in the history; an artifact
                                               named "bad..name" (refused)
    wandb_artifacts.py use PROJECT NAME OUT EXTRA...
                                               one run: use_artifact NAME:v0 / :v1 / :latest,
                                               each downloaded under OUT; then wandb.Api():
                                               lineage of NAME:v1, a missing alias, a bad name,
                                               aliases added and removed, NAME:latest linked
                                               into a portfolio, each run's logged and used
                                               artifacts, each EXTRA (name:alias) downloaded
    wandb_artifacts.py race PROJECT NAME TAG   one run logs NAME (its content is TAG) at once
                                               with the others: each waits after init until
                                               $RACE_N racers are in $RACE_DIR

    wandb_artifacts.py offline PROJECT NAME    (with WANDB_MODE=offline) a run logs NAME, 5
                                               files, to be sent later by ``wandb sync``

Prints ``RESULT {json}`` lines the test reads.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import wandb


def _result(**values: object) -> None:
    print("RESULT " + json.dumps(values), flush=True)


def log(project: str, folder: str, name: str) -> None:
    run = wandb.init(project=project, name="logger")
    art = wandb.Artifact(name, type="dataset", metadata={"rows": 100})
    art.add_dir(folder)
    logged = run.log_artifact(art, aliases=["first"])
    logged.wait()
    v0 = logged.version
    Path(folder, "f000.txt").write_text("changed\n")
    art = wandb.Artifact(name, type="dataset")
    art.add_dir(folder)
    logged = run.log_artifact(art)
    logged.wait()
    code = Path(folder).parent / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text("print('training')\n")
    code_art = run.log_code(str(code))
    run.log({"table": wandb.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    bad = wandb.Artifact("bad..name", type="dataset")
    bad.add_file(str(code / "train.py"))
    try:
        run.log_artifact(bad).wait()
        refused = None
    except Exception as e:  # the test reads the message
        refused = f"{type(e).__name__}: {e}"
    run_id = run.id
    run.finish()
    _result(id=run_id, entity=run.entity, versions=[v0, logged.version],
            code=code_art.name if code_art is not None else None, refused=refused)


def use(project: str, name: str, out: str, *extra: str) -> None:
    run = wandb.init(project=project, name="user")
    got = {}
    for alias in ("v0", "v1", "latest"):
        art = run.use_artifact(f"{name}:{alias}")
        path = art.download(root=os.path.join(out, alias))
        got[alias] = {"version": art.version, "path": path, "aliases": sorted(art.aliases)}
    base = f"{run.entity}/{project}"
    run.link_artifact(art, f"{base}/{name}-portfolio", aliases=["prod"])
    run_id = run.id
    run.finish()
    api = wandb.Api()
    v1 = api.artifact(f"{base}/{name}:v1")
    linked = api.artifact(f"{base}/{name}-portfolio:prod")
    v0 = api.artifact(f"{base}/{name}:v0")
    v0.aliases.append("gold")
    v0.description = "the first"
    v0.save()
    gold = api.artifact(f"{base}/{name}:gold")
    gold.aliases.remove("gold")
    gold.save()
    errors = {}
    for label, path in (("missing", f"{base}/{name}:no-such-alias"),
                        ("invalid", f"{base}/bad..name:v0")):
        try:
            api.artifact(path)
            errors[label] = None
        except Exception as e:  # the test reads the message
            errors[label] = f"{type(e).__name__}: {e}"
    extras = {}
    for full in extra:
        art = api.artifact(f"{base}/{full}")
        extras[full] = {"type": art.type, "path": art.download(root=os.path.join(out, full))}
    try:
        api.artifact(f"{base}/{name}:gold")
        errors["gold_removed"] = None
    except Exception as e:  # the test reads the message
        errors["gold_removed"] = str(e)
    runs = {r.name: {"logged": sorted(a.name for a in r.logged_artifacts()),
                     "used": sorted(a.name for a in r.used_artifacts())}
            for r in api.runs(base)}
    _result(id=run_id, entity=run.entity, got=got, logged_by=v1.logged_by().id,
            used_by=[r.id for r in v1.used_by()], errors=errors, extras=extras, runs=runs,
            linked=[linked.name, linked.version, linked.source_version, linked.source_name],
            gold=[gold.version, gold.description])


def race(project: str, name: str, tag: str) -> None:
    folder = Path(f"race-{tag}")
    folder.mkdir()
    for i in range(30):  # enough files that the two saves overlap in time
        (folder / f"part{i:02d}.txt").write_text(f"{tag} {i}\n")
    run = wandb.init(project=project, name=f"racer-{tag}")
    gate = Path(os.environ["RACE_DIR"])  # every racer's log_artifact at the same moment
    (gate / tag).touch()
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < int(os.environ["RACE_N"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    art = wandb.Artifact(name, type="dataset")
    art.add_dir(str(folder))
    logged = run.log_artifact(art)
    logged.wait()
    run.finish()
    _result(tag=tag, version=logged.version)


def offline(project: str, name: str) -> None:
    folder = Path("offline-data")
    folder.mkdir()
    for i in range(5):
        (folder / f"x{i}.txt").write_text(f"offline {i}\n")
    run = wandb.init(project=project, name="offline")
    art = wandb.Artifact(name, type="dataset")
    art.add_dir(str(folder))
    run.log_artifact(art)
    run.log({"a": 1})
    run.finish()
    _result(id=run.id)


if __name__ == "__main__":
    {"log": log, "use": use, "race": race, "offline": offline}[sys.argv[1]](*sys.argv[2:])
