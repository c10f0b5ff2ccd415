"""Where each line record starts in its ``file_stream`` file.

The handler numbers the lines it makes (history rows, console lines, stats rows) per file,
from the offsets the server answered at init (a resumed run continues after its rows).
Each record carries the index of its first line (``line_start``), so a replay of a log with
a damaged block puts every later line at its own offset instead of shifting it onto lines
the server already holds. Pure counting: no thread, no I/O.
"""

from __future__ import annotations

from nbtrack.proto import nbtrack_pb2 as pb


class LineCounter:
    """The next line index of each line file."""

    def __init__(self) -> None:
        self.history = 0
        self.events = 0
        self.output = 0

    def start_at(self, run: pb.RunRecord) -> None:
        """The run as the server answered it: its files continue at these offsets."""
        if run.offsets_known:
            self.history = int(run.history_line_offset)
            self.events = int(run.events_line_offset)
            self.output = int(run.output_line_offset)

    def stamp(self, record: pb.Record) -> None:
        """Set ``line_start`` on a history / output / stats record and count its lines."""
        kind = record.WhichOneof("record_type")
        if kind == "history":
            record.history.line_start = self.history
            self.history += len(record.history.rows)
        elif kind == "output":
            record.output.line_start = self.output
            self.output += 1
        elif kind == "stats" and record.stats.row_json:
            record.stats.line_start = self.events
            self.events += 1
