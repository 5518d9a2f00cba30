"""``python -m bench [NAME …]``: run the benchmarks, print a table, write bench-results/bench.json."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import signal
import sys
from pathlib import Path

from bench import BENCHMARKS, MODULES, BenchError, Session
from bench.report import table, write_json
from bench.site import BASE_DIR

DEFAULT_OUTPUT = BASE_DIR / "bench-results" / "bench.json"


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: servers stopped, throwaway databases dropped


def main(argv: list[str] | None = None) -> int:
    for module in MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--seconds", type=float, help="run each benchmark this long instead of its default")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    args = parser.parse_args(argv)

    if args.list:
        for bench in BENCHMARKS.values():
            print(f"{bench.name:<16} {bench.title} (~{bench.seconds:g} s)")
        return 0
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}.")
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be greater than 0.")
    selected = [BENCHMARKS[name] for name in args.names] if args.names else list(BENCHMARKS.values())

    signal.signal(signal.SIGTERM, _interrupt)
    results = []
    started = dt.datetime.now(dt.UTC)
    try:
        with Session() as session:
            for bench in selected:
                seconds = args.seconds if args.seconds is not None else bench.seconds
                print(f"Running {bench.name}: {bench.title} (~{seconds:g} s)…", flush=True)
                results.append(bench.run(session, seconds))
    except BenchError as error:
        print(f"\nBenchmark failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; servers stopped and throwaway databases removed.", file=sys.stderr)
        return 130

    print()
    print(table(results))
    write_json(results, args.output, now=started)
    print(f"\nWritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
