"""Execute notebooks/quickstart.ipynb in a real kernel and say where its run went."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def _created(run: object) -> float:
    """The run's creation time in unix seconds (the read API gives ISO 8601, UTC)."""
    text = str(getattr(run, "data", {}).get("created_at") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebook", default=str(ROOT / "notebooks" / "quickstart.ipynb"))
    parser.add_argument("--output", default=None, help="where to save the executed notebook")
    args = parser.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    started = time.time()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    if args.output:
        nbformat.write(nb, args.output)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            if "nbtrack:" in text:
                sys.stdout.write(text)
    import nbtrack

    api = nbtrack.Api()
    runs = [r for r in api.runs(project="quickstart") if _created(r) >= started - 5]
    if not runs:
        print("the quickstart logged no run", file=sys.stderr)
        return 1
    run = max(runs, key=_created)
    rows = len(run.history())
    # through Jupyter when run from a Jupyter terminal, else a link that logs in once
    print(f"\nThe quickstart's run:\n  page:  {run.link()}\n"
          f"  path:  {run.path}\n  state: {run.state}\n  rows:  {rows}\n"
          f"  read it back: nbtrack.Api().run({run.path!r}).history()")
    return 0 if run.state == "finished" else 1


if __name__ == "__main__":
    raise SystemExit(main())
