from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billing_site.models import AuditEvent
from catalog.models import Price
from catalog.tests.api.helpers import API, catalog_counts, error_of
from catalog.tests.factories import (
    draft_version,
    make_graduated_price,
    make_metric,
    make_price,
    make_product,
    make_published_version,
)

pytestmark = pytest.mark.django_db

STRIPE_TIERS = [
    {"up_to": 5, "unit_amount": "7.00", "flat_amount": "0"},
    {"up_to": 10, "unit_amount": "6.50", "flat_amount": "0"},
    {"up_to": None, "unit_amount": "6.00", "flat_amount": "0"},
]


def graduated_body(product_id: int, **changes) -> dict:
    """The request of the issue: a graduated price with Stripe's documented tiers."""
    return {
        "product": product_id,
        "currency": "EUR",
        "pricing_model": "graduated",
        "tiers": STRIPE_TIERS,
        "interval": "month",
        "interval_count": 1,
        "usage_type": "licensed",
        **changes,
    }


def quote(client, price_id: int, body: dict):
    return client.post(f"{API}/prices/{price_id}/quote", body, format="json")


# --- create and quote -----------------------------------------------------------------------


def test_graduated_price_created_as_the_issue_shows_quotes_stripes_figures(api_client):
    product = make_product(name="Seats")

    created = api_client.post(f"{API}/prices", graduated_body(product.pk), format="json")

    assert created.status_code == 201, created.json()
    price = created.json()
    assert price["product"] == product.pk
    assert price["plan_version"] is None
    assert price["is_addon"] is True
    assert price["currency"] == "EUR"
    assert price["pricing_model"] == "graduated"
    assert price["unit_amount"] is None
    assert price["tiers"] == [
        {"up_to": "5", "unit_amount": "7.00", "flat_amount": "0.00"},
        {"up_to": "10", "unit_amount": "6.50", "flat_amount": "0.00"},
        {"up_to": None, "unit_amount": "6.00", "flat_amount": "0.00"},
    ]

    response = quote(api_client, price["id"], {"quantity": "12"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["price"] == price["id"]
    assert body["currency"] == "EUR"
    assert body["quantity"] == "12"
    assert body["amount"] == {"amount": "79.50", "currency": "EUR"}
    assert [
        (line["tier"], line["quantity"], line["unit_amount"], line["flat_amount"], line["amount"])
        for line in body["breakdown"]
    ] == [
        (1, "5", "7.00", "0.00", {"amount": "35.00", "currency": "EUR"}),
        (2, "5", "6.50", "0.00", {"amount": "32.50", "currency": "EUR"}),
        (3, "2", "6.00", "0.00", {"amount": "12.00", "currency": "EUR"}),
    ]
    assert [(line["above"], line["up_to"]) for line in body["breakdown"]] == [("0", "5"), ("5", "10"), ("10", None)]
    assert body["breakdown"][1]["label"].startswith("Tier 2 (6–10)")


@pytest.mark.parametrize(
    ("quantity", "total"),
    [("0", "0.00"), ("5", "35.00"), ("6", "41.50"), ("10", "67.50"), ("11", "73.50"), ("2.5", "17.50")],
)
def test_graduated_quote_at_every_boundary(api_client, quantity, total):
    price = make_graduated_price()

    response = quote(api_client, price.pk, {"quantity": quantity})

    assert response.status_code == 200
    assert response.json()["amount"] == {"amount": total, "currency": "EUR"}


def test_volume_quote_prices_every_unit_at_the_tier_reached(api_client):
    response = api_client.post(
        f"{API}/prices", graduated_body(make_product().pk, pricing_model="volume"), format="json"
    )
    assert response.status_code == 201

    body = quote(api_client, response.json()["id"], {"quantity": "12"}).json()

    assert body["amount"] == {"amount": "72.00", "currency": "EUR"}
    assert len(body["breakdown"]) == 1
    line = body["breakdown"][0]
    assert (line["tier"], line["quantity"], line["unit_amount"]) == (3, "12", "6.00")
    assert line["amount"] == {"amount": "72.00", "currency": "EUR"}


@pytest.mark.parametrize(("rounding", "total", "packages"), [("up", "10.00", "2"), ("down", "5.00", "1")])
def test_package_quote_rounds_started_packages(api_client, rounding, total, packages):
    body = {
        "product": make_product().pk,
        "currency": "EUR",
        "pricing_model": "package",
        "unit_amount": "5.00",
        "package_size": 100,
        "package_rounding": rounding,
    }
    created = api_client.post(f"{API}/prices", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["package_size"] == 100

    result = quote(api_client, created.json()["id"], {"quantity": "101"}).json()

    assert result["amount"] == {"amount": total, "currency": "EUR"}
    assert result["breakdown"][0]["quantity"] == packages


def test_per_call_price_keeps_its_twelfth_decimal_and_quotes_to_the_cent(api_client):
    metric = make_metric(code="api_calls", aggregation="count")
    # A JSON number, as a CRM may send it: the parser keeps it as an exact Decimal.
    raw = (
        f'{{"product": {make_product().pk}, "currency": "EUR", "pricing_model": "per_unit", '
        '"unit_amount": 0.000125, "usage_type": "metered", "metric": "api_calls"}'
    )
    created = api_client.post(f"{API}/prices", raw, content_type="application/json")

    assert created.status_code == 201, created.json()
    price = created.json()
    assert price["unit_amount"] == "0.000125"
    assert price["metric"] == metric.pk
    assert price["metric_code"] == "api_calls"
    assert Price.objects.get(pk=price["id"]).unit_amount == Decimal("0.000125")

    million = quote(api_client, price["id"], {"quantity": "1000000"}).json()
    assert million["amount"] == {"amount": "125.00", "currency": "EUR"}
    assert million["breakdown"][0]["unit_amount"] == "0.000125"

    odd = quote(api_client, price["id"], {"quantity": 12345}).json()
    assert odd["amount"] == {"amount": "1.54", "currency": "EUR"}  # 1.543125 rounded half up


def test_metric_can_be_given_by_id(api_client):
    metric = make_metric()
    body = {
        "product": make_product().pk,
        "currency": "EUR",
        "pricing_model": "per_unit",
        "unit_amount": "0.10",
        "usage_type": "metered",
        "metric": metric.pk,
    }

    response = api_client.post(f"{API}/prices", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["metric"] == metric.pk


def test_time_of_use_price_is_quoted_per_rate(api_client):
    metric = make_metric(code="kwh")
    body = {
        "product": make_product(name="Energy").pk,
        "currency": "EUR",
        "pricing_model": "per_unit",
        "unit_amount": "0.08",
        "usage_type": "metered",
        "metric": "kwh",
        "time_zone": "Europe/Amsterdam",
        "rate_windows": [{"name": "peak", "start": "07:00", "end": "23:00", "unit_amount": "0.15"}],
    }
    created = api_client.post(f"{API}/prices", body, format="json")
    assert created.status_code == 201, created.json()
    price = created.json()
    assert price["metric"] == metric.pk
    assert price["time_zone"] == "Europe/Amsterdam"
    assert price["rate_windows"] == [{"name": "peak", "start": "07:00", "end": "23:00", "unit_amount": "0.15"}]

    response = quote(api_client, price["id"], {"quantities": {"peak": "100", "off-peak": "50"}})

    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["amount"] == {"amount": "19.00", "currency": "EUR"}
    assert result["quantity"] == "150"
    assert [
        (line["rate_window"], line["quantity"], line["unit_amount"], line["amount"]["amount"])
        for line in result["breakdown"]
    ] == [
        ("peak", "100", "0.15", "15.00"),
        ("off-peak", "50", "0.08", "4.00"),
    ]

    single = quote(api_client, price["id"], {"quantity": "150"})
    assert single.status_code == 400
    assert error_of(single)["code"] == "time_of_use_quantities_required"

    unknown = quote(api_client, price["id"], {"quantities": {"night": "5"}})
    assert unknown.status_code == 400
    assert error_of(unknown)["code"] == "unknown_rate_window"


def test_minimum_charge_tops_up_a_small_quote(api_client):
    price = make_price(unit_amount=Decimal("0.50"), minimum_amount=Decimal("20.00"))

    body = quote(api_client, price.pk, {"quantity": "3"}).json()

    assert body["amount"] == {"amount": "20.00", "currency": "EUR"}
    assert [line["amount"]["amount"] for line in body["breakdown"]] == ["1.50", "18.50"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "1,5"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.0000000000001"}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": "12", "quantities": {"peak": "1"}}, "quantity"),
        ({"qty": "12"}, "qty"),
    ],
)
def test_quote_refuses_a_missing_or_invalid_quantity(api_client, body, field):
    price = make_graduated_price()
    before = catalog_counts()

    response = quote(api_client, price.pk, body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert catalog_counts() == before


def test_quantities_are_only_for_time_of_use_prices(api_client):
    response = quote(api_client, make_price().pk, {"quantities": {"off-peak": "5"}})

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "not_time_of_use",
        "message": "This price has no time-of-use rates: send one “quantity” instead of “quantities”.",
        "fields": {"quantities": ["Only for time-of-use prices."]},
    }


def test_quote_writes_nothing(api_client):
    price = make_graduated_price()
    before = catalog_counts()

    assert quote(api_client, price.pk, {"quantity": "12"}).status_code == 200

    assert catalog_counts() == before


def test_quote_of_an_unknown_price_is_404(api_client):
    response = quote(api_client, 999999, {"quantity": "1"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- bad input ------------------------------------------------------------------------------


def per_unit_body(product_id: int, **changes) -> dict:
    return {"product": product_id, "currency": "EUR", "pricing_model": "per_unit", "unit_amount": "10.00", **changes}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"unit_amount": "abc"}, "invalid", "unit_amount"),
        ({"unit_amount": "1,5"}, "invalid", "unit_amount"),
        ({"unit_amount": "-1"}, "invalid", "unit_amount"),
        ({"unit_amount": "0.0000000000001"}, "invalid", "unit_amount"),
        ({"unit_amount": "1e3"}, "invalid", "unit_amount"),
        ({"unit_amount": True}, "invalid", "unit_amount"),
        ({"minimum_amount": "-5"}, "invalid", "minimum_amount"),
        ({"currency": "XYZ"}, "invalid_currency", "currency"),
        ({"currency": "12"}, "invalid_currency", "currency"),
        ({"pricing_model": "tiered"}, "invalid", "pricing_model"),
        ({"interval": "fortnight"}, "invalid", "interval"),
        ({"usage_type": "metered"}, "metric_required", "metric"),
        ({"metric": "no_such_meter", "usage_type": "metered"}, "invalid", "metric"),
        ({"metric": 999999, "usage_type": "metered"}, "invalid", "metric"),
        ({"product": 999999}, "invalid", "product"),
        ({"product": "abc"}, "invalid", "product"),
        ({"product": 1.5}, "invalid", "product"),
        ({"product": 10**30}, "invalid", "product"),
        ({"product": "²"}, "invalid", "product"),
        ({"product": True}, "invalid", "product"),
        ({"metric": "²", "usage_type": "metered"}, "invalid", "metric"),
        ({"metric": True, "usage_type": "metered"}, "invalid", "metric"),
        ({"interval_count": 40000}, "invalid", "interval_count"),
        ({"interval_count": 0}, "invalid", "interval_count"),
        ({"plan_version": 999999}, "invalid", "plan_version"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone", "time_zone"),
        ({"unit_price": "10.00"}, "invalid", "unit_price"),
        ({"pricing_model": "flat"}, "unit_amount_not_allowed", "unit_amount"),
        ({"pricing_model": "package"}, "package_size_required", "package_size"),
        ({"package_size": 10}, "package_size_not_allowed", "package_size"),
        (
            {"pricing_model": "package", "package_size": 10, "tiers": STRIPE_TIERS},
            "package_cannot_be_tiered",
            "tiers",
        ),
        (
            {"rate_windows": [{"name": "peak", "start": "7am", "end": "23:00", "unit_amount": "0.15"}]},
            "invalid",
            "rate_windows.0.start",
        ),
    ],
)
def test_bad_price_input_is_refused_and_nothing_is_created(api_client, changes, code, field):
    body = per_unit_body(make_product().pk, **changes)
    before = catalog_counts()

    response = api_client.post(f"{API}/prices", json.dumps(body), content_type="application/json")

    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert catalog_counts() == before


