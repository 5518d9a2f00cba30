"""Quotes per second for a five-tier graduated price: the pricing engine, and POST /api/v1/prices/{id}/quote."""

from __future__ import annotations

import json
import platform
import random
import time
from decimal import Decimal

from bench.http_load import Request, drive
from bench.registry import BenchError, BenchResult, Figure, Session, benchmark
from bench.server import HOST, gunicorn
from catalog.domain.pricing import PriceSpec, Tier, price_amount

D = Decimal

# API calls: 1,000 included, then cheaper per call the more calls (a flat 5.00 once past the free tier).
FIVE_TIERS = (
    Tier(up_to=D(1_000), unit_amount=D("0")),
    Tier(up_to=D(10_000), unit_amount=D("0.002"), flat_amount=D("5.00")),
    Tier(up_to=D(100_000), unit_amount=D("0.0015")),
    Tier(up_to=D(1_000_000), unit_amount=D("0.001")),
    Tier(up_to=None, unit_amount=D("0.000125")),
)
SPEC = PriceSpec(pricing_model="graduated", currency="EUR", tiers=FIVE_TIERS)

# Worked out by hand, so that a fast but wrong engine cannot pass for a fast one.
KNOWN_TOTALS = {
    D(0): D("0.00"),
    D(1_000): D("0.00"),
    D(1_001): D("5.00"),  # 0.002 + 5.00 flat
    D("12.5"): D("0.00"),
    D(1_000_000): D("1058.00"),  # 18.00 + 5.00 + 135.00 + 900.00
    D(2_500_000): D("1245.50"),  # + 1,500,000 × 0.000125
}

ENGINE_TITLE = "Five-tier graduated quote, pricing engine (in process)"
API_TITLE = "Five-tier graduated quote, POST /api/v1/prices/{id}/quote over HTTP"
ENGINE_MAX_QUOTES = 20_000_000
API_MAX_REQUESTS = 200_000
API_CLIENT_THREADS = 2
API_WORKERS = 2


def workload(count: int = 1000, seed: int = 20260101) -> list[Decimal]:
    """Quantities across all five tiers: the boundaries, whole numbers spread log-uniformly, some fractions."""
    rng = random.Random(seed)
    quantities = [D(q) for q in (0, 1, 1_000, 1_001, 10_000, 10_001, 100_000, 100_001, 1_000_000, 1_000_001)]
    while len(quantities) < count:
        value = 10 ** rng.uniform(0, 6.8)
        if rng.random() < 0.2:
            quantities.append(D(f"{value:.2f}"))
        else:
            quantities.append(D(int(value)))
    rng.shuffle(quantities)
    return quantities


def check_engine() -> None:
    for quantity, expected in KNOWN_TOTALS.items():
        total = price_amount(SPEC, quantity).total
        if total != expected:
            raise BenchError(f"The engine priced {quantity} units at {total}, expected {expected}.")


def _tiers_text() -> str:
    return "; ".join(
        f"{'≤' + format(t.up_to, ',') if t.up_to is not None else 'rest'} at {t.unit_amount}"
        + (f" + {t.flat_amount} flat" if t.flat_amount else "")
        for t in FIVE_TIERS
    )


@benchmark("quote_engine", title=ENGINE_TITLE, seconds=2.5)
def quote_engine(session: Session, seconds: float) -> BenchResult:
    check_engine()
    quantities = workload()
    chunks = [quantities[i : i + 100] for i in range(0, len(quantities), 100)]
    for quantity in quantities[:200]:  # warm-up
        price_amount(SPEC, quantity)
    quotes = 0
    began = time.perf_counter()
    deadline = began + seconds
    while quotes < ENGINE_MAX_QUOTES:
        for chunk in chunks:
            for quantity in chunk:
                price_amount(SPEC, quantity)
            quotes += len(chunk)
            if time.perf_counter() >= deadline:
                break
        else:
            continue
        break
    elapsed = time.perf_counter() - began
    return BenchResult(
        name="quote_engine",
        title=ENGINE_TITLE,
        figures=[
            Figure("quotes_per_second", "quotes/s", quotes / elapsed, ",.0f"),
            Figure("microseconds_per_quote", "µs/quote", elapsed / quotes * 1e6, ",.1f"),
        ],
        details={
            "quotes": quotes,
            "seconds": round(elapsed, 3),
            "distinct_quantities": len(set(quantities)),
            "tiers": _tiers_text(),
            "what": "catalog.domain.pricing.price_amount(spec, quantity): validation, tiers, rounding, breakdown",
            "python": platform.python_version(),
        },
    )


