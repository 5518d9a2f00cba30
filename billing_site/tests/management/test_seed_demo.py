"""seed_demo: the demo catalog, built through the services, loaded once, with exact prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import override_settings

from billing_site.demo_logins import DEMO_LOGINS
from billing_site.models import AuditEvent
from catalog.demo import DEMO_LOGIN_GROUPS
from catalog.domain.pricing import time_of_use_amount
from catalog.models import (
    BillableMetric,
    Coupon,
    Plan,
    PlanVersion,
    Price,
    Product,
    PromotionCode,
    RateWindow,
    TaxRate,
    Tier,
)
from catalog.selectors import price_quote
from catalog.services.prices import price_spec
from catalog.tests.factories import make_product

pytestmark = [pytest.mark.django_db, pytest.mark.no_default_entity]

D = Decimal
COUNTED = [Product, BillableMetric, Plan, PlanVersion, Price, Tier, RateWindow, Coupon, PromotionCode, TaxRate]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    everything = [*COUNTED, get_user_model(), Group, AuditEvent]
    return {model.__name__: model.objects.count() for model in everything}


def plan_price(
    plan: str, product: str, currency: str = "EUR", status: str = "published", interval: str = "month"
) -> Price:
    return Price.objects.get(
        plan_version__plan__code=plan,
        plan_version__status=status,
        product__name=product,
        currency=currency,
        interval=interval,
    )


def quote(price: Price, quantity: str) -> Decimal:
    return price_quote(price=price, quantity=D(quantity)).total


@pytest.fixture
def seeded(db) -> str:
    return seed()


def test_builds_the_catalog_with_exact_counts(seeded):
    assert {model.__name__: model.objects.count() for model in COUNTED} == {
        "Product": 15,
        "BillableMetric": 11,
        "Plan": 9,
        "PlanVersion": 10,
        "Price": 25,
        "Tier": 30,
        "RateWindow": 1,
        "Coupon": 3,
        "PromotionCode": 1,
        "TaxRate": 6,
    }
    assert PlanVersion.objects.filter(status="published").count() == 9
    assert list(PlanVersion.objects.filter(status="draft").values_list("plan__code", "number")) == [("team", 2)]
    assert Price.objects.filter(plan_version__status="draft").count() == 4
    assert Price.objects.filter(plan_version__status="published").count() == 20
    assert Price.objects.filter(plan_version__isnull=True).count() == 1
    assert set(Plan.objects.values_list("code", flat=True)) == {
        "starter", "team", "enterprise", "cloud-storage", "pay-as-you-go", "api-platform", "cloud-compute", "energy",
        "projects",
    }  # fmt: skip
    assert "Demo data loaded." in seeded
    assert "Team v2" in seeded


def test_a_plan_version_holds_prices_in_several_currencies(seeded):
    team_v1 = PlanVersion.objects.get(plan__code="team", number=1)
    assert sorted(team_v1.prices.values_list("currency", flat=True)) == ["EUR", "SEK", "USD"]
    starter = Plan.objects.get(code="starter").current_version
    assert sorted(starter.prices.values_list("currency", "interval")) == [
        ("EUR", "month"), ("EUR", "year"), ("SEK", "month")
    ]  # fmt: skip


def test_storage_costs_ten_cents_per_gb_month_of_the_highest_usage(seeded):
    price = plan_price("cloud-storage", "Cloud storage")
    assert (price.pricing_model, price.usage_type, price.unit_amount) == ("per_unit", "metered", D("0.10"))
    assert (price.metric.code, price.metric.aggregation, price.metric.property) == ("storage_gb", "max", "gb")
    assert quote(price, "1234.5") == D("123.45")


def test_api_overage_is_a_twelve_decimal_unit_price_after_100000_included_calls(seeded):
    price = plan_price("api-platform", "API calls")
    assert [(t.up_to, t.unit_amount, t.flat_amount) for t in price.tiers.all()] == [
        (D(100_000), D(0), D(0)),
        (D(10_000_000), D("0.000125"), D(0)),
        (None, D("0.0001"), D(0)),
    ]
    assert (price.usage_type, price.metric.code, price.metric.aggregation) == ("metered", "api_calls", "count")
    base = plan_price("api-platform", "API platform subscription")
    assert (base.pricing_model, base.flat_amount) == ("flat", D("49.00"))


def test_energy_peak_window_is_0700_to_2300_amsterdam_at_015_and_off_peak_008(seeded):
    price = plan_price("energy", "Electricity")
    window = price.rate_windows.get()
    assert (window.name, window.start_time, window.end_time, window.unit_amount) == (
        "peak", dt.time(7), dt.time(23), D("0.15")
    )  # fmt: skip
    assert (price.unit_amount, price.time_zone, price.usage_type) == (D("0.08"), "Europe/Amsterdam", "metered")
    assert time_of_use_amount(price_spec(price), {"peak": D(1200), "off-peak": D(300)}).total == D("204.00")
    assert plan_price("energy", "Standing charge").flat_amount == D("6.50")


@pytest.mark.parametrize(
    ("quantity", "total"),
    [
        ("100000", "0.00"),  # all included
        ("100004", "0.00"),  # 4 × 0.000125 = 0.0005 → 0.00 (rounded half up to the cent)
        ("100040", "0.01"),  # 40 × 0.000125 = 0.005 → 0.01
        ("1000000", "112.50"),  # 900,000 × 0.000125
        ("10000000", "1237.50"),  # 9,900,000 × 0.000125
        ("25000000", "2737.50"),  # 1,237.50 + 15,000,000 × 0.0001
    ],
)
def test_api_call_quotes_are_exact(seeded, quantity, total):
    assert quote(plan_price("api-platform", "API calls"), quantity) == D(total)


def test_a_million_api_calls_cost_the_base_fee_plus_overage(seeded):
    overage = price_quote(price=plan_price("api-platform", "API calls"), quantity=D(1_000_000))
    assert [(line.quantity, line.amount) for line in overage.lines] == [
        (D(100_000), D("0.00")),
        (D(900_000), D("112.50")),
    ]
    base = price_quote(price=plan_price("api-platform", "API platform subscription"), quantity=D(1))
    assert base.total + overage.total == D("161.50")


def test_saas_suite_quotes(seeded):
    team = plan_price("team", "Workspace seat")
    assert quote(team, "25") == D("270.00")  # 10 × 12.00 + 15 × 10.00
    assert quote(team, "60") == D("605.00")  # 120.00 + 40 × 10.00 + 10 × 8.50
    assert quote(plan_price("team", "Workspace seat", "SEK"), "25") == D("3075.00")
    assert quote(plan_price("team", "Workspace seat", "USD"), "25") == D("295.00")
    assert quote(plan_price("team", "Workspace seat", status="draft"), "25") == D("270.00")  # copied from v1
    proposed = plan_price("team", "Workspace seat", status="draft", interval="year")
    assert quote(proposed, "25") == D("2700.00")  # 10 × 120.00 + 15 × 100.00
    enterprise = plan_price("enterprise", "Workspace seat")
    assert quote(enterprise, "40") == D("1000.00")  # 800.00, topped up to the 1,000.00 minimum
    assert quote(enterprise, "150") == D("2625.00")  # every seat at 17.50
    assert quote(plan_price("starter", "Workspace seat"), "3") == D("24.00")
    assert quote(plan_price("starter", "Workspace seat", interval="year"), "3") == D("240.00")
    ai = Price.objects.get(plan_version__isnull=True)
    assert (ai.product.name, ai.usage_type, ai.metric.code) == ("AI assistant", "metered", "ai_requests")
    assert quote(ai, "12000") == D("210.00")  # 1,000 free + 9,000 × 0.02 + 2,000 × 0.015


def test_telecom_compute_and_project_quotes(seeded):
    assert quote(plan_price("pay-as-you-go", "Voice calls"), "250") == D("25.00")
    assert quote(plan_price("pay-as-you-go", "Text messages"), "120") == D("1.20")
    assert quote(plan_price("pay-as-you-go", "Mobile data"), "2048") == D("102.40")
    assert quote(plan_price("cloud-compute", "Compute"), "730") == D("36.50")
    assert quote(plan_price("cloud-compute", "Block storage"), "500") == D("5.00")
    assert quote(plan_price("cloud-compute", "Data transfer"), "1500") == D("30.00")
    assert BillableMetric.objects.get(code="transfer_gb").filters == {"direction": ["egress"]}
    assert quote(plan_price("projects", "Project software user"), "12") == D("120.00")
    projects = plan_price("projects", "Active project")
    assert (projects.metric.aggregation, projects.metric.property) == ("unique_count", "project_id")
    assert quote(projects, "7") == D("35.00")


def test_coupons_promotion_code_and_tax_rates(seeded):
    coupons = {c.code: c for c in Coupon.objects.all()}
    assert (coupons["welcome-20"].percent_off, coupons["welcome-20"].duration) == (D(20), "repeating")
    assert coupons["welcome-20"].duration_in_periods == 3
    assert (coupons["onboarding-50"].amount_off, coupons["onboarding-50"].currency) == (D(50), "EUR")
    assert coupons["onboarding-50"].duration == "once"
    assert coupons["nonprofit-15"].duration == "forever"
    assert set(coupons["nonprofit-15"].applies_to_plans.values_list("code", flat=True)) == {
        "starter", "team", "enterprise"
    }  # fmt: skip
    assert PromotionCode.objects.get().coupon == coupons["welcome-20"]
    rates = {
        (r.country, r.category, r.percentage, r.product_tax_category, r.exemption_reason) for r in TaxRate.objects.all()
    }
    assert rates == {
        ("NL", "standard", D(21), "standard", ""),
        ("NL", "standard", D(9), "reduced", ""),
        ("NL", "zero", D(0), "standard", "Export of services outside the EU"),
        ("NL", "reverse_charge", D(0), "standard", "Reverse charge"),
        ("SE", "standard", D(25), "standard", ""),
        ("DE", "standard", D(19), "standard", ""),
    }


def test_every_change_went_through_the_services_and_is_audited_as_seed_demo(seeded):
    events = AuditEvent.objects.all()
    assert events.count() > 0
    # Invoices the lifecycle makes on its own (first invoices, renewals) are the billing run's.
    assert set(events.values_list("actor_kind", "actor_id")) == {("system", "seed_demo"), ("system", "billing run")}
    assert set(events.filter(actor_id="billing run").values_list("action", flat=True)) <= {
        "invoice.created",
        "invoice.finalized",
    }
    audited_prices = set(events.filter(action="price.created").values_list("object_id", flat=True))
    # Team v2's three monthly prices were copied from v1 by plan_version_new_draft, which audits the version.
    copied = Price.objects.filter(plan_version__status="draft", interval="month")
    assert audited_prices == {str(pk) for pk in Price.objects.exclude(pk__in=copied).values_list("pk", flat=True)}
    assert events.filter(action="plan_version.created").count() == 10
    assert events.filter(action="plan_version.published").count() == 9


def test_demo_users_log_in_and_are_in_their_groups(seeded, client):
    User = get_user_model()
    for username, password, _description in DEMO_LOGINS:
        assert client.login(username=username, password=password), username
        client.logout()
        user = User.objects.get(username=username)
        assert user.is_staff
        group = DEMO_LOGIN_GROUPS[username]
        if group is None:
            assert user.is_superuser
            assert list(user.groups.all()) == []
        else:
            assert not user.is_superuser
            assert list(user.groups.values_list("name", flat=True)) == [group]
    assert User.objects.get(username="pricing").has_perm("catalog.change_price")
    assert not User.objects.get(username="support").has_perm("catalog.change_price")


def test_if_empty_on_a_seeded_catalog_changes_nothing(seeded):
    before = counts()
    output = seed("--if-empty")
    assert counts() == before
    assert "already has data" in output


def test_without_if_empty_a_second_run_is_refused_and_changes_nothing(seeded):
    before = counts()
    with pytest.raises(CommandError, match="already has data"):
        seed()
    assert counts() == before


def test_if_empty_on_an_empty_catalog_loads_the_demo(db):
    assert "Demo data loaded." in seed("--if-empty")
    assert Plan.objects.count() == 9


def test_any_catalog_data_counts_as_not_empty(db):
    make_product(name="Our own product")
    before = counts()
    assert "already has data (1 product)" in seed("--if-empty")
    with pytest.raises(CommandError, match=r"already has data \(1 product\)"):
        seed()
    assert counts() == before


def test_existing_staff_users_are_left_alone(db):
    User = get_user_model()
    User.objects.create_user(username="pricing", password="my-own-password")
    output = seed()
    assert "left unchanged: pricing" in output
    assert User.objects.get(username="pricing").check_password("my-own-password")
    assert User.objects.filter(username__in=DEMO_LOGIN_GROUPS).count() == 5


def test_a_failure_part_way_leaves_nothing_behind(db, monkeypatch):
    def fail():
        raise RuntimeError("disk full")

    before = counts()
    monkeypatch.setattr("billing_site.management.commands.seed_demo.demo_users_create", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        seed()
    assert counts() == before


def test_refuses_to_run_with_production_settings(db):
    with (
        override_settings(SETTINGS_MODULE="billing_site.settings.production"),
        pytest.raises(CommandError, match="never runs with production settings"),
    ):
        seed()
    assert counts()["Product"] == 0
    assert get_user_model().objects.count() == 0


def test_demo_customers_have_subscriptions_usage_and_a_test_clock(seeded):
    from subscriptions.models import Customer, Subscription, TestClock, UsageAlert, UsageEvent

    assert list(Customer.objects.order_by("external_id").values_list("external_id", "country", "currency")) == [
        ("", "NL", "EUR"),
        ("crm-1001", "NL", "EUR"),
        ("crm-1002", "SE", "SEK"),
        ("crm-1003", "DE", "EUR"),
        ("crm-1004", "NL", "EUR"),
        ("crm-1005", "NL", "EUR"),
    ]
    acme = Subscription.objects.get(customer__external_id="crm-1001")
    assert sorted((i.price.currency, i.quantity, i.is_addon) for i in acme.items.select_related("price")) == [
        ("EUR", 1, True),
        ("EUR", 15, False),
    ]
    assert Subscription.objects.get(customer__external_id="crm-1002").items.get().price.unit_amount == Decimal("89.00")
    assert Subscription.objects.get(customer__external_id="crm-1005").cancel_at_period_end is True
    assert UsageEvent.objects.count() == 800 + 3000 + 288 + 60
    assert UsageAlert.objects.get().threshold == Decimal("2500")
    clock = TestClock.objects.get()
    assert [c.name for c in clock.customers.all()] == ["Test Customer (clock)"]
