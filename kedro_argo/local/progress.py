"""What a local run shows: a live ``rich`` table while it runs, a summary when it ends.

The live table (one row per step: status, attempt, elapsed) is shown only on a terminal, or
when asked; on a large DAG it keeps to running, retrying and failed steps plus counts. The
summary lists every step's phase, attempts, duration and exit code, then the log tail of each
failed step. Both go to the console given (default: stderr).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from kedro_argo.durations import format_seconds

if TYPE_CHECKING:
    from kedro_argo.local.executor import LocalRunResult, StepRecord

__all__ = ["ProgressView", "make_console", "print_summary", "summary_table"]

_STYLES = {
    "Pending": "dim",
    "Running": "bold yellow",
    "Retrying": "magenta",
    "Succeeded": "green",
    "Failed": "bold red",
    "Error": "bold red",
    "Omitted": "dim",
}
_LABELS = {
    "Pending": "pending",
    "Running": "running",
    "Retrying": "retrying",
    "Succeeded": "done",
    "Failed": "failed",
    "Error": "error",
    "Omitted": "omitted",
}


def make_console() -> Console:
    """The default console: stderr, so stdout stays free for the caller."""
    return Console(stderr=True)


def _phase(record: StepRecord) -> Text:
    phase = record.phase.value
    return Text(_LABELS.get(phase, phase), style=_STYLES.get(phase, ""))


class ProgressView:
    """Context manager showing a live table of ``snapshot()`` while the run goes on."""

    def __init__(
        self,
        console: Console,
        snapshot: Callable[[], Sequence[StepRecord]],
        *,
        live: bool | None,
        title: str,
    ) -> None:
        self.console = console
        self.snapshot = snapshot
        self.title = title
        self.enabled = console.is_terminal if live is None else live
        self._live: Live | None = None

    def __enter__(self) -> ProgressView:
        if self.enabled:
            self._live = Live(
                console=self.console,
                get_renderable=self.render,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self) -> RenderableType:
        records = list(self.snapshot())
        counts = Counter(r.phase.value for r in records)
        done = sum(counts[p] for p in ("Succeeded", "Failed", "Error", "Omitted"))
        header = Text.assemble(
            (self.title, "bold"),
            f"  {done}/{len(records)} finished",
            *(
                (f"  {counts[p]} {_LABELS[p]}", _STYLES[p])
                for p in ("Running", "Retrying", "Failed", "Error")
                if counts[p]
            ),
        )
        room = max(5, self.console.size.height - 6)
        if len(records) > room:  # keep what matters on screen
            records = [
                r for r in records if r.phase.value in ("Running", "Retrying", "Failed", "Error")
            ][:room]
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("step", overflow="fold")
        table.add_column("status")
        table.add_column("attempt", justify="right")
        table.add_column("elapsed", justify="right")
        table.add_column("", style="dim", overflow="fold")
        for r in records:
            table.add_row(
                r.name if len(r.kedro_nodes) < 2 else f"{r.name} ({len(r.kedro_nodes)} nodes)",
                _phase(r),
                str(r.attempts) if r.attempts else "",
                format_seconds(r.duration) if r.duration is not None else "",
                r.message,
            )
        return Group(header, table)


def summary_table(result: LocalRunResult) -> Table:
    """One row per step: its Kedro nodes (else its template), phase, attempts, duration,
    exit code, message."""
    style = "green" if result.succeeded else "red"
    table = Table(
        title=Text.assemble(
            (f"{result.workflow_name}: ", "bold"),
            (result.phase.value, f"bold {style}"),
            f" in {format_seconds(result.duration)} (parallelism {result.parallelism})",
        ),
        title_justify="left",
    )
    table.add_column("step", overflow="fold")
    table.add_column("Kedro nodes", overflow="fold")
    table.add_column("phase")
    table.add_column("attempts", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("exit", justify="right")
    table.add_column("message", overflow="fold")
    for r in result.steps:
        table.add_row(
            r.name,
            ", ".join(r.kedro_nodes) or r.template,
            _phase(r),
            str(r.attempts),
            format_seconds(r.duration),
            "" if r.exit_code is None else str(r.exit_code),
            r.message,
        )
    return table


def print_summary(console: Console, result: LocalRunResult) -> None:
    """The summary table, where the logs are, and the log tail of every failed step."""
    console.print(summary_table(result))
    if result.message:
        console.print(Text(result.message, style="red" if not result.succeeded else ""))
    console.print(Text(f"logs: {result.log_dir}", style="dim"))
    from kedro_argo.results import local_results, result_lines

    for line in result_lines(local_results(result.steps)):
        console.print(Text(line), soft_wrap=True, highlight=False, markup=False)
    for r in result.failed_steps:
        if not r.log_tail:
            continue
        console.rule(Text(f"{r.name}: last lines of {r.log_path}", style="red"), align="left")
        console.print(Text(r.log_tail), soft_wrap=True, highlight=False, markup=False)
