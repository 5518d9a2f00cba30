from __future__ import annotations

from decimal import Decimal

import pytest

from billing_site.models import AuditEvent
from catalog.models import Coupon, TaxRate
from catalog.services.coupons import coupon_create
from catalog.tests.api.helpers import API, catalog_counts, error_of
from catalog.tests.factories import ACTOR, T0, make_plan, make_product

pytestmark = pytest.mark.django_db


# --- coupons --------------------------------------------------------------------------------


def test_create_a_percentage_coupon_restricted_to_a_plan_and_a_product(api_client, api_key):
    plan, product = make_plan(), make_product()
    body = {
        "code": "launch-2026",
        "name": "Launch 20%",
        "discount_type": "percent",
        "percent_off": "20",
        "duration": "repeating",
        "duration_in_periods": 3,
        "redeem_by": "2026-03-31T23:59:59Z",
        "max_redemptions": 100,
        "applies_to_plans": [plan.pk],
        "applies_to_products": [product.pk],
    }

    response = api_client.post(f"{API}/coupons", body, format="json")

    assert response.status_code == 201, response.json()
    coupon = response.json()
    assert {k: coupon[k] for k in body} == body
    assert (coupon["amount_off"], coupon["times_redeemed"], coupon["active"]) == (None, 0, True)
    event = AuditEvent.objects.get(action="coupon.created")
    assert (event.actor_kind, event.actor_id) == ("api_key", str(api_key[0].pk))


