"""The customer admin: a skin over the customer services, for finance (add, change), support (change), pricing (view)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from billing_site import clock
from billing_site.models import AuditEvent
from catalog.tests.admin.forms import inline
from subscriptions.models import Customer
from subscriptions.services.customers import customer_update
from subscriptions.tests.customers.helpers import ACTOR, counts, customer_state, make_clock, make_customer, subscribe

pytestmark = pytest.mark.django_db

ADD = "admin:subscriptions_customer_add"
CHANGE = "admin:subscriptions_customer_change"
LIST = "admin:subscriptions_customer_changelist"
WALL = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(WALL):
        yield WALL


def form_data(**fields: Any) -> dict[str, str]:
    data = {
        "name": "Acme BV",
        "email": "finance@acme.example",
        "invoice_emails": "",
        "address_line1": "",
        "address_line2": "",
        "postal_code": "",
        "city": "",
        "region": "",
        "country": "NL",
        "currency": "EUR",
        "language": "en",
        "vat_id": "",
        "tax_exemption": "none",
        "external_id": "",
        "stripe_id": "",
        "metadata": "{}",
        "test_clock": "",
        "_save": "Save",
    }
    data.update({name: "" if value is None else str(value) for name, value in fields.items()})
    return data


def change_data(customer: Customer, **changes: Any) -> dict[str, str]:
    """What the change page posts back unchanged, with ``changes`` applied."""
    import json

    customer = Customer.objects.get(pk=customer.pk)
    data = form_data(
        name=customer.name,
        email=customer.email,
        invoice_emails="\n".join(customer.invoice_emails),
        address_line1=customer.address_line1,
        postal_code=customer.postal_code,
        city=customer.city,
        country=customer.country,
        currency=customer.currency,
        language=customer.language,
        vat_id=customer.vat_id,
        tax_exemption=customer.tax_exemption,
        external_id=customer.external_id,
        stripe_id=customer.stripe_id,
        metadata=json.dumps(customer.metadata),
        test_clock=customer.test_clock_id or "",
    )
    data.update(inline("subscriptions", initial=0))
    data.update({name: "" if value is None else str(value) for name, value in changes.items()})
    return data


def form_errors(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {name: list(messages) for name, messages in form.errors.items()}


# --- finance adds and changes ---------------------------------------------------------------------


def test_finance_adds_a_customer_through_the_service(client, finance_user):
    client.force_login(finance_user)

    response = client.post(
        reverse(ADD),
        form_data(
            invoice_emails="ap@acme.example\ncfo@acme.example, ap@acme.example",
            vat_id="nl 0044.95.445.b01",
            currency="eur",
            external_id="crm-42",
            metadata='{"segment": "enterprise"}',
        ),
    )

    assert response.status_code == 302, form_errors(response)
    customer = Customer.objects.get()
    assert (customer.name, customer.vat_id, customer.currency, customer.invoice_emails, customer.metadata) == (
        "Acme BV",
        "NL004495445B01",
        "EUR",
        ["ap@acme.example", "cfo@acme.example"],
        {"segment": "enterprise"},
    )
    assert customer.created_at == WALL
    event = AuditEvent.objects.get(object_type="subscriptions.customer", object_id=str(customer.pk))
    assert (event.action, event.actor_kind, event.actor_label) == ("customer.created", "staff", "finance")


def test_a_bad_vat_number_is_shown_on_its_field_and_nothing_is_saved(client, finance_user):
    client.force_login(finance_user)
    before = counts()

    response = client.post(reverse(ADD), form_data(vat_id="NL12345"))

    assert response.status_code == 200
    assert form_errors(response) == {
        "vat_id": ["“NL12345” is not a valid Dutch VAT number: it looks like NL123456789B01."]
    }
    assert counts() == before


def test_a_taken_crm_id_is_shown_on_its_field(client, finance_user):
    client.force_login(finance_user)
    first = make_customer(name="Globex", external_id="crm-42")
    before = counts()

    response = client.post(reverse(ADD), form_data(external_id="crm-42"))

    assert response.status_code == 200
    assert form_errors(response)["external_id"] == [f"Already used by “Globex” (#{first.pk})."]
    assert "already has the CRM id “crm-42”" in response.text
    assert counts() == before


def test_a_bad_invoice_address_is_shown_on_its_field(client, finance_user):
    client.force_login(finance_user)

    response = client.post(reverse(ADD), form_data(invoice_emails="ap@acme.example\nnot an address"))

    assert response.status_code == 200
    assert form_errors(response) == {
        "invoice_emails": ["“not” is not an e-mail address. Write each address like ap@example.com."]
    }
    assert not Customer.objects.exists()


def test_the_country_is_chosen_by_name(client, finance_user):
    client.force_login(finance_user)

    response = client.get(reverse(ADD))

    assert '<option value="NL">Netherlands (NL)</option>' in response.text
    assert '<option value="EU">' not in response.text


def test_the_add_page_can_come_with_a_test_clock_chosen(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(frozen_time=datetime(2025, 5, 1, tzinfo=UTC))

    page = client.get(reverse(ADD) + f"?test_clock={test_clock.pk}")
    assert page.context["adminform"].form.initial["test_clock"] == str(test_clock.pk)
    assert "Test customer" in page.text

    response = client.post(reverse(ADD) + f"?test_clock={test_clock.pk}", form_data(test_clock=test_clock.pk))
    customer = Customer.objects.get()
    assert (customer.test_clock_id, customer.created_at) == (test_clock.pk, datetime(2025, 5, 1, tzinfo=UTC))
    # Back to the clock's page, ready to add the next one or advance.
    assert response.url == reverse("admin:subscriptions_testclock_change", args=[test_clock.pk])


def test_finance_changes_a_customer_and_the_audit_shows_the_diff(client, finance_user):
    client.force_login(finance_user)
    customer = make_customer(city="Amsterdam")

    response = client.post(reverse(CHANGE, args=[customer.pk]), change_data(customer, city="Utrecht"))

    assert response.status_code == 302, form_errors(response)
    update = AuditEvent.objects.get(action="customer.updated")
    assert (update.before["city"], update.after["city"], update.actor_label) == ("Amsterdam", "Utrecht", "finance")


def test_currency_and_test_clock_are_read_only_once_there_are_subscriptions(client, finance_user):
    client.force_login(finance_user)
    customer = make_customer(currency="EUR")
    subscribe(customer)
    state = customer_state(customer)

    page = client.get(reverse(CHANGE, args=[customer.pk]))
    assert {"currency", "test_clock"} <= set(page.context["adminform"].readonly_fields)
    client.post(reverse(CHANGE, args=[customer.pk]), change_data(customer, currency="USD"))

    assert customer_state(customer) == state


# --- roles ------------------------------------------------------------------------------------------


def test_support_can_view_and_change_a_customer_but_not_add_one(client, support_user):
    client.force_login(support_user)
    customer = make_customer(city="Amsterdam")

    assert client.get(reverse(LIST)).status_code == 200
    assert client.get(reverse(CHANGE, args=[customer.pk])).status_code == 200
    response = client.post(reverse(CHANGE, args=[customer.pk]), change_data(customer, city="Utrecht"))
    assert response.status_code == 302, form_errors(response)
    assert Customer.objects.get(pk=customer.pk).city == "Utrecht"
    before = counts()
    assert client.post(reverse(ADD), form_data()).status_code == 403
    assert counts() == before


def test_pricing_can_only_view(client, pricing_user):
    client.force_login(pricing_user)
    customer = make_customer(city="Amsterdam", country="SE", currency="SEK", invoice_emails=["ap@example.com"])
    before, state = counts(), customer_state(customer)

    page = client.get(reverse(CHANGE, args=[customer.pk]))
    assert page.status_code == 200
    assert "Sweden (SE)" in page.text
    assert 'name="city"' not in page.text  # nothing to edit
    assert client.post(reverse(CHANGE, args=[customer.pk]), change_data(customer, city="Utrecht")).status_code == 403
    assert client.post(reverse(ADD), form_data()).status_code == 403
    assert (counts(), customer_state(customer)) == (before, state)


def test_nobody_deletes_a_customer_in_the_admin(client, finance_user):
    client.force_login(finance_user)
    customer = make_customer()

    assert (
        client.post(reverse("admin:subscriptions_customer_delete", args=[customer.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- the customer's page ----------------------------------------------------------------------------


def test_the_page_shows_subscriptions_usage_and_the_timeline_newest_first(client, support_user):
    client.force_login(support_user)
    customer = make_customer(name="Acme BV", city="Amsterdam")
    subscription = subscribe(customer)
    customer_update(customer=customer, actor=ACTOR, now=datetime(2026, 1, 20, tzinfo=UTC), city="Utrecht")

    page = client.get(reverse(CHANGE, args=[customer.pk]))

    assert page.status_code == 200
    inline_formsets = page.context["inline_admin_formsets"]
    # Invoicing adds the billing entity, invoices, balance, payment methods and e-mails after the subscriptions.
    assert [f.formset.prefix for f in inline_formsets] == [
        "subscriptions",
        "billing_entity_link",
        "invoices",
        "balance_transactions",
        "payment_methods",
        "emails",
    ]
    assert [form.original.pk for form in inline_formsets[0]] == [subscription.pk]
    assert page.context["usage"].available is True
    timeline = page.context["timeline"]
    assert [row["event"].action for row in timeline] == ["customer.updated", "subscription.created", "customer.created"]
    assert timeline[0]["changes"] == [("city", "Amsterdam", "Utrecht")]  # the bookkeeping "updated" is left out
    assert timeline[0]["label"] == "Billing details changed"
    text = page.content.decode()
    assert "Usage this period" in text
    assert "Timeline" in text
    assert "Billing details changed" in text


def test_the_timeline_shows_times_as_people_read_them(client, support_user):
    from subscriptions.admin.timeline import change_summary

    event = AuditEvent(
        object_type="subscriptions.subscription",
        before={"current_period_end": "2026-02-28T12:00:00+00:00"},
        after={"current_period_end": "2026-03-31T12:00:00+00:00"},
    )

    assert change_summary(event) == [("current period end", "2026-02-28 12:00", "2026-03-31 12:00")]


def test_the_timeline_holds_this_customers_events_only(client, support_user):
    client.force_login(support_user)
    mine, other = make_customer(name="Mine"), make_customer(name="Other")
    subscribe(other)

    timeline = client.get(reverse(CHANGE, args=[mine.pk])).context["timeline"]

    assert [(row["event"].object_type, row["event"].object_id) for row in timeline] == [
        ("subscriptions.customer", str(mine.pk))
    ]


def test_without_the_usage_selector_the_page_says_so(client, support_user, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "subscriptions.selectors.usage" else real(name, *a),
    )
    client.force_login(support_user)
    customer = make_customer()

    page = client.get(reverse(CHANGE, args=[customer.pk]))

    assert "Usage summary not available." in page.text


def test_a_test_customers_page_says_whose_time_it_lives_in(client, finance_user):
    client.force_login(finance_user)
    test_clock = make_clock(name="Trial scenario", frozen_time=datetime(2025, 5, 1, 12, 0, tzinfo=UTC))
    customer = make_customer(test_clock=test_clock)

    page = client.get(reverse(CHANGE, args=[customer.pk]))

    assert "This customer lives in the time of the test clock “Trial scenario”: it is 2025-05-01 12:00 UTC for it." in (
        " ".join(page.text.split())
    )


# --- finding customers ------------------------------------------------------------------------------


def test_search_by_name_email_crm_id_and_vat_number(client, support_user):
    client.force_login(support_user)
    acme = make_customer(name="Acme BV", email="finance@acme.example", external_id="crm-42", vat_id="NL004495445B01")
    globex = make_customer(name="Globex AB", email="ap@globex.example", country="SE", currency="SEK")

    def found(term: str) -> set[int]:
        return {c.pk for c in client.get(reverse(LIST), {"q": term}).context["cl"].result_list}

    assert found("acme") == {acme.pk}
    assert found("globex.example") == {globex.pk}
    assert found("crm-42") == {acme.pk}
    assert found("crm-4") == set()  # CRM ids match exactly
    assert found("NL004495445B01") == {acme.pk}
    assert found("NL 0044.95.445.B01") == {acme.pk}


def test_filters_by_country_currency_language_and_test_clock(client, support_user):
    client.force_login(support_user)
    test_clock = make_clock()
    nl = make_customer(name="NL")
    se = make_customer(name="SE", country="SE", currency="SEK", language="sv")
    test = make_customer(name="Test", test_clock=test_clock)

    def listed(**query: str) -> set[int]:
        response = client.get(reverse(LIST), query)
        assert response.status_code == 200
        return {c.pk for c in response.context["cl"].result_list}

    assert listed(country="SE") == {se.pk}
    assert listed(currency__exact="EUR") == {nl.pk, test.pk}
    assert listed(language__exact="sv") == {se.pk}
    assert listed(test_clock=str(test_clock.pk)) == {test.pk}
    assert listed(test_clock="none") == {nl.pk, se.pk}
