"""/api/v1/customers: create, retrieve, update, list with filters; bad input is the error shape and saves nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing_site.models import AuditEvent
from catalog.tests.api.helpers import error_of
from subscriptions.tests.customers.helpers import counts, customer_state, make_clock, make_customer, subscribe

pytestmark = pytest.mark.django_db

API = "/api/v1/customers"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

ACME = {
    "name": "Acme BV",
    "email": "finance@acme.example",
    "invoice_emails": ["ap@acme.example"],
    "address": {"line1": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam"},
    "country": "nl",
    "currency": "eur",
    "language": "nl",
    "vat_id": "NL 0044.95.445.B01",
    "tax_exemption": "reverse",
    "external_id": "crm-42",
    "stripe_id": "cus_123",
    "metadata": {"segment": "enterprise"},
}


@pytest.fixture
def frozen():
    from billing_site import clock

    with clock.frozen_at(NOW):
        yield NOW


def expected(customer_id: int, **changes) -> dict:
    body = {
        "id": customer_id,
        "name": "Acme BV",
        "email": "finance@acme.example",
        "invoice_emails": ["ap@acme.example"],
        "address": {
            "line1": "Keizersgracht 1",
            "line2": "",
            "postal_code": "1015 CJ",
            "city": "Amsterdam",
            "region": "",
            "country": "NL",
        },
        "country": "NL",
        "currency": "EUR",
        "language": "nl",
        "vat_id": "NL004495445B01",
        "tax_exemption": "reverse",
        "external_id": "crm-42",
        "stripe_id": "cus_123",
        "metadata": {"segment": "enterprise"},
        "test_clock": None,
        "created_at": "2026-01-15T09:30:00Z",
        "updated_at": "2026-01-15T09:30:00Z",
    }
    body.update(changes)
    return body


def test_create_and_retrieve(api_client, api_key, frozen):
    created = api_client.post(API, ACME, format="json")

    assert created.status_code == 201, created.json()
    customer_id = created.json()["id"]
    assert created.json() == expected(customer_id)
    assert api_client.get(f"{API}/{customer_id}").json() == expected(customer_id)
    event = AuditEvent.objects.get(object_type="subscriptions.customer", object_id=str(customer_id))
    assert (event.action, event.actor_kind, event.actor_label) == (
        "customer.created",
        "api_key",
        f"API key “CRM” ({api_key[0].prefix})",
    )


def test_create_with_only_the_required_fields(api_client, frozen):
    response = api_client.post(
        API, {"name": "Jan", "email": "jan@example.com", "country": "SE", "currency": "SEK"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["language"], body["tax_exemption"], body["invoice_emails"], body["metadata"], body["vat_id"]) == (
        "en",
        "none",
        [],
        {},
        "",
    )
    assert body["address"] == {"line1": "", "line2": "", "postal_code": "", "city": "", "region": "", "country": "SE"}


def test_address_country_may_stand_in_for_country(api_client, frozen):
    body = {"name": "Jan", "email": "jan@example.com", "currency": "SEK", "address": {"country": "se"}}

    response = api_client.post(API, body, format="json")

    assert response.status_code == 201
    assert response.json()["country"] == "SE"


def test_a_test_customer_is_created_in_its_clocks_time(api_client, frozen):
    clock = make_clock(frozen_time=datetime(2025, 3, 1, tzinfo=UTC))

    response = api_client.post(API, {**ACME, "test_clock": clock.pk}, format="json")

    assert response.status_code == 201
    assert (response.json()["test_clock"], response.json()["created_at"]) == (clock.pk, "2025-03-01T00:00:00Z")


@pytest.mark.parametrize(
    ("changes", "status", "code", "fields"),
    [
        ({"name": ""}, 400, "invalid", ["name"]),
        ({"country": None}, 400, "invalid", ["country"]),
        ({"vat_id": "NL12345"}, 400, "invalid_vat_id", ["vat_id"]),
        ({"vat_id": "DE136695976"}, 400, "vat_id_country_mismatch", ["vat_id"]),
        ({"country": "XX"}, 400, "invalid_country", ["country"]),
        ({"currency": "EURO"}, 400, "invalid_currency", ["currency"]),
        ({"language": "de"}, 400, "invalid_language", ["language"]),
        ({"email": "finance at acme"}, 400, "invalid_email", ["email"]),
        ({"invoice_emails": ["ap@acme.example", "x"]}, 400, "invalid_email", ["invoice_emails"]),
        ({"invoice_emails": "ap@acme.example"}, 400, "invalid", ["invoice_emails"]),
        ({"tax_exemption": "maybe"}, 400, "invalid", ["tax_exemption"]),
        ({"metadata": {"seats": 5}}, 400, "invalid_metadata", ["metadata"]),
        ({"test_clock": 999999}, 400, "invalid", ["test_clock"]),
        ({"address": {"line1": "x", "street": "y"}}, 400, "invalid", ["address.street"]),
        ({"address": {"country": "SE"}}, 400, "invalid", ["address.country"]),
        ({"unit_price": 5}, 400, "invalid", ["unit_price"]),
    ],
)
def test_create_refuses_bad_input_with_the_error_shape_and_saves_nothing(
    api_client, frozen, changes, status, code, fields
):
    before = counts()

    response = api_client.post(API, {**ACME, **changes}, format="json")

    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert list(error["fields"]) == fields
    assert counts() == before


def test_missing_required_fields_are_named(api_client, frozen):
    response = api_client.post(API, {}, format="json")

    assert response.status_code == 400
    assert sorted(error_of(response)["fields"]) == ["country", "currency", "email", "name"]


def test_a_taken_crm_id_is_refused_with_external_id_taken(api_client, frozen):
    first = make_customer(name="Acme BV", external_id="crm-42")
    before = counts()

    response = api_client.post(API, ACME, format="json")

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "external_id_taken",
        "message": f"“Acme BV” (#{first.pk}) already has the CRM id “crm-42”. Each customer needs its own CRM id: "
        "look that customer up instead of creating a second one.",
        "fields": {"external_id": [f"Already used by “Acme BV” (#{first.pk})."]},
    }
    assert counts() == before


def test_patch_changes_only_what_is_sent(api_client, frozen):
    customer_id = api_client.post(API, ACME, format="json").json()["id"]

    response = api_client.patch(
        f"{API}/{customer_id}", {"address": {"city": "Utrecht"}, "language": "sv"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["address"] == {
        "line1": "Keizersgracht 1",
        "line2": "",
        "postal_code": "1015 CJ",
        "city": "Utrecht",
        "region": "",
        "country": "NL",
    }
    assert (body["language"], body["vat_id"], body["name"]) == ("sv", "NL004495445B01", "Acme BV")
    update = AuditEvent.objects.get(action="customer.updated", object_id=str(customer_id))
    assert update.before == {"city": "Amsterdam", "language": "nl"}
    assert update.after == {"city": "Utrecht", "language": "sv"}


def test_patch_refuses_a_currency_change_once_there_are_subscriptions(api_client, frozen):
    customer = make_customer(currency="EUR")
    subscribe(customer)
    before, state = counts(), customer_state(customer)

    response = api_client.patch(
        f"{API}/{customer.pk}", {"currency": "USD", "address": {"city": "Utrecht"}}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "currency_locked"
    assert (counts(), customer_state(customer)) == (before, state)


def test_patch_refuses_moving_a_live_customer_to_a_test_clock(api_client, frozen):
    customer = make_customer()
    subscribe(customer)
    clock = make_clock()
    before, state = counts(), customer_state(customer)

    response = api_client.patch(f"{API}/{customer.pk}", {"test_clock": clock.pk}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "test_clock_locked"
    assert (counts(), customer_state(customer)) == (before, state)


def test_patch_attaches_a_clock_to_a_customer_without_subscriptions(api_client, frozen):
    customer = make_customer()
    clock = make_clock()

    response = api_client.patch(f"{API}/{customer.pk}", {"test_clock": clock.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["test_clock"] == clock.pk


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"vat_id": "NL1"}, "invalid_vat_id"),
        ({"email": ""}, "invalid"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "invalid"),
        ({"id": 5}, "invalid"),
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(api_client, frozen, body, code):
    customer = make_customer()
    before, state = counts(), customer_state(customer)

    response = api_client.patch(f"{API}/{customer.pk}", body, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert (counts(), customer_state(customer)) == (before, state)


def test_unknown_customer_is_a_404(api_client):
    for response in (api_client.get(f"{API}/999999"), api_client.patch(f"{API}/999999", {}, format="json")):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_list_filters(api_client, frozen):
    clock = make_clock()
    acme = make_customer(name="Acme BV", email="finance@acme.example", external_id="crm-1", stripe_id="cus_1")
    globex = make_customer(name="Globex AB", email="ap@globex.example", country="SE", currency="SEK", language="sv")
    initech = make_customer(name="Initech", email="bill@initech.example", invoice_emails=["ap@initech.example"])
    test = make_customer(name="Test Acme", test_clock=clock)

    def ids(query: str) -> list[int]:
        response = api_client.get(f"{API}?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [acme.pk, globex.pk, initech.pk, test.pk]
    assert ids("external_id=crm-1") == [acme.pk]
    assert ids("external_id=crm") == []
    assert ids("stripe_id=cus_1") == [acme.pk]
    assert ids("email=FINANCE@acme.example") == [acme.pk]
    assert ids("country=se") == [globex.pk]
    assert ids("currency=SEK") == [globex.pk]
    assert ids("language=sv") == [globex.pk]
    assert ids(f"test_clock={clock.pk}") == [test.pk]
    assert ids("q=acme") == [acme.pk, test.pk]
    assert ids("q=globex.example") == [globex.pk]
    assert ids("q=ap@initech") == [initech.pk]
    assert ids("q=test acme") == [test.pk]
    assert ids("country=NL&q=acme") == [acme.pk, test.pk]


@pytest.mark.parametrize("query", ["test_clock=abc", "test_clock=0", f"test_clock={2**70}"])
def test_list_refuses_bad_filters(api_client, query):
    response = api_client.get(f"{API}?{query}")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["test_clock"]


def test_read_only_key_can_read_but_not_write(read_only_client, frozen):
    customer = make_customer()
    before = counts()

    assert read_only_client.get(f"{API}/{customer.pk}").status_code == 200
    assert read_only_client.post(API, ACME, format="json").status_code == 403
    assert read_only_client.patch(f"{API}/{customer.pk}", {"name": "X"}, format="json").status_code == 403
    assert counts() == before


def test_no_key_no_access(client):
    assert client.get(API).status_code == 401


def test_trailing_slash_works_too(api_client, frozen):
    customer = make_customer()

    assert api_client.get(f"{API}/{customer.pk}/").status_code == 200
    assert api_client.get(f"{API}/").status_code == 200


def test_customers_are_in_the_api_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert {"/api/v1/customers", "/api/v1/customers/{id}"} <= set(schema["paths"])
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/customers"])
    assert {"get", "patch"} <= set(schema["paths"]["/api/v1/customers/{id}"])
    assert "delete" not in schema["paths"]["/api/v1/customers/{id}"]
