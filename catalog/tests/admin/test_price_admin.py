"""The price admin: inline tiers saved through the service, frozen prices, the calculator."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.models import AuditEvent
from catalog.models import Price, Tier
from catalog.tests.admin.forms import THREE_TIERS, change_form_of, price_form
from catalog.tests.factories import (
    draft_version,
    make_graduated_price,
    make_metric,
    make_plan,
    make_price,
    make_product,
    make_published_version,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:catalog_price_add")


def change_url(price: Price) -> str:
    return reverse("admin:catalog_price_change", args=[price.pk])


def calculator_url(price: Price) -> str:
    return reverse("admin:catalog_price_calculator", args=[price.pk])


def tiers_of(price: Price) -> list[tuple]:
    return [(t.up_to, t.unit_amount, t.flat_amount) for t in price.tiers.order_by("position")]


def test_pricing_user_creates_a_graduated_price_with_three_tiers(client, pricing_user):
    client.force_login(pricing_user)
    product = make_product(name="Seats", unit_label="seat")

    response = client.post(ADD_URL, price_form(product=product))

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    price = Price.objects.get(product=product)
    assert response["Location"] == reverse("admin:catalog_price_changelist")
    assert price.pricing_model == "graduated"
    assert price.currency == "EUR"
    assert price.unit_amount is None
    assert tiers_of(price) == [
        (Decimal(5), Decimal("7.00"), Decimal(0)),
        (Decimal(10), Decimal("6.50"), Decimal(0)),
        (None, Decimal("6.00"), Decimal(0)),
    ]
    event = AuditEvent.objects.get(action="price.created", object_id=str(price.pk))
    assert (event.actor_kind, event.actor_id, event.actor_label) == ("staff", str(pricing_user.pk), "pricing")
    assert [Decimal(tier["unit_amount"]) for tier in event.after["tiers"]] == [
        Decimal("7.00"),
        Decimal("6.50"),
        Decimal("6.00"),
    ]


def test_save_and_continue_lands_on_the_new_price_with_its_calculator(client, pricing_user):
    client.force_login(pricing_user)
    product = make_product()

    response = client.post(ADD_URL, {**price_form(product=product), "_continue": "Save and continue editing"})

    price = Price.objects.get(product=product)
    assert response["Location"] == change_url(price)
    page = client.get(change_url(price))
    assert page.status_code == 200
    assert 'id="price-calculator"' in page.text
    assert 'name="_save"' in page.text


@pytest.mark.parametrize(
    ("changes", "tiers", "message"),
    [
        (
            {},
            [
                {"up_to": "10", "unit_amount": "7.00", "flat_amount": "0"},
                {"up_to": "5", "unit_amount": "6.50", "flat_amount": "0"},
                {"up_to": "", "unit_amount": "6.00", "flat_amount": "0"},
            ],
            "Tier 2 must start above tier 1: its “up to” (5) is not greater than 10.",
        ),
        (
            {},
            [
                {"up_to": "5", "unit_amount": "7.00", "flat_amount": "0"},
                {"up_to": "10", "unit_amount": "6.50", "flat_amount": "0"},
            ],
            "The last tier must have no upper limit, so that every quantity has a price: "
            "leave the “up to” of tier 2 empty.",
        ),
        (
            {"pricing_model": "package", "unit_amount": "5.00", "package_size": "100"},
            THREE_TIERS,
            "A package price cannot also be tiered. Remove the tiers, or choose graduated or volume pricing.",
        ),
    ],
    ids=["tiers-not-ascending", "last-tier-bounded", "package-with-tiers"],
)
def test_invalid_tiers_show_the_form_again_with_the_message_and_save_nothing(
    client, pricing_user, changes, tiers, message
):
    client.force_login(pricing_user)
    product = make_product()
    counts = Price.objects.count(), Tier.objects.count(), AuditEvent.objects.count()

    response = client.post(ADD_URL, price_form(product=product, tiers=tiers, **changes))

    assert response.status_code == 200
    assert message in response.text
    tier_formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "tiers")
    assert message in tier_formset.formset.non_form_errors()
    assert (Price.objects.count(), Tier.objects.count(), AuditEvent.objects.count()) == counts


def test_a_service_error_about_a_field_is_shown_on_that_field(client, pricing_user):
    client.force_login(pricing_user)
    product = make_product()

    response = client.post(
        ADD_URL, price_form(product=product, tiers=[], pricing_model="per_unit", unit_amount="", usage_type="licensed")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["unit_amount"] == ["A per unit price needs a unit amount: the price per unit."]
    assert not Price.objects.filter(product=product).exists()


def test_metered_price_without_metric_names_the_metric_field(client, pricing_user):
    client.force_login(pricing_user)
    product = make_product()

    response = client.post(
        ADD_URL,
        price_form(product=product, tiers=[], pricing_model="per_unit", unit_amount="0.10", usage_type="metered"),
    )

    assert response.status_code == 200
    assert "A metered price needs a usage metric" in response.text
    assert not Price.objects.filter(product=product).exists()


def test_pricing_user_changes_the_tiers_of_a_draft_price(client, pricing_user):
    client.force_login(pricing_user)
    price = make_graduated_price(plan_version=draft_version())
    data = change_form_of(price)
    data["tiers-1-unit_amount"] = "6.25"
    data["tiers-2-DELETE"] = "on"
    data.update(
        {"tiers-TOTAL_FORMS": "4", "tiers-3-up_to": "", "tiers-3-unit_amount": "5.00", "tiers-3-flat_amount": "0"}
    )

    response = client.post(change_url(price), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert tiers_of(price) == [
        (Decimal(5), Decimal("7.00"), Decimal(0)),
        (Decimal(10), Decimal("6.25"), Decimal(0)),
        (None, Decimal("5.00"), Decimal(0)),
    ]
    event = AuditEvent.objects.get(action="price.updated", object_id=str(price.pk))
    assert event.actor_kind == "staff"
    assert "tiers" in event.after


def test_saving_an_unchanged_price_writes_no_audit_event(client, pricing_user):
    client.force_login(pricing_user)
    price = make_graduated_price()
    before = AuditEvent.objects.count()

    response = client.post(change_url(price), change_form_of(price))

    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_calculator_shows_the_amount_and_the_breakdown_for_12_units(client, pricing_user):
    client.force_login(pricing_user)
    price = make_graduated_price()

    response = client.get(calculator_url(price), {"quantity": "12"})

    assert response.status_code == 200
    assert "79.50" in response.text
    calculation = response.context["calculation"]
    assert calculation["total"] == "€79.50"
    assert [
        (line["label"], line["units"], line["unit_amount"], line["flat_amount"], line["amount"])
        for line in calculation["lines"]
    ] == [
        ("Tier 1 (1–5)", "5", "€7.00", "—", "€35.00"),
        ("Tier 2 (6–10)", "5", "€6.50", "—", "€32.50"),
        ("Tier 3 (11 and above)", "2", "€6.00", "—", "€12.00"),
    ]
    for label in ("Tier 1 (1–5)", "Tier 2 (6–10)", "Tier 3 (11 and above)"):
        assert label in response.text


def test_calculator_is_on_the_change_page_and_answers_in_place(client, support_user):
    client.force_login(support_user)
    price = make_graduated_price()

    page = client.get(change_url(price))
    partial = client.get(calculator_url(price), {"quantity": "12", "partial": "1"})

    assert f'action="{calculator_url(price)}"' in page.text
    assert 'name="quantity"' in page.text
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert "€79.50" in partial.text


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("abc", "Enter the quantity as a number, such as 12 or 12.5 (with a dot for decimals)."),
        ("-3", "A quantity cannot be negative. Enter 0 or more."),
        ("", "Enter a quantity, such as 12."),
        ("1e40", "That quantity is too large to price."),
        ("NaN", "Enter the quantity as a number, such as 12 or 12.5 (with a dot for decimals)."),
    ],
)
def test_calculator_explains_a_bad_quantity(client, pricing_user, quantity, message):
    client.force_login(pricing_user)
    price = make_graduated_price()

    response = client.get(calculator_url(price), {"quantity": quantity})

    assert response.status_code == 200
    assert response.context["calculation"] is None
    assert message in response.text


def test_calculator_of_a_time_of_use_price_asks_a_quantity_per_rate(client, support_user):
    client.force_login(support_user)
    price = make_price(
        usage_type="metered",
        metric=make_metric(),
        unit_amount=Decimal("0.08"),
        rate_windows=[
            {"name": "peak", "start_time": time(7), "end_time": time(23), "unit_amount": Decimal("0.15")},
        ],
    )

    empty = client.get(calculator_url(price))
    response = client.get(calculator_url(price), {"rate_1": "100", "rate_base": "50"})

    assert "Usage in “peak” (07:00–23:00)" in empty.text
    assert response.status_code == 200
    calculation = response.context["calculation"]
    assert calculation["total"] == "€19.00"
    assert [line["amount"] for line in calculation["lines"]] == ["€15.00", "€4.00"]


def test_calculator_needs_permission_to_view_prices(client, django_user_model):
    nobody = django_user_model.objects.create_user(username="nobody", password="x", is_staff=True)
    client.force_login(nobody)
    price = make_graduated_price()

    assert client.get(calculator_url(price), {"quantity": "12"}).status_code == 403


def test_support_sees_a_price_without_save_buttons_and_cannot_change_it(client, support_user):
    client.force_login(support_user)
    price = make_graduated_price(plan_version=draft_version())

    page = client.get(change_url(price))
    response = client.post(change_url(price), change_form_of(price, currency="USD", **{"tiers-0-unit_amount": "1.00"}))

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert 'name="_continue"' not in page.text
    tiers = next(f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "tiers")
    assert not (tiers.has_add_permission or tiers.has_change_permission or tiers.has_delete_permission)
    assert "7.00" in page.text and "7.000000000000" not in page.text
    assert response.status_code == 403
    price.refresh_from_db()
    assert price.currency == "EUR"
    assert tiers_of(price)[0] == (Decimal(5), Decimal("7.00"), Decimal(0))


def test_support_cannot_open_the_add_page(client, support_user):
    client.force_login(support_user)

    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, price_form(product=make_product())).status_code == 403
    assert not Price.objects.exists()


def test_a_price_of_a_published_version_is_read_only(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()
    price = version.prices.get()
    before = Price.objects.filter(pk=price.pk).values().get()

    page = client.get(change_url(price))
    response = client.post(change_url(price), change_form_of(price, unit_amount="1.00", nickname="Cheaper"))

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert "Start a new draft from this version" in page.text
    assert reverse("admin:catalog_planversion_new_draft", args=[version.pk]) in page.text
    assert 'class="deletelink"' not in page.text
    assert response.status_code == 403
    assert Price.objects.filter(pk=price.pk).values().get() == before


def test_a_published_price_shows_the_open_draft_instead_of_a_new_one(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()
    price = version.prices.get()
    plan = version.plan
    from catalog.services.plans import plan_version_new_draft
    from catalog.tests.factories import ACTOR, T0

    draft = plan_version_new_draft(plan=plan, actor=ACTOR, now=T0)

    page = client.get(change_url(price))

    assert f"Open the draft ({draft})" in page.text
    assert "Start a new draft from this version" not in page.text


def test_the_plan_version_choice_offers_drafts_only(client, pricing_user):
    client.force_login(pricing_user)
    published = make_published_version()
    draft = draft_version(make_plan())

    page = client.get(ADD_URL)

    choices = {str(pk) for pk, _label in page.context["adminform"].form.fields["plan_version"].choices if pk}
    assert str(draft.pk) in choices
    assert str(published.pk) not in choices


def test_price_list_filters_and_search(client, support_user):
    client.force_login(support_user)
    addon = make_graduated_price(product=make_product(name="Storage add-on"))
    in_draft = make_price(plan_version=draft_version(make_plan(name="Team")))

    addons = client.get(reverse("admin:catalog_price_changelist"), {"sold_as": "addon"})
    found = client.get(reverse("admin:catalog_price_changelist"), {"q": "Team"})

    assert list(addons.context["cl"].queryset) == [addon]
    assert list(found.context["cl"].queryset) == [in_draft]
    assert "3 tiers, from €7.00 per unit" in addons.text


def test_a_refusal_at_save_time_is_a_message_and_saves_nothing(client, pricing_user, monkeypatch):
    """The dry run passed, then the service refused (a colleague published the version meanwhile)."""
    from billing_site.errors import DomainError
    from catalog.admin import prices as price_admin

    client.force_login(pricing_user)
    price = make_graduated_price(plan_version=draft_version())
    calls = []
    real_update = price_admin.price_update

    def update_refused_the_second_time(**kwargs):
        calls.append(kwargs)
        result = real_update(**kwargs)
        if len(calls) == 2:
            raise DomainError("plan_version_published", "Team v1 is published and cannot be edited.")
        return result

    monkeypatch.setattr(price_admin, "price_update", update_refused_the_second_time)
    before = AuditEvent.objects.count()

    response = client.post(change_url(price), change_form_of(price, **{"tiers-0-unit_amount": "1.00"}), follow=True)

    assert response.status_code == 200
    assert "Team v1 is published and cannot be edited." in [str(m) for m in response.context["messages"]]
    assert tiers_of(price)[0] == (Decimal(5), Decimal("7.00"), Decimal(0))
    assert AuditEvent.objects.count() == before


def delete_url(price: Price) -> str:
    return reverse("admin:catalog_price_delete", args=[price.pk])


def test_pricing_user_deletes_a_draft_price_through_the_service(client, pricing_user):
    price = make_graduated_price(plan_version=draft_version())
    pk = price.pk
    client.force_login(pricing_user)

    response = client.post(delete_url(price), {"post": "yes"})

    assert response.status_code == 302
    assert not Price.objects.filter(pk=pk).exists()
    assert not Tier.objects.filter(price_id=pk).exists()
    event = AuditEvent.objects.get(action="price.deleted", object_id=str(pk))
    assert (event.actor_kind, event.actor_label) == ("staff", "pricing")


def test_published_addon_and_support_deletes_are_refused(client, pricing_user, support_user):
    published = make_published_version().prices.get()
    addon = make_price()
    draft = make_price(plan_version=draft_version())

    client.force_login(pricing_user)
    assert client.post(delete_url(published), {"post": "yes"}).status_code == 403
    assert client.post(delete_url(addon), {"post": "yes"}).status_code == 403
    client.force_login(support_user)
    assert client.post(delete_url(draft), {"post": "yes"}).status_code == 403

    assert Price.objects.filter(pk__in=[published.pk, addon.pk, draft.pk]).count() == 3
    assert not AuditEvent.objects.filter(action="price.deleted").exists()
