"""Demo customers, subscriptions and usage on top of the demo catalog (development and demos only).

Built through the services, like real data, so every rule holds: what `make run` shows is what the
product does.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from billing_site.actors import Actor
from catalog.models import Plan, Price
from subscriptions.models import Customer, Subscription
from subscriptions.services.customers import customer_create
from subscriptions.services.subscriptions import subscription_cancel, subscription_change, subscription_create
from subscriptions.services.test_clocks import test_clock_create
from subscriptions.services.usage import usage_alert_create, usage_events_ingest

CUSTOMERS = [
    {
        "name": "Acme Robotics B.V.",
        "email": "finance@acme-robotics.example",
        "country": "NL",
        "currency": "EUR",
        "vat_id": "NL123456789B01",
        "address_line1": "Keizersgracht 100",
        "postal_code": "1015 AA",
        "city": "Amsterdam",
        "external_id": "crm-1001",
    },
    {
        "name": "Nordlys Design AB",
        "email": "ekonomi@nordlys.example",
        "country": "SE",
        "currency": "SEK",
        "language": "sv",
        "vat_id": "SE556677889901",
        "address_line1": "Drottninggatan 12",
        "postal_code": "111 51",
        "city": "Stockholm",
        "external_id": "crm-1002",
    },
    {
        "name": "Globex Data GmbH",
        "email": "rechnungen@globex.example",
        "country": "DE",
        "currency": "EUR",
        "vat_id": "DE123456789",
        "tax_exemption": "reverse",
        "address_line1": "Friedrichstraße 50",
        "postal_code": "10117",
        "city": "Berlin",
        "external_id": "crm-1003",
    },
    {
        "name": "Jan de Vries",
        "email": "jan.devries@example.nl",
        "country": "NL",
        "currency": "EUR",
        "language": "nl",
        "address_line1": "Oudegracht 5",
        "postal_code": "3511 AA",
        "city": "Utrecht",
        "external_id": "crm-1004",
    },
    {
        "name": "Brightside Studio B.V.",
        "email": "admin@brightside.example",
        "country": "NL",
        "currency": "EUR",
        "vat_id": "NL004495445B01",
        "address_line1": "Witte de Withstraat 20",
        "postal_code": "3012 BP",
        "city": "Rotterdam",
        "external_id": "crm-1005",
    },
]


@dataclass
class DemoSubscriptions:
    customers: list[Customer] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    usage_events: int = 0


def _plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def _usage(customer: Customer, metric: str, start: dt.datetime, now: dt.datetime, count: int, values, seed: int):
    """``count`` events spread between ``start`` and ``now``, with reproducible values."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    span = (now - start).total_seconds()
    events = []
    for index in range(count):
        moment = start + dt.timedelta(seconds=span * (index + rng.random()) / count)
        value, properties = values(rng)
        events.append(
            {
                "customer": customer.pk,
                "metric": metric,
                "value": str(value),
                "timestamp": moment.isoformat(),
                "idempotency_key": f"demo-{metric}-{customer.pk}-{index}",
                "properties": properties,
            }
        )
    accepted = 0
    for offset in range(0, len(events), 1000):
        accepted += usage_events_ingest(events=events[offset : offset + 1000], now=now).accepted
    return accepted


def _kwh(rng: random.Random) -> tuple[int, dict[str, str]]:
    """Energy meters report kWh in a property (the metric reads ``kwh``)."""
    return 1, {"kwh": str(Decimal(rng.randint(20, 180)) / 100)}


def demo_subscriptions_create(*, actor: Actor, now: dt.datetime) -> DemoSubscriptions:
    built = DemoSubscriptions()
    start = now - dt.timedelta(days=12)  # so the current periods have usage and a forecast
    acme, nordlys, globex, jan, brightside = (customer_create(actor=actor, now=start, **fields) for fields in CUSTOMERS)
    built.customers = [acme, nordlys, globex, jan, brightside]

    team = subscription_create(
        customer=acme, actor=actor, now=start, plan_version=_plan("team"), quantity=12, interval="month"
    )
    ai_addon = Price.objects.get(plan_version__isnull=True, metric__code="ai_requests", currency="EUR")
    subscription_change(subscription=team, actor=actor, now=start + dt.timedelta(days=3), addons=[ai_addon])
    subscription_change(subscription=team, actor=actor, now=start + dt.timedelta(days=6), quantity=15)
    starter = subscription_create(
        customer=nordlys, actor=actor, now=start, plan_version=_plan("starter"), quantity=4, interval="month"
    )
    api = subscription_create(customer=globex, actor=actor, now=start, plan_version=_plan("api-platform"))
    energy = subscription_create(customer=jan, actor=actor, now=start, plan_version=_plan("energy"))
    projects = subscription_create(
        customer=brightside, actor=actor, now=start, plan_version=_plan("projects"), quantity=6
    )
    subscription_cancel(
        subscription=projects,
        actor=actor,
        now=start + dt.timedelta(days=10),
        at_period_end=True,
        reason_code="too_expensive",
        reason_text="Moving to a smaller tool after the merger.",
    )
    built.subscriptions = [team, starter, api, energy, projects]

    built.usage_events += _usage(acme, "ai_requests", start, now, 800, lambda rng: (1, {}), seed=1)
    built.usage_events += _usage(globex, "api_calls", start, now, 3000, lambda rng: (1, {"endpoint": "/v1/quotes"}), 2)
    built.usage_events += _usage(jan, "energy_kwh", start, now, 12 * 24, _kwh, 3)
    built.usage_events += _usage(
        brightside, "active_projects", start, now, 60, lambda rng: (1, {"project_id": f"p{rng.randint(1, 7)}"}), 4
    )
    usage_alert_create(
        customer=globex, metric_code="api_calls", kind="quantity", threshold=Decimal(2500), actor=actor, now=start
    )

    clock = test_clock_create(name="Demo: upgrade mid-month", frozen_time=start, actor=actor, now=start)
    tester = customer_create(
        actor=actor,
        now=start,
        name="Test Customer (clock)",
        email="test-clock@example.com",
        country="NL",
        currency="EUR",
        test_clock=clock,
    )
    subscription_create(
        customer=tester, actor=actor, now=start, plan_version=_plan("starter"), quantity=2, interval="month"
    )
    built.customers.append(tester)
    return built
