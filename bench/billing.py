"""The billing run over many due subscriptions, on PostgreSQL (the issue's goal: 100,000 in ≤ 60 s).

A throwaway PostgreSQL database is migrated and filled in bulk (customers, subscriptions whose period
ends now: a third flat-fee, a third per-seat, a third metered with usage in the hourly rollups), then
``billing_run`` is timed in a child process: renewal, invoice with lines and tax, and finalization
(numbering included: the review window is 0 for the bench). Every invoice is then checked.
``BENCH_BILLING_SUBSCRIPTIONS`` changes the size (default 100,000).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.registry import BenchError, BenchResult, Figure, Session, benchmark
from bench.site import BASE_DIR, SETTINGS_MODULE

TITLE = "Billing run: due subscriptions → finalized invoices (PostgreSQL)"
DEFAULT_SIZE = 100_000


def _size() -> int:
    return int(os.environ.get("BENCH_BILLING_SUBSCRIPTIONS", DEFAULT_SIZE))


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "bench.billing", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"bench.billing {args[0]} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@benchmark("billing_run", title=TITLE, seconds=60.0)
def billing_run_bench(session: Session, seconds: float) -> BenchResult:
    from bench.site import _throwaway_postgres
    from bench.usage import _manage, _server_url

    size = _size()
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="bench-billing-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        url = stack.enter_context(_throwaway_postgres(_server_url()))
        env = {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DATABASE_URL": url,
            "DEBUG": "False",
            "INVOICE_REVIEW_MINUTES": "0",
            "MEDIA_ROOT": str(workdir / "media"),
        }
        _manage(env, "migrate", "--no-input", "-v0")
        setup = _child(env, "setup", str(size))
        run = _child(env, "run")
    return BenchResult(
        name="billing_run",
        title=TITLE,
        figures=[
            Figure("subscriptions", "subscriptions billed", run["invoices"], ",.0f"),
            Figure("seconds", "seconds", run["seconds"], ",.1f"),
            Figure("invoices_per_second", "invoices/s", run["invoices"] / run["seconds"], ",.0f"),
        ],
        details={"database": "postgresql", "setup_seconds": setup["seconds"], **run},
    )


# --- the child process ---------------------------------------------------------------------------


def _setup(size: int) -> dict[str, Any]:
    import datetime as dt
    from decimal import Decimal

    from django.db import connection

    from billing_site.actors import Actor
    from catalog.models import PlanVersion
    from catalog.services.plans import plan_create, plan_version_publish
    from catalog.services.prices import price_create
    from catalog.services.products import metric_create, product_create
    from catalog.services.tax_rates import tax_rate_create
    from invoicing.services.entities import billing_entity_create
    from subscriptions.models import Customer, Subscription, SubscriptionItem
    from subscriptions.models.usage import UsageHourlyRollup

    started = time.perf_counter()
    actor = Actor.system("bench")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    start, end = dt.datetime(2026, 2, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    billing_entity_create(
        actor=actor, now=t0, name="Bench B.V.", address_line1="Street 1", postal_code="1000 AA", city="Amsterdam",
        country="NL", iban="NL91ABNA0417164300", is_default=True,
    )  # fmt: skip
    tax_rate_create(actor=actor, now=t0, name="VAT 21%", country="NL", percentage=Decimal(21), category="standard")
    metric = metric_create(actor=actor, now=t0, code="api_calls", name="API calls", aggregation="sum")

    def plan(code: str, *prices: dict[str, Any]) -> list[int]:
        version = PlanVersion.objects.get(plan=plan_create(actor=actor, now=t0, code=code, name=code), status="draft")
        ids = [
            price_create(actor=actor, now=t0, plan_version=version, currency="EUR", **fields).pk for fields in prices
        ]
        plan_version_publish(version=version, actor=actor, now=t0)
        return ids

    product = product_create(actor=actor, now=t0, name="Service")
    flat = plan("flat", {"product": product, "pricing_model": "flat", "flat_amount": Decimal("29.00")})
    seats = plan("seats", {"product": product, "pricing_model": "per_unit", "unit_amount": Decimal("12.50")})
    tiers = [
        {"up_to": Decimal(1000), "unit_amount": Decimal(0), "flat_amount": Decimal(0)},
        {"up_to": None, "unit_amount": Decimal("0.002"), "flat_amount": Decimal(0)},
    ]
    metered = plan(
        "metered",
        {"product": product, "pricing_model": "flat", "flat_amount": Decimal("9.00")},
        {"product": product, "pricing_model": "graduated", "tiers": tiers, "usage_type": "metered", "metric": metric},
    )
    customers = Customer.objects.bulk_create(
        (
            Customer(
                name=f"Customer {n}",
                email=f"c{n}@example.com",
                country="NL",
                currency="EUR",
                created_at=t0,
                updated_at=t0,
            )  # fmt: skip
            for n in range(size)
        ),
        batch_size=5000,
    )
    subscriptions = Subscription.objects.bulk_create(
        (
            Subscription(
                customer=c,
                status="active",
                currency="EUR",
                interval="month",
                interval_count=1,
                billing_cycle_anchor=t0,
                current_period_start=start,
                current_period_end=end,
                created_at=t0,
                updated_at=t0,
            )  # fmt: skip
            for c in customers
        ),
        batch_size=5000,
    )
    items, rollups = [], []
    for n, (customer, subscription) in enumerate(zip(customers, subscriptions, strict=True)):
        kind = n % 3
        if kind == 0:
            items.append(SubscriptionItem(subscription=subscription, price_id=flat[0], quantity=1, created_at=t0))
        elif kind == 1:
            items.append(
                SubscriptionItem(subscription=subscription, price_id=seats[0], quantity=1 + n % 20, created_at=t0)
            )
        else:
            items += [
                SubscriptionItem(subscription=subscription, price_id=metered[0], quantity=1, created_at=t0),
                SubscriptionItem(subscription=subscription, price_id=metered[1], quantity=1, created_at=t0),
            ]
            for hour in (5, 30, 300):
                rollups.append(
                    UsageHourlyRollup(
                        customer=customer,
                        subscription_key=subscription.pk,
                        metric_code="api_calls",
                        hour=start + dt.timedelta(hours=hour),
                        value_sum=Decimal(400 + n % 1000),
                        event_count=1,
                        value_max=Decimal(400 + n % 1000),
                    )  # fmt: skip
                )
    SubscriptionItem.objects.bulk_create(items, batch_size=5000)
    UsageHourlyRollup.objects.bulk_create(rollups, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "subscriptions": size,
        "items": len(items),
        "rollups": len(rollups),
        "seconds": time.perf_counter() - started,
    }


def _run() -> dict[str, Any]:
    import datetime as dt
    from decimal import Decimal

    from django.db.models import Count, Sum

    from billing_site.money import round_money
    from invoicing.models import Invoice, InvoiceLine
    from invoicing.services.billing import billing_run
    from subscriptions.models import Subscription

    now = dt.datetime(2026, 3, 1, 0, 5, tzinfo=dt.UTC)
    started = time.perf_counter()
    result = billing_run(now=now, batch_size=1000)
    seconds = time.perf_counter() - started
    invoices = Invoice.objects.filter(kind="subscription_cycle")
    count = invoices.count()
    numbered = invoices.exclude(number="").count()
    distinct = invoices.values("number").distinct().count()
    left = Subscription.objects.filter(current_period_end__lte=now).count()
    # The lines add up to the invoices, and each total is its lines plus 21% rounded once.
    lines_total = InvoiceLine.objects.aggregate(s=Sum("amount"))["s"]
    subtotal = invoices.aggregate(s=Sum("subtotal"), t=Sum("tax"))
    sample = list(invoices.order_by("?")[:200])
    wrong = [
        (i.number, str(i.subtotal.amount), str(i.tax.amount))
        for i in sample
        if i.tax.amount != round_money(i.subtotal.amount * Decimal("0.21"), "EUR")
    ]
    if count == 0 or numbered != count or distinct != count or left or wrong or lines_total != subtotal["s"]:
        raise SystemExit(
            f"wrong result: {count} invoices, {numbered} numbered, {distinct} distinct numbers, {left} not renewed, "
            f"wrong tax {wrong[:3]}, lines {lines_total} vs subtotals {subtotal['s']}"
        )
    kinds = dict(
        Invoice.objects.values("lines__kind").order_by().annotate(n=Count("id")).values_list("lines__kind", "n")
    )
    return {
        "seconds": seconds,
        "invoices": count,
        "result": result.as_dict(),
        "lines_by_kind": kinds,
        "subtotal_sum": str(subtotal["s"]),
        "tax_sum": str(subtotal["t"]),
    }


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command = argv[0] if argv else ""
    if command == "setup":
        print(json.dumps(_setup(int(argv[1]) if len(argv) > 1 else DEFAULT_SIZE)))
    elif command == "run":
        print(json.dumps(_run(), default=str))
    else:
        print(f"usage: python -m bench.billing setup N|run, not {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
