"""The read API's media routes: keys and kinds, a key's steps (paged), the value at a step,
values spread over the steps, and the stored files served inline with their content type."""

from __future__ import annotations

import json
from typing import Any

import requests

from helpers.server import RunningServer, api, gql, stream, upsert

CREATE = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                         files: $files}) { files { name uploadUrl } }
}
"""
PNG = bytes.fromhex("89504e470d0a1a0a") + b"not really a png, the server does not decode it"


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def _image(key: str, step: int) -> dict[str, object]:
    return {"_type": "image-file", "path": f"media/images/{key}_{step}_ab12.png", "sha256": "ab",
            "size": 10, "width": 4, "height": 3, "format": "png", "caption": f"at {step}"}


def _hist(step: int) -> dict[str, object]:
    return {"_type": "histogram", "bins": [0, 1, 2, 3], "values": [step, 1, 0]}


def test_media_keys_steps_and_values(live_server: RunningServer) -> None:
    upsert(live_server, "m")
    path = f"{_entity(live_server)}/proj/m"
    rows = []
    for s in range(30):
        row: dict[str, object] = {"_step": s, "loss": 1.0 / (s + 1)}
        if s % 3 == 0:
            row["sample"] = _image("sample", s)
            row["val/weights"] = _hist(s)
        if s == 27:
            row["preds"] = {"_type": "table-file", "path": "media/table/preds_27_cd.table.json",
                            "nrows": 2, "ncols": 2, "sha256": "cd", "size": 50}
            row["gallery"] = {"_type": "images/separated", "count": 2, "width": 4, "height": 3,
                              "format": "png", "filenames": ["media/images/g_0.png",
                                                             "media/images/g_1.png"]}
            row["not_media"] = {"_type": "something-else"}
        rows.append(json.dumps(row))
    stream(live_server, path, {"wandb-history.jsonl": (0, rows[:20])})
    base = f"runs/{path}/media"
    keys = api(live_server, base).json()
    assert keys["truncated"] is False
    assert [(k["key"], k["kind"], k["count"], k["first_step"], k["last_step"])
            for k in keys["keys"]] == [("sample", "image", 7, 0, 18),
                                       ("val/weights", "histogram", 7, 0, 18)]
    # more rows: the index grows by what arrived; a row below the last step arrives late
    stream(live_server, path, {"wandb-history.jsonl": (21, rows[21:])})
    stream(live_server, path, {"wandb-history.jsonl": (20, rows[20:21])})
    kinds = {k["key"]: (k["kind"], k["count"]) for k in api(live_server, base).json()["keys"]}
    assert kinds == {"sample": ("image", 10), "val/weights": ("histogram", 10),
                     "preds": ("table", 1), "gallery": ("images", 1)}

    steps = api(live_server, base, key="sample", limit=4).json()
    assert steps["steps"] == [0, 3, 6, 9] and steps["next_cursor"] == "4"
    rest = api(live_server, base, key="sample", limit=4, cursor=steps["next_cursor"]).json()
    assert rest["steps"] == [12, 15, 18, 21]
    last = api(live_server, base, key="sample", cursor="8").json()
    assert last["steps"] == [24, 27] and last["next_cursor"] is None

    at = api(live_server, base, key="sample", step=7).json()  # the newest at or before 7
    assert (at["step"], at["index"], at["value"]) == (6, 2, _image("sample", 6))
    newest = api(live_server, base, key="sample", step="last").json()
    assert newest["step"] == 27 and newest["value"]["caption"] == "at 27"
    assert api(live_server, base, key="val/weights", step=0).json()["value"] == _hist(0)

    spread = api(live_server, base, key="val/weights", samples=4).json()["values"]
    assert [v["step"] for v in spread] == [0, 9, 18, 27]
    assert [v["value"]["values"][0] for v in spread] == [0, 9, 18, 27]
    assert len(api(live_server, base, key="sample", samples=50).json()["values"]) == 10

    bad: list[tuple[dict[str, Any], str]] = [
                         ({"key": "loss"}, "no media"), ({"key": "sample", "limit": 0}, "limit"),
                         ({"key": "sample", "limit": 10**6}, "limit"),
                         ({"key": "sample", "step": "x"}, "step"),
                         ({"key": "sample", "samples": 201}, "samples"),
                         ({"key": "sample", "step": -1}, "before step -1")]
    for params, word in bad:
        r = api(live_server, base, **params)
        assert r.status_code in (400, 404) and word in r.json()["error"], (params, r.text)


def test_media_files_are_served_inline_and_confined(live_server: RunningServer) -> None:
    ent = _entity(live_server)
    upsert(live_server, "f")
    names = ["media/images/a_0_ff.png", "media/table/t_1_ee.table.json", "media/html/x.html",
             "media/images/evil.svg"]
    out = gql(live_server, CREATE, {"entity": ent, "project": "proj", "run": "f", "files": names})
    urls = {f["name"]: f["uploadUrl"] for f in out["data"]["createRunFiles"]["files"]}
    table = json.dumps({"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}).encode()
    bodies = {names[0]: PNG, names[1]: table, names[2]: b"<script>alert(1)</script>",
              names[3]: b"<svg onload='alert(1)'/>"}
    for name, body in bodies.items():
        assert requests.put(urls[name], data=body, timeout=10).ok
    base = f"runs/{ent}/proj/f/files"
    png = api(live_server, f"{base}/media/images/a_0_ff.png")
    assert png.content == PNG and png.headers["Content-Type"] == "image/png"
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    tab = api(live_server, f"{base}/media/table/t_1_ee.table.json")
    assert tab.headers["Content-Type"] == "application/json" and tab.json()["data"][1] == [2, "y"]
    for script in ("media/html/x.html", "media/images/evil.svg"):  # never inline
        r = api(live_server, f"{base}/{script}")
        assert r.headers["Content-Type"] == "application/octet-stream", script
    for escape in ("media/../../f2/x.png", "%2e%2e/%2e%2e/secret.png", "media/images/..%2f..%2fx"):
        r = requests.get(f"{live_server.url}/api/v1/{base}/{escape}", auth=live_server.auth,
                         timeout=10)
        assert r.status_code in (400, 404), escape
    assert requests.get(f"{live_server.url}/api/v1/{base}/media/images/a_0_ff.png",
                        timeout=10).status_code == 401  # the read API's auth, as for the rest
