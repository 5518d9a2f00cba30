"""Numbering, transitions, drafts, balance and credit notes, through the services."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_site.errors import DomainError
from billing_site.models import ApprovalRequest, AuditEvent
from billing_site.services.approvals import approval_decide
from invoicing.models import BalanceTransaction, CreditNote, Invoice, NumberSeries
from invoicing.services.credit_notes import credit_note_create
from invoicing.services.drafts import (
    invoice_create_manual,
    invoice_delete_draft,
    invoice_hold,
    invoice_line_add,
    invoice_line_remove,
    invoice_release,
)
from invoicing.services.invoices import (
    invoice_finalize,
    invoice_mark_paid,
    invoice_mark_uncollectible,
    invoice_void,
)
from invoicing.tests.factories import ACTOR, eu_rates, totals_of
from subscriptions.tests.factories import make_customer, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 10, 12)


@pytest.fixture
def rates():
    eu_rates()


def one_off(customer=None, *amounts: str) -> Invoice:
    return invoice_create_manual(
        customer=customer or make_customer(),
        lines=[{"description": f"Consulting {n}", "quantity": "1", "unit_amount": a} for n, a in enumerate(amounts)]
        or [{"description": "Consulting", "quantity": "2", "unit_amount": "50.00"}],
        actor=ACTOR,
        now=NOW,
    )


def test_one_off_draft_has_no_number_and_finalizing_numbers_and_freezes_it(rates):
    customer = make_customer(name="Old Name B.V.")
    invoice = one_off(customer)
    assert (invoice.status, invoice.number, totals_of(invoice)) == (
        "draft",
        "",
        (D("100.00"), D(0), D("21.00"), D("121.00"), D("121.00")),
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.due_at) == ("open", "INV-2026-00001", utc(2026, 3, 24, 12))
    customer.name = "New Name B.V."
    customer.save()
    invoice.refresh_from_db()
    assert invoice.buyer["name"] == "Old Name B.V."  # the snapshot, not the customer as it is now
    assert invoice.seller["iban"] == "NL91ABNA0417164300"


def test_numbers_are_consecutive_and_a_deleted_draft_consumes_none(rates):
    a, b, c = one_off(), one_off(), one_off()
    invoice_finalize(invoice=a, actor=ACTOR, now=NOW)
    invoice_delete_draft(invoice=b, actor=ACTOR, now=NOW)
    invoice_finalize(invoice=c, actor=ACTOR, now=NOW)
    invoice_void(invoice=a, actor=ACTOR, now=NOW, reason="Wrong customer")
    assert list(Invoice.objects.order_by("pk").values_list("number", "status")) == [
        ("INV-2026-00001", "void"),
        ("INV-2026-00002", "open"),
    ]
    assert NumberSeries.objects.get().last_number == 2


def test_transitions_refuse_every_other_move_and_change_nothing(rates):
    invoice = one_off()
    with pytest.raises(DomainError) as refused:
        invoice_void(invoice=invoice, actor=ACTOR, now=NOW)
    assert refused.value.code == "invoice_transition_not_allowed"
    assert (
        refused.value.message
        == f"Invoice Draft #{invoice.pk} cannot become void: it is still a draft: finalize it first."
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW)
    audit_count = AuditEvent.objects.count()
    for service in (invoice_void, invoice_mark_uncollectible, invoice_finalize):
        with pytest.raises(DomainError) as refused:
            service(invoice=invoice, actor=ACTOR, now=NOW)
        assert refused.value.code == "invoice_transition_not_allowed"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount, invoice.amount_due.amount) == ("paid", D("121.00"), D(0))
    assert AuditEvent.objects.count() == audit_count


def test_uncollectible_can_still_be_paid_partially_then_fully(rates):
    invoice = one_off()
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_mark_uncollectible(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW, amount=D("21.00"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount) == ("uncollectible", D("100.00"))
    with pytest.raises(DomainError) as refused:
        invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW, amount=D("100.01"))
    assert refused.value.code == "overpayment"
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid.amount, invoice.amount_due.amount) == ("paid", D("121.00"), D(0))


def test_draft_edits_recompute_and_a_hold_blocks_finalization(rates):
    invoice = one_off(None, "10.00")
    invoice_line_add(
        invoice=invoice, line={"description": "Setup", "quantity": "3", "unit_amount": "0.333"}, actor=ACTOR, now=NOW
    )
    assert totals_of(invoice) == (D("11.00"), D(0), D("2.31"), D("13.31"), D("13.31"))
    invoice_line_remove(invoice=invoice, line_id=invoice.lines.get(description="Consulting 0").pk, actor=ACTOR, now=NOW)
    assert totals_of(invoice) == (D("1.00"), D(0), D("0.21"), D("1.21"), D("1.21"))
    invoice_hold(invoice=invoice, actor=ACTOR, now=NOW, reason="Check with sales")
    with pytest.raises(DomainError) as refused:
        invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    assert refused.value.code == "invoice_on_hold"
    invoice_release(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice.refresh_from_db()
    assert invoice.number == "INV-2026-00001"
    with pytest.raises(DomainError) as refused:
        invoice_line_add(
            invoice=invoice, line={"description": "More", "quantity": "1", "unit_amount": "1"}, actor=ACTOR, now=NOW
        )
    assert refused.value.code == "invoice_not_draft"


def test_bad_manual_lines_are_refused_with_the_field(rates):
    customer = make_customer()
    for line, field in [
        ({"description": "", "quantity": "1", "unit_amount": "1"}, "lines.0.description"),
        ({"description": "X", "quantity": "0", "unit_amount": "1"}, "lines.0.quantity"),
        ({"description": "X", "quantity": "1", "unit_amount": 1.5}, "lines.0.unit_amount"),
        ({"description": "X", "quantity": "1", "unit_amount": "abc"}, "lines.0.unit_amount"),
        ({"description": "X", "quantity": "1", "unit_amount": "1", "tax_category": "luxury"}, "lines.0.tax_category"),
    ]:
        with pytest.raises(DomainError) as refused:
            invoice_create_manual(customer=customer, lines=[line], actor=ACTOR, now=NOW)
        assert list(refused.value.fields) == [field]
    assert not Invoice.objects.exists()


def test_credit_note_before_payment_lowers_what_is_due_and_in_full_settles(rates):
    invoice = one_off(None, "100.00", "50.00")
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    first, second = invoice.lines.order_by("position")
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": first.pk, "amount": "40.00"}],
        reason="billing_error",
        actor=ACTOR,
        now=NOW,
    )
    assert (note.number, note.status, note.subtotal.amount, note.tax.amount, note.total.amount) == (
        "CN-2026-00001",
        "issued",
        D("40.00"),
        D("8.40"),
        D("48.40"),
    )
    assert note.pre_payment_amount.amount == D("48.40")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount, invoice.amount_credited.amount) == (
        "open",
        D("133.10"),
        D("48.40"),
    )
    credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": first.pk, "amount": "60.00"}, {"invoice_line": second.pk, "amount": "50.00"}],
        reason="order_change",
        actor=ACTOR,
        now=NOW,
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due.amount) == ("paid", D(0))  # settled by the credit notes
    with pytest.raises(DomainError) as refused:
        credit_note_create(
            invoice=invoice,
            lines=[{"invoice_line": second.pk, "amount": "0.01"}],
            reason="goodwill",
            actor=ACTOR,
            now=NOW,
        )
    assert refused.value.code == "credit_exceeds_line"


def test_credit_note_after_payment_splits_into_refund_and_balance_credit_used_by_the_next_invoice(rates):
    customer = make_customer()
    invoice = one_off(customer, "100.00")
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW)
    line = invoice.lines.get()
    with pytest.raises(DomainError) as refused:
        credit_note_create(
            invoice=invoice,
            lines=[{"invoice_line": line.pk, "amount": "50.00"}],
            reason="goodwill",
            actor=ACTOR,
            now=NOW,
        )
    assert refused.value.code == "credit_note_parts_mismatch"
    assert not CreditNote.objects.exists()
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": line.pk, "amount": "50.00"}],
        reason="goodwill",
        refund_amount="20.50",
        credit_amount="40.00",
        actor=ACTOR,
        now=NOW,
    )
    assert (
        note.total.amount,
        note.pre_payment_amount.amount,
        note.refund_amount.amount,
        note.credit_amount.amount,
    ) == (
        D("60.50"),
        D(0),
        D("20.50"),
        D("40.00"),
    )
    next_invoice = one_off(customer, "10.00")
    invoice_finalize(invoice=next_invoice, actor=ACTOR, now=NOW)
    next_invoice.refresh_from_db()
    assert (next_invoice.credit_applied.amount, next_invoice.amount_due.amount, next_invoice.status) == (
        D("12.10"),
        D(0),
        "paid",
    )
    assert list(BalanceTransaction.objects.order_by("pk").values_list("kind", "amount")) == [
        ("credit_note", D("40.00")),
        ("applied_to_invoice", D("-12.10")),
    ]


def test_large_credit_note_waits_for_an_approver_who_is_not_its_author(rates, finance_user, approver_user):
    invoice = one_off(None, "1000.00")
    invoice.entity.credit_note_approval_above = D("100.00")
    invoice.entity.save()
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": invoice.lines.get().pk, "amount": "200.00"}],
        reason="goodwill",
        actor=ACTOR,
        now=NOW,
        user=approver_user,
    )
    assert (note.status, note.number) == ("pending_approval", "")
    invoice.refresh_from_db()
    assert invoice.amount_due.amount == D("1210.00")  # nothing happens until approved
    request = ApprovalRequest.objects.get()
    with pytest.raises(DomainError) as refused:
        approval_decide(request=request, user=approver_user, approve=True, now=NOW)
    assert refused.value.code == "approval_own_request"
    with pytest.raises(DomainError) as refused:
        approval_decide(request=request, user=finance_user, approve=True, now=NOW)
    assert refused.value.code == "approval_not_allowed"
    other = type(approver_user).objects.create_user("approver2", password="x" * 12)
    other.groups.set(approver_user.groups.all())
    approval_decide(request=request, user=other, approve=True, now=NOW)
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert (note.status, note.number, invoice.amount_due.amount) == ("issued", "CN-2026-00001", D("968.00"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=6))
def test_credit_notes_never_exceed_the_invoice(rates, amounts):
    invoice = one_off(None, "100.00", "23.45")
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    lines = list(invoice.lines.order_by("position"))
    for n, cents in enumerate(amounts):
        try:
            credit_note_create(
                invoice=invoice,
                lines=[{"invoice_line": lines[n % 2].pk, "amount": str(D(cents) / 100)}],
                reason="goodwill",
                actor=ACTOR,
                now=NOW,
            )
        except DomainError as error:
            assert error.code in {"credit_exceeds_line", "credit_exceeds_invoice"}
        invoice.refresh_from_db()
        credited = sum((c.total.amount for c in invoice.credit_notes.all()), D(0))
        assert credited <= invoice.total.amount
        assert invoice.amount_due.amount == invoice.total.amount - credited


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(["finalize", "delete", "void"]), min_size=1, max_size=8))
def test_numbers_are_strictly_consecutive_per_series(rates, actions):
    finalized = []
    for action in actions:
        invoice = one_off()
        if action == "delete":
            invoice_delete_draft(invoice=invoice, actor=ACTOR, now=NOW)
            continue
        invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
        if action == "void":
            invoice_void(invoice=invoice, actor=ACTOR, now=NOW)
        finalized.append(invoice.pk)
    numbers = list(Invoice.objects.filter(pk__in=finalized).order_by("pk").values_list("number", flat=True))
    start = int(numbers[0].rsplit("-", 1)[1]) if numbers else 1
    assert numbers == [f"INV-2026-{n:05d}" for n in range(start, start + len(numbers))]


def test_money_already_paid_can_go_wholly_to_one_place(rates):
    invoice = one_off(None, "100.00")
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW, amount=D("100.00"))  # 21.00 still due
    line = invoice.lines.get()
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": line.pk, "amount": "50.00"}],
        reason="goodwill",
        paid_money="credit",
        actor=ACTOR,
        now=NOW,
    )
    assert (note.pre_payment_amount.amount, note.refund_amount.amount, note.credit_amount.amount) == (
        D("21.00"),
        D(0),
        D("39.50"),
    )
    with pytest.raises(DomainError) as refused:
        credit_note_create(
            invoice=invoice,
            lines=[{"invoice_line": line.pk, "amount": "1.00"}],
            reason="goodwill",
            paid_money="credit",
            refund_amount="1.21",
            actor=ACTOR,
            now=NOW,
        )
    assert (refused.value.code, list(refused.value.fields)) == ("credit_note_parts_mismatch", ["paid_money"])
    assert CreditNote.objects.count() == 1


def test_a_tax_hold_lifts_once_tax_can_be_computed_but_a_hold_by_finance_stays():
    invoice = one_off(None, "10.00")
    assert (invoice.on_hold, invoice.tax_hold) == (True, True)  # no tax rate yet
    eu_rates()
    invoice_line_add(
        invoice=invoice, line={"description": "Setup", "quantity": "1", "unit_amount": "5.00"}, actor=ACTOR, now=NOW
    )
    invoice.refresh_from_db()
    assert (invoice.on_hold, invoice.tax_hold, invoice.hold_reason, totals_of(invoice)[2]) == (
        False,
        False,
        "",
        D("3.15"),
    )
    invoice_hold(invoice=invoice, actor=ACTOR, now=NOW, reason="Check with sales")
    invoice_line_add(
        invoice=invoice, line={"description": "More", "quantity": "1", "unit_amount": "1.00"}, actor=ACTOR, now=NOW
    )
    invoice.refresh_from_db()
    assert (invoice.on_hold, invoice.tax_hold, invoice.hold_reason) == (True, False, "Check with sales")
