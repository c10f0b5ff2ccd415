"""The run files of the W&B wire, under the names W&B clients and servers use.

``file_stream`` carries the history, summary, events and console output as lines (by
per-file offset); every other file is uploaded (``createRunFiles`` + PUT), media files
below :data:`MEDIA_DIR`.
"""

from __future__ import annotations

HISTORY = "wandb-history.jsonl"  # one JSON object per logged step
SUMMARY = "wandb-summary.json"  # the run's summary; of a post's lines only the last counts
EVENTS = "wandb-events.jsonl"  # system-metric rows
OUTPUT = "output.log"  # console lines, see nbtrack.wire.output
CONFIG = "config.yaml"
METADATA = "wandb-metadata.json"  # where and with what the run ran
REQUIREMENTS = "requirements.txt"  # the installed distributions, name==version
MEDIA_DIR = "media"  # images and other media, e.g. media/images/<name>.png
