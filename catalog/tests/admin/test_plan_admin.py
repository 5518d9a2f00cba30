"""Plans and plan versions: drafts change, published versions are frozen, transitions go through services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from billing_site.models import AuditEvent
from catalog.models import Plan, PlanVersion, Price, Tier
from catalog.services.plans import plan_version_new_draft
from catalog.tests.admin.forms import inline
from catalog.tests.factories import (
    ACTOR,
    T0,
    draft_version,
    make_graduated_price,
    make_plan,
    make_price,
    make_published_version,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_planversion_changelist")


def url(name: str, version: PlanVersion) -> str:
    return reverse(f"admin:catalog_planversion_{name}", args=[version.pk])


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_pricing_user_adds_a_plan_and_lands_on_its_first_draft(client, pricing_user):
    client.force_login(pricing_user)

    response = client.post(
        reverse("admin:catalog_plan_add"),
        {"name": "Team", "code": "team", "description": "", "active": "on", "_save": "Save"},
    )

    plan = Plan.objects.get(code="team")
    draft = plan.versions.get()
    assert draft.status == "draft"
    assert response["Location"] == url("change", draft)
    assert AuditEvent.objects.filter(action="plan.created", actor_kind="staff", object_id=str(plan.pk)).exists()


def test_plan_page_lists_its_versions_read_only_with_links(client, support_user):
    client.force_login(support_user)
    published = make_published_version(name="Team")
    draft = plan_version_new_draft(plan=published.plan, actor=ACTOR, now=T0)

    page = client.get(reverse("admin:catalog_plan_change", args=[published.plan.pk]))

    assert page.status_code == 200
    assert url("change", published) in page.text
    assert url("change", draft) in page.text
    versions = next(f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "versions")
    assert not versions.has_add_permission and not versions.has_change_permission


def test_draft_page_lists_its_prices_and_offers_publish(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version(make_plan(name="Team"))
    price = make_graduated_price(plan_version=version)

    page = client.get(url("change", version))

    assert page.status_code == 200
    assert reverse("admin:catalog_price_change", args=[price.pk]) in page.text
    assert url("publish", version) in page.text
    assert reverse("admin:catalog_price_add") + f"?plan_version={version.pk}" in page.text
    assert 'name="_save"' in page.text
    assert "3 tiers, from €7.00 per unit" in page.text


def test_draft_notes_are_saved_through_the_service(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version()
    make_price(plan_version=version)

    response = client.post(
        url("change", version), {"notes": "Spring prices", "_save": "Save", **inline("prices", [], initial=0)}
    )

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.notes == "Spring prices"
    assert AuditEvent.objects.filter(action="plan_version.updated", actor_kind="staff").exists()


def test_a_published_version_is_read_only(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()

    page = client.get(url("change", version))
    response = client.post(url("change", version), {"notes": "rewritten", **inline("prices", [])})

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert 'class="deletelink"' not in page.text
    assert "Published on" in page.text
    assert "Start a new draft from this version" in page.text
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.notes == ""
    assert client.post(url("delete", version), {"post": "yes"}).status_code == 403
    assert PlanVersion.objects.filter(pk=version.pk).exists()


def test_new_draft_from_a_published_version_copies_its_prices(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()
    make_graduated_price(plan_version=None)  # an add-on: not copied
    source_prices = list(version.prices.all())

    response = client.post(url("new_draft", version))

    draft = version.plan.versions.get(number=2)
    assert response.status_code == 302
    assert response["Location"] == url("change", draft)
    assert draft.status == "draft"
    assert [(p.product_id, p.unit_amount) for p in draft.prices.all()] == [
        (p.product_id, p.unit_amount) for p in source_prices
    ]
    assert AuditEvent.objects.filter(
        action="plan_version.created", object_id=str(draft.pk), actor_kind="staff"
    ).exists()


def test_new_draft_copies_tiers_too(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version()
    make_graduated_price(plan_version=version)
    from catalog.services.plans import plan_version_publish

    plan_version_publish(version=version, actor=ACTOR, now=T0)

    client.post(url("new_draft", version))

    copy = Price.objects.get(plan_version__number=2)
    assert [(t.up_to, t.unit_amount) for t in copy.tiers.all()] == [
        (Decimal(5), Decimal("7.00")),
        (Decimal(10), Decimal("6.50")),
        (None, Decimal("6.00")),
    ]


def test_new_draft_when_a_draft_exists_says_so(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()
    plan_version_new_draft(plan=version.plan, actor=ACTOR, now=T0)

    response = client.post(url("new_draft", version), follow=True)

    assert response.status_code == 200
    assert version.plan.versions.count() == 2
    assert any("is already a draft" in text for text in message_texts(response))


def test_new_draft_page_explains_before_doing_it(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()

    page = client.get(url("new_draft", version))

    assert page.status_code == 200
    assert "Start the new draft" in page.text
    assert version.plan.versions.count() == 1


def test_support_cannot_start_a_draft_or_publish(client, support_user):
    client.force_login(support_user)
    published = make_published_version()
    draft = draft_version(make_plan())
    make_price(plan_version=draft)

    assert client.post(url("new_draft", published)).status_code == 403
    assert client.post(url("publish", draft)).status_code == 403
    assert client.post(url("archive", published)).status_code == 403
    page = client.get(url("change", published))
    assert "Start a new draft from this version" not in page.text
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_publish_page_lists_the_prices_that_will_be_frozen(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version(make_plan(name="Team"))
    price = make_graduated_price(plan_version=version)

    page = client.get(url("publish", version))
    response = client.post(url("publish", version))

    assert page.status_code == 200
    assert str(price) in page.text
    assert "Publishing freezes every price listed below" in page.text
    assert version.status == "draft"
    assert response["Location"] == url("change", version)
    version.refresh_from_db()
    assert version.status == "published"
    assert version.published_at is not None
    event = AuditEvent.objects.get(action="plan_version.published", object_id=str(version.pk))
    assert event.actor_kind == "staff"


def test_publishing_an_empty_draft_shows_the_reason(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version()

    response = client.post(url("publish", version), follow=True)

    assert response.status_code == 200
    assert any("has no prices yet" in text for text in message_texts(response))
    version.refresh_from_db()
    assert version.status == "draft"


def test_publish_action_asks_for_confirmation_then_publishes(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version()
    price = make_graduated_price(plan_version=version)
    selection = {"action": "publish_selected", ACTION_CHECKBOX_NAME: [str(version.pk)]}

    confirm = client.post(CHANGELIST, selection)
    done = client.post(CHANGELIST, {**selection, "confirm": "yes"})

    assert confirm.status_code == 200
    assert str(price) in confirm.text
    assert done.status_code == 302
    version.refresh_from_db()
    assert version.status == "published"


def test_archive_action_archives_published_versions_and_refuses_drafts(client, pricing_user):
    client.force_login(pricing_user)
    published = make_published_version()
    draft = draft_version(make_plan())

    response = client.post(
        CHANGELIST,
        {"action": "archive_selected", ACTION_CHECKBOX_NAME: [str(published.pk), str(draft.pk)], "confirm": "yes"},
        follow=True,
    )

    published.refresh_from_db()
    draft.refresh_from_db()
    assert (published.status, draft.status) == ("archived", "draft")
    texts = message_texts(response)
    assert any("is archived" in text for text in texts)
    assert any("cannot become archived" in text for text in texts)


def test_new_draft_action_opens_the_new_draft(client, pricing_user):
    client.force_login(pricing_user)
    version = make_published_version()

    response = client.post(CHANGELIST, {"action": "new_draft_selected", ACTION_CHECKBOX_NAME: [str(version.pk)]})

    draft = version.plan.versions.get(number=2)
    assert response["Location"] == url("change", draft)


def test_deleting_a_draft_goes_through_the_service(client, pricing_user):
    client.force_login(pricing_user)
    version = draft_version()
    make_graduated_price(plan_version=version)

    confirm = client.get(url("delete", version))
    response = client.post(url("delete", version), {"post": "yes"})

    assert confirm.status_code == 200
    assert response.status_code == 302
    assert not PlanVersion.objects.filter(pk=version.pk).exists()
    assert not Price.objects.filter(plan_version_id=version.pk).exists()
    assert not Tier.objects.exists()
    assert AuditEvent.objects.filter(action="plan_version.deleted", actor_kind="staff").exists()


def test_delete_drafts_action_keeps_published_versions(client, pricing_user):
    client.force_login(pricing_user)
    published = make_published_version()
    draft = draft_version(make_plan())
    selection = {"action": "delete_selected_drafts", ACTION_CHECKBOX_NAME: [str(published.pk), str(draft.pk)]}

    confirm = client.post(CHANGELIST, selection)
    client.post(CHANGELIST, {**selection, "confirm": "yes"})

    assert confirm.status_code == 200
    assert PlanVersion.objects.filter(pk=published.pk).exists()
    assert not PlanVersion.objects.filter(pk=draft.pk).exists()
    assert "delete_selected" not in client.get(CHANGELIST).context["cl"].model_admin.get_actions(confirm.wsgi_request)


def test_add_version_starts_a_draft_copy_of_the_published_one(client, pricing_user):
    client.force_login(pricing_user)
    published = make_published_version()

    response = client.post(
        reverse("admin:catalog_planversion_add"), {"plan": published.plan.pk, "notes": "Autumn", "_save": "Save"}
    )

    draft = published.plan.versions.get(number=2)
    assert response.status_code == 302
    assert draft.notes == "Autumn"
    assert draft.prices.count() == 1


def test_add_version_while_a_draft_exists_shows_the_reason(client, pricing_user):
    client.force_login(pricing_user)
    plan = make_plan()

    response = client.post(reverse("admin:catalog_planversion_add"), {"plan": plan.pk, "notes": "", "_save": "Save"})

    assert response.status_code == 200
    assert "is already a draft" in response.text
    assert plan.versions.count() == 1
