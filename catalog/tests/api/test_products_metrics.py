from __future__ import annotations

import pytest

from billing_site.models import AuditEvent
from catalog.models import BillableMetric, Product
from catalog.services.plans import plan_version_new_draft, plan_version_publish
from catalog.tests.api.helpers import API, catalog_counts, error_of
from catalog.tests.factories import ACTOR, T0, make_metric, make_price, make_product, make_published_version

pytestmark = pytest.mark.django_db


# --- products -------------------------------------------------------------------------------


def test_create_retrieve_and_patch_a_product(api_client, api_key, frozen):
    body = {"name": "Cloud storage", "unit_label": "GB-month", "tax_category": "standard"}

    created = api_client.post(f"{API}/products", body, format="json")

    assert created.status_code == 201, created.json()
    product = created.json()
    assert product == {
        "id": product["id"],
        "name": "Cloud storage",
        "description": "",
        "unit_label": "GB-month",
        "tax_category": "standard",
        "active": True,
        "created_at": "2026-01-15T09:30:00Z",
        "updated_at": "2026-01-15T09:30:00Z",
    }
    assert api_client.get(f"{API}/products/{product['id']}/").json() == product

    patched = api_client.patch(f"{API}/products/{product['id']}", {"active": False}, format="json")

    assert patched.status_code == 200
    assert patched.json()["active"] is False
    assert Product.objects.get(pk=product["id"]).active is False
    events = AuditEvent.objects.filter(object_type="catalog.product", object_id=str(product["id"]))
    assert sorted(events.values_list("action", "actor_kind", "actor_id")) == [
        ("product.created", "api_key", str(api_key[0].pk)),
        ("product.updated", "api_key", str(api_key[0].pk)),
    ]
    assert events.get(action="product.updated").after == {"active": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Storage", "tax_category": "luxury"}, "tax_category"),
        ({"name": "Storage", "active": "maybe"}, "active"),
        ({"name": "Storage", "price": "10"}, "price"),
    ],
)
def test_bad_product_input_is_refused(api_client, body, field):
    before = catalog_counts()

    response = api_client.post(f"{API}/products", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert catalog_counts() == before


def test_bad_patch_leaves_the_product_unchanged(api_client):
    product = make_product(name="Storage")
    before = catalog_counts()

    response = api_client.patch(f"{API}/products/{product.pk}", {"name": "", "active": False}, format="json")

    assert response.status_code == 400
    product.refresh_from_db()
    assert (product.name, product.active) == ("Storage", True)
    assert catalog_counts() == before


def test_product_list_is_cursor_paginated_and_filtered(api_client):
    products = [make_product(name=f"P{n}") for n in range(5)]
    make_product(name="Old", active=False)

    first = api_client.get(f"{API}/products", {"limit": 2, "active": "true"})

    assert first.status_code == 200
    assert [p["id"] for p in first.json()["results"]] == [products[0].pk, products[1].pk]
    assert first.json()["previous"] is None
    second = api_client.get(first.json()["next"])
    assert [p["id"] for p in second.json()["results"]] == [products[2].pk, products[3].pk]
    third = api_client.get(second.json()["next"])
    assert [p["id"] for p in third.json()["results"]] == [products[4].pk]
    assert third.json()["next"] is None
    assert [p["name"] for p in api_client.get(f"{API}/products", {"active": "false"}).json()["results"]] == ["Old"]


def test_new_rows_never_shift_a_page_already_read(api_client):
    first_ids = [make_product().pk for _ in range(3)]
    page = api_client.get(f"{API}/products", {"limit": 2}).json()
    make_product()

    rest = api_client.get(page["next"]).json()

    assert [p["id"] for p in page["results"]] + [p["id"] for p in rest["results"]][:1] == first_ids


def test_a_bad_cursor_is_a_404_in_the_error_shape(api_client):
    response = api_client.get(f"{API}/products", {"cursor": "garbage"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unknown_address_under_the_api_is_a_json_404(api_client):
    response = api_client.get(f"{API}/productz")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- usage metrics --------------------------------------------------------------------------


def test_create_a_metric(api_client, api_key):
    body = {
        "code": "storage_gb",
        "name": "Storage",
        "aggregation": "max",
        "property": "gb",
        "filters": {"region": ["eu-west", "eu-north"]},
    }

    response = api_client.post(f"{API}/metrics", body, format="json")

    assert response.status_code == 201, response.json()
    metric = response.json()
    assert {k: metric[k] for k in body} == body
    assert metric["active"] is True
    event = AuditEvent.objects.get(action="metric.created")
    assert (event.actor_kind, event.object_id) == ("api_key", str(metric["id"]))


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "Calls"}, "invalid", "code"),
        ({"code": "calls"}, "invalid", "name"),
        ({"code": "api calls!", "name": "Calls"}, "invalid", "code"),
        ({"code": "calls", "name": "Calls", "aggregation": "avg"}, "invalid", "aggregation"),
        (
            {"code": "calls", "name": "Calls", "aggregation": "count", "property": "n"},
            "metric_property_not_used",
            "property",
        ),
        ({"code": "calls", "name": "Calls", "filters": {"region": "eu"}}, "invalid", "filters.region"),
        ({"code": "calls", "name": "Calls", "filters": {"region": []}}, "invalid_metric_filters", "filters"),
        ({"code": "taken", "name": "Calls"}, "invalid", "code"),
    ],
)
def test_bad_metric_input_is_refused(api_client, body, code, field):
    make_metric(code="taken")
    before = catalog_counts()

    response = api_client.post(f"{API}/metrics", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert catalog_counts() == before


def test_metric_filters_and_patch(api_client):
    calls = make_metric(code="calls", aggregation="count")
    gb = make_metric(code="gb", aggregation="max")

    listed = api_client.get(f"{API}/metrics", {"aggregation": "count"}).json()["results"]
    assert [m["code"] for m in listed] == ["calls"]
    assert [m["id"] for m in api_client.get(f"{API}/metrics", {"code": "gb"}).json()["results"]] == [gb.pk]

    response = api_client.patch(f"{API}/metrics/{calls.pk}", {"name": "API calls"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "API calls"


def test_metric_used_by_a_published_price_cannot_change_how_it_counts(api_client):
    metric = make_metric(code="calls", aggregation="sum")
    version = make_published_version()
    make_price(plan_version=None, usage_type="metered", metric=metric)  # an add-on does not lock it
    draft = plan_version_new_draft(plan=version.plan, actor=ACTOR, now=T0)
    make_price(plan_version=draft, usage_type="metered", metric=metric)
    plan_version_publish(version=draft, actor=ACTOR, now=T0)
    before = catalog_counts()

    response = api_client.patch(f"{API}/metrics/{metric.pk}", {"aggregation": "max"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "metric_in_use"
    assert BillableMetric.objects.get(pk=metric.pk).aggregation == "sum"
    assert catalog_counts() == before
