"""The results of one run, and docs/performance.md written from them (also when a run fails)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PASS, MISSED, UNKNOWN = "pass", "**MISSED**", "not measured"


@dataclass
class Figure:
    """One row of a section table: a figure, its target, and how it compares."""

    what: str
    target: str
    measured: str
    reference: str = ""
    ratio: str = ""
    verdict: str = ""


@dataclass
class QueryRow:
    kind: str  # "report" or "panel"
    name: str
    range: str
    target_ms: float
    ours_ms: float | None = None
    duckdb_ms: float | None = None
    clickhouse_ms: float | None = None
    duckdb_agrees: str = ""  # "yes", the first difference, or "" when not compared
    clickhouse_agrees: str = ""
    error: str = ""

    def verdicts(self) -> list[str]:
        """Target, <= ClickHouse, <= 1.5x DuckDB, numbers agree."""
        ours = self.ours_ms
        return [
            _verdict(ours, lambda v: v <= self.target_ms),
            _verdict(ours, lambda v: self.clickhouse_ms is not None and v <= self.clickhouse_ms),
            _verdict(ours, lambda v: self.duckdb_ms is not None and v <= 1.5 * self.duckdb_ms),
            PASS
            if self.duckdb_agrees == "yes" and self.clickhouse_agrees == "yes"
            else (MISSED if self.duckdb_agrees or self.clickhouse_agrees else UNKNOWN),
        ]


def _verdict(value: float | None, test: object) -> str:
    if value is None:
        return UNKNOWN
    assert callable(test)
    return PASS if test(value) else MISSED


def verdict(ok: bool | None) -> str:
    return UNKNOWN if ok is None else (PASS if ok else MISSED)


@dataclass
class Report:
    started: str
    machine: list[tuple[str, str]] = field(default_factory=list)
    dataset: list[tuple[str, str]] = field(default_factory=list)
    sections: dict[str, list[Figure]] = field(default_factory=dict)
    queries: list[QueryRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, section: str, figure: Figure) -> None:
        self.sections.setdefault(section, []).append(figure)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or not theirs:
        return "-"
    return f"{ours / theirs:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _query_lines(queries: list[QueryRow]) -> list[str]:
    header = [
        "kind", "query", "range", "target ms", "TinyTrail ms", "DuckDB SQL ms", "ClickHouse ms",
        "ours/DuckDB", "ours/ClickHouse", "target", "<= ClickHouse", "<= 1.5x DuckDB", "numbers",
    ]  # fmt: skip
    rows = []
    for q in queries:
        rows.append(
            [
                q.kind, q.name, q.range, f"{q.target_ms:.0f}", _ms(q.ours_ms), _ms(q.duckdb_ms),
                _ms(q.clickhouse_ms), _ratio(q.ours_ms, q.duckdb_ms),
                _ratio(q.ours_ms, q.clickhouse_ms), *q.verdicts(),
            ]
        )  # fmt: skip
    lines = _table(header, rows)
    differences = [
        f"- {q.name} ({q.range}): DuckDB {q.duckdb_agrees or '-'}; "
        f"ClickHouse {q.clickhouse_agrees or '-'}" + (f"; error: {q.error}" if q.error else "")
        for q in queries
        if q.error or q.duckdb_agrees != "yes" or q.clickhouse_agrees != "yes"
    ]
    if differences:
        lines += ["", "Differences and errors:", "", *differences]
    return lines


def _counts(report: Report) -> tuple[int, int, int]:
    verdicts = [f.verdict for figures in report.sections.values() for f in figures]
    verdicts += [v for q in report.queries for v in q.verdicts()]
    return verdicts.count(PASS), verdicts.count(MISSED), verdicts.count(UNKNOWN)


def render(report: Report) -> str:
    passed, missed, unknown = _counts(report)
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`bench/run.py`); do not edit by hand, run it again. "
        "Targets are issue 6's; a missed target shows **MISSED** with the measured figure.",
        "",
        f"Run started {report.started}. Checks: {passed} pass, {missed} missed, "
        f"{unknown} not measured.",
        "",
        "## Machine",
        "",
        *_table(["what", "value"], [list(row) for row in report.machine]),
        "",
        "## Data set",
        "",
        *_table(["what", "value"], [list(row) for row in report.dataset]),
    ]
    for title, figures in report.sections.items():
        lines += ["", f"## {title}", ""]
        header = ["figure", "target", "measured", "reference", "ratio", "verdict"]
        rows = [[f.what, f.target, f.measured, f.reference, f.ratio, f.verdict] for f in figures]
        lines += _table(header, rows)
    if report.queries:
        lines += [
            "",
            "## Queries",
            "",
            "Busy site, warm, median of the repeated runs. TinyTrail is timed through HTTP "
            "(request to parsed JSON); DuckDB and ClickHouse are timed in-process on the same "
            "rows, with hand-written SQL computing the same numbers. A multi-list report "
            "(devices, flow, realtime) sums its statements.",
            "",
            *_query_lines(report.queries),
        ]
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    if report.errors:
        lines += ["", "## Errors in this run", "", *(f"- {error}" for error in report.errors)]
    return "\n".join(lines) + "\n"


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report))
