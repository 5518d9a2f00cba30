"""Payment methods, attempts, payments and refunds: read-only lists for finance, some for support, none for pricing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from djmoney.money import Money

from invoicing.models import CreditNote, Payment, PaymentAttempt, PaymentMethod, Refund
from invoicing.services.credit_notes import credit_note_create
from invoicing.tests.admin import ACTOR, D, dutch_vat, finalized, make_customer, one_off, utc

pytestmark = pytest.mark.django_db

MODELS = ["paymentmethod", "paymentattempt", "payment", "refund"]


def changelist(model: str) -> str:
    return reverse(f"admin:invoicing_{model}_changelist")


@pytest.fixture
def rows():
    """A Visa card, a failed and a successful attempt on INV-2026-00001 (121.00), its payment and a refund."""
    dutch_vat()
    customer = make_customer("Alpha Trading B.V.", "ap@alpha.example")
    invoice = finalized(one_off(customer, ("Consulting", "1", "100.00")))
    card = PaymentMethod.objects.create(
        customer=customer,
        provider="simulated",
        provider_id="pm_visa_1",
        brand="visa",
        last4="4242",
        exp_month=3,
        exp_year=2028,
        is_default=True,
        created_at=utc(2026, 1, 5),
    )
    amount = Money(D("121.00"), "EUR")
    failed = PaymentAttempt.objects.create(
        invoice=invoice,
        customer=customer,
        payment_method=card,
        provider="simulated",
        number=1,
        currency="EUR",
        amount=amount,
        status="failed",
        trigger="finalized",
        idempotency_key=f"invoice-{invoice.pk}-attempt-1",
        provider_payment_id="pi_sim_1",
        failure_code="card_declined",
        decline_code="insufficient_funds",
        decline_type="soft",
        failure_message="Your card has insufficient funds.",
        created_at=utc(2026, 1, 12),
        completed_at=utc(2026, 1, 12),
    )
    succeeded = PaymentAttempt.objects.create(
        invoice=invoice,
        customer=customer,
        payment_method=card,
        provider="simulated",
        number=2,
        currency="EUR",
        amount=amount,
        status="succeeded",
        trigger="retry",
        idempotency_key=f"invoice-{invoice.pk}-attempt-2",
        provider_payment_id="pi_sim_2",
        provider_charge_id="ch_sim_2",
        created_at=utc(2026, 1, 13),
        completed_at=utc(2026, 1, 13),
    )
    payment = Payment.objects.create(
        customer=customer,
        invoice=invoice,
        attempt=succeeded,
        provider="simulated",
        kind="card",
        currency="EUR",
        amount=amount,
        amount_refunded=Money(D("12.10"), "EUR"),
        status="partially_refunded",
        reference="ch_sim_2",
        provider_charge_id="ch_sim_2",
        received_at=utc(2026, 1, 13),
        created_at=utc(2026, 1, 13),
    )
    line = invoice.lines.get()
    note = credit_note_create(
        invoice=invoice,
        lines=[{"invoice_line": line.pk, "amount": "10.00"}],
        reason="goodwill",
        actor=ACTOR,
        now=utc(2026, 1, 14),
    )
    refund = Refund.objects.create(
        credit_note=note,
        payment=payment,
        provider="simulated",
        currency="EUR",
        amount=Money(D("12.10"), "EUR"),
        status="succeeded",
        idempotency_key=f"credit-note-{note.pk}-refund",
        provider_refund_id="re_sim_1",
        created_at=utc(2026, 1, 14),
        completed_at=utc(2026, 1, 14),
    )
    return {
        "paymentmethod": card,
        "failed": failed,
        "paymentattempt": succeeded,
        "payment": payment,
        "refund": refund,
        "note": note,
    }


@pytest.fixture
def finance(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def support(client, support_user):
    client.force_login(support_user)
    return client


def listed(response) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {obj.pk for obj in response.context["cl"].result_list}


def test_finance_reads_every_list(finance, rows):
    expected = {
        "paymentmethod": ["Alpha Trading B.V.", "Visa", "•••• 4242", "03/2028", "Simulated (test cards)"],
        "paymentattempt": [
            "INV-2026-00001",
            "€121.00",
            "insufficient_funds",
            "Soft decline: retried",
            "Invoice finalized",
            "Dunning retry",
            "pi_sim_1",
            "2026-01-12 00:00",
        ],
        "payment": ["INV-2026-00001", "€121.00", "Card / automatic", "Partly refunded", "ch_sim_2", "€12.10"],
        "refund": [rows["note"].number, "€12.10", "re_sim_1", "Refunded"],
    }
    for model, texts in expected.items():
        response = finance.get(changelist(model))
        assert response.status_code == 200, model
        page = response.content.decode()
        for text in texts:
            assert text in page, (model, text)
    assert listed(finance.get(changelist("paymentattempt"))) == {rows["failed"].pk, rows["paymentattempt"].pk}


def test_attempts_are_filtered_by_outcome_decline_type_and_provider(finance, rows):
    url = changelist("paymentattempt")
    assert listed(finance.get(url + "?status__exact=failed")) == {rows["failed"].pk}
    assert listed(finance.get(url + "?decline_type__exact=soft")) == {rows["failed"].pk}
    assert listed(finance.get(url + "?provider__exact=stripe")) == set()
    assert listed(finance.get(url + "?q=INV-2026-00001")) == {rows["failed"].pk, rows["paymentattempt"].pk}
    assert listed(finance.get(url + "?q=pi_sim_2")) == {rows["paymentattempt"].pk}


def test_nothing_can_be_added_changed_or_deleted_here(finance, rows):
    for model in MODELS:
        obj = rows[model]
        page = reverse(f"admin:invoicing_{model}_change", args=[obj.pk])
        response = finance.get(page)
        assert response.status_code == 200, model
        assert 'name="_save"' not in response.content.decode(), model
        assert finance.get(reverse(f"admin:invoicing_{model}_add")).status_code == 403, model
        assert finance.post(page, {}).status_code == 403, model
        delete = finance.post(reverse(f"admin:invoicing_{model}_delete", args=[obj.pk]), {"post": "yes"})
        assert delete.status_code == 403, model
        assert type(obj).objects.filter(pk=obj.pk).exists(), model
    assert (PaymentMethod.objects.count(), PaymentAttempt.objects.count(), Payment.objects.count()) == (1, 2, 1)
    assert (Refund.objects.count(), CreditNote.objects.count()) == (1, 1)


def test_an_attempt_page_shows_why_it_failed(finance, rows):
    response = finance.get(reverse("admin:invoicing_paymentattempt_change", args=[rows["failed"].pk]))

    page = response.content.decode()
    for text in [
        "Your card has insufficient funds.",
        "card_declined",
        f"invoice-{rows['failed'].invoice_id}-attempt-1",
    ]:
        assert text in page


def test_support_reads_methods_attempts_and_payments_but_not_refunds(support, rows):
    for model in ["paymentmethod", "paymentattempt", "payment"]:
        assert support.get(changelist(model)).status_code == 200, model
    assert support.get(changelist("refund")).status_code == 403


@pytest.mark.parametrize("role", ["pricing_user", "approver_user"])
def test_pricing_and_approvers_see_none_of_it(client, request, role, rows):
    client.force_login(request.getfixturevalue(role))
    for model in MODELS:
        assert client.get(changelist(model)).status_code == 403, model
        assert client.get(reverse(f"admin:invoicing_{model}_change", args=[rows[model].pk])).status_code == 403
