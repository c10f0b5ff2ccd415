"""``python -m nbtrack.server``."""

from __future__ import annotations

import sys

from nbtrack.server.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
