"""Usage metering on PostgreSQL: ingestion over HTTP, a customer's period usage, the ingestion worker's memory.

* ``usage_ingest``: ``POST /api/v1/usage-events`` in batches of 1,000 against gunicorn, two client
  threads, deduplication on (each batch also repeats 10 events of the previous one); then the run
  goes on for a while longer to follow the resident memory of the gunicorn workers.
* ``usage_summary``: ``customer_usage_summary`` for one customer with 1,000,000 events in the
  current period, on four metrics (sum, count, max, and a time-of-use sum), median of several runs.

Both run on a throwaway PostgreSQL database of their own (on the server of ``DATABASE_URL``, or of
postgres://postgres@127.0.0.1:5432/postgres when that is not PostgreSQL), whatever database the
other benchmarks use; without a reachable PostgreSQL server they fall back to SQLite and say so.
Django work on that database runs in a child process (``python -m bench.usage setup|summary``),
because this process may already have Django set up on the other benchmarks' database.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlsplit

from bench.http_load import Request, drive
from bench.registry import BenchError, BenchResult, Figure, Session, benchmark
from bench.server import HOST, gunicorn
from bench.site import BASE_DIR, POSTGRES_SCHEMES, SETTINGS_MODULE, Site

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BATCH = 1000
CUSTOMERS = 200
#: Events of the previous batch sent again in each batch: replays the client's retries.
REPEATS = 10
CLIENT_THREADS = 2
WORKERS = 2
#: The memory part runs this many times as long as the throughput part.
MEMORY_FACTOR = 6.0
SUMMARY_EVENTS = 1_000_000
SUMMARY_RUNS = 15
METRICS = [
    # code, name, aggregation
    ("api_calls", "API calls", "sum"),
    ("requests", "Requests", "count"),
    ("storage_gb", "Peak storage (GB)", "max"),
    ("energy_kwh", "Energy (kWh)", "sum"),
]


# --- the database --------------------------------------------------------------------------


@dataclass
class UsageSite:
    site: Site
    url: str
    note: str = ""
    loaded: dict[str, Any] = field(default_factory=dict)


_SITES: dict[int, UsageSite] = {}


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if urlsplit(url).scheme in POSTGRES_SCHEMES else DEFAULT_SERVER


def _manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        command, cwd=BASE_DIR, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _child(env: dict[str, str], command: str, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.usage COMMAND`` on the usage database; its last output line is JSON."""
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "bench.usage", command, *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"bench.usage {command} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def usage_site(session: Session) -> UsageSite:
    """A migrated throwaway database for the usage benchmarks, dropped when the session ends."""
    found = _SITES.get(id(session))
    if found is not None:
        return found
    stack = contextlib.ExitStack()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="bench-usage-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        note = ""
        try:
            from bench.site import _throwaway_postgres

            url, vendor = stack.enter_context(_throwaway_postgres(_server_url())), "postgresql"
        except BenchError as error:
            url, vendor = f"sqlite:///{workdir / 'usage.sqlite3'}", "sqlite"
            note = f"PostgreSQL was not reachable ({error}); measured on SQLite instead, which is not the target."
        env = {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "DATABASE_URL": url, "DEBUG": "False"}
        _manage(env, "migrate", "--no-input", "-v0")
        _manage(env, "createcachetable", "-v0")
    except BaseException:
        stack.close()
        raise
    found = _SITES[id(session)] = UsageSite(Site(vendor=vendor, workdir=workdir, env=env), url, note)
    weakref.finalize(session, stack.close)
    weakref.finalize(session, _SITES.pop, id(session), None)
    return found


# --- the workload ----------------------------------------------------------------------------


