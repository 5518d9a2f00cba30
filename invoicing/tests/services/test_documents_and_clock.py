"""After finalization: the stored PDF and the e-mail (the task); test clocks bill in their own time."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from invoicing.models import Invoice, InvoiceKind
from invoicing.services.compose import DraftInvoice, DraftLine, coupon_terms, draft_compute
from invoicing.services.documents import invoice_pdf_bytes
from invoicing.services.drafts import invoice_create_manual
from invoicing.services.invoices import invoice_finalize
from invoicing.tasks import invoice_documents_task
from invoicing.tests.factories import ACTOR, eu_rates, invoices_of, lines_of
from subscriptions.models import TestClock
from subscriptions.services.test_clocks import test_clock_advance, test_clock_create
from subscriptions.tests.factories import make_customer, make_flat_plan, make_subscription, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 10, 12)


def test_the_documents_task_stores_the_pdf_once_and_emails_it(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    eu_rates()
    customer = make_customer(name="Pdf Buyer B.V.", language="nl")
    invoice = invoice_create_manual(
        customer=customer,
        lines=[{"description": "Advies", "quantity": "2", "unit_amount": "617.25"}],
        actor=ACTOR,
        now=NOW,
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)

    assert invoice_documents_task([invoice.pk]) == 1
    assert invoice_documents_task([invoice.pk]) == 1  # safe twice: same file, no second e-mail

    invoice.refresh_from_db()
    assert invoice.pdf.name == f"invoices/{invoice.entity_id}/INV-2026-00001.pdf"
    text = PdfReader(io.BytesIO(invoice_pdf_bytes(invoice))).pages[0].extract_text()
    assert "INV-2026-00001" in text
    assert "€ 1.493,75" in text  # 1,234.50 + 21% = 1,493.75, in Dutch
    assert "Pdf Buyer B.V." in text
    assert len(mail.outbox) == 1
    assert mail.outbox[0].attachments[0][0] == "INV-2026-00001.pdf"


def test_recording_a_payment_sends_one_receipt(django_capture_on_commit_callbacks, monkeypatch):
    from invoicing.services.invoices import invoice_mark_paid
    from invoicing.tasks import payment_receipt_task

    eu_rates()
    invoice = invoice_create_manual(
        customer=make_customer(), lines=[{"description": "Advies", "unit_amount": "100.00"}], actor=ACTOR, now=NOW
    )
    invoice_finalize(invoice=invoice, actor=ACTOR, now=NOW)
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kw: queued.append((func, args)))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_mark_paid(invoice=invoice, actor=ACTOR, now=NOW, amount=D("21.00"))

    payment = invoice.payments.get()
    assert queued == [("invoicing.tasks.payment_receipt_task", (invoice.pk, "21.00", f"receipt:payment:{payment.pk}"))]
    payment_receipt_task(*queued[0][1])
    payment_receipt_task(*queued[0][1])  # a retried task sends nothing more
    assert len(mail.outbox) == 1
    assert "€21.00" in mail.outbox[0].body


def test_a_test_clock_advance_bills_renewals_and_finalizes_them_in_the_clock_time():
    eu_rates()
    clock = test_clock_create(name="Scenario", frozen_time=utc(2026, 1, 15), actor=ACTOR, now=NOW)
    customer = make_customer(test_clock=clock)
    subscription = make_subscription(customer, plan_version=make_flat_plan("29.00"), now=utc(2026, 1, 15))
    clock = TestClock.objects.get(pk=clock.pk)

    test_clock_advance(clock=clock, to=utc(2026, 3, 16), actor=ACTOR, now=NOW)

    invoices = invoices_of(subscription)
    assert [(i.kind, i.number, i.finalized_at, i.total.amount) for i in invoices] == [
        (InvoiceKind.SUBSCRIPTION_CREATE, "INV-2026-00001", utc(2026, 1, 15, 1), D("35.09")),
        (InvoiceKind.SUBSCRIPTION_CYCLE, "INV-2026-00002", utc(2026, 2, 15, 1), D("35.09")),
        (InvoiceKind.SUBSCRIPTION_CYCLE, "INV-2026-00003", utc(2026, 3, 15, 1), D("35.09")),
    ]
    assert lines_of(invoices[2]) == [
        ("Subscription fee", D(1), None, D("29.00"), D(0), utc(2026, 3, 15), utc(2026, 4, 15))
    ]
    # Live customers are not touched by the clock, and the clock's customers not by the live run.
    assert Invoice.objects.exclude(customer=customer).count() == 0


amounts = st.decimals(min_value=D("-500"), max_value=D("5000"), places=2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line_amounts=st.lists(amounts, min_size=1, max_size=8),
    prorations=st.lists(st.booleans(), min_size=8, max_size=8),
    percent=st.integers(min_value=1, max_value=100),
)
def test_total_is_lines_minus_discounts_plus_tax(line_amounts, prorations, percent):
    from catalog.services.coupons import coupon_create
    from invoicing.domain.tax import TaxRateInfo
    from invoicing.models import BillingEntity

    rate = TaxRateInfo(id=1, name="VAT 21%", country="NL", percentage=D(21), category="standard", inclusive=False)
    customer = make_customer()
    coupon = coupon_create(
        actor=ACTOR, now=NOW, code=f"p{percent}-{customer.pk}", name="x", discount_type="percent",
        percent_off=D(percent), duration="forever",
    )  # fmt: skip
    draft = DraftInvoice(
        customer=customer, entity=BillingEntity.objects.get(is_default=True), kind="manual", currency="EUR"
    )
    draft.lines = [
        DraftLine(kind="manual", description=str(n), quantity=D(1), unit_amount=a, amount=a, proration=p, rate=rate)
        for n, (a, p) in enumerate(zip(line_amounts, prorations, strict=False))
    ]
    draft.coupons = [coupon_terms(coupon)]
    draft_compute(draft)
    assert draft.total == draft.subtotal - draft.discount + draft.tax
    assert draft.subtotal == sum(line.amount for line in draft.lines)
    assert draft.discount == sum(line.discount for line in draft.lines)
    assert draft.tax == sum(row.tax_amount for row in draft.tax_rows)
    assert all(line.discount == 0 for line in draft.lines if line.proration)
    assert all(line.discount >= 0 and line.amount - line.discount >= 0 for line in draft.lines if line.amount > 0)
