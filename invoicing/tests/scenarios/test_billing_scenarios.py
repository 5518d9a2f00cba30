"""Clock scenarios: create, move the clock, run billing, and check every line and total exactly."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from catalog.services.coupons import coupon_create
from catalog.tests.factories import make_metric, make_product
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from invoicing.services.billing import billing_run
from invoicing.tests.factories import ACTOR, eu_rates, invoices_of, lines_of, make_tax_rate, totals_of
from subscriptions.services.usage import usage_events_ingest
from subscriptions.tests.factories import make_customer, make_plan_with_prices, make_subscription, utc

pytestmark = pytest.mark.django_db

JAN15, FEB15, MAR15, APR15 = utc(2026, 1, 15), utc(2026, 2, 15), utc(2026, 3, 15), utc(2026, 4, 15)
API_TIERS = [
    {"up_to": D(1000), "unit_amount": D("0"), "flat_amount": D(0)},
    {"up_to": D(10000), "unit_amount": D("0.002"), "flat_amount": D(0)},
    {"up_to": None, "unit_amount": D("0.001"), "flat_amount": D(0)},
]


@pytest.fixture
def rates():
    eu_rates()


def saas_plan():
    metric = make_metric(code="api_calls", name="API calls", aggregation="sum")
    return make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D("49.00"), "product": make_product(name="Base fee")},
        {"pricing_model": "per_unit", "unit_amount": D("10.00"), "product": make_product(name="Seat")},
        {
            "pricing_model": "graduated",
            "tiers": API_TIERS,
            "usage_type": "metered",
            "metric": metric,
            "product": make_product(name="API calls"),
        },
    )


def use(customer, subscription, values, at):
    result = usage_events_ingest(
        events=[
            {
                "customer": customer.pk,
                "metric": "api_calls",
                "value": str(v),
                "idempotency_key": f"k{at.isoformat()}{n}",
                "timestamp": at.isoformat(),
            }
            for n, v in enumerate(values)
        ],
        now=at,
    )
    assert result.accepted == len(values), result.as_dict()


def test_monthly_fees_in_advance_and_tiered_usage_in_arrears(rates):
    customer = make_customer(name="Dutch Shop B.V.")
    subscription = make_subscription(customer, plan_version=saas_plan(), quantity=5, now=JAN15)
    (first,) = invoices_of(subscription)
    assert first.kind == InvoiceKind.SUBSCRIPTION_CREATE
    assert lines_of(first) == [
        ("Base fee", D(1), None, D("49.00"), D(0), JAN15, FEB15),
        ("5 × Seat", D(5), D(10), D("50.00"), D(0), JAN15, FEB15),
    ]
    assert totals_of(first) == (D("99.00"), D(0), D("20.79"), D("119.79"), D("119.79"))
    use(customer, subscription, [5000, 4000, 3000], utc(2026, 1, 20, 10, 30))

    result = billing_run(now=FEB15)

    assert (result.renewed_in_batches, result.finalized) == (1, 1)
    first.refresh_from_db()
    assert (first.status, first.number, first.finalized_at) == (
        InvoiceStatus.OPEN,
        "INV-2026-00001",
        utc(2026, 1, 15, 1),
    )
    first_run, second = invoices_of(subscription)
    assert second.kind == InvoiceKind.SUBSCRIPTION_CYCLE
    assert (second.status, second.number, second.period_start, second.period_end) == ("draft", "", FEB15, MAR15)
    assert lines_of(second) == [
        ("Base fee", D(1), None, D("49.00"), D(0), FEB15, MAR15),
        ("5 × Seat", D(5), D(10), D("50.00"), D(0), FEB15, MAR15),
        ("API calls: usage", D(12000), None, D("20.00"), D(0), JAN15, FEB15),
    ]
    usage = second.lines.get(description="API calls: usage")
    assert [(t["quantity"], t["amount"]) for t in usage.tiers] == [
        ("1000", "0.00"),
        ("9000", "18.00"),
        ("2000", "2.00"),
    ]
    assert totals_of(second) == (D("119.00"), D(0), D("24.99"), D("143.99"), D("143.99"))

    billing_run(now=utc(2026, 2, 15, 1))
    second.refresh_from_db()
    assert (second.status, second.number, second.due_at) == ("open", "INV-2026-00002", utc(2026, 3, 1, 1))
    assert second.payment_reference.startswith("RF")
    assert second.buyer["name"] == "Dutch Shop B.V."


def test_a_second_run_at_the_same_time_bills_nothing_more(rates):
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=JAN15)
    billing_run(now=FEB15)
    before = Invoice.objects.count()
    assert billing_run(now=FEB15).as_dict() == {
        "renewed_in_batches": 0,
        "lifecycle_events": 0,
        "update_invoices": 0,
        "finalized": 0,
    }
    assert Invoice.objects.count() == before == 2
    subscription.refresh_from_db()
    assert (subscription.current_period_start, subscription.current_period_end) == (FEB15, MAR15)


def test_month_end_anchor_bills_feb_28_then_mar_31(rates):
    jan31 = utc(2026, 1, 31)
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=jan31)
    billing_run(now=utc(2026, 2, 28))
    billing_run(now=utc(2026, 3, 31))
    assert [(i.period_start, i.period_end) for i in invoices_of(subscription)] == [
        (jan31, utc(2026, 2, 28)),
        (utc(2026, 2, 28), utc(2026, 3, 31)),
        (utc(2026, 3, 31), utc(2026, 4, 30)),
    ]
    assert [totals_of(i)[3] for i in invoices_of(subscription)] == [D("71.39")] * 3  # (49 + 10) × 1.21


def test_yearly_plan_renews_after_a_year(rates):
    version = make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D("990.00"), "interval": "year", "product": make_product(name="Pro")}
    )
    subscription = make_subscription(make_customer(), plan_version=version, now=JAN15)
    assert billing_run(now=utc(2026, 12, 31)).renewed_in_batches == 0
    billing_run(now=utc(2027, 1, 15))
    first, renewal = invoices_of(subscription)
    assert lines_of(renewal) == [("Pro", D(1), None, D("990.00"), D(0), utc(2027, 1, 15), utc(2028, 1, 15))]
    assert totals_of(renewal) == (D("990.00"), D(0), D("207.90"), D("1197.90"), D("1197.90"))
    assert first.number == "INV-2026-00001"
    billing_run(now=utc(2027, 1, 15, 1))
    renewal.refresh_from_db()
    assert renewal.number == "INV-2027-00001"  # the series starts again each year


@pytest.mark.parametrize(
    ("duration", "periods", "discounts"),
    [
        ("once", None, [D("5.90"), D(0), D(0)]),
        ("repeating", 2, [D("5.90"), D("5.90"), D(0)]),
        ("forever", None, [D("5.90"), D("5.90"), D("5.90")]),
    ],
)
def test_coupon_durations(rates, duration, periods, discounts):
    coupon = coupon_create(
        actor=ACTOR,
        now=JAN15,
        code=f"ten-{duration}",
        name="10% off",
        discount_type="percent",
        percent_off=D("10"),
        duration=duration,
        duration_in_periods=periods,
    )
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), coupon=coupon, now=JAN15)
    billing_run(now=FEB15)
    billing_run(now=MAR15)
    invoices = invoices_of(subscription)
    assert [totals_of(i)[1] for i in invoices] == discounts
    # 59.00 − discount, then 21% on the discounted amount, rounded once.
    expected = [(D("59.00") - d + ((D("59.00") - d) * D("0.21")).quantize(D("0.01"))) for d in discounts]
    assert [totals_of(i)[3] for i in invoices] == expected
    assert [line.discount.amount for line in invoices[0].lines.order_by("position")] == (
        [D("4.90"), D("1.00")]  # 10% of 59.00 = 5.90 spread by amount: 49.00 and 10.00
    )


def test_prices_including_tax_keep_the_promised_gross(rates):
    make_tax_rate("SE", "25", inclusive=True, name="Moms 25%")
    customer = make_customer(country="SE", currency="SEK")
    version = make_plan_with_prices(
        {"pricing_model": "flat", "flat_amount": D("99.00"), "currency": "SEK", "product": make_product(name="Lite")}
    )
    subscription = make_subscription(customer, plan_version=version, now=JAN15)
    (invoice,) = invoices_of(subscription)
    # Swedish seller? No: the Dutch default entity sells to a Swedish consumer → destination rate (OSS).
    assert totals_of(invoice) == (D("99.00"), D(0), D("19.80"), D("99.00"), D("99.00"))
    assert invoice.prices_include_tax is True
    assert invoice.lines.get().net_amount.amount == D("79.20")


def test_reverse_charge_for_a_business_in_another_eu_country(rates):
    customer = make_customer(name="Berlin GmbH", country="DE", vat_id="DE123456789")
    subscription = make_subscription(customer, plan_version=saas_plan(), now=JAN15)
    (invoice,) = invoices_of(subscription)
    assert totals_of(invoice) == (D("59.00"), D(0), D(0), D("59.00"), D("59.00"))
    assert invoice.notes == [
        "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
    ]
    assert list(invoice.tax_rows.values_list("category", "taxable_amount", "tax_amount")) == [
        ("reverse_charge", D("59.00"), D("0.00"))
    ]


def test_consumer_in_another_eu_country_pays_the_destination_rate(rates):
    customer = make_customer(country="DE")
    subscription = make_subscription(customer, plan_version=saas_plan(), now=JAN15)
    (invoice,) = invoices_of(subscription)
    assert totals_of(invoice) == (D("59.00"), D(0), D("11.21"), D("70.21"), D("70.21"))


def test_without_a_tax_rate_the_draft_waits_on_hold_and_is_not_finalized():
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=JAN15)
    (invoice,) = invoices_of(subscription)
    assert invoice.on_hold is True
    assert invoice.hold_reason == "No tax rate for standard-rate products in NL: add one for NL."
    assert billing_run(now=FEB15).finalized == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == ("draft", "")


def test_trial_gives_a_zero_invoice_then_bills_at_conversion(rates, settings):
    settings.TRIAL_END_WITHOUT_PAYMENT_METHOD = "convert"
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=JAN15, trial_end=utc(2026, 1, 29))
    (trial,) = invoices_of(subscription)
    assert lines_of(trial) == [
        ("Free trial: Base fee", D(1), D(0), D("0.00"), D(0), JAN15, utc(2026, 1, 29)),
        ("Free trial: Seat", D(1), D(0), D("0.00"), D(0), JAN15, utc(2026, 1, 29)),
    ]
    billing_run(now=utc(2026, 1, 29, 2))
    trial.refresh_from_db()
    assert (trial.status, trial.number, trial.amount_due.amount) == ("paid", "INV-2026-00001", D(0))
    _, converted = invoices_of(subscription)
    assert converted.kind == InvoiceKind.SUBSCRIPTION_CYCLE
    assert lines_of(converted) == [
        ("Base fee", D(1), None, D("49.00"), D(0), utc(2026, 1, 29), utc(2026, 2, 28, 0)),
        ("Seat", D(1), D(10), D("10.00"), D(0), utc(2026, 1, 29), utc(2026, 2, 28)),
    ]
    assert totals_of(converted) == (D("59.00"), D(0), D("12.39"), D("71.39"), D("71.39"))


def test_zero_amount_invoices_can_be_kept_as_drafts(rates, settings):
    settings.ZERO_AMOUNT_INVOICES = "keep_draft"
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=JAN15, trial_end=utc(2026, 1, 29))
    billing_run(now=utc(2026, 1, 20))
    (trial,) = invoices_of(subscription)
    assert (trial.status, trial.number) == ("draft", "")


def test_usage_arriving_after_its_period_was_invoiced_is_billed_as_late_usage(rates):
    customer = make_customer()
    subscription = make_subscription(customer, plan_version=saas_plan(), now=JAN15)
    use(customer, subscription, [6000], utc(2026, 1, 20))
    billing_run(now=FEB15)
    from subscriptions.models import UsageEvent

    late = UsageEvent.objects.filter(late=True)
    usage_events_ingest(
        events=[
            {
                "customer": customer.pk,
                "metric": "api_calls",
                "value": "5000",
                "idempotency_key": "late-1",
                "timestamp": utc(2026, 2, 1).isoformat(),  # January's period, which was invoiced on Feb 15
            }
        ],
        now=utc(2026, 2, 20),
    )
    assert late.count() == 1
    billing_run(now=MAR15)
    *_, march = invoices_of(subscription)
    assert [(d, q, a) for d, q, _, a, *_ in lines_of(march)][-2:] == [
        ("API calls: usage", D(0), D("0.00")),  # Feb 15 – Mar 15: nothing
        # 11,000 calls in January cost 19.00; the 6,000 billed on Feb 15 cost 10.00: 9.00 more.
        ("Late usage: API calls (arrived after its period was invoiced)", D(5000), D("9.00")),
    ]


def test_without_a_review_window_invoices_are_finalized_in_the_run_itself(rates, settings):
    from billing_site.models import AuditEvent

    settings.INVOICE_REVIEW_MINUTES = 0
    subscription = make_subscription(make_customer(), plan_version=saas_plan(), now=JAN15)
    billing_run(now=FEB15)
    first, renewal = invoices_of(subscription)
    assert [(i.status, i.number, i.finalized_at) for i in (first, renewal)] == [
        ("open", "INV-2026-00001", JAN15),
        ("open", "INV-2026-00002", FEB15),
    ]
    assert (renewal.buyer["name"], renewal.due_at, totals_of(renewal)[3]) == (
        subscription.customer.name,
        utc(2026, 3, 1),
        D("71.39"),
    )
    assert list(
        AuditEvent.objects.filter(object_type="invoicing.invoice", object_id=str(renewal.pk))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["invoice.created", "invoice.finalized"]