class Batches(Sequence[Request]):
    """Batch ``n`` of an endless stream of distinct events, built when a client thread asks for it.

    Batch ``n`` also repeats the first ``REPEATS`` events of batch ``n - 1`` (same keys): retries,
    which the server must answer as duplicates (or accept here and refuse there, whichever comes first).
    """

    def __init__(self, *, customers: Sequence[int], secret: str, run: str, moment: float):
        self.customers = list(customers)
        self.headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.run = run
        # Every second of the hour before the run started, in ISO 8601 with a time zone.
        self.stamps = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment - back)) for back in range(1, 3600)]

    def __len__(self) -> int:
        return 10**12

    def event(self, batch: int, number: int) -> str:
        """Spread over customers, the last hour and values by cheap arithmetic: the client shares the CPU."""
        mix = (batch * BATCH + number) * 2654435761 % 2**32
        code = METRICS[number % len(METRICS)][0]
        customer = self.customers[mix % len(self.customers)]
        stamp = self.stamps[mix % len(self.stamps)]
        region = "eu-west" if number % 3 else "us-east"
        return (
            f'{{"customer":{customer},"metric":"{code}","value":"{mix % 500}.{mix % 97:02d}","timestamp":"{stamp}",'
            f'"idempotency_key":"{self.run}-{batch}-{number}","properties":{{"region":"{region}"}}}}'
        )

    def body(self, batch: int) -> bytes:
        fresh = BATCH - REPEATS if batch else BATCH
        events = [self.event(batch, n) for n in range(fresh)]
        if batch:
            events += [self.event(batch - 1, n) for n in range(REPEATS)]
        return ('{"events":[' + ",".join(events) + "]}").encode()

    @overload
    def __getitem__(self, index: int) -> Request: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Request]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            raise TypeError("batches are built one at a time")
        return Request("POST", "/api/v1/usage-events", self.body(index), self.headers)


_TOTALS = re.compile(rb'"accepted":(\d+),"duplicates":(\d+),"rejected":(\d+)\}\s*$')