def test_create_an_amount_coupon_with_money(api_client):
    body = {
        "code": "ten-off",
        "name": "€10 off",
        "discount_type": "amount",
        "amount_off": {"amount": "10", "currency": "eur"},
    }

    response = api_client.post(f"{API}/coupons", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["amount_off"] == {"amount": "10.00", "currency": "EUR"}
    assert response.json()["percent_off"] is None
    coupon = Coupon.objects.get(code="ten-off")
    assert (coupon.amount_off, coupon.currency) == (Decimal("10"), "EUR")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"percent_off": None}, "percent_off_required", "percent_off"),
        ({"percent_off": "abc"}, "invalid", "percent_off"),
        ({"percent_off": "20.555"}, "invalid", "percent_off"),
        ({"percent_off": "-5"}, "invalid", "percent_off"),
        ({"percent_off": "150"}, "invalid", "percent_off"),
        ({"duration": "repeating"}, "duration_in_periods_required", "duration_in_periods"),
        ({"duration_in_periods": 3}, "duration_in_periods_not_allowed", "duration_in_periods"),
        ({"amount_off": {"amount": "10", "currency": "EUR"}}, "amount_off_not_allowed", "amount_off"),
        ({"discount_type": "amount", "percent_off": None}, "amount_off_required", "amount_off"),
        ({"discount_type": "amount", "percent_off": None, "amount_off": "10"}, "invalid", "amount_off"),
        (
            {"discount_type": "amount", "percent_off": None, "amount_off": {"amount": "10", "currency": "XYZ"}},
            "invalid",
            "amount_off",
        ),
        ({"applies_to_products": [999999]}, "invalid", "applies_to_products"),
        ({"code": ""}, "invalid", "code"),
    ],
)
def test_bad_coupon_input_is_refused(api_client, changes, code, field):
    body = {"code": "spring", "name": "Spring", "discount_type": "percent", "percent_off": "20", **changes}
    body = {k: v for k, v in body.items() if not (k == "percent_off" and v is None)}
    before = catalog_counts()

    response = api_client.post(f"{API}/coupons", body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    if field:
        assert field in error["fields"], error
    assert catalog_counts() == before


def test_patch_a_coupon_and_filter_the_list(api_client):
    created = api_client.post(
        f"{API}/coupons",
        {"code": "spring", "name": "Spring", "discount_type": "percent", "percent_off": "15"},
        format="json",
    ).json()

    response = api_client.patch(
        f"{API}/coupons/{created['id']}", {"percent_off": "12.5", "active": False}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["percent_off"], response.json()["active"]) == ("12.50", False)
    assert [c["code"] for c in api_client.get(f"{API}/coupons", {"active": "false"}).json()["results"]] == ["spring"]
    assert api_client.get(f"{API}/coupons", {"code": "other"}).json()["results"] == []


def test_a_redeemed_coupon_keeps_what_it_gives(api_client):
    coupon = coupon_create(
        actor=ACTOR, now=T0, code="used", name="Used", discount_type="percent", percent_off=Decimal(10)
    )
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=1)
    before = catalog_counts()

    response = api_client.patch(f"{API}/coupons/{coupon.pk}", {"percent_off": "50"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "coupon_redeemed"
    assert Coupon.objects.get(pk=coupon.pk).percent_off == Decimal(10)
    assert catalog_counts() == before


def test_promotion_codes_of_a_coupon(api_client):
    coupon = api_client.post(
        f"{API}/coupons",
        {"code": "spring", "name": "Spring", "discount_type": "percent", "percent_off": "15"},
        format="json",
    ).json()

    created = api_client.post(f"{API}/coupons/{coupon['id']}/promotion-codes", {"code": " spring20 "}, format="json")

    assert created.status_code == 201, created.json()
    assert (created.json()["code"], created.json()["coupon"], created.json()["active"]) == (
        "SPRING20",
        coupon["id"],
        True,
    )
    listed = api_client.get(f"{API}/coupons/{coupon['id']}/promotion-codes").json()["results"]
    assert [p["code"] for p in listed] == ["SPRING20"]

    before = catalog_counts()
    taken = api_client.post(f"{API}/coupons/{coupon['id']}/promotion-codes", {"code": "Spring20"}, format="json")
    assert taken.status_code == 400
    assert error_of(taken)["code"] == "promotion_code_taken"
    assert catalog_counts() == before

    assert api_client.post(f"{API}/coupons/999999/promotion-codes", {"code": "X"}, format="json").status_code == 404


# --- tax rates ------------------------------------------------------------------------------


def test_create_a_tax_rate(api_client, api_key):
    body = {"name": "VAT 21%", "country": "nl", "percentage": "21", "inclusive": False, "category": "standard"}

    response = api_client.post(f"{API}/tax-rates", body, format="json")

    assert response.status_code == 201, response.json()
    rate = response.json()
    assert (rate["name"], rate["country"], rate["region"], rate["percentage"]) == ("VAT 21%", "NL", "", "21")
    assert (rate["inclusive"], rate["category"], rate["product_tax_category"]) == (False, "standard", "standard")
    event = AuditEvent.objects.get(action="tax_rate.created")
    assert (event.actor_kind, event.actor_id) == ("api_key", str(api_key[0].pk))


def test_reverse_charge_rate_with_its_reason(api_client):
    body = {
        "name": "Reverse charge",
        "country": "DE",
        "percentage": "0",
        "category": "reverse_charge",
        "exemption_reason": "Reverse charge (Art. 196 VAT Directive)",
    }

    response = api_client.post(f"{API}/tax-rates", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["percentage"] == "0"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"percentage": "abc"}, "invalid", "percentage"),
        ({"percentage": "1,5"}, "invalid", "percentage"),
        ({"percentage": "-1"}, "invalid", "percentage"),
        ({"percentage": "21.00001"}, "invalid", "percentage"),
        ({"percentage": "101"}, "invalid", "percentage"),
        ({"country": "NLD"}, "invalid_country", "country"),
        ({"country": "N1"}, "invalid_country", "country"),
        ({"category": "luxury"}, "invalid", "category"),
        ({"category": "exempt", "percentage": "0"}, "exemption_reason_required", "exemption_reason"),
        ({"category": "zero", "percentage": "21"}, "rate_must_be_zero", "percentage"),
        ({"name": ""}, "invalid", "name"),
    ],
)
def test_bad_tax_rate_input_is_refused(api_client, changes, code, field):
    body = {"name": "VAT", "country": "NL", "percentage": "21", **changes}
    before = catalog_counts()

    response = api_client.post(f"{API}/tax-rates", body, format="json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert catalog_counts() == before


def test_missing_tax_rate_fields_are_named(api_client):
    response = api_client.post(f"{API}/tax-rates", {}, format="json")

    assert response.status_code == 400
    assert sorted(error_of(response)["fields"]) == ["country", "name", "percentage"]
    assert TaxRate.objects.count() == 0


def test_patch_and_filter_tax_rates(api_client):
    nl = api_client.post(f"{API}/tax-rates", {"name": "VAT", "country": "NL", "percentage": "21"}, format="json").json()
    api_client.post(f"{API}/tax-rates", {"name": "Moms", "country": "SE", "percentage": "25"}, format="json")

    response = api_client.patch(f"{API}/tax-rates/{nl['id']}", {"percentage": "9", "name": "VAT low"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["percentage"], response.json()["name"]) == ("9", "VAT low")
    assert [r["name"] for r in api_client.get(f"{API}/tax-rates", {"country": "se"}).json()["results"]] == ["Moms"]
    assert api_client.get(f"{API}/tax-rates", {"category": "zero"}).json()["results"] == []
