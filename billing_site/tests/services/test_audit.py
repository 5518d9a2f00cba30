from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from moneyed import Money

from billing_site.actors import Actor
from billing_site.models import AuditEvent
from billing_site.services.audit import audit_record, changed_fields, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(now):
    group = Group.objects.get(name="Support")
    return audit_record(
        actor=Actor.system("nightly-billing"),
        action="group.renamed",
        obj=group,
        now=now,
        before={"name": "Helpdesk"},
        after={"name": "Support"},
        reason="Renamed to match the org chart",
    )


def test_audit_record_writes_the_row(event, now):
    stored = AuditEvent.objects.get()
    group = Group.objects.get(name="Support")

    assert stored.pk == event.pk
    assert stored.occurred_at == now
    assert stored.actor_kind == "system"
    assert stored.actor_id == "nightly-billing"
    assert stored.actor_label == "System job: nightly-billing"
    assert stored.action == "group.renamed"
    assert stored.object_type == "auth.group"
    assert stored.object_id == str(group.pk)
    assert stored.object_repr == "Support"
    assert stored.before == {"name": "Helpdesk"}
    assert stored.after == {"name": "Support"}
    assert stored.reason == "Renamed to match the org chart"


def test_audit_record_for_a_staff_user(now, support_user):
    audit_record(actor=Actor.staff(support_user), action="user.touched", obj=support_user, now=now)

    stored = AuditEvent.objects.get()
    assert (stored.actor_kind, stored.actor_id, stored.actor_label) == ("staff", str(support_user.pk), "support")
    assert stored.before is None
    assert stored.after is None
    assert stored.reason == ""


def test_audit_record_stores_money_decimals_and_times_as_json(now, support_user):
    audit_record(
        actor=Actor.system("tests"),
        action="price.changed",
        obj=support_user,
        now=now,
        before={"unit_amount": Decimal("0.000125"), "total": Money("79.50", "EUR")},
        after={"effective": datetime(2026, 2, 1, tzinfo=UTC), "tags": ("a", "b")},
    )

    stored = AuditEvent.objects.get()
    assert stored.before == {"unit_amount": "0.000125", "total": {"amount": "79.50", "currency": "EUR"}}
    assert stored.after == {"effective": "2026-02-01T00:00:00+00:00", "tags": ["a", "b"]}


def test_an_audit_event_cannot_be_changed(event):
    event.reason = "rewritten history"
    with pytest.raises(PermissionError, match="append-only"):
        event.save()

    assert AuditEvent.objects.get().reason == "Renamed to match the org chart"


def test_an_audit_event_cannot_be_deleted(event):
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_audit_trail_cannot_be_updated_in_bulk(event):
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.all().update(reason="rewritten history")
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")

    assert AuditEvent.objects.get().reason == "Renamed to match the org chart"
    assert AuditEvent.objects.get().action == "group.renamed"


def test_the_audit_trail_cannot_be_deleted_in_bulk(event):
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.count() == 1


def test_snapshot_and_changed_fields_give_a_diff(support_user):
    before = snapshot(support_user, fields=["username", "email", "is_staff"])
    support_user.email = "support@example.com"
    after = snapshot(support_user, fields=["username", "email", "is_staff"])

    assert before == {"username": "support", "email": "", "is_staff": True}
    assert changed_fields(before, after) == ({"email": ""}, {"email": "support@example.com"})
