"""Benchmarks: ``make bench`` (``python -m bench``) measures throughput and writes bench-results/bench.json.

A benchmark is a function registered with ``@benchmark``; later issues add theirs by writing a
module and listing it in ``MODULES``. ``python -m bench NAME …`` runs only the named ones,
``python -m bench --list`` shows them. Speed is measured here, never by timed tests.
"""

from bench.registry import BENCHMARKS, BenchError, BenchResult, Figure, Session, benchmark

#: Modules whose import registers their benchmarks, in the order they run.
MODULES = ["bench.quote", "bench.usage", "bench.billing", "bench.pdf"]

__all__ = ["BENCHMARKS", "MODULES", "BenchError", "BenchResult", "Figure", "Session", "benchmark"]
