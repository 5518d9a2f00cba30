"""customer_create / customer_update: normalised values, one error per broken rule, an audit event per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from subscriptions.models import Customer
from subscriptions.services.customers import country_codes, country_name, customer_create, customer_update
from subscriptions.tests.customers.helpers import (
    ACTOR,
    T0,
    counts,
    customer_state,
    make_clock,
    make_customer,
    subscribe,
)

pytestmark = pytest.mark.django_db

LATER = T0 + timedelta(days=3)


def refused(code: str, call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


# --- create ---------------------------------------------------------------------------------------


def test_create_stores_normalised_values_and_audits_them():
    customer = customer_create(
        actor=ACTOR,
        now=T0,
        name="  Acme BV ",
        email=" finance@acme.example ",
        invoice_emails=["ap@acme.example", " AP@acme.example ", "", "cfo@acme.example"],
        address_line1="Keizersgracht 1",
        postal_code="1015 CJ",
        city="Amsterdam",
        country="nl",
        vat_id="0044.95.445.B01",
        currency="eur",
        language="NL",
        tax_exemption="reverse",
        external_id="crm-42",
        stripe_id="cus_123",
        metadata={"segment": "enterprise"},
    )

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.email, stored.country, stored.currency, stored.language) == (
        "Acme BV",
        "finance@acme.example",
        "NL",
        "EUR",
        "nl",
    )
    assert stored.invoice_emails == ["ap@acme.example", "cfo@acme.example"]
    assert stored.vat_id == "NL004495445B01"
    assert stored.tax_exemption == "reverse"
    assert (stored.created_at, stored.updated_at) == (T0, T0)
    assert stored.test_clock_id is None
    event = AuditEvent.objects.get(object_type="subscriptions.customer", object_id=str(customer.pk))
    assert (event.action, event.actor_kind, event.actor_label, event.occurred_at) == (
        "customer.created",
        "system",
        "System job: tests",
        T0,
    )
    assert event.after["vat_id"] == "NL004495445B01"
    assert event.after["external_id"] == "crm-42"
    assert event.before is None


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "  "}, "name_required", "name"),
        ({"email": ""}, "email_required", "email"),
        ({"email": "not-an-address"}, "invalid_email", "email"),
        ({"country": ""}, "country_required", "country"),
        ({"country": "XX"}, "invalid_country", "country"),
        ({"country": "NLD"}, "invalid_country", "country"),
        ({"country": "EU"}, "invalid_country", "country"),
        ({"currency": ""}, "currency_required", "currency"),
        ({"currency": "EURO"}, "invalid_currency", "currency"),
        ({"language": "de"}, "invalid_language", "language"),
        ({"invoice_emails": ["ap@example.com", "nope"]}, "invalid_email", "invoice_emails"),
        ({"invoice_emails": "ap@example.com"}, "invalid_email", "invoice_emails"),
        ({"invoice_emails": [f"ap{i}@example.com" for i in range(11)]}, "too_many_invoice_emails", "invoice_emails"),
        ({"vat_id": "NL12345"}, "invalid_vat_id", "vat_id"),
        ({"vat_id": "DE136695976"}, "vat_id_country_mismatch", "vat_id"),
        ({"country": "US", "vat_id": "123"}, "vat_id_not_supported", "vat_id"),
        ({"tax_exemption": "reverse"}, "reverse_charge_needs_vat_id", "vat_id"),
        ({"metadata": ["a"]}, "invalid_metadata", "metadata"),
        ({"metadata": {"seats": 5}}, "invalid_metadata", "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "invalid_metadata", "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "invalid_metadata", "metadata"),
        ({"tax_exemption": "sometimes"}, "invalid", "tax_exemption"),
        ({"nickname": "Acme"}, "field_not_editable", "nickname"),
    ],
)
def test_create_refuses_bad_input_on_the_field_and_saves_nothing(fields, code, field):
    before = counts()
    values = {"name": "Acme BV", "email": "finance@acme.example", "country": "NL", "currency": "EUR", **fields}

    error = refused(code, lambda: customer_create(actor=ACTOR, now=T0, **values))

    assert list(error.fields) == [field]
    assert counts() == before


def test_create_messages_say_what_to_do():
    messages = {
        "country": refused(
            "invalid_country",
            lambda: customer_create(actor=ACTOR, now=T0, name="A", email="a@example.com", country="XX", currency="EUR"),
        ).message,
        "language": refused(
            "invalid_language",
            lambda: make_customer(language="de"),
        ).message,
        "email": refused(
            "invalid_email", lambda: make_customer(invoice_emails=["ap@example.com", "ap at example"])
        ).message,
    }

    assert messages == {
        "country": "“XX” is not a country code we know. Use the two-letter ISO code, e.g. NL, SE or DE.",
        "language": "Invoices and e-mails can be in en (English), nl (Dutch), sv (Swedish); “de” is not one of them.",
        "email": "“ap at example” is not an e-mail address. Write each address like ap@example.com.",
    }


def test_a_crm_id_is_unique_with_a_clear_error():
    first = make_customer(name="Acme BV", external_id="crm-42")
    before = counts()

    error = refused("external_id_taken", lambda: make_customer(external_id="crm-42"))

    assert error.message == (
        f"“Acme BV” (#{first.pk}) already has the CRM id “crm-42”. Each customer needs its own CRM id: "
        "look that customer up instead of creating a second one."
    )
    assert error.fields == {"external_id": [f"Already used by “Acme BV” (#{first.pk})."]}
    assert counts() == before


def test_customers_without_a_crm_id_do_not_collide():
    make_customer(external_id="")
    make_customer(external_id="")

    assert Customer.objects.filter(external_id="").count() == 2


def test_two_requests_racing_for_a_crm_id_get_the_clear_error(monkeypatch):
    """The second insert fails on the database's unique constraint; the service says why."""
    make_customer(external_id="crm-42")
    monkeypatch.setattr("subscriptions.services.customers._validate", lambda customer: None)

    error = refused("external_id_taken", lambda: make_customer(external_id="crm-42"))

    assert error.fields["external_id"][0].startswith("Already used by")
    assert Customer.objects.filter(external_id="crm-42").count() == 1


