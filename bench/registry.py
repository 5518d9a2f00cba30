"""The registry of benchmarks, what they report, and the session they share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.site import Site


class BenchError(Exception):
    """A benchmark could not run, or measured something wrong (a bad amount, an HTTP error)."""


@dataclass(frozen=True)
class Figure:
    """One measured number: ``key`` for bench.json, ``label`` for the table."""

    key: str
    label: str
    value: float
    fmt: str = ",.1f"

    def text(self) -> str:
        return format(self.value, self.fmt)


@dataclass
class BenchResult:
    name: str
    title: str
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "figures": {figure.key: figure.value for figure in self.figures},
            "details": self.details,
        }


class Session:
    """What benchmarks of one run share: a throwaway Django site, set up on first use, torn down at the end."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._site: Site | None = None

    def site(self) -> Site:
        """A migrated throwaway database with Django set up on it (see ``bench.site``)."""
        if self._site is None:
            from bench.site import throwaway_site

            self._site = self._stack.enter_context(throwaway_site())
        return self._site

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()


BenchFunction = Callable[[Session, float], BenchResult]


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    seconds: float
    run: BenchFunction


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, *, title: str, seconds: float) -> Callable[[BenchFunction], BenchFunction]:
    """Register ``run(session, seconds) -> BenchResult`` under ``name``; ``seconds`` is its default duration."""

    def register(run: BenchFunction) -> BenchFunction:
        if name in BENCHMARKS:
            raise ValueError(f"Benchmark {name!r} is registered twice.")
        BENCHMARKS[name] = Benchmark(name=name, title=title, seconds=seconds, run=run)
        return run

    return register
