"""The ``%track_*`` magics. User mistakes become ``UsageError`` (one clear line, no
traceback); exceptions of the user's own code keep their traceback."""

from __future__ import annotations

import ast
import json
import keyword
import re
import time
from typing import Any

import yaml
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

MODES = ("local", "online", "offline", "disabled")
CELL_TIME_KEY = "cell_time_s"
_KEY_RE = re.compile(r"([A-Za-z][\w./-]*)\s*=(?!=)")
_STEP_RE = re.compile(r"^\s*--step(?:\s+|=)(\S+)")
_JSON_START = re.compile(r'\s*\{\s*("|\})')  # JSON object (YAML flow maps have bare keys)
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


# ---- helpers (pure, tested directly) ---------------------------------------------------

def parse_config(body: str | None) -> dict[str, Any]:
    """A cell body as a config mapping: JSON or YAML; errors name the line."""
    if body is None or not body.strip():
        return {}
    text = body.strip("\n")
    lines = text.splitlines()
    if _JSON_START.match(text):
        try:
            return _as_mapping(json.loads(text))
        except json.JSONDecodeError as exc:
            raise UsageError(_config_error(exc.lineno, exc.colno, exc.msg, lines)) from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else 1
        raise UsageError(_config_error(line, column, str(problem), lines)) from None
    return _as_mapping(loaded)


def _config_error(line: int, column: int, problem: str, lines: list[str]) -> str:
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    return (f"%%track_init: the config in the cell body is not valid YAML or JSON: "
            f"line {line}, column {column}: {problem}\n    {shown}")


def _as_mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"%%track_init: the config must be a mapping (key: value lines), "
                         f"not a {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def split_pairs(line: str) -> list[tuple[str, str]]:
    """``a=1 b=f(x, y=2) c="s t"`` → ``[("a", "1"), ("b", "f(x, y=2)"), ("c", '"s t"')]``.

    A pair starts where ``key=`` appears outside brackets and strings after whitespace or
    a comma, so expressions may contain spaces without quoting."""
    starts: list[tuple[int, int, str]] = []  # (pair start, expression start, key)
    depth, quote, i = 0, "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in _BRACKETS:
            depth += _BRACKETS[ch]
        elif depth == 0 and (i == 0 or line[i - 1] in " \t,"):
            match = _KEY_RE.match(line, i)
            if match:
                starts.append((i, match.end(), match.group(1)))
                i = match.end()
                continue
        i += 1
    if not starts:
        raise UsageError(f"%track_log: expected key=expression pairs, got {line.strip()!r}")
    head = line[: starts[0][0]].strip(" \t,")
    if head:
        raise UsageError(f"%track_log: expected key=expression pairs, got {head!r} first")
    pairs = []
    for n, (_, expr_start, key) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(line)
        expr = line[expr_start:end].strip(" \t,")
        if not expr:
            raise UsageError(f"%track_log: {key}= has no expression")
        pairs.append((key, expr))
    return pairs


def _current_run() -> Any:
    from nbtrack.sdk.session import current_run

    return current_run()


def active_run(magic: str) -> Any:
    """The running run, or a UsageError telling how to start one."""
    run = _current_run()
    if run is None or run.state != "running":
        raise UsageError(f"{magic}: no active run; start one with %%track_init "
                         "(or nbtrack.init())")
    return run


def log_to(run: Any, data: dict[str, Any], step: int | None, magic: str) -> None:
    """``run.log`` with its refusals (bad key, bad value, finished run) as UsageError."""
    from nbtrack.sdk.run import RunFinishedError

    try:
        run.log(data, step=step, commit=True)
    except (TypeError, ValueError, RunFinishedError) as exc:
        raise UsageError(f"{magic}: {exc}") from None


# ---- the magics ------------------------------------------------------------------------

