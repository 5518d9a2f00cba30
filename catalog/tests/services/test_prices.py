from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.models import Price, Tier
from catalog.selectors import price_quote
from catalog.services.plans import plan_version_publish
from catalog.services.prices import price_create, price_delete, price_update
from catalog.tests.factories import (
    ACTOR,
    STRIPE_GRADUATED_TIERS,
    T0,
    draft_version,
    make_graduated_price,
    make_metric,
    make_price,
    make_product,
)

pytestmark = pytest.mark.django_db


def test_graduated_price_is_created_with_tiers_and_audited():
    price = make_graduated_price()

    assert [(t.up_to, t.unit_amount, t.flat_amount) for t in price.tiers.order_by("position")] == [
        (Decimal(5), Decimal("7.00"), Decimal(0)),
        (Decimal(10), Decimal("6.50"), Decimal(0)),
        (None, Decimal("6.00"), Decimal(0)),
    ]
    event = AuditEvent.objects.get(action="price.created", object_id=str(price.pk))
    assert event.actor_kind == "system"
    assert event.after["pricing_model"] == "graduated"
    assert event.after["tiers"][1] == {"up_to": "10.000000", "unit_amount": "6.500000000000", "flat_amount": "0E-12"}


def test_quote_matches_stripe_graduated_example():
    breakdown = price_quote(price=make_graduated_price(), quantity=Decimal(12))

    assert breakdown.total == Decimal("79.50")
    assert [line.amount for line in breakdown.lines] == [Decimal("35.00"), Decimal("32.50"), Decimal("12.00")]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"currency": "EURO"}, "invalid"),
        ({"currency": "XYZ"}, "invalid_currency"),
        ({"unit_amount": Decimal("-1")}, "invalid"),
        ({"pricing_model": "graduated", "tiers": [{"up_to": Decimal(5), "unit_amount": Decimal(1)}]}, None),
        ({"pricing_model": "package", "package_size": 10, "tiers": STRIPE_GRADUATED_TIERS}, None),
        ({"usage_type": "metered"}, "metric_required"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
    ],
)
def test_invalid_price_is_refused_and_nothing_is_saved(fields, code):
    product = make_product()
    before = (Price.objects.count(), Tier.objects.count(), AuditEvent.objects.count())

    with pytest.raises(DomainError) as error:
        make_price(product=product, **fields)

    if code:
        assert error.value.code == code
    assert error.value.message
    assert (Price.objects.count(), Tier.objects.count(), AuditEvent.objects.count()) == before


def test_licensed_price_cannot_have_a_metric():
    with pytest.raises(DomainError) as error:
        make_price(metric=make_metric())

    assert error.value.code == "metric_not_allowed"
    assert error.value.fields == {"metric": ["Only for metered prices."]}


def test_inactive_product_gets_no_new_price():
    with pytest.raises(DomainError) as error:
        make_price(product=make_product(active=False))

    assert error.value.code == "product_inactive"


def test_draft_price_can_change_amounts_and_tiers():
    price = make_graduated_price(plan_version=draft_version())

    price_update(
        price=price,
        actor=ACTOR,
        now=T0,
        tiers=[
            {"up_to": Decimal(10), "unit_amount": Decimal("5.00"), "flat_amount": Decimal("2.00")},
            {"up_to": None, "unit_amount": Decimal("4.00"), "flat_amount": Decimal(0)},
        ],
    )

    assert price_quote(price=price, quantity=Decimal(12)).total == Decimal("60.00")
    event = AuditEvent.objects.get(action="price.updated", object_id=str(price.pk))
    assert len(event.before["tiers"]) == 3
    assert len(event.after["tiers"]) == 2


def test_published_price_amounts_cannot_change_and_row_is_untouched():
    version = draft_version()
    price = make_price(plan_version=version, unit_amount=Decimal("29.00"))
    plan_version_publish(version=version, actor=ACTOR, now=T0)
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as error:
        price_update(price=price, actor=ACTOR, now=T0, unit_amount=Decimal("19.00"))
    with pytest.raises(DomainError):
        price_update(price=price, actor=ACTOR, now=T0, tiers=[])

    assert error.value.code == "plan_version_published"
    price.refresh_from_db()
    assert price.unit_amount == Decimal("29.00")
    assert AuditEvent.objects.count() == events


def test_published_price_can_be_renamed_and_deactivated():
    version = draft_version()
    price = make_price(plan_version=version)
    plan_version_publish(version=version, actor=ACTOR, now=T0)

    price_update(price=price, actor=ACTOR, now=T0, nickname="Legacy seat", active=False)

    price.refresh_from_db()
    assert (price.nickname, price.active) == ("Legacy seat", False)


def test_price_cannot_be_added_to_a_published_version():
    version = draft_version()
    make_price(plan_version=version)
    plan_version_publish(version=version, actor=ACTOR, now=T0)

    with pytest.raises(DomainError) as error:
        make_price(plan_version=version)

    assert error.value.code == "plan_version_published"
    assert version.prices.count() == 1


def test_twelve_decimal_unit_price_is_kept_exactly():
    price = make_price(unit_amount=Decimal("0.000125"))

    price.refresh_from_db()
    assert price.unit_amount == Decimal("0.000125")
    assert price_quote(price=price, quantity=Decimal(1_000_000)).total == Decimal("125.00")


def test_unknown_field_is_refused():
    with pytest.raises(DomainError) as error:
        price_create(actor=ACTOR, now=T0, product=make_product(), currency="EUR", colour="red")

    assert error.value.code == "field_not_editable"


def test_draft_price_can_be_deleted_and_the_deletion_is_audited():
    price = make_price(plan_version=draft_version())
    pk = price.pk

    price_delete(price=price, actor=ACTOR, now=T0)

    assert not Price.objects.filter(pk=pk).exists()
    assert not Tier.objects.filter(price_id=pk).exists()
    assert AuditEvent.objects.get(action="price.deleted").before["unit_amount"] == "10.000000000000"


def test_published_and_addon_prices_cannot_be_deleted():
    version = draft_version()
    published = make_price(plan_version=version)
    plan_version_publish(version=version, actor=ACTOR, now=T0)
    addon = make_price()

    for price, code in [(published, "plan_version_published"), (addon, "addon_not_deletable")]:
        with pytest.raises(DomainError) as error:
            price_delete(price=price, actor=ACTOR, now=T0)
        assert error.value.code == code
        assert Price.objects.filter(pk=price.pk).exists()