class Tally:
    """Checks each answer (all events accepted or duplicate) and adds up what the server said."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = self.duplicates = 0

    def __call__(self, request: Request, status: int, body: bytes) -> str | None:
        if status != 200:
            return f"HTTP {status}: {body[:300].decode(errors='replace')}"
        totals = _TOTALS.search(body[-200:])
        if totals is None:
            return f"Unexpected answer: {body[-300:].decode(errors='replace')}"
        accepted, duplicates, rejected = map(int, totals.groups())
        if rejected or accepted + duplicates != BATCH:
            first = next((r for r in json.loads(body)["results"] if r["status"] == "rejected"), None)
            return f"{rejected} event(s) rejected, {accepted} accepted, {duplicates} duplicates; first: {first}"
        with self.lock:
            self.accepted += accepted
            self.duplicates += duplicates
        return None


# --- memory of the gunicorn workers ------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def gunicorn_workers(port: int) -> list[int]:
    """Pids of the gunicorn workers serving ``port``: processes with its --bind whose parent has it too."""
    bind = f"{HOST}:{port}".encode()
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if bind in (entry / "cmdline").read_bytes():
                found[int(entry.name)] = _status_kib(int(entry.name), "PPid") or 0
        except OSError:
            continue
    return sorted(pid for pid, parent in found.items() if parent in found)


def _rss_mib(pids: Sequence[int]) -> float:
    return sum((_status_kib(pid, "VmRSS") or 0) for pid in pids) / 1024


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; 0 with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    return statistics.linear_regression([x for x, _ in points], [y for _, y in points]).slope


# --- the benchmarks ----------------------------------------------------------------------------

INGEST_TITLE = "Usage ingestion, POST /api/v1/usage-events in batches of 1,000 over HTTP"


def _count_events(url: str) -> int:
    if urlsplit(url).scheme in POSTGRES_SCHEMES:
        import psycopg

        with psycopg.connect(url) as connection:
            row = connection.execute("SELECT count(*) FROM subscriptions_usageevent").fetchone()
            return int(row[0]) if row else 0
    import sqlite3

    with contextlib.closing(sqlite3.connect(urlsplit(url).path)) as connection:
        return int(connection.execute("SELECT count(*) FROM subscriptions_usageevent").fetchone()[0])


@benchmark("usage_ingest", title=INGEST_TITLE, seconds=10.0)
def usage_ingest(session: Session, seconds: float) -> BenchResult:
    usage = usage_site(session)
    setup = _child(usage.site.env, "setup")
    before = _count_events(usage.url)
    batches = Batches(customers=setup["customers"], secret=setup["secret"], run=setup["run"], moment=time.time())
    tally = Tally()
    memory_seconds = seconds * MEMORY_FACTOR
    with gunicorn(usage.site, workers=WORKERS) as port:
        warm_up = drive(host=HOST, port=port, requests=batches, check=tally, threads=CLIENT_THREADS, seconds=2)
        if warm_up.errors:
            raise BenchError(warm_up.errors[0])
        workers = gunicorn_workers(port)
        offset = warm_up.requests + CLIENT_THREADS
        warm_events = tally.accepted + tally.duplicates
        rss_start = _rss_mib(workers)
        load = drive(
            host=HOST,
            port=port,
            requests=_Shifted(batches, offset),
            check=tally,
            threads=CLIENT_THREADS,
            seconds=seconds,
            max_requests=10**9,
        )
        if load.errors:
            raise BenchError(f"{len(load.errors)} wrong answer(s); the first: {load.errors[0]}")
        events_per_second = load.requests * BATCH / load.elapsed
        # Memory: keep ingesting, sampling the workers' resident memory between rounds.
        samples = [(0.0, rss_start), (load.requests * BATCH / 1e6, _rss_mib(workers))]
        sent = load.requests * BATCH
        offset += load.requests + CLIENT_THREADS
        deadline = time.monotonic() + memory_seconds
        while time.monotonic() < deadline:
            more = drive(
                host=HOST,
                port=port,
                requests=_Shifted(batches, offset),
                check=tally,
                threads=CLIENT_THREADS,
                seconds=min(5.0, max(0.5, deadline - time.monotonic())),
                max_requests=10**9,
            )
            if more.errors:
                raise BenchError(f"{len(more.errors)} wrong answer(s); the first: {more.errors[0]}")
            sent += more.requests * BATCH
            offset += more.requests + CLIENT_THREADS
            samples.append((sent / 1e6, _rss_mib(workers)))
    stored = _count_events(usage.url) - before
    if stored != tally.accepted:
        raise BenchError(f"The server accepted {tally.accepted:,} events but {stored:,} were stored.")
    # Steady state: the second half of the run (the first batches grow caches and the allocator's arenas).
    steady = [point for point in samples if point[0] >= samples[-1][0] / 2]
    slope = _slope(steady)
    return BenchResult(
        name="usage_ingest",
        title=INGEST_TITLE,
        figures=[
            Figure("events_per_second", "events/s", events_per_second, ",.0f"),
            Figure("latency_p50_ms", "p50 ms per batch", load.percentile_ms(50), ",.1f"),
            Figure("latency_p95_ms", "p95 ms per batch", load.percentile_ms(95), ",.1f"),
            Figure("worker_rss_start_mib", "workers' RSS after warm-up MiB", samples[0][1], ",.1f"),
            Figure("worker_rss_growth_mib", "workers' RSS growth MiB", samples[-1][1] - samples[0][1], ",.1f"),
            Figure("worker_rss_mib_per_million", "steady RSS slope MiB/1M events", slope, ",.2f"),
        ],
        details={
            "database": usage.site.vendor,
            "note": usage.note,
            "batches": load.requests,
            "seconds": round(load.elapsed, 3),
            "events_sent_after_warm_up": sent,
            "events_sent_in_warm_up": warm_events,
            "events_stored": stored,
            "duplicates_answered": tally.duplicates,
            "client_threads": CLIENT_THREADS,
            "gunicorn_workers": WORKERS,
            "rss_samples_mib": [(round(x, 3), round(y, 1)) for x, y in samples],
            "memory_note": (
                f"RSS of both gunicorn workers together, followed over {sent / 1e6:.2f} million events "
                f"(~{seconds + memory_seconds:.0f} s), not the 10 million of the goal: the slope over the second "
                "half of the run (least squares) is the figure to extrapolate; the growth includes the first "
                "batches, which fill caches and the allocator's arenas."
            ),
            "workload": (
                f"{BATCH:,} events per batch for {CUSTOMERS} customers (each with a subscription billing the 4 "
                f"metrics, so every event is attributed), decimal values, a region property; each batch repeats "
                f"{REPEATS} events of the previous one (retries)."
            ),
        },
    )


class _Shifted(Sequence[Request]):
    """``batches`` from ``offset`` on, so that each round of ``drive`` sends new events."""

    def __init__(self, batches: Batches, offset: int):
        self.batches, self.offset = batches, offset

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index):  # type: ignore[override]
        return self.batches[index + self.offset]


SUMMARY_TITLE = "Current-period usage of one customer with 1,000,000 events (customer_usage_summary)"


@benchmark("usage_summary", title=SUMMARY_TITLE, seconds=2.0)
def usage_summary(session: Session, seconds: float) -> BenchResult:
    usage = usage_site(session)
    result = _child(usage.site.env, "summary", str(SUMMARY_RUNS))
    return BenchResult(
        name="usage_summary",
        title=SUMMARY_TITLE,
        figures=[
            Figure("summary_median_ms", "median ms", result["median_ms"], ",.1f"),
            Figure("summary_p95_ms", "slowest ms", result["max_ms"], ",.1f"),
            Figure("raw_scan_median_ms", "same usage from raw events ms", result["raw_ms"], ",.0f"),
        ],
        details={"database": usage.site.vendor, "note": usage.note, **result["details"]},
    )


# --- the child process ---------------------------------------------------------------------------


def _setup_ingest() -> dict[str, Any]:
    """Metrics, customers each with a subscription that bills all four metrics, and a write key."""
    import datetime as dt
    from decimal import Decimal

    from django.db import connection

    from billing_site import clock
    from billing_site.actors import Actor
    from billing_site.services.api_keys import api_key_create
    from catalog.models import BillableMetric
    from catalog.services.prices import price_create
    from catalog.services.products import metric_create, product_create
    from subscriptions.models import Customer, Subscription, SubscriptionItem

    actor, now = Actor.system("bench"), clock.now()
    run = f"r{random.randrange(16**8):08x}"
    product = product_create(actor=actor, now=now, name=f"Metered usage {run}")
    prices = []
    for code, name, aggregation in METRICS:
        metric = BillableMetric.objects.filter(code=code).first() or metric_create(
            actor=actor, now=now, code=code, name=name, aggregation=aggregation
        )
        prices.append(
            price_create(
                actor=actor, now=now, product=product, currency="EUR", pricing_model="per_unit",
                unit_amount=Decimal("0.001"), usage_type="metered", metric=metric,
            )
        )  # fmt: skip
    start = now - dt.timedelta(days=10)
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Bench customer {run} {n}", email=f"c{n}@bench.test", country="NL", currency="EUR",
            external_id=f"{run}-{n}", created_at=start, updated_at=start,
        )
        for n in range(CUSTOMERS)
    )  # fmt: skip
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            customer=customer, status="active", currency="EUR", interval="month", billing_cycle_anchor=start,
            current_period_start=start, current_period_end=start + dt.timedelta(days=30), created_at=start,
            updated_at=start,
        )
        for customer in customers
    )  # fmt: skip
    SubscriptionItem.objects.bulk_create(
        SubscriptionItem(subscription=subscription, price=price, created_at=start)
        for subscription in subscriptions
        for price in prices
    )
    _key, secret = api_key_create(name=f"Usage benchmark {run}", scopes=["write"], actor=actor, now=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would have long done on a database in use
    return {"customers": [c.pk for c in customers], "secret": secret, "run": run}


def _summary(runs: int) -> dict[str, Any]:
    """1,000,000 events for one customer this period, loaded by SQL, then the summary timed."""
    import datetime as dt
    from decimal import Decimal

    from django.db import connection

    from billing_site.actors import Actor
    from catalog.models import BillableMetric
    from catalog.services.prices import price_create
    from catalog.services.products import metric_create, product_create
    from subscriptions.models import Customer, Subscription, SubscriptionItem
    from subscriptions.models.usage import UsageEvent, UsageHourlyRollup
    from subscriptions.selectors.usage import customer_usage_summary

    actor = Actor.system("bench")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = (now - dt.timedelta(days=20)).replace(minute=37, second=21)
    end = start + dt.timedelta(days=30)
    metrics = {}
    for code, name, aggregation in METRICS:
        metric = BillableMetric.objects.filter(code=code).first()
        metrics[code] = metric or metric_create(actor=actor, now=now, code=code, name=name, aggregation=aggregation)
    product = product_create(actor=actor, now=now, name="Usage (benchmark)")
    graduated = [
        {"up_to": Decimal(100_000), "unit_amount": Decimal("0.002"), "flat_amount": Decimal(0)},
        {"up_to": None, "unit_amount": Decimal("0.001"), "flat_amount": Decimal(0)},
    ]
    prices = {
        "api_calls": price_create(actor=actor, now=now, product=product, currency="EUR", pricing_model="graduated",
                                  tiers=graduated, usage_type="metered", metric=metrics["api_calls"]),
        "requests": price_create(actor=actor, now=now, product=product, currency="EUR", pricing_model="per_unit",
                                 unit_amount=Decimal("0.000125"), usage_type="metered", metric=metrics["requests"]),
        "storage_gb": price_create(actor=actor, now=now, product=product, currency="EUR", pricing_model="per_unit",
                                   unit_amount=Decimal("0.02"), usage_type="metered", metric=metrics["storage_gb"]),
        "energy_kwh": price_create(actor=actor, now=now, product=product, currency="EUR", pricing_model="per_unit",
                                   unit_amount=Decimal("0.21"), usage_type="metered", metric=metrics["energy_kwh"],
                                   time_zone="Europe/Amsterdam", rate_windows=[
                                       {"name": "peak", "start_time": dt.time(7), "end_time": dt.time(23),
                                        "unit_amount": Decimal("0.34")}]),
    }  # fmt: skip
    customer = Customer.objects.create(
        name="Bench customer with 1M events", email="big@bench.test", country="NL", currency="EUR",
        created_at=now, updated_at=now,
    )  # fmt: skip
    subscription = Subscription.objects.create(
        customer=customer, status="active", currency="EUR", interval="month", billing_cycle_anchor=start,
        current_period_start=start, current_period_end=end, created_at=start, updated_at=start,
    )  # fmt: skip
    for price in prices.values():
        SubscriptionItem.objects.create(subscription=subscription, price=price, created_at=start)

    events, rollups = UsageEvent._meta.db_table, UsageHourlyRollup._meta.db_table
    codes = [code for code, _name, _aggregation in METRICS]
    began = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""INSERT INTO {events} (customer_id, subscription_id, metric_code, value, properties, "timestamp",
                        idempotency_key, received_at, late)
                    SELECT %s, %s, (%s::varchar[])[1 + g %% 4], (1 + g %% 997) / 100.0, '{{"region": "eu-west"}}',
                           %s::timestamptz + (g * %s::float8 / %s) * interval '1 second', 'bulk-' || g, %s, false
                    FROM generate_series(0, %s - 1) AS g""",  # noqa: S608 - our table name
                [customer.pk, subscription.pk, codes, start, (now - start).total_seconds(), SUMMARY_EVENTS, now,
                 SUMMARY_EVENTS],
            )  # fmt: skip
            hour = "date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        else:
            rows = (
                (customer.pk, subscription.pk, codes[g % 4], str((1 + g % 997) / 100), '{"region": "eu-west"}',
                 str((start + (now - start) * g / SUMMARY_EVENTS).replace(tzinfo=None)), f"bulk-{g}",
                 str(now.replace(tzinfo=None)), False)
                for g in range(SUMMARY_EVENTS)
            )  # fmt: skip
            cursor.executemany(
                f'INSERT INTO {events} (customer_id, subscription_id, metric_code, value, properties, "timestamp", '  # noqa: S608
                "idempotency_key, received_at, late) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
            hour = "strftime('%%Y-%%m-%%d %%H:00:00', \"timestamp\")"
        # The rollups ingestion would have written (the tests prove they equal the events they count).
        cursor.execute(
            f"""INSERT INTO {rollups} (customer_id, subscription_key, metric_code, hour, value_sum, event_count,
                    value_max)
                SELECT customer_id, COALESCE(subscription_id, 0), metric_code, {hour}, SUM(value), COUNT(*), MAX(value)
                FROM {events} WHERE customer_id = %s GROUP BY 1, 2, 3, 4""",  # noqa: S608 - our table names
            [customer.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {events}")  # noqa: S608
            cursor.execute(f"ANALYZE {rollups}")  # noqa: S608
    load_seconds = time.perf_counter() - began

    customer_usage_summary(customer=customer, now=now)  # warm: connection, prices, validated specs
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        summary = customer_usage_summary(customer=customer, now=now)
        timings.append((time.perf_counter() - began) * 1000)

    # The same quantities read from the raw events, to check the rollups and to show what they save.
    from django.db.models import Count, Max, Sum

    began = time.perf_counter()
    raw = {
        row["metric_code"]: row
        for row in UsageEvent.objects.filter(customer=customer, timestamp__gte=start, timestamp__lt=end)
        .values("metric_code")
        .order_by()
        .annotate(s=Sum("value"), n=Count("id"), m=Max("value"))
    }
    raw_ms = (time.perf_counter() - began) * 1000
    expected = {
        "api_calls": raw["api_calls"]["s"],
        "requests": Decimal(raw["requests"]["n"]),
        "storage_gb": raw["storage_gb"]["m"],
        "energy_kwh": raw["energy_kwh"]["s"],
    }
    got = {usage.metric.code: usage.quantity for usage in summary.metrics}
    if got != expected:
        raise SystemExit(f"The summary's quantities {got} differ from the raw events' {expected}.")
    return {
        "median_ms": statistics.median(timings),
        "max_ms": max(timings),
        "raw_ms": raw_ms,
        "details": {
            "events": SUMMARY_EVENTS,
            "runs": runs,
            "timings_ms": [round(t, 2) for t in timings],
            "load_seconds": round(load_seconds, 1),
            "period": f"{start.isoformat()} – {end.isoformat()} (starts at :37:21, so partial hours are read raw)",
            "metrics": "sum (graduated price), count (per unit), max (per unit), sum with time-of-use windows",
            "quantities": {code: str(value) for code, value in got.items()},
            "amounts": {u.metric.code: str(u.amount.total) for u in summary.metrics if u.amount is not None},
            "checked": "quantities equal SUM/COUNT/MAX over the raw events",
            "note": "Events loaded by SQL (generate_series), rollups built by SQL from them; a unique-count or "
            "filtered metric reads the raw events instead (the raw-scan figure).",
        },
    }


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command = argv[0] if argv else ""
    if command == "setup":
        print(json.dumps(_setup_ingest()))
    elif command == "summary":
        print(json.dumps(_summary(int(argv[1]) if len(argv) > 1 else SUMMARY_RUNS), default=str))
    else:
        print(f"usage: python -m bench.usage setup|summary [RUNS], not {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
