"""The table on the terminal and bench-results/bench.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.registry import BenchResult


def _first_line_value(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine_info() -> dict[str, Any]:
    memory = _first_line_value("/proc/meminfo", "MemTotal")
    try:
        usable_cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable_cores = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable_cores,
        "cpu": _first_line_value("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def table(results: Sequence[BenchResult]) -> str:
    rows = [("benchmark", "figure", "value")]
    for result in results:
        for number, figure in enumerate(result.figures):
            rows.append((result.name if number == 0 else "", figure.label, figure.text()))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(results: Sequence[BenchResult], path: Path, *, now: dt.datetime) -> dict[str, Any]:
    """Write this run's results; results of benchmarks not run this time are kept (each has its own time)."""
    machine = machine_info()
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text()).get("results", {})
        except (ValueError, AttributeError):
            previous = {}
    measured = {r.name: {**r.as_dict(), "measured_at": now.isoformat(), "machine": machine} for r in results}
    document = {"timestamp": now.isoformat(), "machine": machine, "results": {**previous, **measured}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return document
