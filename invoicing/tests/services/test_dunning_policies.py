"""Dunning policies through their services: validation, the one default, assignments, deletion."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from billing_site.errors import DomainError
from billing_site.models import AuditEvent
from catalog.tests.factories import make_plan
from invoicing.models import CustomerDunningPolicy, DunningCase, DunningPolicy, PlanDunningPolicy
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.dunning_policies import (
    dunning_policy_assign_customer,
    dunning_policy_assign_plan,
    dunning_policy_create,
    dunning_policy_delete,
    dunning_policy_update,
)
from invoicing.services.invoices import invoice_finalize
from invoicing.tests.factories import ACTOR, eu_rates
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 10, 12)


def standard() -> DunningPolicy:
    return DunningPolicy.objects.get(name="Standard")


def patient(**fields) -> DunningPolicy:
    values = {"name": "Patient", "retry_days": [2, 9, 16], "max_attempts": 4, "final_action": "leave_past_due"}
    return dunning_policy_create(actor=ACTOR, now=NOW, **{**values, **fields})


def state() -> list[tuple]:
    return list(
        DunningPolicy.objects.order_by("name").values_list(
            "name", "is_default", "retry_days", "max_attempts", "final_action", "suspend_after_days"
        )
    )


def test_the_migration_creates_the_standard_default_policy():
    policy = standard()
    assert (
        policy.is_default,
        policy.retry_days,
        policy.max_attempts,
        policy.send_reminders,
        policy.final_action,
        policy.suspend_after_days,
    ) == (True, [1, 3, 5, 7], 5, True, "mark_unpaid", None)
    assert DunningPolicy.objects.filter(is_default=True).count() == 1


def test_create_saves_the_policy_and_audits_it():
    policy = patient(suspend_after_days=30, send_reminders=False)

    policy.refresh_from_db()
    assert (policy.name, policy.retry_days, policy.max_attempts, policy.final_action) == (
        "Patient",
        [2, 9, 16],
        4,
        "leave_past_due",
    )
    assert (policy.suspend_after_days, policy.send_reminders, policy.is_default) == (30, False, False)
    assert (policy.created_at, policy.updated_at) == (NOW, NOW)
    event = AuditEvent.objects.get(action="dunning_policy.created")
    assert (event.object_id, event.actor_label, event.after["retry_days"]) == (str(policy.pk), ACTOR.label, [2, 9, 16])


@pytest.mark.parametrize(
    ("retry_days", "max_attempts", "fields"),
    [
        ([0, 3], 3, {"retry_days": ["Retry days start at 1 (the day after the first failed payment)."]}),
        ([3, 3, 5], 4, {"retry_days": ["Retry days must go up, each later than the one before (1, 3, 5, 7)."]}),
        ([1, 400], 3, {"retry_days": ["The last retry must be within a year of the first failure."]}),
        ("1, 3", 3, {"retry_days": ["Give the retry days as whole numbers, for example 1, 3, 5, 7."]}),
        ([1, "3"], 3, {"retry_days": ["Give the retry days as whole numbers, for example 1, 3, 5, 7."]}),
        ([1, True], 3, {"retry_days": ["Give the retry days as whole numbers, for example 1, 3, 5, 7."]}),
        (
            [1, 3],
            5,
            {
                "max_attempts": [
                    "The schedule has 2 retry day(s), so at most 3 attempts (the first one included): "
                    "add retry days or lower the maximum."
                ]
            },
        ),
        (
            [],
            2,
            {
                "max_attempts": [
                    "The schedule has 0 retry day(s), so at most 1 attempts (the first one included): "
                    "add retry days or lower the maximum."
                ]
            },
        ),  # fmt: skip
        ([1, 3], 0, {"max_attempts": ["Allow at least one attempt."]}),
        ([1, 3], None, {"max_attempts": ["Give the maximum number of attempts as a whole number, for example 5."]}),
    ],
)
def test_bad_schedules_are_refused_on_their_field_and_nothing_is_saved(retry_days, max_attempts, fields):
    before, events = state(), AuditEvent.objects.count()

    with pytest.raises(DomainError) as refused:
        dunning_policy_create(actor=ACTOR, now=NOW, name="Broken", retry_days=retry_days, max_attempts=max_attempts)

    assert refused.value.code == "invalid_retry_schedule"
    assert refused.value.fields == fields
    assert refused.value.message == " ".join(text for texts in fields.values() for text in texts)
    assert (state(), AuditEvent.objects.count()) == (before, events)


def test_a_bad_update_changes_nothing():
    policy = patient()
    before, events = state(), AuditEvent.objects.count()

    with pytest.raises(DomainError) as refused:
        dunning_policy_update(policy=policy, actor=ACTOR, now=NOW, retry_days=[5, 2], max_attempts=9)

    assert refused.value.fields == {
        "retry_days": ["Retry days must go up, each later than the one before (1, 3, 5, 7)."]
    }
    assert (state(), AuditEvent.objects.count()) == (before, events)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (366, "Suspend access between 0 and 365 days after the first failed payment, or leave it empty to never suspend it."),
        (-1, "Suspend access between 0 and 365 days after the first failed payment, or leave it empty to never suspend it."),
    ],
)  # fmt: skip
def test_suspension_is_within_a_year(days, message):
    with pytest.raises(DomainError) as refused:
        patient(suspend_after_days=days)
    assert (refused.value.code, refused.value.fields) == ("invalid_suspension", {"suspend_after_days": [message]})
    assert not DunningPolicy.objects.filter(name="Patient").exists()


def test_suspension_at_once_and_after_a_year_are_allowed():
    assert patient(suspend_after_days=0).suspend_after_days == 0
    assert patient(name="Yearly", suspend_after_days=365).suspend_after_days == 365


def test_names_are_unique_whatever_their_case():
    patient()
    with pytest.raises(DomainError) as refused:
        patient(name=" patient ")
    assert refused.value.fields == {"name": ["A dunning policy called “Patient” already exists: choose another name."]}
    with pytest.raises(DomainError) as refused:
        patient(name="  ")
    assert refused.value.code == "name_required"


def test_a_new_default_takes_over_from_the_old_one_in_one_step():
    policy = patient(is_default=True)

    assert [(name, default) for name, default, *_ in state()] == [("Patient", True), ("Standard", False)]
    undone = AuditEvent.objects.get(action="dunning_policy.updated", object_id=str(standard().pk))
    assert (undone.before, undone.after, undone.reason) == (
        {"is_default": True},
        {"is_default": False},
        "“Patient” became the default dunning policy.",
    )

    dunning_policy_update(policy=standard(), actor=ACTOR, now=NOW, is_default=True)

    assert [(name, default) for name, default, *_ in state()] == [("Patient", False), ("Standard", True)]
    policy.refresh_from_db()
    assert policy.updated_at == NOW


def test_a_refused_default_change_leaves_the_old_default():
    with pytest.raises(DomainError):
        patient(is_default=True, retry_days=[3, 1])
    assert [(name, default) for name, default, *_ in state()] == [("Standard", True)]


def test_the_only_default_cannot_be_unticked():
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as refused:
        dunning_policy_update(policy=standard(), actor=ACTOR, now=NOW, is_default=False, max_attempts=3)

    assert refused.value.code == "default_policy_required"
    assert refused.value.fields == {
        "is_default": [
            "“Standard” is the default policy: it chases every invoice whose plan and customer have none. "
            "Make another policy the default instead of unticking this one."
        ]
    }
    assert [(name, default, attempts) for name, default, _d, attempts, *_ in state()] == [("Standard", True, 5)]
    assert AuditEvent.objects.count() == events


def test_an_update_audits_only_what_changed():
    policy = patient()

    dunning_policy_update(policy=policy, actor=ACTOR, now=utc(2026, 3, 11), retry_days=[2, 9, 16], max_attempts=3)

    event = AuditEvent.objects.get(action="dunning_policy.updated", object_id=str(policy.pk))
    assert (event.before, event.after) == (
        {"max_attempts": 4, "updated_at": NOW.isoformat()},
        {"max_attempts": 3, "updated_at": utc(2026, 3, 11).isoformat()},
    )


# --- assignments --------------------------------------------------------------------------------------------


def test_a_plan_follows_one_policy_and_a_new_assignment_replaces_the_old_one():
    plan, other = make_plan(name="Team"), patient()

    dunning_policy_assign_plan(plan=plan, policy=standard(), actor=ACTOR, now=NOW)
    dunning_policy_assign_plan(plan=plan, policy=other, actor=ACTOR, now=NOW)
    dunning_policy_assign_plan(plan=plan, policy=other, actor=ACTOR, now=NOW)  # again: nothing to do

    assert list(PlanDunningPolicy.objects.values_list("plan__name", "policy__name")) == [("Team", "Patient")]
    events = AuditEvent.objects.filter(action="plan.dunning_policy_set", object_id=str(plan.pk)).order_by("id")
    assert [(e.before, e.after) for e in events] == [
        ({"dunning_policy": None}, {"dunning_policy": "Standard"}),
        ({"dunning_policy": "Standard"}, {"dunning_policy": "Patient"}),
    ]

    dunning_policy_assign_plan(plan=plan, policy=None, actor=ACTOR, now=NOW)

    assert not PlanDunningPolicy.objects.exists()
    assert events.last().after == {"dunning_policy": None}


def test_a_customer_follows_one_policy_and_none_removes_the_link():
    customer, other = make_customer(name="Slow Payer B.V."), patient()

    dunning_policy_assign_customer(customer=customer, policy=other, actor=ACTOR, now=NOW)
    dunning_policy_assign_customer(customer=customer, policy=standard(), actor=ACTOR, now=NOW)

    assert list(CustomerDunningPolicy.objects.values_list("customer__name", "policy__name")) == [
        ("Slow Payer B.V.", "Standard")
    ]
    dunning_policy_assign_customer(customer=customer, policy=None, actor=ACTOR, now=NOW)
    dunning_policy_assign_customer(customer=customer, policy=None, actor=ACTOR, now=NOW)
    assert not CustomerDunningPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="customer.dunning_policy_set", object_id=str(customer.pk)).count() == 3


# --- deleting -----------------------------------------------------------------------------------------------


def open_invoice(customer=None):
    invoice = invoice_create_manual(
        customer=customer or make_customer(),
        lines=[{"description": "Consulting", "quantity": "1", "unit_amount": "100.00"}],
        actor=ACTOR,
        now=NOW,
    )
    return invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)


def case(invoice, policy, status="active") -> DunningCase:
    return DunningCase.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        policy=policy,
        status=status,
        started_at=NOW,
        currency=invoice.currency,
        amount_at_risk=invoice.amount_due,
        ended_at=None if status == "active" else NOW,
    )


def test_the_default_cannot_be_deleted():
    with pytest.raises(DomainError) as refused:
        dunning_policy_delete(policy=standard(), actor=ACTOR, now=NOW)
    assert refused.value.message == (
        "“Standard” is the default policy and cannot be deleted: make another policy the default first."
    )
    assert DunningPolicy.objects.filter(name="Standard").exists()


def test_a_policy_with_invoices_in_dunning_cannot_be_deleted_then_stays_for_their_history():
    eu_rates()
    policy = patient()
    running = case(open_invoice(), policy)
    case(open_invoice(), policy)

    with pytest.raises(DomainError) as refused:
        dunning_policy_delete(policy=policy, actor=ACTOR, now=NOW)
    assert (refused.value.code, refused.value.message) == (
        "dunning_policy_in_use",
        "2 invoices are being chased under “Patient”: the policy can be deleted once their dunning has ended.",
    )

    DunningCase.objects.filter(pk=running.pk).update(status="recovered", ended_at=NOW, amount_recovered=D("121"))
    DunningCase.objects.exclude(pk=running.pk).update(status="exhausted", ended_at=NOW)
    with pytest.raises(DomainError) as refused:
        dunning_policy_delete(policy=policy, actor=ACTOR, now=NOW)
    assert refused.value.code == "dunning_policy_has_history"
    assert DunningPolicy.objects.filter(pk=policy.pk).exists()


def test_deleting_a_policy_sends_its_plans_and_customers_back_to_the_default():
    policy = patient()
    plan, customer = make_plan(name="Team"), make_customer(name="Slow Payer B.V.")
    dunning_policy_assign_plan(plan=plan, policy=policy, actor=ACTOR, now=NOW)
    dunning_policy_assign_customer(customer=customer, policy=policy, actor=ACTOR, now=NOW)

    dunning_policy_delete(policy=policy, actor=ACTOR, now=NOW)

    assert not DunningPolicy.objects.filter(name="Patient").exists()
    assert not PlanDunningPolicy.objects.exists() and not CustomerDunningPolicy.objects.exists()
    deleted = AuditEvent.objects.get(action="dunning_policy.deleted")
    assert (deleted.object_id, deleted.before["name"]) == (str(policy.pk), "Patient")
    for action, obj in (("plan.dunning_policy_set", plan), ("customer.dunning_policy_set", customer)):
        last = AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).latest("id")
        assert (last.before, last.after) == ({"dunning_policy": "Patient"}, {"dunning_policy": None})
