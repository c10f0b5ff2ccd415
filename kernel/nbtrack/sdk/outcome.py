"""What ``finish`` prints for the person who ran it: where the run is now, or how to send
what was not sent. Printed in the user's thread (background threads never print)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from nbtrack.client import links
from nbtrack.client.policy import KEY_REFUSED
from nbtrack.sdk.finish import FinishOutcome

if TYPE_CHECKING:
    from nbtrack.sdk.run import Run


def print_outcome(run: Run, outcome: FinishOutcome | None, budget: float) -> None:
    """One message for the run's final state; a detached finish names the exact sync command."""
    if run.log_problem:
        ring = run.log_path.with_suffix(".ring")
        print(f"nbtrack: {run.log_problem}; what it lacks is kept in {ring}. Free space on "
              f"that disk, then send everything with:\n    {run.sync_command}",
              file=sys.stderr)
    if run.state == "detached":
        waited_on = outcome.waited_on if outcome is not None else "?"
        print(f"nbtrack: finish of run {run.name} timed out after {budget:g}s "
              f"(waiting on {waited_on}). Nothing is lost: the run's log and its "
              f"write-ahead ring keep what was not sent. Send it with:\n"
              f"    {run.sync_command}", file=sys.stderr)
    elif run.mode == "offline":
        print(f"nbtrack: offline run {run.name} saved to {run.log_path}\n"
              f"    send it with: {run.sync_command}")
    elif run.not_stored and run.sync_command and KEY_REFUSED in run.not_stored_reason:
        _print_key_refused(run)
    elif run.not_stored and run.sync_command:
        print(f"nbtrack: run {run.name} {run.state}, but NOT fully stored: the server refused "
              f"{run.not_stored} lines or updates ({run.not_stored_reason}). Nothing is lost: "
              f"the run's log keeps them. Send them with:\n    {run.sync_command}",
              file=sys.stderr)
    elif run.mode != "disabled":
        link = links.for_run(run)
        print(f"nbtrack: run {run.name} {run.state}: {link if link else run.path}")


def _print_key_refused(run: Run) -> None:
    """The key stopped working mid-run (revoked, or its user deleted): the server has only
    what came before, its finish never arrived; syncing with a valid key completes it."""
    print(f"nbtrack: run {run.name} was NOT stored on the server: {run.not_stored_reason}. "
          f"The key was revoked or is not valid for this server; {run.not_stored} lines or "
          "updates and the run's finish did not reach it. Nothing is lost: the run's log "
          "keeps everything. Get a new key (the server's admin: `nbtrack server key create "
          "<user>`), then send the run with:\n"
          f"    NBTRACK_API_KEY=<a new key> {run.sync_command}", file=sys.stderr)


def print_interrupted(run: Run) -> None:
    """Ctrl-C during finish: what state the run is in and the exact command that ends it."""
    if run.sync_command:
        print(f"nbtrack: finish of run {run.name} was interrupted; the run is detached. "
              f"Nothing is lost: its log keeps the rest. Send it with:\n    "
              f"{run.sync_command}", file=sys.stderr)
    else:
        print(f"nbtrack: finish of run {run.name} was interrupted", file=sys.stderr)


def print_detached_again(run: Run) -> None:
    """``finish()`` on a detached run: it cannot finish here any more; say how it does."""
    print(f"nbtrack: run {run.name} is detached (its finish was interrupted or timed "
          f"out); send what the server lacks with:\n    {run.sync_command}", file=sys.stderr)
