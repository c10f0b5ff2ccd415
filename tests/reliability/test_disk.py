"""Disk trouble: an unwritable or full NBTRACK_DIR, and damaged transaction logs.

"Unwritable" and "full" are real file systems: a read-only tmpfs and a tiny tmpfs
filled to the last byte (the tests run as root, so chmod would not stop writes).
Where ``mount`` is not permitted the two tests are skipped and say so.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbtrack
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import BLOCK_SIZE, LogReader, read_records
from nbtrack.txlog.verify import format_report, verify

from helpers.reliability import pick, record_figure


@contextlib.contextmanager
def _tmpfs(path: Path, size: str, *, readonly: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {path} ({done.stderr.strip()}): the disk suite "
                    "runs as root, as CI does")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(path: Path) -> None:
    """Write until ENOSPC."""
    fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    with contextlib.suppress(OSError):
        for i in range(1000):  # and the last few bytes in tiny files
            (path / f"f{i}").write_bytes(b"x" * 64)


# A child process, so a hang is a timeout and a background traceback shows on stderr.
INIT_CHILD = textwrap.dedent("""
    import sys, nbtrack
    try:
        run = nbtrack.init(project="disk", mode=sys.argv[1])
    except (nbtrack.InitError, OSError) as exc:
        print("REFUSED", type(exc).__name__, exc)
        sys.exit(3)
    for i in range(100):
        run.log({"i": i})
    run.finish(timeout=10, quiet=True)
    print("STARTED", run.state)
