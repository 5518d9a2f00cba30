"""Every write through the API is audited as the API key that made it, at the clock's time."""

from __future__ import annotations

import pytest

from billing_site.models import AuditEvent
from catalog.tests.api.helpers import API
from catalog.tests.factories import make_product

pytestmark = pytest.mark.django_db

CREATES = [
    ("products", {"name": "Storage"}, {"name": "Storage v2"}, "product"),
    ("metrics", {"code": "calls", "name": "Calls", "aggregation": "count"}, {"name": "API calls"}, "metric"),
    ("plans", {"code": "team", "name": "Team"}, {"name": "Team 2026"}, "plan"),
    (
        "prices",
        {"product": "{product}", "currency": "EUR", "pricing_model": "flat", "flat_amount": "5.00"},
        {"flat_amount": "6.00"},
        "price",
    ),
    (
        "coupons",
        {"code": "spring", "name": "Spring", "discount_type": "percent", "percent_off": "10"},
        {"percent_off": "15"},
        "coupon",
    ),
    ("tax-rates", {"name": "VAT", "country": "NL", "percentage": "21"}, {"percentage": "9"}, "tax_rate"),
]


@pytest.mark.parametrize(("resource", "body", "changes", "noun"), CREATES)
def test_create_and_update_are_audited_as_the_api_key(api_client, api_key, frozen, resource, body, changes, noun):
    product = make_product()
    body = {key: product.pk if value == "{product}" else value for key, value in body.items()}

    created = api_client.post(f"{API}/{resource}", body, format="json")
    assert created.status_code == 201, created.json()
    object_id = str(created.json()["id"])
    updated = api_client.patch(f"{API}/{resource}/{object_id}", changes, format="json")
    assert updated.status_code == 200, updated.json()

    events = AuditEvent.objects.filter(action__in=[f"{noun}.created", f"{noun}.updated"], object_id=object_id)
    assert sorted(events.values_list("action", "actor_kind", "actor_id", "occurred_at")) == [
        (f"{noun}.created", "api_key", str(api_key[0].pk), frozen),
        (f"{noun}.updated", "api_key", str(api_key[0].pk), frozen),
    ]
    assert list(events.get(action=f"{noun}.updated").after) == list(changes)
