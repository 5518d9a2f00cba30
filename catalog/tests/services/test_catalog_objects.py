from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.models import BillableMetric, Coupon, PromotionCode, TaxRate
from catalog.services.coupons import coupon_create, coupon_update, promotion_code_create
from catalog.services.plans import plan_version_publish
from catalog.services.products import metric_update, product_update
from catalog.services.tax_rates import tax_rate_create, tax_rate_update
from catalog.tests.factories import ACTOR, T0, draft_version, make_metric, make_price, make_product

pytestmark = pytest.mark.django_db

LATER = datetime(2026, 2, 1, tzinfo=UTC)


def test_product_update_audits_only_what_changed():
    product = make_product(name="Storage", unit_label="GB")

    product_update(product=product, actor=ACTOR, now=LATER, name="Cloud storage", unit_label="GB")

    event = AuditEvent.objects.get(action="product.updated")
    assert (event.before, event.after) == (
        {"name": "Storage", "updated_at": T0.isoformat()},
        {"name": "Cloud storage", "updated_at": LATER.isoformat()},
    )


def test_count_metric_reads_no_property():
    with pytest.raises(DomainError) as error:
        make_metric(aggregation="count", property="minutes")

    assert error.value.code == "metric_property_not_used"
    assert not BillableMetric.objects.exists()


@pytest.mark.parametrize("filters", [{"region": "eu"}, ["eu"], {"region": []}, {"": ["eu"]}])
def test_metric_filters_must_list_values(filters):
    with pytest.raises(DomainError) as error:
        make_metric(filters=filters)

    assert error.value.code == "invalid_metric_filters"


def test_metric_used_by_a_published_price_keeps_how_it_counts():
    metric = make_metric(code="gb", aggregation="sum", property="gb")
    version = draft_version()
    make_price(plan_version=version, usage_type="metered", metric=metric, unit_amount=Decimal("0.10"))
    plan_version_publish(version=version, actor=ACTOR, now=T0)

    with pytest.raises(DomainError) as error:
        metric_update(metric=metric, actor=ACTOR, now=LATER, aggregation="max")
    metric_update(metric=metric, actor=ACTOR, now=LATER, name="Storage (GB)")

    assert error.value.code == "metric_in_use"
    metric.refresh_from_db()
    assert (metric.aggregation, metric.name) == ("sum", "Storage (GB)")


def _coupon(**fields):
    fields.setdefault("code", "spring")
    fields.setdefault("name", "Spring 20%")
    fields.setdefault("discount_type", "percent")
    if fields["discount_type"] == "percent":
        fields.setdefault("percent_off", Decimal(20))
    return coupon_create(actor=ACTOR, now=T0, **fields)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"percent_off": None}, "percent_off_required"),
        ({"amount_off": Decimal(5), "currency": "EUR"}, "amount_off_not_allowed"),
        ({"discount_type": "amount", "amount_off": Decimal(5)}, "amount_off_required"),
        ({"discount_type": "amount", "amount_off": Decimal(5), "currency": "ZZZ"}, "invalid_currency"),
        ({"duration": "repeating"}, "duration_in_periods_required"),
        ({"duration": "once", "duration_in_periods": 3}, "duration_in_periods_not_allowed"),
        ({"percent_off": Decimal(120)}, "invalid"),
    ],
)
def test_invalid_coupon_is_refused(fields, code):
    with pytest.raises(DomainError) as error:
        _coupon(**fields)

    assert error.value.code == code
    assert not Coupon.objects.exists()


def test_redeemed_coupon_keeps_its_discount():
    coupon = _coupon(duration="repeating", duration_in_periods=3)
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=1)

    with pytest.raises(DomainError) as error:
        coupon_update(coupon=coupon, actor=ACTOR, now=LATER, percent_off=Decimal(50))
    coupon_update(coupon=coupon, actor=ACTOR, now=LATER, name="Spring twenty")

    assert error.value.code == "coupon_redeemed"
    coupon.refresh_from_db()
    assert (coupon.percent_off, coupon.name) == (Decimal("20.00"), "Spring twenty")


def test_promotion_codes_are_case_insensitive_and_unique():
    coupon = _coupon()
    promo = promotion_code_create(actor=ACTOR, now=T0, coupon=coupon, code=" spring20 ")

    with pytest.raises(DomainError) as error:
        promotion_code_create(actor=ACTOR, now=T0, coupon=coupon, code="SPRING20")

    assert promo.code == "SPRING20"
    assert error.value.code == "promotion_code_taken"
    assert PromotionCode.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"country": "NLD"}, "invalid_country"),
        ({"country": "1X"}, "invalid_country"),
        ({"percentage": Decimal("-1")}, "invalid"),
        ({"percentage": Decimal("101")}, "invalid"),
        ({"category": "reverse_charge", "percentage": Decimal(0)}, "exemption_reason_required"),
        ({"category": "exempt", "percentage": Decimal(21), "exemption_reason": "x"}, "rate_must_be_zero"),
    ],
)
def test_invalid_tax_rate_is_refused(fields, code):
    base = {"name": "VAT", "country": "NL", "percentage": Decimal(21)}
    with pytest.raises(DomainError) as error:
        tax_rate_create(actor=ACTOR, now=T0, **{**base, **fields})

    assert error.value.code == code
    assert not TaxRate.objects.exists()


def test_tax_rate_normalises_codes_and_audits_changes():
    rate = tax_rate_create(actor=ACTOR, now=T0, name="VAT 21%", country="nl", percentage=Decimal(21))

    tax_rate_update(tax_rate=rate, actor=ACTOR, now=LATER, percentage=Decimal("21.5"))

    rate.refresh_from_db()
    assert (rate.country, rate.percentage) == ("NL", Decimal("21.5000"))
    event = AuditEvent.objects.get(action="tax_rate.updated")
    assert event.before["percentage"] == "21.0000"
    assert event.after["percentage"] == "21.5"