def _check_quote(request: Request, status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status} for {request.body!r}: {body[:300].decode(errors='replace')}"
    try:
        amount = json.loads(body)["amount"]
        total, currency = D(amount["amount"]), amount["currency"]
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return f"Unexpected answer for {request.body!r}: {body[:300].decode(errors='replace')}"
    if (total, currency) != (request.expected, "EUR"):
        return f"Quote for {request.body!r} was {currency} {total}, expected EUR {request.expected}."
    return None


def _create_price_and_key() -> tuple[int, str]:
    from billing_site import clock
    from billing_site.actors import Actor
    from billing_site.services.api_keys import api_key_create
    from catalog.services.prices import price_create
    from catalog.services.products import product_create

    actor, now = Actor.system("bench"), clock.now()
    product = product_create(actor=actor, now=now, name="API calls (benchmark)", unit_label="API call")
    tiers = [{"up_to": t.up_to, "unit_amount": t.unit_amount, "flat_amount": t.flat_amount} for t in FIVE_TIERS]
    price = price_create(actor=actor, now=now, product=product, currency="EUR", pricing_model="graduated", tiers=tiers)
    _key, secret = api_key_create(name="Benchmark", scopes=["read"], actor=actor, now=now)
    return price.pk, secret


@benchmark("quote_api", title=API_TITLE, seconds=5.0)
def quote_api(session: Session, seconds: float) -> BenchResult:
    check_engine()
    site = session.site()
    price_id, secret = _create_price_and_key()
    from django.db import connections

    connections.close_all()  # the server processes open their own
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json", "Accept": "application/json"}
    path = f"/api/v1/prices/{price_id}/quote"
    requests = [
        Request("POST", path, json.dumps({"quantity": format(q, "f")}).encode(), headers, price_amount(SPEC, q).total)
        for q in workload(500)
    ]
    with gunicorn(site, workers=API_WORKERS) as port:
        warm_up = drive(
            host=HOST, port=port, requests=requests, check=_check_quote, threads=2, seconds=2, max_requests=100
        )
        if warm_up.errors:
            raise BenchError(warm_up.errors[0])
        load = drive(
            host=HOST,
            port=port,
            requests=requests,
            check=_check_quote,
            threads=API_CLIENT_THREADS,
            seconds=seconds,
            max_requests=API_MAX_REQUESTS,
        )
    if load.errors:
        raise BenchError(f"{len(load.errors)} wrong answer(s); the first: {load.errors[0]}")
    note = "The client threads and the server workers share this machine's cores."
    if load.connections >= load.requests:
        note = (
            "gunicorn's sync workers close the connection after each response, so the keep-alive clients "
            f"reconnect per request. {note}"
        )
    return BenchResult(
        name="quote_api",
        title=API_TITLE,
        figures=[
            Figure("requests_per_second", "requests/s", load.per_second, ",.0f"),
            Figure("latency_p50_ms", "p50 latency ms", load.percentile_ms(50), ",.2f"),
            Figure("latency_p95_ms", "p95 latency ms", load.percentile_ms(95), ",.2f"),
            Figure("latency_p99_ms", "p99 latency ms", load.percentile_ms(99), ",.2f"),
        ],
        details={
            "requests": load.requests,
            "seconds": round(load.elapsed, 3),
            "all_answers_checked": True,
            "client_threads": API_CLIENT_THREADS,
            "tcp_connections": load.connections,
            "server": f"gunicorn, {API_WORKERS} sync workers, 127.0.0.1, DEBUG=False, settings dev",
            "database": site.vendor,
            "note": note,
        },
    )
