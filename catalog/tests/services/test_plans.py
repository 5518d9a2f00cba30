from decimal import Decimal

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.models import PlanVersion, PlanVersionStatus, Price
from catalog.services.plans import (
    plan_version_archive,
    plan_version_delete_draft,
    plan_version_new_draft,
    plan_version_publish,
)
from catalog.tests.factories import ACTOR, T0, draft_version, make_graduated_price, make_plan, make_price

pytestmark = pytest.mark.django_db


def test_new_plan_starts_with_an_empty_draft_v1():
    plan = make_plan(code="team", name="Team")

    assert [(v.number, v.status) for v in plan.versions.all()] == [(1, "draft")]
    assert plan.current_version is None


def test_publishing_an_empty_version_is_refused():
    version = draft_version()

    with pytest.raises(DomainError) as error:
        plan_version_publish(version=version, actor=ACTOR, now=T0)

    assert error.value.code == "plan_version_empty"
    version.refresh_from_db()
    assert version.status == PlanVersionStatus.DRAFT


def test_publish_freezes_the_version_and_records_who_and_when():
    version = draft_version()
    make_price(plan_version=version)

    plan_version_publish(version=version, actor=ACTOR, now=T0)

    version.refresh_from_db()
    assert (version.status, version.published_at) == ("published", T0)
    assert version.plan.current_version == version
    event = AuditEvent.objects.get(action="plan_version.published")
    assert (event.before, event.after) == ({"status": "draft"}, {"status": "published"})


def test_new_draft_copies_prices_and_tiers_of_the_current_version():
    version = draft_version()
    make_graduated_price(plan_version=version)
    make_price(plan_version=version, unit_amount=Decimal("0.000125"))
    plan_version_publish(version=version, actor=ACTOR, now=T0)

    draft = plan_version_new_draft(plan=version.plan, actor=ACTOR, now=T0)

    assert (draft.number, draft.status, draft.notes) == (2, "draft", "Copied from v1")
    copied = list(draft.prices.order_by("id"))
    assert [p.pricing_model for p in copied] == ["graduated", "per_unit"]
    assert [t.unit_amount for t in copied[0].tiers.order_by("position")] == [
        Decimal("7.00"),
        Decimal("6.50"),
        Decimal("6.00"),
    ]
    assert copied[1].unit_amount == Decimal("0.000125")
    assert Price.objects.filter(plan_version=version).count() == 2


def test_only_one_draft_at_a_time():
    version = draft_version()

    with pytest.raises(DomainError) as error:
        plan_version_new_draft(plan=version.plan, actor=ACTOR, now=T0)

    assert error.value.code == "draft_exists"
    assert PlanVersion.objects.filter(plan=version.plan).count() == 1


def test_archive_only_from_published():
    version = draft_version()

    with pytest.raises(DomainError) as error:
        plan_version_archive(version=version, actor=ACTOR, now=T0)
    assert error.value.code == "invalid_transition"

    make_price(plan_version=version)
    plan_version_publish(version=version, actor=ACTOR, now=T0)
    plan_version_archive(version=version, actor=ACTOR, now=T0, reason="replaced by v2")
    version.refresh_from_db()
    assert (version.status, version.archived_at) == ("archived", T0)

    with pytest.raises(DomainError):
        plan_version_publish(version=version, actor=ACTOR, now=T0)


def test_draft_can_be_deleted_but_a_published_version_cannot():
    version = draft_version()
    make_price(plan_version=version)
    plan_version_delete_draft(version=version, actor=ACTOR, now=T0)
    assert not PlanVersion.objects.filter(pk=version.pk).exists()

    other = draft_version()
    make_price(plan_version=other)
    plan_version_publish(version=other, actor=ACTOR, now=T0)
    with pytest.raises(DomainError) as error:
        plan_version_delete_draft(version=other, actor=ACTOR, now=T0)
    assert error.value.code == "plan_version_published"
    assert PlanVersion.objects.filter(pk=other.pk).exists()