@magics_class
class NbtrackMagics(Magics):
    """Start, log to, finish and inspect nbtrack runs from notebook cells."""

    @property
    def ip(self) -> Any:
        """The shell (typed loosely: IPython's ``Magics.shell`` is declared as None)."""
        return self.shell

    @magic_arguments()
    @argument("--project", "-p", help="project name (default: NBTRACK_PROJECT or "
              "'uncategorized')")
    @argument("--name", "-n", help="display name of the run")
    @argument("--mode", "-m", choices=MODES, help="where the run goes (default: local)")
    @argument("--id", dest="run_id", help="run id (to resume a run)")
    @argument("--resume", "-r", choices=("allow", "must", "never"),
              help="resume the run with --id: allow, must or never")
    @argument("--tags", "-t", nargs="+", help="tags (space or comma separated)")
    @argument("--notes", nargs="+", help="free text notes")
    @argument("--group", "-g", help="group of runs")
    @argument("--job-type", help="kind of job, e.g. train or eval")
    @argument("--as", dest="as_var", metavar="VAR", help="bind the run to this variable")
    @line_cell_magic
    def track_init(self, line: str, cell: str | None = None) -> None:
        """Start a run; the cell body (optional) is its config in YAML or JSON.

        Re-running the cell finishes the previous run first. The run's widget shows below.
        """
        args = parse_argstring(self.track_init, line)
        config = parse_config(cell)
        if args.as_var is not None and (not args.as_var.isidentifier()
                                        or keyword.iskeyword(args.as_var)):
            raise UsageError(f"%%track_init: --as {args.as_var!r} is not a Python name")
        tags = [t for raw in args.tags or [] for t in raw.split(",") if t] or None
        import nbtrack
        from nbtrack.sdk.session import InitError

        try:
            run = nbtrack.init(project=args.project, name=args.name, config=config,
                               mode=args.mode, id=args.run_id, resume=args.resume, tags=tags,
                               notes=" ".join(args.notes) if args.notes else None,
                               group=args.group, job_type=args.job_type, reinit=True)
        except (TypeError, ValueError, InitError) as exc:
            raise UsageError(f"%%track_init: {exc}") from None
        if args.as_var is not None:
            self.ip.user_ns[args.as_var] = run

    @magic_arguments()
    @argument("--step", type=int, help="log at this step (default: the run's next step)")
    @argument("items", nargs="*", help="line: key=expression pairs; cell: variable names "
              "to log after the cell ran")
    @line_cell_magic
    def track_log(self, line: str, cell: str | None = None) -> Any:
        """Log metrics as one step.

        Line: ``%track_log loss=loss acc=correct / total`` evaluates each expression in the
        notebook's namespace. Cell: ``%%track_log [--step N] [name ...]`` runs the cell,
        then logs the named variables (or the dict the last expression gives) plus the
        cell's wall time as ``cell_time_s``.
        """
        if cell is None:
            return self._log_line(line)
        return self._log_cell(line, cell)

    def _log_line(self, line: str) -> None:
        step = None
        match = _STEP_RE.match(line)
        if match:
            try:
                step = int(match.group(1))
            except ValueError:
                raise UsageError(f"%track_log: --step needs an integer, got "
                                 f"{match.group(1)!r}") from None
            line = line[match.end():]
        pairs = split_pairs(line)
        run = active_run("%track_log")
        data = {key: self._evaluate(key, expr) for key, expr in pairs}
        log_to(run, data, step, "%track_log")

    def _evaluate(self, key: str, expr: str) -> Any:
        try:
            code = compile(expr, f"<%track_log {key}>", "eval")
        except SyntaxError as exc:
            raise UsageError(f"%track_log: {key}={expr}: invalid expression ({exc.msg})"
                             ) from None
        try:
            return eval(code, self.ip.user_ns)
        except Exception as exc:
            raise UsageError(f"%track_log: {key}={expr}: {type(exc).__name__}: {exc}"
                             ) from None

    def _log_cell(self, line: str, cell: str) -> Any:
        args = parse_argstring(self.track_log, line)
        bad = [n for n in args.items if not n.isidentifier()]
        if bad:
            raise UsageError(f"%%track_log: expected variable names, got {' '.join(bad)}")
        run = active_run("%%track_log")
        started = time.perf_counter()
        value = self._run_cell_body(cell)
        elapsed = time.perf_counter() - started
        data: dict[str, Any] = {}
        if args.items:
            missing = [n for n in args.items if n not in self.ip.user_ns]
            if missing:
                raise UsageError(f"%%track_log: no variable named {', '.join(missing)} "
                                 "after the cell ran")
            data = {n: self.ip.user_ns[n] for n in args.items}
        elif isinstance(value, dict):
            data = dict(value)
            value = None
        data[CELL_TIME_KEY] = round(elapsed, 6)
        log_to(run, data, args.step, "%%track_log")
        return value

    def _run_cell_body(self, cell: str) -> Any:
        """Run the cell in the user namespace; the value of its last expression, if any."""
        code = self.ip.transform_cell(cell)
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise UsageError(f"%%track_log: the cell has a syntax error: line {exc.lineno}: "
                             f"{exc.msg}") from None
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        filename = self.ip.compile.cache(code)
        exec(compile(tree, filename, "exec"), self.ip.user_ns)
        if last is None:
            return None
        expr = ast.fix_missing_locations(ast.Expression(body=last.value))
        return eval(compile(expr, filename, "eval"), self.ip.user_ns)

    @magic_arguments()
    @argument("--timeout", type=float, help="seconds to wait for uploads (default: settings)")
    @argument("--exit-code", type=int, default=0, help="0 = finished, else failed")
    @argument("--quiet", "-q", action="store_true", help="print nothing")
    @line_magic
    def track_finish(self, line: str) -> None:
        """Finish the current run: flush, upload, mark it finished (bounded by --timeout)."""
        args = parse_argstring(self.track_finish, line)
        run = _current_run()
        if run is None or run.state != "running":
            if not args.quiet:
                print("nbtrack: no active run to finish")
            return
        run.finish(exit_code=args.exit_code, timeout=args.timeout, quiet=args.quiet)
        if not args.quiet:  # W&B's finish summary, as text and static HTML that nbconvert keeps
            from IPython.display import display

            from nbtrack.sdk.display import final_card

            display(final_card(run, run.sampled_history()), raw=True)

    @line_magic
    def track_status(self, line: str) -> None:
        """Print the current run: name, state, step, where its data goes."""
        if line.strip():
            raise UsageError("%track_status takes no arguments")
        from nbtrack.notebook.tables import status_lines

        run = _current_run()
        if run is None:
            print("nbtrack: no run in this kernel yet (start one with %%track_init)")
            return
        if run.state == "running":
            run.flush(timeout=2.0)  # the status counts every row logged before it
        history = run.sampled_history(timeout=2.0)
        print("\n".join(status_lines(run, history)))

    @magic_arguments()
    @argument("--project", "-p", help="project (default: the current run's; 'all' for all)")
    @argument("--sort", "-s", metavar="METRIC",
              help="sort by a summary metric (or name, state, steps)")
    @argument("--desc", action="store_true", help="sort descending")
    @argument("--metrics", nargs="+", help="summary metrics to show (default: chosen)")
    @argument("--limit", type=int, default=100, help="at most this many runs")
    @line_magic
    def track_runs(self, line: str) -> Any:
        """A table of runs from the server, with state, steps and summary metrics."""
        args = parse_argstring(self.track_runs, line)
        import nbtrack
        from nbtrack.notebook.tables import RunTable

        project = args.project
        if project is None:
            run = _current_run()
            project = run.project if run is not None else None
        try:
            runs = nbtrack.Api().runs(project=None if project == "all" else project)
        except Exception as exc:
            raise UsageError(f"%track_runs: cannot read runs from the server: {exc}") from None
        metrics = [m for raw in args.metrics or [] for m in raw.split(",") if m] or None
        table = RunTable(runs, metrics=metrics, sort=args.sort, desc=args.desc,
                         title=f"project {project}\n" if project and project != "all" else "")
        table.rows = table.rows[: max(args.limit, 0)]
        return table
