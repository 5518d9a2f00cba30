"""The demo catalog: real pricing shapes a pricing or finance person recognises.

Built only through the catalog services (so every rule and every audit event applies, exactly as
when staff build it in the admin), and loaded by ``python manage.py seed_demo``. Development and
demos only: the staff logins it creates have publicly known passwords.

What is in it, and why:

* a SaaS suite (Starter / Team / Enterprise): per seat, graduated and volume tiers, a minimum
  charge, several currencies per plan version, yearly prices, and a *draft* Team v2 (v1 plus yearly
  billing) next to the published v1 so staff see the draft → publish flow; an AI assistant as a
  metered add-on;
* cloud storage at 0.10 EUR per GB-month (highest GB of the month);
* pay-as-you-go telecom: minutes, SMS and MB, three meters and three metered prices;
* an API platform: a monthly base fee plus graduated calls, the first 100,000 included and
  0.000125 EUR per call after that (a real 12-decimal unit price);
* cloud compute: CPU-hours, disk GB, outbound transfer GB;
* an energy plan: peak 07:00–23:00 Europe/Amsterdam at 0.15, off-peak 0.08 per kWh, plus a
  monthly standing charge;
* project software: 10 per user plus 5 per active project (a distinct-count meter);
* coupons (repeating, once, forever), a promotion code, and tax rates for NL, SE and DE
  including zero-rated export and EU reverse charge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from billing_site import roles
from billing_site.actors import Actor
from billing_site.demo_logins import DEMO_LOGINS
from catalog.models import BillableMetric, Plan, PlanVersion, Price, Product
from catalog.services.coupons import coupon_create, promotion_code_create
from catalog.services.plans import plan_create, plan_version_new_draft, plan_version_publish
from catalog.services.prices import price_create
from catalog.services.products import metric_create, product_create
from catalog.services.tax_rates import tax_rate_create

D = Decimal

#: The group each demo login belongs to; ``None`` is the superuser.
DEMO_LOGIN_GROUPS: dict[str, str | None] = {
    "admin": None,
    "pricing": roles.PRICING,
    "finance": roles.FINANCE,
    "support": roles.SUPPORT,
    "approver": roles.APPROVER,
}

TierRow = tuple[int | str | None, str, str]


def tiers(*rows: TierRow) -> list[dict[str, Decimal | None]]:
    """``("100000", "0", "0"), (None, "0.000125", "0")`` → tier dicts for ``price_create``."""
    return [
        {"up_to": None if up_to is None else D(up_to), "unit_amount": D(unit_amount), "flat_amount": D(flat_amount)}
        for up_to, unit_amount, flat_amount in rows
    ]


@dataclass
class DemoCatalog:
    """What was built, by code, for the summary and for callers that want to use it."""

    metrics: dict[str, BillableMetric] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    prices: list[Price] = field(default_factory=list)
    draft_versions: list[PlanVersion] = field(default_factory=list)
    promotion_codes: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, *, actor: Actor, now: dt.datetime) -> None:
        self.actor = actor
        self.now = now
        self.built = DemoCatalog()

    def who(self) -> dict[str, Any]:
        return {"actor": self.actor, "now": self.now}

    def metric(self, code: str, name: str, aggregation: str, prop: str = "", **fields: Any) -> BillableMetric:
        metric = metric_create(**self.who(), code=code, name=name, aggregation=aggregation, property=prop, **fields)
        self.built.metrics[code] = metric
        return metric

    def product(self, key: str, name: str, unit_label: str, description: str = "") -> Product:
        product = product_create(**self.who(), name=name, unit_label=unit_label, description=description)
        self.built.products[key] = product
        return product

    def price(self, product: str, currency: str, **fields: Any) -> Price:
        metric = fields.pop("metric", None)
        if metric is not None:
            fields.update(usage_type="metered", metric=self.built.metrics[metric])
        price = price_create(**self.who(), product=self.built.products[product], currency=currency, **fields)
        self.built.prices.append(price)
        return price

    def plan(self, code: str, name: str, description: str, prices: Iterable[dict[str, Any]]) -> Plan:
        """A plan whose first version holds ``prices`` and is published."""
        plan = plan_create(**self.who(), code=code, name=name, description=description, notes="Launch prices")
        version = plan.versions.get()
        for spec in prices:
            self.price(plan_version=version, **spec)
        plan_version_publish(version=version, **self.who())
        self.built.plans[code] = plan
        return plan


def _saas_suite(b: _Builder) -> None:
    b.metric("ai_requests", "AI assistant requests", "count", description="One event per request to the assistant.")
    b.product("seat", "Workspace seat", "seat", "Docs, chat and video calls for one person.")
    b.product("ai", "AI assistant", "request", "Premium add-on: drafting, summaries and search answers.")
    b.plan(
        "starter",
        "Starter",
        "For small teams getting started.",
        [
            {"product": "seat", "currency": "EUR", "pricing_model": "per_unit", "unit_amount": D("8.00")},
            {"product": "seat", "currency": "SEK", "pricing_model": "per_unit", "unit_amount": D("89.00")},
            {
                "product": "seat",
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D("80.00"),
                "interval": "year",
                "nickname": "Workspace seat (yearly, two months free)",
            },
        ],
    )
    team_tiers = {
        "EUR": tiers((10, "12.00", "0"), (50, "10.00", "0"), (None, "8.50", "0")),
        "SEK": tiers((10, "135.00", "0"), (50, "115.00", "0"), (None, "95.00", "0")),
        "USD": tiers((10, "13.00", "0"), (50, "11.00", "0"), (None, "9.00", "0")),
    }
    team = b.plan(
        "team",
        "Team",
        "Graduated seat prices: the more seats, the lower the price of the extra ones.",
        [
            {"product": "seat", "currency": currency, "pricing_model": "graduated", "tiers": rows, "trial_days": 14}
            for currency, rows in team_tiers.items()
        ],
    )
    b.plan(
        "enterprise",
        "Enterprise",
        "Volume seat prices (every seat at the tier reached), with a minimum monthly commitment.",
        [
            {
                "product": "seat",
                "currency": "EUR",
                "pricing_model": "volume",
                "tiers": tiers((100, "20.00", "0"), (500, "17.50", "0"), (None, "15.00", "0")),
                "minimum_amount": D("1000.00"),
            }
        ],
    )
    # The premium add-on: a standalone metered price any subscription can add.
    b.price(
        "ai",
        "EUR",
        pricing_model="graduated",
        metric="ai_requests",
        nickname="AI assistant requests",
        tiers=tiers((1000, "0", "0"), (10000, "0.02", "0"), (None, "0.015", "0")),
    )
    # A proposed change, left as a draft for Pricing to review and publish: v2 copies v1 and adds yearly billing.
    draft = plan_version_new_draft(
        plan=team,
        **b.who(),
        notes="Proposal: add yearly billing in EUR with two months free; monthly prices unchanged.",
    )
    b.price(
        "seat",
        "EUR",
        plan_version=draft,
        pricing_model="graduated",
        interval="year",
        nickname="Workspace seat (yearly, two months free)",
        tiers=tiers((10, "120.00", "0"), (50, "100.00", "0"), (None, "85.00", "0")),
        trial_days=14,
    )
    b.built.draft_versions.append(draft)


def _cloud_storage(b: _Builder) -> None:
    b.metric(
        "storage_gb", "Storage used (GB)", "max", "gb", description="The highest number of GB stored in the month."
    )
    b.product("storage", "Cloud storage", "GB-month")
    b.plan(
        "cloud-storage",
        "Cloud storage",
        "Pay for the most you stored in the month.",
        [
            {
                "product": "storage",
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D("0.10"),
                "metric": "storage_gb",
            }
        ],
    )


def _telecom(b: _Builder) -> None:
    b.metric("call_minutes", "Call minutes", "sum", "minutes")
    b.metric("sms", "Text messages", "count")
    b.metric("data_mb", "Mobile data (MB)", "sum", "mb")
    b.product("minutes", "Voice calls", "minute")
    b.product("sms", "Text messages", "SMS")
    b.product("data", "Mobile data", "MB")
    metered = [("minutes", "0.10", "call_minutes"), ("sms", "0.01", "sms"), ("data", "0.05", "data_mb")]
    b.plan(
        "pay-as-you-go",
        "Pay as you go (mobile)",
        "No monthly fee: pay per minute, text and megabyte.",
        [
            {
                "product": product,
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D(amount),
                "metric": metric,
            }
            for product, amount, metric in metered
        ],
    )


def _api_platform(b: _Builder) -> None:
    b.metric("api_calls", "API calls", "count")
    b.product("api_base", "API platform subscription", "month")
    b.product("api_calls", "API calls", "API call")
    b.plan(
        "api-platform",
        "API platform",
        "A monthly base fee with 100,000 calls included; calls above that are billed per call.",
        [
            {"product": "api_base", "currency": "EUR", "pricing_model": "flat", "flat_amount": D("49.00")},
            {
                "product": "api_calls",
                "currency": "EUR",
                "pricing_model": "graduated",
                "metric": "api_calls",
                "nickname": "API calls (first 100,000 included)",
                "tiers": tiers((100_000, "0", "0"), (10_000_000, "0.000125", "0"), (None, "0.0001", "0")),
            },
        ],
    )


def _cloud_compute(b: _Builder) -> None:
    b.metric("cpu_hours", "CPU-hours", "sum", "cpu_hours")
    b.metric("disk_gb", "Disk storage (GB)", "last_in_period", "gb", description="Disk size at the end of the month.")
    b.metric(
        "transfer_gb",
        "Outbound data transfer (GB)",
        "sum",
        "gb",
        filters={"direction": ["egress"]},
        description="Only outbound traffic is billed.",
    )
    b.product("cpu", "Compute", "CPU-hour")
    b.product("disk", "Block storage", "GB")
    b.product("transfer", "Data transfer", "GB")
    metered = [("cpu", "0.05", "cpu_hours"), ("disk", "0.01", "disk_gb"), ("transfer", "0.02", "transfer_gb")]
    b.plan(
        "cloud-compute",
        "Cloud compute",
        "Pay for CPU-hours, disk and outbound transfer.",
        [
            {
                "product": product,
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D(amount),
                "metric": metric,
            }
            for product, amount, metric in metered
        ],
    )


def _energy(b: _Builder) -> None:
    b.metric("energy_kwh", "Electricity used (kWh)", "sum", "kwh")
    b.product("electricity", "Electricity", "kWh", "100% wind power from the North Sea.")
    b.product("standing", "Standing charge", "month", "Grid connection and metering.")
    b.plan(
        "energy",
        "Green energy (time of use)",
        "Peak 07:00–23:00 at 0.15 per kWh, off-peak at 0.08 (Amsterdam time), plus a monthly standing charge.",
        [
            {
                "product": "electricity",
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D("0.08"),
                "metric": "energy_kwh",
                "time_zone": "Europe/Amsterdam",
                "rate_windows": [
                    {"name": "peak", "start_time": dt.time(7), "end_time": dt.time(23), "unit_amount": D("0.15")}
                ],
            },
            {"product": "standing", "currency": "EUR", "pricing_model": "flat", "flat_amount": D("6.50")},
        ],
    )


def _project_software(b: _Builder) -> None:
    b.metric(
        "active_projects",
        "Active projects",
        "unique_count",
        "project_id",
        description="Projects with at least one change in the month, each counted once.",
    )
    b.product("project_users", "Project software user", "user")
    b.product("projects", "Active project", "project")
    b.plan(
        "projects",
        "Project software",
        "10 per user plus 5 per active project.",
        [
            {"product": "project_users", "currency": "EUR", "pricing_model": "per_unit", "unit_amount": D("10.00")},
            {
                "product": "projects",
                "currency": "EUR",
                "pricing_model": "per_unit",
                "unit_amount": D("5.00"),
                "metric": "active_projects",
            },
        ],
    )


def _coupons(b: _Builder) -> None:
    welcome = coupon_create(
        **b.who(),
        code="welcome-20",
        name="Welcome: 20% off for 3 months",
        discount_type="percent",
        percent_off=D(20),
        duration="repeating",
        duration_in_periods=3,
    )
    coupon_create(
        **b.who(),
        code="onboarding-50",
        name="Onboarding credit: EUR 50 off",
        discount_type="amount",
        amount_off=D("50.00"),
        currency="EUR",
        duration="once",
    )
    coupon_create(
        **b.who(),
        code="nonprofit-15",
        name="Non-profit: 15% off",
        discount_type="percent",
        percent_off=D(15),
        duration="forever",
        applies_to_plans=[b.built.plans[code] for code in ("starter", "team", "enterprise")],
    )
    promotion_code_create(**b.who(), coupon=welcome, code="WELCOME20", first_time_only=True, max_redemptions=1000)
    b.built.promotion_codes.append("WELCOME20")


def _tax_rates(b: _Builder) -> None:
    rates: Sequence[dict[str, Any]] = [
        {"name": "VAT 21%", "country": "NL", "percentage": D(21)},
        {"name": "VAT 9%", "country": "NL", "percentage": D(9), "product_tax_category": "reduced"},
        {
            "name": "VAT 0% (export)",
            "country": "NL",
            "percentage": D(0),
            "category": "zero",
            "exemption_reason": "Export of services outside the EU",
        },
        # Reverse charge is printed on the Dutch seller's invoices to EU business customers.
        {
            "name": "EU reverse charge",
            "country": "NL",
            "percentage": D(0),
            "category": "reverse_charge",
            "exemption_reason": "Reverse charge",
        },
        {"name": "Moms 25%", "country": "SE", "percentage": D(25)},
        {"name": "MwSt 19%", "country": "DE", "percentage": D(19)},
    ]
    for rate in rates:
        tax_rate_create(**b.who(), **rate)


def demo_catalog_create(*, actor: Actor, now: dt.datetime) -> DemoCatalog:
    """Build the whole demo catalog. Call inside one transaction, on an empty catalog."""
    builder = _Builder(actor=actor, now=now)
    for part in (_saas_suite, _cloud_storage, _telecom, _api_platform, _cloud_compute, _energy, _project_software):
        part(builder)
    _coupons(builder)
    _tax_rates(builder)
    return builder.built


def demo_users_create() -> list[tuple[str, bool]]:
    """The demo staff logins of ``DEMO_LOGINS``: (username, created). Existing users are left alone."""
    User = get_user_model()
    result = []
    for username, password, _description in DEMO_LOGINS:
        if User.objects.filter(username=username).exists():
            result.append((username, False))
            continue
        email = f"{username}@demo.invalid"
        group = DEMO_LOGIN_GROUPS[username]
        if group is None:
            User.objects.create_superuser(username=username, email=email, password=password)
        else:
            user = User.objects.create_user(username=username, email=email, password=password, is_staff=True)
            user.groups.add(Group.objects.get(name=group))
        result.append((username, True))
    return result
