"""Read a run's files back with the official ``wandb.Api()`` (run in the wandb venv).

    direct_files.py PATH DIR    PATH is entity/project/run; downloads every file to DIR

Prints ``RESULT {json}``: each listed file's size and the sha256 of its download. Nothing
here knows the expected answers: the test does.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import wandb


def main(path: str, root: str) -> None:
    out = {}
    for f in wandb.Api().run(path).files():
        f.download(root=root, replace=True)
        got = Path(root, f.name).read_bytes()
        out[f.name] = {"size": f.size, "sha256": hashlib.sha256(got).hexdigest()}
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
