from __future__ import annotations

from decimal import Decimal

import pytest

from billing_site.models import AuditEvent
from catalog.models import PlanVersion
from catalog.tests.api.helpers import API, catalog_counts, error_of
from catalog.tests.factories import (
    draft_version,
    make_graduated_price,
    make_plan,
    make_price,
    make_product,
    make_published_version,
)

pytestmark = pytest.mark.django_db


def test_create_a_plan_with_its_first_draft(api_client, api_key, frozen):
    body = {"code": "team", "name": "Team", "description": "For teams", "notes": "Launch prices"}

    response = api_client.post(f"{API}/plans", body, format="json")

    assert response.status_code == 201, response.json()
    plan = response.json()
    assert (plan["code"], plan["name"], plan["description"], plan["active"]) == ("team", "Team", "For teams", True)
    assert plan["created_at"] == "2026-01-15T09:30:00Z"
    [version] = plan["versions"]
    assert version == {
        "id": version["id"],
        "plan": plan["id"],
        "number": 1,
        "status": "draft",
        "notes": "Launch prices",
        "created_at": "2026-01-15T09:30:00Z",
        "published_at": None,
        "archived_at": None,
        "prices": [],
    }
    actions = list(
        AuditEvent.objects.filter(actor_kind="api_key", actor_id=str(api_key[0].pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["plan.created", "plan_version.created"]


def test_plan_lifecycle_draft_publish_new_draft_copies_prices(api_client, frozen):
    plan = api_client.post(f"{API}/plans", {"code": "team", "name": "Team"}, format="json").json()
    v1 = plan["versions"][0]["id"]
    product = make_product(name="Seats")
    tiers = [{"up_to": 5, "unit_amount": "7.00"}, {"up_to": None, "unit_amount": "6.00"}]
    price_body = {
        "product": product.pk,
        "plan_version": v1,
        "currency": "EUR",
        "pricing_model": "graduated",
        "tiers": tiers,
    }
    price = api_client.post(f"{API}/prices", price_body, format="json").json()

    published = api_client.post(f"{API}/plan-versions/{v1}/publish")

    assert published.status_code == 200, published.json()
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] == "2026-01-15T09:30:00Z"
    assert [p["id"] for p in published.json()["prices"]] == [price["id"]]
    assert api_client.get(f"{API}/prices/{price['id']}").json()["is_editable"] is False

    draft = api_client.post(f"{API}/plans/{plan['id']}/versions", {"notes": "2027 prices"}, format="json")

    assert draft.status_code == 201, draft.json()
    v2 = draft.json()
    assert (v2["number"], v2["status"], v2["notes"], v2["plan"]) == (2, "draft", "2027 prices", plan["id"])
    [copy] = v2["prices"]
    assert copy["id"] != price["id"]
    assert copy["plan_version"] == v2["id"]
    assert copy["is_editable"] is True
    assert (copy["product"], copy["pricing_model"], copy["tiers"]) == (product.pk, "graduated", price["tiers"])

    shown = api_client.get(f"{API}/plans/{plan['id']}").json()
    assert [(v["number"], v["status"]) for v in shown["versions"]] == [(2, "draft"), (1, "published")]
    assert api_client.get(f"{API}/plan-versions/{v2['id']}").json() == v2
    listed = api_client.get(f"{API}/plans/{plan['id']}/versions").json()["results"]
    assert [v["number"] for v in listed] == [1, 2]

    archived = api_client.post(f"{API}/plan-versions/{v1}/archive", {"reason": "Replaced by v2"}, format="json")
    assert archived.status_code == 200, archived.json()
    assert (archived.json()["status"], archived.json()["archived_at"]) == ("archived", "2026-01-15T09:30:00Z")
    assert AuditEvent.objects.get(action="plan_version.archived").reason == "Replaced by v2"


def test_new_draft_from_an_older_version(api_client):
    plan = make_plan()
    v1 = draft_version(plan)
    make_price(plan_version=v1, unit_amount=Decimal("10.00"))
    api_client.post(f"{API}/plan-versions/{v1.pk}/publish")
    v2 = api_client.post(f"{API}/plans/{plan.pk}/versions", {}, format="json").json()
    api_client.patch(f"{API}/prices/{v2['prices'][0]['id']}", {"unit_amount": "12.00"}, format="json")
    api_client.post(f"{API}/plan-versions/{v2['id']}/publish")

    v3 = api_client.post(f"{API}/plans/{plan.pk}/versions", {"from_version": v1.pk}, format="json")

    assert v3.status_code == 201, v3.json()
    assert [p["unit_amount"] for p in v3.json()["prices"]] == ["10.00"]
    assert v3.json()["notes"] == "Copied from v1"


def test_a_second_draft_is_refused(api_client):
    plan = make_plan()
    before = catalog_counts()

    response = api_client.post(f"{API}/plans/{plan.pk}/versions", {}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "draft_exists"
    assert catalog_counts() == before


def test_a_version_of_another_plan_cannot_be_copied(api_client):
    plan = make_plan()
    make_price(plan_version=draft_version(plan))
    api_client.post(f"{API}/plan-versions/{draft_version(plan).pk}/publish")
    other = make_published_version()
    before = catalog_counts()

    response = api_client.post(f"{API}/plans/{plan.pk}/versions", {"from_version": other.pk}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "wrong_plan"
    assert catalog_counts() == before


def test_publishing_an_empty_version_is_refused(api_client):
    version = draft_version()
    before = catalog_counts()

    response = api_client.post(f"{API}/plan-versions/{version.pk}/publish")

    assert response.status_code == 400
    assert error_of(response)["code"] == "plan_version_empty"
    assert PlanVersion.objects.get(pk=version.pk).status == "draft"
    assert catalog_counts() == before


@pytest.mark.parametrize("action", ["publish", "archive"])
def test_invalid_transitions_are_refused(api_client, action):
    version = draft_version()
    make_graduated_price(plan_version=version)
    if action == "publish":
        api_client.post(f"{API}/plan-versions/{version.pk}/publish")
    before = catalog_counts()

    response = api_client.post(f"{API}/plan-versions/{version.pk}/{action}")

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_transition"
    assert catalog_counts() == before


def test_patch_a_plan(api_client, api_key):
    plan = make_plan(name="Team")

    response = api_client.patch(f"{API}/plans/{plan.pk}", {"name": "Team 2026", "active": False}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["active"]) == ("Team 2026", False)
    event = AuditEvent.objects.get(action="plan.updated")
    assert (event.actor_kind, event.actor_id) == ("api_key", str(api_key[0].pk))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"name": "Team"}, "code"),
        ({"code": "has spaces", "name": "Team"}, "code"),
        ({"code": "team"}, "name"),
    ],
)
def test_bad_plan_input_is_refused(api_client, body, field):
    before = catalog_counts()

    response = api_client.post(f"{API}/plans", body, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert catalog_counts() == before


def test_duplicate_plan_code_is_refused(api_client):
    make_plan(code="team")
    before = catalog_counts()

    response = api_client.post(f"{API}/plans", {"code": "team", "name": "Team again"}, format="json")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["code"]
    assert catalog_counts() == before


def test_plan_list_filters_and_404s(api_client):
    team = make_plan(code="team")
    make_plan(code="solo", active=False)

    assert [p["id"] for p in api_client.get(f"{API}/plans", {"code": "team"}).json()["results"]] == [team.pk]
    assert [p["code"] for p in api_client.get(f"{API}/plans", {"active": "false"}).json()["results"]] == ["solo"]
    assert api_client.get(f"{API}/plans/999999").status_code == 404
    assert api_client.get(f"{API}/plan-versions/999999").status_code == 404
    assert error_of(api_client.post(f"{API}/plan-versions/999999/publish"))["code"] == "not_found"