def test_a_test_customer_is_created_in_its_clocks_time():
    clock = make_clock(frozen_time=datetime(2025, 3, 1, tzinfo=UTC))

    customer = make_customer(test_clock=clock)

    assert customer.test_clock_id == clock.pk
    assert customer.created_at == datetime(2025, 3, 1, tzinfo=UTC)


def test_country_names_come_from_babel():
    assert {"NL", "SE", "DE", "GB", "US", "XK"} <= country_codes()
    assert not {"EU", "ZZ", "UN", "IC"} & country_codes()
    assert len(country_codes()) == 250
    assert (country_name("NL"), country_name("NL", "nl"), country_name("SE", "sv")) == (
        "Netherlands",
        "Nederland",
        "Sverige",
    )


# --- update ---------------------------------------------------------------------------------------


def test_update_audits_only_what_changed():
    customer = make_customer(city="Amsterdam", vat_id="NL004495445B01")

    updated = customer_update(customer=customer, actor=ACTOR, now=LATER, city="Utrecht", vat_id="004495445B01")

    assert updated.city == "Utrecht"
    assert updated.updated_at == LATER
    event = AuditEvent.objects.get(action="customer.updated", object_id=str(customer.pk))
    assert (event.before, event.after) == (
        {"city": "Amsterdam", "updated_at": T0.isoformat()},
        {
            "city": "Utrecht",
            "updated_at": LATER.isoformat(),
        },
    )


def test_sending_the_same_data_again_changes_nothing():
    customer = make_customer(vat_id="NL004495445B01", invoice_emails=["ap@example.com"])
    before = counts()
    state = customer_state(customer)

    customer_update(
        customer=customer,
        actor=ACTOR,
        now=LATER,
        country=" nl",
        currency="eur",
        vat_id="NL 0044 95445 B01",
        invoice_emails=[" ap@example.com "],
        name=f" {customer.name} ",
    )

    assert customer_state(customer) == state
    assert counts() == before