@pytest.mark.parametrize(
    ("tiers", "code"),
    [
        (
            [
                {"up_to": 10, "unit_amount": "7.00"},
                {"up_to": 5, "unit_amount": "6.50"},
                {"up_to": None, "unit_amount": "6.00"},
            ],
            "tiers_not_ascending",
        ),
        ([{"up_to": 5, "unit_amount": "7.00"}, {"up_to": 10, "unit_amount": "6.50"}], "last_tier_must_be_unbounded"),
        ([{"up_to": None, "unit_amount": "7.00"}, {"up_to": None, "unit_amount": "6.00"}], "unbounded_tier_not_last"),
        ([], "tiers_required"),
    ],
)
def test_bad_tiers_are_refused_with_their_own_code(api_client, tiers, code):
    product = make_product()
    before = catalog_counts()

    response = api_client.post(f"{API}/prices", graduated_body(product.pk, tiers=tiers), format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert list(error["fields"]) == ["tiers"]
    assert catalog_counts() == before


def test_a_bad_amount_inside_a_tier_names_the_tier(api_client):
    tiers = [{"up_to": 5, "unit_amount": "7.00"}, {"up_to": None, "unit_amount": "6,00"}]

    response = api_client.post(f"{API}/prices", graduated_body(make_product().pk, tiers=tiers), format="json")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["tiers.1.unit_amount"]


def test_missing_required_fields_are_named(api_client):
    before = catalog_counts()

    response = api_client.post(f"{API}/prices", {}, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert sorted(error["fields"]) == ["currency", "pricing_model", "product"]
    assert error["fields"]["product"] == ["This field is required."]
    assert catalog_counts() == before


def test_a_body_that_is_not_json_is_refused(api_client):
    response = api_client.post(f"{API}/prices", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_tier_up_to_accepts_inf_like_stripe(api_client):
    tiers = [{"up_to": 5, "unit_amount": "7.00"}, {"up_to": "inf", "unit_amount": "6.00"}]

    response = api_client.post(f"{API}/prices", graduated_body(make_product().pk, tiers=tiers), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["tiers"][1]["up_to"] is None


# --- plan prices, retrieve, update ----------------------------------------------------------


def test_price_in_a_draft_version_and_retrieve(api_client):
    version = draft_version()
    body = per_unit_body(make_product().pk, plan_version=version.pk, nickname="Seat", trial_days=14)

    created = api_client.post(f"{API}/prices/", body, format="json")  # trailing slash accepted too
    assert created.status_code == 201, created.json()

    response = api_client.get(f"{API}/prices/{created.json()['id']}")

    assert response.status_code == 200
    price = response.json()
    assert price == created.json()
    assert price["plan_version"] == version.pk
    assert price["is_addon"] is False
    assert price["is_editable"] is True
    assert (price["nickname"], price["unit_amount"], price["trial_days"]) == ("Seat", "10.00", 14)
    assert (price["interval"], price["interval_count"], price["usage_type"]) == ("month", 1, "licensed")


def test_price_of_a_published_version_cannot_be_added(api_client):
    version = make_published_version()
    product = make_product()
    before = catalog_counts()

    response = api_client.post(f"{API}/prices", per_unit_body(product.pk, plan_version=version.pk), format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "plan_version_published"
    assert catalog_counts() == before


def test_patch_a_draft_price_changes_amounts_and_tiers(api_client):
    price = make_graduated_price(plan_version=draft_version())
    tiers = [{"up_to": 100, "unit_amount": "1.00"}, {"up_to": None, "unit_amount": "0.50"}]

    response = api_client.patch(f"{API}/prices/{price.pk}", {"tiers": tiers, "nickname": "Calls"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["nickname"] == "Calls"
    assert response.json()["tiers"] == [
        {"up_to": "100", "unit_amount": "1.00", "flat_amount": "0.00"},
        {"up_to": None, "unit_amount": "0.50", "flat_amount": "0.00"},
    ]
    assert quote(api_client, price.pk, {"quantity": "150"}).json()["amount"]["amount"] == "125.00"


def test_patch_with_bad_tiers_leaves_the_price_as_it_was(api_client):
    price = make_graduated_price(plan_version=draft_version())
    before = catalog_counts()
    tiers = [{"up_to": 100, "unit_amount": "1.00"}]

    response = api_client.patch(f"{API}/prices/{price.pk}", {"tiers": tiers, "nickname": "Calls"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "last_tier_must_be_unbounded"
    price.refresh_from_db()
    assert price.nickname == ""
    assert [t.up_to for t in price.tiers.order_by("position")] == [Decimal(5), Decimal(10), None]
    assert catalog_counts() == before


def published_price() -> Price:
    version = make_published_version()
    return version.prices.get()


@pytest.mark.parametrize(
    "changes",
    [
        {"unit_amount": "35.00"},
        {"unit_amount": "29.00"},  # even "unchanged": amounts of a published version are not editable
        {"currency": "USD"},
        {"nickname": "Seat", "unit_amount": "35.00"},
        {"tiers": STRIPE_TIERS},
    ],
)
def test_patch_a_published_price_is_refused_and_the_row_is_unchanged(api_client, changes):
    price = published_price()
    row = Price.objects.filter(pk=price.pk).values().get()
    before = catalog_counts()

    response = api_client.patch(f"{API}/prices/{price.pk}", changes, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "plan_version_published"
    assert Price.objects.filter(pk=price.pk).values().get() == row
    assert catalog_counts() == before


def test_patch_a_published_price_may_rename_or_deactivate_it(api_client, api_key, frozen):
    price = published_price()

    response = api_client.patch(f"{API}/prices/{price.pk}", {"nickname": "Seat (2026)", "active": False}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["nickname"], response.json()["active"]) == ("Seat (2026)", False)
    assert response.json()["is_editable"] is False
    assert response.json()["unit_amount"] == "29.00"
    event = AuditEvent.objects.filter(action="price.updated", object_id=str(price.pk)).get()
    assert (event.actor_kind, event.actor_id) == ("api_key", str(api_key[0].pk))
    assert event.occurred_at == frozen
    assert event.after == {"nickname": "Seat (2026)", "active": False, "updated_at": "2026-01-15T09:30:00+00:00"}


def test_patch_an_unknown_price_is_404(api_client):
    response = api_client.patch(f"{API}/prices/999999", {"nickname": "x"}, format="json")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_create_is_audited_as_the_api_key(api_client, api_key):
    response = api_client.post(f"{API}/prices", graduated_body(make_product().pk), format="json")

    event = AuditEvent.objects.get(action="price.created", object_id=str(response.json()["id"]))
    assert (event.actor_kind, event.actor_id) == ("api_key", str(api_key[0].pk))
    assert event.actor_label == f"API key “CRM” ({api_key[0].prefix})"
    assert event.after["pricing_model"] == "graduated"


# --- list and filters -----------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_price_filters(api_client):
    version = draft_version()
    seat = make_price(plan_version=version)
    usd = make_price(plan_version=version, currency="USD")
    addon = make_graduated_price()
    metered = make_price(usage_type="metered", metric=make_metric(), unit_amount=Decimal("0.01"))
    inactive = make_price(active=False)

    assert ids(api_client.get(f"{API}/prices")) == [seat.pk, usd.pk, addon.pk, metered.pk, inactive.pk]
    assert ids(api_client.get(f"{API}/prices", {"addon": "true"})) == [addon.pk, metered.pk, inactive.pk]
    assert ids(api_client.get(f"{API}/prices", {"addon": "false"})) == [seat.pk, usd.pk]
    assert ids(api_client.get(f"{API}/prices", {"plan_version": version.pk})) == [seat.pk, usd.pk]
    assert ids(api_client.get(f"{API}/prices", {"plan": version.plan_id})) == [seat.pk, usd.pk]
    assert ids(api_client.get(f"{API}/prices", {"currency": "usd"})) == [usd.pk]
    assert ids(api_client.get(f"{API}/prices", {"product": addon.product_id})) == [addon.pk]
    assert ids(api_client.get(f"{API}/prices", {"usage_type": "metered"})) == [metered.pk]
    assert ids(api_client.get(f"{API}/prices", {"pricing_model": "graduated"})) == [addon.pk]
    assert ids(api_client.get(f"{API}/prices", {"active": "false"})) == [inactive.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"active": "maybe"},
        {"product": "abc"},
        {"product": "1.5"},
        {"plan_version": "9" * 30},
        {"pricing_model": "tiered"},
    ],
)
def test_a_bad_filter_value_is_a_400_not_an_empty_list(api_client, query):
    response = api_client.get(f"{API}/prices", query)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == list(query)