""")


def _init_in(home: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env["NBTRACK_DIR"] = str(home)
    return subprocess.run([sys.executable, "-c", INIT_CHILD, mode], capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.mark.parametrize("mode", ["offline", "local"])
def test_unwritable_dir_is_a_clear_init_error(tmp_path: Path, mode: str) -> None:
    with _tmpfs(tmp_path / "ro", "1m", readonly=True) as home:
        done = _init_in(home, mode)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "REFUSED InitError" in done.stdout
    assert "Read-only file system" in done.stdout or "writable" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("mode", ["offline", "local"])
def test_full_dir_is_a_clear_init_error(tmp_path: Path, mode: str) -> None:
    with _tmpfs(tmp_path / "full", "256k") as home:
        (home / "runs").mkdir()
        (home / "server").mkdir()
        _fill(home)
        done = _init_in(home, mode)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "REFUSED InitError" in done.stdout
    assert "No space left on device" in done.stdout or "free space" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


# ------------------------------------------------------------------ damaged logs

@pytest.fixture(scope="module")
def good_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("disk-home")
    old = os.environ.get("NBTRACK_DIR")
    os.environ["NBTRACK_DIR"] = str(home)
    try:
        run = nbtrack.init(project="disk", mode="offline")
        for i in range(20_000):
            run.log({"i": i, "x": i * 0.25, "tag": "abc" * (i % 7)})
        run.finish(quiet=True)
    finally:
        if old is None:
            os.environ.pop("NBTRACK_DIR", None)
        else:
            os.environ["NBTRACK_DIR"] = old
    return Path(run.log_path)


def _rows(path: Path) -> list[dict]:
    return [json.loads(r) for rec in read_records(path) if rec.HasField("history")
            for r in rec.history.rows]


def _check_rows(rows: list[dict]) -> None:
    for r in rows:
        assert r["_step"] == r["i"] and r["x"] == r["i"] * 0.25
    steps = [r["_step"] for r in rows]
    assert steps == sorted(set(steps)), "a row read twice or out of order"


def _verify_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbtrack", "verify", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_truncated_logs_read_up_to_the_cut(good_log: Path, tmp_path: Path) -> None:
    data = good_log.read_bytes()
    rng = random.Random(1)
    cuts = sorted(rng.randrange(9, len(data)) for _ in range(pick(20, 300)))
    recovered = []
    for cut in cuts:
        p = tmp_path / "cut.nbtrack"
        p.write_bytes(data[:cut])
        rows = _rows(p)
        _check_rows(rows)
        assert [r["_step"] for r in rows] == list(range(len(rows))), "a prefix, no holes"
        reader = LogReader(p)
        for _ in reader:
            pass
        assert not reader.report.damaged
        rep = reader.report
        if rep.torn_tail:  # the reader says where the cut is and how much it dropped
            assert rep.torn_offset + rep.torn_bytes == cut, rep
        recovered.append(len(rows))
    out = _verify_cli(p)
    assert "torn tail" in out.stdout and "Traceback" not in out.stderr
    record_figure("log_truncation", cuts=len(cuts), file_bytes=len(data),
                  min_rows=min(recovered), max_rows=max(recovered))


def test_corrupted_logs_skip_and_report_the_damage(good_log: Path, tmp_path: Path) -> None:
    data = good_log.read_bytes()
    total = len(_rows(good_log))
    # where each record of the intact log lies, and how many rows it carries
    spans: list[tuple[int, int, int]] = []
    offsets = [off for off, _ in LogReader(good_log).iter_with_offsets()] + [len(data)]
    for (off, payload), end in zip(LogReader(good_log).iter_with_offsets(), offsets[1:],
                                   strict=False):
        rec = pb.Record.FromString(payload)
        spans.append((off, end, len(rec.history.rows) if rec.HasField("history") else 0))
    rng = random.Random(2)
    worst_lost = 0
    for trial in range(pick(20, 300)):
        buf = bytearray(data)
        hits = {rng.randrange(9, len(buf)) for _ in range(rng.randint(1, 4))}
        for pos in hits:
            buf[pos] ^= rng.randint(1, 255)
        p = tmp_path / f"bad-{trial}.nbtrack"
        p.write_bytes(bytes(buf))
        rows = _rows(p)
        _check_rows(rows)
        report = verify(p)
        text = format_report(report)
        damaged_blocks = {pos // BLOCK_SIZE for pos in hits}
        lost = total - len(rows)
        worst_lost = max(worst_lost, lost)
        if lost:
            assert report.damaged or report.torn_tail or report.undecodable, text
        if report.damaged:
            assert "at offset" in text and "bytes" in text
        # at most the rows of records that share a block with the damage are lost
        at_risk = sum(rows for start, end, rows in spans
                      if any(start // BLOCK_SIZE <= b <= end // BLOCK_SIZE
                             for b in damaged_blocks))
        assert lost <= at_risk, (lost, at_risk, text)
        p.unlink()
    record_figure("log_corruption", trials=pick(20, 300), file_bytes=len(data),
                  rows=total, worst_rows_lost=worst_lost)
    bad = tmp_path / "one.nbtrack"
    buf = bytearray(data)
    buf[BLOCK_SIZE * 3 + 100] ^= 0xFF
    bad.write_bytes(bytes(buf))
    out = _verify_cli(bad)
    assert out.returncode == 1, out
    assert f"at offset {BLOCK_SIZE * 3}" in out.stdout or "at offset" in out.stdout, out.stdout


@settings(max_examples=pick(200, 3000), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=100_000), st.booleans())
def test_reader_fuzz_random_bytes(tmp_path: Path, blob: bytes, with_header: bool) -> None:
    p = tmp_path / "fuzz.nbtrack"
    p.write_bytes((b"NBTRKLOG\x01" if with_header else b"") + blob)
    reader = LogReader(p)
    try:
        payloads = list(reader)
    except ValueError as exc:  # only a wrong header may refuse the file
        assert not with_header or len(blob) == 0, exc
        return
    rep = reader.report
    assert rep.records == len(payloads)
    assert rep.bytes_read <= p.stat().st_size
    assert all(d.skipped_bytes >= 0 and d.offset >= 9 for d in rep.damaged)
    list(read_records(p))  # records that don't parse are counted, never raised
    format_report(verify(p))