def test_currency_can_change_until_the_customer_has_subscriptions():
    customer = make_customer(currency="EUR")

    assert customer_update(customer=customer, actor=ACTOR, now=LATER, currency="usd").currency == "USD"


def test_currency_is_fixed_once_the_customer_has_subscriptions():
    customer = make_customer(name="Acme BV", currency="EUR")
    subscribe(customer)
    before, state = counts(), customer_state(customer)

    error = refused(
        "currency_locked", lambda: customer_update(customer=customer, actor=ACTOR, now=LATER, currency="USD")
    )

    assert error.message == (
        "“Acme BV” already has subscriptions billed in EUR, so the currency cannot change to USD. "
        "To bill in USD, create a new customer."
    )
    assert error.fields == {"currency": ["Cannot change: the customer has subscriptions."]}
    assert (counts(), customer_state(customer)) == (before, state)


def test_other_details_of_a_customer_with_subscriptions_can_change():
    customer = make_customer(currency="EUR")
    subscribe(customer)

    customer_update(customer=customer, actor=ACTOR, now=LATER, city="Utrecht", currency="EUR")

    assert Customer.objects.get(pk=customer.pk).city == "Utrecht"


def test_a_clock_can_be_attached_while_the_customer_has_no_subscriptions():
    clock = make_clock()
    customer = make_customer()

    customer_update(customer=customer, actor=ACTOR, now=LATER, test_clock=clock)
    assert Customer.objects.get(pk=customer.pk).test_clock_id == clock.pk
    customer_update(customer=customer, actor=ACTOR, now=LATER, test_clock=None)
    assert Customer.objects.get(pk=customer.pk).test_clock_id is None


@pytest.mark.parametrize("move", ["attach", "detach", "switch"])
def test_the_clock_of_a_customer_with_subscriptions_never_changes(move):
    """Moving a live customer to another time would rewrite its history."""
    old_clock, new_clock = make_clock(name="Old"), make_clock(name="New")
    customer = make_customer(name="Acme BV", test_clock=None if move == "attach" else old_clock)
    subscribe(customer)
    before, state = counts(), customer_state(customer)
    target = {"attach": new_clock, "detach": None, "switch": new_clock}[move]

    error = refused(
        "test_clock_locked", lambda: customer_update(customer=customer, actor=ACTOR, now=LATER, test_clock=target)
    )

    assert error.message.startswith("“Acme BV” already has subscriptions, so its test clock cannot change")
    assert (counts(), customer_state(customer)) == (before, state)


def test_a_new_country_must_fit_the_vat_number():
    customer = make_customer(country="NL", vat_id="NL004495445B01")
    state = customer_state(customer)

    refused("vat_id_country_mismatch", lambda: customer_update(customer=customer, actor=ACTOR, now=LATER, country="DE"))
    assert customer_state(customer) == state

    moved = customer_update(customer=customer, actor=ACTOR, now=LATER, country="DE", vat_id="DE136695976")
    assert (moved.country, moved.vat_id) == ("DE", "DE136695976")


def test_update_refuses_a_crm_id_of_another_customer():
    make_customer(external_id="crm-1")
    customer = make_customer(external_id="crm-2")
    state = customer_state(customer)

    refused(
        "external_id_taken", lambda: customer_update(customer=customer, actor=ACTOR, now=LATER, external_id="crm-1")
    )
    assert customer_state(customer) == state


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"email": "nope"}, "invalid_email"),
        ({"country": "XX"}, "invalid_country"),
        ({"language": "fr"}, "invalid_language"),
        ({"name": ""}, "name_required"),
        ({"tax_exemption": "reverse"}, "reverse_charge_needs_vat_id"),
        ({"created_at": T0}, "field_not_editable"),
        ({"metadata": {"n": 1}}, "invalid_metadata"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(changes, code):
    customer = make_customer()
    before, state = counts(), customer_state(customer)

    refused(code, lambda: customer_update(customer=customer, actor=ACTOR, now=LATER, **changes))

    assert (counts(), customer_state(customer)) == (before, state)
